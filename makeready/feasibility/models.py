"""The feasibility workspace's tables: one review per project with its checks, approaches and risks."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import User, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class CheckArea(enum.StrEnum):
    process = "process"
    tolerance = "tolerance"
    material = "material"
    finish = "finish"
    volume = "volume"

    @staticmethod
    def labels() -> dict[CheckArea, str]:
        return {
            CheckArea.process: N_("Process"),
            CheckArea.tolerance: N_("Tolerance"),
            CheckArea.material: N_("Material"),
            CheckArea.finish: N_("Finish"),
            CheckArea.volume: N_("Volume"),
        }


class Verdict(enum.StrEnum):
    open = "open"
    feasible = "feasible"
    with_changes = "with_changes"
    not_feasible = "not_feasible"

    @staticmethod
    def labels() -> dict[Verdict, str]:
        return {
            Verdict.open: N_("Open"),
            Verdict.feasible: N_("Feasible"),
            Verdict.with_changes: N_("Feasible with changes"),
            Verdict.not_feasible: N_("Not feasible"),
        }


class ReviewStatus(enum.StrEnum):
    """The review's lifecycle (makeready.feasibility.review.FEASIBILITY_REVIEW): open while it is worked on."""

    open = "open"
    completed = "completed"

    @staticmethod
    def labels() -> dict[ReviewStatus, str]:
        return {ReviewStatus.open: N_("Open"), ReviewStatus.completed: N_("Completed")}


def _initial_review_status(context: Any) -> str:
    """A row inserted already completed (seed data, fixtures) starts completed; the machine moves it after."""
    if context is None:  # a default asked for outside an INSERT (the back office's form)
        return ReviewStatus.open.value
    completed = context.get_current_parameters().get("completed_at")
    return ReviewStatus.completed.value if completed is not None else ReviewStatus.open.value


class FeasibilityReview(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One per project. Completing it is an input of the development gate; the brand sees its summary."""

    __tablename__ = "feasibility_reviews"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus), default=_initial_review_status)
    recommended_approach_id: Mapped[int | None] = mapped_column(Integer, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    checks: Mapped[list[FeasibilityCheck]] = relationship(
        back_populates="review", lazy="raise", order_by="FeasibilityCheck.position"
    )
    approaches: Mapped[list[ProductionApproach]] = relationship(
        back_populates="review", lazy="raise", order_by="ProductionApproach.id"
    )
    risks: Mapped[list[Risk]] = relationship(back_populates="review", lazy="raise", order_by="Risk.id")


class FeasibilityCheck(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A requirement set against a manufacturing constraint, with a verdict and a note."""

    __tablename__ = "feasibility_checks"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("feasibility_reviews.id", ondelete="CASCADE"), index=True
    )
    area: Mapped[CheckArea] = mapped_column(str_enum(CheckArea))
    requirement: Mapped[str] = mapped_column(Text)
    constraint: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict), default=Verdict.open)
    note: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    review: Mapped[FeasibilityReview] = relationship(back_populates="checks", lazy="raise")


class ProductionApproach(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A way to make the product: tooling paid once and amortised over the quantity, plus a unit cost."""

    __tablename__ = "production_approaches"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("feasibility_reviews.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    process: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    tooling_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    lead_time_days: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[FeasibilityReview] = relationship(back_populates="approaches", lazy="raise")

    def cost_per_unit(self, quantity: int) -> Decimal:
        """Unit cost with the tooling spread over `quantity` units."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        return (self.unit_cost + self.tooling_cost / quantity).quantize(Decimal("0.01"))


class Risk(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """An entry of the risk register: likelihood and impact from 1 to 5, an owner and a mitigation."""

    __tablename__ = "risks"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("feasibility_reviews.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[int] = mapped_column(Integer, default=3)
    impact: Mapped[int] = mapped_column(Integer, default=3)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    mitigation: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    review: Mapped[FeasibilityReview] = relationship(back_populates="risks", lazy="raise")
    owner: Mapped[User | None] = relationship(lazy="raise")

    @property
    def score(self) -> int:
        return self.likelihood * self.impact
