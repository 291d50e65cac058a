"""What the materials pages show: an order's requirements with readiness, its purchase orders and shipments, its
open shortages; the agency's list of open shortages and purchase orders due soon (bounded, paged queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.conditions.models import Condition
from makeready.db.types import utcnow
from makeready.materials import shortages
from makeready.materials.models import PurchaseOrder, PurchaseStatus
from makeready.materials.readiness import RANK, Line, Readiness, lines_of, order_readiness
from makeready.materials.supply import OPEN, purchase_orders_of, shipments_of
from makeready.production.models import Lot, ProductionOrder

DUE_DAYS = 14
PAGE_SIZE = 50


@dataclass
class OrderMaterials:
    order: ProductionOrder
    lines: list[Line]
    readiness: Readiness | None
    shortages: list[Condition]


async def order_materials(
    session: AsyncSession, order: ProductionOrder, *, not_ready: bool = False
) -> OrderMaterials:
    lines = await lines_of(session, order.id)
    shown = [line for line in lines if line.state != Readiness.in_house] if not_ready else lines
    shown.sort(key=lambda line: (RANK[line.state], line.requirement.need_date, line.requirement.id))
    return OrderMaterials(
        order=order,
        lines=shown,
        readiness=order_readiness(lines),
        shortages=await shortages.open_shortages(session, order.id),
    )


async def supply_of(session: AsyncSession, order_id: int) -> tuple[list[PurchaseOrder], list[object]]:
    return await purchase_orders_of(session, order_id), list(await shipments_of(session, order_id))


async def agency_overview(
    session: AsyncSession, *, page: int = 1, today: date | None = None
) -> tuple[list[tuple[Condition, Lot | None]], int, list[PurchaseOrder]]:
    """Every open shortage (paged, oldest first) and every purchase order due in the next DUE_DAYS days."""
    day = today or utcnow().date()
    names = [kind.name for kind in shortages.KINDS]
    where = (Condition.kind.in_(names), Condition.resolved_at.is_(None))
    total = int(await session.scalar(select(func.count(Condition.id)).where(*where)) or 0)
    rows = (
        await session.execute(
            select(Condition, Lot)
            .outerjoin(Lot, Lot.id == Condition.subject_id)
            .where(*where)
            .order_by(Condition.raised_at, Condition.id)
            .offset((max(1, page) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    due = (
        await session.scalars(
            select(PurchaseOrder)
            .where(
                PurchaseOrder.status.in_((*tuple(OPEN), PurchaseStatus.draft)),
                PurchaseOrder.eta.is_not(None),
                PurchaseOrder.eta <= day + timedelta(days=DUE_DAYS),
            )
            .order_by(PurchaseOrder.eta, PurchaseOrder.id)
            .limit(PAGE_SIZE)
        )
    ).all()
    return [(condition, lot) for condition, lot in rows], total, list(due)
