"""Inspections, holds and corrective actions through their services (issue 13, DESIGN.md 3b)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.conditions.models import Condition
from makeready.db.types import utcnow
from makeready.decisions import log as decision_log
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.production import lots as lot_service
from makeready.production.models import Lot, LotStatus, ProductionPhoto
from makeready.quality import actions, holds, report, tracker
from makeready.quality import inspections as qc
from makeready.quality.models import (
    ActionStatus,
    CorrectiveAction,
    HoldStatus,
    Inspection,
    InspectionStatus,
    QualityHold,
)
from makeready.quality.photos import PhotoFile
from tests.quality_support import add_defects, inspection_in_progress, jpeg, produced_lot, submitted
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_people,
    notifications,
    reload,
    session_as,
    system,
)


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def _conditions(engine: AsyncEngine, kind: str) -> list[Condition]:
    async with system(engine) as session:
        return list((await session.scalars(select(Condition).where(Condition.kind == kind))).all())


async def test_scheduling_freezes_the_plans_checklist_and_measurement_sheet(
    engine: AsyncEngine, people: People
) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    assert produced.lot.status == LotStatus.produced
    inspection = await inspection_in_progress(engine, people, produced)
    assert inspection.status == InspectionStatus.in_progress
    major = inspection.plans["major"]
    # ISO 2859-1: 3,000 units, level II is code letter K: 125 units, Ac 7, Re 8 at AQL 2.5
    assert (major["code_letter"], major["sample_size"], major["accept"], major["reject"]) == ("K", 125, 7, 8)
    assert inspection.plans["critical"]["zero_tolerance"] is True
    assert inspection.plans["critical"]["accept"] == 0
    assert [row["id"] for row in inspection.checklist] == ["p1", "p2"]
    assert inspection.measurements[0]["nominal"] == "300"
    lot = await reload(engine, Lot, produced.lot.id)
    assert lot.status == LotStatus.inspecting


async def test_eight_majors_in_125_reject_the_lot_hold_it_and_block_release(
    engine: AsyncEngine, people: People
) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8, review=False)
    assert inspection.counts == {"critical": 0, "major": 8, "minor": 0}
    assert inspection.verdicts == {"critical": "accept", "major": "reject", "minor": "accept"}
    assert inspection.verdict == "reject"
    lot = await reload(engine, Lot, produced.lot.id)
    assert lot.status == LotStatus.failed
    async with session_as(engine, people, people.coordinator) as session:
        active = await holds.active_holds(session, lot)
    assert [h.source for h in active] == ["failed_inspection"]
    assert [c.subject_id for c in await _conditions(engine, "hold.active") if c.resolved_at is None] == [
        lot.id
    ]


async def test_seven_majors_pass_the_lot(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=7, review=False)
    assert inspection.verdict == "accept"
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.passed


async def test_a_hold_blocks_release_until_a_coordinator_lifts_it_with_a_reason(
    engine: AsyncEngine, people: People
) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    await submitted(engine, people, produced, majors=0, review=False)
    hold = await call_as(
        engine,
        people,
        people.coordinator,
        holds.place_manual_hold,
        lot_id=produced.lot.id,
        order_id=produced.order.id,
        reason="Carton marks wrong",
    )
    async with session_as(engine, people, people.coordinator) as session:
        lot = await lot_service.load_lot(session, produced.lot.id)
        with pytest.raises(Conflict) as refused:
            await lot_service.move_lot(session, lot, "release", actor=people.coordinator)
    assert "Carton marks wrong" in str(refused.value)
    with pytest.raises(ValidationFailed):
        await call_as(engine, people, people.coordinator, holds.lift_hold, hold_id=hold.id, reason=" ")
    with pytest.raises(PermissionDenied):
        await call_as(engine, people, people.owner_a, holds.lift_hold, hold_id=hold.id, reason="fine")
    await call_as(engine, people, people.coordinator, holds.lift_hold, hold_id=hold.id, reason="Relabelled")
    assert (await reload(engine, QualityHold, hold.id)).status == HoldStatus.lifted
    assert all(c.resolved_at is not None for c in await _conditions(engine, "hold.active"))
    async with session_as(engine, people, people.coordinator) as session:
        lot = await lot_service.load_lot(session, produced.lot.id)
        await lot_service.move_lot(session, lot, "release", actor=people.coordinator)
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.released


async def test_an_order_hold_blocks_each_lot(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    await submitted(engine, people, produced, majors=0, review=False)
    async with session_as(engine, people, None) as session:
        order = await lot_service.load_order(session, produced.order.id)
        await holds.place_hold(
            session, order=order, reason="Revision 2 not acknowledged", source="revision_change"
        )
    async with session_as(engine, people, people.coordinator) as session:
        lot = await lot_service.load_lot(session, produced.lot.id)
        with pytest.raises(Conflict):
            await lot_service.move_lot(session, lot, "release", actor=people.coordinator)


async def test_the_brand_accepts_a_passed_lot(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    inspection = await submitted(engine, people, produced, majors=0)
    brand = [
        n for n in await notifications(engine, people.owner_a) if n.kind == "inspection_ready_for_review"
    ]
    assert len(brand) == 1
    decided = await call_as(
        engine, people, people.owner_a, qc.decide_inspection, inspection_id=inspection.id, decision="accept"
    )
    assert decided.status == InspectionStatus.accepted
    assert [n.kind for n in await notifications(engine, people.coordinator)].count("inspection_decided") == 1
    assert [e.action for e in await events(engine, "inspection.accepted")] == ["inspection.accepted"]
    async with session_as(engine, people, people.owner_a) as session:
        log = await decision_log.page_of(session, produced.arranged.project.id, milestones={})
    sentences = [entry.sentence for entry in log.entries]
    assert f"Owner A accepted the lot of inspection {inspection.reference}." in sentences
    assert any("sent the report of inspection" in s for s in sentences)


async def test_a_failed_lot_cannot_be_plainly_accepted(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8)
    with pytest.raises(Conflict):
        await call_as(
            engine,
            people,
            people.owner_a,
            qc.decide_inspection,
            inspection_id=inspection.id,
            decision="accept",
        )
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.brand_review


async def test_a_concession_passes_the_lot_and_lifts_its_inspection_holds(
    engine: AsyncEngine, people: People
) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8)
    with pytest.raises(ValidationFailed):  # what is accepted and the remedy are both needed
        await call_as(
            engine,
            people,
            people.owner_a,
            qc.decide_inspection,
            inspection_id=inspection.id,
            decision="concede",
            concession="Light scratches inside the shade",
        )
    decided = await call_as(
        engine,
        people,
        people.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="concede",
        concession="Light scratches inside the shade",
        remedy="5% off the unit price",
        amount="630.00",
    )
    assert decided.status == InspectionStatus.accepted_with_concession
    assert str(decided.concession_amount) == "630.00"
    lot = await reload(engine, Lot, produced.lot.id)
    assert lot.status == LotStatus.passed
    async with session_as(engine, people, people.coordinator) as session:
        assert await holds.active_holds(session, lot) == []
    assert all(c.resolved_at is not None for c in await _conditions(engine, "hold.active"))


async def test_rejection_opens_a_corrective_action_and_a_passed_reinspection_closes_it(
    engine: AsyncEngine, people: People
) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=9)
    with pytest.raises(ValidationFailed):  # reasons are required
        await call_as(
            engine,
            people,
            people.owner_a,
            qc.decide_inspection,
            inspection_id=inspection.id,
            decision="reject",
        )
    await call_as(
        engine,
        people,
        people.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="reject",
        reasons="Scratches on 9 shades",
    )
    async with session_as(engine, people, None) as session:
        action = (await session.scalars(select(CorrectiveAction))).one()
        order = await lot_service.load_order(session, produced.order.id)
        assert action.status == ActionStatus.requested
        assert action.problem == "Scratches on 9 shades"
        with pytest.raises(ValidationFailed):  # more reworked than the lot holds
            await actions.answer_action(
                session,
                order=order,
                action_id=action.id,
                data={
                    "name": "王磊",
                    "root_cause": "夹具磨损",
                    "action": "更换夹具",
                    "rework_done": "抛光",
                    "reworked_quantity": "3001",
                },
            )
    async with session_as(engine, people, None) as session:
        order = await lot_service.load_order(session, produced.order.id)
        await actions.answer_action(
            session,
            order=order,
            action_id=action.id,
            data={
                "name": "王磊",
                "root_cause": "夹具磨损",
                "action": "更换夹具",
                "rework_done": "抛光",
                "reworked_quantity": "3000",
            },
            files=[PhotoFile(jpeg(), "evidence.jpg")],
        )
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.rework
    async with session_as(engine, people, None) as session:
        evidence = (await session.scalars(select(ProductionPhoto))).all()
    assert [p.subject_type for p in evidence] == ["corrective_action"]
    verified = await call_as(engine, people, people.coordinator, actions.verify_action, action_id=action.id)
    assert verified.status == ActionStatus.verified
    reinspection = await reload(engine, Inspection, verified.reinspection_id)
    assert reinspection.kind == "re_inspection"
    assert reinspection.lot_size == 3000
    await call_as(
        engine,
        people,
        people.coordinator,
        qc.schedule_inspection,
        inspection_id=reinspection.id,
        scheduled_for=utcnow().date().isoformat(),
        third_party="SGS Shenzhen, Li Na",
    )
    await call_as(engine, people, people.coordinator, qc.start_inspection, inspection_id=reinspection.id)
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.reinspecting
    await call_as(engine, people, people.coordinator, qc.submit_inspection, inspection_id=reinspection.id)
    lot = await reload(engine, Lot, produced.lot.id)
    assert lot.status == LotStatus.passed
    assert (await reload(engine, CorrectiveAction, action.id)).status == ActionStatus.closed
    async with session_as(engine, people, people.coordinator) as session:
        assert await holds.active_holds(session, lot) == []


async def test_an_unanswered_action_past_due_is_flagged_once(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8)
    await call_as(
        engine,
        people,
        people.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="reject",
        reasons="Scratches",
    )
    later = utcnow().date() + timedelta(days=actions.DUE_DAYS + 1)
    async with session_as(engine, people, None) as session:
        assert await actions.flag_overdue(session, today=utcnow().date()) == []
        assert len(await actions.flag_overdue(session, today=later)) == 1
        assert await actions.flag_overdue(session, today=later) == []


async def test_a_decision_outside_review_is_a_conflict(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    inspection = await submitted(engine, people, produced, majors=0, review=False)
    with pytest.raises(Conflict):
        await call_as(
            engine,
            people,
            people.owner_a,
            qc.decide_inspection,
            inspection_id=inspection.id,
            decision="accept",
        )
    await call_as(engine, people, people.coordinator, qc.send_for_review, inspection_id=inspection.id)
    await call_as(
        engine, people, people.owner_a, qc.decide_inspection, inspection_id=inspection.id, decision="accept"
    )
    with pytest.raises(Conflict):  # decided already
        await call_as(
            engine,
            people,
            people.owner_a,
            qc.decide_inspection,
            inspection_id=inspection.id,
            decision="reject",
            reasons="late change of mind",
        )


async def test_submitting_twice_records_once(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await inspection_in_progress(engine, people, produced)
    await add_defects(engine, people, inspection.id, "major", 8)
    version = (await reload(engine, Inspection, inspection.id)).version
    first = await call_as(
        engine,
        people,
        people.coordinator,
        qc.submit_inspection,
        inspection_id=inspection.id,
        submit_key="phone-1",
        expected_version=version,
    )
    # the same form again (a retry on a flaky connection): the same submission, nothing new
    again = await call_as(
        engine,
        people,
        people.coordinator,
        qc.submit_inspection,
        inspection_id=inspection.id,
        submit_key="phone-1",
        expected_version=version,
    )
    assert again.version == first.version
    # another phone's form, which saw the inspection before it was submitted: a conflict naming the state
    with pytest.raises(Conflict) as refused:
        await call_as(
            engine,
            people,
            people.coordinator,
            qc.submit_inspection,
            inspection_id=inspection.id,
            submit_key="phone-2",
            expected_version=version,
        )
    assert refused.value.extra.get("current_state") == "submitted"
    assert len(await events(engine, "inspection.submitted")) == 1
    async with session_as(engine, people, people.coordinator) as session:
        assert len((await session.scalars(select(QualityHold))).all()) == 1


async def test_defects_can_never_exceed_the_sample(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=5)
    inspection = await inspection_in_progress(engine, people, produced)
    assert inspection.plans["major"]["hundred_percent"] is True
    assert qc.sample_size(inspection) == 5  # the largest class sample: every unit
    assert inspection.plans["minor"]["sample_size"] == 3  # AQL 4.0 at letter A follows the arrow to B
    await add_defects(engine, people, inspection.id, "minor", 3)
    with pytest.raises(ValidationFailed) as refused:
        await add_defects(engine, people, inspection.id, "minor", 1)
    assert "3" in str(refused.value)
    await add_defects(engine, people, inspection.id, "major", 2)
    with pytest.raises(ValidationFailed) as refused:
        await add_defects(engine, people, inspection.id, "critical", 1)
    assert "5" in str(refused.value)
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.in_progress
    async with session_as(engine, people, people.coordinator) as session:
        assert (await qc.defect_counts(session, inspection.id)) == {"critical": 0, "major": 2, "minor": 3}


async def test_measurements_out_of_tolerance_are_flagged_and_bad_numbers_refused(
    engine: AsyncEngine, people: People
) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    inspection = await inspection_in_progress(engine, people, produced)
    saved = await call_as(
        engine,
        people,
        people.coordinator,
        qc.save_findings,
        inspection_id=inspection.id,
        checklist={"p1": ("pass", ""), "p2": ("fail", "broke at 4 kg")},
        readings={"d1": ["300.2", "301.6", "298.4"]},
        quantity_check={"quantity_found": "300", "cartons_counted": "25", "carton_marks": "pass"},
        remarks="Line 2",
        expected_version=inspection.version,
    )
    assert saved.measurements[0]["out_of_tolerance"] == 2
    assert saved.checklist[1]["result"] == "fail"
    assert saved.quantity_check["quantity_found"] == 300
    for readings in (["abc"], ["NaN"], ["1e99"]):
        with pytest.raises(ValidationFailed):
            await call_as(
                engine,
                people,
                people.coordinator,
                qc.save_findings,
                inspection_id=inspection.id,
                readings={"d1": readings},
            )
    with pytest.raises(ValidationFailed):
        await call_as(
            engine,
            people,
            people.coordinator,
            qc.save_findings,
            inspection_id=inspection.id,
            quantity_check={"quantity_found": "-4"},
        )
    with pytest.raises(Conflict):  # a stale form
        await call_as(
            engine,
            people,
            people.coordinator,
            qc.save_findings,
            inspection_id=inspection.id,
            remarks="x",
            expected_version=inspection.version,
        )


async def test_tenancy_and_roles(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    inspection = await inspection_in_progress(engine, people, produced)
    with pytest.raises(NotFound):
        await call_as(
            engine,
            people,
            people.owner_b,
            qc.decide_inspection,
            inspection_id=inspection.id,
            decision="accept",
        )
    with pytest.raises(PermissionDenied):
        await call_as(
            engine,
            people,
            people.owner_a,
            qc.record_defect,
            inspection_id=inspection.id,
            defect_class="major",
            defect_type="appearance",
        )
    with pytest.raises(PermissionDenied):
        await call_as(
            engine, people, people.owner_a, qc.request_inspection, lot_id=produced.lot.id, kind="final"
        )
    with pytest.raises(ValidationFailed):
        await call_as(
            engine, people, people.coordinator, qc.request_inspection, lot_id=produced.lot.id, kind="casual"
        )


async def test_the_tracker_counts_defects_by_type_and_the_first_pass_yield_per_factory(
    engine: AsyncEngine, people: People
) -> None:
    failed = await produced_lot(engine, people, quantity=3000)
    inspection = await inspection_in_progress(engine, people, failed)
    await add_defects(engine, people, inspection.id, "major", 6, defect_type="appearance")
    await add_defects(engine, people, inspection.id, "major", 3, defect_type="dimension")
    await add_defects(engine, people, inspection.id, "minor", 1, defect_type="packaging")
    await call_as(
        engine, people, people.coordinator, qc.submit_inspection, inspection_id=inspection.id, submit_key="a"
    )
    async with session_as(engine, people, people.coordinator) as session:
        bars = tracker.pareto(
            (k, k, n) for k, n in await tracker.counts_by(session, "type", tracker.Filters())
        )
        assert [(b.key, b.count) for b in bars] == [("appearance", 6), ("dimension", 3), ("packaging", 1)]
        assert [round(b.cumulative, 2) for b in bars] == [0.6, 0.9, 1.0]
        rows, total = await tracker.defect_page(session, tracker.Filters(defect_class="major"))
        assert total == 9
        assert {r.reference for r in rows} == {inspection.reference}
        [fpy] = await tracker.first_pass_yield(session)
    assert (fpy.first_pass, fpy.inspected) == (0, 1)


async def test_the_report_renders_as_a_pdf(engine: AsyncEngine, people: People) -> None:
    produced = await produced_lot(engine, people, quantity=300)
    inspection = await inspection_in_progress(engine, people, produced)
    await call_as(
        engine,
        people,
        people.coordinator,
        qc.record_defect,
        inspection_id=inspection.id,
        defect_class="minor",
        defect_type="marking",
        note="标签歪斜 label skewed",
        files=[PhotoFile(jpeg(), "label.jpg")],
    )
    await call_as(engine, people, people.coordinator, qc.submit_inspection, inspection_id=inspection.id)
    async with session_as(engine, people, people.coordinator) as session:
        built = await report.build_report(session, await qc.load_inspection(session, inspection.id))
        html = report.render_html(built, mode="web", languages=("zh_Hans", "en"), photo_src=lambda p: "x")
        assert "标签歪斜 label skewed" in html
        assert "抽样方案与结论" in html
        assert "Sampling plan and verdict" in html
        data = await report.render_pdf(built, languages=("zh_Hans", "en"))
    assert data.startswith(b"%PDF")
