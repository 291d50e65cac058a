"""Ownership and time: the escalation pass that raises conditions on milestones at risk or late.

`run_escalation(session, today=...)` looks at open milestones with a due date on active projects (not on hold,
cancelled or delivered, not archived), in batches by id, and from `milestone_health(m, today)`:

- at risk (not started, due within the window): raises "milestone.at_risk" (its owner is told), once;
- late (past due, not done): resolves "at risk" and raises "milestone.late" (its owner is told), once; the late
  condition's ladder escalates to the project's coordinator ("milestone.escalated": a notification and a task)
  ESCALATION_DELAY_DAYS after it was raised, once;
- a condition whose cause is gone (the milestone started, was done, or is no longer late) is resolved.

Conditions (`makeready.conditions`) carry the "once": a second run on the same day, or any later day, says nothing
twice. Assigning a new owner or date resolves them (a new promise), so the reminders start over. What is said and to
whom is one rule each (makeready.workflow.triggers). The clock is a parameter: tests and the job pass `today` (and
`now`) instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.conditions.service import (
    due_steps,
    escalate_condition,
    raise_condition,
    resolve_condition,
    unresolved_for,
)
from makeready.i18n import N_
from makeready.projects.access import ACTIVE_PHASES
from makeready.projects.milestones import RISK_WINDOW_DAYS, Health, milestone_health
from makeready.projects.models import Milestone, MilestoneStatus, Project
from makeready.settings import Settings

ESCALATION_DELAY_DAYS = 2
"""Days a milestone stays late after its owner was told before the coordinator is told."""

BATCH = 500
"""Milestones (and due ladder steps) one batch looks at."""

AT_RISK = kinds.define(kinds.Kind(name="milestone.at_risk", subject_type="milestone", title=N_("At risk")))
LATE = kinds.define(
    kinds.Kind(
        name="milestone.late",
        subject_type="milestone",
        title=N_("Late"),
        ladder=(kinds.Step(after=timedelta(days=ESCALATION_DELAY_DAYS), event="milestone.escalated"),),
    )
)
CAUSE_GONE = {
    AT_RISK.name: N_("The milestone is no longer at risk."),
    LATE.name: N_("The milestone is no longer late."),
}
"""The resolution recorded when the pass finds a condition's cause gone (a sentence, not a raw state name)."""


@dataclass
class EscalationReport:
    at_risk: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    last_id: int | None = None
    """The last milestone id looked at (the next batch starts after it); None when the pass is complete."""

    def add(self, other: EscalationReport) -> None:
        self.at_risk += other.at_risk
        self.late += other.late
        self.escalated += other.escalated
        self.resolved += other.resolved


def moment(today: date, now: datetime | None = None) -> datetime:
    """The timestamp for `today`: `now` if given, else today's date at the current UTC time of day."""
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
    after_id: int = 0,
    limit: int | None = None,
) -> EscalationReport:
    """Look at the open milestones with an id above `after_id` (at most `limit`, else all), then take the ladder
    steps that are due. The job runs it batch by batch, each batch in its own short transaction. The delay before
    a late milestone is escalated is the LATE kind's ladder (ESCALATION_DELAY_DAYS)."""
    stamp = moment(today, now)
    report = EscalationReport()
    query = (
        select(Milestone, Project)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Milestone.id > after_id,
            Milestone.status != MilestoneStatus.done,
            Milestone.due_date.is_not(None),
            Project.phase.in_(ACTIVE_PHASES),
            Project.archived_at.is_(None),
        )
        .order_by(Milestone.id)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.execute(query)).all()
    open_by_milestone: dict[int, list[Condition]] = {}
    for condition in await unresolved_for(
        session, subject_type="milestone", subject_ids=[m.id for m, _p in rows]
    ):
        open_by_milestone.setdefault(condition.subject_id, []).append(condition)
    for milestone, project in sorted(rows, key=lambda row: (row[0].due_date, row[0].id)):
        health = milestone_health(milestone, today, window_days=risk_window_days)
        current = {c.kind: c for c in open_by_milestone.get(milestone.id, [])}
        for kind_name, condition in current.items():
            still = (kind_name == AT_RISK.name and health == Health.at_risk) or (
                kind_name == LATE.name and health == Health.late
            )
            if not still:
                await resolve_condition(session, condition, reason=CAUSE_GONE[kind_name], now=stamp)
                report.resolved.append(milestone.id)
        details = {"due_date": milestone.due_date, "today": today}
        if health == Health.at_risk and AT_RISK.name not in current:
            raised = await raise_condition(
                session,
                kind=AT_RISK,
                subject_id=milestone.id,
                org_id=project.org_id,
                project_id=project.id,
                owner_id=milestone.owner_id,
                now=stamp,
                details=details,
            )
            if raised is not None:
                report.at_risk.append(milestone.id)
        elif health == Health.late and LATE.name not in current:
            raised = await raise_condition(
                session,
                kind=LATE,
                subject_id=milestone.id,
                org_id=project.org_id,
                project_id=project.id,
                owner_id=milestone.owner_id,
                now=stamp,
                details=details,
            )
            if raised is not None:
                report.late.append(milestone.id)
    if limit is not None and len(rows) == limit:
        report.last_id = max(m.id for m, _p in rows)
    # the ladders: every kind's due steps, milestones' and others', a bounded batch per call
    for condition in await due_steps(session, now=stamp, limit=limit or BATCH):
        await escalate_condition(session, condition, now=stamp)
        report.escalated.append(condition.subject_id)
    return report
