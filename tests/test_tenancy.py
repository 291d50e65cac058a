"""Tenancy lives in the data layer: a scoped session cannot read or write another organization's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.accounts.models import Membership, Organization
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, TenancyError, set_scope
from makeready.errors import NotFound
from makeready.projects import service as projects
from makeready.projects.models import Milestone, Project
from tests.conftest import World


async def _projects_for_both(engine: AsyncEngine, world: World) -> tuple[int, int]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            a = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "A"}
            )
            b = await projects.create_project(
                session, actor=world.owner_b, org_id=world.org_b.id, data={"name": "B"}
            )
    return a.id, b.id


async def test_member_scope_reads_only_own_org(engine: AsyncEngine, world: World) -> None:
    a_id, b_id = await _projects_for_both(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        assert [p.id for p in (await session.scalars(select(Project))).all()] == [a_id]
        # joins and aliases are filtered too, not only the top-level entity
        milestone_orgs = set((await session.scalars(select(Milestone.org_id).join(Project))).all())
        assert milestone_orgs == {world.org_a.id}
        assert [o.id for o in (await session.scalars(select(Organization))).all()] == [world.org_a.id]
        assert {m.org_id for m in (await session.scalars(select(Membership))).all()} == {world.org_a.id}
        with pytest.raises(NotFound):
            await projects.get_project(session, b_id)


async def test_bulk_update_cannot_reach_other_org(engine: AsyncEngine, world: World) -> None:
    _a_id, b_id = await _projects_for_both(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        async with session.begin():
            result = await session.execute(update(Project).where(Project.id == b_id).values(name="hijacked"))
            assert result.rowcount == 0
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        assert (await session.get(Project, b_id)).name == "B"  # type: ignore[union-attr]


async def test_writing_a_row_into_another_org_is_refused(engine: AsyncEngine, world: World) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        session.add(Project(org_id=world.org_b.id, name="planted"))
        with pytest.raises(TenancyError):
            await session.flush()
        await session.rollback()
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        assert (await session.scalars(select(Project).where(Project.name == "planted"))).first() is None


async def test_unscoped_session_fails_closed(engine: AsyncEngine, world: World) -> None:
    async with make_sessionmaker(engine)() as session:
        with pytest.raises(TenancyError):
            await session.scalars(select(Project))


async def test_anonymous_scope_sees_nothing(engine: AsyncEngine, world: World) -> None:
    await _projects_for_both(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.anonymous())
        assert (await session.scalars(select(Project))).all() == []


async def test_staff_scope_sees_every_org(engine: AsyncEngine, world: World) -> None:
    a_id, b_id = await _projects_for_both(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.staff(world.coordinator.id))
        assert {p.id for p in (await session.scalars(select(Project))).all()} == {a_id, b_id}
