"""Coordinator and inspector pages for quality: inspections, holds, corrective actions and the defect tracker.

Under /coordinator, staff only (the coordinator guard). The inspector's page of one inspection is made for a phone
in a factory: one light page, plain forms (no script), each form a small post that redirects back, so a slow
connection sends little and a retry does no harm (the submission carries a key: the same form twice records once).
Every change goes through makeready.quality; a refused form shows the page again with the message and the error's
status (the transaction is rolled back, so nothing is half-written).
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import Staff, provide_staff, refused_page
from backoffice.form_values import form_text, form_version
from backoffice.params import PageNumber
from makeready import i18n, urls
from makeready.accounts.models import User
from makeready.errors import DomainError, NotFound
from makeready.i18n import N_, _
from makeready.production.common import load_lot
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, ProductionOrder, ProductionPhoto
from makeready.quality import actions, holds, photos, report, sampling, tracker
from makeready.quality import inspections as qc
from makeready.quality.models import (
    ActionStatus,
    CorrectiveAction,
    HoldStatus,
    Inspection,
    InspectionKind,
    InspectionStatus,
    QualityHold,
)
from makeready.storage import get_storage
from makeready.storage.base import content_disposition

TEMPLATES = "backoffice/quality"
PAGE_SIZE = 25
NOTICES = {
    "requested": N_("The inspection was requested."),
    "scheduled": N_("The inspection was scheduled and its sampling plans frozen."),
    "started": N_("The inspection started."),
    "saved": N_("Your findings were saved."),
    "defect": N_("The defective unit was recorded."),
    "removed": N_("The defect was removed."),
    "submitted": N_("The inspection was submitted; its verdict is computed from the counts."),
    "sent": N_("The report was sent to the brand for its decision."),
    "lifted": N_("The hold was lifted."),
    "held": N_("The hold was placed."),
    "released": N_("The lot was released for packing."),
    "verified": N_("The corrective action was verified; a re-inspection was requested."),
}


async def _files(form: FormMultiDict, key: str = "photos") -> list[photos.PhotoFile]:
    found = []
    for value in form.getall(key, []):
        if isinstance(value, UploadFile) and value.filename:
            data = await value.read()
            if data:
                found.append(photos.PhotoFile(data, value.filename))
    return found


def _notice(code: str) -> str | None:
    msg = NOTICES.get(code)
    return _(msg) if msg else None


def live_verdict(inspection: Inspection, counts: dict[str, int]) -> sampling.LotVerdict | None:
    """What the counts so far would give (shown to the inspector; the stored verdict is computed at submission)."""
    try:
        return sampling.lot_verdict(qc.plans_of(inspection), counts)
    except DomainError:
        return None


class InspectionPages(Controller):
    """The inspector's phone page, the inspection list, holds, corrective actions and the defect tracker."""

    path = "/coordinator"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    # -- the list ---------------------------------------------------------------------------------------------------

    @get("/inspections", name="inspections")
    async def list_page(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        status: FromQuery[str] = "",
        page: PageNumber = 1,
        notice: FromQuery[str] = "",
    ) -> Template:
        """Inspections, newest first (a page at a time), the active holds and the open corrective actions."""
        return await self._list(db, staff, status=status, page=page, notice=_notice(notice))

    async def _list(
        self,
        db: AsyncSession,
        staff: Staff,
        *,
        status: str = "",
        page: int = 1,
        notice: str | None = None,
        error: DomainError | None = None,
    ) -> Template:
        query = select(Inspection, Lot, ProductionOrder).join(Lot, Lot.id == Inspection.lot_id)
        query = query.join(ProductionOrder, ProductionOrder.id == Inspection.order_id)
        if status in {s.value for s in InspectionStatus}:
            query = query.where(Inspection.status == InspectionStatus(status))
        rows = (
            await db.execute(
                query.order_by(Inspection.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
            )
        ).all()
        active = (
            await db.scalars(
                select(QualityHold)
                .where(QualityHold.status == HoldStatus.active)
                .order_by(QualityHold.id.desc())
                .limit(100)
            )
        ).all()
        open_actions = (
            await db.scalars(
                select(CorrectiveAction)
                .where(CorrectiveAction.status != ActionStatus.closed)
                .order_by(CorrectiveAction.due_date)
                .limit(100)
            )
        ).all()
        inspectable = (
            await db.execute(
                select(Lot, ProductionOrder)
                .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
                .where(Lot.status.not_in((LotStatus.cancelled, LotStatus.delivered, LotStatus.shipped)))
                .order_by(Lot.id.desc())
                .limit(200)
            )
        ).all()
        return Template(
            f"{TEMPLATES}/list.html",
            context={
                "user": staff,
                "rows": rows[:PAGE_SIZE],
                "more": len(rows) > PAGE_SIZE,
                "page": page,
                "status": status,
                "statuses": InspectionStatus,
                "holds": active,
                "actions": open_actions,
                "lots": inspectable,
                "kinds": InspectionKind,
                "notice": notice,
                "error": error,
                "source_label": holds.source_label,
                "kind_label": qc.kind_label,
            },
        )

    @post("/lots/{lot_id:int}/inspections", name="inspection_request")
    async def request_inspection(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        lot_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            inspection = await qc.request_inspection(
                db,
                actor=staff.user,
                lot_id=lot_id,
                kind=form_text(form, "kind"),
                lot_size=form_text(form, "lot_size"),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._refused(db, staff, exc, None)
        return Redirect(f"{urls.inspection(inspection.id)}?notice=requested", status_code=303)

    # -- one inspection: the phone page -------------------------------------------------------------------------

    async def _context(
        self, db: AsyncSession, staff: Staff, inspection_id: int, *, error: DomainError | None = None
    ) -> dict[str, Any]:
        inspection = await qc.load_inspection(db, inspection_id)
        lot, order = await qc.lot_and_order(db, inspection)
        counts = await qc.defect_counts(db, inspection.id)
        defects = await qc.defects_of(db, inspection.id)
        inspectors = (
            await db.scalars(
                select(User)
                .where(User.is_active.is_(True), (User.is_staff.is_(True)) | (User.is_admin.is_(True)))
                .order_by(User.name)
                .limit(200)
            )
        ).all()
        return {
            "user": staff,
            "i": inspection,
            "lot": lot,
            "order": order,
            "counts": counts,
            "defects": defects,
            "photos": await photos.photos_of(db, "defect", [d.id for d in defects]),
            "plans": qc.plans_of(inspection),
            "sample_size": qc.sample_size(inspection) if inspection.plans else 0,
            "live": live_verdict(inspection, counts) if inspection.plans else None,
            "inspectors": inspectors,
            "submit_key": secrets.token_hex(16),
            "error": error,
            "class_labels": qc.CLASS_LABELS,
            "type_labels": qc.DEFECT_TYPES,
            "kind_label": qc.kind_label,
            "check_results": report.CHECK_LABELS,
            "lot_holds": await holds.active_holds(db, lot),
            "lot_actions": [a for a in await actions.actions_of_order(db, order.id) if a.lot_id == lot.id],
            "source_label": holds.source_label,
        }

    async def _refused(
        self, db: AsyncSession, staff: Staff, exc: DomainError, inspection_id: int | None
    ) -> Template:
        async def render(fresh: Staff) -> Template:
            if inspection_id is None:
                return await self._list(db, fresh, error=exc)
            context = await self._context(db, fresh, inspection_id, error=exc)
            return Template(f"{TEMPLATES}/inspection.html", context=context)

        return await refused_page(db, staff, render, status_code=exc.status_code)

    @get("/inspections/{inspection_id:int}", name="inspection")
    async def inspection_page(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
        notice: FromQuery[str] = "",
    ) -> Template:
        """The inspector's page: schedule, start, the findings, the defects, submit; then send it to the brand."""
        context = await self._context(db, staff, inspection_id)
        context["notice"] = _notice(notice)
        return Template(f"{TEMPLATES}/inspection.html", context=context)

    async def _post(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff: Staff,
        inspection_id: int,
        write: Any,
        notice: str,
        anchor: str = "",
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await write(form)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._refused(db, staff, exc, inspection_id)
        return Redirect(f"{urls.inspection(inspection_id)}?notice={notice}{anchor}", status_code=303)

    @post("/inspections/{inspection_id:int}/schedule", name="inspection_schedule")
    async def schedule(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        async def write(form: FormMultiDict) -> None:
            await qc.schedule_inspection(
                db,
                actor=staff.user,
                inspection_id=inspection_id,
                scheduled_for=form_text(form, "scheduled_for"),
                inspector_id=form_text(form, "inspector_id"),
                third_party=form_text(form, "third_party"),
                expected_version=form_version(form),
            )

        return await self._post(request, db, staff, inspection_id, write, "scheduled")

    @post("/inspections/{inspection_id:int}/start", name="inspection_start")
    async def start(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        async def write(form: FormMultiDict) -> None:
            await qc.start_inspection(
                db, actor=staff.user, inspection_id=inspection_id, expected_version=form_version(form)
            )

        return await self._post(request, db, staff, inspection_id, write, "started")

    @post("/inspections/{inspection_id:int}/findings", name="inspection_findings")
    async def findings(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        """Checklist results, readings, quantity and carton checks and remarks, in one small form."""

        async def write(form: FormMultiDict) -> None:
            inspection = await qc.load_inspection(db, inspection_id)
            if inspection.status != InspectionStatus.in_progress:
                await qc.save_findings(
                    db,
                    actor=staff.user,
                    inspection_id=inspection_id,
                    remarks=form_text(form, "remarks"),
                    expected_version=form_version(form),
                )
                return
            checklist = {
                row["id"]: (form_text(form, f"check.{row['id']}"), form_text(form, f"note.{row['id']}"))
                for row in inspection.checklist
            }
            readings = {
                row["id"]: form_text(form, f"reading.{row['id']}").replace(";", " ").split()
                for row in inspection.measurements
            }
            quantity = {
                key: form_text(form, key)
                for key in ("quantity_found", "cartons_counted", "carton_marks", "carton_condition")
            }
            await qc.save_findings(
                db,
                actor=staff.user,
                inspection_id=inspection_id,
                checklist=checklist,
                readings=readings,
                quantity_check=quantity,
                remarks=form_text(form, "remarks"),
                expected_version=form_version(form),
            )

        return await self._post(request, db, staff, inspection_id, write, "saved", "#findings")

    @post("/inspections/{inspection_id:int}/defects", name="inspection_defect")
    async def defect(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        """One defective unit: its most serious class, its type, a note and photos (a multipart form)."""

        async def write(form: FormMultiDict) -> None:
            await qc.record_defect(
                db,
                actor=staff.user,
                inspection_id=inspection_id,
                defect_class=form_text(form, "defect_class"),
                defect_type=form_text(form, "defect_type"),
                note=form_text(form, "note"),
                files=await _files(form),
                expected_version=form_version(form),
            )

        return await self._post(request, db, staff, inspection_id, write, "defect", "#defects")

    @post("/inspections/{inspection_id:int}/defects/{defect_id:int}/remove", name="inspection_defect_remove")
    async def remove(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
        defect_id: FromPath[int],
    ) -> Template | Redirect:
        async def write(form: FormMultiDict) -> None:
            await qc.remove_defect(db, actor=staff.user, defect_id=defect_id)

        return await self._post(request, db, staff, inspection_id, write, "removed", "#defects")

    @post("/inspections/{inspection_id:int}/submit", name="inspection_submit")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        """Submit: the verdict is computed. The same form twice (same key) is the same submission."""

        async def write(form: FormMultiDict) -> None:
            await qc.submit_inspection(
                db,
                actor=staff.user,
                inspection_id=inspection_id,
                submit_key=form_text(form, "submit_key"),
                expected_version=form_version(form),
            )

        return await self._post(request, db, staff, inspection_id, write, "submitted")

    @post("/inspections/{inspection_id:int}/send", name="inspection_send")
    async def send(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        async def write(form: FormMultiDict) -> None:
            await qc.send_for_review(
                db, actor=staff.user, inspection_id=inspection_id, expected_version=form_version(form)
            )

        return await self._post(request, db, staff, inspection_id, write, "sent")

    @post("/lots/{lot_id:int}/release", name="lot_release")
    async def release(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        lot_id: FromPath[int],
    ) -> Template | Redirect:
        """Release a passed lot for packing: refused (409, listing them) while a quality hold is active."""
        form = await request.form()
        inspection_id = int(form_text(form, "inspection_id") or 0) or None
        try:
            lot = await load_lot(db, lot_id)
            await move_lot(db, lot, "release", actor=staff.user, expected_version=form_version(form))
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._refused(db, staff, exc, inspection_id)
        target = urls.inspection(inspection_id) if inspection_id else "/coordinator/inspections"
        return Redirect(f"{target}?notice=released", status_code=303)

    # -- the report -------------------------------------------------------------------------------------------------

    @get("/inspections/{inspection_id:int}/report", name="inspection_report")
    async def report_page(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Response[str]:
        """The bilingual report as a web page (the reader's language first)."""
        inspection = await qc.load_inspection(db, inspection_id)
        built = await report.build_report(db, inspection)
        languages = _languages()
        html = report.render_html(
            built,
            mode="web",
            languages=languages,
            photo_src=lambda p: f"/coordinator/quality/photos/{p.id}/image",
        )
        return Response(html, media_type="text/html")

    @get("/inspections/{inspection_id:int}/report.pdf", name="inspection_report_pdf")
    async def report_pdf(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        inspection_id: FromPath[int],
    ) -> Response[bytes]:
        inspection = await qc.load_inspection(db, inspection_id)
        built = await report.build_report(db, inspection)
        data = await report.render_pdf(built, languages=_languages())
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": content_disposition(f"{inspection.reference}.pdf")},
        )

    @get("/quality/photos/{photo_id:int}/image", name="quality_photo")
    async def photo(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        photo_id: FromPath[int],
        full: FromQuery[bool] = False,
    ) -> Response[bytes]:
        return await serve_photo(db, photo_id, order_id=None, thumbnail=not full)

    # -- holds --------------------------------------------------------------------------------------------------------

    @post("/holds/{hold_id:int}/lift", name="hold_lift")
    async def lift(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        hold_id: FromPath[int],
    ) -> Template | Redirect:
        """A coordinator lifts a hold with a reason."""
        form = await request.form()
        try:
            await holds.lift_hold(
                db,
                actor=staff.user,
                hold_id=hold_id,
                reason=form_text(form, "reason"),
                expected_version=form_version(form),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._refused(db, staff, exc, None)
        return Redirect(
            safe_back(form_text(form, "next"), "/coordinator/inspections?notice=lifted"), status_code=303
        )

    @post("/orders/{order_id:int}/holds", name="hold_place")
    async def place(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """A coordinator holds a lot (or the whole order) by hand, with a reason."""
        form = await request.form()
        lot_raw = form_text(form, "lot_id")
        try:
            lot_id = int(lot_raw) if lot_raw else None
        except ValueError:
            lot_id = -1
        try:
            await holds.place_manual_hold(
                db, actor=staff.user, lot_id=lot_id, order_id=order_id, reason=form_text(form, "reason")
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._refused(db, staff, exc, None)
        return Redirect("/coordinator/inspections?notice=held", status_code=303)

    # -- corrective actions -------------------------------------------------------------------------------------------

    @get("/corrective-actions/{action_id:int}", name="corrective_action")
    async def action_page(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        action_id: FromPath[int],
        notice: FromQuery[str] = "",
    ) -> Template:
        return await self._action(db, staff, action_id, notice=_notice(notice))

    async def _action(
        self, db: AsyncSession, staff: Staff, action_id: int, *, notice: str | None = None, error: str = ""
    ) -> Template:
        action = await actions.load_action(db, action_id)
        inspection = await qc.load_inspection(db, action.inspection_id)
        evidence = await photos.photos_of(db, "corrective_action", [action.id])
        return Template(
            f"{TEMPLATES}/action.html",
            context={
                "user": staff,
                "a": action,
                "i": inspection,
                "evidence": evidence.get(action.id, []),
                "notice": notice,
                "error": error,
            },
        )

    @post("/corrective-actions/{action_id:int}/verify", name="corrective_action_verify")
    async def verify(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        action_id: FromPath[int],
    ) -> Template | Redirect:
        """The inspector accepts the factory's answer: a re-inspection of the reworked quantity is requested."""
        form = await request.form()
        try:
            action = await actions.verify_action(
                db,
                actor=staff.user,
                action_id=action_id,
                note=form_text(form, "note"),
                expected_version=form_version(form),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            message = exc.message

            async def render(fresh: Staff) -> Template:
                return await self._action(db, fresh, action_id, error=message)

            return await refused_page(db, staff, render, status_code=exc.status_code)
        assert action.reinspection_id is not None
        return Redirect(f"{urls.inspection(action.reinspection_id)}?notice=verified", status_code=303)

    # -- the defect tracker -------------------------------------------------------------------------------------------

    @get("/quality/defects", name="defect_tracker")
    async def defect_tracker(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        supplier: FromQuery[int | None] = None,
        defect_class: FromQuery[str] = "",
        defect_type: FromQuery[str] = "",
        page: PageNumber = 1,
    ) -> Template:
        """Defects across lots and orders: Pareto charts by type, class and factory, a table, first-pass yield."""
        filters = tracker.Filters(
            supplier_id=supplier,
            defect_class=defect_class if defect_class in qc.DEFECT_CLASSES else "",
            defect_type=defect_type if defect_type in qc.DEFECT_TYPES else "",
        )
        by_supplier = await tracker.counts_by(db, "supplier", filters)
        names = await tracker.supplier_names(db, [int(k) for k, _n in by_supplier])
        rows, total = await tracker.defect_page(db, filters, page=page)
        return Template(
            f"{TEMPLATES}/tracker.html",
            context={
                "user": staff,
                "filters": filters,
                "by_type": tracker.pareto(
                    (k, qc.type_label(k), n) for k, n in await tracker.counts_by(db, "type", filters)
                ),
                "by_class": tracker.pareto(
                    (k, qc.class_label(k), n) for k, n in await tracker.counts_by(db, "class", filters)
                ),
                "by_supplier": tracker.pareto((k, names.get(int(k), k), n) for k, n in by_supplier),
                "rows": rows,
                "total": total,
                "page": page,
                "pages": max(1, -(-total // tracker.PAGE_SIZE)),
                "yields": await tracker.first_pass_yield(db),
                "class_labels": qc.CLASS_LABELS,
                "type_labels": qc.DEFECT_TYPES,
                "suppliers": names,
            },
        )


def _languages() -> tuple[str, str]:
    first = i18n.get_locale()
    return (first, "en" if first == "zh_Hans" else "zh_Hans")


def safe_back(target: str, default: str) -> str:
    return target if target.startswith("/coordinator/") and "//" not in target else default


async def serve_photo(
    db: AsyncSession, photo_id: int, *, order_id: int | None, thumbnail: bool
) -> Response[bytes]:
    """A quality photo's bytes (through the caller's scope; `order_id` narrows it to one order)."""
    query = select(ProductionPhoto.order_id).where(ProductionPhoto.id == photo_id)
    owner = await db.scalar(query)
    if owner is None or (order_id is not None and owner != order_id):
        raise NotFound(_("This photo does not exist or you do not have access to it."))
    found = await photos.read_photo(db, photo_id, order_id=owner, thumbnail=thumbnail)
    assert found is not None
    key, content_type, name = found
    data = await get_storage().read(key, max_bytes=30_000_000)
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": content_disposition(name, inline=True),
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )
