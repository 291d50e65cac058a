"""Production's conditions: raised by the hourly pass with an owner, told to them, cleared when the cause is gone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.conditions.models import Condition
from makeready.db.types import utcnow
from makeready.production import conditions as production_conditions
from makeready.production import links
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.workflow.escalation import run_escalation
from tests.production_support import arrange_project, make_order
from tests.workflow_support import People, call_as, make_people, notifications, session_as, system


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def open_conditions(engine: AsyncEngine) -> set[tuple[str, str, int]]:
    async with system(engine) as session:
        rows = (await session.scalars(select(Condition).where(Condition.resolved_at.is_(None)))).all()
    return {(c.kind, c.subject_type, c.subject_id) for c in rows}


async def check(engine: AsyncEngine, people: People, hours: float) -> production_conditions.PassReport:
    async with session_as(engine, people, None) as session:
        return await production_conditions.run_production_checks(
            session, now=utcnow() + timedelta(hours=hours)
        )


async def test_an_order_not_accepted_in_48_hours_is_owned_escalated_and_cleared(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, token = await make_order(engine, people, arranged, state="sent")
    assert (await check(engine, people, hours=47)).raised == []
    report = await check(engine, people, hours=49)
    assert report.raised == [("production_order.not_accepted", order.id)]
    assert (await check(engine, people, hours=50)).raised == []  # said once
    async with system(engine) as session:
        condition = await session.scalar(
            select(Condition).where(Condition.kind == "production_order.not_accepted")
        )
    assert condition is not None
    assert condition.owner_id == people.coordinator.id
    told = [n for n in await notifications(engine, people.coordinator) if n.kind == "production_alert"]
    assert len(told) == 1
    assert told[0].params["problem"] == "The factory has not accepted the order"
    # the ladder: two days on, the escalation pass (which steps every kind) tells the coordinator again
    async with session_as(engine, people, None) as session:
        later = utcnow() + timedelta(hours=49 + 49)
        await run_escalation(session, today=later.date(), now=later)
    assert [n.kind for n in await notifications(engine, people.coordinator)].count(
        "production_escalated"
    ) == 1
    assert token is not None
    async with session_as(engine, people, None) as session:
        _link, loaded = await links.open_link(session, token)
        await order_service.accept_order(session, order=loaded, name="Wang Lei")
    assert ("production_order.not_accepted", "production_order", order.id) not in await open_conditions(
        engine
    )


async def test_a_running_lot_without_reports_and_behind_plan_raises_both_and_a_report_clears_them(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    _order, made, token = await make_order(
        engine, people, arranged, state="accepted", lots=[1000, 1000, 1000]
    )
    lot = made[0]  # planned from day 5 to day 14
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lot.id)
    # day 12: no report for 3 days+ and 800 expected, none produced
    report = await check(engine, people, hours=12 * 24)
    assert set(report.raised) == {("lot.no_report", lot.id), ("lot.behind_plan", lot.id)}
    assert token is not None
    async with session_as(engine, people, None) as session:
        await links.open_link(session, token)
        loaded = await session.get_one(Lot, lot.id)
        await lot_service.report_progress(
            session,
            lot=loaded,
            counts={"cut": 900, "assembled": 850, "finished": 800, "packed": 0},
            reporter_name="Wang Lei",
            via_link=True,
        )
    remaining = await open_conditions(engine)
    assert ("lot.no_report", "lot", lot.id) not in remaining  # the report itself cleared it
    assert ("lot.behind_plan", "lot", lot.id) in remaining  # the pass decides this one
    # the pass at the moment of the report: day 0 of the plan expects nothing, so progress has caught up
    report = await check(engine, people, hours=0)
    assert ("lot.behind_plan", lot.id) in report.resolved


def test_the_linear_plan_and_the_rate_are_computed_as_stated() -> None:
    lot = Lot(
        quantity=1000,
        planned_start=date(2027, 1, 1),
        planned_end=date(2027, 1, 10),
        status=LotStatus.in_production,
        progress={"finished": 500},
    )
    assert production_conditions.expected_by(lot, date(2026, 12, 31)) == 0
    assert production_conditions.expected_by(lot, date(2027, 1, 1)) == 100
    assert production_conditions.expected_by(lot, date(2027, 1, 5)) == 500
    assert production_conditions.expected_by(lot, date(2027, 2, 1)) == 1000
    order = ProductionOrder(
        routing=["cut", "assembled", "finished", "packed"], ex_factory_date=date(2027, 1, 20)
    )
    assert not production_conditions.behind_plan(order, lot, date(2027, 1, 5))  # 500 of 500
    assert not production_conditions.behind_plan(order, lot, date(2027, 1, 6))  # 100 behind: exactly 10%
    assert production_conditions.behind_plan(order, lot, date(2027, 1, 7))  # 200 behind
    order.production_started_at = datetime(2027, 1, 1, tzinfo=UTC)
    # 500 in 5 days is 100 a day: the other 500 take 5 more days, done 10 Jan, before the final inspection on 18 Jan
    assert not production_conditions.ex_factory_at_risk(order, [lot], date(2027, 1, 5))
    order.ex_factory_date = date(2027, 1, 11)
    # the final inspection is due on 9 Jan: 10 Jan is too late
    assert production_conditions.ex_factory_at_risk(order, [lot], date(2027, 1, 5))
