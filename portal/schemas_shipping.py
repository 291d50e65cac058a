"""JSON shapes of the shipping API: shipments, their release gate, packing lists, revision changes and floor
deviations (documented in the OpenAPI schema).

A brand never sees the agency's figures: the declared value per unit and the reason a coordinator gave for
releasing without the balance payment are left out of brand responses altogether (msgspec omits an UNSET field).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from makeready.production.models import Lot
from makeready.shipping.models import FloorDeviation, PackingList, RevisionChange, Shipment
from portal.bounds import RowId


class ShipmentLotOut(msgspec.Struct):
    id: int
    number: int
    quantity: int
    status: str

    @classmethod
    def of(cls, lot: Lot) -> ShipmentLotOut:
        return cls(id=lot.id, number=lot.number, quantity=lot.quantity, status=lot.status.value)


class ShipmentOut(msgspec.Struct):
    id: int
    project_id: int
    order_id: int
    reference: str
    number: int
    status: str
    lots: list[ShipmentLotOut]
    forwarder: str
    booking_number: str
    transport: str
    """sea (a container) or air (an air waybill)."""
    container_or_awb: str
    port_of_loading: str
    port_of_destination: str
    etd: date | None
    eta: date | None
    tracking_reference: str
    currency: str
    documents: list[str]
    """The documents generated so far (commercial_invoice, packing_list): read them on the shipment's page."""
    released_at: datetime | None
    released_by_id: int | None
    """Who released it through the gate (a coordinator)."""
    shipped_at: datetime | None
    delivered_at: datetime | None
    received_by_id: int | None
    receipt_note: str
    problem: str
    problem_reported_at: datetime | None
    cancelled_at: datetime | None
    version: int
    unit_value: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    """The value per unit declared on the commercial invoice: in staff responses only."""
    payment_override_reason: str | msgspec.UnsetType = msgspec.UNSET
    """Why it was released with the balance unpaid: in staff responses only."""

    @classmethod
    def of(cls, shipment: Shipment, *, lots: list[Lot], documents: list[str], staff: bool) -> ShipmentOut:
        return cls(
            id=shipment.id,
            project_id=shipment.project_id,
            order_id=shipment.order_id,
            reference=shipment.reference,
            number=shipment.number,
            status=shipment.status.value,
            lots=[ShipmentLotOut.of(lot) for lot in lots],
            forwarder=shipment.forwarder,
            booking_number=shipment.booking_number,
            transport=shipment.transport,
            container_or_awb=shipment.container_or_awb,
            port_of_loading=shipment.port_of_loading,
            port_of_destination=shipment.port_of_destination,
            etd=shipment.etd,
            eta=shipment.eta,
            tracking_reference=shipment.tracking_reference,
            currency=shipment.currency,
            documents=sorted(documents),
            released_at=shipment.released_at,
            released_by_id=shipment.released_by_id,
            shipped_at=shipment.shipped_at,
            delivered_at=shipment.delivered_at,
            received_by_id=shipment.received_by_id,
            receipt_note=shipment.receipt_note,
            problem=shipment.problem,
            problem_reported_at=shipment.problem_reported_at,
            cancelled_at=shipment.cancelled_at,
            version=shipment.version,
            unit_value=shipment.unit_value if staff else msgspec.UNSET,
            payment_override_reason=shipment.payment_override_reason if staff else msgspec.UNSET,
        )


class ReleaseGateOut(msgspec.Struct):
    shipment_id: int
    status: str
    ready: bool
    """Whether a release now would pass (nothing missing and the balance paid)."""
    missing: list[str]
    """What nobody may override: lots not cleared, packing lists not accepted, documents not generated."""
    payment: list[str]
    """The unpaid balance, which a coordinator may override with a reason."""


class PackingListOut(msgspec.Struct):
    id: int
    lot_id: int
    order_id: int
    status: str
    rows: list[dict[str, Any]]
    """One entry per carton type: cartons, units per carton, weights and dimensions."""
    marks: str
    total_cartons: int
    total_units: int
    total_net_kg: Decimal
    total_gross_kg: Decimal
    total_volume_m3: Decimal
    differences: list[dict[str, Any]]
    """Where it differs from the spec or the inspection (the factory's reason in difference_reason)."""
    difference_reason: str
    submitted_name: str
    submitted_at: datetime | None
    accepted_at: datetime | None
    returned_at: datetime | None
    return_reason: str
    version: int

    @classmethod
    def of(cls, packing: PackingList) -> PackingListOut:
        return cls(
            id=packing.id,
            lot_id=packing.lot_id,
            order_id=packing.order_id,
            status=packing.status.value,
            rows=[dict(row) for row in packing.rows or []],
            marks=packing.marks,
            total_cartons=packing.total_cartons,
            total_units=packing.total_units,
            total_net_kg=packing.total_net_kg,
            total_gross_kg=packing.total_gross_kg,
            total_volume_m3=packing.total_volume_m3,
            differences=[dict(item) for item in packing.differences or []],
            difference_reason=packing.difference_reason,
            submitted_name=packing.submitted_name,
            submitted_at=packing.submitted_at,
            accepted_at=packing.accepted_at,
            returned_at=packing.returned_at,
            return_reason=packing.return_reason,
            version=packing.version,
        )


class RevisionChangeOut(msgspec.Struct):
    id: int
    order_id: int
    from_revision_id: int
    to_revision_id: int
    status: str
    from_lot_number: int | None
    """The first lot the new revision applies to (the effectivity decision)."""
    lot_ids: list[int]
    reason: str
    decided_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_name: str
    """Who acknowledged the new revision at the factory."""
    version: int

    @classmethod
    def of(cls, change: RevisionChange) -> RevisionChangeOut:
        return cls(
            id=change.id,
            order_id=change.order_id,
            from_revision_id=change.from_revision_id,
            to_revision_id=change.to_revision_id,
            status=change.status.value,
            from_lot_number=change.from_lot_number,
            lot_ids=[int(i) for i in change.lot_ids or []],
            reason=change.reason,
            decided_at=change.decided_at,
            acknowledged_at=change.acknowledged_at,
            acknowledged_name=change.acknowledged_name,
            version=change.version,
        )


class DeviationOut(msgspec.Struct):
    id: int
    order_id: int
    lot_id: int | None
    number: int
    description: str
    reported_by_name: str
    via_link: bool
    """Whether the factory reported it through its production link (else an inspector did)."""
    status: str
    decided_at: datetime | None
    decision_comment: str
    version: int

    @classmethod
    def of(cls, deviation: FloorDeviation) -> DeviationOut:
        return cls(
            id=deviation.id,
            order_id=deviation.order_id,
            lot_id=deviation.lot_id,
            number=deviation.number,
            description=deviation.description,
            reported_by_name=deviation.reported_by_name,
            via_link=deviation.via_link,
            status=deviation.status.value,
            decided_at=deviation.decided_at,
            decision_comment=deviation.decision_comment,
            version=deviation.version,
        )


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True):
    """Release through the gate (staff tokens only); a 409 lists what is missing."""

    override_reason: str = ""
    """Release with the balance unpaid, saying why (the only condition a coordinator may override)."""
    version: RowId | None = None
    """The version you read: a release from a stale read is a 409, so releasing twice records one release."""


class ReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    """The brand confirms the goods arrived (owners and members of the brand only)."""

    note: str = ""
    version: RowId | None = None


class ProblemIn(msgspec.Struct, forbid_unknown_fields=True):
    """The brand reports a problem with a shipment that has left (owners and members of the brand only)."""

    comment: str
    version: RowId | None = None


class DeviationDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """The brand approves a floor deviation (part of the record) or rejects it: a nonconformance."""

    decision: str
    """approve or reject."""
    comment: str = ""
    """Required to reject."""
    version: RowId | None = None
