"""SQL statements per request: constant as an organization grows, and equal to a stored baseline.

Each page is requested for an organization of 3 projects and again after it grew to 60 projects with more
milestones per project. The number of statements must not change (a query per row is an N+1), and it must equal
the figure in tests/query_baselines.json, so a new query shows up as a failing test. When the change is intended,
rewrite the baseline with

    UPDATE_QUERY_BASELINES=1 .venv/bin/pytest tests/test_query_counts.py

(with TEST_DATABASE_URL set too, so the PostgreSQL figure is refreshed) and commit the JSON file with the change.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from tests.conftest import BuiltState, World, login

BASELINES = Path(__file__).with_name("query_baselines.json")
UPDATE = os.environ.get("UPDATE_QUERY_BASELINES") == "1"
HOW_TO_UPDATE = (
    "UPDATE_QUERY_BASELINES=1 .venv/bin/pytest tests/test_query_counts.py  "
    "(with TEST_DATABASE_URL set too, for the postgresql figure)"
)

SMALL, LARGE = 3, 60


@dataclass(frozen=True)
class Page:
    key: str
    """Its name in query_baselines.json."""
    path: str
    """The path, `{project}` standing for the newest project's id."""


PAGES = [
    Page("GET / (dashboard)", "/"),
    Page("GET /api/v1/projects", "/api/v1/projects"),
    Page("GET /projects/{id} (project page)", "/projects/{project}"),
]


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs (the app shares the test's engine)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def grow(
    engine: AsyncEngine, world: World, count: int, *, extra_milestones: int, first: int = 1
) -> list[int]:
    """Add `count` projects to org A through the service, with a coordinator, milestone owners and a mix of
    done milestones (some projects have none left open), plus `extra_milestones` more milestones each."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            ids = []
            for n in range(first, first + count):
                project = await projects.create_project(
                    session,
                    actor=world.owner_a,
                    org_id=world.org_a.id,
                    data={"name": f"Lamp {n:03}", "target_unit_price": f"{10 + n}.50"},
                )
                ids.append(project.id)
            standard = len(projects.STANDARD_MILESTONES)
            session.add_all(
                Milestone(
                    org_id=world.org_a.id,
                    project_id=project_id,
                    phase=Phase.production,
                    title=f"Check-in {k}",
                    position=standard + k,
                    owner_id=world.member_a.id,
                )
                for project_id in ids
                for k in range(extra_milestones)
            )
            await session.flush()
            await session.execute(
                update(Project).where(Project.id.in_(ids)).values(coordinator_id=world.coordinator.id)
            )
            await session.execute(
                update(Milestone)
                .where(Milestone.project_id.in_(ids), Milestone.position % 2 == 1)
                .values(owner_id=world.member_a.id)
            )
            for i, project_id in enumerate(ids):
                await session.execute(
                    update(Milestone)
                    .where(Milestone.project_id == project_id, Milestone.position < i % (standard + 2))
                    .values(status=MilestoneStatus.done)
                )
    return ids


async def statements_for(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, page: Page, project_id: int
) -> list[str]:
    path = page.path.format(project=project_id)
    with count_statements(engine) as statements:
        response = await client.get(path)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
    return statements


def _numbered(statements: list[str]) -> str:
    return "\n".join(f"  {i}. {s[:240]}" for i, s in enumerate(statements, 1))


def _record_baseline(page: Page, dialect: str, counted: int) -> None:
    """Write one count into the JSON file, read and rewritten under an exclusive lock: test processes running side
    by side (xdist workers) each record their own pages without losing the others'."""
    BASELINES.touch()
    with BASELINES.open("r+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        text = file.read()
        data: dict[str, Any] = json.loads(text) if text else {}
        data.setdefault(page.key, {})[dialect] = counted
        file.seek(0)
        file.truncate()
        file.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_baseline(page: Page, dialect: str, statements: list[str]) -> None:
    counted = len(statements)
    if UPDATE:
        _record_baseline(page, dialect, counted)
        return
    data: dict[str, Any] = json.loads(BASELINES.read_text()) if BASELINES.exists() else {}
    expected = data.get(page.key, {}).get(dialect)
    assert expected is not None, (
        f"{page.key} has no {dialect} baseline in {BASELINES.name}; record it with {HOW_TO_UPDATE}"
    )
    assert counted == expected, (
        f"{page.key} ran {counted} SQL statements on {dialect}; the baseline in tests/{BASELINES.name} is "
        f"{expected}. If the change is intended, update the baseline with\n    {HOW_TO_UPDATE}\n"
        f"and commit the JSON file with your change; if not, find the statement that appeared or went away:\n"
        f"{_numbered(statements)}"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.key.split(" (")[0])
async def test_statements_per_request_do_not_grow_with_the_organization(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, page: Page, built_state: BuiltState
) -> None:
    await login(client, world.owner_a.email)

    # the same two organizations for every page: built through the services by the first page's test, restored
    # (rows as they were built) for the others
    async def grow_small() -> list[int]:
        return await grow(engine, world, SMALL, extra_milestones=0)

    small = await built_state("org of 3 projects", grow_small)
    await client.get("/")  # the first connection of a backend may run the dialect's own setup queries
    at_small = await statements_for(client, engine, page, small[-1])

    async def grow_large() -> list[int]:
        await built_state("org of 3 projects", grow_small)  # grown from the 3, not from what the pages wrote
        return await grow(engine, world, LARGE - SMALL, extra_milestones=4, first=SMALL + 1)

    large = await built_state("org of 60 projects", grow_large)
    at_large = await statements_for(client, engine, page, large[-1])

    assert len(at_small) == len(at_large), (
        f"{page.key} ran {len(at_small)} SQL statements with {SMALL} projects but {len(at_large)} with {LARGE} "
        f"(and more milestones): a query runs per row. Load related rows for the whole page at once "
        f"(selectinload) instead. Statements with {LARGE} projects:\n{_numbered(at_large)}"
    )
    check_baseline(page, engine.dialect.name, at_large)


async def test_dashboard_and_api_show_the_grown_organization(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    """The counted pages answer with the data they are counted for: newest first, the next open milestone."""
    ids = await grow(engine, world, LARGE, extra_milestones=4)
    await login(client, world.owner_a.email)

    api = (await client.get("/api/v1/projects")).json()
    assert api["total"] == LARGE
    assert [item["id"] for item in api["items"]] == sorted(ids, reverse=True)[:50]

    dashboard = (await client.get("/")).text
    newest = api["items"][0]["name"]
    assert newest in dashboard
    assert "Page 1 of 3" in dashboard
    # the newest project (index 59) has its first 59 % 10 = 9 milestones done: the 10th, "Check-in 1", is next
    row = dashboard.split(f">{newest}</a>", 1)[1].split("</tr>", 1)[0]
    assert "Check-in 1" in row


PRODUCTION_PAGES = [
    Page("GET /coordinator/production/board", "/coordinator/production/board?coordinator=all"),
    Page("GET /coordinator/production/schedule", "/coordinator/production/schedule?coordinator=all"),
]


@pytest.mark.parametrize("page", PRODUCTION_PAGES, ids=["production board", "production schedule"])
async def test_production_pages_read_a_constant_number_of_statements(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, page: Page, built_state: BuiltState
) -> None:
    """The board and the schedule with 4 orders of 5 lots, then with 60 orders of 5 lots: same statements."""
    from tests.production_seed import seed_production

    async def seed(orders: int, first: int) -> None:
        async with make_sessionmaker(engine)() as session:
            set_scope(session, Scope.system())
            async with session.begin():
                await seed_production(
                    session,
                    org_ids=[world.org_a.id, world.org_b.id],
                    coordinator_id=world.coordinator.id,
                    orders=orders,
                    lots_per_order=5,
                    factories=3,
                    first=first,
                )

    async def seed_large() -> None:
        await built_state("4 orders", lambda: seed(4, 1))  # grown from the 4, not from what the pages wrote
        await seed(56, 100)

    await login(client, world.coordinator.email)
    await built_state(
        "4 orders", lambda: seed(4, 1)
    )  # built by the first page's test, restored for the other
    await client.get(page.path)  # the first connection of a backend may run the dialect's own setup queries
    with count_statements(engine) as small:
        assert (await client.get(page.path)).status_code == 200
    await built_state("60 orders", seed_large)
    with count_statements(engine) as large:
        response = await client.get(page.path)
    assert response.status_code == 200
    assert len(small) == len(large), (
        f"{page.key} ran {len(small)} SQL statements with 4 orders but {len(large)} with 60: a query runs per row."
        f"\n{_numbered(large)}"
    )
    check_baseline(page, engine.dialect.name, large)
