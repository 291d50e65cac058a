"""Supplier table: the agency's own directory, shared across its clients (not tenant-owned)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class Supplier(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A factory, named in English and Chinese."""

    __tablename__ = "suppliers"

    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    province: Mapped[str] = mapped_column(String(100), default="")
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    processes: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_order_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    weekly_capacity: Mapped[int | None] = mapped_column(Integer, default=None)
    """Units a week the factory declares it can make (the master production schedule compares against it)."""
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None] = mapped_column(default=None)


class QuoteStatus(enum.StrEnum):
    requested = "requested"
    received = "received"
    selected = "selected"
    declined = "declined"

    @staticmethod
    def labels() -> dict[QuoteStatus, str]:
        return {
            QuoteStatus.requested: N_("Requested"),
            QuoteStatus.received: N_("Received"),
            QuoteStatus.selected: N_("Selected"),
            QuoteStatus.declined: N_("Declined"),
        }


class Quote(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A supplier's price for one project. Agency-internal: brands never see supplier costs."""

    __tablename__ = "quotes"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True)
    status: Mapped[QuoteStatus] = mapped_column(str_enum(QuoteStatus), default=QuoteStatus.requested)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # [{"quantity": 500, "unit_price": "4.20"}, ...], ascending by quantity
    price_breaks: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    tooling_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)
    lead_time_days: Mapped[int | None] = mapped_column(Integer, default=None)
    min_order_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    selection_reason: Mapped[str] = mapped_column(Text, default="")

    supplier: Mapped[Supplier] = relationship(lazy="raise")
