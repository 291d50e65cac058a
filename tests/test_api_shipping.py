"""The shipping API: brands read their own shipments, release gates, packing lists, revision changes and floor
deviations (never the declared value or an override reason); staff tokens release through the gate (409 with the
list while a condition is unmet, one release for two requests); the brand confirms receipt, reports a problem and
decides a floor deviation; another organization gets 404 everywhere; every refusal is a problem document."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.audit.models import AuditEvent
from makeready.production.models import LotStatus, ProductionOrder
from makeready.shipping import changes
from makeready.shipping.models import DeviationStatus, PackingList, ShipmentStatus
from portal.factory import MISSES
from tests.conftest import World, login
from tests.shipping_support import Running, lot_status, people_of, produce, running_order, staff_post
from tests.test_api_samples import _problem, bearer
from tests.test_shipping import plan, ready_to_release, shipment_of
from tests.test_shipping_changes import issue_revision_b
from tests.workflow_support import reload, system

Client = AsyncTestClient[Litestar]


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    """The factory link's miss counter is per process: another module's forged tokens must not limit these tests."""
    MISSES.clear()
    yield
    MISSES.clear()


async def _ready(engine: AsyncEngine, world: World, client: Client) -> tuple[Running, int]:
    """An order whose lot 1 is in a planned shipment with everything the release needs; the client logged out."""
    people = people_of(world)
    running = await running_order(engine, people, lots=[1000])
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    client.cookies.clear()
    return running, shipment.id


async def _releases(engine: AsyncEngine) -> int:
    async with system(engine) as session:
        return int(
            await session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "shipment.released")
            )
            or 0
        )


async def test_a_brand_reads_shipments_gate_and_packing_lists_without_the_agency_figures(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    running, shipment_id = await _ready(engine, world, client)
    brand = await bearer(engine, world.owner_a)

    listed = await client.get(f"/api/v1/projects/{running.project_id}/shipments", headers=brand)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    [item] = page["items"]
    assert item["id"] == shipment_id
    assert item["status"] == "planned"
    assert [lot["number"] for lot in item["lots"]] == [1]
    assert item["documents"] == ["commercial_invoice", "packing_list"]
    assert "unit_value" not in item
    assert "payment_override_reason" not in item
    assert "12.5" not in listed.text  # the declared value per unit
    by_order = await client.get(f"/api/v1/production-orders/{running.order.id}/shipments", headers=brand)
    assert [s["id"] for s in by_order.json()] == [shipment_id]
    paged = await client.get(
        f"/api/v1/projects/{running.project_id}/shipments?limit=1&offset=1", headers=brand
    )
    assert paged.json()["items"] == []
    assert paged.json()["total"] == 1

    one = await client.get(f"/api/v1/shipments/{shipment_id}", headers=brand)
    assert one.status_code == 200
    assert one.json()["reference"] == item["reference"]
    assert "unit_value" not in one.json()

    gate = (await client.get(f"/api/v1/shipments/{shipment_id}/release-gate", headers=brand)).json()
    assert gate == {
        "shipment_id": shipment_id,
        "status": "planned",
        "ready": True,
        "missing": [],
        "payment": [],
    }

    lot = running.lots[0]
    [packing] = (await client.get(f"/api/v1/lots/{lot.id}/packing-lists", headers=brand)).json()
    assert packing["status"] == "accepted"
    assert (packing["total_cartons"], packing["total_units"]) == (250, 1000)
    assert packing["rows"][0]["units_per_carton"] == 4
    same = await client.get(f"/api/v1/packing-lists/{packing['id']}", headers=brand)
    assert same.json() == packing
    # a lot the factory has not packed yet has none
    assert (
        await client.get(f"/api/v1/lots/{lot.id + 10_000}/packing-lists", headers=brand)
    ).status_code == 404

    staff = await bearer(engine, world.coordinator)
    seen = (await client.get(f"/api/v1/shipments/{shipment_id}", headers=staff)).json()
    assert float(seen["unit_value"]) == 12.5
    assert seen["payment_override_reason"] == ""


async def test_the_release_is_refused_with_the_list_then_recorded_once(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    running = await running_order(engine, people, lots=[1000])
    lot = running.lots[0]
    await produce(engine, people, running, lot)
    await login(client, world.coordinator.email)
    assert (await plan(client, running, [lot])).status_code == 303
    client.cookies.clear()
    shipment = await shipment_of(engine, running.project_id)
    staff = await bearer(engine, world.coordinator)

    gate = (await client.get(f"/api/v1/shipments/{shipment.id}/release-gate", headers=staff)).json()
    assert gate["ready"] is False
    assert any("has not passed its final inspection" in m for m in gate["missing"]), gate
    refused = _problem(
        await client.post(f"/api/v1/shipments/{shipment.id}/release", json={}, headers=staff), 409
    )
    assert refused["missing"] == gate["missing"]
    assert (await reload(engine, type(shipment), shipment.id)).status == ShipmentStatus.planned

    # a brand cannot release, even when everything is there
    client.cookies.clear()
    ready_running, ready_id = await _ready(engine, world, client)
    brand = await bearer(engine, world.owner_a)
    _problem(await client.post(f"/api/v1/shipments/{ready_id}/release", json={}, headers=brand), 403)
    assert await _releases(engine) == 0

    # two requests with the version read: one release, the other a 409
    version = (await client.get(f"/api/v1/shipments/{ready_id}", headers=staff)).json()["version"]
    first, second = await asyncio.gather(
        client.post(f"/api/v1/shipments/{ready_id}/release", json={"version": version}, headers=staff),
        client.post(f"/api/v1/shipments/{ready_id}/release", json={"version": version}, headers=staff),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    done = first if first.status_code == 200 else second
    body = done.json()
    assert body["status"] == "released"
    assert body["released_by_id"] == world.coordinator.id
    assert body["released_at"]
    assert await _releases(engine) == 1
    # releasing again is refused: still one release
    _problem(await client.post(f"/api/v1/shipments/{ready_id}/release", json={}, headers=staff), 409)
    assert await _releases(engine) == 1
    assert await lot_status(engine, ready_running.lots[0].id) == LotStatus.packed


async def test_the_brand_confirms_receipt_and_reports_a_problem(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    running, shipment_id = await _ready(engine, world, client)
    staff = await bearer(engine, world.coordinator)
    brand = await bearer(engine, world.owner_a)
    # receipt of a shipment that has not left is a 409
    _problem(await client.post(f"/api/v1/shipments/{shipment_id}/receipt", json={}, headers=brand), 409)
    assert (
        await client.post(f"/api/v1/shipments/{shipment_id}/release", json={}, headers=staff)
    ).status_code == 200
    await login(client, world.coordinator.email)
    assert (
        await staff_post(client, f"{running.coordinator_page}/shipments/{shipment_id}/ship")
    ).status_code == 303
    client.cookies.clear()

    # staff cannot confirm for the brand; bad bodies are refused before anything happens
    _problem(await client.post(f"/api/v1/shipments/{shipment_id}/receipt", json={}, headers=staff), 403)
    _problem(
        await client.post(f"/api/v1/shipments/{shipment_id}/receipt", json={"extra": 1}, headers=brand), 400
    )
    _problem(
        await client.post(f"/api/v1/shipments/{shipment_id}/problem", json={"comment": "  "}, headers=brand),
        422,
    )
    confirmed = await client.post(
        f"/api/v1/shipments/{shipment_id}/receipt", json={"note": "All 250 cartons arrived"}, headers=brand
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "delivered"
    assert confirmed.json()["received_by_id"] == world.owner_a.id
    assert confirmed.json()["receipt_note"] == "All 250 cartons arrived"
    assert await lot_status(engine, running.lots[0].id) == LotStatus.delivered

    reported = await client.post(
        f"/api/v1/shipments/{shipment_id}/problem", json={"comment": "Three cartons crushed"}, headers=brand
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["problem"] == "Three cartons crushed"
    assert reported.json()["problem_reported_at"]


async def test_revision_changes_and_floor_deviations_of_an_order(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    running = await running_order(engine, people, lots=[1000])
    async with system(engine) as session:
        order = await session.get_one(ProductionOrder, running.order.id)
        deviation = await changes.report_deviation(
            session,
            order=order,
            lot_id=running.lots[0].id,
            description="Glue instead of screws",
            name="Li Wei",
        )
        deviation_id = deviation.id
    brand = await bearer(engine, world.owner_a)
    changes_url = f"/api/v1/production-orders/{running.order.id}/revision-changes"
    assert (await client.get(changes_url, headers=brand)).json() == []
    revision_b = await issue_revision_b(engine, people, running)
    [change] = (await client.get(changes_url, headers=brand)).json()
    assert (change["from_revision_id"], change["to_revision_id"]) == (
        running.arranged.revision.id,
        revision_b.id,
    )
    assert change["status"] == "pending"
    assert change["acknowledged_at"] is None
    [listed] = (
        await client.get(f"/api/v1/production-orders/{running.order.id}/deviations", headers=brand)
    ).json()
    assert listed["id"] == deviation_id
    assert listed["status"] == "reported"
    assert listed["via_link"] is True
    assert listed["description"] == "Glue instead of screws"

    url = f"/api/v1/deviations/{deviation_id}/decision"
    staff = await bearer(engine, world.coordinator)
    _problem(await client.post(url, json={"decision": "approve"}, headers=staff), 403)
    bad = _problem(await client.post(url, json={"decision": "maybe"}, headers=brand), 422)
    assert "approve or reject" in bad["detail"]
    _problem(await client.post(url, json={"decision": "reject"}, headers=brand), 422)  # a comment is required
    _problem(await client.post(url, json={"decision": "approve", "version": 99}, headers=brand), 409)
    decided = await client.post(url, json={"decision": "approve", "comment": "Fine"}, headers=brand)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == DeviationStatus.approved.value
    assert decided.json()["decided_at"]


async def test_another_organization_gets_404_everywhere(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    running, shipment_id = await _ready(engine, world, client)
    async with system(engine) as session:
        order = await session.get_one(ProductionOrder, running.order.id)
        deviation = await changes.report_deviation(
            session, order=order, lot_id=None, description="Other glue", name="Li Wei"
        )
        packing_id = (
            await session.scalars(select(PackingList.id).where(PackingList.lot_id == running.lots[0].id))
        ).one()
    other = await bearer(engine, world.owner_b)
    for url in (
        f"/api/v1/projects/{running.project_id}/shipments",
        f"/api/v1/production-orders/{running.order.id}/shipments",
        f"/api/v1/shipments/{shipment_id}",
        f"/api/v1/shipments/{shipment_id}/release-gate",
        f"/api/v1/lots/{running.lots[0].id}/packing-lists",
        f"/api/v1/packing-lists/{packing_id}",
        f"/api/v1/production-orders/{running.order.id}/revision-changes",
        f"/api/v1/production-orders/{running.order.id}/deviations",
    ):
        _problem(await client.get(url, headers=other), 404)
    for url, body in (
        (f"/api/v1/shipments/{shipment_id}/release", {}),
        (f"/api/v1/shipments/{shipment_id}/receipt", {}),
        (f"/api/v1/shipments/{shipment_id}/problem", {"comment": "x"}),
        (f"/api/v1/deviations/{deviation.id}/decision", {"decision": "approve", "comment": "x"}),
    ):
        _problem(await client.post(url, json=body, headers=other), 404)
    assert (await reload(engine, type(deviation), deviation.id)).status == DeviationStatus.reported
    assert (await shipment_of(engine, running.project_id)).status == ShipmentStatus.planned


async def test_the_openapi_document_describes_the_shipping_api(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "/api/v1/projects/{project_id}/shipments" in paths
    assert "post" in paths["/api/v1/shipments/{shipment_id}/release"]
    assert "get" in paths["/api/v1/shipments/{shipment_id}/release-gate"]
    assert "/api/v1/lots/{lot_id}/packing-lists" in paths
    assert "post" in paths["/api/v1/deviations/{deviation_id}/decision"]
