"""Inspections of production lots, their defects, quality holds and corrective actions (DESIGN.md 3b)."""

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
from makeready.production.models import Lot, ProductionOrder


class InspectionKind(enum.StrEnum):
    pre_production = "pre_production"
    during_production = "during_production"
    final = "final"
    re_inspection = "re_inspection"

    @staticmethod
    def labels() -> dict[InspectionKind, str]:
        return {
            InspectionKind.pre_production: N_("Pre-production inspection"),
            InspectionKind.during_production: N_("During-production inspection"),
            InspectionKind.final: N_("Final inspection"),
            InspectionKind.re_inspection: N_("Re-inspection"),
        }


class InspectionStatus(enum.StrEnum):
    requested = "requested"
    scheduled = "scheduled"
    in_progress = "in_progress"
    submitted = "submitted"
    brand_review = "brand_review"
    accepted = "accepted"
    rejected = "rejected"
    accepted_with_concession = "accepted_with_concession"

    @staticmethod
    def labels() -> dict[InspectionStatus, str]:
        return {
            InspectionStatus.requested: N_("Requested"),
            InspectionStatus.scheduled: N_("Scheduled"),
            InspectionStatus.in_progress: N_("In progress"),
            InspectionStatus.submitted: N_("Submitted"),
            InspectionStatus.brand_review: N_("Brand review"),
            InspectionStatus.accepted: N_("Accepted"),
            InspectionStatus.rejected: N_("Rejected"),
            InspectionStatus.accepted_with_concession: N_("Accepted with concession"),
        }


class Inspection(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One inspection of one lot: its frozen sampling plans (one per defect class), the inspector's findings and
    the verdict computed from the counts. The inspector never sets the verdict; the brand decides on it."""

    __tablename__ = "inspections"
    __table_args__ = (
        UniqueConstraint("lot_id", "number", name="uq_inspections_lot_number"),
        Index("ix_inspections_status", "status"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32), default=InspectionKind.final.value)
    """An InspectionKind value: what the inspection is, not where it stands (plain text, no lifecycle)."""
    status: Mapped[InspectionStatus] = mapped_column(
        str_enum(InspectionStatus), default=InspectionStatus.requested
    )
    lot_size: Mapped[int] = mapped_column(Integer)
    """The units the plan is drawn for: the lot's quantity, or the reworked quantity for a re-inspection."""
    inspector_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    third_party: Mapped[str] = mapped_column(String(200), default="")
    """A named inspection company (and its inspector) when no agency inspector goes."""
    scheduled_for: Mapped[date | None] = mapped_column(Date, default=None)
    level: Mapped[str] = mapped_column(String(8), default="II")
    plans: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Per defect class, the sampling plan frozen at scheduling (`SamplingPlan.to_dict()`)."""
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    measurements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    quantity_check: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remarks: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """Defective units per class, computed from the defects at submission."""
    verdicts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    verdict: Mapped[str] = mapped_column(String(8), default="")
    """"accept" or "reject", computed at submission from the counts against the plans; never typed."""
    submit_key: Mapped[str] = mapped_column(String(64), default="")
    """The key of the form that submitted it: the same key again is the same submission (a retry)."""
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="SET NULL"), default=None
    )
    """For a re-inspection: the failed inspection it follows."""
    requested_at: Mapped[datetime | None] = mapped_column(default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    review_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decision_reasons: Mapped[str] = mapped_column(Text, default="")
    concession: Mapped[str] = mapped_column(Text, default="")
    """What the brand accepts despite the findings."""
    concession_remedy: Mapped[str] = mapped_column(Text, default="")
    """The price or other remedy agreed for it."""
    concession_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)
    """A price reduction to note on the next invoice (the order's currency)."""

    lot: Mapped[Lot] = relationship(lazy="raise")
    order: Mapped[ProductionOrder] = relationship(lazy="raise")
    inspector: Mapped[User | None] = relationship(lazy="raise", foreign_keys=[inspector_id])

    @property
    def reference(self) -> str:
        return f"QC-{self.lot_id}-{self.number}"


class Defect(IdMixin, TenantOwned, TimestampMixin, Base):
    """One defective unit of an inspection's sample, under its most serious class."""

    __tablename__ = "inspection_defects"
    __table_args__ = (Index("ix_inspection_defects_type", "defect_type"),)

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True)
    defect_class: Mapped[str] = mapped_column(String(16))
    """critical, major or minor (makeready.specs.content.DefectClass values)."""
    defect_type: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class HoldStatus(enum.StrEnum):
    active = "active"
    lifted = "lifted"

    @staticmethod
    def labels() -> dict[HoldStatus, str]:
        return {HoldStatus.active: N_("On hold"), HoldStatus.lifted: N_("Lifted")}


class QualityHold(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A hold on a lot (or, with no lot, on the whole order): while active, release and shipment are refused."""

    __tablename__ = "quality_holds"
    __table_args__ = (Index("ix_quality_holds_order_status", "order_id", "status"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"))
    lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("lots.id", ondelete="CASCADE"), index=True, default=None
    )
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="SET NULL"), default=None
    )
    source: Mapped[str] = mapped_column(String(32))
    """What placed it: failed_inspection, critical_defect, revision_change, floor_deviation, manual."""
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[HoldStatus] = mapped_column(str_enum(HoldStatus), default=HoldStatus.active)
    placed_at: Mapped[datetime | None] = mapped_column(default=None)
    placed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    lifted_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    lift_reason: Mapped[str] = mapped_column(Text, default="")


class ActionStatus(enum.StrEnum):
    requested = "requested"
    answered = "answered"
    verified = "verified"
    closed = "closed"

    @staticmethod
    def labels() -> dict[ActionStatus, str]:
        return {
            ActionStatus.requested: N_("Requested"),
            ActionStatus.answered: N_("Answered by the factory"),
            ActionStatus.verified: N_("Verified"),
            ActionStatus.closed: N_("Closed"),
        }


class CorrectiveAction(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A nonconformance sent to the factory: it answers through its production link (root cause, action, rework
    done, evidence photos); the inspector verifies, which creates a re-inspection of the reworked quantity."""

    __tablename__ = "corrective_actions"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"))
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), default=ActionStatus.requested)
    problem: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date] = mapped_column(Date)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(Text, default="")
    rework_done: Mapped[str] = mapped_column(Text, default="")
    reworked_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    answered_name: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    verification_note: Mapped[str] = mapped_column(Text, default="")
    reinspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="SET NULL"), default=None
    )
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
