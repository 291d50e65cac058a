"""The coordinator pages (backoffice.board): the board, my work and the coordinator project page, on both databases.

Everything goes through HTTP as a signed-in coordinator (portal session or back-office session), with the portal's
CSRF token on every form. Health is judged on `board.today()`, so dates here are relative to it.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice import board, board_queries
from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeStatus
from makeready.db.types import utcnow
from makeready.projects.milestones import Health
from makeready.projects.models import (
    Attachment,
    Milestone,
    MilestoneStatus,
    Phase,
    Project,
    Question,
    Task,
    TaskStatus,
)
from makeready.samples.lifecycle import decide_sample_round
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.settings import StorageSettings
from makeready.storage import reset_storage, set_storage
from makeready.storage.local import LocalStorage
from makeready.suppliers.models import Quote, Supplier
from makeready.workflow import waiting_flags
from makeready.workflow.waiting import Party, waiting_on
from tests.conftest import World, csrf, login
from tests.test_backoffice_forms import people_of, sign_in
from tests.test_query_counts import Page, check_baseline, count_statements
from tests.workflow_support import (
    People,
    make_attachment,
    make_change,
    make_milestone,
    make_project,
    make_round,
    make_task,
    reload,
    session_as,
    system,
)

Client = AsyncTestClient[Litestar]
TODAY = board.today()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalStorage]:
    storage = LocalStorage(
        StorageSettings().model_copy(update={"media_root": tmp_path / "media"}),
        secret_key="board-test-secret-0123456789abcdef0123",
    )
    set_storage(storage)
    yield storage
    reset_storage()


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def column(html: str, phase: str) -> list[int]:
    """The project ids of one board column, top to bottom."""
    part = html.split(f'<section class="column" data-phase="{phase}"', 1)[1].split("</section>", 1)[0]
    return [int(i) for i in re.findall(r'<article class="board-card[^"]*" data-project="(\d+)"', part)]


def card(html: str, project_id: int) -> str:
    return html.split(f'data-project="{project_id}">', 1)[1].split("</article>", 1)[0]


def form(client: Client, **values: Any) -> dict[str, Any]:
    return {"_csrf_token": csrf(client), **values}


async def post(client: Client, path: str, **values: Any) -> httpx.Response:
    return await client.post(path, data=form(client, **values), follow_redirects=False)


async def audit(engine: AsyncEngine, action: str) -> list[AuditEvent]:
    async with system(engine) as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return list(rows.all())


# -- who may come in -----------------------------------------------------------------------------------------------


def coordinator_routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/coordinator"):
            found += [(m, route.path) for m in sorted(route.methods - {"OPTIONS", "HEAD"})]
    return found


async def test_only_coordinators_reach_the_coordinator_pages(
    app: Litestar, client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    routes = coordinator_routes(app)
    mine = {path for _m, path in routes}
    assert {"/coordinator/board", "/coordinator/work", "/coordinator/projects/{project_id:int}"} <= mine

    def url(path: str) -> str:
        return re.sub(r"\{\w+(?::\w+)?\}", str(project.id), path)

    await client.get("/login")
    response = await client.get("/coordinator/board", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/coordinator/board"

    await login(client, world.owner_a.email)  # org A's own owner: still not agency staff
    for method, path in routes:
        if method == "GET":
            response = await client.get(url(path), follow_redirects=False)
        else:
            response = await client.request(method, url(path), data=form(client, action="hold", reason="x"))
        assert response.status_code == 403, (method, path, response.status_code)
        assert project.name not in response.text
    assert (await reload(engine, Project, project.id)).phase == Phase.development

    await login(client, world.coordinator.email)
    for path in ("/coordinator/board", "/coordinator/work", f"/coordinator/projects/{project.id}"):
        assert (await client.get(path)).status_code == 200, path


async def test_a_back_office_session_opens_the_coordinator_pages(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development, name="Signed in at /admin")
    await sign_in(client, engine, world.coordinator)  # piccolo-admin's session only, no portal login
    response = await client.get("/coordinator/board")
    assert response.status_code == 200
    assert "Signed in at /admin" in response.text
    assert client.cookies.get("mr_session")  # a portal session now too: every coordinator page knows them
    client.cookies.delete("id")
    assert (await client.get(f"/coordinator/projects/{project.id}/feasibility")).status_code == 200

    # a brand user's (or an expired) back-office session opens nothing
    await sign_in(client, engine, world.owner_a)
    assert (await client.get("/coordinator/board", follow_redirects=False)).status_code == 303
    client.cookies = httpx.Cookies({"id": "not-a-session"})
    assert (await client.get("/coordinator/board", follow_redirects=False)).status_code == 303


# -- the board -----------------------------------------------------------------------------------------------------


async def test_pages_follow_the_cards_order_from_the_stored_schedule(
    engine: AsyncEngine, world: World, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board picks a page's cards in SQL from each project's stored schedule (waiting_flags) and orders them
    on the page by their next milestone (`_next_steps`): page after page, the two agree, in every health, including a
    project both late and at risk (it sorts by its late milestone) and one whose milestones are all done."""
    monkeypatch.setattr(board_queries, "PAGE_SIZE", 2)
    plans: dict[str, list[dict[str, Any]]] = {
        "Late and at risk": [{"due_date": day(-8)}, {"due_date": day(0), "title": "Soon"}],
        "Very late": [{"due_date": day(-6), "status": MilestoneStatus.in_progress}],
        "Late": [{"due_date": day(-3)}],
        "At risk": [{"due_date": day(2)}, {"due_date": day(-4), "status": MilestoneStatus.done}],
        "Started, due soon": [{"due_date": day(1), "status": MilestoneStatus.in_progress}],
        "On track": [{"due_date": day(30)}],
        "All done": [{"due_date": day(-9), "status": MilestoneStatus.done}],
        "Nothing": [],
    }
    projects = {}
    for name, milestones in plans.items():
        projects[name] = await make_project(engine, people, phase=Phase.development, name=name)
        for position, milestone in enumerate(milestones):
            await make_milestone(engine, projects[name], position=position, **milestone)
    filters = board_queries.Filters(coordinator=None)
    shown: list[board_queries.Card] = []
    async with system(engine) as session:
        for page in (1, 2, 3, 4):  # 8 cards, 2 a page
            loaded = await board_queries.load_board(session, filters, day=TODAY, page=page)
            column_of = {c.phase: c for c in loaded.columns}[Phase.development]
            assert column_of.total == len(plans)
            shown += column_of.cards
        late = loaded.late
        at_risk = loaded.at_risk
    assert [c.project.name for c in shown] == [
        "Late and at risk",
        "Very late",
        "Late",
        "At risk",
        "Started, due soon",
        "On track",
        "All done",
        "Nothing",
    ]
    assert shown == sorted(shown, key=lambda c: c.sort_key)
    assert [c.health for c in shown[:4]] == [Health.late, Health.late, Health.late, Health.at_risk]
    assert (late, at_risk) == (3, 1)


async def test_board_columns_and_urgency(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    async def project(name: str, phase: Phase = Phase.development, **milestone: Any) -> Project:
        made = await make_project(engine, people, phase=phase, name=name)
        if milestone:
            await make_milestone(engine, made, owner_id=world.coordinator.id, **milestone)
        return made

    later = await project("Later", due_date=day(20))
    idle = await project("Idle")  # no milestones left
    soon = await project("Soon", due_date=day(2), status=MilestoneStatus.in_progress)  # started: not at risk
    risk = await project("Risky", due_date=day(1), title="Supplier selection")
    late = await project("Late", due_date=day(-3), title="First sample")
    await make_milestone(engine, late, due_date=day(-1), title="Spec revision approved", position=1)
    await make_milestone(engine, late, due_date=day(-10), title="Done long ago", status=MilestoneStatus.done)
    also_late = await project("Also late", due_date=day(-1))
    feasibility = await project("Early", Phase.feasibility, due_date=day(5), title="Feasibility review")
    production = await project("Running", Phase.production, due_date=day(9), title="Production run")
    paused = await project("Paused", Phase.on_hold, due_date=day(-5))
    gone = [
        await project("Delivered", Phase.delivered),
        await project("Cancelled", Phase.cancelled, due_date=day(-5)),
        await project("Archived", due_date=day(-5)),
    ]
    async with system(engine) as session:
        await session.execute(update(Project).where(Project.name == "Archived").values(archived_at=utcnow()))

    await login(client, world.coordinator.email)
    html = (await client.get("/coordinator/board")).text
    # late first (the most overdue first), then at risk, then the nearest due date; nothing open last
    assert column(html, "development") == [late.id, also_late.id, risk.id, soon.id, later.id, idle.id]
    assert column(html, "feasibility") == [feasibility.id]
    assert column(html, "production") == [production.id]
    assert column(html, "on_hold") == [paused.id]
    for project_row in gone:
        assert f'data-project="{project_row.id}"' not in html
    assert "9 active projects" in html
    assert "3 late" in html  # Late, Also late, Paused
    assert "1 at risk" in html

    late_card = card(html, late.id)
    assert 'class="badge late">Late<' in late_card
    assert "2 milestones late" in late_card
    assert "First sample" in late_card  # the most overdue open milestone
    assert "Acme Lamps" in late_card
    assert "Chen Coordinator" in late_card
    assert 'class="badge at_risk">At risk<' in card(html, risk.id)
    assert "No open milestones" in card(html, idle.id)

    # the page is in the reader's language; stored names are not translated
    zh = (await client.get("/coordinator/board", headers={"Accept-Language": "zh-CN"})).text
    assert "看板" in zh
    assert "首版样品" in card(zh, late.id)  # "First sample", a standard milestone title
    assert "<dt>客户</dt>" in card(zh, late.id)  # the card's fixed words, translated once for the page
    assert "下一步：" in card(zh, late.id)  # noqa: RUF001  (the catalog's full-width colon)
    assert "<dt>Client</dt>" in card(html, late.id)
    assert "Also late" in zh


async def test_board_filters_stay_in_the_url(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    mine = await make_project(engine, people, phase=Phase.development, name="Mine")
    theirs = await make_project(engine, people, phase=Phase.development, name="Theirs", org="b")
    quoted = await make_project(engine, people, phase=Phase.feasibility, name="Quoted")
    sampled = await make_project(engine, people, phase=Phase.development, name="Sampled")
    async with system(engine) as session:
        await session.execute(
            update(Project).where(Project.id == theirs.id).values(coordinator_id=people.coordinator2.id)
        )
        factory, other = Supplier(name_en="Foshan Bright"), Supplier(name_en="Ningbo Mould")
        session.add_all([factory, other])
        await session.flush()
        await session.execute(update(Project).where(Project.id == mine.id).values(supplier_id=factory.id))
        session.add(
            Quote(org_id=quoted.org_id, project_id=quoted.id, supplier_id=factory.id, price_breaks=[])
        )
        session.add(Quote(org_id=theirs.org_id, project_id=theirs.id, supplier_id=other.id, price_breaks=[]))
    sample, _photos = await make_round(engine, sampled, status=SampleStatus.requested)
    async with system(engine) as session:
        await session.execute(
            update(SampleRound).where(SampleRound.id == sample.id).values(supplier_id=factory.id)
        )
    await login(client, world.coordinator.email)

    def shown(html: str) -> set[int]:
        return {int(i) for i in re.findall(r'<article class="board-card[^"]*" data-project="(\d+)"', html)}

    everything = {mine.id, theirs.id, quoted.id, sampled.id}
    assert shown((await client.get("/coordinator/board?coordinator=all")).text) == everything
    # by default a coordinator sees their own projects
    assert shown((await client.get("/coordinator/board")).text) == everything - {theirs.id}
    html = (await client.get(f"/coordinator/board?coordinator={people.coordinator2.id}")).text
    assert shown(html) == {theirs.id}
    assert f'<option value="{people.coordinator2.id}" selected>' in html
    html = (await client.get(f"/coordinator/board?client={world.org_a.id}")).text
    assert shown(html) == {mine.id, quoted.id, sampled.id}
    assert f'<option value="{world.org_a.id}" selected>Acme Lamps</option>' in html
    # a supplier: chosen for the project, asked for a quote, or making its samples
    html = (await client.get(f"/coordinator/board?supplier={factory.id}")).text
    assert shown(html) == {mine.id, quoted.id, sampled.id}
    assert f'<option value="{factory.id}" selected>Foshan Bright</option>' in html
    html = (
        await client.get(
            f"/coordinator/board?supplier={factory.id}&coordinator={world.coordinator.id}&client={world.org_b.id}"
        )
    ).text
    assert shown(html) == set()
    assert "No projects" in html
    assert (await client.get("/coordinator/board?coordinator=someone")).status_code == 400


async def test_one_column_of_the_board_is_paged_on_its_own(
    client: Client, engine: AsyncEngine, world: World, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?phase=` shows that column only, a page of it at a time, in the order the whole board pages it; each
    column's heading links to it, and its links keep the other filters."""
    monkeypatch.setattr(board_queries, "PAGE_SIZE", 3)
    await grow(engine, people, 40, first=1)  # 10 projects a phase; Lamp n is in phase n % 4 (2: production)
    async with system(engine) as session:
        production = set(
            (
                await session.scalars(
                    select(Project.id).where(Project.phase == Phase.production, Project.name.like("Lamp %"))
                )
            ).all()
        )
        factory = await session.scalar(select(Supplier.id).where(Supplier.name_en == "Factory"))
    assert len(production) == 10
    await login(client, world.coordinator.email)

    everyone = (await client.get("/coordinator/board?coordinator=all")).text
    for phase in ("feasibility", "development", "production", "on_hold"):
        heading = everyone.split(f'data-phase="{phase}"', 1)[1].split("</h2>", 1)[0]
        assert (
            f'<a class="column-link" href="/coordinator/board?coordinator=all&amp;phase={phase}">' in heading
        )
        assert '<span class="muted">10</span>' in heading
    assert 'class="columns-nav"' not in everyone

    whole_board, one_column = [], []
    for page in (1, 2, 3, 4):
        suffix = f"&page={page}" if page > 1 else ""
        whole_board += column(
            (await client.get(f"/coordinator/board?coordinator=all{suffix}")).text, "production"
        )
        html = (await client.get(f"/coordinator/board?coordinator=all&phase=production{suffix}")).text
        assert re.findall(r'<section class="column" data-phase="(\w+)"', html) == ["production"]
        assert f"Page {page} of 4" in html  # 10 cards, 3 a page: the column's pages, not the board's
        assert "10 active projects" in html
        one_column += column(html, "production")
        if page < 4:
            assert len(column(html, "production")) == 3
            following = f"/coordinator/board?coordinator=all&amp;phase=production&amp;page={page + 1}"
            assert f'rel="next" href="{following}"' in html
            assert f'class="more" rel="next" href="{following}">{10 - 3 * page} more</a>' in html
        else:
            assert 'rel="next"' not in html
    assert one_column == whole_board
    assert set(one_column) == production

    # the other filters stay in every link of the one-column view, and in its form
    filtered = f"coordinator={world.coordinator.id}&client={world.org_a.id}&supplier={factory}"
    html = (await client.get(f"/coordinator/board?{filtered}&phase=on_hold")).text
    kept = filtered.replace("&", "&amp;")
    assert f'<a class="all-columns" href="/coordinator/board?{kept}">All columns</a>' in html
    for phase in ("feasibility", "development", "production"):
        assert f'href="/coordinator/board?{kept}&amp;phase={phase}"' in html
    assert '<strong aria-current="page">On hold</strong>' in html
    assert '<input type="hidden" name="phase" value="on_hold">' in html
    assert 'href="/coordinator/board?coordinator=all&amp;phase=on_hold">Show all</a>' in html
    async with system(engine) as session:
        expected = set(
            (
                await session.scalars(
                    select(Project.id).where(
                        Project.phase == Phase.on_hold,
                        Project.org_id == world.org_a.id,
                        Project.coordinator_id == world.coordinator.id,
                        Project.supplier_id == factory,
                    )
                )
            ).all()
        )
    assert expected
    shown = column(html, "on_hold")
    assert len(shown) == min(3, len(expected))
    assert set(shown) <= expected
    whole = (await client.get(f"/coordinator/board?{filtered}")).text
    assert f'<a class="column-link" href="/coordinator/board?{kept}&amp;phase=on_hold">' in whole

    # an empty phase is the whole board; anything but a column of the board is refused, saying which
    assert (
        len(re.findall(r'<section class="column"', (await client.get("/coordinator/board?phase=")).text)) == 4
    )
    for bad in ("delivered", "cancelled", "Production", "x" * 300):
        response = await client.get(f"/coordinator/board?phase={bad}")
        assert response.status_code == 422, bad
        assert "The board has no column" in response.text
        assert "choose one of feasibility, development, production, on_hold." in response.text


async def test_waiting_on_matches_the_workflow(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    """The board's batch summary says what makeready.workflow.waiting_on says, project by project."""
    unreviewed = await make_project(engine, people, name="Unreviewed")
    reviewed = await make_project(engine, people, name="Reviewed", review_complete=True)
    deciding = await make_project(engine, people, phase=Phase.development, name="Deciding")
    await make_round(engine, deciding, status=SampleStatus.rejected, number=1)
    await make_round(engine, deciding, status=SampleStatus.received, number=2)
    busy = await make_project(engine, people, phase=Phase.development, name="Busy")
    await make_round(engine, busy, status=SampleStatus.shipped)
    await make_change(engine, busy, status=ChangeStatus.open, raised_by=world.owner_a)
    await make_change(engine, busy, status=ChangeStatus.open, raised_by=world.owner_a, number=2)
    await make_change(engine, busy, status=ChangeStatus.rejected, raised_by=world.owner_a, number=3)
    await make_task(engine, busy, status=TaskStatus.open, owner=people.coordinator2)
    await make_task(engine, busy, status=TaskStatus.open, owner=None)
    await make_task(engine, busy, status=TaskStatus.done, owner=None)
    async with system(engine) as session:
        for body, answered in (("Which plug?", False), ("Colour?", False), ("Size?", True)):
            session.add(
                Question(
                    org_id=busy.org_id,
                    project_id=busy.id,
                    asked_by_id=world.coordinator.id,
                    body=body,
                    answer="M" if answered else "",
                    answered_at=utcnow() if answered else None,
                )
            )
    projects = [unreviewed, reviewed, deciding, busy]

    async with session_as(engine, people, world.coordinator) as session:
        loaded = await board.load_board(session, board.Filters(), day=TODAY)
        cards = {c.project.id: c for _phase, cs in loaded.columns for c in cs}
        for project in projects:
            items = await waiting_on(session, project_id=project.id, today=TODAY)
            expected: Counter[tuple[bool, str]] = Counter(
                (item.party == Party.brand, item.kind) for item in items if item.kind != "milestone"
            )
            got: Counter[tuple[bool, str]] = Counter()
            for group in cards[project.id].waiting:
                for kind, n in group.kinds.items():
                    got[(group.brand, kind)] += n
            assert got == expected, project.name

    await login(client, world.coordinator.email)
    html = (await client.get("/coordinator/board")).text
    assert "Waiting on the brand: decision on sample round 2" in card(html, deciding.id)
    assert "Waiting on Chen Coordinator: feasibility review" in card(html, unreviewed.id)
    assert "Waiting on the brand: go-ahead for development" in card(html, reviewed.id)
    busy_card = card(html, busy.id)
    assert "Waiting on the brand: 2 questions" in busy_card
    assert "Waiting on Chen Coordinator: sample round 1, 2 change requests, 1 task" in busy_card
    assert "Waiting on Wang Coordinator: 1 task" in busy_card


# -- my work -------------------------------------------------------------------------------------------------------


async def test_my_work_lists_what_i_own_late_first(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    me, other = world.coordinator, people.coordinator2
    lamp = await make_project(engine, people, phase=Phase.development, name="Lamp")
    chair = await make_project(engine, people, phase=Phase.production, name="Chair", coordinator=False)
    shelved = await make_project(engine, people, phase=Phase.cancelled, name="Shelved")
    on_track = await make_milestone(
        engine, lamp, title="Supplier selection", owner_id=me.id, due_date=day(15)
    )
    risky = await make_milestone(engine, chair, title="Final inspection", owner_id=me.id, due_date=day(2))
    late = await make_milestone(engine, lamp, title="First sample", owner_id=me.id, due_date=day(-4))
    await make_milestone(
        engine, lamp, title="Done", owner_id=me.id, status=MilestoneStatus.done, due_date=day(-9)
    )
    await make_milestone(engine, lamp, title="Theirs", owner_id=other.id, due_date=day(-9))
    await make_milestone(
        engine, shelved, title="Cancelled with the project", owner_id=me.id, due_date=day(-9)
    )
    mine = await make_task(engine, chair, status=TaskStatus.open, owner=me)
    unowned = await make_task(engine, lamp, status=TaskStatus.open, owner=None)  # falls to the coordinator
    await make_task(engine, chair, status=TaskStatus.open, owner=None)  # Chair has no coordinator
    await make_task(engine, lamp, status=TaskStatus.done, owner=me)
    await make_task(engine, shelved, status=TaskStatus.open, owner=me)  # the project is cancelled
    async with system(engine) as session:
        await session.execute(update(Task).where(Task.id == mine.id).values(due_date=day(-1)))
        asked = [
            Question(
                org_id=lamp.org_id, project_id=lamp.id, asked_by_id=other.id, body="On my project", answer=""
            ),
            Question(org_id=chair.org_id, project_id=chair.id, asked_by_id=me.id, body="I asked", answer=""),
            Question(
                org_id=chair.org_id,
                project_id=chair.id,
                asked_by_id=me.id,
                body="Answered",
                answer="Yes",
                answered_at=utcnow(),
            ),
            Question(org_id=shelved.org_id, project_id=shelved.id, asked_by_id=me.id, body="Moot", answer=""),
        ]
        session.add_all(asked)
    await login(client, me.email)

    html = (await client.get("/coordinator/work")).text
    assert "<h1>My work</h1>" in html
    assert [int(i) for i in re.findall(r'data-milestone="(\d+)"', html)] == [late.id, risky.id, on_track.id]
    assert [int(i) for i in re.findall(r'data-task="(\d+)"', html)] == [mine.id, unowned.id]
    assert [int(i) for i in re.findall(r'data-question="(\d+)"', html)] == [asked[0].id, asked[1].id]
    assert 'class="badge late">Late<' in html.split(f'data-milestone="{late.id}"', 1)[1].split("</tr>", 1)[0]

    # a lead looks at someone else's work
    html = (await client.get(f"/coordinator/work?user={other.id}")).text
    assert "Work of Wang Coordinator" in html
    assert [int(i) for i in re.findall(r'data-milestone="(\d+)"', html)] != []
    assert [int(i) for i in re.findall(r'data-question="(\d+)"', html)] == [asked[0].id]  # they asked it
    assert (await client.get(f"/coordinator/work?user={world.owner_a.id}")).status_code == 404
    assert (await client.get("/coordinator/work?user=me")).status_code == 400


# -- statements per request ----------------------------------------------------------------------------------------


async def grow(engine: AsyncEngine, people: People, count: int, *, first: int) -> None:
    """`count` more projects with everything the board and my work read: milestones in every health, rounds,
    questions, change requests and tasks, spread over two coordinators, two clients and two suppliers."""
    async with system(engine) as session:
        factory = await session.scalar(select(Supplier).where(Supplier.name_en == "Factory"))
        if factory is None:
            factory = Supplier(name_en="Factory")
            session.add(factory)
            await session.flush()
        for n in range(first, first + count):
            phase = (Phase.feasibility, Phase.development, Phase.production, Phase.on_hold)[n % 4]
            coordinator = people.coordinator if n % 3 else people.coordinator2
            project = Project(
                org_id=(people.org_a if n % 2 else people.org_b).id,
                name=f"Lamp {n:03}",
                phase=phase,
                coordinator_id=coordinator.id,
                supplier_id=factory.id if n % 2 else None,
            )
            session.add(project)
            await session.flush()
            for k, offset in enumerate((-2, 1, 10)):
                session.add(
                    Milestone(
                        org_id=project.org_id,
                        project_id=project.id,
                        phase=phase,
                        title=f"Step {k}",
                        position=k,
                        owner_id=(people.coordinator if k % 2 else people.member_a).id,
                        due_date=TODAY + timedelta(days=offset + n % 5),
                    )
                )
            session.add(
                SampleRound(
                    org_id=project.org_id,
                    project_id=project.id,
                    number=1,
                    status=SampleStatus.received if n % 2 else SampleStatus.requested,
                    supplier_id=factory.id,
                    pinned_photo_ids=[],
                )
            )
            session.add(
                Question(
                    org_id=project.org_id,
                    project_id=project.id,
                    asked_by_id=coordinator.id,
                    body="?",
                    answer="",
                )
            )
            session.add(
                Task(
                    org_id=project.org_id, project_id=project.id, kind="k", title="t", owner_id=coordinator.id
                )
            )
            await session.flush()
            await waiting_flags.refresh(session, [project.id])  # written without the services' events


@pytest.mark.parametrize(
    "page",
    [
        Page("GET /coordinator/board", "/coordinator/board"),
        Page("GET /coordinator/board?phase=production", "/coordinator/board?phase=production"),
        Page("GET /coordinator/work", "/coordinator/work"),
    ],
    ids=["board", "board1", "work"],
)
async def test_statements_per_request_do_not_grow_with_the_board(
    client: Client, engine: AsyncEngine, world: World, people: People, page: Page
) -> None:
    await login(client, world.coordinator.email)
    await grow(engine, people, 3, first=1)
    await client.get(page.path)  # the first connection of a backend may run the dialect's own setup queries
    with count_statements(engine) as small:
        assert (await client.get(page.path)).status_code == 200
    await grow(engine, people, 37, first=4)
    with count_statements(engine) as large:
        response = await client.get(page.path)
    assert response.status_code == 200
    # the newest project on the page (Lamp n is in phase n % 4: 40 feasibility, 38 production)
    newest = {"/coordinator/board": "Lamp 040", "/coordinator/board?phase=production": "Lamp 038"}
    assert newest.get(page.path, "") in response.text
    assert len(small) == len(large), "\n".join(large)
    check_baseline(page, engine.dialect.name, large)


# -- the project page ----------------------------------------------------------------------------------------------


async def test_project_page_shows_the_gate_and_links(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, name="Halo Sconce")
    await login(client, world.coordinator.email)
    html = (await client.get(f"/coordinator/projects/{project.id}")).text
    assert 'data-phase="feasibility"' in html
    assert "The feasibility review is not complete." in html
    assert "The brand has not given the go-ahead for development." in html
    assert f'href="/coordinator/projects/{project.id}/feasibility"' in html
    assert f'href="/coordinator/projects/{project.id}/quotes"' in html
    assert "Complete the feasibility review." in html  # waiting on
    assert (await client.get("/coordinator/projects/987654")).status_code == 404

    # photos stored before thumbnails were made at upload are shown through the portal's photo route
    developing = await make_project(engine, people, phase=Phase.development, name="Older photos")
    _sample, [photo] = await make_round(engine, developing, status=SampleStatus.received, photos=1)
    html = (await client.get(f"/coordinator/projects/{developing.id}")).text
    assert f'src="/samples/photos/{photo.id}/thumbnail"' in html


async def test_project_page_moves_milestones_and_advances_through_the_gate(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.production)
    milestone = await make_milestone(engine, project, phase=Phase.production, title="Final inspection")
    await login(client, world.coordinator.email)
    base = f"/coordinator/projects/{project.id}"

    refused = await post(
        client, f"{base}/phase", action="advance", to_phase="delivered", reason="Go", version=1
    )
    assert refused.status_code == 409
    assert "These production milestones are not done: Final inspection." in refused.text
    assert "Go</textarea>" not in refused.text  # a conflict shows the current state, not the attempt
    assert (await reload(engine, Project, project.id)).phase == Phase.production

    response = await post(
        client, f"{base}/milestone", milestone_id=milestone.id, action="complete", version=1
    )
    assert response.status_code == 409
    assert (
        "Only a milestone in progress can be completed; this one is Planned. Start it first." in response.text
    )
    for step, version in (("start", 1), ("complete", 2)):
        response = await post(
            client, f"{base}/milestone", milestone_id=milestone.id, action=step, version=version
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"{base}?done=milestone#milestone-{milestone.id}"
    assert (await reload(engine, Milestone, milestone.id)).status == MilestoneStatus.done

    response = await post(
        client, f"{base}/phase", action="advance", to_phase="delivered", reason="Shipped", version=1
    )
    assert response.status_code == 303
    page = (await client.get(response.headers["location"])).text
    assert "The project moved to its next phase." in page
    assert 'data-phase="delivered"' in page
    [event] = await audit(engine, "project.phase_changed")
    assert (event.actor_id, event.reason, event.after["phase"]) == (
        world.coordinator.id,
        "Shipped",
        "delivered",
    )


async def test_a_stale_page_gets_a_conflict_and_overwrites_nothing(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project, title="First sample", due_date=day(10))
    base = f"/coordinator/projects/{project.id}"
    await login(client, world.coordinator.email)
    first = httpx.Cookies(client.cookies)
    await login(client, people.coordinator2.email)
    second = httpx.Cookies(client.cookies)

    # both looked at version 1; the first puts the project on hold and assigns the milestone
    client.cookies = first
    assert (await post(client, f"{base}/phase", action="hold", reason="Budget", version=1)).status_code == 303
    response = await post(
        client,
        f"{base}/milestone",
        milestone_id=milestone.id,
        action="assign",
        owner_id=world.coordinator.id,
        due_date=day(12).isoformat(),
        version=1,
    )
    assert response.status_code == 303
    client.cookies = second
    response = await post(client, f"{base}/phase", action="cancel", reason="Stop", version=1)
    assert response.status_code == 409
    assert (
        "Someone else changed this project while you were looking at it: it is now On hold." in response.text
    )
    response = await post(
        client,
        f"{base}/milestone",
        milestone_id=milestone.id,
        action="assign",
        owner_id=people.coordinator2.id,
        due_date=day(30).isoformat(),
        version=1,
    )
    assert response.status_code == 409
    assert "Someone else changed this milestone while you were looking at it" in response.text
    held = await reload(engine, Project, project.id)
    assigned = await reload(engine, Milestone, milestone.id)
    assert (held.phase, held.held_from) == (Phase.on_hold, Phase.development)
    assert (assigned.owner_id, assigned.due_date) == (world.coordinator.id, day(12))
    assert [e.reason for e in await audit(engine, "project.phase_changed")] == ["Budget"]

    # with the page reloaded (version 2) the second coordinator's resume goes through
    assert (await post(client, f"{base}/phase", action="resume", version=2)).status_code == 303
    assert (await reload(engine, Project, project.id)).phase == Phase.development


async def test_project_page_questions_decisions_changes_and_tasks(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    drawing = await make_attachment(engine, project, "lid-drawing")
    other = await make_project(engine, people, phase=Phase.development, name="Other")
    foreign = await make_attachment(engine, other, "foreign")
    change = await make_change(engine, project, status=ChangeStatus.open, raised_by=world.owner_a)
    task = await make_task(engine, project, status=TaskStatus.open, owner=None)
    base = f"/coordinator/projects/{project.id}"
    await login(client, world.coordinator.email)

    response = await post(client, f"{base}/questions", body="  ")
    assert response.status_code == 422
    assert "Write the question in at most 5000 characters." in response.text
    assert (await post(client, f"{base}/questions", body="Which plug type?")).status_code == 303

    response = await post(client, f"{base}/decisions", text="Brass finish", attachment_id=foreign.id)
    assert response.status_code == 422
    assert "The attached files must belong to this project." in response.text
    assert "Brass finish</textarea>" in response.text  # the attempt is kept to correct it
    response = await client.post(
        f"{base}/decisions",
        data={
            "_csrf_token": csrf(client),
            "text": "Agreed: 0.2 mm on the lid.",
            "attachment_id": [str(drawing.id)],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303

    response = await post(
        client, f"{base}/change", change_id=change.id, decision="approve", note="", version=1
    )
    assert response.status_code == 422
    assert "Write a note that explains the decision" in response.text
    response = await post(
        client, f"{base}/change", change_id=change.id, decision="reject", note="Too costly", version=1
    )
    assert response.status_code == 303
    assert (
        await post(client, f"{base}/task", task_id=task.id, action="complete", version=1)
    ).status_code == 303

    page = (await client.get(f"{base}?done=decision")).text
    assert "The decision was recorded." in page
    assert "Agreed: 0.2 mm on the lid." in page
    assert "lid-drawing.jpg" in page
    assert "Which plug type?" in page
    assert [e.after for e in await audit(engine, "decision.recorded")] == [{"attachment_ids": [drawing.id]}]
    assert len(await audit(engine, "question.asked")) == 1
    assert len(await audit(engine, "change_request.rejected")) == 1
    assert (await reload(engine, Task, task.id)).status == TaskStatus.done
    # another project's record named in a form is refused like a missing one
    response = await post(
        client, f"/coordinator/projects/{other.id}/task", task_id=task.id, action="complete"
    )
    assert response.status_code == 422
    assert "This task does not exist or you do not have access to it." in response.text


# -- sample rounds and their photos --------------------------------------------------------------------------------


def png(size: tuple[int, int], colour: tuple[int, int, int, int] = (200, 40, 40, 128)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, "PNG")
    return out.getvalue()


async def upload(client: Client, project_id: int, name: str, content: bytes) -> str:
    """What the page's script does for one file: instructions from the API, then the POST to storage."""
    started = await client.post(
        f"/api/v1/projects/{project_id}/uploads",
        json={"filename": name, "kind": "image", "size": len(content)},
        headers={"x-csrftoken": csrf(client)},
    )
    assert started.status_code == 200, started.text
    ticket = started.json()
    posted = await client.post(
        ticket["url"], data=ticket["fields"], files={ticket["file_field"]: (name, content)}
    )
    assert posted.status_code == 204, posted.text
    return str(ticket["key"])


def stored(storage: LocalStorage) -> list[Path]:
    return sorted(p for p in storage.root.rglob("*") if p.is_file() and ".incoming" not in p.parts)


async def test_sample_rounds_with_photos_and_thumbnails(
    client: Client, engine: AsyncEngine, world: World, people: People, local: LocalStorage
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    base = f"/coordinator/projects/{project.id}"
    await login(client, world.coordinator.email)
    async with system(engine) as session:
        factory = Supplier(name_en="Foshan Bright", name_zh="佛山明亮")
        session.add(factory)
    response = await post(client, f"{base}/samples", supplier_id=factory.id, notes="Brass, satin")
    assert response.status_code == 303
    async with system(engine) as session:
        sample = (await session.scalars(select(SampleRound))).one()
    assert (sample.number, sample.supplier_id, sample.status) == (1, factory.id, SampleStatus.requested)
    response = await post(client, f"{base}/samples", notes="Another")
    assert response.status_code == 409
    assert "Sample round 1 is still Requested" in response.text

    # two photos in one go: verified, re-encoded, thumbnailed
    keys = [
        await upload(client, project.id, "front.png", png((1600, 900))),
        await upload(client, project.id, "side.png", png((300, 200))),
    ]
    response = await client.post(
        f"{base}/photos",
        data={
            "_csrf_token": csrf(client),
            "round_id": str(sample.id),
            "key": keys,
            "name": ["front.png", "side.png"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    async with system(engine) as session:
        photos = list((await session.scalars(select(SamplePhoto).order_by(SamplePhoto.position))).all())
        attachments = {a.id: a for a in (await session.scalars(select(Attachment))).all()}
    assert [attachments[p.attachment_id].original_name for p in photos] == ["front.png", "side.png"]
    for photo in photos:
        assert photo.thumbnail_key.startswith(f"org/{project.org_id}/image/")
        with Image.open(io.BytesIO(await local.read(photo.thumbnail_key))) as thumb:
            assert thumb.format == "JPEG"
            assert max(thumb.size) <= 480
    with Image.open(io.BytesIO(await local.read(photos[0].thumbnail_key))) as thumb:
        assert thumb.size == (480, 270)
    for key in keys:  # the raw uploads are gone: only verified copies and thumbnails remain
        assert await local.size(key) is None
    assert len(stored(local)) == 4
    [event] = await audit(engine, "sample_round.photos_added")
    assert [p["attachment_id"] for p in event.after["photos"]] == [p.attachment_id for p in photos]
    page = (await client.get(base)).text
    assert page.count('<img src="/files/local/') == 2

    # one bad file refuses the whole batch: nothing recorded, nothing left in storage
    good = await upload(client, project.id, "good.png", png((100, 100)))
    bad = await upload(client, project.id, "bad.png", b"<html><script>alert(1)</script></html>")
    response = await client.post(
        f"{base}/photos",
        data={
            "_csrf_token": csrf(client),
            "round_id": str(sample.id),
            "key": [good, bad],
            "name": ["good.png", "bad.png"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "bad.png was refused: it is a web page (HTML)." in response.text
    async with system(engine) as session:
        assert len((await session.scalars(select(SamplePhoto))).all()) == 2
        assert len((await session.scalars(select(Attachment))).all()) == 2
    assert len(stored(local)) == 4
    assert len(await audit(engine, "sample_round.photos_added")) == 1

    # a key that is already a stored file is not an upload
    response = await client.post(
        f"{base}/photos",
        data={
            "_csrf_token": csrf(client),
            "round_id": str(sample.id),
            "key": [photos[0].thumbnail_key],
            "name": ["x.jpg"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert len(stored(local)) == 4

    # progress, one step at a time; once the brand decided, the photos are fixed
    for step, version in (("shipped", 1), ("in_production", 1), ("shipped", 2), ("received", 3)):
        response = await post(client, f"{base}/sample", round_id=sample.id, action=step, version=version)
        expected = 409 if (step, version) == ("shipped", 1) else 303
        assert response.status_code == expected, (step, response.text[:300])
    async with session_as(engine, people, world.owner_a) as session:
        await decide_sample_round(session, actor=world.owner_a, round_id=sample.id, decision="approve")
    late = await upload(client, project.id, "late.png", png((50, 50)))
    response = await client.post(
        f"{base}/photos",
        data={"_csrf_token": csrf(client), "round_id": str(sample.id), "key": [late], "name": ["late.png"]},
        follow_redirects=False,
    )
    assert response.status_code == 409
    assert "the brand decided on its photos" in response.text
    assert await local.size(late) is None  # a refused upload is not left behind
    assert len(stored(local)) == 4
    page = (await client.get(base)).text
    assert 'class="row photo-form"' not in page


async def test_photos_are_added_by_coordinators_only(
    engine: AsyncEngine, world: World, people: People, local: LocalStorage
) -> None:
    from makeready.errors import PermissionDenied, ValidationFailed
    from makeready.samples import photos
    from makeready.storage.keys import make_key

    project = await make_project(engine, people, phase=Phase.development)
    other = await make_project(engine, people, phase=Phase.development, name="Theirs", org="b")
    sample, _made = await make_round(engine, project, status=SampleStatus.requested)
    foreign = make_key(other.org_id, "image", "x.png")
    await local.put(foreign, png((10, 10)), content_type="image/png")
    with pytest.raises(PermissionDenied):
        async with session_as(engine, people, world.member_a) as session:
            await photos.attach_photos(
                session,
                actor=world.member_a,
                round_id=sample.id,
                uploads=[photos.PhotoUpload(foreign, "x.png")],
            )
    with pytest.raises(ValidationFailed, match="This upload does not exist"):
        async with session_as(engine, people, world.coordinator) as session:
            await photos.attach_photos(
                session,
                actor=world.coordinator,
                round_id=sample.id,
                uploads=[photos.PhotoUpload(foreign, "x.png")],
            )
    assert await local.size(foreign) is not None  # another organization's object is never touched
    assert (await reload(engine, User, world.member_a.id)).id == world.member_a.id
