"""Coordinator page of a project's shipping: /coordinator/projects/{project_id}/shipping.

Packing lists to review (accept, or return with a reason), shipments (create, edit, generate the documents, release
through the gate, mark shipped, cancel), the effectivity decisions of revisions issued while orders run, and floor
deviations (the inspector reports one). Staff only (backoffice.access); every change goes through
makeready.shipping, and a refused form shows the page again with the message and, for a refused release, the
gate's list of what is missing, with the error's status (409 for the gate).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import (
    Failed,
    Staff,
    act_on_form,
    provide_staff,
)
from backoffice.form_values import form_text, form_version, page_after
from makeready import i18n, urls
from makeready.errors import NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.access import load_project
from makeready.shipping import changes, documents, packing, shipments
from makeready.shipping.common import SHIPMENT_NOT_FOUND, load_packing_list, load_shipment
from makeready.shipping.models import ChangeStatus, PackingList, Shipment, ShipmentStatus
from makeready.specs.models import SpecRevision

TEMPLATE = "backoffice/shipping/page.html"
NOTICES = {
    "accepted": N_("The packing list was accepted."),
    "returned": N_("The packing list was returned to the factory with your reason."),
    "created": N_("The shipment was planned."),
    "updated": N_("The shipment was saved."),
    "generated": N_("The commercial invoice and the packing list were generated."),
    "released": N_("The shipment was released: the brand is told and the factory's link says it may ship."),
    "shipped": N_("The shipment was marked shipped."),
    "cancelled": N_("The shipment was cancelled; its lots are free again."),
    "decided": N_("The effectivity decision was recorded."),
    "deviation": N_("The deviation was reported to the brand."),
}
TERM_FIELDS = (
    "forwarder",
    "booking_number",
    "transport",
    "container_or_awb",
    "port_of_loading",
    "port_of_destination",
    "etd",
    "eta",
    "tracking_reference",
    "unit_value",
    "currency",
)


def page_url(project_id: int, *, done: str = "", anchor: str = "") -> str:
    return page_after(urls.coordinator_shipping(project_id), done=done, anchor=anchor)


def _terms(form: FormMultiDict) -> dict[str, Any]:
    return {name: form_text(form, name) for name in TERM_FIELDS if name in form}


async def shipping_context(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    failed: Failed | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    project = await load_project(db, project_id)
    orders = list(
        (
            await db.scalars(
                select(ProductionOrder)
                .where(ProductionOrder.project_id == project.id)
                .order_by(ProductionOrder.number)
            )
        ).all()
    )
    lots = list(
        (
            await db.scalars(
                select(Lot).where(Lot.project_id == project.id).order_by(Lot.order_id, Lot.number)
            )
        ).all()
    )
    lists = {
        p.lot_id: p
        for p in (await db.scalars(select(PackingList).where(PackingList.project_id == project.id))).all()
    }
    photos = await packing.photos_of(db, [p.id for p in lists.values()])
    all_shipments = await shipments.shipments_of_project(db, project.id)
    shipment_lots = await shipments.lots_by_shipment(db, [s.id for s in all_shipments])
    in_shipment = {lot.id: s for s in all_shipments for lot in shipment_lots.get(s.id, [])}
    gate: dict[int, tuple[list[str], list[str]]] = {}
    docs: dict[int, dict[str, Any]] = {}
    for shipment in all_shipments:
        docs[shipment.id] = await shipments.documents_of(db, shipment.id)
        if shipment.status == ShipmentStatus.planned:
            gate[shipment.id] = await shipments.release_missing(db, shipment)
    project_changes = await changes.changes_of_project(db, project.id)
    revision_ids = {c.to_revision_id for c in project_changes} | {lot.revision_id for lot in lots}
    revisions = (
        {
            r.id: r
            for r in (await db.scalars(select(SpecRevision).where(SpecRevision.id.in_(revision_ids)))).all()
        }
        if revision_ids
        else {}
    )
    return {
        "user": staff,
        "project": project,
        "orders": orders,
        "lots": lots,
        "lots_by_order": {o.id: [lot for lot in lots if lot.order_id == o.id] for o in orders},
        "lists": lists,
        "photos": photos,
        "shipments": all_shipments,
        "shipment_lots": shipment_lots,
        "in_shipment": in_shipment,
        "gate": gate,
        "docs": docs,
        "changes": project_changes,
        "pending_changes": [c for c in project_changes if c.status == ChangeStatus.pending],
        "revisions": revisions,
        "deviations": await changes.deviations_of_project(db, project.id),
        "difference_text": packing.difference_text,
        "transports": shipments.TRANSPORTS,
        "document_titles": documents.TITLES,
        "failed": failed,
        "notice": notice,
    }


async def _project_shipment(db: AsyncSession, project_id: int, shipment_id: int) -> Shipment:
    shipment = await load_shipment(db, shipment_id)
    if shipment.project_id != project_id:
        raise NotFound(_(SHIPMENT_NOT_FOUND))
    return shipment


class ShippingPages(Controller):
    """Packing lists, shipments and their release, effectivity decisions and deviations of one project."""

    path = "/coordinator/projects/{project_id:int}/shipping"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", name="coordinator_shipping")
    async def show(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str] = "",
    ) -> Template:
        """The project's packing lists, shipments, revision changes and deviations."""
        notice = _(NOTICES[done]) if done in NOTICES else None
        return Template(TEMPLATE, context=await shipping_context(db, staff, project_id, notice=notice))

    async def _act(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff: Staff,
        project_id: int,
        *,
        key: str,
        done: str,
        write: Callable[[FormMultiDict], Awaitable[Any]],
    ) -> Template | Redirect:
        async def page(staff: Staff, failed: Failed) -> Template:
            return Template(TEMPLATE, context=await shipping_context(db, staff, project_id, failed=failed))

        return await act_on_form(
            request,
            db,
            staff,
            key=key,
            check=lambda: load_project(db, project_id),
            write=write,
            done_url=page_url(project_id, done=done, anchor=key),
            page=page,
        )

    @post("/packing/{packing_id:int}/accept", name="coordinator_packing_accept")
    async def accept_packing(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        packing_id: FromPath[int],
    ) -> Template | Redirect:
        """Accept a submitted packing list (a lot released for packing becomes packed)."""

        async def write(form: FormMultiDict) -> None:
            await self._own_packing(db, project_id, packing_id)
            await packing.accept_packing_list(
                db, actor=staff.user, packing_id=packing_id, expected_version=form_version(form)
            )

        return await self._act(
            request, db, staff, project_id, key=f"packing-{packing_id}", done="accepted", write=write
        )

    @post("/packing/{packing_id:int}/return", name="coordinator_packing_return")
    async def return_packing(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        packing_id: FromPath[int],
    ) -> Template | Redirect:
        """Return a packing list to the factory with the reason."""

        async def write(form: FormMultiDict) -> None:
            await self._own_packing(db, project_id, packing_id)
            await packing.return_packing_list(
                db,
                actor=staff.user,
                packing_id=packing_id,
                reason=form_text(form, "reason"),
                expected_version=form_version(form),
            )

        return await self._act(
            request, db, staff, project_id, key=f"packing-{packing_id}", done="returned", write=write
        )

    async def _own_packing(self, db: AsyncSession, project_id: int, packing_id: int) -> None:
        listed = await load_packing_list(db, packing_id)
        if listed.project_id != project_id:
            raise NotFound(_("This packing list does not exist or you do not have access to it."))

    @post("/shipments", name="coordinator_shipment_create")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Plan a shipment of some lots of one order."""

        async def write(form: FormMultiDict) -> None:
            try:
                order_id = int(form_text(form, "order_id"))
            except ValueError:
                raise ValidationFailed(_("Choose the production order."), field="order_id") from None
            order = await db.get(ProductionOrder, order_id)
            if order is None or order.project_id != project_id:
                raise ValidationFailed(_("Choose the production order."), field="order_id")
            data = {**_terms(form), "lot_ids": form.getall("lot_ids", [])}
            await shipments.create_shipment(db, actor=staff.user, order_id=order_id, data=data)

        return await self._act(
            request, db, staff, project_id, key="new-shipment", done="created", write=write
        )

    @post("/shipments/{shipment_id:int}", name="coordinator_shipment_update")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """Save a shipment's lots and terms (a planned shipment's documents are generated again after)."""

        async def write(form: FormMultiDict) -> None:
            shipment = await _project_shipment(db, project_id, shipment_id)
            data = _terms(form)
            if "lot_ids_sent" in form:
                data["lot_ids"] = form.getall("lot_ids", [])
            await shipments.update_shipment(
                db, actor=staff.user, shipment_id=shipment.id, data=data, expected_version=form_version(form)
            )

        return await self._act(
            request, db, staff, project_id, key=f"shipment-{shipment_id}", done="updated", write=write
        )

    @post("/shipments/{shipment_id:int}/documents", name="coordinator_shipment_documents")
    async def generate(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """Generate the commercial invoice and the packing list from the accepted packing lists."""

        async def write(form: FormMultiDict) -> None:
            shipment = await _project_shipment(db, project_id, shipment_id)
            await shipments.generate_documents(
                db, actor=staff.user, shipment_id=shipment.id, expected_version=form_version(form)
            )

        return await self._act(
            request, db, staff, project_id, key=f"shipment-{shipment_id}", done="generated", write=write
        )

    @post("/shipments/{shipment_id:int}/release", name="coordinator_shipment_release")
    async def release(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """Release for shipment through the gate; refused with the list of what is missing (409)."""

        async def write(form: FormMultiDict) -> None:
            shipment = await _project_shipment(db, project_id, shipment_id)
            await shipments.release_shipment(
                db,
                actor=staff.user,
                shipment_id=shipment.id,
                override_reason=form_text(form, "override_reason"),
                expected_version=form_version(form),
            )

        return await self._act(
            request, db, staff, project_id, key=f"shipment-{shipment_id}", done="released", write=write
        )

    @post("/shipments/{shipment_id:int}/ship", name="coordinator_shipment_ship")
    async def ship(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """Mark a released shipment as shipped (its lots are shipped)."""

        async def write(form: FormMultiDict) -> None:
            shipment = await _project_shipment(db, project_id, shipment_id)
            await shipments.ship_shipment(
                db, actor=staff.user, shipment_id=shipment.id, expected_version=form_version(form)
            )

        return await self._act(
            request, db, staff, project_id, key=f"shipment-{shipment_id}", done="shipped", write=write
        )

    @post("/shipments/{shipment_id:int}/cancel", name="coordinator_shipment_cancel")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """Cancel a planned shipment with a reason."""

        async def write(form: FormMultiDict) -> None:
            shipment = await _project_shipment(db, project_id, shipment_id)
            await shipments.cancel_shipment(
                db,
                actor=staff.user,
                shipment_id=shipment.id,
                reason=form_text(form, "reason"),
                expected_version=form_version(form),
            )

        return await self._act(
            request, db, staff, project_id, key=f"shipment-{shipment_id}", done="cancelled", write=write
        )

    @get("/shipments/{shipment_id:int}/documents/{kind:str}", name="coordinator_shipment_document")
    async def document(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
        kind: FromPath[str],
        lang: FromQuery[str] = "",
        format: FromQuery[str] = "",
    ) -> Response[Any]:
        """A generated document as a page, or as a PDF with `?format=pdf`."""
        shipment = await _project_shipment(db, project_id, shipment_id)
        return await document_response(db, shipment, kind, lang=lang, pdf=format == "pdf")

    @post("/changes/{change_id:int}", name="coordinator_revision_effectivity")
    async def effectivity(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        change_id: FromPath[int],
    ) -> Template | Redirect:
        """Decide from which lot a new revision applies to an order, or not for this order, with the reason."""

        async def write(form: FormMultiDict) -> None:
            change = await changes.load_change(db, change_id)
            if change.project_id != project_id:
                raise NotFound(_("This revision change does not exist or you do not have access to it."))
            await changes.decide_effectivity(
                db,
                actor=staff.user,
                change_id=change.id,
                from_lot=form_text(form, "from_lot"),
                reason=form_text(form, "reason"),
                expected_version=form_version(form),
            )

        return await self._act(
            request, db, staff, project_id, key=f"change-{change_id}", done="decided", write=write
        )

    @post("/deviations", name="coordinator_deviation_report")
    async def deviation(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """The inspector reports a floor deviation found on site."""

        async def write(form: FormMultiDict) -> None:
            try:
                order_id = int(form_text(form, "order_id"))
            except ValueError:
                raise ValidationFailed(_("Choose the production order."), field="order_id") from None
            order = await db.get(ProductionOrder, order_id)
            if order is None or order.project_id != project_id:
                raise ValidationFailed(_("Choose the production order."), field="order_id")
            await changes.report_deviation(
                db,
                order=order,
                lot_id=form_text(form, "lot_id"),
                description=form_text(form, "description"),
                actor=staff.user,
            )

        return await self._act(
            request, db, staff, project_id, key="deviations", done="deviation", write=write
        )


async def document_response(
    db: AsyncSession, shipment: Shipment, kind: str, *, lang: str, pdf: bool
) -> Response[Any]:
    """A shipment's generated document (both languages, the reader's first) as HTML or PDF; 404 when not generated."""
    generated = (await shipments.documents_of(db, shipment.id)).get(kind)
    if generated is None:
        raise NotFound(_("This document has not been generated."))
    locale = lang if lang in ("en", "zh_Hans") else i18n.get_locale()
    languages = documents.languages_for(locale)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if pdf:
        data = await documents.cached_pdf(generated, languages=languages)
        return Response(
            data,
            media_type="application/pdf",
            headers={
                **headers,
                "Content-Disposition": f'attachment; filename="{documents.download_name(generated)}"',
            },
        )
    return Response(
        documents.render_html(generated, mode="web", languages=languages),
        media_type="text/html",
        headers=headers,
    )
