"""The brand's production pages: a project's production orders and lots, the go-ahead for mass production, photos.

`GET /projects/{id}/production` lists the project's orders (reference, factory, quantity, ex-factory date, state)
with their lots read-only (state, progress, last report, the latest report's photos); never a unit price or any other
agency figure. A draft order carries the confirmation form for the brand's owners and members
(`orders.confirm_order`, with the version the page showed: a stale one is the kernel's 409 message). Photos are
served by `/production/photos/{id}/thumbnail|image` through the caller's tenancy scope (another organization's photo
is a 404). Every read is a fixed number of statements whatever the number of orders and lots.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import OrgRole
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.i18n import _
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import photos as photo_service
from makeready.production.common import ORDER_NOT_FOUND
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder, ProgressReport
from makeready.projects.models import Project
from makeready.samples.photos import THUMBNAIL_TYPE
from makeready.storage import get_storage
from makeready.suppliers.models import Supplier
from portal.auth import Actor, provide_user
from portal.bounds import PageNumber
from portal.samples import NOT_A_PAGE, load_project

CONFIRMERS = frozenset({OrgRole.owner, OrgRole.member})
LOTS_PAGE = 50


def confirm_note(user: Actor, project: Project) -> str:
    """Why the caller sees no confirmation form, or "" when they may confirm."""
    if user.is_staff:
        return _("Only the brand's owners and members confirm a production order.")
    if user.role_in(project.org_id) not in CONFIRMERS:
        return _("Viewers can look but not decide. Ask an owner for a member role.")
    return ""


def thumbnail_path(photo_id: int) -> str:
    return f"/production/photos/{photo_id}/thumbnail"


def image_path(photo_id: int) -> str:
    return f"/production/photos/{photo_id}/image"


async def production_context(db: AsyncSession, user: Actor, project: Project) -> dict[str, Any]:
    """The project's orders, their factories, lots, latest reports and those reports' photos (six statements)."""
    orders = list(
        (
            await db.scalars(
                select(ProductionOrder)
                .where(ProductionOrder.project_id == project.id)
                .order_by(ProductionOrder.number.desc())
            )
        ).all()
    )
    order_ids = [o.id for o in orders]
    suppliers: dict[int, Supplier] = {}
    lots: dict[int, list[Lot]] = {}
    latest: dict[int, ProgressReport] = {}
    if orders:
        suppliers = {
            s.id: s
            for s in await db.scalars(
                select(Supplier).where(Supplier.id.in_({o.supplier_id for o in orders}))
            )
        }
        for lot in await db.scalars(
            select(Lot).where(Lot.order_id.in_(order_ids)).order_by(Lot.order_id, Lot.number)
        ):
            lots.setdefault(lot.order_id, []).append(lot)
        # the latest report of each lot is the one stamped with the lot's last_report_at (the same instant is
        # written to both); should two share it, the later id wins
        for report in await db.scalars(
            select(ProgressReport)
            .join(
                Lot,
                (ProgressReport.lot_id == Lot.id) & (ProgressReport.reported_at == Lot.last_report_at),
            )
            .where(Lot.order_id.in_(order_ids))
            .order_by(ProgressReport.id)
        ):
            latest[report.lot_id] = report
    photos = await photo_service.photos_of(db, "progress_report", [r.id for r in latest.values()])
    return {
        "project": project,
        "orders": orders,
        "suppliers": suppliers,
        "lots": lots,
        "latest": latest,
        "photos": photos,
        "produced": {o.id: lot_service.produced_step(o) for o in orders},
        "step_label": lot_service.step_label,
        "confirm_note": confirm_note(user, project),
        "draft": OrderStatus.draft,
        "cancelled_lot": LotStatus.cancelled,
        "thumbnail_path": thumbnail_path,
        "image_path": image_path,
    }


async def lots_context(db: AsyncSession, page: int) -> dict[str, Any]:
    """A page of every lot the caller may see (the data layer scopes it to their organizations), the lots of the
    latest ex-factory dates first, with their orders, projects, latest reports and photos (six statements)."""
    base = (
        select(Lot, ProductionOrder, Project)
        .join(ProductionOrder, Lot.order_id == ProductionOrder.id)
        .join(Project, Lot.project_id == Project.id)
        .where(Lot.status != LotStatus.cancelled)
    )
    total = int(await db.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = (
        await db.execute(
            base.order_by(ProductionOrder.ex_factory_date.desc(), ProductionOrder.id.desc(), Lot.number)
            .offset((page - 1) * LOTS_PAGE)
            .limit(LOTS_PAGE)
        )
    ).all()
    lot_ids = [lot.id for lot, _order, _project in rows]
    latest: dict[int, ProgressReport] = {}
    if lot_ids:
        for report in await db.scalars(
            select(ProgressReport)
            .join(
                Lot,
                (ProgressReport.lot_id == Lot.id) & (ProgressReport.reported_at == Lot.last_report_at),
            )
            .where(Lot.id.in_(lot_ids))
            .order_by(ProgressReport.id)
        ):
            latest[report.lot_id] = report
    photos = await photo_service.photos_of(db, "progress_report", [r.id for r in latest.values()])
    return {
        "rows": [
            (lot, order, project, lot_service.produced_count(order, lot)) for lot, order, project in rows
        ],
        "latest": latest,
        "photos": photos,
        "page": page,
        "pages": max(1, -(-total // LOTS_PAGE)),
        "total": total,
        "thumbnail_path": thumbnail_path,
        "image_path": image_path,
    }


class ProductionPages(Controller):
    """The brand's production page of a project, and its go-ahead for mass production."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/projects/{project_id:int}/production", name="production")
    async def production_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The project's production orders with their lots' progress, read-only but for the confirmation."""
        project = await load_project(db, project_id)
        context = await production_context(db, user, project)
        return Template("portal/production/index.html", context={"user": user, **context})

    @get("/production/lots", name="production_lots")
    async def lots_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], page: FromQuery[PageNumber] = 1
    ) -> Template:
        """Every lot of the caller's organizations, read-only: state, progress, last report and its photos."""
        return Template("portal/production/lots.html", context={"user": user, **await lots_context(db, page)})

    @post("/projects/{project_id:int}/production/orders/{order_id:int}/confirm", name="production_confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """The brand's go-ahead for mass production of a draft order (owners and members)."""
        form = await request.form()
        project = await load_project(db, project_id)
        order = await db.scalar(
            select(ProductionOrder).where(
                ProductionOrder.id == order_id, ProductionOrder.project_id == project.id
            )
        )
        if order is None:
            raise NotFound(_(ORDER_NOT_FOUND))
        try:
            raw = form.get("version") or ""
            try:
                version = int(raw) if raw else None
            except ValueError:
                raise ValidationFailed(_("Some of the values sent are not valid."), field="version") from None
            await order_service.confirm_order(
                db, actor=user.user, order_id=order.id, expected_version=version
            )
        except DomainError as exc:
            if not db.is_active or db.dirty or db.new:
                raise  # refused while writing: the error page, and the transaction rolls back
            # refused before anything changed (role, state, stale version): the page again, with the message
            context = await production_context(db, user, project)
            return Template(
                "portal/production/index.html",
                context={"user": user, **context, "error": exc.message, "error_order": order_id},
                status_code=exc.status_code,
            )
        return Redirect(
            f"{urls.production(project_id)}?confirmed={order_id}#order-{order_id}", status_code=303
        )


def _photo_headers() -> dict[str, str]:
    return {
        "cache-control": "private, max-age=86400",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
    }


class ProductionPhotoRoutes(Controller):
    """A production photo's thumbnail and whole image, for the brand's pages and API clients (same login)."""

    path = "/production/photos"
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/{production_photo_id:int}/thumbnail", opt=NOT_A_PAGE)
    async def thumbnail(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        production_photo_id: FromPath[int],
    ) -> Response[bytes]:
        """The photo's thumbnail (a JPEG of at most 480x480 pixels)."""
        photo = await photo_service.get_photo(db, production_photo_id)
        data = await get_storage().read(photo.thumbnail_key)
        return Response(content=data, media_type=THUMBNAIL_TYPE, headers=_photo_headers())

    @get("/{production_photo_id:int}/image", status_code=302, opt=NOT_A_PAGE)
    async def image(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        production_photo_id: FromPath[int],
    ) -> Redirect:
        """The whole photo: a redirect to a short-lived link."""
        photo = await photo_service.get_photo(db, production_photo_id)
        attachment = photo.attachment
        url = get_storage().download_url(
            attachment.object_key,
            filename=attachment.original_name,
            content_type=attachment.content_type,
            inline=True,
        )
        return Redirect(url, status_code=302, headers={"cache-control": "no-store"})
