"""Quality through HTTP: the inspector's pages, holds blocking release, the brand's decision, the factory's link
pages, and who may open what (issue 13)."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.production.models import Lot, LotStatus, ProductionPhoto
from makeready.quality import holds
from makeready.quality import inspections as qc
from makeready.quality.models import (
    ActionStatus,
    CorrectiveAction,
    Defect,
    Inspection,
    InspectionStatus,
    QualityHold,
)
from makeready.storage import get_storage
from tests.conftest import World, csrf, login
from tests.quality_support import Produced, add_defects, inspection_in_progress, jpeg, produced_lot, submitted
from tests.workflow_support import People, call_as, events, reload, system

Client = AsyncTestClient[Litestar]


def people_of(world: World) -> People:
    return People(
        org_a=world.org_a,
        org_b=world.org_b,
        owner_a=world.owner_a,
        member_a=world.member_a,
        viewer_a=world.viewer_a,
        owner_b=world.owner_b,
        coordinator=world.coordinator,
        coordinator2=world.coordinator,
        admin=world.admin,
    )


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


async def _post(client: Client, url: str, data: dict[str, str], **kwargs: object) -> object:
    return await client.post(  # type: ignore[arg-type]
        url, data={"_csrf_token": csrf(client), **data}, follow_redirects=False, **kwargs
    )


async def test_the_inspector_fills_submits_once_and_a_hold_blocks_release(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await inspection_in_progress(engine, people, produced)
    await login(client, world.coordinator.email)
    url = f"/coordinator/inspections/{inspection.id}"
    page = await client.get(url)
    assert page.status_code == 200
    assert "Shade finish even" in page.text
    # the findings form
    response = await client.post(
        f"{url}/findings",
        data={
            "_csrf_token": csrf(client),
            "version": field(page.text, "version"),
            "check.p1": "pass",
            "check.p2": "pass",
            "reading.d1": "300.1 302",
            "quantity_found": "3000",
            "cartons_counted": "250",
            "carton_marks": "pass",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    # a defect with a photo (multipart)
    page = await client.get(url)
    assert "1 readings out of tolerance" in page.text
    response = await client.post(
        f"{url}/defects",
        data={
            "_csrf_token": csrf(client),
            "version": field(page.text, "version"),
            "defect_class": "major",
            "defect_type": "appearance",
            "note": "Scratch on the rim",
        },
        files={"photos": ("rim.jpg", jpeg(), "image/jpeg")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    async with system(engine) as session:
        photo = (await session.scalars(select(ProductionPhoto))).one()
        assert photo.subject_type == "defect"
    thumb = await client.get(f"/coordinator/quality/photos/{photo.id}/image")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"].startswith("image/jpeg")
    # the rest of the majors, then submit twice with the same key (a retry) and once from another phone
    await add_defects(engine, people, inspection.id, "major", 7)
    page = await client.get(url)
    version, key = field(page.text, "version"), field(page.text, "submit_key")
    first = await _post(client, f"{url}/submit", {"version": version, "submit_key": key})
    assert first.status_code == 303  # type: ignore[attr-defined]
    retry = await _post(client, f"{url}/submit", {"version": version, "submit_key": key})
    assert retry.status_code == 303  # type: ignore[attr-defined]
    other = await _post(client, f"{url}/submit", {"version": version, "submit_key": "another-phone"})
    assert other.status_code == 409  # type: ignore[attr-defined]
    assert "Submitted" in other.text  # type: ignore[attr-defined]
    assert len(await events(engine, "inspection.submitted")) == 1
    stored = await reload(engine, Inspection, inspection.id)
    assert stored.verdict == "reject"
    assert stored.counts["major"] == 8
    # the lot failed and is held; a concession below passes it; a manual hold then blocks its release over HTTP
    await call_as(engine, people, people.coordinator, qc.send_for_review, inspection_id=inspection.id)
    await login(client, world.owner_a.email)
    review = f"/projects/{produced.arranged.project.id}/inspections/{inspection.id}"
    page = await client.get(review)
    assert page.status_code == 200
    assert "Scratch on the rim" in page.text
    response = await _post(
        client,
        f"{review}/decision",
        {
            "version": field(page.text, "version"),
            "decision": "concede",
            "concession": "Rim scratches",
            "remedy": "3% off",
            "amount": "378",
        },
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.passed
    async with system(engine) as session:
        lot = await session.get(Lot, produced.lot.id)
        assert lot is not None
        await holds.place_hold(session, lot=lot, reason="Unacknowledged revision 2", source="revision_change")
    await login(client, world.coordinator.email)
    lot_row = await reload(engine, Lot, produced.lot.id)
    refused = await _post(
        client,
        f"/coordinator/lots/{produced.lot.id}/release",
        {"version": str(lot_row.version), "inspection_id": str(inspection.id)},
    )
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Unacknowledged revision 2" in refused.text  # type: ignore[attr-defined]
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.passed
    async with system(engine) as session:
        hold = (
            await session.scalars(select(QualityHold).where(QualityHold.source == "revision_change"))
        ).one()
    lifted = await _post(
        client, f"/coordinator/holds/{hold.id}/lift", {"version": str(hold.version), "reason": "Acknowledged"}
    )
    assert lifted.status_code == 303  # type: ignore[attr-defined]
    released = await _post(
        client, f"/coordinator/lots/{produced.lot.id}/release", {"inspection_id": str(inspection.id)}
    )
    assert released.status_code == 303  # type: ignore[attr-defined]
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.released


async def test_counts_over_the_sample_are_refused_over_http(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=5)
    inspection = await inspection_in_progress(engine, people, produced)
    await add_defects(engine, people, inspection.id, "minor", 3)
    await login(client, world.coordinator.email)
    url = f"/coordinator/inspections/{inspection.id}"
    page = await client.get(url)
    response = await _post(
        client,
        f"{url}/defects",
        {"version": field(page.text, "version"), "defect_class": "minor", "defect_type": "other"},
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "sample of 3 units" in response.text  # type: ignore[attr-defined]
    async with system(engine) as session:
        assert len((await session.scalars(select(Defect))).all()) == 3


async def _in_review(engine: AsyncEngine, world: World, majors: int) -> tuple[Produced, Inspection]:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=3000)
    return produced, await submitted(engine, people, produced, majors=majors)


async def test_the_brand_accepts_rejects_and_cannot_decide_twice(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=9)
    await login(client, world.owner_a.email)
    review = f"/projects/{produced.arranged.project.id}/inspections/{inspection.id}"
    page = await client.get(review)
    # a failed lot is not plainly accepted
    response = await _post(client, f"{review}/decision", {"decision": "accept"})
    assert response.status_code == 409  # type: ignore[attr-defined]
    # rejecting needs reasons
    response = await _post(client, f"{review}/decision", {"decision": "reject"})
    assert response.status_code == 422  # type: ignore[attr-defined]
    response = await _post(
        client,
        f"{review}/decision",
        {"version": field(page.text, "version"), "decision": "reject", "reasons": "Too many scratches"},
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.rejected
    async with system(engine) as session:
        action = (await session.scalars(select(CorrectiveAction))).one()
    assert action.status == ActionStatus.requested
    # no longer in review: a conflict
    response = await _post(client, f"{review}/decision", {"decision": "reject", "reasons": "again"})
    assert response.status_code == 409  # type: ignore[attr-defined]


async def test_the_brand_accepts_a_passed_lot_over_http(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=2)
    await login(client, world.member_a.email)
    review = f"/projects/{produced.arranged.project.id}/inspections/{inspection.id}"
    response = await _post(client, f"{review}/decision", {"decision": "accept"})
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.accepted


async def test_tenancy_and_roles_over_http(client: Client, engine: AsyncEngine, world: World) -> None:
    produced, inspection = await _in_review(engine, world, majors=0)
    project_id = produced.arranged.project.id
    review = f"/projects/{project_id}/inspections/{inspection.id}"
    # another organization: not found, never forbidden
    await login(client, world.owner_b.email)
    assert (await client.get(review)).status_code == 404
    assert (await client.get(f"/projects/{project_id}/inspections")).status_code == 404
    response = await _post(client, f"{review}/decision", {"decision": "accept"})
    assert response.status_code == 404  # type: ignore[attr-defined]
    # the brand cannot write inspections (the coordinator pages refuse it before any lookup)
    await login(client, world.owner_a.email)
    assert (await client.get(f"/coordinator/inspections/{inspection.id}")).status_code == 403
    response = await _post(
        client,
        f"/coordinator/inspections/{inspection.id}/defects",
        {"defect_class": "major", "defect_type": "other"},
    )
    assert response.status_code == 403  # type: ignore[attr-defined]
    # a viewer reads the report but is told it cannot decide; a decision it posts is refused
    await login(client, world.viewer_a.email)
    page = await client.get(review)
    assert page.status_code == 200
    assert "Viewers can look but not decide" in page.text
    response = await _post(client, f"{review}/decision", {"decision": "accept"})
    assert response.status_code == 403  # type: ignore[attr-defined]
    # the inspection under another project of the same organization's path: not found
    assert (await client.get(f"/projects/{project_id + 999}/inspections/{inspection.id}")).status_code == 404
    # a coordinator still sees it all
    await login(client, world.coordinator.email)
    assert (await client.get(f"/coordinator/inspections/{inspection.id}/report")).status_code == 200
    assert (await client.get("/coordinator/quality/defects")).status_code == 200


async def test_the_factory_answers_a_corrective_action_through_its_link(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=9)
    people = people_of(world)
    await call_as(
        engine,
        people,
        world.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="reject",
        reasons="划痕太多 Too many scratches",
    )
    base = f"/p/{produced.token}/quality"
    page = await client.get(base)
    assert page.status_code == 200
    assert "纠正措施" in page.text or "Corrective action" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    async with system(engine) as session:
        action = (await session.scalars(select(CorrectiveAction))).one()
    # refused: the name is missing; nothing is kept
    response = await client.post(
        f"{base}/actions/{action.id}",
        data={
            "root_cause": "夹具磨损",
            "action": "更换夹具",
            "rework_done": "抛光",
            "reworked_quantity": "3000",
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert (await reload(engine, CorrectiveAction, action.id)).status == ActionStatus.requested
    response = await client.post(
        f"{base}/actions/{action.id}",
        data={
            "name": "王磊",
            "root_cause": "夹具磨损",
            "action": "更换夹具",
            "rework_done": "抛光",
            "reworked_quantity": "3000",
        },
        files={"photos": ("evidence.jpg", jpeg((20, 120, 20)), "image/jpeg")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert (await reload(engine, CorrectiveAction, action.id)).status == ActionStatus.answered
    assert (await reload(engine, Lot, produced.lot.id)).status == LotStatus.rework
    # the report, through the link
    report = await client.get(f"{base}/inspections/{inspection.id}")
    assert report.status_code == 200
    assert inspection.reference in report.text
    # a token nobody issued, and another order's action
    assert (await client.get("/p/" + "x" * 43 + "/quality")).status_code == 404
    other, _other = await _in_review(engine, world, majors=0)
    response = await client.post(
        f"/p/{other.token}/quality/actions/{action.id}",
        data={"name": "x", "root_cause": "x", "action": "x", "rework_done": "x", "reworked_quantity": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 404


async def _objects(org_id: int) -> set[str]:
    return {obj.key async for batch in get_storage().list_objects(f"org/{org_id}/") for obj in batch}


async def test_a_refused_photo_leaves_nothing_behind(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=300)
    inspection = await inspection_in_progress(engine, people, produced)
    await login(client, world.coordinator.email)
    url = f"/coordinator/inspections/{inspection.id}"
    page = await client.get(url)
    before = await _objects(world.org_a.id)
    for name, data, kind in (
        (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        ("photo.jpg", b"<html><body>not a photo</body></html>", "image/jpeg"),
    ):
        response = await client.post(
            f"{url}/defects",
            data={
                "_csrf_token": csrf(client),
                "version": field(page.text, "version"),
                "defect_class": "major",
                "defect_type": "appearance",
            },
            files={"photos": (name, data, kind)},
            follow_redirects=False,
        )
        assert response.status_code == 422, (name, response.status_code)
    async with system(engine) as session:
        assert (await session.scalars(select(Defect))).all() == []
        assert (await session.scalars(select(ProductionPhoto))).all() == []
    assert await _objects(world.org_a.id) == before  # no orphan object either


async def test_the_factory_form_refuses_a_post_from_another_site(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=9)
    await call_as(
        engine,
        people_of(world),
        world.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="reject",
        reasons="Scratches",
    )
    async with system(engine) as session:
        action = (await session.scalars(select(CorrectiveAction))).one()
    response = await client.post(
        f"/p/{produced.token}/quality/actions/{action.id}",
        data={"name": "x", "root_cause": "x", "action": "x", "rework_done": "x", "reworked_quantity": "1"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert (await reload(engine, CorrectiveAction, action.id)).status == ActionStatus.requested


async def test_a_stale_brand_decision_is_a_conflict(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=0)
    review = f"/projects/{produced.arranged.project.id}/inspections/{inspection.id}"
    await login(client, world.owner_a.email)
    page = await client.get(review)
    stale = str(int(field(page.text, "version")) - 1)
    response = await _post(client, f"{review}/decision", {"version": stale, "decision": "accept"})
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.brand_review
