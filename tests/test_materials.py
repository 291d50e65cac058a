"""Materials through their services: explosion against hand-computed cases, supply, readiness, the lot-start gate,
shortages as owned escalations, tenancy (DESIGN.md 3b)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.conditions.models import Condition, ConditionStatus
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.materials import explosion, shortages
from makeready.materials import supply as supply_service
from makeready.materials.explosion import explode, requirements_of
from makeready.materials.models import MaterialRequirement, PurchaseStatus
from makeready.materials.readiness import Readiness, lines_of, order_readiness, pending_parts
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production.models import Lot, LotStatus
from makeready.specs import content as spec_content
from makeready.specs.service import unbought_bom_lines
from makeready.workflow.escalation import run_escalation
from tests import production_support
from tests.production_support import Arranged, arrange_project, in_days, make_order
from tests.workflow_support import People, call_as, events, make_people, session_as, system


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


def line(**fields: Any) -> dict[str, Any]:
    return {
        "part": {"en": fields.pop("part", "Part")},
        "material": {"en": fields.pop("material", "Steel")},
        **fields,
    }


# -- explosion, hand-computed ---------------------------------------------------------------------------------


def test_the_same_material_in_two_sub_assemblies_is_one_requirement_with_scrap_setup_and_pack_rounding() -> (
    None
):
    bom = [
        line(
            part="Shade",
            material="Screw M3",
            material_code="scr-m3",
            quantity="4",
            unit="pcs",
            scrap_percent="2",
            setup_quantity="10",
            pack_size="500",
            supplied_by="agency",
        ),
        line(
            part="Base",
            material="Screw M3",
            material_code="SCR-M3 ",
            quantity="2",
            unit="pc",
            supplied_by="agency",
        ),
        line(
            part="Shade",
            material="Aluminium sheet",
            quantity="0.35",
            unit="m",
            scrap_percent="5",
            supplied_by="factory",
        ),
        line(
            part="Cord", material="Cable", quantity="1", unit="pcs", scrap_percent="1.5", supplied_by="brand"
        ),
    ]
    needs = {need.key: need for need in explode(bom, 3000)}
    screw = needs["code:SCR-M3"]
    # 3000 x 4 x 1.02 + 10 = 12,250; + 3000 x 2 = 18,250; rounded up to packs of 500 = 18,500
    assert screw.gross == Decimal("18500")
    assert screw.lines == 2
    assert screw.unit == "pcs"
    # 3000 x 0.35 x 1.05 = 1,102.5 m: metres are not rounded to whole units
    assert needs["name:aluminium sheet|m"].gross == Decimal("1102.5")
    # 3000 x 1.015 = 3,045 pieces exactly; 3001 units -> 3,046.015 -> 3,047 whole pieces
    assert needs["name:cable|pcs"].gross == Decimal("3045")
    assert {n.key: n.gross for n in explode(bom, 3001)}["name:cable|pcs"] == Decimal("3047")


def test_one_material_code_in_two_units_is_refused() -> None:
    bom = [
        line(material_code="CBL-1", quantity="1", unit="pcs"),
        line(material_code="cbl-1", quantity="2", unit="m"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        explode(bom, 100)
    assert "CBL-1" in str(refused.value)
    assert "m, pcs" in str(refused.value)


def test_a_material_one_line_leaves_unassigned_has_no_party() -> None:
    bom = [line(material_code="X", supplied_by="agency"), line(material_code="X", supplied_by="")]
    assert explode(bom, 10)[0].supplied_by == ""


def test_old_bom_content_stays_valid_and_the_new_columns_are_checked() -> None:
    old = spec_content.parse({"bom": [{"part": {"en": "Shade"}, "quantity": "1", "unit": "pcs"}]})
    assert old.bom[0].supplied_by == ""
    assert old.bom[0].scrap_percent == 0
    for bad in (
        {"scrap_percent": "-1"},
        {"scrap_percent": "250"},
        {"lead_time_days": 9999},
        {"supplied_by": "x"},
    ):
        with pytest.raises(pydantic.ValidationError):
            spec_content.parse({"bom": [{"part": {"en": "Shade"}, **bad}]})


def test_issuing_is_refused_while_a_bom_line_has_no_party_and_the_refusal_lists_the_lines() -> None:
    content = spec_content.parse(
        {"bom": [line(part="Shade", supplied_by="factory"), line(part="Screw", material="Steel")]}
    )
    refused = unbought_bom_lines(content)
    assert len(refused) == 2
    assert "Screw" in refused[1]
    assert "row 2" in refused[1]
    assert unbought_bom_lines(spec_content.parse({"bom": []})) == []


# -- requirements, supply, readiness ---------------------------------------------------------------------------


async def arrange(engine: AsyncEngine, people: People, bom: list[dict[str, Any]], org: str = "a") -> Arranged:
    """A project whose issued revision has this BOM (an issued revision never changes, so it is made with it)."""
    saved = production_support.BOM
    production_support.BOM = bom
    try:
        return await arrange_project(engine, people, org=org)
    finally:
        production_support.BOM = saved


AGENCY_BOM = [
    line(
        part="Shade",
        material="Screw M3",
        material_code="SCR-M3",
        quantity="4",
        unit="pcs",
        pack_size="1000",
        supplied_by="agency",
        material_supplier="Ningbo Fasteners",
        lead_time_days=0,
    ),
    line(part="Cord", material="Power cord", quantity="1", unit="pcs", supplied_by="brand"),
    line(part="Base", material="Oak", quantity="1", unit="pcs", supplied_by="factory", lead_time_days=5),
]


async def requirement(engine: AsyncEngine, people: People, order_id: int, key: str) -> MaterialRequirement:
    async with session_as(engine, people, people.coordinator) as session:
        return next(r for r in await requirements_of(session, order_id) if r.material_key == key)


async def state_of(engine: AsyncEngine, people: People, order_id: int) -> dict[str, Readiness]:
    async with session_as(engine, people, people.coordinator) as session:
        return {line.requirement.material_key: line.state for line in await lines_of(session, order_id)}


async def shortage_conditions(engine: AsyncEngine, *, resolved: bool = False) -> list[Condition]:
    async with system(engine) as session:
        query = select(Condition).where(Condition.kind.like("shortage.%")).order_by(Condition.id)
        if not resolved:
            query = query.where(Condition.resolved_at.is_(None))
        return list((await session.scalars(query)).all())


async def test_confirming_explodes_the_frozen_bom_with_need_and_order_by_dates(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, AGENCY_BOM)
    order, _lots, _token = await make_order(engine, people, arranged, quantity=3000, state="confirmed")
    screw = await requirement(engine, people, order.id, "code:SCR-M3")
    assert screw.gross == Decimal("12000")  # 3000 x 4, already a whole number of packs of 1,000
    # the first lot starts in 5 days; kitting buffer 3 days
    assert screw.need_date == in_days(5) - timedelta(days=explosion.KITTING_BUFFER_DAYS)
    assert screw.order_by_date == screw.need_date - timedelta(
        days=explosion.TRANSIT_DAYS["agency"] + explosion.INSPECTION_DAYS["agency"]
    )
    oak = await requirement(engine, people, order.id, "name:oak|pcs")
    assert oak.order_by_date == oak.need_date - timedelta(days=5 + explosion.INSPECTION_DAYS["factory"])
    states = await state_of(engine, people, order.id)
    assert states == {
        "code:SCR-M3": Readiness.not_ordered,
        "name:power cord|pcs": Readiness.not_ordered,
        "name:oak|pcs": Readiness.ordered,
    }
    # the screws' order-by date has passed with nothing ordered: an owned shortage on the first lot
    (shortage,) = await shortage_conditions(engine)
    assert shortage.kind == "shortage.not_ordered"
    assert shortage.subject_type == "lot"
    assert shortage.subject_id == _lots[0].id
    assert shortage.owner_id == people.coordinator.id


async def test_moving_a_lot_recomputes_and_records_the_difference(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, AGENCY_BOM)
    order, made, _token = await make_order(engine, people, arranged, state="confirmed")
    before = await requirement(engine, people, order.id, "code:SCR-M3")
    await call_as(
        engine,
        people,
        people.coordinator,
        lot_service.reschedule_lot,
        lot_id=made[0].id,
        data={"planned_start": in_days(8).isoformat(), "planned_end": in_days(14).isoformat()},
        reason="Line busy",
    )
    after = await requirement(engine, people, order.id, "code:SCR-M3")
    assert after.need_date == before.need_date + timedelta(days=3)
    recorded = await events(engine, "material_requirements.recomputed")
    assert recorded[-1].after["changes"]["code:SCR-M3"]["need_date"] == [
        before.need_date.isoformat(),
        after.need_date.isoformat(),
    ]


async def test_an_eta_slipping_past_the_need_date_raises_an_owned_shortage_that_escalates_and_clears(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, AGENCY_BOM[:1])
    order, made, _token = await make_order(engine, people, arranged, state="confirmed")
    screw = await requirement(engine, people, order.id, "code:SCR-M3")
    po = await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.create_purchase_order,
        order_id=order.id,
        supplier_name="Ningbo Fasteners",
        eta=in_days(1).isoformat(),
        lines=[{"requirement_id": screw.id, "quantity": "12000", "unit_cost": "0.012"}],
    )
    # a draft is not an order yet
    assert (await state_of(engine, people, order.id))["code:SCR-M3"] == Readiness.not_ordered
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.act_on_purchase_order,
        purchase_order_id=po.id,
        action="send",
    )
    assert (await state_of(engine, people, order.id))["code:SCR-M3"] == Readiness.ordered
    assert await shortage_conditions(engine) == []  # placing the order cleared "not ordered"
    # the supplier's ETA slips past the need date
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.act_on_purchase_order,
        purchase_order_id=po.id,
        action="set_eta",
        eta=in_days(9).isoformat(),
    )
    assert (await state_of(engine, people, order.id))["code:SCR-M3"] == Readiness.late
    (late,) = await shortage_conditions(engine)
    assert late.kind == "shortage.late"
    assert late.owner_id == people.coordinator.id
    assert late.subject_id == made[0].id
    # the lot's card says what is missing and when it is expected
    async with session_as(engine, people, people.coordinator) as session:
        lot = await session.get_one(Lot, made[0].id)
        (part,) = (await pending_parts(session, [lot]))[lot.id]
    assert part.material == "Screw M3"
    assert part.missing == Decimal("12000")
    assert part.expected == in_days(9)
    # two days on, nobody fixed it: the ladder's step is taken
    later = utcnow() + timedelta(days=shortages.ESCALATION_DAYS, hours=1)
    async with system(engine) as session:
        await run_escalation(session, today=later.date(), now=later)
    (late,) = await shortage_conditions(engine)
    assert late.status == ConditionStatus.escalated
    assert late.level == 1
    # a partial receipt does not clear it; the rest arriving does
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.act_on_purchase_order,
        purchase_order_id=po.id,
        action="ship",
    )
    lines = await lines_of_po(engine, people, po.id)
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.receive_purchase_order,
        purchase_order_id=po.id,
        quantities={lines[0].id: "5000"},
    )
    assert len(await shortage_conditions(engine)) == 1
    received = await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.receive_purchase_order,
        purchase_order_id=po.id,
        quantities={lines[0].id: "7000"},
    )
    assert received.status == PurchaseStatus.received
    assert (await state_of(engine, people, order.id))["code:SCR-M3"] == Readiness.in_house
    assert await shortage_conditions(engine) == []
    cleared = [c for c in await shortage_conditions(engine, resolved=True) if c.kind == "shortage.late"]
    assert cleared[0].resolution == shortages.CAUSE_GONE["shortage.late"]
    assert [e.action for e in await events(engine, "shortage.late.resolved")] == ["shortage.late.resolved"]


async def lines_of_po(engine: AsyncEngine, people: People, po_id: int) -> list[Any]:
    async with session_as(engine, people, people.coordinator) as session:
        return await supply_service.lines_of(session, po_id)


async def test_receipts_over_the_order_need_a_reason_and_a_short_receipt_is_a_shortage(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, AGENCY_BOM[:1])
    order, _made, _token = await make_order(engine, people, arranged, state="confirmed")
    screw = await requirement(engine, people, order.id, "code:SCR-M3")
    po = await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.create_purchase_order,
        order_id=order.id,
        supplier_name="Ningbo Fasteners",
        eta=in_days(1).isoformat(),
        lines=[{"requirement_id": screw.id, "quantity": "10000"}],
    )
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.act_on_purchase_order,
        purchase_order_id=po.id,
        action="send",
    )
    (po_line,) = await lines_of_po(engine, people, po.id)
    for bad in ("-5", "abc", "1e30", "NaN"):
        with pytest.raises(ValidationFailed):
            await call_as(
                engine,
                people,
                people.coordinator,
                supply_service.receive_purchase_order,
                purchase_order_id=po.id,
                quantities={po_line.id: bad},
            )
    with pytest.raises(ValidationFailed) as refused:
        await call_as(
            engine,
            people,
            people.coordinator,
            supply_service.receive_purchase_order,
            purchase_order_id=po.id,
            quantities={po_line.id: "10500"},
        )
    assert refused.value.extra["field"] == "reason"
    # 10,000 ordered of 12,000 needed, all received: short, and nothing more is coming
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.receive_purchase_order,
        purchase_order_id=po.id,
        quantities={po_line.id: "10000"},
    )
    kinds = {c.kind for c in await shortage_conditions(engine)}
    assert kinds == {"shortage.short_receipt"}
    assert (await state_of(engine, people, order.id))["code:SCR-M3"] == Readiness.not_ordered


async def test_a_lot_starts_only_with_its_materials_in_house_or_a_recorded_override(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, AGENCY_BOM[2:])
    order, made, _token = await make_order(
        engine, people, arranged, state="accepted", lots=[1000, 2000], materials_in_house=False
    )
    with pytest.raises(Conflict) as refused:
        await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=made[0].id)
    assert "Oak" in str(refused.value)
    oak = await requirement(engine, people, order.id, "name:oak|pcs")
    # the factory confirms 1,000 in house through its link: enough for the first lot (a third), not the second
    async with session_as(engine, people, None) as session:
        loaded = await lot_service.load_order(session, order.id)
        await supply_service.confirm_in_house(
            session, order=loaded, requirement_id=oak.id, quantity="1000", note="仓库已到货"
        )
    started = await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=made[0].id)
    assert started.status == LotStatus.in_production
    with pytest.raises(Conflict):
        await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=made[1].id)
    overridden = await call_as(
        engine,
        people,
        people.coordinator,
        lot_service.start_lot,
        lot_id=made[1].id,
        override_reason="Oak arrives tomorrow; the line starts with what is there",
    )
    assert overridden.start_override_reason.startswith("Oak arrives")
    async with session_as(engine, people, people.coordinator) as session:
        assert order_readiness(await lines_of(session, order.id)) == Readiness.ordered


async def test_brand_free_issue_is_in_transit_then_in_house_and_the_brand_owns_its_shortage(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, AGENCY_BOM[1:2])
    order, _made, _token = await make_order(engine, people, arranged, state="confirmed")
    cord = await requirement(engine, people, order.id, "name:power cord|pcs")
    (shortage,) = await shortage_conditions(engine)
    assert shortage.owner_id == people.owner_a.id  # free issue: the brand owns it
    with pytest.raises(PermissionDenied):
        await call_as(
            engine,
            people,
            people.viewer_a,
            supply_service.record_free_issue,
            order_id=order.id,
            requirement_id=cord.id,
            quantity="3000",
            eta=in_days(1).isoformat(),
        )
    with pytest.raises(NotFound):
        await call_as(
            engine,
            people,
            people.owner_b,
            supply_service.record_free_issue,
            order_id=order.id,
            requirement_id=cord.id,
            quantity="3000",
            eta=in_days(1).isoformat(),
        )
    with pytest.raises(ValidationFailed):
        await call_as(
            engine,
            people,
            people.owner_a,
            supply_service.record_free_issue,
            order_id=order.id,
            requirement_id=cord.id,
            quantity="-3",
            eta=in_days(1).isoformat(),
        )
    shipment = await call_as(
        engine,
        people,
        people.owner_a,
        supply_service.record_free_issue,
        order_id=order.id,
        requirement_id=cord.id,
        quantity="3000",
        eta=in_days(1).isoformat(),
        tracking="SF123456",
    )
    assert (await state_of(engine, people, order.id))["name:power cord|pcs"] == Readiness.in_transit
    assert await shortage_conditions(engine) == []
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.receive_free_issue,
        shipment_id=shipment.id,
        quantity="3000",
    )
    assert (await state_of(engine, people, order.id))["name:power cord|pcs"] == Readiness.in_house


async def test_a_purchase_order_cannot_be_pegged_to_another_orders_or_organizations_requirements(
    engine: AsyncEngine, people: People
) -> None:
    a = await arrange(engine, people, AGENCY_BOM[:1])
    b = await arrange(engine, people, AGENCY_BOM[:1], org="b")
    order_a, _l, _t = await make_order(engine, people, a, state="confirmed")
    order_b, _l, _t = await make_order(engine, people, b, state="confirmed")
    theirs = await requirement(engine, people, order_b.id, "code:SCR-M3")
    with pytest.raises(NotFound):
        await call_as(
            engine,
            people,
            people.coordinator,
            supply_service.create_purchase_order,
            order_id=order_a.id,
            supplier_name="X",
            lines=[{"requirement_id": theirs.id, "quantity": "1"}],
        )
    ours = await requirement(engine, people, order_a.id, "code:SCR-M3")
    for bad in ("0", "-1", "99999999999", "x"):
        with pytest.raises(ValidationFailed):
            await call_as(
                engine,
                people,
                people.coordinator,
                supply_service.create_purchase_order,
                order_id=order_a.id,
                supplier_name="X",
                lines=[{"requirement_id": ours.id, "quantity": bad}],
            )
    # the brand never buys for the agency
    with pytest.raises(PermissionDenied):
        await call_as(
            engine,
            people,
            people.owner_a,
            supply_service.create_purchase_order,
            order_id=order_a.id,
            supplier_name="X",
            lines=[{"requirement_id": ours.id, "quantity": "1"}],
        )
    # nothing half-written
    async with system(engine) as session:
        assert await supply_service.purchase_orders_of(session, order_a.id) == []


async def test_the_periodic_pass_raises_when_an_order_by_date_passes_and_is_quiet_twice(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, [dict(AGENCY_BOM[0], lead_time_days=0)])
    order, _made, _token = await make_order(engine, people, arranged, state="draft", lots=[])
    start = in_days(40)
    await call_as(
        engine,
        people,
        people.coordinator,
        lot_service.add_lot,
        order_id=order.id,
        data={"quantity": 3000, "planned_start": start, "planned_end": start + timedelta(days=9)},
    )
    await call_as(engine, people, people.owner_a, order_service.confirm_order, order_id=order.id)
    screw = await requirement(engine, people, order.id, "code:SCR-M3")
    assert screw.order_by_date == in_days(40 - 3 - 5 - 2)
    assert await shortage_conditions(engine) == []  # the order-by date is still ahead
    from makeready.materials.jobs import run_shortages

    await run_shortages(engine, today=screw.order_by_date)
    assert await shortage_conditions(engine) == []  # not passed on the day itself
    await run_shortages(engine, today=screw.order_by_date + timedelta(days=1), batch=1)
    await run_shortages(engine, today=screw.order_by_date + timedelta(days=1), batch=1)
    (shortage,) = await shortage_conditions(engine)
    assert shortage.kind == "shortage.not_ordered"
