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
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    String,
    cast,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.ids import among, dialect_of
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


class _Round(NamedTuple):
    id: int
    number: int
    status: SampleStatus
    received_at: datetime | None
    requested_at: datetime | None


class _Question(NamedTuple):
    id: int
    body: str
    created_at: datetime


class _Change(NamedTuple):
    id: int
    number: int
    title: str
    created_at: datetime


class _Task(NamedTuple):
    id: int
    owner_id: int | None
    title: str
    created_at: datetime
    due_date: date | None


class _Milestone(NamedTuple):
    id: int
    owner_id: int | None
    title: str
    status: MilestoneStatus
    due_date: date | None
    position: int
    started_at: datetime | None


REVIEWED, ROUND, QUESTION, CHANGE, TASK, MILESTONE = range(6)
"""What a row of `_open_things` is (its `source` column)."""


@functools.cache
def _open_things(milestones: bool, dialect: str) -> Any:
    """The statement of `waiting_for`: the open things of the projects bound as `ids` (their completed feasibility
    reviews, undecided sample rounds, unanswered questions, open change requests and tasks, and with `milestones`
    their open milestones), as one UNION ALL of rows (source, id, project_id, number, status, owner_id, text, at,
    at2, due, position), each source filling the columns its rule reads. Built once per dialect (`db.ids.among`:
    the ids are one array parameter on PostgreSQL), bound per call: it runs on every page that says what projects
    wait for and on every event that refreshes a project's flags. One statement of columns, not six of entities: a
    board page's hundred projects have hundreds of open things, and each statement, and each entity built and
    populated, cost the board more CPU than the SQL."""

    def among_ids(column: Any) -> Any:
        return among(column, "ids", dialect)

    text, at, day, number = (
        Question.body.type,
        Question.created_at.type,
        Task.due_date.type,
        Milestone.position.type,
    )

    def row(source: int, project_id: Any, **columns: Any) -> Any:
        # the columns a source leaves out are NULLs of the column's type: PostgreSQL types a UNION's columns pair by
        # pair, and two untyped NULLs make a text column that a later date or integer cannot join
        typed = {"id": number, "number": number, "status": String(), "owner_id": number}
        typed |= {"text": text, "at": at, "at2": at, "due": day, "position": number}
        return select(
            literal_column(str(source)).label("source"),
            project_id.label("project_id"),
            *(
                (type_coerce(columns[name], kind) if name in columns else cast(null(), kind)).label(name)
                for name, kind in typed.items()
            ),
        )

    parts = [
        row(REVIEWED, FeasibilityReview.project_id).where(
            among_ids(FeasibilityReview.project_id), FeasibilityReview.completed_at.is_not(None)
        ),
        row(
            ROUND,
            SampleRound.project_id,
            id=SampleRound.id,
            number=SampleRound.number,
            status=SampleRound.status,
            at=SampleRound.received_at,
            at2=SampleRound.requested_at,
        ).where(among_ids(SampleRound.project_id), SampleRound.status.not_in(DECIDED_ROUNDS)),
        row(QUESTION, Question.project_id, id=Question.id, text=Question.body, at=Question.created_at).where(
            among_ids(Question.project_id), Question.answered_at.is_(None)
        ),
        row(
            CHANGE,
            ChangeRequest.project_id,
            id=ChangeRequest.id,
            number=ChangeRequest.number,
            text=ChangeRequest.title,
            at=ChangeRequest.created_at,
        ).where(among_ids(ChangeRequest.project_id), ChangeRequest.status == ChangeStatus.open),
        row(
            TASK,
            Task.project_id,
            id=Task.id,
            owner_id=Task.owner_id,
            text=Task.title,
            at=Task.created_at,
            due=Task.due_date,
        ).where(among_ids(Task.project_id), Task.status == TaskStatus.open),
    ]
    if milestones:
        parts.append(
            row(
                MILESTONE,
                Milestone.project_id,
                id=Milestone.id,
                owner_id=Milestone.owner_id,
                text=Milestone.title,
                status=Milestone.status,
                due=Milestone.due_date,
                position=Milestone.position,
                at=Milestone.started_at,
            ).where(among_ids(Milestone.project_id), Milestone.status != MilestoneStatus.done)
        )
    return union_all(*parts)


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

    One statement whatever the number of projects (`milestones=False` leaves the milestones out, for a reader that
    loads them itself). Every project is in the answer, with an empty list if it waits for nothing."""
    out: dict[int, list[Waiting]] = {p.id: [] for p in projects}
    if not projects:
        return out
    today = today or utcnow().date()
    reviewed: set[int] = set()
    rounds_of: dict[int, list[_Round]] = defaultdict(list)
    questions_of: dict[int, list[_Question]] = defaultdict(list)
    changes_of: dict[int, list[_Change]] = defaultdict(list)
    tasks_of: dict[int, list[_Task]] = defaultdict(list)
    milestones_of: dict[int, list[_Milestone]] = defaultdict(list)
    rows = await session.execute(_open_things(milestones, dialect_of(session)), {"ids": list(out)})
    for source, project_id, id_, number, status, owner_id, text, at, at2, due, position in rows.all():
        if source == REVIEWED:
            reviewed.add(project_id)
        elif source == ROUND:
            rounds_of[project_id].append(_Round(id_, number, SampleStatus(status), at, at2))
        elif source == QUESTION:
            questions_of[project_id].append(_Question(id_, text, at))
        elif source == CHANGE:
            changes_of[project_id].append(_Change(id_, number, text, at))
        elif source == TASK:
            tasks_of[project_id].append(_Task(id_, owner_id, text, at, due))
        else:
            milestones_of[project_id].append(
                _Milestone(id_, owner_id, text, MilestoneStatus(status), due, position, at)
            )
    # each kind in the order the rules list it (a UNION ALL keeps no order)
    for rounds in rounds_of.values():
        rounds.sort(key=lambda r: r.number)
    for questions in questions_of.values():
        questions.sort(key=lambda q: (q.created_at, q.id))
    for changes in changes_of.values():
        changes.sort(key=lambda c: c.number)
    for tasks in tasks_of.values():
        tasks.sort(key=lambda t: (t.created_at, t.id))
    for open_milestones in milestones_of.values():
        open_milestones.sort(key=lambda m: (m.position, m.id))

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
    rounds: list[_Round],
    questions: list[_Question],
    changes: list[_Change],
    tasks: list[_Task],
    milestones: list[_Milestone],
) -> list[Waiting]:
    """The rules: who each open thing of one project waits on."""
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
