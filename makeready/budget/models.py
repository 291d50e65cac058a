"""Budget entries a coordinator records (costs no other record holds: inspection fees, freight, extras) and the
exchange rates recorded per project for the figures derived from quotes, orders, purchase orders and fees."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from makeready.accounts.models import str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class BudgetCategory(enum.StrEnum):
    product = "product"
    tooling = "tooling"
    materials = "materials"
    inspection = "inspection"
    freight = "freight"
    other = "other"

    @staticmethod
    def labels() -> dict[BudgetCategory, str]:
        return {
            BudgetCategory.product: N_("Product"),
            BudgetCategory.tooling: N_("Tooling"),
            BudgetCategory.materials: N_("Materials"),
            BudgetCategory.inspection: N_("Inspection"),
            BudgetCategory.freight: N_("Freight"),
            BudgetCategory.other: N_("Other"),
        }


class BudgetKind(enum.StrEnum):
    quoted = "quoted"
    actual = "actual"

    @staticmethod
    def labels() -> dict[BudgetKind, str]:
        return {BudgetKind.quoted: N_("Quoted"), BudgetKind.actual: N_("Actual")}


class EntryStatus(enum.StrEnum):
    active = "active"
    void = "void"

    @staticmethod
    def labels() -> dict[EntryStatus, str]:
        return {EntryStatus.active: N_("Counted"), EntryStatus.void: N_("Void")}


class BudgetEntry(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One cost a coordinator records on a project: quoted or actual, in any currency with the rate to the
    project's currency recorded on it. Agency-internal: never shown to the brand."""

    __tablename__ = "budget_entries"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    category: Mapped[BudgetCategory] = mapped_column(str_enum(BudgetCategory))
    kind: Mapped[BudgetKind] = mapped_column(str_enum(BudgetKind))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    """In `currency`, to its minor unit."""
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8))
    """Project currency per one unit of `currency` (1 when they are the same), recorded by the coordinator."""
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus), default=EntryStatus.active)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    void_reason: Mapped[str] = mapped_column(Text, default="")


class BudgetRate(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """The rate a coordinator recorded for converting a project's figures in `currency` (a supplier's quote in
    CNY, a fee in EUR) to the project's currency. No rate is ever looked up on the network."""

    __tablename__ = "budget_rates"
    __table_args__ = (UniqueConstraint("project_id", "currency", name="uq_budget_rates_project_currency"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8))
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
