"""Change control while production runs: a revision issued during an order, its effectivity, the factory's
acknowledgement through its link, and floor deviations decided by the brand (DESIGN.md 3b; issue 14)."""

from __future__ import annotations

import html
import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.audit.models import AuditEvent
from makeready.conditions.models import Condition
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.production.lots import move_lot
from makeready.production.models import Lot
from makeready.shipping.models import ChangeStatus, DeviationStatus, FloorDeviation, RevisionChange
from makeready.specs import service as spec_service
from makeready.specs.models import RevisionStatus, SpecRevision
from tests.conftest import World, csrf, login
from tests.shipping_support import Running, pass_inspection, people_of, produce, running_order, staff_post
from tests.workflow_support import People, call_as, session_as, system

Client = AsyncTestClient[Litestar]


async def issue_revision_b(engine: AsyncEngine, people: People, running: Running) -> SpecRevision:
    """Revision 2 approved by the brand, then issued by the coordinator through the spec service (its event)."""
    async with system(engine) as session:
        revision = SpecRevision(
            org_id=running.order.org_id,
            project_id=running.project_id,
            number=2,
            status=RevisionStatus.approved,
            content={},
            approved_at=utcnow(),
        )
        session.add(revision)
    return await call_as(
        engine, people, people.coordinator, spec_service.act, action="issue", revision_id=revision.id
    )


async def the_change(engine: AsyncEngine) -> RevisionChange:
    async with system(engine) as session:
        return (await session.scalars(select(RevisionChange))).one()


async def holds(engine: AsyncEngine) -> dict[int, bool]:
    """Lot id -> whether its revision-change hold is unresolved."""
    async with system(engine) as session:
        rows = (
            await session.scalars(select(Condition).where(Condition.kind == "hold.revision_change"))
        ).all()
    return {row.subject_id: row.resolved_at is None for row in rows}


def revision_cells(page: str) -> dict[str, str]:
    cells = {}
    for number, cell in re.findall(r'<tr id="lot-(\d+)">.*?<td class="revision">(.*?)</td>', page, re.S):
        cells[number] = html.unescape(re.sub(r"\s+", " ", cell)).strip()
    return cells


async def test_effectivity_moves_later_lots_to_the_new_revision_on_hold_until_the_factory_acknowledges(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    revision_a = running.arranged.revision
    revision_b = await issue_revision_b(engine, people, running)
    change = await the_change(engine)
    assert change.status == ChangeStatus.pending
    assert (change.from_revision_id, change.to_revision_id) == (revision_a.id, revision_b.id)

    await login(client, world.coordinator.email)
    page = await client.get(running.coordinator_page)
    assert f"/shipping/changes/{change.id}" in page.text
    no_reason = await staff_post(
        client, f"{running.coordinator_page}/changes/{change.id}", {"from_lot": "2", "reason": ""}
    )
    assert no_reason.status_code == 422
    no_lot = await staff_post(
        client, f"{running.coordinator_page}/changes/{change.id}", {"from_lot": "9", "reason": "Safer shade"}
    )
    assert no_lot.status_code == 422
    decided = await staff_post(
        client,
        f"{running.coordinator_page}/changes/{change.id}",
        {
            "from_lot": "2",
            "reason": "Lot 1 is already cut; the new shade from lot 2",
            "version": str(change.version),
        },
    )
    assert decided.status_code == 303
    async with system(engine) as session:
        lots = {lot.number: lot for lot in (await session.scalars(select(Lot))).all()}
    assert lots[1].revision_id == revision_a.id
    assert lots[2].revision_id == revision_b.id
    assert lots[3].revision_id == revision_b.id
    assert await holds(engine) == {lots[2].id: True, lots[3].id: True}
    again = await staff_post(
        client,
        f"{running.coordinator_page}/changes/{change.id}",
        {"from_lot": "1", "reason": "Changed my mind"},
    )
    assert again.status_code == 409

    # the factory's page: the new revision for lots 2 and 3, the old one for lot 1, and the acknowledgement form
    factory = await client.get(f"/p/{running.token}/shipping?lang=en")
    cells = revision_cells(factory.text)
    assert cells["1"] == revision_a.label
    assert cells["2"].startswith(revision_b.label)
    assert cells["3"].startswith(revision_b.label)
    assert f"/shipping/revisions/{change.id}/acknowledge" in factory.text

    # a held lot cannot be released for packing: the lot's own gate lists the hold
    lot_2 = lots[2]
    await produce(engine, people, running, lot_2)
    await pass_inspection(engine, people, lot_2)
    async with session_as(engine, people, people.coordinator) as session:
        loaded = await session.get_one(Lot, lot_2.id)
        with pytest.raises(Conflict) as refused:
            await move_lot(session, loaded, "release", actor=people.coordinator)
    assert "has not acknowledged" in refused.value.message

    nameless = await client.post(
        f"/p/{running.token}/shipping/revisions/{change.id}/acknowledge",
        data={"name": "", "lang": "en"},
        follow_redirects=False,
    )
    assert nameless.status_code == 422
    acknowledged = await client.post(
        f"/p/{running.token}/shipping/revisions/{change.id}/acknowledge",
        data={"name": "王磊"},
        follow_redirects=False,
    )
    assert acknowledged.status_code == 303
    assert await holds(engine) == {lots[2].id: False, lots[3].id: False}
    after = await the_change(engine)
    assert after.status == ChangeStatus.acknowledged
    assert after.acknowledged_name == "王磊"
    # the lot records the revision it is built to, and now it may be released
    async with session_as(engine, people, people.coordinator) as session:
        loaded = await session.get_one(Lot, lot_2.id)
        await move_lot(session, loaded, "release", actor=people.coordinator)
        assert loaded.revision_id == revision_b.id
    twice = await client.post(
        f"/p/{running.token}/shipping/revisions/{change.id}/acknowledge",
        data={"name": "王磊", "lang": "en"},
        follow_redirects=False,
    )
    assert twice.status_code == 409


async def test_a_revision_not_for_this_order_changes_no_lot(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await issue_revision_b(engine, people, running)
    change = await the_change(engine)
    await login(client, world.coordinator.email)
    decided = await staff_post(
        client,
        f"{running.coordinator_page}/changes/{change.id}",
        {"from_lot": "none", "reason": "Cosmetic change; the brand keeps this order as it is"},
    )
    assert decided.status_code == 303
    assert (await the_change(engine)).status == ChangeStatus.not_applied
    async with system(engine) as session:
        assert {lot.revision_id for lot in (await session.scalars(select(Lot))).all()} == {
            running.arranged.revision.id
        }
    assert await holds(engine) == {}


async def test_floor_deviations_are_approved_by_the_brand_or_become_nonconformances(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    lot = running.lots[0]
    nameless = await client.post(
        f"/p/{running.token}/shipping/deviations",
        data={"lot_id": str(lot.id), "description": "换了螺丝", "name": ""},
        follow_redirects=False,
    )
    assert nameless.status_code == 422
    other_order_lot = await client.post(
        f"/p/{running.token}/shipping/deviations",
        data={"lot_id": "999999", "description": "换了螺丝", "name": "王磊"},
        follow_redirects=False,
    )
    assert other_order_lot.status_code == 422
    reported = await client.post(
        f"/p/{running.token}/shipping/deviations",
        data={
            "lot_id": str(lot.id),
            "description": "M3 screws from another supplier, same grade",
            "name": "王磊",
        },
        follow_redirects=False,
    )
    assert reported.status_code == 303
    await login(client, world.coordinator.email)
    inspector = await staff_post(
        client,
        f"{running.coordinator_page}/deviations",
        {"order_id": str(running.order.id), "lot_id": "", "description": "Glue bead thinner than the sample"},
    )
    assert inspector.status_code == 303
    async with system(engine) as session:
        first, second = (await session.scalars(select(FloorDeviation).order_by(FloorDeviation.number))).all()
    assert first.via_link
    assert first.reported_by_name == "王磊"
    assert not second.via_link
    assert second.reported_by_id == world.coordinator.id

    # the coordinator does not decide: the brand does
    client.cookies.clear()
    await login(client, world.owner_a.email)
    page = await client.get(f"/projects/{running.project_id}/shipments")
    assert "M3 screws from another supplier" in page.text
    decide = f"/projects/{running.project_id}/deviations"
    no_comment = await client.post(
        f"{decide}/{second.id}/decision",
        data={"_csrf_token": csrf(client), "decision": "reject", "comment": ""},
        follow_redirects=False,
    )
    assert no_comment.status_code == 422
    approved = await client.post(
        f"{decide}/{first.id}/decision",
        data={"_csrf_token": csrf(client), "decision": "approve", "version": str(first.version)},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    rejected = await client.post(
        f"{decide}/{second.id}/decision",
        data={
            "_csrf_token": csrf(client),
            "decision": "reject",
            "comment": "Not acceptable: rework the glue",
        },
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    async with system(engine) as session:
        first, second = (await session.scalars(select(FloorDeviation).order_by(FloorDeviation.number))).all()
        events = [
            e.action
            for e in (
                await session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.subject_type == "floor_deviation")
                    .order_by(AuditEvent.id)
                )
            ).all()
        ]
    assert first.status == DeviationStatus.approved
    assert first.decided_by_id == world.owner_a.id
    assert second.status == DeviationStatus.nonconformance
    assert second.decision_comment == "Not acceptable: rework the glue"
    assert events == [
        "floor_deviation.reported",
        "floor_deviation.reported",
        "floor_deviation.approved",
        "floor_deviation.nonconformance",
    ]
    decided_again = await client.post(
        f"{decide}/{first.id}/decision",
        data={"_csrf_token": csrf(client), "decision": "reject", "comment": "late"},
        follow_redirects=False,
    )
    assert decided_again.status_code == 409

    # another organization neither sees nor decides
    client.cookies.clear()
    await login(client, world.owner_b.email)
    assert (await client.get(f"/projects/{running.project_id}/shipments")).status_code == 404
    foreign = await client.post(
        f"{decide}/{first.id}/decision",
        data={"_csrf_token": csrf(client), "decision": "approve"},
        follow_redirects=False,
    )
    assert foreign.status_code == 404


async def test_a_produced_lot_keeps_the_revision_it_was_built_to(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await produce(engine, people, running, running.lots[0])
    revision_b = await issue_revision_b(engine, people, running)
    change = await the_change(engine)
    await login(client, world.coordinator.email)
    decided = await staff_post(
        client,
        f"{running.coordinator_page}/changes/{change.id}",
        {"from_lot": "1", "reason": "Everything not yet built"},
    )
    assert decided.status_code == 303
    async with system(engine) as session:
        lots = {lot.number: lot for lot in (await session.scalars(select(Lot))).all()}
    assert lots[1].revision_id == running.arranged.revision.id
    assert {lots[2].revision_id, lots[3].revision_id} == {revision_b.id}
    assert set(await holds(engine)) == {lots[2].id, lots[3].id}
