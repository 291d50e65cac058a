"""What a project is waiting on, and on whom: the brand, the coordinator, or a named person."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.types import utcnow
from makeready.feasibility.service import review_complete
from makeready.i18n import N_, _
from makeready.projects.access import load_project
from makeready.projects.milestones import Health, milestone_health
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


async def waiting_on(session: AsyncSession, *, project_id: int, today: date | None = None) -> list[Waiting]:
    """Everything the project waits for, in this order: the go-ahead, the feasibility review, sample decisions
    and rounds in progress, open questions, open change requests, open tasks, then milestones (late first) by owner."""
    project = await load_project(session, project_id)
    today = today or utcnow().date()
    items: list[Waiting] = []
    coordinator = project.coordinator_id
    staff = Party.person if coordinator else Party.coordinator
    if project.phase == Phase.feasibility:
        if not await review_complete(session, project.id):
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
    rounds = await session.scalars(
        select(SampleRound)
        .where(
            SampleRound.project_id == project.id,
            SampleRound.status.not_in([SampleStatus.approved, SampleStatus.rejected]),
        )
        .order_by(SampleRound.number)
    )
    for sample in rounds.all():
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
                )
            )
    questions = await session.scalars(
        select(Question)
        .where(Question.project_id == project.id, Question.answered_at.is_(None))
        .order_by(Question.created_at, Question.id)
    )
    for question in questions.all():
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
    changes = await session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.project_id == project.id, ChangeRequest.status == ChangeStatus.open)
        .order_by(ChangeRequest.number)
    )
    for change in changes.all():
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
            )
        )
    tasks = await session.scalars(
        select(Task)
        .where(Task.project_id == project.id, Task.status == TaskStatus.open)
        .order_by(Task.created_at, Task.id)
    )
    for task in tasks.all():
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
    milestones = list(
        (
            await session.scalars(
                select(Milestone)
                .where(Milestone.project_id == project.id, Milestone.status != MilestoneStatus.done)
                .order_by(Milestone.position, Milestone.id)
            )
        ).all()
    )
    urgency = {Health.late: 0, Health.at_risk: 1, Health.on_track: 2, Health.unscheduled: 3, Health.done: 4}
    milestones.sort(key=lambda m: (urgency[milestone_health(m, today)], m.owner_id or 0, m.position))
    for milestone in milestones:
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
                health=milestone_health(milestone, today),
            )
        )
    return items


def by_person(items: list[Waiting]) -> dict[int | None, list[Waiting]]:
    """The same items grouped by the person they wait on (None: the brand as a whole or nobody named)."""
    grouped: dict[int | None, list[Waiting]] = {}
    for item in items:
        grouped.setdefault(item.user_id, []).append(item)
    return grouped
