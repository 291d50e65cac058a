"""Project, Milestone and Attachment tables."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import Organization, User, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class Phase(enum.StrEnum):
    feasibility = "feasibility"
    development = "development"
    production = "production"
    delivered = "delivered"
    on_hold = "on_hold"
    cancelled = "cancelled"

    @staticmethod
    def labels() -> dict[Phase, str]:
        return {
            Phase.feasibility: N_("Feasibility"),
            Phase.development: N_("Development"),
            Phase.production: N_("Production"),
            Phase.delivered: N_("Delivered"),
            Phase.on_hold: N_("On hold"),
            Phase.cancelled: N_("Cancelled"),
        }


class MilestoneStatus(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"

    @staticmethod
    def labels() -> dict[MilestoneStatus, str]:
        return {
            MilestoneStatus.planned: N_("Planned"),
            MilestoneStatus.in_progress: N_("In progress"),
            MilestoneStatus.done: N_("Done"),
        }


class Project(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A product a brand is having made."""

    __tablename__ = "projects"
    # staff lists newest first (ORDER BY updated_at DESC, id DESC is this index read backwards)
    __table_args__ = (
        Index("ix_projects_recent", "updated_at", "id"),
        # the dashboard: waiting on the brand first, then newest first (staff: every project; a brand: its own)
        Index("ix_projects_waiting", "waiting_on_brand", "updated_at", "id"),
        Index("ix_projects_org_waiting", "org_id", "waiting_on_brand", "updated_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # the brand's notes on materials and finish (submitted with the product)
    materials_notes: Mapped[str] = mapped_column(Text, default="")
    target_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    target_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    target_date: Mapped[date | None] = mapped_column(Date, default=None)
    phase: Mapped[Phase] = mapped_column(str_enum(Phase), default=Phase.feasibility, index=True)
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    # the phase to return to when a project on hold resumes
    held_from: Mapped[Phase | None] = mapped_column(str_enum(Phase), default=None)
    # the brand's go-ahead after reading the feasibility summary: an input of the development gate
    go_ahead_at: Mapped[datetime | None] = mapped_column(default=None)
    go_ahead_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # the supplier chosen for this product (from its quotes)
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), default=None, index=True
    )
    phase_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # what the project waits on, kept by makeready.workflow.waiting_flags (a rule on every event that changes
    # it) from makeready.workflow.waiting.waiting_for, so that pages sort and count by it without computing it
    waiting_on_brand: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    waiting_questions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    waiting_sample_decisions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    waiting_go_ahead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    waiting_on_agency: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    # when the open milestones fall due, kept beside the flags (waiting_flags.refresh): the board ranks a project by
    # the health rule applied to these on the day asked (late, at risk ... are never stored)
    open_milestones: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_due: Mapped[date | None] = mapped_column(Date, default=None)
    next_planned_due: Mapped[date | None] = mapped_column(Date, default=None)

    org: Mapped[Organization] = relationship(lazy="raise")
    coordinator: Mapped[User | None] = relationship(foreign_keys=[coordinator_id], lazy="raise")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", lazy="raise", order_by="Milestone.position"
    )


class Milestone(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A step with an owner and a due date."""

    __tablename__ = "milestones"
    # "my work": a person's open milestones, without the done ones (most of the table at any agency's age)
    __table_args__ = (
        Index(
            "ix_milestones_open_owner",
            "owner_id",
            sqlite_where=text("status != 'done'"),
            postgresql_where=text("status != 'done'"),
        ),
        # a production order's next open step (the production board's cards): the first row per order
        Index(
            "ix_milestones_open_order",
            "production_order_id",
            "due_date",
            "position",
            "id",
            sqlite_where=text("status != 'done'"),
            postgresql_where=text("status != 'done'"),
        ),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    phase: Mapped[Phase] = mapped_column(str_enum(Phase))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[MilestoneStatus] = mapped_column(
        str_enum(MilestoneStatus), default=MilestoneStatus.planned
    )
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # a step of a production order's time-and-action plan (makeready.production.plan): the order and the step's key
    production_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("production_orders.id", ondelete="CASCADE"), default=None, index=True
    )
    plan_key: Mapped[str] = mapped_column(String(40), default="")

    project: Mapped[Project] = relationship(back_populates="milestones", lazy="raise")
    owner: Mapped[User | None] = relationship(lazy="raise")

    def is_late(self, today: date) -> bool:
        return self.status != MilestoneStatus.done and self.due_date is not None and self.due_date < today


class Attachment(IdMixin, TenantOwned, TimestampMixin, Base):
    """A verified file in storage. Rows exist only for objects that passed verification."""

    __tablename__ = "attachments"

    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    object_key: Mapped[str] = mapped_column(String(500), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    checksum: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TaskStatus(enum.StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"

    @staticmethod
    def labels() -> dict[TaskStatus, str]:
        return {
            TaskStatus.open: N_("Open"),
            TaskStatus.done: N_("Done"),
            TaskStatus.cancelled: N_("Cancelled"),
        }


class Task(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """Work a trigger opened for a person (a new sample round after a rejection, a spec revision after a change)."""

    __tablename__ = "tasks"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.open)
    # what opened it: a subject type and id (e.g. "sample_round", 12)
    source_type: Mapped[str] = mapped_column(String(50), default="")
    source_id: Mapped[int | None] = mapped_column(Integer, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    project: Mapped[Project] = relationship(lazy="raise")
    owner: Mapped[User | None] = relationship(lazy="raise")


class Question(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A coordinator's question to the brand, answered in place on the project page."""

    __tablename__ = "questions"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    answered_at: Mapped[datetime | None] = mapped_column(default=None)

    project: Mapped[Project] = relationship(lazy="raise")
    asked_by: Mapped[User | None] = relationship(foreign_keys=[asked_by_id], lazy="raise")
