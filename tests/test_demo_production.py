"""The demo's production stories, read back through the services and pages a visitor uses: materials (a shortage
and free issue in transit), quality (a failed lot on hold with a corrective action, a concession), shipping (a
released and a blocked shipment) and change control (a revision effective from lot 2, acknowledged by the factory)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import composition, demo, urls
from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.conditions.service import unresolved_for
from makeready.db.types import utcnow
from makeready.decisions import log as decision_log
from makeready.errors import Conflict
from makeready.materials import readiness, shortages
from makeready.materials.models import ShipmentStatus as FreeIssueStatus
from makeready.materials.supply import shipments_of
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.models import Project
from makeready.quality import holds
from makeready.quality import photos as quality_photos
from makeready.quality.actions import actions_of_order
from makeready.quality.inspections import defects_of, inspections_of_order
from makeready.quality.models import ActionStatus, InspectionStatus
from makeready.shipping import shipments as shipment_service
from makeready.shipping.changes import HOLD_REVISION, changes_of_order
from makeready.shipping.models import ChangeStatus, ShipmentStatus
from makeready.specs.models import SpecRevision
from tests.conftest import SeededDemo, _login_through_form

TODAY = date(2026, 6, 15)


async def _seeded(
    db: AsyncSession, seeded_demo: SeededDemo, today: date = TODAY
) -> tuple[ProductionOrder, list[Lot], Project]:
    await seeded_demo(today)
    order = await db.scalar(select(ProductionOrder))
    assert order is not None
    lots = list((await db.scalars(select(Lot).where(Lot.order_id == order.id).order_by(Lot.number))).all())
    project = await db.get_one(Project, order.project_id)
    return order, lots, project


async def test_the_demo_tells_the_production_stage_stories(db: AsyncSession, seeded_demo: SeededDemo) -> None:
    order, lots, project = await _seeded(db, seeded_demo)
    first, second, third, _fourth, fifth = lots
    order_id = order.id

    # materials: the LED modules the purchase order left out are an open "not ordered" shortage on the next lot
    # to start, owned by the project's coordinator; the rest of the factory's and agency's materials are in
    lines = {
        line.requirement.material_code: line for line in await readiness.lines_of(db, order.id, today=TODAY)
    }
    assert lines["LED-2795-24"].state == readiness.Readiness.not_ordered
    assert lines["LED-2795-24"].requirement.order_by_date < TODAY
    assert (
        lines["LED-2795-24"].in_house + lines["LED-2795-24"].on_order < lines["LED-2795-24"].requirement.gross
    )
    for code in ("AL-1050-D450", "GL-OPAL-380", "CBL-TX-3M"):
        assert lines[code].state == readiness.Readiness.in_house, code
    open_shortages = {c.kind: c for c in await shortages.open_shortages(db, order.id)}
    not_ordered = open_shortages[shortages.NOT_ORDERED.name]
    assert (not_ordered.subject_id, not_ordered.owner_id) == (fifth.id, project.coordinator_id)
    assert project.coordinator_id is not None
    # the brand's labels: a first shipment received, the second shipped and not yet arrived
    free_issue = sorted(await shipments_of(db, order.id), key=lambda s: s.id)
    assert [(s.status, s.quantity) for s in free_issue] == [
        (FreeIssueStatus.received, Decimal(2400)),
        (FreeIssueStatus.shipped, Decimal(600)),
    ]
    assert free_issue[1].eta > TODAY
    assert lines["LBL-LUMEN-W"].on_order == Decimal(600)

    # quality: lot 2 failed on majors over its plan's acceptance number, held, rejected, a corrective action open
    inspections = {i.lot_id: i for i in await inspections_of_order(db, order.id)}
    failed = inspections[second.id]
    assert failed.verdict == "reject"
    assert failed.status == InspectionStatus.rejected
    assert failed.counts["major"] > failed.plans["major"]["accept"]
    assert [h.source for h in await holds.active_holds(db, second)] == ["failed_inspection"]
    [action] = await actions_of_order(db, order.id)
    assert (action.lot_id, action.status) == (second.id, ActionStatus.requested)
    photographed = await quality_photos.photos_of(
        db, "defect", [d.id for d in await defects_of(db, failed.id)]
    )
    assert photographed
    # lot 3 failed on minors and the brand accepted it with a concession: passed, no hold
    conceded = inspections[third.id]
    assert conceded.status == InspectionStatus.accepted_with_concession
    assert conceded.verdicts["minor"] == "reject"
    assert conceded.concession
    assert conceded.concession_amount == Decimal("900.00")
    assert await holds.active_holds(db, third) == []
    assert inspections[first.id].status == InspectionStatus.accepted

    # shipping: shipment 1 (lot 1) released with its documents; shipment 2's gate lists lot 2's hold
    released, blocked = await shipment_service.shipments_of_project(db, project.id)
    assert released.status == ShipmentStatus.released
    assert released.released_at is not None
    assert released.released_by_id == project.coordinator_id
    assert set(await shipment_service.documents_of(db, released.id)) == {"commercial_invoice", "packing_list"}
    assert [lot.id for lot in await shipment_service.lots_of_shipment(db, released.id)] == [first.id]
    decision = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "shipment.released",
            AuditEvent.subject_type == "shipment",
            AuditEvent.subject_id == released.id,
        )
    )
    assert decision is not None
    assert decision.actor_id == project.coordinator_id
    assert blocked.status == ShipmentStatus.planned
    missing, _payment = await shipment_service.release_missing(db, blocked)
    assert any(text.startswith("Quality hold:") for text in missing), missing
    with pytest.raises(Conflict, match="Quality hold"):
        await shipment_service.release_shipment(
            db, actor=await _coordinator(db, project), shipment_id=blocked.id
        )
    await db.rollback()

    # change control: revision B effective from lot 2, acknowledged by the factory; lots record what they were built to
    [change] = await changes_of_order(db, order_id)
    assert (change.status, change.from_lot_number) == (ChangeStatus.acknowledged, 2)
    assert change.acknowledged_at is not None
    lots = list((await db.scalars(select(Lot).where(Lot.order_id == order_id).order_by(Lot.number))).all())
    assert sorted(change.lot_ids or []) == [lot.id for lot in lots[1:]]
    revisions = {r.id: r.label for r in (await db.scalars(select(SpecRevision))).all()}
    assert [revisions[lot.revision_id] for lot in lots] == ["A", "B", "B", "B", "B"]
    held = await unresolved_for(db, subject_type="lot", subject_ids=[lot.id for lot in lots])
    assert [c.subject_id for c in held if c.kind == HOLD_REVISION.name] == []


async def _coordinator(db: AsyncSession, project: Project) -> User:
    return await db.get_one(User, project.coordinator_id)


async def test_a_visitor_sees_the_stories_on_the_pages(
    db: AsyncSession, app: Litestar, client: AsyncTestClient[Litestar], seeded_demo: SeededDemo
) -> None:
    order, _lots, project = await _seeded(db, seeded_demo, utcnow().date())  # the pages look at today's board
    await _login_through_form(client, demo.AGENCY_STAFF[0].email, demo.DEMO_PASSWORD)
    board = await client.get(urls.production_board())
    assert board.status_code == 200
    # lot 5's card carries its sticky note: the shortage, with its owner
    assert 'data-note="shortage.not_ordered"' in board.text
    assert "Pending parts: not ordered · Chen Wei" in board.text
    shipping = await client.get(urls.coordinator_shipping(project.id))
    assert shipping.status_code == 200
    assert "Quality hold" in shipping.text
    materials = await client.get(urls.order_materials(order.id))
    assert materials.status_code == 200
    assert "DHL 4821 9102 66" in materials.text
    # the brand reads the concession it granted and its released shipment
    brand = demo.BRAND_USERS[0]
    async with AsyncTestClient(app=app, base_url=str(client.base_url)) as brand_client:
        await _login_through_form(brand_client, brand.email, demo.DEMO_PASSWORD)
        for path in (
            urls.production(project.id),
            f"/projects/{project.id}/inspections",
            f"/projects/{project.id}/shipments",
            urls.brand_order_materials(order.id),
        ):
            page = await brand_client.get(path)
            assert page.status_code == 200, path
        inspections = await brand_client.get(f"/projects/{project.id}/inspections")
        assert "Accepted with concession" in inspections.text
        assert "Rejected" in inspections.text


async def test_the_decision_log_names_what_holds_packing_lists_actions_and_changes_are_about(
    db: AsyncSession, seeded_demo: SeededDemo
) -> None:
    """Each of these events carries only its subject's id: the log names the lot (or the order) it concerns."""
    composition.wire()
    order, _lots, project = await _seeded(db, seeded_demo)
    reference = f"PO-{order.project_id}-{order.number}"
    events = list(
        (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.project_id == project.id,
                    AuditEvent.action.in_(
                        (
                            "quality_hold.lifted",
                            "packing_list.submitted",
                            "corrective_action.requested",
                            "revision_change.acknowledged",
                            "free_issue.shipped",
                        )
                    ),
                )
            )
        ).all()
    )
    labels = await decision_log.subject_labels(db, events)
    sentences = {
        decision_log.describe(
            event,
            actor="Chen",
            milestones={},
            subject=labels.get((event.subject_type, event.subject_id or 0)),
        ).sentence
        for event in events
    }
    assert "Chen lifted the quality hold on " + reference + " lot 3." in sentences
    assert "The factory submitted the packing list of " + reference + " lot 1." in sentences
    assert "A corrective action was requested from the factory for " + reference + " lot 2." in sentences
    assert (
        "The factory acknowledged the new revision of the specification for production order "
        + reference
        + "."
    ) in sentences
    assert "Chen shipped free-issue material to the factory for " + reference + "." in sentences
