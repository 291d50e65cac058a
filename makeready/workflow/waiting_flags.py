"""What each project waits on and when its open milestones fall due, kept on the project (`projects.waiting_*`,
`projects.next_due`, `next_planned_due`, `open_milestones`), so that pages sort and count by it without computing it
per request.

The waiting rule is `makeready.workflow.waiting.waiting_for`, the only one: `summarize` reduces its items to the
stored columns. The schedule columns are the inputs of the milestone health rule the board ranks by
(`makeready.projects.milestones.health`: late and at risk depend on the day, so the day's rank is derived from the
stored dates in the query, never stored). `refresh` recomputes both for the projects an event touched (a bus rule on
every event that can change them, in the event's transaction), and `rebuild_in_batches` recomputes every project, a
batch per short transaction (`makeready waiting rebuild`, after a bulk load that bypassed the services, or to
repair).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Select, Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope, get_scope, set_scope
from makeready.kernel.bus import Event, Rule
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from makeready.workflow.waiting import Party, Waiting, waiting_for

CLOSED_PHASES = (Phase.delivered, Phase.cancelled)
"""A delivered or cancelled project waits on no one's decision on the dashboard (its leftovers stay listed)."""


@dataclass(frozen=True)
class Flags:
    """The stored summary of one project's `waiting_for` items."""

    on_brand: bool = False
    questions: int = 0
    sample_decisions: int = 0
    go_ahead: bool = False
    on_agency: int = 0
    since: datetime | None = None
    """The oldest dated thing the brand has to do."""
    open_milestones: int = 0
    next_due: date | None = None
    """The earliest due date of the open (not done) milestones."""
    next_planned_due: date | None = None
    """The earliest due date of the milestones not started."""

    def values(self) -> dict[str, object]:
        return {
            "open_milestones": self.open_milestones,
            "next_due": self.next_due,
            "next_planned_due": self.next_planned_due,
            "waiting_on_brand": self.on_brand,
            "waiting_questions": self.questions,
            "waiting_sample_decisions": self.sample_decisions,
            "waiting_go_ahead": self.go_ahead,
            "waiting_on_agency": self.on_agency,
            "waiting_since": self.since,
        }

    @classmethod
    def stored(cls, project: Project) -> Flags:
        return cls(
            on_brand=project.waiting_on_brand,
            questions=project.waiting_questions,
            sample_decisions=project.waiting_sample_decisions,
            go_ahead=project.waiting_go_ahead,
            on_agency=project.waiting_on_agency,
            since=project.waiting_since,
            open_milestones=project.open_milestones,
            next_due=project.next_due,
            next_planned_due=project.next_planned_due,
        )


def summarize(project: Project, items: Sequence[Waiting]) -> Flags:
    """The columns for one project from its `waiting_for` items. The brand's part counts while the project is
    active (the dashboard's "waiting on you"); the agency's is everything waiting on the coordinator or a person."""
    if project.phase in CLOSED_PHASES:
        brand: list[Waiting] = []
    else:
        brand = [item for item in items if item.party == Party.brand]
    dated = [item.since for item in brand if item.since is not None]
    return Flags(
        on_brand=bool(brand),
        questions=sum(1 for item in brand if item.kind == "question"),
        sample_decisions=sum(1 for item in brand if item.kind == "sample_decision"),
        go_ahead=any(item.kind == "go_ahead" for item in brand),
        on_agency=sum(1 for item in items if item.party != Party.brand),
        since=min(dated) if dated else None,
    )


def schedule_of_projects() -> Select[int, int, date | None, date | None]:
    """Per project with open milestones: how many, the earliest due date of them and of those not started."""
    return (
        select(
            Milestone.project_id,
            func.count(Milestone.id),
            func.min(Milestone.due_date),
            func.min(case((Milestone.status == MilestoneStatus.planned, Milestone.due_date))),
        )
        .where(Milestone.status != MilestoneStatus.done)
        .group_by(Milestone.project_id)
    )


async def computed(session: AsyncSession, projects: Sequence[Project]) -> dict[int, Flags]:
    """What the columns should hold for these projects (the rules, recomputed; 7 statements)."""
    items = await waiting_for(session, projects)
    schedules = {
        project_id: (int(count), due, planned)
        for project_id, count, due, planned in (
            await session.execute(
                schedule_of_projects().where(Milestone.project_id.in_([p.id for p in projects]))
            )
        ).all()
    }
    flags = {}
    for project in projects:
        count, due, planned = schedules.get(project.id, (0, None, None))
        flags[project.id] = replace(
            summarize(project, items[project.id]),
            open_milestones=count,
            next_due=due,
            next_planned_due=planned,
        )
    return flags


async def refresh(session: AsyncSession, project_ids: Iterable[int]) -> int:
    """Recompute and store the flags of these projects in the caller's transaction; returns how many changed.

    A core UPDATE: it neither bumps the project's `version` (a form open on the project stays valid) nor its
    `updated_at` (the lists' recency order), and the session's loaded projects get the new values."""
    ids = sorted(set(project_ids))
    if not ids:
        return 0
    projects = list((await session.scalars(select(Project).where(Project.id.in_(ids)))).all())
    flags = await computed(session, projects)
    table: Table = Project.__table__  # type: ignore[assignment]
    changed = 0
    for project in projects:
        new = flags[project.id]
        if Flags.stored(project) == new:
            continue
        await session.execute(
            update(table)
            .where(table.c.id == project.id)
            .values(**new.values(), updated_at=table.c.updated_at, version=table.c.version)
        )
        for key, value in new.values().items():
            set_committed_value(project, key, value)
        changed += 1
    return changed


async def refresh_for_event(session: AsyncSession, event: Event) -> None:
    """The bus rule: recompute the event's project, seen as its own organization (a factory's link or a system
    pass may fire the event with a scope that cannot read the project)."""
    if event.project_id is None:
        return
    scope = get_scope(session)
    set_scope(session, Scope(user_id=None, org_ids=frozenset({event.org_id})))
    try:
        await refresh(session, [event.project_id])
    finally:
        set_scope(session, scope)


WAITING_EVENTS = (
    # the project: created with its plan, a coordinator, the phase, the brand's go-ahead
    "project.created",
    "project.coordinator_assigned",
    "project.phase_changed",
    "project.go_ahead_given",
    # the feasibility review
    "feasibility.completed",
    "feasibility.reopened",
    # sample rounds
    "sample_round.requested",
    "sample_round.in_production",
    "sample_round.shipped",
    "sample_round.received",
    "sample_round.approved",
    "sample_round.rejected",
    # questions, change requests, tasks
    "question.asked",
    "question.answered",
    "change_request.raised",
    "change_request.approved",
    "change_request.rejected",
    "change_request.withdrawn",
    "change_request.implemented",
    "task.opened",
    "task.completed",
    "task.cancelled",
    # milestones: planned from a template or a production order's plan, started, done, reopened, reassigned, late
    "milestone.planned",
    "milestone.started",
    "milestone.completed",
    "milestone.reopened",
    "milestone.assigned",
    "milestone.late",
    "milestone.late.resolved",
    "production_order.sent",
    "production_order.accepted",
    "production_order.rescheduled",
)
"""Every event after which what a project waits on may differ (the items and parties of `waiting_for`)."""

RULES: list[tuple[str, Rule]] = [(name, refresh_for_event) for name in WAITING_EVENTS]

REBUILD_BATCH = 500


async def rebuild_in_batches(engine: AsyncEngine, *, batch: int = REBUILD_BATCH) -> int:
    """Recompute every project's flags, `batch` projects per transaction in id order (keyset), so writers wait
    for one batch at a time. Returns how many projects changed."""
    changed = 0
    after = 0
    while True:
        async with unit_of_work(Scope.system(), engine=engine) as session:
            ids = list(
                (
                    await session.scalars(
                        select(Project.id).where(Project.id > after).order_by(Project.id).limit(batch)
                    )
                ).all()
            )
            if not ids:
                return changed
            changed += await refresh(session, ids)
        after = ids[-1]
