"""What the coordinator's production pages read: a project's orders, and one order's page, in a fixed number of
statements whatever the number of lots, tooling items, reports and photos (the reports a page at a time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from backoffice.access import Failed, Staff
from makeready.accounts.models import User
from makeready.db.types import utcnow
from makeready.errors import NotFound
from makeready.i18n import _
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production.common import ORDER_NOT_FOUND
from makeready.production.links import is_live
from makeready.production.models import (
    DEFAULT_ROUTING,
    Incoterm,
    Lot,
    LotStatus,
    OrderStatus,
    ProductionLink,
    ProductionOrder,
    ProductionPhoto,
    ProgressReport,
    ToolingItem,
    ToolingKind,
    ToolingStatus,
)
from makeready.projects.access import load_project
from makeready.projects.models import Milestone, Project
from makeready.specs.service import current_issued
from makeready.suppliers.models import Quote, QuoteStatus, Supplier

REPORTS_PER_PAGE = 20
MAX_REPORT_PAGE = 1000
LINKS_SHOWN = 20
EDITABLE = (OrderStatus.draft, OrderStatus.confirmed)
LINKABLE = (OrderStatus.sent, OrderStatus.accepted, OrderStatus.in_production, OrderStatus.produced)
FORM_FIELDS = (
    "quantity",
    "unit_price",
    "currency",
    "ex_factory_date",
    "incoterm",
    "delivery_address",
    "payment_terms",
    "routing",
    "report_interval_days",
)


def order_values(order: ProductionOrder) -> dict[str, str]:
    """The edit form's fields as the inputs show them."""
    return {
        "quantity": str(order.quantity),
        "unit_price": "" if order.unit_price is None else f"{order.unit_price.normalize():f}",
        "currency": order.currency,
        "ex_factory_date": order.ex_factory_date.isoformat(),
        "incoterm": order.incoterm.value,
        "delivery_address": order.delivery_address,
        "payment_terms": order.payment_terms,
        "routing": ", ".join(order.routing or []),
        "report_interval_days": str(order.report_interval_days),
    }


def quote_values(project: Project, quote: Quote | None, today: date) -> dict[str, str]:
    """A new order's form, prefilled from the selected quote (quantity, unit price, currency, a date its lead time
    allows)."""
    quantity = project.target_quantity or (quote.min_order_quantity if quote else None)
    price = order_service.price_for(quote, quantity or 0) if quote else None
    lead = quote.lead_time_days if quote and quote.lead_time_days else None
    return {
        "quantity": str(quantity or ""),
        "unit_price": "" if price is None else f"{price.normalize():f}",
        "currency": (quote.currency if quote else "") or project.currency or "USD",
        "ex_factory_date": (today + timedelta(days=lead)).isoformat() if lead else "",
        "incoterm": Incoterm.FOB.value,
        "delivery_address": "",
        "payment_terms": "",
        "routing": ", ".join(DEFAULT_ROUTING),
        "report_interval_days": "3",
    }


async def orders_context(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    failed: Failed | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The project's orders and the form to create one (five statements)."""
    project = await load_project(db, project_id)
    rows = (
        await db.execute(
            select(ProductionOrder, Supplier)
            .join(Supplier, Supplier.id == ProductionOrder.supplier_id)
            .where(ProductionOrder.project_id == project.id)
            .order_by(ProductionOrder.number.desc())
        )
    ).all()
    planned = await planned_by_order(db, [order.id for order, _s in rows])
    quote = await db.scalar(
        select(Quote)
        .where(Quote.project_id == project.id, Quote.status == QuoteStatus.selected)
        .options(joinedload(Quote.supplier))
        .limit(1)
    )
    revision = await current_issued(db, project.id)
    today = utcnow().date()
    return {
        "user": staff,
        "project": project,
        "rows": [(order, supplier, planned.get(order.id, 0)) for order, supplier in rows],
        "quote": quote,
        "revision": revision,
        "values": quote_values(project, quote, today),
        "incoterms": list(Incoterm),
        "failed": failed,
        "notice": notice,
    }


async def planned_by_order(db: AsyncSession, order_ids: list[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    rows = await db.execute(
        select(Lot.order_id, func.sum(Lot.quantity))
        .where(Lot.order_id.in_(order_ids), Lot.status != LotStatus.cancelled)
        .group_by(Lot.order_id)
    )
    return {order_id: int(total or 0) for order_id, total in rows.all()}


async def order_of_project(db: AsyncSession, project_id: int, order_id: int) -> ProductionOrder:
    """The order, if it is this project's (another project's order, or another organization's, is not found)."""
    order = await db.scalar(
        select(ProductionOrder).where(
            ProductionOrder.id == order_id, ProductionOrder.project_id == project_id
        )
    )
    if order is None:
        raise NotFound(_(ORDER_NOT_FOUND))
    return order


@dataclass
class LotRow:
    lot: Lot
    produced: int
    percent: int

    @property
    def open(self) -> bool:
        return self.lot.status in (LotStatus.planned, LotStatus.in_production)


@dataclass
class Reports:
    lot: Lot | None
    rows: list[ProgressReport]
    photos: dict[int, list[ProductionPhoto]]
    total: int
    page: int
    pages: int
    reporters: dict[int, User] = field(default_factory=dict)


async def order_context(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    order_id: int,
    *,
    lot_id: int | None = None,
    page: int = 1,
    failed: Failed | None = None,
    notice: str | None = None,
    new_link: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One order's page: its terms, lots, tooling, links, plan and one lot's reports with their photos."""
    order = await order_of_project(db, project_id, order_id)
    project = await db.scalar(
        select(Project).where(Project.id == order.project_id).options(joinedload(Project.org))
    )
    assert project is not None
    supplier = await db.get(Supplier, order.supplier_id)
    lots = await lot_service.lots_of(db, order.id)
    tooling = list(
        (
            await db.scalars(
                select(ToolingItem)
                .where(ToolingItem.order_id == order.id)
                .options(joinedload(ToolingItem.owner))
                .order_by(ToolingItem.id)
            )
        ).all()
    )
    milestones = list(
        (
            await db.scalars(
                select(Milestone)
                .where(Milestone.production_order_id == order.id)
                .options(joinedload(Milestone.owner))
                .order_by(Milestone.due_date, Milestone.position)
            )
        ).all()
    )
    links = list(
        (
            await db.scalars(
                select(ProductionLink)
                .where(ProductionLink.order_id == order.id)
                .order_by(ProductionLink.created_at.desc(), ProductionLink.id.desc())
                .limit(LINKS_SHOWN)
            )
        ).all()
    )
    reports = await lot_reports(db, order, lots, lot_id=lot_id, page=page)
    trial_photos = await photos_of(db, order.id, "tooling_trial", [t.id for t in tooling])
    staff_users = (
        await db.scalars(
            select(User)
            .where(User.is_staff.is_(True), User.is_active.is_(True))
            .order_by(User.name, User.email)
        )
    ).all()
    planned = sum(lot.quantity for lot in lots if lot.status != LotStatus.cancelled)
    waiting_tooling = [t for t in tooling if t.status != ToolingStatus.approved]
    now = utcnow()
    return {
        "user": staff,
        "project": project,
        "order": order,
        "supplier": supplier,
        "lots": [_lot_row(order, lot) for lot in lots],
        "planned": planned,
        "unplanned": max(order.quantity - planned, 0),
        "tooling": tooling,
        "waiting_tooling": waiting_tooling,
        "trial_photos": trial_photos,
        "milestones": milestones,
        "links": links,
        "live_link": next((link for link in links if is_live(link, now)), None),
        "reports": reports,
        "values": order_values(order),
        "editable": order.status in EDITABLE,
        "linkable": order.status in LINKABLE,
        "incoterms": list(Incoterm),
        "tooling_kinds": list(ToolingKind),
        "staff_users": staff_users,
        "today": now.date(),
        "now": now,
        "failed": failed,
        "notice": notice,
        "new_link": new_link,
        "step_label": lot_service.step_label,
        "produced_step": lot_service.produced_step(order),
    }


def _lot_row(order: ProductionOrder, lot: Lot) -> LotRow:
    if lot.status in lot_service.AFTER_PRODUCTION:
        produced = lot.quantity
    else:
        produced = min(lot_service.produced_count(order, lot), lot.quantity)
    percent = int(100 * produced / lot.quantity) if lot.quantity else 0
    return LotRow(lot=lot, produced=produced, percent=percent)


async def lot_reports(
    db: AsyncSession, order: ProductionOrder, lots: list[Lot], *, lot_id: int | None, page: int
) -> Reports:
    """A page of one lot's reports, newest first, with their photos: the lot asked for, else the first lot that
    has reports (then the first lot)."""
    chosen = next((lot for lot in lots if lot.id == lot_id), None)
    if chosen is None:
        chosen = next((lot for lot in lots if lot.last_report_at is not None), lots[0] if lots else None)
    if chosen is None:
        return Reports(lot=None, rows=[], photos={}, total=0, page=1, pages=1)
    total = int(
        await db.scalar(select(func.count(ProgressReport.id)).where(ProgressReport.lot_id == chosen.id)) or 0
    )
    pages = max(1, -(-total // REPORTS_PER_PAGE))
    page = min(max(page, 1), pages)
    rows = list(
        (
            await db.scalars(
                select(ProgressReport)
                .where(ProgressReport.lot_id == chosen.id)
                .order_by(ProgressReport.reported_at.desc(), ProgressReport.id.desc())
                .offset((page - 1) * REPORTS_PER_PAGE)
                .limit(REPORTS_PER_PAGE)
            )
        ).all()
    )
    photos = await photos_of(db, order.id, "progress_report", [r.id for r in rows])
    ids = {r.reported_by_id for r in rows if r.reported_by_id}
    reporters = (
        {u.id: u for u in (await db.scalars(select(User).where(User.id.in_(ids)))).all()} if ids else {}
    )
    return Reports(
        lot=chosen, rows=rows, photos=photos, total=total, page=page, pages=pages, reporters=reporters
    )


async def photos_of(
    db: AsyncSession, order_id: int, subject_type: str, subject_ids: list[int]
) -> dict[int, list[ProductionPhoto]]:
    """The photos of these subjects, in their order (one statement, none when there is nothing to ask for)."""
    if not subject_ids:
        return {}
    rows = await db.scalars(
        select(ProductionPhoto)
        .where(
            ProductionPhoto.order_id == order_id,
            ProductionPhoto.subject_type == subject_type,
            ProductionPhoto.subject_id.in_(subject_ids),
        )
        .options(joinedload(ProductionPhoto.attachment))
        .order_by(ProductionPhoto.subject_id, ProductionPhoto.position, ProductionPhoto.id)
    )
    out: dict[int, list[ProductionPhoto]] = {}
    for photo in rows.all():
        out.setdefault(photo.subject_id, []).append(photo)
    return out
