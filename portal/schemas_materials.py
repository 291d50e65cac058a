"""JSON shapes of the materials API: an order's requirements with their readiness, its open shortages with their
owners, free-issue shipments, and the agency's purchase orders (documented in the OpenAPI schema).

A brand never sees the agency's costs or its material suppliers: `MaterialOut`'s buying fields are UNSET (left
out of the JSON) in brand responses, and purchase orders (with their unit costs) are for staff tokens only.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import msgspec

from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.i18n import _
from makeready.materials.models import FreeIssueShipment, PurchaseOrder, PurchaseOrderLine
from makeready.materials.readiness import Line
from portal.bounds import RowId


class MaterialOut(msgspec.Struct):
    """One material of an order with its readiness (computed from receipts and supply, never typed)."""

    id: int
    """The requirement's id (a free-issue shipment names it)."""
    material: str
    material_zh: str
    material_code: str
    unit: str
    gross: Decimal
    """The whole order's quantity: BOM x order quantity, with scrap and setup, rounded up to the pack."""
    previous_gross: Decimal | None
    """The gross before the last recomputation that changed it."""
    in_house: Decimal
    on_order: Decimal
    """Ordered (or shipped by the brand) and not yet received."""
    missing: Decimal
    need_date: date
    eta: date | None
    supplied_by: str
    """factory, brand (free issue), agency, or "" (nobody yet)."""
    readiness: str
    order_by_date: date | msgspec.UnsetType = msgspec.UNSET
    """When the agency must order it: in staff responses only."""
    material_supplier: str | msgspec.UnsetType = msgspec.UNSET
    """Who the agency buys it from: in staff responses only."""
    lead_time_days: int | msgspec.UnsetType = msgspec.UNSET
    """In staff responses only."""

    @classmethod
    def of(cls, line: Line, *, staff: bool) -> MaterialOut:
        requirement = line.requirement
        return cls(
            id=requirement.id,
            material=requirement.description_en,
            material_zh=requirement.description_zh,
            material_code=requirement.material_code,
            unit=requirement.unit,
            gross=requirement.gross,
            previous_gross=requirement.previous_gross,
            in_house=line.in_house,
            on_order=line.on_order,
            missing=line.missing,
            need_date=requirement.need_date,
            eta=line.eta,
            supplied_by=requirement.supplied_by,
            readiness=line.state.value,
            order_by_date=requirement.order_by_date if staff else msgspec.UNSET,
            material_supplier=requirement.material_supplier if staff else msgspec.UNSET,
            lead_time_days=requirement.lead_time_days if staff else msgspec.UNSET,
        )


class ShortageOut(msgspec.Struct):
    """An open shortage: a condition on the order's next planned lot, owned by whoever must act on it."""

    id: int
    kind: str
    """shortage.not_ordered, shortage.late or shortage.short_receipt."""
    title: str
    lot_id: int
    owner_id: int | None
    owner_name: str
    """The brand's owner when every material concerned is free issue, else the project's coordinator."""
    status: str
    level: int
    """The escalation ladder's step."""
    raised_at: datetime

    @classmethod
    def of(cls, condition: Condition, owner_name: str) -> ShortageOut:
        return cls(
            id=condition.id,
            kind=condition.kind,
            title=_(kinds.get(condition.kind).title),
            lot_id=condition.subject_id,
            owner_id=condition.owner_id,
            owner_name=owner_name,
            status=condition.status.value,
            level=condition.level,
            raised_at=condition.raised_at,
        )


class OrderMaterialsOut(msgspec.Struct):
    order_id: int
    readiness: str | None
    """The order's: its worst material's (None without requirements)."""
    materials: list[MaterialOut]
    shortages: list[ShortageOut]


class PurchaseLineOut(msgspec.Struct):
    id: int
    requirement_id: int
    quantity: Decimal
    received_quantity: Decimal
    unit_cost: Decimal | None
    """The agency's cost."""

    @classmethod
    def of(cls, line: PurchaseOrderLine) -> PurchaseLineOut:
        return cls(
            id=line.id,
            requirement_id=line.requirement_id,
            quantity=line.quantity,
            received_quantity=line.received_quantity,
            unit_cost=line.unit_cost,
        )


class PurchaseOrderOut(msgspec.Struct):
    """The agency's order to a material supplier (staff tokens only: it carries the agency's costs)."""

    id: int
    reference: str
    order_id: int
    number: int
    supplier_name: str
    status: str
    eta: date | None
    currency: str
    note: str
    tracking: str
    sent_at: datetime | None
    confirmed_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    cancelled_at: datetime | None
    version: int
    lines: list[PurchaseLineOut]

    @classmethod
    def of(cls, po: PurchaseOrder, lines: list[PurchaseOrderLine]) -> PurchaseOrderOut:
        return cls(
            id=po.id,
            reference=po.reference,
            order_id=po.order_id,
            number=po.number,
            supplier_name=po.supplier_name,
            status=po.status.value,
            eta=po.eta,
            currency=po.currency,
            note=po.note,
            tracking=po.tracking,
            sent_at=po.sent_at,
            confirmed_at=po.confirmed_at,
            shipped_at=po.shipped_at,
            received_at=po.received_at,
            cancelled_at=po.cancelled_at,
            version=po.version,
            lines=[PurchaseLineOut.of(line) for line in lines],
        )


class FreeIssueOut(msgspec.Struct):
    """Material the brand sent to the factory."""

    id: int
    order_id: int
    requirement_id: int
    quantity: Decimal
    eta: date
    tracking: str
    status: str
    """shipped (in transit) or received."""
    received_at: datetime | None
    recorded_at: datetime
    version: int

    @classmethod
    def of(cls, shipment: FreeIssueShipment) -> FreeIssueOut:
        return cls(
            id=shipment.id,
            order_id=shipment.order_id,
            requirement_id=shipment.requirement_id,
            quantity=shipment.quantity,
            eta=shipment.eta,
            tracking=shipment.tracking,
            status=shipment.status.value,
            received_at=shipment.received_at,
            recorded_at=shipment.created_at,
            version=shipment.version,
        )


class FreeIssueIn(msgspec.Struct, forbid_unknown_fields=True):
    """A free-issue shipment the brand sent to the factory, of a material the brand supplies."""

    requirement_id: RowId
    """One of the order's materials supplied by the brand (`MaterialOut.id`)."""
    quantity: Decimal
    eta: date
    """When it arrives at the factory: today or later."""
    tracking: str = ""
