"""The brand's quality pages: a project's inspections and holds, and the review of one inspection report with its
defect photos beside the approved sample's, and the decision (accept, reject with reasons, accept with a
concession: what is accepted and the remedy).

A decision goes through `makeready.quality.inspections.decide_inspection` (the brand's roles, the state: a decision
on an inspection not in review is a 409, the reasons and the concession's fields, the audit event, the lot's move,
the holds, the corrective action, the coordinator's notification) in the request's transaction. A refused decision
shows the page again with the message and the error's status (the transaction is rolled back).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.form_values import form_text, form_version
from backoffice.inspections import serve_photo
from makeready import i18n
from makeready.accounts.models import OrgRole
from makeready.errors import DomainError, NotFound
from makeready.i18n import _
from makeready.production.models import Lot
from makeready.quality import holds, report
from makeready.quality import inspections as qc
from makeready.quality.models import HoldStatus, Inspection, InspectionStatus, QualityHold
from makeready.samples.models import SampleRound, SampleStatus
from makeready.samples.photos import photos_of_rounds
from makeready.storage.base import content_disposition
from portal.auth import Actor, provide_user
from portal.samples import load_project

VISIBLE = frozenset(
    {
        InspectionStatus.brand_review,
        InspectionStatus.accepted,
        InspectionStatus.rejected,
        InspectionStatus.accepted_with_concession,
    }
)
"""The states in which the brand reads the report (the agency checks a submitted report before sending it)."""


def decider_note(user: Actor, org_id: int) -> str:
    if user.is_staff:
        return _("Only the brand's owners and members decide on an inspection.")
    if user.role_in(org_id) == OrgRole.viewer:
        return _("Viewers can look but not decide. Ask an owner for a member role.")
    return ""


async def _inspection_of(db: AsyncSession, project_id: int, inspection_id: int) -> Inspection:
    inspection = await qc.load_inspection(db, inspection_id)
    if inspection.project_id != project_id:
        raise NotFound(_(qc.INSPECTION_NOT_FOUND))
    return inspection


class QualityPages(Controller):
    """The brand's inspections of a project, the review page and its decision."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/projects/{project_id:int}/inspections", name="project_inspections")
    async def list_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The project's inspections and its lots' holds."""
        project = await load_project(db, project_id)
        rows = (
            await db.execute(
                select(Inspection, Lot)
                .join(Lot, Lot.id == Inspection.lot_id)
                .where(Inspection.project_id == project.id)
                .order_by(Inspection.id.desc())
                .limit(200)
            )
        ).all()
        active = (
            await db.scalars(
                select(QualityHold)
                .where(QualityHold.project_id == project.id, QualityHold.status == HoldStatus.active)
                .order_by(QualityHold.id.desc())
            )
        ).all()
        return Template(
            "portal/quality/list.html",
            context={
                "user": user,
                "project": project,
                "rows": rows,
                "holds": active,
                "visible": VISIBLE,
                "kind_label": qc.kind_label,
                "source_label": holds.source_label,
            },
        )

    async def _review(
        self,
        db: AsyncSession,
        user: Actor,
        project_id: int,
        inspection_id: int,
        *,
        error: str = "",
        form: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        project = await load_project(db, project_id)
        inspection = await _inspection_of(db, project_id, inspection_id)
        context: dict[str, Any] = {
            "user": user,
            "project": project,
            "i": inspection,
            "visible": inspection.status in VISIBLE,
            "error": error,
            "form": form or {},
            "decider_note": decider_note(user, project.org_id),
            "kind_label": qc.kind_label,
        }
        if inspection.status not in VISIBLE:
            return context
        built = await report.build_report(db, inspection)
        languages = (i18n.get_locale(), "en" if i18n.get_locale() == "zh_Hans" else "zh_Hans")
        context["report_html"] = Markup(  # noqa: S704 - our own template's output, autoescaped when rendered
            report.render_html(
                built,
                mode="web",
                languages=languages,
                photo_src=lambda p: f"/quality/photos/{p.id}/image",
                extra={"fragment": True},
            )
        )
        approved = await db.scalar(
            select(SampleRound)
            .where(SampleRound.project_id == project.id, SampleRound.status == SampleStatus.approved)
            .order_by(SampleRound.number.desc())
            .limit(1)
        )
        context["approved"] = approved
        context["approved_photos"] = (
            (await photos_of_rounds(db, [approved.id])).get(approved.id, []) if approved else []
        )
        context["report"] = built
        return context

    @get("/projects/{project_id:int}/inspections/{inspection_id:int}", name="inspection_review")
    async def review_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        inspection_id: FromPath[int],
    ) -> Template:
        """The report with its defect photos beside the approved sample's, and the decision form in review."""
        context = await self._review(db, user, project_id, inspection_id)
        return Template("portal/quality/review.html", context=context)

    @post("/projects/{project_id:int}/inspections/{inspection_id:int}/decision", name="inspection_decision")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        inspection_id: FromPath[int],
    ) -> Template | Redirect:
        """Accept, reject (reasons required) or accept with a concession (what, and the remedy)."""
        form = await request.form()
        await _inspection_of(db, project_id, inspection_id)  # another project's inspection is a 404 here
        values = {
            key: form_text(form, key) for key in ("decision", "reasons", "concession", "remedy", "amount")
        }
        try:
            await qc.decide_inspection(
                db,
                actor=user.user,
                inspection_id=inspection_id,
                decision=values["decision"],
                reasons=values["reasons"],
                concession=values["concession"],
                remedy=values["remedy"],
                amount=values["amount"],
                expected_version=form_version(form),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            # nothing of a refused decision is kept; the caller's rows are read again after the rollback
            await db.rollback()
            await db.refresh(user.user)
            for membership in user.memberships:
                await db.refresh(membership)
            context = await self._review(db, user, project_id, inspection_id, error=exc.message, form=values)
            return Template("portal/quality/review.html", context=context, status_code=exc.status_code)
        return Redirect(f"/projects/{project_id}/inspections/{inspection_id}", status_code=303)

    @get(
        "/projects/{project_id:int}/inspections/{inspection_id:int}/report.pdf", name="inspection_review_pdf"
    )
    async def report_pdf(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        inspection_id: FromPath[int],
    ) -> Response[bytes]:
        inspection = await _inspection_of(db, project_id, inspection_id)
        if inspection.status not in VISIBLE and not user.is_staff:
            raise NotFound(_(qc.INSPECTION_NOT_FOUND))
        built = await report.build_report(db, inspection)
        first = i18n.get_locale()
        data = await report.render_pdf(built, languages=(first, "en" if first == "zh_Hans" else "zh_Hans"))
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": content_disposition(f"{inspection.reference}.pdf")},
        )

    @get("/quality/photos/{photo_id:int}/image", name="brand_quality_photo", opt={"bell": False})
    async def photo(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], photo_id: FromPath[int]
    ) -> Response[bytes]:
        """A defect photo of one of the caller's inspections (another organization's is a 404)."""
        return await serve_photo(db, photo_id, order_id=None, thumbnail=True)
