"""SampleRound and its photos."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import User, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_
from makeready.projects.models import Attachment, Project
from makeready.suppliers.models import Supplier


class SampleStatus(enum.StrEnum):
    requested = "requested"
    in_production = "in_production"
    shipped = "shipped"
    received = "received"
    approved = "approved"
    rejected = "rejected"

    @staticmethod
    def labels() -> dict[SampleStatus, str]:
        return {
            SampleStatus.requested: N_("Requested"),
            SampleStatus.in_production: N_("In production"),
            SampleStatus.shipped: N_("Shipped"),
            SampleStatus.received: N_("Received"),
            SampleStatus.approved: N_("Approved"),
            SampleStatus.rejected: N_("Rejected"),
        }


class SampleRound(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One round of prototypes. `received` is the state that awaits the brand's decision."""

    __tablename__ = "sample_rounds"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_sample_rounds_project_number"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), default=None
    )
    # the spec revision the sample was made to (spec revisions arrive with their own issue)
    spec_revision_id: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[SampleStatus] = mapped_column(str_enum(SampleStatus), default=SampleStatus.requested)
    coordinator_notes: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime | None] = mapped_column(default=None)
    in_production_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    # photos the brand pinned its decision to
    pinned_photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    project: Mapped[Project] = relationship(lazy="raise")
    supplier: Mapped[Supplier | None] = relationship(lazy="raise")
    decided_by: Mapped[User | None] = relationship(lazy="raise")
    photos: Mapped[list[SamplePhoto]] = relationship(
        back_populates="round", lazy="raise", order_by="SamplePhoto.position"
    )


class SamplePhoto(IdMixin, TenantOwned, TimestampMixin, Base):
    """A photo of a sample round: a verified image attachment, its thumbnail and a caption."""

    __tablename__ = "sample_photos"

    round_id: Mapped[int] = mapped_column(ForeignKey("sample_rounds.id", ondelete="CASCADE"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"))
    thumbnail_key: Mapped[str] = mapped_column(String(500), default="")
    caption: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[SampleRound] = relationship(back_populates="photos", lazy="raise")
    attachment: Mapped[Attachment] = relationship(lazy="raise")
