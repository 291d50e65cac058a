"""Shipments for brands: /projects/{project_id}/shipments, one shipment with its documents, the receipt or a problem,
and the floor deviations the brand approves or refuses (a refused one is a nonconformance).

Reads and writes go through makeready.shipping in the request's scoped transaction: another organization's project,
shipment or deviation is a 404. A refused form shows the page again with the message and its status code.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.form_values import form_text, form_version
from backoffice.shipping import document_response
from makeready import urls
from makeready.errors import DomainError, NotFound
from makeready.i18n import _
from makeready.shipping import changes, documents, shipments
from makeready.shipping.common import DEVIATION_NOT_FOUND, SHIPMENT_NOT_FOUND, load_deviation, load_shipment
from makeready.shipping.models import Shipment
from portal.auth import Actor, provide_user
from portal.samples import load_project


async def _shipment(db: AsyncSession, project_id: int, shipment_id: int) -> Shipment:
    shipment = await load_shipment(db, shipment_id)
    if shipment.project_id != project_id:
        raise NotFound(_(SHIPMENT_NOT_FOUND))
    return shipment


class BrandShippingPages(Controller):
    """The brand's shipments, documents, receipt and deviation decisions."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    async def _context(self, db: AsyncSession, user: Actor, project_id: int, **extra: Any) -> dict[str, Any]:
        project = await load_project(db, project_id)
        all_shipments = await shipments.shipments_of_project(db, project.id)
        return {
            "user": user,
            "project": project,
            "shipments": all_shipments,
            "shipment_lots": await shipments.lots_by_shipment(db, [s.id for s in all_shipments]),
            "docs": {s.id: await shipments.documents_of(db, s.id) for s in all_shipments},
            "deviations": await changes.deviations_of_project(db, project.id),
            "changes": await changes.changes_of_project(db, project.id),
            "document_titles": documents.TITLES,
            "may_decide": not user.is_staff and user.role_in(project.org_id) in ("owner", "member"),
            "error": "",
            "error_key": "",
            **extra,
        }

    @get("/projects/{project_id:int}/shipments", name="brand_shipments")
    async def list_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The project's shipments, their documents, and the floor deviations awaiting a decision."""
        return Template("portal/shipping/shipments.html", context=await self._context(db, user, project_id))

    @get("/projects/{project_id:int}/shipments/{shipment_id:int}", name="brand_shipment")
    async def detail(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template:
        """One shipment: lots, transport, documents, and the receipt or problem forms once it has left."""
        shipment = await _shipment(db, project_id, shipment_id)
        context = await self._context(db, user, project_id, shipment=shipment)
        return Template("portal/shipping/shipment.html", context=context)

    @get(
        "/projects/{project_id:int}/shipments/{shipment_id:int}/documents/{kind:str}",
        name="brand_shipment_document",
    )
    async def document(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
        kind: FromPath[str],
        lang: FromQuery[str] = "",
        format: FromQuery[str] = "",
    ) -> Response[Any]:
        """A generated document as a page, or a PDF with `?format=pdf`."""
        await load_project(db, project_id)
        shipment = await _shipment(db, project_id, shipment_id)
        return await document_response(db, shipment, kind, lang=lang, pdf=format == "pdf")

    async def _write(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        user: Actor,
        project_id: int,
        *,
        key: str,
        template: str,
        action: Any,
        next_url: str,
        shipment_id: int | None = None,
    ) -> Template | Redirect:
        form = await request.form()
        await load_project(db, project_id)
        try:
            await action(form)
        except NotFound:
            raise
        except DomainError as exc:
            if not db.is_active or db.dirty or db.new:
                raise  # refused while writing: the error page, and the transaction rolls back
            extra: dict[str, Any] = {"error": exc.message, "error_key": key}
            if shipment_id is not None:
                extra["shipment"] = await _shipment(db, project_id, shipment_id)
            context = await self._context(db, user, project_id, **extra)
            return Template(template, context=context, status_code=exc.status_code)
        return Redirect(next_url, status_code=303)

    @post("/projects/{project_id:int}/shipments/{shipment_id:int}/receipt", name="brand_shipment_receipt")
    async def receipt(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """The brand confirms the goods arrived."""

        async def action(form: FormMultiDict) -> None:
            shipment = await _shipment(db, project_id, shipment_id)
            await shipments.confirm_receipt(
                db,
                actor=user.user,
                shipment_id=shipment.id,
                note=form_text(form, "note"),
                expected_version=form_version(form),
            )

        return await self._write(
            request,
            db,
            user,
            project_id,
            key="receipt",
            template="portal/shipping/shipment.html",
            action=action,
            next_url=urls.shipment(project_id, shipment_id),
            shipment_id=shipment_id,
        )

    @post("/projects/{project_id:int}/shipments/{shipment_id:int}/problem", name="brand_shipment_problem")
    async def problem(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        shipment_id: FromPath[int],
    ) -> Template | Redirect:
        """The brand reports a problem with the delivery (the coordinator is told)."""

        async def action(form: FormMultiDict) -> None:
            shipment = await _shipment(db, project_id, shipment_id)
            await shipments.report_problem(
                db,
                actor=user.user,
                shipment_id=shipment.id,
                comment=form_text(form, "comment"),
                expected_version=form_version(form),
            )

        return await self._write(
            request,
            db,
            user,
            project_id,
            key="problem",
            template="portal/shipping/shipment.html",
            action=action,
            next_url=urls.shipment(project_id, shipment_id),
            shipment_id=shipment_id,
        )

    @post(
        "/projects/{project_id:int}/deviations/{deviation_id:int}/decision", name="brand_deviation_decision"
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        deviation_id: FromPath[int],
    ) -> Template | Redirect:
        """Approve a floor deviation (part of the record) or refuse it: a nonconformance (comment required)."""

        async def action(form: FormMultiDict) -> None:
            deviation = await load_deviation(db, deviation_id)
            if deviation.project_id != project_id:
                raise NotFound(_(DEVIATION_NOT_FOUND))
            await changes.decide_deviation(
                db,
                actor=user.user,
                deviation_id=deviation.id,
                decision=form_text(form, "decision"),
                comment=form_text(form, "comment"),
                expected_version=form_version(form),
            )

        return await self._write(
            request,
            db,
            user,
            project_id,
            key=f"deviation-{deviation_id}",
            template="portal/shipping/shipments.html",
            action=action,
            next_url=urls.shipments(project_id),
        )
