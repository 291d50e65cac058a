"""Tasks: work a trigger opens for a person, closed by them or a coordinator."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.i18n import N_
from makeready.kernel import bus
from makeready.kernel.machine import Machine, Role, Transition, load, perform, states
from makeready.projects.models import Project, Task, TaskStatus

bus.emits("task.opened")

TASK = Machine(
    name="task",
    subject=N_("task"),
    states=TaskStatus,
    column="status",
    final=states(TaskStatus.done, TaskStatus.cancelled),
    transitions=(
        Transition(
            "complete",
            states(TaskStatus.open),
            TaskStatus.done,
            frozenset({Role.STAFF, Role.ASSIGNEE}),
            "task.completed",
            wrong_state=N_("Only an open task can be completed; this one is %(state)s."),
            forbidden=N_("Only a coordinator or the task's owner can complete it."),
            stamp="completed_at",
        ),
        Transition(
            "cancel",
            states(TaskStatus.open),
            TaskStatus.cancelled,
            frozenset({Role.STAFF}),
            "task.cancelled",
            wrong_state=N_("Only an open task can be cancelled; this one is %(state)s."),
            forbidden=N_("Only a coordinator can cancel a task."),
            requires=("reason",),
        ),
    ),
)

TASK_NOT_FOUND = N_("This task does not exist or you do not have access to it.")


async def open_task(
    session: AsyncSession,
    *,
    project: Project,
    kind: str,
    title: str,
    owner_id: int | None,
    source_type: str = "",
    source_id: int | None = None,
    due_date: date | None = None,
    actor: User | None = None,
    notify_owner: bool = True,
) -> Task:
    """Open a task (a trigger's action); an open task of the same kind and source is returned instead of a second.

    `title` is an N_ msgid, translated where the task is shown. The owner is told (`task_opened`) unless the
    caller's own notification already says a task is open for them (`notify_owner=False`).
    """
    existing = await session.scalar(
        select(Task).where(
            Task.project_id == project.id,
            Task.kind == kind,
            Task.source_type == source_type,
            Task.source_id == source_id,
            Task.status == TaskStatus.open,
        )
    )
    if existing is not None:
        return existing
    task = Task(
        org_id=project.org_id,
        project_id=project.id,
        kind=kind,
        title=title,
        owner_id=owner_id,
        due_date=due_date,
        status=TaskStatus.open,
        source_type=source_type,
        source_id=source_id,
    )
    session.add(task)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="task.opened",
        subject_type="task",
        subject_id=task.id,
        org_id=project.org_id,
        project_id=project.id,
        after={"kind": kind, "title": title, "owner_id": owner_id, "source": [source_type, source_id]},
    )

    await bus.fire(
        session,
        bus.Event(
            name="task.opened",
            actor=actor,
            subject=task,
            org_id=project.org_id,
            project_id=project.id,
            after={"notify_owner": notify_owner},
        ),
    )
    return task


async def complete_task(
    session: AsyncSession, *, actor: User, task_id: int, note: str = "", expected_version: int | None = None
) -> Task:
    task = await load(session, Task, task_id, TASK_NOT_FOUND)
    await perform(
        session,
        TASK,
        task,
        "complete",
        actor=actor,
        org_id=task.org_id,
        project_id=task.project_id,
        assignee_id=task.owner_id,
        inputs={"note": note},
        expected_version=expected_version,
        reason=note,
    )
    return task


async def cancel_task(
    session: AsyncSession, *, actor: User, task_id: int, reason: str, expected_version: int | None = None
) -> Task:
    task = await load(session, Task, task_id, TASK_NOT_FOUND)
    await perform(
        session,
        TASK,
        task,
        "cancel",
        actor=actor,
        org_id=task.org_id,
        project_id=task.project_id,
        assignee_id=task.owner_id,
        inputs={"reason": reason},
        expected_version=expected_version,
    )
    return task


async def list_open_tasks(
    session: AsyncSession, *, project_id: int | None = None, owner_id: int | None = None
) -> list[Task]:
    query = select(Task).where(Task.status == TaskStatus.open)
    if project_id is not None:
        query = query.where(Task.project_id == project_id)
    if owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    return list((await session.scalars(query.order_by(Task.created_at, Task.id))).all())
