"""The time-and-action plan: an order's production milestones, planned backwards from its ex-factory date.

Sending an order adds one milestone per step to the project's timeline (phase production, tagged with the order
and the step's key); moving the ex-factory date moves every step that is not done by the same rule. The offsets
are working knowledge of Chinese factories (a final inspection two days before the goods leave, a pre-production
meeting a week before the line starts); lots' planned dates, when set, fix when production starts and ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.i18n import N_
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project


@dataclass(frozen=True)
class PlanStep:
    key: str
    title: str
    """N_ msgid: shown translated on the timeline."""


STEPS: tuple[PlanStep, ...] = (
    PlanStep("pre_production_meeting", N_("Pre-production meeting")),
    PlanStep("materials_in_house", N_("Materials in house")),
    PlanStep("tooling_approved", N_("Tooling approved")),
    PlanStep("production_start", N_("Production start")),
    PlanStep("during_production_inspection", N_("During-production inspection")),
    PlanStep("production_end", N_("Production end")),
    PlanStep("final_inspection", N_("Final random inspection")),
    PlanStep("ex_factory", N_("Ex-factory")),
)
FINAL_INSPECTION_DAYS = 2
"""Days between the final inspection and ex-factory (the report, the brand's sign-off, packing release)."""
END_TO_INSPECTION_DAYS = 2
DEFAULT_PRODUCTION_DAYS = 21
"""Used when the order has no lots yet to say when production runs."""
MATERIALS_BEFORE_START = 3
TOOLING_BEFORE_START = 5
MEETING_BEFORE_START = 7


async def _lot_window(session: AsyncSession, order: ProductionOrder) -> tuple[date | None, date | None]:
    row = (
        await session.execute(
            select(func.min(Lot.planned_start), func.max(Lot.planned_end)).where(
                Lot.order_id == order.id, Lot.status != LotStatus.cancelled
            )
        )
    ).one()
    return row[0], row[1]


def due_dates(ex_factory: date, *, start: date | None, end: date | None, today: date) -> dict[str, date]:
    """Each step's due date. Dates before today are moved to today: a plan never starts in the past."""
    production_end = (
        end
        if end is not None
        else ex_factory - timedelta(days=FINAL_INSPECTION_DAYS + END_TO_INSPECTION_DAYS)
    )
    production_end = min(production_end, ex_factory)
    production_start = (
        start if start is not None else production_end - timedelta(days=DEFAULT_PRODUCTION_DAYS)
    )
    production_start = min(production_start, production_end)
    dates = {
        "pre_production_meeting": production_start - timedelta(days=MEETING_BEFORE_START),
        "materials_in_house": production_start - timedelta(days=MATERIALS_BEFORE_START),
        "tooling_approved": production_start - timedelta(days=TOOLING_BEFORE_START),
        "production_start": production_start,
        "during_production_inspection": production_start + (production_end - production_start) / 2,
        "production_end": production_end,
        "final_inspection": max(production_end, ex_factory - timedelta(days=FINAL_INSPECTION_DAYS)),
        "ex_factory": ex_factory,
    }
    return {key: max(value, today) for key, value in dates.items()}


async def plan_order(session: AsyncSession, order: ProductionOrder, *, today: date) -> dict[str, date]:
    """Add the order's plan to the project's timeline, or move what is not done; returns the step dates."""
    start, end = await _lot_window(session, order)
    dates = due_dates(order.ex_factory_date, start=start, end=end, today=today)
    existing = {
        m.plan_key: m
        for m in (
            await session.scalars(select(Milestone).where(Milestone.production_order_id == order.id))
        ).all()
    }
    project = await session.get(Project, order.project_id)
    assert project is not None
    position = await session.scalar(
        select(func.max(Milestone.position)).where(Milestone.project_id == order.project_id)
    )
    position = -1 if position is None else position
    for step in STEPS:
        milestone = existing.get(step.key)
        if milestone is None:
            position += 1
            session.add(
                Milestone(
                    org_id=order.org_id,
                    project_id=order.project_id,
                    phase=Phase.production,
                    title=step.title,
                    position=position,
                    owner_id=project.coordinator_id,
                    due_date=dates[step.key],
                    production_order_id=order.id,
                    plan_key=step.key,
                )
            )
        elif milestone.status != MilestoneStatus.done:
            milestone.due_date = dates[step.key]
    await session.flush()
    return dates
