"""The brand's production page through HTTP: the project's orders and lots (never a price), the go-ahead for mass
production by owners and members (a viewer and a coordinator are refused, a stale form is a conflict), the lots'
progress with the factory's photos, and another organization's project, order or photo a 404."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.production import lots as lot_service
from makeready.production.models import Lot, OrderStatus, ProductionOrder, ProductionPhoto
from tests.conftest import World, csrf, login
from tests.production_support import arrange_project, make_order
from tests.test_production_factory import SAME_ORIGIN, jpeg, people_of
from tests.workflow_support import call_as, reload, system

PRICE_MARKERS = ("4.20", "4.2000", "4.80", "$4")


async def _order(
    engine: AsyncEngine, world: World, *, state: str = "draft", org: str = "a"
) -> ProductionOrder:
    people = people_of(world)
    arranged = await arrange_project(engine, people, org=org)
    order, _lots, _token = await make_order(engine, people, arranged, state=state, lots=[1000, 1000, 1000])
    return order


async def test_the_project_page_links_to_production_and_the_page_lists_orders_without_prices(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    order = await _order(engine, world)
    await login(client, world.owner_a.email)
    project_page = await client.get(f"/projects/{order.project_id}")
    assert f'href="/projects/{order.project_id}/production"' in project_page.text
    response = await client.get(f"/projects/{order.project_id}/production")
    assert response.status_code == 200
    html = response.text
    assert order.reference in html
    assert "Dongguan Bright Lighting" in html
    assert ">3000<" in html
    assert html.count("<progress") == 3
    assert "Confirm order (go-ahead for mass production)" in html
    assert f'name="version" value="{order.version}"' in html
    for marker in PRICE_MARKERS:
        assert marker not in html, marker
    assert "unit_price" not in html
    assert "Unit price" not in html


async def test_an_owner_confirms_a_draft_order(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    order = await _order(engine, world)
    await login(client, world.member_a.email)
    await client.get(f"/projects/{order.project_id}/production")
    response = await client.post(
        f"/projects/{order.project_id}/production/orders/{order.id}/confirm",
        data={"_csrf_token": csrf(client), "version": str(order.version)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    confirmed = await reload(engine, ProductionOrder, order.id)
    assert confirmed.status == OrderStatus.confirmed
    assert confirmed.confirmed_by_id == world.member_a.id
    assert confirmed.bom_snapshot  # frozen at confirmation
    page = await client.get(f"/projects/{order.project_id}/production")
    assert "Confirm order (go-ahead for mass production)" not in page.text


async def test_a_stale_confirmation_is_a_conflict_that_says_so(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    order = await _order(engine, world)
    await login(client, world.owner_a.email)
    await client.get(f"/projects/{order.project_id}/production")
    response = await client.post(
        f"/projects/{order.project_id}/production/orders/{order.id}/confirm",
        data={"_csrf_token": csrf(client), "version": str(order.version - 1 if order.version > 1 else 999)},
    )
    assert response.status_code == 409
    assert 'role="alert"' in response.text
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.draft


async def test_a_viewer_and_a_coordinator_cannot_confirm(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    order = await _order(engine, world)
    for user, note in (
        (world.viewer_a, "Viewers can look but not decide."),
        (world.coordinator, "Only the brand&#39;s owners and members confirm a production order."),
    ):
        client.cookies.clear()
        await login(client, user.email)
        page = await client.get(f"/projects/{order.project_id}/production")
        assert page.status_code == 200
        assert note in page.text
        assert "Confirm order (go-ahead for mass production)" not in page.text
        refused = await client.post(
            f"/projects/{order.project_id}/production/orders/{order.id}/confirm",
            data={"_csrf_token": csrf(client), "version": str(order.version)},
        )
        assert refused.status_code == 403, user.email
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.draft


async def test_another_organizations_project_order_and_photo_look_missing(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    order = await _order(engine, world, state="accepted")
    await login(client, world.owner_b.email)
    assert (await client.get(f"/projects/{order.project_id}/production")).status_code == 404
    refused = await client.post(
        f"/projects/{order.project_id}/production/orders/{order.id}/confirm",
        data={"_csrf_token": csrf(client), "version": str(order.version)},
    )
    assert refused.status_code == 404
    # org B's own project cannot reach org A's order under it either
    own = await _order(engine, world, org="b")
    wrong = await client.post(
        f"/projects/{own.project_id}/production/orders/{order.id}/confirm",
        data={"_csrf_token": csrf(client), "version": str(order.version)},
    )
    assert wrong.status_code == 404
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.accepted


@pytest.mark.parametrize("who", ["owner_a", "owner_b"])
async def test_the_lots_progress_and_photos_are_the_brands_to_see(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, who: str
) -> None:
    people = people_of(world)
    arranged = await arrange_project(engine, people)
    order, made, token = await make_order(engine, people, arranged, state="accepted", lots=[1000, 1000, 1000])
    await call_as(engine, people, world.coordinator, lot_service.start_lot, lot_id=made[0].id)
    posted = await client.post(
        f"/p/{token}/lots/{made[0].id}/progress",
        data={"count_cut": "500", "count_assembled": "400", "count_finished": "300", "name": "Wang Lei"}
        | {"note": "Line 2 running"},
        files=[("photos", ("line.jpg", jpeg(), "image/jpeg"))],
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert posted.status_code == 303
    async with system(engine) as session:
        photo_id = await session.scalar(select(ProductionPhoto.id))
    await login(client, getattr(world, who).email)
    page = await client.get(f"/projects/{order.project_id}/production")
    thumbnail = await client.get(f"/production/photos/{photo_id}/thumbnail")
    image = await client.get(f"/production/photos/{photo_id}/image", follow_redirects=False)
    if who == "owner_b":
        assert page.status_code == 404
        assert thumbnail.status_code == 404
        assert image.status_code == 404
        return
    assert page.status_code == 200
    assert "300 of 1000 produced" in page.text
    assert "Line 2 running" in page.text
    assert f'src="/production/photos/{photo_id}/thumbnail"' in page.text
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert image.status_code == 302


async def test_the_brand_sees_all_its_lots_and_nobody_elses(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    ours = await _order(engine, world, state="accepted")
    theirs = await _order(engine, world, state="confirmed", org="b")
    await login(client, world.owner_a.email)
    page = await client.get("/production/lots")
    assert page.status_code == 200
    assert page.text.count(ours.reference) == 3  # one row per lot
    assert theirs.reference not in page.text
    async with system(engine) as session:
        their_lots = [
            lot.id for lot in (await session.scalars(select(Lot).where(Lot.order_id == theirs.id))).all()
        ]
    assert all(f'id="lot-{lot_id}"' not in page.text for lot_id in their_lots)
    for marker in PRICE_MARKERS:
        assert marker not in page.text, marker
    assert (await client.get("/production/lots?page=0")).status_code == 400
