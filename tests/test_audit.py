"""The audit chain: written in the same transaction as the change, hash-linked, verifiable, never forked."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit import service as audit
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.errors import ValidationFailed
from makeready.projects import service as projects
from makeready.projects.models import Project
from tests.conftest import World


async def _verify(engine: AsyncEngine) -> audit.ChainReport:
    async with make_sessionmaker(engine)() as session:
        return await audit.verify(session)


async def test_chain_verifies_and_names_the_altered_event(engine: AsyncEngine, world: World) -> None:
    report = await _verify(engine)
    assert report.ok
    assert report.checked > 5
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET reason = 'rewritten' WHERE seq = 3"))
    report = await _verify(engine)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "#3" in report.problem


async def test_removed_event_is_named(engine: AsyncEngine, world: World) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    report = await _verify(engine)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "missing" in report.problem


async def test_rewritten_hash_breaks_the_next_link(engine: AsyncEngine, world: World) -> None:
    # a forger who recomputes an event's own hash still breaks the link from the next event
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            event = await session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
            assert event is not None
            event.reason = "forged"
            event.hash = audit._digest(event)
    report = await _verify(engine)
    assert report.first_bad_seq == 3


async def test_failed_change_leaves_no_event(engine: AsyncEngine, world: World, db: AsyncSession) -> None:
    before = await db.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))

    async def create_then_fail() -> None:
        async with make_sessionmaker(engine)() as session:
            set_scope(session, Scope.system())
            async with session.begin():
                project = await projects.create_project(
                    session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Half"}
                )
                await projects.update_project(
                    session,
                    actor=world.owner_a,
                    project_id=project.id,
                    expected_version=1,
                    changes={"target_quantity": "many"},
                )

    with pytest.raises(ValidationFailed):
        await create_then_fail()
    assert await db.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == before
    assert (await db.scalars(select(Project))).all() == []


async def test_concurrent_writers_keep_one_chain(engine: AsyncEngine, world: World) -> None:
    async def create(n: int) -> None:
        for attempt in range(20):
            try:
                async with make_sessionmaker(engine)() as session:
                    set_scope(session, Scope.system())
                    async with session.begin():
                        await projects.create_project(
                            session, actor=world.owner_a, org_id=world.org_a.id, data={"name": f"P{n}"}
                        )
                return
            except (
                Exception
            ):  # SQLite refuses the second writer ("database is locked"); retry like a job would
                if engine.dialect.name != "sqlite" or attempt == 19:
                    raise
                await asyncio.sleep(0)

    await asyncio.gather(*(create(n) for n in range(8)))
    report = await _verify(engine)
    assert report.ok, report.problem
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        created = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "project.created"))
        ).all()
    assert len(created) == 8


async def test_brand_sees_only_its_own_events(engine: AsyncEngine, world: World) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        orgs = set((await session.scalars(select(AuditEvent.org_id))).all())
    assert orgs == {world.org_a.id}
