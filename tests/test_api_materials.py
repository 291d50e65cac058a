"""The materials API: brands read their orders' requirements with readiness (never the agency's costs, material
suppliers or order-by dates) and open shortages with their owners, and record free-issue shipments; purchase orders
(with unit costs) are for staff tokens only (403 for the brand's own order); another organization gets 404
everywhere; bad bodies are 400/422, an order that is not running a 409."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.materials import supply as supply_service
from makeready.materials.models import FreeIssueShipment
from tests import test_materials_pages
from tests.conftest import World
from tests.production_support import arrange_project, in_days, make_order
from tests.test_api_samples import _problem, bearer
from tests.test_materials_pages import requirement_ids
from tests.workflow_support import People, call_as, system

Client = AsyncTestClient[Litestar]
arranged_order = test_materials_pages.arranged_order
"""An accepted order of three materials (agency, brand, factory), none in house: a "not ordered" shortage."""
STAFF_ONLY_KEYS = ("order_by_date", "material_supplier", "lead_time_days")


async def _shipments(engine: AsyncEngine) -> int:
    async with system(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(FreeIssueShipment)) or 0)


async def _purchase(
    engine: AsyncEngine, people: People, order_id: int, requirement_id: int, cost: str
) -> None:
    await call_as(
        engine,
        people,
        people.coordinator,
        supply_service.create_purchase_order,
        order_id=order_id,
        supplier_name="Ningbo Fasteners",
        eta=in_days(1).isoformat(),
        lines=[{"requirement_id": requirement_id, "quantity": "6000", "unit_cost": cost}],
    )


async def test_a_brand_reads_readiness_and_shortages_without_costs_or_suppliers(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    _people, order, _token = arranged_order
    brand = await bearer(engine, world.owner_a)
    response = await client.get(f"/api/v1/production-orders/{order.id}/materials", headers=brand)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["readiness"] == "not_ordered"
    by_name = {m["material"]: m for m in body["materials"]}
    assert set(by_name) == {"Screw M3", "Power cord", "Oak"}
    cord = by_name["Power cord"]
    assert (cord["supplied_by"], cord["readiness"], cord["unit"]) == ("brand", "not_ordered", "pcs")
    assert float(cord["gross"]) == 3000
    assert float(cord["missing"]) == 3000
    for material in body["materials"]:
        for key in STAFF_ONLY_KEYS:
            assert key not in material
    assert "Ningbo" not in response.text
    # the path existing clients use answers the same
    legacy = await client.get(f"/api/v1/orders/{order.id}/materials", headers=brand)
    assert legacy.json() == body

    # the open shortage, with who owns it (the coordinator: not every material concerned is free issue)
    shortages = await client.get(f"/api/v1/production-orders/{order.id}/shortages", headers=brand)
    assert shortages.status_code == 200
    [shortage] = shortages.json()
    assert shortage["kind"] == "shortage.not_ordered"
    assert shortage["owner_id"] == world.coordinator.id
    assert shortage["owner_name"] == (world.coordinator.name or world.coordinator.email)
    assert shortage["status"] == "open"
    assert body["shortages"] == shortages.json()

    staff = await bearer(engine, world.coordinator)
    theirs = (await client.get(f"/api/v1/production-orders/{order.id}/materials", headers=staff)).json()
    screw = {m["material"]: m for m in theirs["materials"]}["Screw M3"]
    assert screw["material_supplier"] == "Ningbo Fasteners"
    assert "order_by_date" in screw


async def test_purchase_orders_are_for_staff_with_their_costs_and_paged(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    people, order, _token = arranged_order
    screw = (await requirement_ids(engine, order.id))["Screw M3"]
    await _purchase(engine, people, order.id, screw, "0.0123")
    await _purchase(engine, people, order.id, screw, "0.0456")
    url = f"/api/v1/production-orders/{order.id}/purchase-orders"
    staff = await bearer(engine, world.coordinator)
    first = await client.get(url, params={"limit": 1}, headers=staff)
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 0)
    [po] = page["items"]
    assert po["reference"] == f"MPO-{order.id}-1"
    assert po["status"] == "draft"
    assert po["supplier_name"] == "Ningbo Fasteners"
    [line] = po["lines"]
    assert (line["requirement_id"], float(line["quantity"]), float(line["unit_cost"])) == (
        screw,
        6000,
        0.0123,
    )
    second = (await client.get(url, params={"limit": 1, "offset": 1}, headers=staff)).json()
    assert [p["number"] for p in second["items"]] == [2]
    _problem(await client.get(url, params={"limit": 500}, headers=staff), 400)

    # a brand never sees them: refused for its own order, not found for another organization's
    for user in (world.owner_a, world.viewer_a):
        refused = _problem(await client.get(url, headers=await bearer(engine, user)), 403)
        assert "0.0123" not in str(refused)
    _problem(await client.get(url, headers=await bearer(engine, world.owner_b)), 404)
    # nor do their costs leak into the brand's materials
    brand = await client.get(
        f"/api/v1/production-orders/{order.id}/materials", headers=await bearer(engine, world.owner_a)
    )
    assert "0.0123" not in brand.text
    assert "unit_cost" not in brand.text


async def test_the_brand_records_a_free_issue_shipment(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    _people, order, _token = arranged_order
    ids = await requirement_ids(engine, order.id)
    url = f"/api/v1/production-orders/{order.id}/free-issue-shipments"
    brand = await bearer(engine, world.member_a)
    # arriving before the need date (the first lot's start less the kitting buffer)
    good = {
        "requirement_id": ids["Power cord"],
        "quantity": "3000",
        "eta": in_days(1).isoformat(),
        "tracking": "SF123",
    }

    # bad bodies: malformed is a 400; a value the service refuses is a 422 naming the field
    _problem(await client.post(url, json={**good, "cost": 1}, headers=brand), 400)
    _problem(await client.post(url, json={**good, "eta": "soon"}, headers=brand), 400)
    _problem(await client.post(url, json={**good, "requirement_id": 0}, headers=brand), 400)
    assert (
        _problem(await client.post(url, json={**good, "quantity": "0"}, headers=brand), 422)["field"]
        == "quantity"
    )
    past = {**good, "eta": in_days(-1).isoformat()}
    assert _problem(await client.post(url, json=past, headers=brand), 422)["field"] == "eta"
    agency = {**good, "requirement_id": ids["Screw M3"]}
    assert _problem(await client.post(url, json=agency, headers=brand), 422)["field"] == "requirement_id"
    _problem(await client.post(url, json={**good, "requirement_id": 987654}, headers=brand), 404)
    # a viewer reads but does not record
    _problem(await client.post(url, json=good, headers=await bearer(engine, world.viewer_a)), 403)
    assert await _shipments(engine) == 0

    recorded = await client.post(url, json=good, headers=brand)
    assert recorded.status_code == 201, recorded.text
    shipment = recorded.json()
    assert (shipment["status"], shipment["tracking"], float(shipment["quantity"])) == (
        "shipped",
        "SF123",
        3000,
    )
    listed = (await client.get(url, headers=brand)).json()
    assert [s["id"] for s in listed["items"]] == [shipment["id"]]
    assert listed["total"] == 1
    # covered and moving: the cord is in transit
    materials = (await client.get(f"/api/v1/production-orders/{order.id}/materials", headers=brand)).json()
    assert {m["material"]: m["readiness"] for m in materials["materials"]}["Power cord"] == "in_transit"


async def test_free_issue_for_an_order_that_is_not_running_is_a_conflict(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    people, _order, _token = arranged_order
    draft, _lots, _ = await make_order(
        engine, people, await arrange_project(engine, people), quantity=100, lots=[100]
    )
    _problem(
        await client.post(
            f"/api/v1/production-orders/{draft.id}/free-issue-shipments",
            json={"requirement_id": 1, "quantity": "1", "eta": in_days(3).isoformat()},
            headers=await bearer(engine, world.owner_a),
        ),
        409,
    )
    assert await _shipments(engine) == 0


async def test_another_organization_gets_404_everywhere(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    _people, order, _token = arranged_order
    ids = await requirement_ids(engine, order.id)
    other = await bearer(engine, world.owner_b)
    for path in ("materials", "shortages", "free-issue-shipments", "purchase-orders"):
        _problem(await client.get(f"/api/v1/production-orders/{order.id}/{path}", headers=other), 404)
    _problem(await client.get(f"/api/v1/orders/{order.id}/materials", headers=other), 404)
    _problem(
        await client.post(
            f"/api/v1/production-orders/{order.id}/free-issue-shipments",
            json={"requirement_id": ids["Power cord"], "quantity": "1", "eta": in_days(3).isoformat()},
            headers=other,
        ),
        404,
    )
    assert await _shipments(engine) == 0


async def test_the_openapi_document_describes_the_materials_api(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("materials", "shortages", "free-issue-shipments", "purchase-orders"):
        assert f"/api/v1/production-orders/{{order_id}}/{path}" in paths, path
    assert "post" in paths["/api/v1/production-orders/{order_id}/free-issue-shipments"]
    assert "/api/v1/orders/{order_id}/materials" in paths
