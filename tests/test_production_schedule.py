"""The master production schedule: planned output spread over working days, reported output from the reports'
increases, over-capacity weeks and behind-plan orders, hand-computed; its filters and page through HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.production_schedule import (
    ScheduleFilters,
    load_schedule,
    planned_weeks,
    reported_weeks,
    week_start,
)
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import frozen_clock, utcnow
from makeready.production import lots as lot_service
from makeready.production.models import Lot, ProductionOrder
from makeready.suppliers.models import Supplier
from tests.conftest import World, login
from tests.production_support import arrange_project, make_order
from tests.test_backoffice_forms import people_of
from tests.workflow_support import People, call_as, reload, session_as, system

Client = AsyncTestClient[Litestar]
MONDAY = week_start(utcnow().date())


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def test_a_lot_is_spread_evenly_over_its_working_days() -> None:
    weeks = [MONDAY + timedelta(weeks=i) for i in range(4)]
    # Monday to the next Sunday: 12 working days (Monday to Saturday), 6 a week
    assert planned_weeks(1200, MONDAY, MONDAY + timedelta(days=13), weeks) == [600, 600, 0, 0]
    # Thursday to the next Tuesday: Thu, Fri, Sat, then Mon, Tue (Sunday is not a working day)
    assert planned_weeks(1000, MONDAY + timedelta(days=10), MONDAY + timedelta(days=15), weeks) == [
        0,
        600,
        400,
        0,
    ]
    # whole units that still add up: 100 over 3 days is 33, 33, 34
    assert sum(planned_weeks(100, MONDAY, MONDAY + timedelta(days=2), weeks)) == 100
    # a lot planned on a Sunday only still plans its units
    sunday = MONDAY + timedelta(days=6)
    assert planned_weeks(50, sunday, sunday, weeks) == [50, 0, 0, 0]


def test_reported_output_is_the_weekly_increase_of_the_produced_count() -> None:
    weeks = [MONDAY + timedelta(weeks=i) for i in range(3)]
    reports = [(at(MONDAY + timedelta(days=1)), 450), (at(MONDAY + timedelta(days=8)), 700)]
    assert reported_weeks(reports, 100, weeks) == [350, 250, 0]
    assert reported_weeks([], 100, weeks) == [0, 0, 0]


async def arrange_schedule(engine: AsyncEngine, people: People) -> tuple[ProductionOrder, list[Lot]]:
    """An accepted order of 2,200 units: lot 1 (1,200) from this Monday to next Sunday, lot 2 (1,000) from next
    Thursday to the Tuesday after; lot 1 started, with a report last Saturday (100 finished) and one this Tuesday
    (450 finished)."""
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(
        engine, people, arranged, quantity=2200, lots=[1200, 1000], state="accepted"
    )
    windows = [
        (MONDAY, MONDAY + timedelta(days=13)),
        (MONDAY + timedelta(days=10), MONDAY + timedelta(days=15)),
    ]
    for lot, (start, end) in zip(lots, windows, strict=True):
        await call_as(
            engine,
            people,
            people.coordinator,
            lot_service.reschedule_lot,
            lot_id=lot.id,
            data={"planned_start": start, "planned_end": end},
            reason="Schedule test",
        )
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lots[0].id)
    await report(engine, people, lots[0].id, MONDAY - timedelta(days=2), 100)
    await report(engine, people, lots[0].id, MONDAY + timedelta(days=1), 450)
    return order, [await reload(engine, Lot, lot.id) for lot in lots]


async def report(
    engine: AsyncEngine, people: People, lot_id: int, day: date, finished: int, note: str = ""
) -> None:
    with frozen_clock(at(day)):
        async with session_as(engine, people, None) as session:
            lot = await lot_service.load_lot(session, lot_id)
            counts = {"cut": 1200, "assembled": 1200, "finished": finished, "packed": 0}
            await lot_service.report_progress(
                session, lot=lot, counts=counts, note=note, reporter_name="Wang Lei"
            )


async def schedule_on(engine: AsyncEngine, day: date, **filters: int | None) -> object:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        return await load_schedule(session, ScheduleFilters(**filters), day=day)


async def test_planned_and_reported_output_per_week_and_the_capacity_and_plan_flags(
    engine: AsyncEngine, people: People
) -> None:
    order, _lots = await arrange_schedule(engine, people)
    thursday = MONDAY + timedelta(days=3)
    schedule = await schedule_on(engine, thursday)
    assert schedule.weeks[0] == MONDAY
    assert len(schedule.weeks) == 16
    (factory,) = schedule.factories  # type: ignore[attr-defined]
    (row,) = factory.orders
    assert row.order.id == order.id
    assert row.planned[:4] == [600, 1200, 400, 0]
    assert sum(row.planned) == 2200
    assert row.reported[:2] == [350, 0]  # 450 this Tuesday against 100 last Saturday
    assert factory.planned[:3] == [600, 1200, 400]
    assert factory.over[:3] == [False, False, False]  # capacity 1,500
    # planned by Thursday: 4 of lot 1's 12 working days = 400; 450 finished: on plan
    assert row.behind is False

    async with system(engine) as session:
        await session.execute(update(Supplier).values(weekly_capacity=1000))
    factory = (await schedule_on(engine, thursday)).factories[0]  # type: ignore[attr-defined]
    assert factory.over[:3] == [False, True, False]

    # a correction down to 250 finished: 150 short of the 400 planned, more than a tenth of the 1,200-unit lot
    await report(engine, people, _lots[0].id, MONDAY + timedelta(days=2), 250, note="Recount after QC")
    (row,) = (await schedule_on(engine, thursday)).factories[0].orders  # type: ignore[attr-defined]
    assert row.reported[0] == 150
    assert row.behind is True
    assert row.short == 150


async def test_the_schedule_page_filters_by_factory_client_and_coordinator(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    order, lots = await arrange_schedule(engine, people)
    other = await arrange_project(engine, people, org="b")
    theirs, _l, _t = await make_order(engine, people, other, quantity=900, lots=[900], state="draft")
    await login(client, world.coordinator.email)

    html = (await client.get("/coordinator/production/schedule")).text
    assert order.reference in html
    assert theirs.reference in html
    assert f'#lot-{lots[0].id}"' in html  # a lot's dates change on its reschedule form
    client_b = (
        await client.get(f"/coordinator/production/schedule?coordinator=all&client={world.org_b.id}")
    ).text
    assert theirs.reference in client_b
    assert order.reference not in client_b
    factory = (await client.get(f"/coordinator/production/schedule?factory={order.supplier_id}")).text
    assert order.reference in factory
    assert theirs.reference not in factory
    nobody = (await client.get(f"/coordinator/production/schedule?coordinator={people.coordinator2.id}")).text
    assert order.reference not in nobody
    assert "No production planned" in nobody
    refused = await client.get("/coordinator/production/schedule?factory=-1")
    assert refused.status_code == 400
