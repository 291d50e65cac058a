"""Materials' rules: requirements follow the order and its lots; shortages follow the supply (composition
registers RULES)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.kernel.bus import Event, Rule
from makeready.materials import shortages
from makeready.materials.explosion import compute_requirements
from makeready.materials.models import FreeIssueShipment, MaterialReceipt, PurchaseOrder
from makeready.production.common import load_order
from makeready.production.models import Lot, OrderStatus, ProductionOrder

PLANNED = frozenset(
    {OrderStatus.confirmed, OrderStatus.sent, OrderStatus.accepted, OrderStatus.in_production}
)


async def explode_confirmed_order(session: AsyncSession, event: Event) -> None:
    """The brand confirmed: explode the frozen BOM (a re-confirmation after a change records the difference)."""
    order: ProductionOrder = event.subject
    await compute_requirements(session, order, actor=event.actor, reason="production_order.confirmed")
    await shortages.evaluate_order(session, order, now=event.now)


async def replan_after_lot_change(session: AsyncSession, event: Event) -> None:
    """A lot added, moved or cancelled moves the need dates: recompute (the difference is recorded)."""
    lot: Lot = event.subject
    order = await load_order(session, lot.order_id)
    if order.status in PLANNED and order.bom_snapshot is not None:
        await compute_requirements(session, order, actor=event.actor, reason=event.name)
        await shortages.evaluate_order(session, order, now=event.now)


async def reevaluate_order(session: AsyncSession, event: Event) -> None:
    """Supply moved (a purchase order placed, shipped, received, its ETA changed; free issue shipped or received;
    the factory's materials in house) or the order stopped: raise or clear the order's shortages."""
    subject = event.subject
    if isinstance(subject, ProductionOrder):
        order = subject
    elif isinstance(subject, (PurchaseOrder, FreeIssueShipment, MaterialReceipt)):
        order = await load_order(session, subject.order_id)
    else:  # pragma: no cover - the rules below only listen for the subjects above
        return
    await shortages.evaluate_order(session, order, now=event.now)


RULES: list[tuple[str, Rule]] = [
    ("production_order.confirmed", explode_confirmed_order),
    ("lot.created", replan_after_lot_change),
    ("lot.rescheduled", replan_after_lot_change),
    ("lot.cancelled", replan_after_lot_change),
    ("lot.started", replan_after_lot_change),
    ("purchase_order.sent", reevaluate_order),
    ("purchase_order.confirmed", reevaluate_order),
    ("purchase_order.shipped", reevaluate_order),
    ("purchase_order.eta_changed", reevaluate_order),
    ("purchase_order.receipt", reevaluate_order),
    ("purchase_order.cancelled", reevaluate_order),
    ("free_issue.shipped", reevaluate_order),
    ("free_issue.received", reevaluate_order),
    ("material.in_house", reevaluate_order),
    ("production_order.cancelled", reevaluate_order),
    ("production_order.revised", reevaluate_order),
]
