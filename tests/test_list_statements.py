"""Per-request CPU of the lists: their statements are built from SQL expressions made once, and their counts stay
inside the caller's organizations (the count no longer wraps the query in a subquery, so the tenancy criteria must
still reach it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.workflow import overview
from tests.conftest import World


async def test_project_list_counts_only_the_callers_organizations(engine: AsyncEngine, world: World) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            for n in range(3):
                await projects.create_project(
                    session, actor=world.owner_a, org_id=world.org_a.id, data={"name": f"A{n}"}
                )
            await projects.create_project(
                session, actor=world.owner_b, org_id=world.org_b.id, data={"name": "B"}
            )
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        everyone_rows, everyone = await projects.list_projects(session)
    for user, org, expected in ((world.owner_a, world.org_a, 3), (world.owner_b, world.org_b, 1)):
        async with make_sessionmaker(engine)() as session:
            set_scope(session, Scope.member(user.id, {org.id}))
            rows, total = await projects.list_projects(session, limit=2)
            assert total == expected
            assert len(rows) == min(2, expected)
            assert {p.org_id for p in rows} == {org.id}
            assert all(len(p.milestones) <= 1 for p in rows)  # only the next open milestone is loaded
            dash, dash_total, _waiting = await overview.dashboard(session)
            assert dash_total == expected
            assert {r.project.org_id for r in dash} == {org.id}
    assert everyone >= 4
    assert len(everyone_rows) == everyone
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        # the totals ride with the rows; past the last row they are counted on their own
        for offset, shown in ((0, 2), (2, 1), (3, 0), (50, 0)):
            rows, total = await projects.list_projects(session, offset=offset, limit=2, with_plan=False)
            assert (len(rows), total) == (shown, 3), offset
            dash, dash_total, waiting = await overview.dashboard(session, offset=offset, limit=2)
            assert (len(dash), dash_total, waiting) == (shown, 3, 0), offset
            assert all(len(r.project.milestones) <= 1 for r in dash)  # the next open milestone only
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.viewer_a.id, set()))
        assert await projects.list_projects(session, offset=0) == ([], 0)


def test_list_expressions_are_built_once() -> None:
    """An `aliased()` or correlated subquery built per request cost about a millisecond of CPU each time."""
    assert projects._is_next_open_milestone() is projects._is_next_open_milestone()


def test_the_boards_grading_is_built_once_per_filters_and_day() -> None:
    from datetime import date

    from backoffice import board_queries

    day = date(2026, 3, 4)
    mine = board_queries.Filters(coordinator=7)
    graded = board_queries._urgency_of_projects(mine, day)
    assert board_queries._urgency_of_projects(board_queries.Filters(coordinator=7), day) is graded
    phases = board_queries.BOARD_PHASES
    assert board_queries._page_of(graded, phases) is board_queries._page_of(graded, phases)
    for dialect in ("sqlite", "postgresql"):  # the cards' statement, per dialect (ids in an array or an IN)
        assert board_queries._cards(day, dialect) is board_queries._cards(day, dialect)
    assert board_queries._cards(day, "sqlite") is not board_queries._cards(day, "postgresql")
    # another day, other filters or one column grade differently
    assert board_queries._urgency_of_projects(mine, date(2026, 3, 5)) is not graded
    assert board_queries._urgency_of_projects(board_queries.Filters(coordinator=8), day) is not graded
    one_column = board_queries.Filters(coordinator=7, phase=board_queries.Phase.production)
    assert board_queries._urgency_of_projects(one_column, day) is not graded
