"""Material requirements (an order's exploded BOM), purchase orders and their lines, brand free-issue shipments and
receipts (what is in house). Readiness is computed from these rows, never stored."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from makeready.accounts.models import str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_

AMOUNT = Numeric(16, 4)


class MaterialRequirement(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One material of one production order: the gross quantity over the whole order (aggregated across the BOM
    lines that use it, plus scrap and setup, rounded up to the pack size), when it must be in house and when it must
    be ordered. Recomputed (never typed) from the order's frozen BOM and its lots."""

    __tablename__ = "material_requirements"
    __table_args__ = (
        UniqueConstraint("order_id", "material_key", name="uq_material_requirements_order_key"),
    )

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    material_key: Mapped[str] = mapped_column(String(300))
    """The material code, else the normalised material name and unit: what makes two BOM lines one material."""
    material_code: Mapped[str] = mapped_column(String(120), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(120), default="pcs")
    gross: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal(0))
    previous_gross: Mapped[Decimal | None] = mapped_column(AMOUNT, default=None)
    """The gross before the last recomputation that changed it (the difference is shown)."""
    need_date: Mapped[date] = mapped_column(Date)
    order_by_date: Mapped[date] = mapped_column(Date)
    supplied_by: Mapped[str] = mapped_column(String(16), default="")
    """factory, brand (free issue), agency, or "" (nobody yet): the BOM line's party, a copy."""
    material_supplier: Mapped[str] = mapped_column(String(200), default="")
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    bom_lines: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once a recomputation no longer finds the material in the BOM (kept: supply may be pegged to it)."""


class PurchaseStatus(enum.StrEnum):
    draft = "draft"
    sent = "sent"
    confirmed = "confirmed"
    shipped = "shipped"
    received = "received"
    cancelled = "cancelled"

    @staticmethod
    def labels() -> dict[PurchaseStatus, str]:
        return {
            PurchaseStatus.draft: N_("Draft"),
            PurchaseStatus.sent: N_("Sent to the supplier"),
            PurchaseStatus.confirmed: N_("Confirmed by the supplier"),
            PurchaseStatus.shipped: N_("Shipped"),
            PurchaseStatus.received: N_("Received"),
            PurchaseStatus.cancelled: N_("Cancelled"),
        }


class PurchaseOrder(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """The agency's order to a material supplier for one production order's materials. Its costs are the
    agency's: never shown to the brand."""

    __tablename__ = "purchase_orders"
    __table_args__ = (UniqueConstraint("order_id", "number", name="uq_purchase_orders_order_number"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    supplier_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[PurchaseStatus] = mapped_column(str_enum(PurchaseStatus), default=PurchaseStatus.draft)
    eta: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    note: Mapped[str] = mapped_column(Text, default="")
    tracking: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def reference(self) -> str:
        return f"MPO-{self.order_id}-{self.number}"


class PurchaseOrderLine(IdMixin, TenantOwned, Base):
    """A quantity of one requirement on a purchase order (pegged: the requirement is of the same production order)."""

    __tablename__ = "purchase_order_lines"

    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True
    )
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("material_requirements.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(AMOUNT)
    received_quantity: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal(0))
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), default=None)
    """The agency's cost: never shown to the brand."""


class ShipmentStatus(enum.StrEnum):
    shipped = "shipped"
    received = "received"

    @staticmethod
    def labels() -> dict[ShipmentStatus, str]:
        return {ShipmentStatus.shipped: N_("In transit"), ShipmentStatus.received: N_("Received")}


class FreeIssueShipment(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """Material the brand sends to the factory (free issue), recorded by the brand in the portal."""

    __tablename__ = "free_issue_shipments"

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("material_requirements.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(AMOUNT)
    eta: Mapped[date] = mapped_column(Date)
    tracking: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[ShipmentStatus] = mapped_column(str_enum(ShipmentStatus), default=ShipmentStatus.shipped)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    received_at: Mapped[datetime | None] = mapped_column(default=None)


class MaterialReceipt(IdMixin, TenantOwned, TimestampMixin, Base):
    """A quantity of a requirement that arrived at the factory: from a purchase order line, a free-issue shipment,
    or the factory's own purchase confirmed "in house" through its link. Never updated: the rows are the record."""

    __tablename__ = "material_receipts"
    __table_args__ = (Index("ix_material_receipts_requirement", "requirement_id"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("material_requirements.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    """purchase_order, free_issue or factory (a plain string: where it came from, not a state)."""
    purchase_order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_order_lines.id", ondelete="SET NULL"), default=None
    )
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("free_issue_shipments.id", ondelete="SET NULL"), default=None
    )
    quantity: Mapped[Decimal] = mapped_column(AMOUNT)
    received_at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    """The reason for a receipt over the ordered quantity, or the factory's note."""
    received_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    via_link: Mapped[bool] = mapped_column(Boolean, default=False)
