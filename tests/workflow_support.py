"""Arrangements shared by the workflow, escalation and notify tests.

`People` is a cheaper `World`: the same two organizations and roles, written directly (no password hashing, no
audit events), because the workflow tests build hundreds of them and never log in. Records are arranged in any
state by writing their rows directly (system scope); the behaviour under test always goes through the services,
each call in its own transaction and with the tenancy scope the caller would have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts.models import Membership, Organization, OrgRole, User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.feasibility.models import FeasibilityReview
from makeready.notify.models import EmailOutbox, Notification
from makeready.projects.models import Attachment, Milestone, MilestoneStatus, Phase, Project, Task, TaskStatus
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.workflow import waiting_flags

T = TypeVar("T")


@dataclass
class People:
    org_a: Organization
    org_b: Organization
    owner_a: User
    member_a: User
    viewer_a: User
    owner_b: User
    coordinator: User
    coordinator2: User
    admin: User

    def named(self, key: str) -> User:
        user: User = getattr(self, key)
        return user


USERS = [
    # key, email, org, role, staff, admin, locale
    ("owner_a", "owner@acme.test", "a", OrgRole.owner, False, False, "en"),
    ("member_a", "member@acme.test", "a", OrgRole.member, False, False, "zh_Hans"),
    ("viewer_a", "viewer@acme.test", "a", OrgRole.viewer, False, False, None),
    ("owner_b", "owner@borealis.test", "b", OrgRole.owner, False, False, None),
    ("coordinator", "coord@agency.test", None, None, True, False, "en"),
    ("coordinator2", "coord2@agency.test", None, None, True, False, "zh_Hans"),
    ("admin", "admin@agency.test", None, None, True, True, None),
]


async def make_people(engine: AsyncEngine) -> People:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            org_a, org_b = Organization(name="Acme Lamps"), Organization(name="Borealis Bags")
            session.add_all([org_a, org_b])
            await session.flush()
            users: dict[str, User] = {}
            for key, email, org, role, staff, admin, locale in USERS:
                user = User(
                    email=email,
                    name=key.replace("_", " ").title(),
                    password_hash="!",  # no password: these users never log in
                    is_staff=staff,
                    is_admin=admin,
                    locale=locale,
                )
                session.add(user)
                await session.flush()
                if org is not None and role is not None:
                    target = org_a if org == "a" else org_b
                    session.add(Membership(org_id=target.id, user_id=user.id, role=role))
                users[key] = user
    return People(org_a=org_a, org_b=org_b, **users)


def scope_for(people: People, user: User) -> Scope:
    if user.is_staff:
        return Scope.staff(user.id)
    orgs = {people.org_a.id} if user.email.endswith("@acme.test") else {people.org_b.id}
    return Scope.member(user.id, orgs)


@asynccontextmanager
async def session_as(engine: AsyncEngine, people: People, user: User | None) -> AsyncIterator[AsyncSession]:
    """One transaction with the tenancy scope `user` would have (system scope for None)."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system() if user is None else scope_for(people, user))
        async with session.begin():
            yield session


async def call_as(
    engine: AsyncEngine, people: People, user: User, service: Callable[..., Awaitable[T]], **kwargs: Any
) -> T:
    """Call a workflow service as `user`, in its own transaction (rolled back if it raises)."""
    async with session_as(engine, people, user) as session:
        return await service(session, actor=user, **kwargs)


@asynccontextmanager
async def system(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            yield session


# --------------------------------------------------------------------------------------------------------------
# Arranging rows directly


async def make_project(
    engine: AsyncEngine,
    people: People,
    *,
    phase: Phase = Phase.feasibility,
    name: str = "Arc Pendant",
    coordinator: bool = True,
    review_complete: bool = False,
    go_ahead: bool = False,
    held_from: Phase | None = None,
    org: str = "a",
) -> Project:
    async with system(engine) as session:
        project = Project(
            org_id=people.org_a.id if org == "a" else people.org_b.id,
            name=name,
            phase=phase,
            coordinator_id=people.coordinator.id if coordinator else None,
            held_from=held_from,
            go_ahead_at=utcnow() if go_ahead else None,
            go_ahead_by_id=people.owner_a.id if go_ahead else None,
        )
        session.add(project)
        await session.flush()
        session.add(
            FeasibilityReview(
                org_id=project.org_id,
                project_id=project.id,
                summary="",
                completed_at=utcnow() if review_complete else None,
            )
        )
    return project


async def make_milestone(
    engine: AsyncEngine,
    project: Project,
    *,
    status: MilestoneStatus = MilestoneStatus.planned,
    phase: Phase = Phase.development,
    title: str = "First sample",
    owner_id: int | None = None,
    due_date: date | None = None,
    position: int = 0,
) -> Milestone:
    async with system(engine) as session:
        milestone = Milestone(
            org_id=project.org_id,
            project_id=project.id,
            phase=phase,
            title=title,
            position=position,
            owner_id=owner_id,
            due_date=due_date if due_date is not None else date.today() + timedelta(days=30),
            status=status,
            started_at=utcnow() if status != MilestoneStatus.planned else None,
            completed_at=utcnow() if status == MilestoneStatus.done else None,
        )
        session.add(milestone)
        await session.flush()
        # written without the services, so without their events: keep the project's stored schedule as they would
        await waiting_flags.refresh(session, [project.id])
    return milestone


async def make_round(
    engine: AsyncEngine, project: Project, *, status: SampleStatus, number: int = 1, photos: int = 0
) -> tuple[SampleRound, list[SamplePhoto]]:
    async with system(engine) as session:
        sample = SampleRound(
            org_id=project.org_id,
            project_id=project.id,
            number=number,
            status=status,
            requested_at=utcnow(),
            pinned_photo_ids=[],
        )
        session.add(sample)
        await session.flush()
        made = []
        for index in range(photos):
            attachment = await _attachment(session, project, f"r{sample.id}-{index}")
            photo = SamplePhoto(
                org_id=project.org_id, round_id=sample.id, attachment_id=attachment.id, position=index
            )
            session.add(photo)
            made.append(photo)
        await session.flush()
    return sample, made


async def _attachment(session: AsyncSession, project: Project, key: str) -> Attachment:
    attachment = Attachment(
        org_id=project.org_id,
        project_id=project.id,
        kind="photo",
        object_key=f"org/{project.org_id}/{key}.jpg",
        original_name=f"{key}.jpg",
        size=10,
        content_type="image/jpeg",
        checksum="0" * 64,
        uploaded_by_id=None,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def make_attachment(engine: AsyncEngine, project: Project, key: str = "file") -> Attachment:
    async with system(engine) as session:
        return await _attachment(session, project, key)


async def make_change(
    engine: AsyncEngine, project: Project, *, status: ChangeStatus, raised_by: User, number: int = 1
) -> ChangeRequest:
    async with system(engine) as session:
        change = ChangeRequest(
            org_id=project.org_id,
            project_id=project.id,
            number=number,
            title="Thicker lid",
            description="Make the lid 2 mm thicker.",
            reason="It flexes.",
            attachment_ids=[],
            status=status,
            raised_by_id=raised_by.id,
        )
        session.add(change)
    return change


async def make_task(engine: AsyncEngine, project: Project, *, status: TaskStatus, owner: User | None) -> Task:
    async with system(engine) as session:
        task = Task(
            org_id=project.org_id,
            project_id=project.id,
            kind="manual",
            title="Call the factory",
            owner_id=owner.id if owner else None,
            status=status,
        )
        session.add(task)
    return task


# --------------------------------------------------------------------------------------------------------------
# Reading back


async def reload(engine: AsyncEngine, model: type[T], object_id: int) -> T:
    async with system(engine) as session:
        obj = await session.scalar(select(model).where(model.id == object_id))  # type: ignore[attr-defined]
        assert obj is not None
        return obj


async def events(engine: AsyncEngine, action: str | None = None) -> list[AuditEvent]:
    async with system(engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list((await session.scalars(query)).all())


async def notifications(engine: AsyncEngine, user: User | None = None) -> list[Notification]:
    async with system(engine) as session:
        query = select(Notification).order_by(Notification.id)
        if user is not None:
            query = query.where(Notification.user_id == user.id)
        return list((await session.scalars(query)).all())


async def outbox(engine: AsyncEngine) -> list[EmailOutbox]:
    async with system(engine) as session:
        return list((await session.scalars(select(EmailOutbox).order_by(EmailOutbox.id))).all())


async def tasks(engine: AsyncEngine) -> list[Task]:
    async with system(engine) as session:
        return list((await session.scalars(select(Task).order_by(Task.id))).all())
