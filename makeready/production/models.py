"""Production orders, lots, progress reports, tooling items, production links and their photos."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import User, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_
from makeready.projects.models import Attachment, Project
from makeready.specs.models import SpecRevision
from makeready.suppliers.models import Supplier


class OrderStatus(enum.StrEnum):
    draft = "draft"
    confirmed = "confirmed"
    sent = "sent"
    accepted = "accepted"
    in_production = "in_production"
    produced = "produced"
    shipped = "shipped"
    closed = "closed"
    cancelled = "cancelled"

    @staticmethod
    def labels() -> dict[OrderStatus, str]:
        return {
            OrderStatus.draft: N_("Draft"),
            OrderStatus.confirmed: N_("Confirmed by the brand"),
            OrderStatus.sent: N_("Sent to the factory"),
            OrderStatus.accepted: N_("Accepted by the factory"),
            OrderStatus.in_production: N_("In production"),
            OrderStatus.produced: N_("Produced"),
            OrderStatus.shipped: N_("Shipped"),
            OrderStatus.closed: N_("Closed"),
            OrderStatus.cancelled: N_("Cancelled"),
        }


class Incoterm(enum.StrEnum):
    EXW = "EXW"
    FCA = "FCA"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"


DEFAULT_ROUTING = ("cut", "assembled", "finished", "packed")
"""The progress steps a lot reports when the coordinator sets no routing of its own: each step's count can never
exceed the one before it (packed <= finished <= assembled <= cut <= the lot's quantity)."""
PRODUCED_STEP_FROM_END = 2
"""With the default routing, "finished" (the step before "packed") is what counts as produced."""


def order_reference(project_id: int, number: int) -> str:
    """An order's reference from its columns (`ProductionOrder.reference`)."""
    return f"PO-{project_id}-{number}"


class ProductionOrder(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A project x a factory: what is made, how many, at what price, to which revision, shipped when and how."""

    __tablename__ = "production_orders"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_production_orders_project_number"),
        Index("ix_production_orders_supplier_status", "supplier_id", "status"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"))
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"), default=None)
    revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="RESTRICT"))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), default=OrderStatus.draft, index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 4), default=None)
    """The factory's price: agency-internal, never shown to the brand."""
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    incoterm: Mapped[Incoterm] = mapped_column(str_enum(Incoterm, length=3), default=Incoterm.FOB)
    ex_factory_date: Mapped[date] = mapped_column(Date)
    delivery_address: Mapped[str] = mapped_column(Text, default="")
    payment_terms: Mapped[str] = mapped_column(Text, default="")
    routing: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_ROUTING))
    report_interval_days: Mapped[int] = mapped_column(Integer, default=3)
    """A lot in production with no report for this many days raises "no progress report"."""
    bom_snapshot: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    """The pinned revision's BOM, frozen when the brand confirms the order (materials explode it)."""
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_name: Mapped[str] = mapped_column(String(200), default="")
    proposed_ex_factory_date: Mapped[date | None] = mapped_column(Date, default=None)
    proposal_reason: Mapped[str] = mapped_column(Text, default="")
    production_started_at: Mapped[datetime | None] = mapped_column(default=None)
    produced_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    tooling_override_reason: Mapped[str] = mapped_column(Text, default="")
    """Set when a coordinator lets production start before every tooling item is approved."""

    project: Mapped[Project] = relationship(lazy="raise")
    supplier: Mapped[Supplier] = relationship(lazy="raise")
    revision: Mapped[SpecRevision] = relationship(lazy="raise")
    confirmed_by: Mapped[User | None] = relationship(lazy="raise")

    @property
    def reference(self) -> str:
        """PO-<project>-<n>: how people name the order in mail and on the factory's page."""
        return order_reference(self.project_id, self.number)


class LotStatus(enum.StrEnum):
    planned = "planned"
    in_production = "in_production"
    produced = "produced"
    inspecting = "inspecting"
    passed = "passed"
    failed = "failed"
    rework = "rework"
    reinspecting = "reinspecting"
    released = "released"
    packed = "packed"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"

    @staticmethod
    def labels() -> dict[LotStatus, str]:
        return {
            LotStatus.planned: N_("Planned"),
            LotStatus.in_production: N_("In production"),
            LotStatus.produced: N_("Produced"),
            LotStatus.inspecting: N_("Inspecting"),
            LotStatus.passed: N_("Passed"),
            LotStatus.failed: N_("Failed"),
            LotStatus.rework: N_("Rework"),
            LotStatus.reinspecting: N_("Re-inspecting"),
            LotStatus.released: N_("Released"),
            LotStatus.packed: N_("Packed"),
            LotStatus.shipped: N_("Shipped"),
            LotStatus.delivered: N_("Delivered"),
            LotStatus.cancelled: N_("Cancelled"),
        }


class Lot(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """The unit of production, inspection and release. Its progress is its latest report's counts."""

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("order_id", "number", name="uq_lots_order_number"),
        Index("ix_lots_status_planned_start", "status", "planned_start"),
        Index("ix_lots_board", "board_column", "planned_start", "order_id", "number"),
    )

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="RESTRICT"))
    """The revision this lot is built to (the order's, unless a change in production moved it)."""
    status: Mapped[LotStatus] = mapped_column(str_enum(LotStatus), default=LotStatus.planned)
    progress: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """The latest report's counts per routing step (a copy: the reports are the record)."""
    last_report_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    produced_at: Mapped[datetime | None] = mapped_column(default=None)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    packed_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    start_override_reason: Mapped[str] = mapped_column(Text, default="")
    board_column: Mapped[str | None] = mapped_column(String(24), default=None)
    """Its column on the live production board (NULL: off the board), derived and kept by
    `makeready.production.board_columns` (never written by hand)."""

    order: Mapped[ProductionOrder] = relationship(lazy="raise")
    revision: Mapped[SpecRevision] = relationship(lazy="raise")


class ProgressReport(IdMixin, TenantOwned, TimestampMixin, Base):
    """One dated report of a lot's progress. Never updated: a new report is a new row, the latest is the state."""

    __tablename__ = "progress_reports"
    __table_args__ = (Index("ix_progress_reports_lot_reported", "lot_id", "reported_at"),)

    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    reported_at: Mapped[datetime] = mapped_column()
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    reporter_name: Mapped[str] = mapped_column(String(200), default="")
    via_link: Mapped[bool] = mapped_column(default=False)
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ToolingKind(enum.StrEnum):
    mold = "mold"
    jig = "jig"
    fixture = "fixture"
    test_rig = "test_rig"

    @staticmethod
    def labels() -> dict[ToolingKind, str]:
        return {
            ToolingKind.mold: N_("Mold"),
            ToolingKind.jig: N_("Jig"),
            ToolingKind.fixture: N_("Fixture"),
            ToolingKind.test_rig: N_("Test rig"),
        }


class ToolingStatus(enum.StrEnum):
    to_make = "to_make"
    in_progress = "in_progress"
    trial = "trial"
    approved = "approved"
    rejected = "rejected"

    @staticmethod
    def labels() -> dict[ToolingStatus, str]:
        return {
            ToolingStatus.to_make: N_("To make"),
            ToolingStatus.in_progress: N_("In progress"),
            ToolingStatus.trial: N_("Trial"),
            ToolingStatus.approved: N_("Approved"),
            ToolingStatus.rejected: N_("Rejected"),
        }


class ToolingItem(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A mold, jig, fixture or test rig an order needs; production waits for all of them to be approved."""

    __tablename__ = "tooling_items"

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ToolingKind] = mapped_column(str_enum(ToolingKind), default=ToolingKind.mold)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[ToolingStatus] = mapped_column(str_enum(ToolingStatus), default=ToolingStatus.to_make)
    trial_number: Mapped[int] = mapped_column(Integer, default=0)
    """T1, T2...: incremented each time the factory submits a trial."""
    trial_note: Mapped[str] = mapped_column(Text, default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    trial_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    owner: Mapped[User | None] = relationship(lazy="raise")


class ProductionPhoto(IdMixin, TenantOwned, TimestampMixin, Base):
    """A verified photo attached to a production record: a progress report, a tooling trial, an inspection's
    defect, a packed carton... (`subject_type`, `subject_id`), with its thumbnail and a caption."""

    __tablename__ = "production_photos"
    __table_args__ = (Index("ix_production_photos_subject", "subject_type", "subject_id"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"))
    thumbnail_key: Mapped[str] = mapped_column(String(500), default="")
    caption: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    attachment: Mapped[Attachment] = relationship(lazy="raise")


class ProductionLinkState(enum.StrEnum):
    """Expiry is a matter of time, so it is not stored: a live link past `expires_at` is expired."""

    live = "live"
    revoked = "revoked"

    @staticmethod
    def labels() -> dict[ProductionLinkState, str]:
        return {ProductionLinkState.live: N_("Live"), ProductionLinkState.revoked: N_("Revoked")}


class ProductionLink(IdMixin, TenantOwned, TimestampMixin, Base):
    """An order sent to its factory: opened at /p/<token> without an account. Only the token's sha256 is stored;
    view counters are bumped with atomic UPDATEs (no version column: concurrent opens must not conflict)."""

    __tablename__ = "production_links"

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime]
    state: Mapped[ProductionLinkState] = mapped_column(
        str_enum(ProductionLinkState), default=ProductionLinkState.live
    )
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    first_opened_at: Mapped[datetime | None] = mapped_column(default=None)
    last_opened_at: Mapped[datetime | None] = mapped_column(default=None)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
