"""The tenancy criteria do not cost a statement compilation per scope: one cached statement serves every
organization, and each execution still sees only its own organizations' rows (ids are a bound parameter)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Select, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import selectinload

from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.projects.models import Milestone, Project
from tests.conftest import World


async def test_one_cached_statement_serves_every_scope(
    engine: AsyncEngine, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            a = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "A"}
            )
            b = await projects.create_project(
                session, actor=world.owner_b, org_id=world.org_b.id, data={"name": "B"}
            )
    marker = "tenancy-cache-probe"
    statement = (
        select(Project)
        .where(Project.name != marker)
        .options(selectinload(Project.milestones))
        .order_by(Project.id)
    )
    seen: dict[str, list[int]] = {}
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
        for key, scope in [
            ("a", Scope.member(world.owner_a.id, {world.org_a.id})),
            ("b", Scope.member(world.owner_b.id, {world.org_b.id})),
            ("both", Scope.member(world.owner_a.id, {world.org_a.id, world.org_b.id})),
        ]:
            async with make_sessionmaker(engine)() as session:
                set_scope(session, scope)
                rows = (await session.scalars(statement)).all()
                seen[key] = [p.id for p in rows]
                # the selectin load of milestones carries the criteria and gets the scope's ids too
                assert {m.org_id for p in rows for m in p.milestones} <= scope.org_ids
                assert all(p.milestones for p in rows)
    assert seen == {"a": [a.id], "b": [b.id], "both": [a.id, b.id]}
    # SQLAlchemy logs "[generated in ...]" when it compiles a statement and "[cached since ...]" when it reuses
    # one; the probe's statement compiles at most once, whichever organizations ask
    probes = [
        r.getMessage()
        for r in caplog.records
        if "[generated in" in r.getMessage() or "[cached since" in r.getMessage()
    ]
    assert probes, "SQLAlchemy logged no statements"
    first_selects = [m for m in probes if marker in m]
    assert len(first_selects) == 3
    assert sum("[generated in" in m for m in first_selects) <= 1


async def test_milestones_of_another_org_stay_hidden_in_a_join(engine: AsyncEngine, world: World) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "A"}
            )
            await projects.create_project(
                session, actor=world.owner_b, org_id=world.org_b.id, data={"name": "B"}
            )
    for org in (world.org_a, world.org_b):
        async with make_sessionmaker(engine)() as session:
            set_scope(session, Scope.member(world.owner_a.id, {org.id}))
            orgs = set((await session.scalars(select(Milestone.org_id).join(Project))).all())
            assert orgs == {org.id}


async def test_a_statement_built_once_has_its_cache_key_computed_once_in_a_scope(
    engine: AsyncEngine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The criteria are added once per statement (and dialect), not on every execution: SQLAlchemy memoizes a
    statement's cache key per object, and a new scoped copy per execution computed it again each time."""
    from sqlalchemy.sql import cache_key

    marker = "tenancy-key-probe"
    statement = select(Project).where(Project.name != literal_column(f"'{marker}'"))
    computed: list[object] = []
    generate = cache_key.HasCacheKey._generate_cache_key

    def counted(self: cache_key.HasCacheKey) -> object:
        if isinstance(self, Select) and marker in str(self.whereclause):
            computed.append(self)
        return generate(self)

    monkeypatch.setattr(cache_key.HasCacheKey, "_generate_cache_key", counted)
    for scope in (
        Scope.member(world.owner_a.id, {world.org_a.id}),
        Scope.member(world.owner_b.id, {world.org_b.id}),
        Scope.member(world.owner_a.id, {world.org_a.id}),
    ):
        async with make_sessionmaker(engine)() as session:
            set_scope(session, scope)
            await session.scalars(statement)
    assert len(computed) == 1
