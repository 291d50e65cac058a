"""The coordinator board and "my work" a page at a time, with the open conditions of their milestones as sticky
notes (backoffice.board_queries), through HTTP as a signed-in coordinator, on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice import board_queries
from makeready.conditions.service import raise_condition
from makeready.projects.models import Phase
from makeready.workflow.escalation import AT_RISK, LATE
from portal import projects_pages
from tests.conftest import World, login
from tests.test_backoffice_forms import people_of
from tests.test_board import TODAY, card, column, grow
from tests.test_query_counts import Page, check_baseline, count_statements
from tests.workflow_support import People, make_milestone, make_project, system

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(board_queries, "PAGE_SIZE", 3)
    return 3


def cards(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="board-card[^"]*" data-project="(\d+)"', html)]


async def test_the_board_shows_one_page_and_links_to_the_next(
    client: Client, engine: AsyncEngine, world: World, people: People, small_pages: int
) -> None:
    # 20 projects, 5 per phase; people.coordinator has 14 of them (n % 3 != 0), people.coordinator2 the rest
    await grow(engine, people, 20, first=1)
    await login(client, world.coordinator.email)

    everyone = (await client.get("/coordinator/board?coordinator=all")).text
    assert "20 active projects" in everyone
    assert "Page 1 of 2" in everyone
    for phase in ("feasibility", "development", "production", "on_hold"):
        assert len(column(everyone, phase)) == small_pages
        part = everyone.split(f'data-phase="{phase}"', 1)[1].split("</h2>", 1)[0]
        assert '<span class="muted">5</span>' in part  # the column's count, not the page's
    assert 'rel="next" href="/coordinator/board?coordinator=all&amp;page=2"' in everyone
    assert 'rel="prev"' not in everyone

    with count_statements(engine) as first_page:
        await client.get("/coordinator/board?coordinator=all")
    with count_statements(engine) as second_page:
        following = (await client.get("/coordinator/board?coordinator=all&page=2")).text
    assert len(first_page) == len(second_page)
    assert "Page 2 of 2" in following
    assert 'rel="prev" href="/coordinator/board?coordinator=all"' in following
    assert 'rel="next"' not in following
    # page 2 continues page 1: together every project once, each column in urgency order across the pages
    assert len(cards(following)) == 20 - 4 * small_pages
    assert not set(cards(following)) & set(cards(everyone))

    # by default, the caller's own projects; a page past the last shows the last
    mine = (await client.get("/coordinator/board")).text
    assert "14 active projects" in mine
    assert f'<option value="{world.coordinator.id}" selected>' in mine
    last = (await client.get("/coordinator/board?coordinator=all&page=999999")).text
    assert cards(last) == cards(following)
    assert (await client.get("/coordinator/board?page=x")).status_code == 400


async def test_columns_keep_their_urgency_order_across_pages(
    client: Client, engine: AsyncEngine, world: World, people: People, small_pages: int
) -> None:
    made = []
    for n, offset in enumerate((30, -4, 2, 10, -1, None)):
        project = await make_project(engine, people, phase=Phase.development, name=f"P{n}")
        if offset is not None:
            await make_milestone(
                engine, project, owner_id=world.coordinator.id, due_date=TODAY + timedelta(offset)
            )
        made.append(project)
    await login(client, world.coordinator.email)
    one = column((await client.get("/coordinator/board")).text, "development")
    two = column((await client.get("/coordinator/board?page=2")).text, "development")
    # late (most overdue first), at risk, then by due date, nothing open last
    assert one + two == [made[i].id for i in (1, 4, 2, 3, 0, 5)]


async def test_sticky_notes_on_the_board_and_in_my_work(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development, name="Noted")
    late = await make_milestone(
        engine, project, title="First sample", owner_id=world.coordinator.id, due_date=TODAY - timedelta(2)
    )
    risky = await make_milestone(
        engine,
        project,
        title="Supplier selection",
        owner_id=people.coordinator2.id,
        due_date=TODAY,
        position=1,
    )
    async with system(engine) as session:
        await raise_condition(
            session,
            kind=LATE,
            subject_id=late.id,
            org_id=project.org_id,
            project_id=project.id,
            owner_id=world.coordinator.id,
        )
        await raise_condition(
            session,
            kind=AT_RISK,
            subject_id=risky.id,
            org_id=project.org_id,
            project_id=project.id,
            owner_id=people.coordinator2.id,
        )
    await login(client, world.coordinator.email)

    html = card((await client.get("/coordinator/board")).text, project.id)
    notes = re.findall(r'<p class="sticky[^"]*" data-note="(\d+)">([^<]*)</p>', html)
    assert [int(i) for i, _text in notes] == [late.id, risky.id]
    assert notes[0][1].startswith("Late · Chen Coordinator · since ")
    assert notes[1][1].startswith("At risk · Wang Coordinator · since ")

    work = (await client.get("/coordinator/work")).text
    row = work.split(f'data-milestone="{late.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Late · Chen Coordinator · since " in row
    assert f'data-note="{risky.id}"' not in work  # not my milestone

    zh = (await client.get("/coordinator/board", headers={"Accept-Language": "zh-CN"})).text
    assert "已逾期 · Chen Coordinator" in card(zh, project.id)


async def test_my_work_is_paged(
    client: Client, engine: AsyncEngine, world: World, people: People, small_pages: int
) -> None:
    await grow(engine, people, 8, first=1)  # 3 milestones each, one owned by people.coordinator
    await login(client, world.coordinator.email)
    first = (await client.get("/coordinator/work")).text
    ids = [int(i) for i in re.findall(r'data-milestone="(\d+)"', first)]
    assert len(ids) == small_pages
    assert '<span class="muted">8</span>' in first.split('id="milestones"', 1)[1]  # the total, not the page
    assert "Page 1 of 3" in first
    link = f'rel="next" href="/coordinator/work?user={world.coordinator.id}&amp;page=2"'
    assert link in first
    with count_statements(engine) as one:
        await client.get(f"/coordinator/work?page=1&user={world.coordinator.id}")
    with count_statements(engine) as three:
        last = (await client.get(f"/coordinator/work?page=3&user={world.coordinator.id}")).text
    assert len(one) == len(three)
    rest = [int(i) for i in re.findall(r'data-milestone="(\d+)"', last)]
    assert len(rest) == 8 - 2 * small_pages
    assert not set(rest) & set(ids)


@pytest.mark.parametrize(
    "page",
    [
        Page("GET /coordinator/board?coordinator=all&page=2", "/coordinator/board?coordinator=all&page=2"),
        Page("GET /coordinator/work?page=2", "/coordinator/work?page=2"),
    ],
    ids=["board", "work"],
)
async def test_statements_of_a_later_page_do_not_grow_with_the_agency(
    client: Client,
    engine: AsyncEngine,
    world: World,
    people: People,
    page: Page,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(board_queries, "PAGE_SIZE", 5)
    await login(client, world.coordinator.email)
    await grow(engine, people, 24, first=1)  # 6 per column, 16 milestones of people.coordinator: a page 2
    await client.get(page.path)  # the first connection of a backend may run the dialect's own setup queries
    with count_statements(engine) as small:
        assert "Page 2 of" in (await client.get(page.path)).text
    await grow(engine, people, 56, first=25)
    with count_statements(engine) as large:
        response = await client.get(page.path)
    assert "Page 2 of" in response.text
    assert len(small) == len(large), "\n".join(large)
    check_baseline(page, engine.dialect.name, large)


async def test_counts_stop_at_what_the_pages_can_show(
    client: Client,
    engine: AsyncEngine,
    world: World,
    people: People,
    small_pages: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "My work" and the dashboard count their rows only up to the rows their pages can show (capped_count):
    past it they say "5+" or "or more", and a page past the last shown answers the last one."""
    await grow(engine, people, 8, first=1)  # 8 projects, 8 open milestones owned by people.coordinator
    monkeypatch.setattr(board_queries, "COUNT_CAP", 5)
    await login(client, world.coordinator.email)
    work = (await client.get("/coordinator/work")).text
    assert '<span class="muted">5+</span>' in work.split('id="milestones"', 1)[1]
    assert "Page 1 of 2" in work  # 5 counted, 3 a page
    monkeypatch.setattr(board_queries, "COUNT_CAP", 8)
    work = (await client.get("/coordinator/work")).text
    assert (
        '<span class="muted">8</span>' in work.split('id="milestones"', 1)[1]
    )  # the cap reached, not passed
    assert "Page 1 of 3" in work

    monkeypatch.setattr(projects_pages, "PAGE_SIZE", 2)
    monkeypatch.setattr(projects_pages, "MAX_DASHBOARD_PAGES", 2)  # counts up to 4 projects, of 8 or more
    dashboard = (await client.get("/")).text
    assert "Page 1 of 2 or more" in dashboard
    deep = (await client.get("/?page=40")).text
    assert "Page 2 of 2 or more" in deep
    assert len(re.findall(r'href="/coordinator/projects/\d+"|href="/projects/\d+"', deep)) >= 2
    monkeypatch.setattr(projects_pages, "MAX_DASHBOARD_PAGES", 100)
    assert "or more" not in (await client.get("/")).text
