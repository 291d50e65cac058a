"""Production orders, lots, tooling and progress reports through their services (DESIGN.md 3b)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.production import links
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import tooling as tooling_service
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionLink,
    ProductionLinkState,
    ProductionOrder,
    ProgressReport,
    ToolingStatus,
)
from makeready.projects.models import Milestone
from tests.production_support import arrange_project, in_days, make_order
from tests.workflow_support import People, call_as, events, make_people, reload, session_as


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def test_an_order_is_made_from_the_selected_quote_and_pinned_to_the_issued_revision(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, _token = await make_order(engine, people, arranged, quantity=3000, lots=[])
    assert order.status == OrderStatus.draft
    assert order.revision_id == arranged.revision.id
    assert order.supplier_id == arranged.supplier.id
    assert order.quantity == 3000
    assert order.unit_price == Decimal("4.20")  # the 3,000-unit price break
    assert order.currency == "USD"
    assert [e.action for e in await events(engine, "production_order.created")] == [
        "production_order.created"
    ]


async def test_an_order_without_issued_revision_or_selected_quote_lists_both(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people, quote=False, revision=False)
    with pytest.raises(Conflict) as refused:
        await make_order(engine, people, arranged, lots=[])
    missing = refused.value.extra["missing"]
    assert len(missing) == 2
    assert any("revision" in m for m in missing)
    assert any("quote" in m for m in missing)
    async with session_as(engine, people, None) as session:
        assert (await session.scalars(select(ProductionOrder))).all() == []


async def test_a_brand_cannot_create_and_another_org_cannot_see_an_order(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    with pytest.raises(PermissionDenied):
        await call_as(
            engine,
            people,
            people.owner_a,
            order_service.create_order,
            project_id=arranged.project.id,
            data={"ex_factory_date": in_days(30).isoformat()},
        )
    order, _lots, _ = await make_order(engine, people, arranged, lots=[])
    with pytest.raises(NotFound):
        await call_as(engine, people, people.owner_b, order_service.confirm_order, order_id=order.id)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": "-5"}, "quantity"),
        ({"quantity": "2.5"}, "quantity"),
        ({"quantity": "99999999999"}, "quantity"),
        ({"ex_factory_date": "yesterday"}, "ex_factory_date"),
        ({"incoterm": "XYZ"}, "incoterm"),
        ({"currency": "dollars"}, "currency"),
        ({"unit_price": "-1"}, "unit_price"),
    ],
)
async def test_bad_order_fields_are_refused_naming_the_field(
    engine: AsyncEngine, people: People, data: dict[str, str], field: str
) -> None:
    arranged = await arrange_project(engine, people)
    with pytest.raises(ValidationFailed) as refused:
        await call_as(
            engine,
            people,
            people.coordinator,
            order_service.create_order,
            project_id=arranged.project.id,
            data={"ex_factory_date": in_days(30).isoformat(), **data},
        )
    assert refused.value.extra["field"] == field


async def test_lots_never_sum_to_more_than_the_order(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    order, made, _ = await make_order(engine, people, arranged, quantity=3000, lots=[1000, 1500])
    with pytest.raises(ValidationFailed) as refused:
        await call_as(
            engine,
            people,
            people.coordinator,
            lot_service.add_lot,
            order_id=order.id,
            data={"quantity": 501, "planned_start": in_days(3), "planned_end": in_days(8)},
        )
    assert "500" in str(refused.value)
    with pytest.raises(ValidationFailed):
        await call_as(
            engine, people, people.coordinator, lot_service.resize_lot, lot_id=made[0].id, quantity=1501
        )
    with pytest.raises(ValidationFailed):
        await call_as(
            engine,
            people,
            people.coordinator,
            lot_service.add_lot,
            order_id=order.id,
            data={"quantity": 10, "planned_start": in_days(8), "planned_end": in_days(3)},
        )


async def test_sending_needs_the_brand_confirmation_and_every_unit_in_a_lot(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _made, _ = await make_order(engine, people, arranged, quantity=3000, lots=[1000])
    with pytest.raises(Conflict):  # still a draft
        await call_as(engine, people, people.coordinator, order_service.send_order, order_id=order.id)
    with pytest.raises(PermissionDenied):  # the coordinator cannot confirm for the brand
        await call_as(engine, people, people.coordinator, order_service.confirm_order, order_id=order.id)
    with pytest.raises(PermissionDenied):  # nor can a viewer
        await call_as(engine, people, people.viewer_a, order_service.confirm_order, order_id=order.id)
    confirmed = await call_as(engine, people, people.member_a, order_service.confirm_order, order_id=order.id)
    assert confirmed.status == OrderStatus.confirmed
    assert confirmed.bom_snapshot is not None
    assert len(confirmed.bom_snapshot) == 2
    with pytest.raises(Conflict) as refused:
        await call_as(engine, people, people.coordinator, order_service.send_order, order_id=order.id)
    assert "2000" in str(refused.value)


async def test_sending_plans_the_milestones_and_opens_one_link(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    order, _made, token = await make_order(engine, people, arranged, state="sent", ex_factory_in=60)
    assert order.status == OrderStatus.sent
    assert token
    async with session_as(engine, people, None) as session:
        plan = {
            m.plan_key: m
            for m in (
                await session.scalars(select(Milestone).where(Milestone.production_order_id == order.id))
            )
        }
        found, opened = await links.open_link(session, token)
        assert opened.id == order.id
    assert set(plan) >= {"pre_production_meeting", "production_start", "final_inspection", "ex_factory"}
    assert plan["ex_factory"].due_date == in_days(60)
    assert plan["final_inspection"].due_date == in_days(58)
    assert plan["production_start"].due_date == in_days(5)  # the first lot's planned start
    assert all(m.owner_id == people.coordinator.id for m in plan.values())
    assert found.state == ProductionLinkState.live


async def test_moving_the_ex_factory_date_needs_a_reason_and_replans_what_is_not_done(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _made, _ = await make_order(engine, people, arranged, state="sent", ex_factory_in=60)
    with pytest.raises(ValidationFailed):
        await call_as(
            engine,
            people,
            people.coordinator,
            order_service.reschedule_order,
            order_id=order.id,
            ex_factory_date=in_days(70),
            reason=" ",
        )
    await call_as(
        engine,
        people,
        people.coordinator,
        order_service.reschedule_order,
        order_id=order.id,
        ex_factory_date=in_days(70),
        reason="Paint line down for a week",
    )
    async with session_as(engine, people, None) as session:
        ex = await session.scalar(
            select(Milestone).where(
                Milestone.production_order_id == order.id, Milestone.plan_key == "ex_factory"
            )
        )
    assert ex is not None
    assert ex.due_date == in_days(70)
    [moved] = await events(engine, "production_order.rescheduled")
    assert moved.reason == "Paint line down for a week"
    assert moved.before["ex_factory_date"] == in_days(60).isoformat()


async def test_the_factory_accepts_or_proposes_a_date_the_coordinator_agrees_to(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _made, token = await make_order(engine, people, arranged, state="sent", ex_factory_in=60)
    assert token is not None
    async with session_as(engine, people, None) as session:
        _link, loaded = await links.open_link(session, token)
        await order_service.propose_date(
            session, order=loaded, ex_factory_date=in_days(75), reason="Chinese New Year", name="Wang Lei"
        )
    await call_as(engine, people, people.coordinator, order_service.agree_to_proposal, order_id=order.id)
    accepted = await reload(engine, ProductionOrder, order.id)
    assert accepted.status == OrderStatus.accepted
    assert accepted.ex_factory_date == in_days(75)
    assert accepted.proposed_ex_factory_date is None


async def test_a_lot_starts_only_when_tooling_is_approved_or_overridden(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, made, _ = await make_order(engine, people, arranged, state="accepted")
    mold = await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.add_tooling,
        order_id=order.id,
        data={"name": "Shade mold"},
    )
    with pytest.raises(Conflict) as refused:
        await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=made[0].id)
    assert "Shade mold" in str(refused.value)
    async with session_as(engine, people, None) as session:
        item = await session.get_one(type(mold), mold.id)
        await tooling_service.submit_trial(session, item=item, note="T1 shot")
    with pytest.raises(ValidationFailed):
        await call_as(
            engine,
            people,
            people.coordinator,
            tooling_service.decide_tooling,
            item_id=mold.id,
            decision="reject",
        )
    await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.decide_tooling,
        item_id=mold.id,
        decision="reject",
        reason="Sink marks on the rim",
    )
    # the override starts the lot with the reason recorded
    started = await call_as(
        engine,
        people,
        people.coordinator,
        lot_service.start_lot,
        lot_id=made[0].id,
        override_reason="Brand accepts rim marks on lot 1",
    )
    assert started.status == LotStatus.in_production
    assert started.start_override_reason == "Brand accepts rim marks on lot 1"
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.in_production
    item = await reload(engine, type(mold), mold.id)
    assert item.status == ToolingStatus.rejected
    assert item.trial_number == 1


async def test_progress_reports_are_dated_entries_and_refuse_contradictions(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    _order, made, token = await make_order(
        engine, people, arranged, state="accepted", lots=[1000, 1000, 1000]
    )
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=made[0].id)
    assert token is not None

    async def report(counts: dict[str, int], note: str = "") -> None:
        async with session_as(engine, people, None) as session:
            _link, _order = await links.open_link(session, token)
            lot = await session.get_one(Lot, made[0].id)
            await lot_service.report_progress(
                session, lot=lot, counts=counts, note=note, reporter_name="Wang Lei", via_link=True
            )

    await report({"cut": 400, "assembled": 300, "finished": 200, "packed": 0})
    with pytest.raises(ValidationFailed) as packed_more:
        await report({"cut": 400, "assembled": 300, "finished": 200, "packed": 250})
    assert packed_more.value.extra["field"] == "counts.packed"
    with pytest.raises(ValidationFailed):
        await report({"cut": 1001, "assembled": 300, "finished": 200, "packed": 0})
    with pytest.raises(ValidationFailed):  # fewer than the last report, without a note
        await report({"cut": 350, "assembled": 300, "finished": 200, "packed": 0})
    await report(
        {"cut": 350, "assembled": 300, "finished": 200, "packed": 0}, note="Recounted: 50 cut parts scrapped"
    )
    await report({"cut": 1000, "assembled": 1000, "finished": 1000, "packed": 0})
    lot = await reload(engine, Lot, made[0].id)
    assert lot.status == LotStatus.produced
    assert lot.progress["finished"] == 1000
    async with session_as(engine, people, None) as session:
        reports = (await session.scalars(select(ProgressReport).where(ProgressReport.lot_id == lot.id))).all()
    assert [r.counts["cut"] for r in sorted(reports, key=lambda r: r.id)] == [400, 350, 1000]


async def test_cancelling_an_order_withdraws_its_link_and_unstarted_lots(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, made, token = await make_order(engine, people, arranged, state="sent")
    with pytest.raises(ValidationFailed):
        await call_as(
            engine, people, people.coordinator, order_service.cancel_order, order_id=order.id, reason=""
        )
    await call_as(
        engine,
        people,
        people.coordinator,
        order_service.cancel_order,
        order_id=order.id,
        reason="Brand withdrew",
    )
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.cancelled
    assert {(await reload(engine, Lot, lot.id)).status for lot in made} == {LotStatus.cancelled}
    assert token is not None
    async with session_as(engine, people, None) as session:
        with pytest.raises(links.Gone):
            await links.open_link(session, token)
        link = await session.scalar(select(ProductionLink).where(ProductionLink.order_id == order.id))
    assert link is not None
    assert link.state == ProductionLinkState.revoked


async def test_a_stale_edit_is_a_conflict_and_a_brand_visible_edit_needs_a_new_confirmation(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _made, _ = await make_order(engine, people, arranged, state="confirmed")
    with pytest.raises(Conflict):
        await call_as(
            engine,
            people,
            people.coordinator,
            order_service.update_order,
            order_id=order.id,
            data={"payment_terms": "30% deposit"},
            expected_version=order.version - 1,
        )
    edited = await call_as(
        engine,
        people,
        people.coordinator,
        order_service.update_order,
        order_id=order.id,
        data={"ex_factory_date": (in_days(60) + timedelta(days=7)).isoformat()},
        expected_version=order.version,
    )
    assert edited.status == OrderStatus.draft
