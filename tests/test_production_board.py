"""The live production board through HTTP: each lot's column (its status, open holds and shortages, tooling), the
card (order, factory, quantity, progress, next due item, sticky notes), the filters and the paging."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice import production_board
from makeready.conditions.models import Condition, ConditionStatus
from makeready.db.types import utcnow
from makeready.production import lots as lot_service
from makeready.production import tooling as tooling_service
from makeready.production.models import Lot
from tests.conftest import World, login
from tests.production_support import arrange_project, make_order
from tests.test_backoffice_forms import people_of
from tests.workflow_support import People, call_as, session_as, system

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


def column(html: str, name: str) -> list[int]:
    """The lot ids of one column, top to bottom."""
    part = html.split(f'<section class="column" data-column="{name}"', 1)[1].split("</section>", 1)[0]
    return [int(i) for i in re.findall(r'<article class="job-card" data-lot="(\d+)"', part)]


def card(html: str, lot_id: int) -> str:
    return html.split(f'data-lot="{lot_id}">', 1)[1].split("</article>", 1)[0]


async def move(engine: AsyncEngine, people: People, lot_id: int, *actions: str) -> None:
    for action in actions:
        async with session_as(engine, people, None) as session:
            lot = await lot_service.load_lot(session, lot_id)
            await lot_service.move_lot(session, lot, action, actor=None)


async def produce(engine: AsyncEngine, people: People, lot: Lot, finished: int) -> None:
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lot.id)
    async with session_as(engine, people, None) as session:
        loaded = await lot_service.load_lot(session, lot.id)
        counts = {"cut": lot.quantity, "assembled": lot.quantity, "finished": finished, "packed": 0}
        await lot_service.report_progress(session, lot=loaded, counts=counts, reporter_name="Wang Lei")


async def condition(engine: AsyncEngine, lot: Lot, kind: str, owner_id: int) -> None:
    async with system(engine) as session:
        session.add(
            Condition(
                org_id=lot.org_id,
                kind=kind,
                subject_type="lot",
                subject_id=lot.id,
                project_id=lot.project_id,
                owner_id=owner_id,
                status=ConditionStatus.open,
                raised_at=utcnow(),
            )
        )


async def arrange_board(engine: AsyncEngine, people: People) -> dict[str, Any]:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(
        engine, people, arranged, quantity=800, lots=[100] * 8, state="accepted"
    )
    await produce(engine, people, lots[1], 40)  # in production, 40%
    await produce(engine, people, lots[2], 100)  # produced: inspection
    await move(engine, people, lots[2].id, "inspect")
    for lot, last in ((lots[3], "pack"), (lots[4], "ship")):
        await produce(engine, people, lot, 100)
        actions = ["inspect", "pass_inspection", "release", "pack"]
        await move(engine, people, lot.id, *(actions if last == "pack" else [*actions, "ship"]))
    await condition(engine, lots[5], "hold.quality", people.coordinator.id)
    await condition(engine, lots[6], "shortage.material", people.coordinator.id)
    other = await arrange_project(engine, people, org="b")
    theirs, their_lots, _ = await make_order(engine, people, other, quantity=300, lots=[300], state="draft")
    await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.add_tooling,
        order_id=theirs.id,
        data={"name": "Mold"},
    )
    return {"order": order, "lots": lots, "theirs": theirs, "their_lots": their_lots}


async def test_each_lot_is_in_its_column_with_its_card(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_board(engine, people)
    lots, their_lots, order = arranged["lots"], arranged["their_lots"], arranged["order"]
    await login(client, world.coordinator.email)
    response = await client.get("/coordinator/production/board")
    assert response.status_code == 200
    html = response.text
    assert column(html, "planned") == [lots[0].id, lots[7].id]
    assert column(html, "in_production") == [lots[1].id]
    assert column(html, "inspection") == [lots[2].id]
    assert column(html, "packed") == [lots[3].id]
    assert column(html, "shipped") == [lots[4].id]
    assert column(html, "on_hold") == [lots[5].id]
    assert column(html, "pending_parts") == [lots[6].id]
    assert column(html, "tooling") == [their_lots[0].id]

    running = card(html, lots[1].id)
    assert order.reference in running
    assert "Dongguan Bright Lighting" in running
    assert "40 of 100 produced" in running
    assert 'style="width: 40%"' in running
    assert "Pre-production meeting" in running  # the order's next open milestone
    held = card(html, lots[5].id)
    assert 'class="sticky" data-note="hold.quality"' in held
    assert "Chen Coordinator" in held

    # the page also draws in Chinese
    zh = await client.get("/coordinator/production/board", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200


async def test_the_board_filters_by_factory_client_and_coordinator(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_board(engine, people)
    order, theirs = arranged["order"], arranged["theirs"]
    mine = {lot.id for lot in arranged["lots"]}
    their = {lot.id for lot in arranged["their_lots"]}
    await login(client, world.coordinator.email)

    def shown(html: str) -> set[int]:
        return {int(i) for i in re.findall(r'<article class="job-card" data-lot="(\d+)"', html)}

    assert shown((await client.get("/coordinator/production/board")).text) == mine | their
    by_factory = await client.get(f"/coordinator/production/board?factory={theirs.supplier_id}")
    assert shown(by_factory.text) == their
    by_client = await client.get(f"/coordinator/production/board?coordinator=all&client={order.org_id}")
    assert shown(by_client.text) == mine
    assert (
        shown((await client.get(f"/coordinator/production/board?coordinator={people.coordinator2.id}")).text)
        == set()
    )
    assert (await client.get("/coordinator/production/board?coordinator=nobody")).status_code == 400


async def test_the_board_pages_each_column(
    client: Client, engine: AsyncEngine, world: World, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(production_board, "PAGE_SIZE", 3)
    arranged = await arrange_project(engine, people)
    _order, lots, _ = await make_order(engine, people, arranged, quantity=700, lots=[100] * 7, state="draft")
    await login(client, world.coordinator.email)
    first = (await client.get("/coordinator/production/board")).text
    assert column(first, "planned") == [lot.id for lot in lots[:3]]
    assert "Page 1 of 3" in first
    assert 'rel="next" href="/coordinator/production/board?coordinator=' in first
    last = (await client.get("/coordinator/production/board?page=3")).text
    assert column(last, "planned") == [lots[6].id]
    beyond = (await client.get("/coordinator/production/board?page=99")).text
    assert column(beyond, "planned") == [lots[6].id]  # past the last page: the last page
