"""Readiness, computed from the rows and never typed: per requirement and for the order (its worst line), and the
lot-start gate that refuses a lot whose materials are not in house.

    no_party     nobody buys it yet (the BOM line has no supplier party)
    not_ordered  what is in house and on order does not cover the gross requirement
    late         an ETA after the need date, or the need date passed without it in house
    ordered      covered by open purchase orders (or, for factory-bought materials, the factory's to buy)
    in_transit   covered, and some of it is on its way (a shipped purchase order or free-issue shipment)
    in_house     received at the factory: purchase order receipts, free issue received, the factory's confirmation
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.db.types import utcnow
from makeready.i18n import N_, _, format_date, label
from makeready.materials.models import (
    FreeIssueShipment,
    MaterialReceipt,
    MaterialRequirement,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseStatus,
    ShipmentStatus,
)
from makeready.production.models import Lot, LotStatus, ProductionOrder


class Readiness(enum.StrEnum):
    """Worst first: an order's readiness is the first of these any of its materials is in."""

    no_party = "no_party"
    not_ordered = "not_ordered"
    late = "late"
    ordered = "ordered"
    in_transit = "in_transit"
    in_house = "in_house"

    @staticmethod
    def labels() -> dict[Readiness, str]:
        return {
            Readiness.no_party: N_("No supplier party"),
            Readiness.not_ordered: N_("Not ordered"),
            Readiness.late: N_("Late"),
            Readiness.ordered: N_("Ordered"),
            Readiness.in_transit: N_("In transit"),
            Readiness.in_house: N_("In house"),
        }


RANK = {state: index for index, state in enumerate(Readiness)}
OPEN_PO = (PurchaseStatus.sent, PurchaseStatus.confirmed, PurchaseStatus.shipped)
"""Purchase orders whose undelivered quantity is still coming (a draft is not an order yet)."""


@dataclass
class Line:
    requirement: MaterialRequirement
    state: Readiness
    in_house: Decimal
    on_order: Decimal
    """Ordered (or shipped by the brand) and not yet received."""
    eta: date | None
    received_any: bool
    supply_open: bool

    @property
    def missing(self) -> Decimal:
        return max(Decimal(0), self.requirement.gross - self.in_house)

    @property
    def short_receipt(self) -> bool:
        """Something arrived, nothing more is coming, and it is not enough."""
        return self.received_any and not self.supply_open and self.in_house < self.requirement.gross


def assess(
    requirement: MaterialRequirement,
    *,
    in_house: Decimal,
    on_order: Decimal,
    eta: date | None,
    moving: bool,
    today: date,
) -> Readiness:
    """One material's readiness from its numbers (pure)."""
    if in_house >= requirement.gross:
        return Readiness.in_house
    if not requirement.supplied_by:
        return Readiness.no_party
    if requirement.supplied_by == "factory":
        # the factory buys its own materials: nothing to order here, only to see in house in time
        return Readiness.late if today > requirement.need_date else Readiness.ordered
    if in_house + on_order < requirement.gross:
        return Readiness.not_ordered
    if (eta is not None and eta > requirement.need_date) or today > requirement.need_date:
        return Readiness.late
    return Readiness.in_transit if moving else Readiness.ordered


async def lines_of(session: AsyncSession, order_id: int, *, today: date | None = None) -> list[Line]:
    """Every active requirement of the order with its readiness: four queries whatever the BOM's size."""
    return (await lines_for_orders(session, [order_id], today=today)).get(order_id, [])


async def lines_for_orders(
    session: AsyncSession, order_ids: list[int], *, today: date | None = None
) -> dict[int, list[Line]]:
    """The readiness lines of several orders (a board page's), in the same four queries."""
    if not order_ids:
        return {}
    day = today or utcnow().date()
    requirements = list(
        (
            await session.scalars(
                select(MaterialRequirement)
                .where(MaterialRequirement.order_id.in_(order_ids), MaterialRequirement.active.is_(True))
                .order_by(MaterialRequirement.id)
            )
        ).all()
    )
    received: dict[int, Decimal] = defaultdict(Decimal)
    for requirement_id, quantity in (
        await session.execute(
            select(MaterialReceipt.requirement_id, func.sum(MaterialReceipt.quantity))
            .where(MaterialReceipt.order_id.in_(order_ids))
            .group_by(MaterialReceipt.requirement_id)
        )
    ).all():
        received[requirement_id] = Decimal(quantity or 0)
    on_order: dict[int, Decimal] = defaultdict(Decimal)
    etas: dict[int, date] = {}
    moving: set[int] = set()
    for line, status, eta in (
        await session.execute(
            select(PurchaseOrderLine, PurchaseOrder.status, PurchaseOrder.eta)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrder.order_id.in_(order_ids), PurchaseOrder.status.in_(OPEN_PO))
        )
    ).all():
        rest = max(Decimal(0), line.quantity - line.received_quantity)
        if rest <= 0:
            continue
        on_order[line.requirement_id] += rest
        if eta is not None:
            etas[line.requirement_id] = max(eta, etas.get(line.requirement_id, eta))
        if status == PurchaseStatus.shipped:
            moving.add(line.requirement_id)
    for shipment in (
        await session.scalars(
            select(FreeIssueShipment).where(
                FreeIssueShipment.order_id.in_(order_ids), FreeIssueShipment.status == ShipmentStatus.shipped
            )
        )
    ).all():
        on_order[shipment.requirement_id] += shipment.quantity
        etas[shipment.requirement_id] = max(shipment.eta, etas.get(shipment.requirement_id, shipment.eta))
        moving.add(shipment.requirement_id)
    out: dict[int, list[Line]] = {order_id: [] for order_id in order_ids}
    for requirement in requirements:
        in_house = received.get(requirement.id, Decimal(0))
        pending = on_order.get(requirement.id, Decimal(0))
        state = assess(
            requirement,
            in_house=in_house,
            on_order=pending,
            eta=etas.get(requirement.id),
            moving=requirement.id in moving,
            today=day,
        )
        out[requirement.order_id].append(
            Line(
                requirement=requirement,
                state=state,
                in_house=in_house,
                on_order=pending,
                eta=etas.get(requirement.id),
                received_any=requirement.id in received,
                supply_open=pending > 0,
            )
        )
    return out


@dataclass(frozen=True)
class PendingPart:
    """What a lot card's "Pending parts" says: the material, what is missing and when it is expected."""

    material: str
    missing: Decimal
    unit: str
    expected: date | None
    state: Readiness


async def pending_parts(session: AsyncSession, lots: list[Lot]) -> dict[int, list[PendingPart]]:
    """For lots with an open shortage (the board's cards), the materials not in house, worst first: four queries
    for the whole page, whatever the number of lots or orders."""
    by_order = await lines_for_orders(session, sorted({lot.order_id for lot in lots}))
    out: dict[int, list[PendingPart]] = {}
    for lot in lots:
        lines = sorted(
            (line for line in by_order.get(lot.order_id, []) if line.state != Readiness.in_house),
            key=lambda line: (RANK[line.state], line.requirement.need_date),
        )
        out[lot.id] = [
            PendingPart(
                material=line.requirement.description_en or line.requirement.material_code,
                missing=line.missing,
                unit=line.requirement.unit,
                expected=line.eta,
                state=line.state,
            )
            for line in lines
        ]
    return out


def order_readiness(lines: list[Line]) -> Readiness | None:
    """The worst line's readiness (None for an order without requirements)."""
    return min((line.state for line in lines), key=RANK.__getitem__, default=None)


def quantity_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


async def needed_for_lot(session: AsyncSession, *, lot: Lot, order: ProductionOrder) -> Decimal:
    """The share of the order's materials needed up to and including this lot (by planned start): the first of
    three equal lots needs a third of each material in house, not all of it."""
    lots = (
        await session.scalars(select(Lot).where(Lot.order_id == order.id, Lot.status != LotStatus.cancelled))
    ).all()
    upto = sum(
        other.quantity
        for other in lots
        if (other.planned_start, other.number) <= (lot.planned_start, lot.number)
    )
    if not order.quantity:
        return Decimal(1)
    return min(Decimal(1), Decimal(upto) / Decimal(order.quantity))


async def lot_start_missing(session: AsyncSession, *, lot: Lot, order: ProductionOrder) -> list[str]:
    """The LOT_START gate: one sentence per material not in house in the quantity this lot needs."""
    lines = await lines_of(session, order.id)
    if not lines:
        return []
    share = await needed_for_lot(session, lot=lot, order=order)
    missing = []
    for line in lines:
        needed = (line.requirement.gross * share).to_integral_value(rounding=ROUND_CEILING)
        if line.in_house >= needed:
            continue
        missing.append(
            _(
                "Material %(material)s: %(needed)s %(unit)s needed for this lot, %(in_house)s in house (%(state)s%(eta)s)."
            )
            % {
                "material": line.requirement.description_en or line.requirement.material_code,
                "needed": quantity_text(needed),
                "unit": line.requirement.unit,
                "in_house": quantity_text(line.in_house),
                "state": label(line.state),
                "eta": (", " + _("ETA %(date)s") % {"date": format_date(line.eta)}) if line.eta else "",
            }
        )
    return missing
