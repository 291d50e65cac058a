"""How the decision log names production's subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.i18n import N_, _
from makeready.production.models import Lot, ProductionOrder, ToolingItem

LOT_LABEL = N_("%(order)s lot %(number)s")


async def order_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(ProductionOrder.id, ProductionOrder.project_id, ProductionOrder.number).where(
            ProductionOrder.id.in_(ids)
        )
    )
    return {order_id: f"PO-{project_id}-{number}" for order_id, project_id, number in rows.all()}


async def lot_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(Lot.id, Lot.number, ProductionOrder.project_id, ProductionOrder.number)
        .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
        .where(Lot.id.in_(ids))
    )
    return {
        lot_id: _(LOT_LABEL) % {"order": f"PO-{project_id}-{order_number}", "number": number}
        for lot_id, number, project_id, order_number in rows.all()
    }


async def tooling_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(select(ToolingItem.id, ToolingItem.name).where(ToolingItem.id.in_(ids)))
    return dict(rows.all())


async def where_labels(
    session: AsyncSession, rows: Iterable[tuple[int, int, int | None]]
) -> Mapping[int, str]:
    """Name records that belong to a lot or to the whole order, from their (id, order id, lot id or None) rows:
    the lot's name when there is one, else the order's (two statements at most)."""
    rows = list(rows)
    lots = await lot_labels(session, sorted({lot_id for _id, _order, lot_id in rows if lot_id is not None}))
    orders = await order_labels(
        session, sorted({order_id for _id, order_id, lot_id in rows if lot_id is None})
    )
    return {
        record_id: lots[lot_id] if lot_id is not None else orders[order_id]
        for record_id, order_id, lot_id in rows
        if (lot_id in lots if lot_id is not None else order_id in orders)
    }
