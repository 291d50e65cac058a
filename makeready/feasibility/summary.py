"""What the brand sees of a review."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.feasibility.common import HIGH_RISK, VERDICT_ORDER
from makeready.feasibility.costs import cost_per_unit
from makeready.feasibility.models import (
    CheckArea,
    FeasibilityCheck,
    FeasibilityReview,
    ProductionApproach,
    ReviewStatus,
    Risk,
    Verdict,
)
from makeready.projects.models import Project


def area_verdicts(checks: Iterable[Any]) -> dict[CheckArea, Verdict]:
    """Each area's verdict: the worst of its checks' (areas without checks left out), in area order."""
    worst: dict[CheckArea, Verdict] = {}
    for check in checks:
        area, verdict = CheckArea(check.area), Verdict(check.verdict)
        if area not in worst or VERDICT_ORDER.index(verdict) > VERDICT_ORDER.index(worst[area]):
            worst[area] = verdict
    return {area: worst[area] for area in CheckArea if area in worst}


@dataclass(frozen=True)
class AreaVerdict:
    area: CheckArea
    verdict: Verdict


@dataclass(frozen=True)
class BrandSummary:
    """What a brand sees of a review. Deliberately little: the verdict per area, the recommended approach with
    its cost per unit at the brand's own target quantity (no tooling/unit breakdown, no other approach's costs,
    nothing from supplier quotes), the lead time, how many approaches were compared, and the open high risks."""

    completed: bool
    started: bool = True
    completed_at: datetime | None = None
    summary: str = ""
    verdicts: tuple[AreaVerdict, ...] = field(default_factory=tuple)
    approach_name: str = ""
    approach_process: str = ""
    lead_time_days: int | None = None
    cost_per_unit: Decimal | None = None
    currency: str = "USD"
    target_quantity: int | None = None
    approaches_compared: int = 0
    open_high_risks: int = 0


@cache
def _review_of_project() -> Any:
    """What the summary reads of the project's review, as columns rather than an ORM object (every brand project
    page reads it): built once, bound with `project_id`."""
    return select(
        FeasibilityReview.id,
        FeasibilityReview.status,
        FeasibilityReview.completed_at,
        FeasibilityReview.summary,
        FeasibilityReview.recommended_approach_id,
    ).where(FeasibilityReview.project_id == bindparam("project_id", type_=Integer))


async def brand_summary(session: AsyncSession, project_id: int) -> BrandSummary:
    """The review as the brand's project page shows it: only whether it is under way until it is completed.

    One statement while the review is not completed (what the project page's query count depends on), three once
    it is (four without a recommended approach), whatever the size of the review.
    """
    review = (await session.execute(_review_of_project(), {"project_id": project_id})).first()
    if review is None:
        return BrandSummary(completed=False, started=False)
    if review.status != ReviewStatus.completed:
        return BrandSummary(completed=False)
    rows = (
        await session.execute(
            select(FeasibilityCheck.area, FeasibilityCheck.verdict)
            .where(FeasibilityCheck.review_id == review.id)
            .distinct()
        )
    ).all()
    verdicts = tuple(
        AreaVerdict(area, verdict) for area, verdict in area_verdicts(_AreaRow(a, v) for a, v in rows).items()
    )
    compared = (
        select(func.count(ProductionApproach.id))
        .where(ProductionApproach.review_id == review.id)
        .correlate(None)  # all the review's approaches, not the row the statement selects
        .scalar_subquery()
    )
    high_risks = (
        select(func.count(Risk.id))
        .where(
            Risk.review_id == review.id,
            Risk.closed_at.is_(None),
            Risk.likelihood * Risk.impact >= HIGH_RISK,
        )
        .correlate(None)
        .scalar_subquery()
    )
    # the recommended approach and both counts in one statement; the counts alone when none is recommended
    found = (
        await session.execute(
            select(ProductionApproach, compared, high_risks).where(
                ProductionApproach.review_id == review.id,
                ProductionApproach.id == review.recommended_approach_id,
            )
        )
    ).first()
    approach: ProductionApproach | None = None
    if found is not None:
        approach, *counts = found
    else:
        counts = list((await session.execute(select(compared, high_risks))).one())
    project = await session.get(Project, project_id)  # already loaded by the page: no statement
    target = project.target_quantity if project else None
    return BrandSummary(
        completed=True,
        completed_at=review.completed_at,
        summary=review.summary,
        verdicts=verdicts,
        approach_name=approach.name if approach else "",
        approach_process=approach.process if approach else "",
        lead_time_days=approach.lead_time_days if approach else None,
        cost_per_unit=cost_per_unit(approach, target) if approach and target else None,
        currency=approach.currency if approach else (project.currency if project else "USD"),
        target_quantity=target,
        approaches_compared=int(counts[0] or 0),
        open_high_risks=int(counts[1] or 0),
    )


@dataclass(frozen=True)
class _AreaRow:
    area: CheckArea
    verdict: Verdict
