"""What a project is waiting on, and on whom: the brand, the coordinator, or a named person.

One computation, three readers:

- `waiting_for(session, projects, today)`: everything each project of a set waits for, in a fixed number of
  statements whatever the number of projects (the board reads it for a page of cards);
- `waiting_on(session, project_id=...)`: the same for one project (the project pages);
- `makeready.workflow.waiting_flags`: its summary, kept on each project by a rule on the events that change it,
  for the pages that sort or count by it (the dashboard orders a brand's projects by "waiting on the brand").
"""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.types import utcnow
from makeready.feasibility.models import FeasibilityReview
from makeready.i18n import N_, _
from makeready.projects.access import load_project
from makeready.projects.milestones import Health, health
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Question, Task, TaskStatus
from makeready.samples.models import SampleRound, SampleStatus


class Party(enum.StrEnum):
    brand = "brand"
    coordinator = "coordinator"
    person = "person"

    @staticmethod
    def labels() -> dict[Party, str]:
        return {
            Party.brand: N_("The brand"),
            Party.coordinator: N_("The coordinator"),
            Party.person: N_("Owner"),
        }


@dataclass(frozen=True)
class Waiting:
    """One thing the project waits for. `text` is in the current locale; `user_id` names the person if one does."""

    kind: str
    party: Party
    user_id: int | None
    text: str
    subject_type: str
    subject_id: int | None
    since: datetime | None = None
    due_date: date | None = None
    health: Health | None = None
    number: int | None = None
    """The sample round's or change request's number, for lists that name it shortly."""


URGENCY = {Health.late: 0, Health.at_risk: 1, Health.on_track: 2, Health.unscheduled: 3, Health.done: 4}
DECIDED_ROUNDS = (SampleStatus.approved, SampleStatus.rejected)


# --- the batched computation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reads:
    reviewed: Any
    rounds: Any
    questions: Any
    changes: Any
    tasks: Any
    milestones: Any


@functools.cache
def _reads() -> _Reads:
    """The statements of `waiting_for`, built once and bound per call with the projects' ids (`ids`): they ran on
    every page that says what projects wait for and on every event that refreshes a project's flags.

    Each reads only the columns the rules use, as rows (named like the attributes), not entities: a board page's
    hundred projects have hundreds of open things, and building and populating an entity of every column of each
    cost the board more than its statements."""
    ids: BindParameter[int] = bindparam("ids", expanding=True)
    return _Reads(
        reviewed=select(FeasibilityReview.project_id).where(
            FeasibilityReview.project_id.in_(ids), FeasibilityReview.completed_at.is_not(None)
        ),
        rounds=select(
            SampleRound.id,
            SampleRound.project_id,
            SampleRound.number,
            SampleRound.status,
            SampleRound.received_at,
            SampleRound.requested_at,
        )
        .where(SampleRound.project_id.in_(ids), SampleRound.status.not_in(DECIDED_ROUNDS))
        .order_by(SampleRound.project_id, SampleRound.number),
        questions=select(Question.id, Question.project_id, Question.body, Question.created_at)
        .where(Question.project_id.in_(ids), Question.answered_at.is_(None))
        .order_by(Question.created_at, Question.id),
        changes=select(
            ChangeRequest.id,
            ChangeRequest.project_id,
            ChangeRequest.number,
            ChangeRequest.title,
            ChangeRequest.created_at,
        )
        .where(ChangeRequest.project_id.in_(ids), ChangeRequest.status == ChangeStatus.open)
        .order_by(ChangeRequest.number),
        tasks=select(Task.id, Task.project_id, Task.owner_id, Task.title, Task.created_at, Task.due_date)
        .where(Task.project_id.in_(ids), Task.status == TaskStatus.open)
        .order_by(Task.created_at, Task.id),
        milestones=select(
            Milestone.id,
            Milestone.project_id,
            Milestone.owner_id,
            Milestone.title,
            Milestone.status,
            Milestone.due_date,
            Milestone.position,
            Milestone.started_at,
        )
        .where(Milestone.project_id.in_(ids), Milestone.status != MilestoneStatus.done)
        .order_by(Milestone.position, Milestone.id),
    )


class ProjectFacts(Protocol):
    """What the rules read of a project: a `Project`, or a page's lighter row of it."""

    @property
    def id(self) -> int: ...

    @property
    def phase(self) -> Phase: ...

    @property
    def coordinator_id(self) -> int | None: ...

    @property
    def go_ahead_at(self) -> datetime | None: ...


async def waiting_for(
    session: AsyncSession,
    projects: Sequence[ProjectFacts],
    today: date | None = None,
    *,
    milestones: bool = True,
) -> dict[int, list[Waiting]]:
    """Everything each project waits for, in this order: the go-ahead, the feasibility review, sample decisions
    and rounds in progress, open questions, open change requests, open tasks, then milestones (late first) by owner.

    Six statements whatever the number of projects (five with `milestones=False`, for a reader that loads the
    milestones itself). Every project is in the answer, with an empty list if it waits for nothing."""
    out: dict[int, list[Waiting]] = {p.id: [] for p in projects}
    if not projects:
        return out
    today = today or utcnow().date()
    reads = _reads()
    ids = {"ids": list(out)}

    async def grouped(statement: Any) -> dict[int, list[Any]]:
        rows: dict[int, list[Any]] = defaultdict(list)
        for row in (await session.execute(statement, ids)).all():
            rows[row.project_id].append(row)
        return rows

    reviewed = set((await session.scalars(reads.reviewed, ids)).all())
    rounds_of = await grouped(reads.rounds)
    questions_of = await grouped(reads.questions)
    changes_of = await grouped(reads.changes)
    tasks_of = await grouped(reads.tasks)
    milestones_of = await grouped(reads.milestones) if milestones else {}

    for project in projects:
        out[project.id] = _items(
            project,
            today,
            reviewed=project.id in reviewed,
            rounds=rounds_of.get(project.id, []),
            questions=questions_of.get(project.id, []),
            changes=changes_of.get(project.id, []),
            tasks=tasks_of.get(project.id, []),
            milestones=milestones_of.get(project.id, []),
        )
    return out


def _items(
    project: ProjectFacts,
    today: date,
    *,
    reviewed: bool,
    rounds: list[Any],
    questions: list[Any],
    changes: list[Any],
    tasks: list[Any],
    milestones: list[Any],
) -> list[Waiting]:
    """The rules: who each open thing of one project waits on (its open things as rows of `_reads`' columns)."""
    items: list[Waiting] = []
    coordinator = project.coordinator_id
    staff = Party.person if coordinator else Party.coordinator
    if project.phase == Phase.feasibility:
        if not reviewed:
            items.append(
                Waiting(
                    "feasibility_review",
                    staff,
                    coordinator,
                    _("Complete the feasibility review."),
                    "project",
                    project.id,
                )
            )
        elif project.go_ahead_at is None:
            items.append(
                Waiting(
                    "go_ahead",
                    Party.brand,
                    None,
                    _("Give the go-ahead for development after reading the feasibility summary."),
                    "project",
                    project.id,
                )
            )
    for sample in rounds:
        if sample.status == SampleStatus.received:
            items.append(
                Waiting(
                    "sample_decision",
                    Party.brand,
                    None,
                    _("Approve or reject sample round %(number)s.") % {"number": sample.number},
                    "sample_round",
                    sample.id,
                    since=sample.received_at,
                    number=sample.number,
                )
            )
        else:
            items.append(
                Waiting(
                    "sample_round",
                    staff,
                    coordinator,
                    _("Get sample round %(number)s made, shipped and received.") % {"number": sample.number},
                    "sample_round",
                    sample.id,
                    since=sample.requested_at,
                    number=sample.number,
                )
            )
    for question in questions:
        items.append(
            Waiting(
                "question",
                Party.brand,
                None,
                _("Answer the question: %(question)s") % {"question": question.body},
                "question",
                question.id,
                since=question.created_at,
            )
        )
    for change in changes:
        items.append(
            Waiting(
                "change_request",
                staff,
                coordinator,
                _("Decide change request %(number)s: %(title)s")
                % {"number": change.number, "title": change.title},
                "change_request",
                change.id,
                since=change.created_at,
                number=change.number,
            )
        )
    for task in tasks:
        items.append(
            Waiting(
                "task",
                Party.person if task.owner_id else Party.coordinator,
                task.owner_id,
                _(task.title),
                "task",
                task.id,
                since=task.created_at,
                due_date=task.due_date,
            )
        )
    ordered = sorted(
        milestones, key=lambda m: (URGENCY[health(m.status, m.due_date, today)], m.owner_id or 0, m.position)
    )
    for milestone in ordered:
        items.append(
            Waiting(
                "milestone",
                Party.person if milestone.owner_id else staff,
                milestone.owner_id or coordinator,
                _(milestone.title),
                "milestone",
                milestone.id,
                since=milestone.started_at,
                due_date=milestone.due_date,
                health=health(milestone.status, milestone.due_date, today),
            )
        )
    return items


async def waiting_on(session: AsyncSession, *, project_id: int, today: date | None = None) -> list[Waiting]:
    """Everything one project waits for (`waiting_for` of that project; 404 if it is not in the caller's scope)."""
    project = await load_project(session, project_id)
    return (await waiting_for(session, [project], today))[project.id]


def by_person(items: list[Waiting]) -> dict[int | None, list[Waiting]]:
    """The same items grouped by the person they wait on (None: the brand as a whole or nobody named)."""
    grouped: dict[int | None, list[Waiting]] = {}
    for item in items:
        grouped.setdefault(item.user_id, []).append(item)
    return grouped
