"""ChangeRequest."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import User, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_
from makeready.projects.models import Project


class ChangeStatus(enum.StrEnum):
    open = "open"
    approved = "approved"
    rejected = "rejected"
    implemented = "implemented"
    withdrawn = "withdrawn"

    @staticmethod
    def labels() -> dict[ChangeStatus, str]:
        return {
            ChangeStatus.open: N_("Open"),
            ChangeStatus.approved: N_("Approved"),
            ChangeStatus.rejected: N_("Rejected"),
            ChangeStatus.implemented: N_("Implemented"),
            ChangeStatus.withdrawn: N_("Withdrawn"),
        }


class ChangeRequest(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """What should change and why, with the files it concerns; decided by a coordinator."""

    __tablename__ = "change_requests"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_change_requests_project_number"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[ChangeStatus] = mapped_column(str_enum(ChangeStatus), default=ChangeStatus.open)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[Project] = relationship(lazy="raise")
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id], lazy="raise")
