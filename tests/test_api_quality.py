"""The quality API: brands read their inspections (plans, and once in review the counts and the computed verdict),
defects, holds and corrective actions; the brand decides on an inspection in review (409 otherwise, 403 for a
coordinator); staff tokens create inspections (the plans computed by the service) and lift holds; a brand cannot
(403 in its own organization); another organization gets 404 everywhere; bad bodies are 400/422."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.quality.models import (
    ActionStatus,
    CorrectiveAction,
    HoldStatus,
    Inspection,
    InspectionStatus,
    QualityHold,
)
from tests.conftest import World
from tests.production_support import in_days
from tests.quality_support import Produced, produced_lot, submitted
from tests.test_api_samples import _problem, bearer
from tests.test_quality_pages import people_of
from tests.workflow_support import reload, system

Client = AsyncTestClient[Litestar]
FINDINGS = ("counts", "verdicts", "verdict", "remarks")


async def _in_review(
    engine: AsyncEngine, world: World, *, majors: int, review: bool = True
) -> tuple[Produced, Inspection]:
    people = people_of(world)
    produced = await produced_lot(engine, people)
    return produced, await submitted(engine, people, produced, majors=majors, review=review)


async def _count(engine: AsyncEngine, model: Any) -> int:
    async with system(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_brand_reads_plans_counts_and_the_computed_verdict_of_its_inspections(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=8)
    brand = await bearer(engine, world.owner_a)
    listed = await client.get(f"/api/v1/production-orders/{produced.order.id}/inspections", headers=brand)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1
    [item] = page["items"]
    assert item["id"] == inspection.id
    assert item["status"] == "brand_review"
    assert item["sample_size"] == 125
    major = item["plans"]["major"]
    assert (major["code_letter"], major["sample_size"], major["accept"], major["reject"]) == ("K", 125, 7, 8)
    assert item["plans"]["critical"]["zero_tolerance"] is True
    assert (item["plans"]["minor"]["accept"], item["plans"]["minor"]["reject"]) == (10, 11)
    # 8 majors reach Re 8: the verdict is computed, the lot rejected
    assert item["counts"] == {"critical": 0, "major": 8, "minor": 0}
    assert item["verdicts"]["major"] == "reject"
    assert item["verdict"] == "reject"

    one = await client.get(f"/api/v1/inspections/{inspection.id}", headers=brand)
    assert one.status_code == 200
    assert one.json()["reference"] == f"QC-{produced.lot.id}-1"
    by_lot = (await client.get(f"/api/v1/lots/{produced.lot.id}/inspections", headers=brand)).json()
    assert [i["id"] for i in by_lot["items"]] == [inspection.id]

    # defects, paged in the order recorded
    first = (await client.get(f"/api/v1/inspections/{inspection.id}/defects?limit=5", headers=brand)).json()
    assert (first["total"], len(first["items"]), first["limit"]) == (8, 5, 5)
    assert {d["defect_class"] for d in first["items"]} == {"major"}
    rest = (
        await client.get(f"/api/v1/inspections/{inspection.id}/defects?limit=5&offset=5", headers=brand)
    ).json()
    assert len(rest["items"]) == 3
    assert not {d["id"] for d in first["items"]} & {d["id"] for d in rest["items"]}
    _problem(await client.get(f"/api/v1/inspections/{inspection.id}/defects?limit=0", headers=brand), 400)
    _problem(await client.get(f"/api/v1/inspections/{inspection.id}/defects?offset=-1", headers=brand), 400)

    # the failed verdict held the lot: on the order's list and among the lot's active holds
    holds = (await client.get(f"/api/v1/production-orders/{produced.order.id}/holds", headers=brand)).json()
    assert [(h["source"], h["status"]) for h in holds["items"]] == [("failed_inspection", "active")]
    lot_holds = (await client.get(f"/api/v1/lots/{produced.lot.id}/holds", headers=brand)).json()
    assert [h["id"] for h in lot_holds] == [holds["items"][0]["id"]]


async def test_before_the_review_a_brand_sees_no_findings_and_staff_do(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    _produced, inspection = await _in_review(engine, world, majors=3, review=False)
    brand = await bearer(engine, world.owner_a)
    seen = await client.get(f"/api/v1/inspections/{inspection.id}", headers=brand)
    assert seen.status_code == 200
    body = seen.json()
    assert body["status"] == "submitted"
    assert body["plans"]["major"]["sample_size"] == 125
    for key in FINDINGS:
        assert key not in body
    _problem(await client.get(f"/api/v1/inspections/{inspection.id}/defects", headers=brand), 404)
    # not yet sent for review: no decision
    early = _problem(
        await client.post(
            f"/api/v1/inspections/{inspection.id}/decision", json={"decision": "accept"}, headers=brand
        ),
        409,
    )
    assert early.get("current_state") == "submitted"

    staff = await bearer(engine, world.coordinator)
    theirs = (await client.get(f"/api/v1/inspections/{inspection.id}", headers=staff)).json()
    assert theirs["counts"]["major"] == 3
    assert theirs["verdict"] == "accept"
    defects = (await client.get(f"/api/v1/inspections/{inspection.id}/defects", headers=staff)).json()
    assert defects["total"] == 3


async def test_the_brand_rejects_with_reasons_and_cannot_decide_twice(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=9)
    url = f"/api/v1/inspections/{inspection.id}/decision"
    brand = await bearer(engine, world.owner_a)
    # bad bodies: an unknown decision or field is a 400; rejecting without reasons a 422 naming the field
    _problem(await client.post(url, json={"decision": "maybe"}, headers=brand), 400)
    _problem(await client.post(url, json={"decision": "reject", "price": 1}, headers=brand), 400)
    assert (
        _problem(await client.post(url, json={"decision": "reject"}, headers=brand), 422)["field"] == "reason"
    )
    # a failed lot is not plainly accepted
    _problem(await client.post(url, json={"decision": "accept"}, headers=brand), 409)
    # the decision is the brand's: a coordinator and a viewer are refused
    _problem(
        await client.post(
            url, json={"decision": "reject", "reasons": "x"}, headers=await bearer(engine, world.coordinator)
        ),
        403,
    )
    _problem(
        await client.post(
            url, json={"decision": "reject", "reasons": "x"}, headers=await bearer(engine, world.viewer_a)
        ),
        403,
    )
    stale = _problem(
        await client.post(
            url, json={"decision": "reject", "reasons": "x", "version": inspection.version + 3}, headers=brand
        ),
        409,
    )
    assert stale.get("current_version") == inspection.version
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.brand_review

    decided = await client.post(
        url,
        json={"decision": "reject", "reasons": "Too many scratches", "version": inspection.version},
        headers=brand,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "rejected"
    assert decided.json()["decision_reasons"] == "Too many scratches"
    # a corrective action went to the factory
    actions = (
        await client.get(f"/api/v1/production-orders/{produced.order.id}/corrective-actions", headers=brand)
    ).json()
    assert actions["total"] == 1
    assert actions["items"][0]["status"] == ActionStatus.requested.value
    assert actions["items"][0]["inspection_id"] == inspection.id
    # no longer in review: a conflict, and nothing changes
    _problem(await client.post(url, json={"decision": "reject", "reasons": "again"}, headers=brand), 409)
    assert await _count(engine, CorrectiveAction) == 1


async def test_a_concession_needs_what_and_the_remedy_and_lifts_the_inspection_hold(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=8)
    url = f"/api/v1/inspections/{inspection.id}/decision"
    member = await bearer(engine, world.member_a)
    missing = _problem(
        await client.post(url, json={"decision": "concede", "concession": "Scratches"}, headers=member), 422
    )
    assert missing["field"] == "remedy"
    _problem(
        await client.post(
            url,
            json={"decision": "concede", "concession": "Scratches", "remedy": "Discount", "amount": "-5"},
            headers=member,
        ),
        422,
    )
    conceded = await client.post(
        url,
        json={"decision": "concede", "concession": "Scratches", "remedy": "Discount", "amount": "250"},
        headers=member,
    )
    assert conceded.status_code == 200, conceded.text
    body = conceded.json()
    assert body["status"] == "accepted_with_concession"
    assert float(body["concession_amount"]) == 250
    lot_holds = (await client.get(f"/api/v1/lots/{produced.lot.id}/holds", headers=member)).json()
    assert lot_holds == []
    async with system(engine) as session:
        [hold] = (await session.scalars(select(QualityHold))).all()
    assert hold.status == HoldStatus.lifted


async def test_staff_create_inspections_with_computed_plans_and_lift_holds(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, failed = await _in_review(engine, world, majors=8)
    staff = await bearer(engine, world.coordinator)
    url = f"/api/v1/lots/{produced.lot.id}/inspections"
    # only requested: no plans yet
    requested = await client.post(url, json={"kind": "during_production", "lot_size": 500}, headers=staff)
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "requested"
    assert requested.json()["plans"] == {}
    # scheduled at once: the plans are the service's, from the revision's AQLs and the lot size
    scheduled = await client.post(
        url,
        json={
            "kind": "re_inspection",
            "lot_size": 3000,
            "scheduled_for": in_days(2).isoformat(),
            "inspector_id": world.coordinator.id,
        },
        headers=staff,
    )
    assert scheduled.status_code == 201, scheduled.text
    body = scheduled.json()
    assert body["status"] == "scheduled"
    assert body["number"] == 3
    assert body["plans"]["major"]["code_letter"] == "K"
    assert (body["plans"]["major"]["accept"], body["plans"]["major"]["reject"]) == (7, 8)
    # bad bodies
    _problem(await client.post(url, json={"kind": "final", "plans": {}}, headers=staff), 400)
    _problem(await client.post(url, json={"kind": "whenever"}, headers=staff), 400)
    assert (
        _problem(await client.post(url, json={"kind": "final", "lot_size": 3001}, headers=staff), 422)[
            "field"
        ]
        == "lot_size"
    )
    assert (
        _problem(
            await client.post(
                url, json={"kind": "final", "scheduled_for": in_days(2).isoformat()}, headers=staff
            ),
            422,
        )["field"]
        == "inspector_id"
    )
    async with system(engine) as session:
        # a refused scheduling keeps nothing of the request either
        assert await session.scalar(select(func.count()).select_from(Inspection)) == 3

    # lifting a hold needs a reason; lifted once, a second lift is a conflict
    holds = (await client.get(f"/api/v1/production-orders/{produced.order.id}/holds", headers=staff)).json()
    hold_id = holds["items"][0]["id"]
    lift = f"/api/v1/holds/{hold_id}/lift"
    _problem(await client.post(lift, json={}, headers=staff), 400)
    _problem(await client.post(lift, json={"reason": "  "}, headers=staff), 422)
    lifted = await client.post(lift, json={"reason": "Reworked and re-inspected"}, headers=staff)
    assert lifted.status_code == 200, lifted.text
    assert (lifted.json()["status"], lifted.json()["lift_reason"]) == ("lifted", "Reworked and re-inspected")
    _problem(await client.post(lift, json={"reason": "again"}, headers=staff), 409)
    assert (await reload(engine, Inspection, failed.id)).status == InspectionStatus.brand_review


async def test_a_brand_cannot_write_staff_quality_data(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, _inspection = await _in_review(engine, world, majors=8)
    async with system(engine) as session:
        [hold] = (await session.scalars(select(QualityHold))).all()
    brand = await bearer(engine, world.owner_a)
    _problem(
        await client.post(
            f"/api/v1/lots/{produced.lot.id}/inspections", json={"kind": "final"}, headers=brand
        ),
        403,
    )
    _problem(await client.post(f"/api/v1/holds/{hold.id}/lift", json={"reason": "mine"}, headers=brand), 403)
    assert await _count(engine, Inspection) == 1
    assert (await reload(engine, QualityHold, hold.id)).status == HoldStatus.active


async def test_another_organization_gets_404_everywhere(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    produced, inspection = await _in_review(engine, world, majors=9)
    async with system(engine) as session:
        [hold] = (await session.scalars(select(QualityHold))).all()
    other = await bearer(engine, world.owner_b)
    order, lot = produced.order.id, produced.lot.id
    for url in (
        f"/api/v1/production-orders/{order}/inspections",
        f"/api/v1/lots/{lot}/inspections",
        f"/api/v1/inspections/{inspection.id}",
        f"/api/v1/inspections/{inspection.id}/defects",
        f"/api/v1/production-orders/{order}/holds",
        f"/api/v1/lots/{lot}/holds",
        f"/api/v1/production-orders/{order}/corrective-actions",
    ):
        _problem(await client.get(url, headers=other), 404)
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"/api/v1/inspections/{inspection.id}/decision", {"decision": "reject", "reasons": "theirs"}),
        (f"/api/v1/lots/{lot}/inspections", {"kind": "final"}),
        (f"/api/v1/holds/{hold.id}/lift", {"reason": "theirs"}),
    ]
    for url, body in writes:
        _problem(await client.post(url, json=body, headers=other), 404)
    assert (await reload(engine, Inspection, inspection.id)).status == InspectionStatus.brand_review
    assert (await reload(engine, QualityHold, hold.id)).status == HoldStatus.active
    assert await _count(engine, Inspection) == 1


async def test_the_openapi_document_describes_the_quality_api(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/production-orders/{order_id}/inspections",
        "/api/v1/lots/{lot_id}/inspections",
        "/api/v1/inspections/{inspection_id}",
        "/api/v1/inspections/{inspection_id}/defects",
        "/api/v1/inspections/{inspection_id}/decision",
        "/api/v1/production-orders/{order_id}/holds",
        "/api/v1/lots/{lot_id}/holds",
        "/api/v1/holds/{hold_id}/lift",
        "/api/v1/production-orders/{order_id}/corrective-actions",
    ):
        assert path in paths, path
    assert "post" in paths["/api/v1/lots/{lot_id}/inspections"]
