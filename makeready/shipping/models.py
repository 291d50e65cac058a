"""Packing lists, shipments and their lots and documents; revision changes and floor deviations during production."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from makeready.accounts.models import str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class PackingStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"

    @staticmethod
    def labels() -> dict[PackingStatus, str]:
        return {
            PackingStatus.draft: N_("Draft"),
            PackingStatus.submitted: N_("Submitted"),
            PackingStatus.accepted: N_("Accepted"),
            PackingStatus.returned: N_("Returned to the factory"),
        }


class PackingList(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One lot's packing list, as the factory submitted it through its production link (one per lot: a returned
    list is corrected and submitted again)."""

    __tablename__ = "packing_lists"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    status: Mapped[PackingStatus] = mapped_column(str_enum(PackingStatus), default=PackingStatus.draft)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Carton ranges: first, last, units per carton, dimensions (cm), net and gross weight per carton (kg)."""
    marks: Mapped[str] = mapped_column(Text, default="")
    total_cartons: Mapped[int] = mapped_column(Integer, default=0)
    total_units: Mapped[int] = mapped_column(Integer, default=0)
    total_net_kg: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal("0"))
    total_gross_kg: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal("0"))
    total_volume_m3: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=Decimal("0"))
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """What differs from the lot (units), the spec (units per carton) and the carton numbering: each a msgid and its
    values, shown in the reader's language (`packing.difference_text`)."""
    difference_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_name: Mapped[str] = mapped_column(String(200), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    returned_at: Mapped[datetime | None] = mapped_column(default=None)
    return_reason: Mapped[str] = mapped_column(Text, default="")


class ShipmentStatus(enum.StrEnum):
    planned = "planned"
    released = "released"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"

    @staticmethod
    def labels() -> dict[ShipmentStatus, str]:
        return {
            ShipmentStatus.planned: N_("Planned"),
            ShipmentStatus.released: N_("Released for shipment"),
            ShipmentStatus.shipped: N_("Shipped"),
            ShipmentStatus.delivered: N_("Delivered"),
            ShipmentStatus.cancelled: N_("Cancelled"),
        }


class Shipment(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One or more lots of a project's orders leaving together (partial shipments allowed)."""

    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_shipments_project_number"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="RESTRICT"), index=True)
    """The order its lots belong to (its commercial invoice is the order's seller and buyer)."""
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[ShipmentStatus] = mapped_column(str_enum(ShipmentStatus), default=ShipmentStatus.planned)
    forwarder: Mapped[str] = mapped_column(String(200), default="")
    booking_number: Mapped[str] = mapped_column(String(100), default="")
    transport: Mapped[str] = mapped_column(String(8), default="sea")
    """sea (a container number) or air (an air waybill number)."""
    container_or_awb: Mapped[str] = mapped_column(String(100), default="")
    port_of_loading: Mapped[str] = mapped_column(String(200), default="")
    port_of_destination: Mapped[str] = mapped_column(String(200), default="")
    etd: Mapped[date | None] = mapped_column(Date, default=None)
    eta: Mapped[date | None] = mapped_column(Date, default=None)
    tracking_reference: Mapped[str] = mapped_column(String(200), default="")
    unit_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 4), default=None)
    """The value per unit declared on the commercial invoice (set by the coordinator; never the factory's price)."""
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    released_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    payment_override_reason: Mapped[str] = mapped_column(Text, default="")
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    received_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    receipt_note: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    """The brand's latest report of a problem with the delivery."""
    problem_reported_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def reference(self) -> str:
        return f"SH-{self.project_id}-{self.number}"


class ShipmentLot(IdMixin, TenantOwned, TimestampMixin, Base):
    """A lot in a shipment. A lot travels in one shipment only (the unique lot)."""

    __tablename__ = "shipment_lots"

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), unique=True)


class ShipmentDocument(IdMixin, TenantOwned, TimestampMixin, Base):
    """A generated document of a shipment (commercial_invoice, packing_list): its numbers frozen as JSON when it was
    generated, so the page and the PDF always show the same. Changing the shipment's lots or terms deletes them."""

    __tablename__ = "shipment_documents"
    __table_args__ = (UniqueConstraint("shipment_id", "kind", name="uq_shipment_documents_shipment_kind"),)

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    generated_at: Mapped[datetime] = mapped_column()
    generated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ChangeStatus(enum.StrEnum):
    pending = "pending"
    effective = "effective"
    acknowledged = "acknowledged"
    not_applied = "not_applied"

    @staticmethod
    def labels() -> dict[ChangeStatus, str]:
        return {
            ChangeStatus.pending: N_("Awaiting the effectivity decision"),
            ChangeStatus.effective: N_("Awaiting the factory's acknowledgement"),
            ChangeStatus.acknowledged: N_("Acknowledged by the factory"),
            ChangeStatus.not_applied: N_("Not for this order"),
        }


class RevisionChange(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A revision issued while an order runs: the coordinator decides from which lot it applies (or not for this
    order), the affected lots move to it and stay on hold until the factory acknowledges it through its link."""

    __tablename__ = "revision_changes"
    __table_args__ = (
        UniqueConstraint("order_id", "to_revision_id", name="uq_revision_changes_order_revision"),
    )

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    from_revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="RESTRICT"))
    to_revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="RESTRICT"))
    status: Mapped[ChangeStatus] = mapped_column(str_enum(ChangeStatus), default=ChangeStatus.pending)
    from_lot_number: Mapped[int | None] = mapped_column(Integer, default=None)
    lot_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    """The lots the decision moved to the new revision."""
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_name: Mapped[str] = mapped_column(String(200), default="")


class DeviationStatus(enum.StrEnum):
    reported = "reported"
    approved = "approved"
    nonconformance = "nonconformance"

    @staticmethod
    def labels() -> dict[DeviationStatus, str]:
        return {
            DeviationStatus.reported: N_("Awaiting the brand's decision"),
            DeviationStatus.approved: N_("Approved by the brand"),
            DeviationStatus.nonconformance: N_("Nonconformance"),
        }


class FloorDeviation(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A fix the factory made on the floor without a revision: the brand approves it (part of the record) or it
    becomes a nonconformance. Until decided, the lot it concerns cannot be released."""

    __tablename__ = "floor_deviations"
    __table_args__ = (UniqueConstraint("order_id", "number", name="uq_floor_deviations_order_number"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("lots.id", ondelete="CASCADE"), index=True, default=None
    )
    number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    reported_by_name: Mapped[str] = mapped_column(String(200), default="")
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    via_link: Mapped[bool] = mapped_column(default=False)
    status: Mapped[DeviationStatus] = mapped_column(
        str_enum(DeviationStatus), default=DeviationStatus.reported
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decision_comment: Mapped[str] = mapped_column(Text, default="")
