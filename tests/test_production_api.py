"""The production API: brands read their own orders, lots and progress (never a unit price); staff tokens read and
write (create, update with a version, add a lot, report progress); brands cannot write (403 in their own
organization, 404 in another's); bad numbers are 422 naming the field; every refusal is a problem document."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.production import lots as lot_service
from makeready.production.models import Lot, OrderStatus, ProductionOrder, ProgressReport
from tests.conftest import World
from tests.production_support import Arranged, arrange_project, in_days, make_order
from tests.test_api_samples import _problem, bearer
from tests.test_production_factory import SAME_ORIGIN, jpeg, people_of
from tests.workflow_support import call_as, reload, system


async def _arranged(engine: AsyncEngine, world: World, org: str = "a") -> Arranged:
    return await arrange_project(engine, people_of(world), org=org)


async def _reports(engine: AsyncEngine) -> int:
    async with system(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(ProgressReport)) or 0)


async def test_a_brand_reads_its_orders_and_lots_without_the_unit_price(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world)
    order, _made, _token = await make_order(engine, people_of(world), arranged, lots=[1000, 2000])
    brand = await bearer(engine, world.owner_a)
    listed = await client.get(f"/api/v1/projects/{arranged.project.id}/production-orders", headers=brand)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert item["reference"] == order.reference
    assert item["supplier_name"] == "Dongguan Bright Lighting"
    assert item["quantity"] == 3000
    assert item["status"] == "draft"
    assert [lot["quantity"] for lot in item["lots"]] == [1000, 2000]
    assert "unit_price" not in item
    one = await client.get(f"/api/v1/production-orders/{order.id}", headers=brand)
    assert one.status_code == 200
    assert "unit_price" not in one.json()
    assert "4.2" not in one.text

    staff = await bearer(engine, world.coordinator)
    seen = (await client.get(f"/api/v1/production-orders/{order.id}", headers=staff)).json()
    assert seen["unit_price"] == "4.2000" or float(seen["unit_price"]) == 4.2


async def test_another_organization_gets_404_everywhere(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world)
    order, made, _token = await make_order(engine, people_of(world), arranged, state="accepted")
    other = await bearer(engine, world.owner_b)
    for url in (
        f"/api/v1/projects/{arranged.project.id}/production-orders",
        f"/api/v1/production-orders/{order.id}",
        f"/api/v1/lots/{made[0].id}/progress-reports",
    ):
        _problem(await client.get(url, headers=other), 404)
    writes: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            f"/api/v1/projects/{arranged.project.id}/production-orders",
            {"ex_factory_date": "2030-01-01"},
        ),
        ("PATCH", f"/api/v1/production-orders/{order.id}", {"version": order.version, "quantity": 1}),
        (
            "POST",
            f"/api/v1/production-orders/{order.id}/lots",
            {"quantity": 1, "planned_start": "2030-01-01", "planned_end": "2030-01-02"},
        ),
        ("POST", f"/api/v1/lots/{made[0].id}/progress-reports", {"counts": {"cut": 1}}),
    ]
    for method, url, body in writes:
        _problem(await client.request(method, url, json=body, headers=other), 404)
    assert (await reload(engine, ProductionOrder, order.id)).version == order.version


async def test_a_brand_cannot_write_production_data(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world)
    order, made, _token = await make_order(
        engine, people_of(world), arranged, quantity=1000, state="accepted", lots=[1000]
    )
    await call_as(engine, people_of(world), world.coordinator, lot_service.start_lot, lot_id=made[0].id)
    brand = await bearer(engine, world.owner_a)
    writes: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            f"/api/v1/projects/{arranged.project.id}/production-orders",
            {"ex_factory_date": "2030-01-01"},
        ),
        ("PATCH", f"/api/v1/production-orders/{order.id}", {"version": order.version, "quantity": 1}),
        (
            "POST",
            f"/api/v1/production-orders/{order.id}/lots",
            {"quantity": 1, "planned_start": "2030-01-01", "planned_end": "2030-01-02"},
        ),
        ("POST", f"/api/v1/lots/{made[0].id}/progress-reports", {"counts": {"cut": 1}}),
    ]
    for method, url, body in writes:
        _problem(await client.request(method, url, json=body, headers=brand), 403)
    assert await _reports(engine) == 0
    async with system(engine) as session:
        assert await session.scalar(select(func.count()).select_from(ProductionOrder)) == 1
        assert await session.scalar(select(func.count()).select_from(Lot)) == 1


async def test_staff_create_update_add_lots_and_report_progress(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world)
    staff = await bearer(engine, world.coordinator)
    created = await client.post(
        f"/api/v1/projects/{arranged.project.id}/production-orders",
        json={"ex_factory_date": in_days(60).isoformat(), "quantity": 2000, "incoterm": "FOB"},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "draft"
    assert order["quantity"] == 2000
    assert order["revision_id"] == arranged.revision.id

    # a stale version is a 409 naming the current one; a fresh one changes the order
    stale = _problem(
        await client.patch(
            f"/api/v1/production-orders/{order['id']}",
            json={"version": order["version"] + 5, "quantity": 2500},
            headers=staff,
        ),
        409,
    )
    assert stale.get("current_version") == order["version"]
    updated = await client.patch(
        f"/api/v1/production-orders/{order['id']}",
        json={"version": order["version"], "quantity": 2500, "delivery_address": "Rotterdam"},
        headers=staff,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["quantity"] == 2500
    assert updated.json()["delivery_address"] == "Rotterdam"

    lot = await client.post(
        f"/api/v1/production-orders/{order['id']}/lots",
        json={
            "quantity": 2500,
            "planned_start": in_days(5).isoformat(),
            "planned_end": in_days(15).isoformat(),
        },
        headers=staff,
    )
    assert lot.status_code == 201, lot.text
    # lots never sum to more than the order
    too_much = _problem(
        await client.post(
            f"/api/v1/production-orders/{order['id']}/lots",
            json={
                "quantity": 1,
                "planned_start": in_days(5).isoformat(),
                "planned_end": in_days(15).isoformat(),
            },
            headers=staff,
        ),
        422,
    )
    assert too_much["field"] == "quantity"
    for bad in (-1, 0, 10**12):
        _problem(
            await client.post(
                f"/api/v1/production-orders/{order['id']}/lots",
                json={
                    "quantity": bad,
                    "planned_start": in_days(5).isoformat(),
                    "planned_end": in_days(6).isoformat(),
                },
                headers=staff,
            ),
            422,
        )

    # reports need a lot in production: a planned one is a conflict
    lot_id = lot.json()["id"]
    _problem(
        await client.post(
            f"/api/v1/lots/{lot_id}/progress-reports", json={"counts": {"cut": 1}}, headers=staff
        ),
        409,
    )


async def test_progress_reports_are_paged_newest_first_with_their_photos(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world)
    people = people_of(world)
    _order, made, token = await make_order(
        engine, people, arranged, quantity=1000, state="accepted", lots=[1000]
    )
    await call_as(engine, people, world.coordinator, lot_service.start_lot, lot_id=made[0].id)
    staff = await bearer(engine, world.coordinator)
    url = f"/api/v1/lots/{made[0].id}/progress-reports"
    for cut in (100, 200):
        response = await client.post(
            url, json={"counts": {"cut": cut}, "reporter_name": "Chen"}, headers=staff
        )
        assert response.status_code == 201, response.text
    contradiction = _problem(
        await client.post(url, json={"counts": {"cut": 300, "assembled": 400}}, headers=staff), 422
    )
    assert contradiction["field"] == "counts.assembled"
    fewer = _problem(await client.post(url, json={"counts": {"cut": 50}}, headers=staff), 422)
    assert fewer["field"] == "note"
    # the factory's report through its link, with a photo
    posted = await client.post(
        f"/p/{token}/lots/{made[0].id}/progress",
        data={"count_cut": "300", "name": "Wang Lei"},
        files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))],
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert await _reports(engine) == 3

    brand = await bearer(engine, world.owner_a)
    first = (await client.get(url, params={"limit": 2}, headers=brand)).json()
    assert first["total"] == 3
    assert len(first["items"]) == 2
    newest = first["items"][0]
    assert newest["counts"]["cut"] == 300
    assert newest["via_link"] is True
    [photo] = newest["photos"]
    assert (await client.get(photo["thumbnail_url"], headers=brand)).status_code == 200
    rest = (await client.get(url, params={"limit": 2, "offset": 2}, headers=brand)).json()
    assert [r["counts"]["cut"] for r in rest["items"]] == [100]
    assert (await reload(engine, Lot, made[0].id)).progress["cut"] == 300


async def test_the_openapi_document_describes_the_production_api(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    assert "/api/v1/projects/{project_id}/production-orders" in paths
    assert "/api/v1/lots/{lot_id}/progress-reports" in paths
    assert "patch" in paths["/api/v1/production-orders/{order_id}"]
    assert OrderStatus.draft.value == "draft"
