"""Ownership and time: the escalation pass that tells owners and coordinators about milestones at risk or late.

`run_escalation(session, today=...)` looks at every open milestone with a due date on an active project (not on
hold, cancelled or delivered, not archived) and, from `milestone_health(m, today)`:

- at risk (not started, due within the window) and never told: tells the owner (`milestone.at_risk`), once;
- late (past due, not done) and never told: tells the owner (`milestone.late`), once;
- late, told at least ESCALATION_DELAY_DAYS ago and not escalated: escalates to the project's coordinator
  (`milestone.escalated`: a notification and a task), once.

Each step stamps its column (risk_notified_at, late_notified_at, escalated_at), writes its audit event and fires its
triggers (makeready.workflow.triggers), so what is said and to whom is one rule each. The stamps make a second run on
the same day, or any later day, say nothing twice; assigning a new owner or date clears them (a new promise).
The clock is a parameter: tests and the job pass `today` (and `now` for the stamps) instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit import service as audit
from makeready.kernel import bus
from makeready.projects.access import ACTIVE_PHASES
from makeready.projects.milestones import RISK_WINDOW_DAYS, Health, milestone_health
from makeready.projects.models import Milestone, MilestoneStatus, Project
from makeready.settings import Settings

bus.emits("milestone.at_risk", "milestone.late", "milestone.escalated")

ESCALATION_DELAY_DAYS = 2
"""Days a milestone stays late after its owner was told before the coordinator is told."""


@dataclass
class EscalationReport:
    at_risk: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def moment(today: date, now: datetime | None = None) -> datetime:
    """The timestamp to stamp for `today`: `now` if given, else today's date at the current UTC time of day."""
    if now is not None:
        return now
    return datetime.combine(today, datetime.now(UTC).timetz())


async def run_escalation(
    session: AsyncSession,
    *,
    today: date,
    settings: Settings | None = None,
    now: datetime | None = None,
    risk_window_days: int = RISK_WINDOW_DAYS,
    escalation_delay_days: int = ESCALATION_DELAY_DAYS,
) -> EscalationReport:
    """One pass over every open milestone the session may see (the job uses a system scope)."""
    stamp = moment(today, now)
    report = EscalationReport()
    rows = await session.execute(
        select(Milestone, Project)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Milestone.status != MilestoneStatus.done,
            Milestone.due_date.is_not(None),
            Project.phase.in_(ACTIVE_PHASES),
            Project.archived_at.is_(None),
        )
        .order_by(Milestone.due_date, Milestone.id)
    )
    for milestone, project in rows.all():
        health = milestone_health(milestone, today, window_days=risk_window_days)
        if health == Health.at_risk and milestone.risk_notified_at is None:
            milestone.risk_notified_at = stamp
            await _record(session, milestone, project, "milestone.at_risk", "risk_notified_at", stamp, today)
            report.at_risk.append(milestone.id)
        elif health == Health.late:
            if milestone.late_notified_at is None:
                milestone.late_notified_at = stamp
                await _record(session, milestone, project, "milestone.late", "late_notified_at", stamp, today)
                report.late.append(milestone.id)
            elif (
                milestone.escalated_at is None
                and milestone.late_notified_at.date() + timedelta(days=escalation_delay_days) <= today
            ):
                milestone.escalated_at = stamp
                await _record(
                    session, milestone, project, "milestone.escalated", "escalated_at", stamp, today
                )
                report.escalated.append(milestone.id)
    return report


async def _record(
    session: AsyncSession,
    milestone: Milestone,
    project: Project,
    action: str,
    column: str,
    stamp: datetime,
    today: date,
) -> None:
    await session.flush()
    await audit.record(
        session,
        actor_id=None,
        action=action,
        subject_type="milestone",
        subject_id=milestone.id,
        org_id=project.org_id,
        project_id=project.id,
        after={
            column: stamp,
            "due_date": milestone.due_date,
            "owner_id": milestone.owner_id,
            "today": today,
        },
    )
    await bus.fire(
        session,
        bus.Event(
            name=action,
            actor=None,
            subject=milestone,
            org_id=project.org_id,
            project_id=project.id,
            now=stamp,
        ),
    )
