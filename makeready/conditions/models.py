"""The Condition row: one open problem on one subject, with its owner and where it stands on its ladder."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from makeready.accounts.models import str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class ConditionStatus(enum.StrEnum):
    open = "open"
    escalated = "escalated"
    resolved = "resolved"

    @staticmethod
    def labels() -> dict[ConditionStatus, str]:
        return {
            ConditionStatus.open: N_("Open"),
            ConditionStatus.escalated: N_("Escalated"),
            ConditionStatus.resolved: N_("Resolved"),
        }


class Condition(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One problem on one subject. At most one unresolved condition per kind and subject (a partial unique index)."""

    __tablename__ = "conditions"
    __table_args__ = (
        Index(
            "uq_conditions_unresolved",
            "kind",
            "subject_type",
            "subject_id",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_conditions_due", "status", "next_step_at"),
        # a subject's open conditions (the production board's notes, the board column's rule), whatever their kind
        Index(
            "ix_conditions_open_subject",
            "subject_type",
            "subject_id",
            "kind",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    status: Mapped[ConditionStatus] = mapped_column(str_enum(ConditionStatus), default=ConditionStatus.open)
    level: Mapped[int] = mapped_column(Integer, default=0)
    """How many steps of its kind's ladder have been taken (0: raised, its owner told)."""
    raised_at: Mapped[datetime] = mapped_column()
    next_step_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the ladder's next step is due; None at the top of the ladder."""
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")
