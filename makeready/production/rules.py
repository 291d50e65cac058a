"""Production's rules: what follows from its own events (the composition root registers RULES)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.i18n import N_
from makeready.kernel.bus import Event, Rule
from makeready.production import links
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, ProductionOrder

ORDER_CANCELLED = N_("The production order was cancelled.")


async def withdraw_cancelled_order(session: AsyncSession, event: Event) -> None:
    """A cancelled order's links stop working and its lots that have not started are cancelled."""
    order: ProductionOrder = event.subject
    await links.revoke_all(session, order, actor=event.actor, reason=ORDER_CANCELLED)
    for lot in (
        await session.scalars(select(Lot).where(Lot.order_id == order.id, Lot.status == LotStatus.planned))
    ).all():
        await move_lot(session, lot, "cancel", actor=event.actor, inputs={"reason": ORDER_CANCELLED})


RULES: list[tuple[str, Rule]] = [
    ("production_order.cancelled", withdraw_cancelled_order),
]
