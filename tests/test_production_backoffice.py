"""The coordinator's production pages through HTTP: creating an order from the selected quote, its terms, lots,
tooling, the factory's link and proposal, and every refusal shown on the page with nothing half-written."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice import production_queries
from makeready.production import links
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import tooling as tooling_service
from makeready.production.models import (
    Lot,
    OrderStatus,
    ProductionLink,
    ProductionLinkState,
    ProductionOrder,
    ProductionPhoto,
    ToolingItem,
    ToolingStatus,
)
from makeready.projects.models import Attachment
from makeready.settings import StorageSettings
from makeready.storage import reset_storage, set_storage
from makeready.storage.keys import make_key
from makeready.storage.local import LocalStorage
from makeready.suppliers.models import Supplier
from tests.conftest import World, csrf, login
from tests.production_support import arrange_project, in_days, make_order
from tests.test_backoffice_forms import people_of
from tests.workflow_support import People, call_as, reload, session_as, system

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


async def post(client: Client, path: str, **values: Any) -> httpx.Response:
    return await client.post(path, data={"_csrf_token": csrf(client), **values}, follow_redirects=False)


def order_path(order: ProductionOrder) -> str:
    return f"/coordinator/projects/{order.project_id}/production/{order.id}"


async def count(engine: AsyncEngine, model: Any) -> int:
    async with system(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_order_without_issued_revision_or_selected_quote_lists_what_is_missing(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people, quote=False, revision=False)
    await login(client, world.coordinator.email)
    response = await post(
        client,
        f"/coordinator/projects/{arranged.project.id}/production",
        quantity="3000",
        ex_factory_date=in_days(60).isoformat(),
        currency="USD",
        incoterm="FOB",
    )
    assert response.status_code == 409
    missing = response.text.split('class="missing"', 1)[1].split("</ul>", 1)[0]
    assert missing.count("<li>") == 2
    assert "issued spec revision" in missing
    assert "selected quote" in missing
    assert await count(engine, ProductionOrder) == 0


async def test_a_coordinator_creates_an_order_prefilled_from_the_selected_quote(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    await login(client, world.coordinator.email)
    page = await client.get(f"/coordinator/projects/{arranged.project.id}/production")
    assert page.status_code == 200
    assert 'name="currency" maxlength="3" size="4" required value="USD"' in page.text
    assert f'value="{in_days(45).isoformat()}"' in page.text  # the quote's lead time
    assert "Dongguan Bright Lighting" in page.text

    # a bad quantity is refused with the form kept, and nothing written
    refused = await post(
        client,
        f"/coordinator/projects/{arranged.project.id}/production",
        quantity="-5",
        ex_factory_date=in_days(60).isoformat(),
        currency="USD",
        incoterm="FOB",
        routing="cut, sewn, packed",
    )
    assert refused.status_code == 422
    assert "Enter at least 1." in refused.text
    assert 'value="cut, sewn, packed"' in refused.text
    assert await count(engine, ProductionOrder) == 0

    created = await post(
        client,
        f"/coordinator/projects/{arranged.project.id}/production",
        quantity="3000",
        unit_price="",
        currency="USD",
        ex_factory_date=in_days(60).isoformat(),
        incoterm="FOB",
        delivery_address="Rotterdam",
        payment_terms="30% deposit",
        routing="cut, assembled, finished, packed",
        report_interval_days="3",
    )
    assert created.status_code == 303
    async with system(engine) as session:
        order = await session.scalar(select(ProductionOrder))
    assert order is not None
    assert created.headers["location"] == f"{order_path(order)}?done=created"
    assert order.unit_price == Decimal("4.2000")  # the quote's 3,000-unit break
    assert order.delivery_address == "Rotterdam"
    shown = await client.get(order_path(order))
    assert shown.status_code == 200
    assert order.reference in shown.text
    listing = await client.get(f"/coordinator/projects/{arranged.project.id}/production")
    assert order.reference in listing.text
    project_page = await client.get(f"/coordinator/projects/{arranged.project.id}")
    assert f'href="/coordinator/projects/{arranged.project.id}/production"' in project_page.text


async def test_a_stale_edit_is_a_conflict_and_a_fresh_one_saves(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, _ = await make_order(engine, people, arranged, lots=[])
    await login(client, world.coordinator.email)
    fields = {
        "quantity": "2500",
        "unit_price": "4.50",
        "currency": "USD",
        "ex_factory_date": in_days(70).isoformat(),
        "incoterm": "FOB",
        "delivery_address": "",
        "payment_terms": "",
        "routing": "cut, assembled, finished, packed",
        "report_interval_days": "3",
    }
    saved = await post(client, f"{order_path(order)}/edit", version=str(order.version), **fields)
    assert saved.status_code == 303
    assert (await reload(engine, ProductionOrder, order.id)).quantity == 2500

    stale = await post(
        client, f"{order_path(order)}/edit", version=str(order.version), **{**fields, "quantity": "10"}
    )
    assert stale.status_code == 409
    assert "changed" in stale.text
    assert (await reload(engine, ProductionOrder, order.id)).quantity == 2500

    # a form without its version, or with one that is not a number, is refused: nothing is written unchecked
    for version in ({}, {"version": "two"}):
        refused = await post(client, f"{order_path(order)}/edit", **version, **{**fields, "quantity": "11"})
        assert refused.status_code == 422
        assert ("missing its version" in refused.text) == (not version)
        assert (await reload(engine, ProductionOrder, order.id)).quantity == 2500


async def test_lots_never_hold_more_than_the_order(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, _ = await make_order(engine, people, arranged, quantity=3000, lots=[])
    await login(client, world.coordinator.email)
    dates = {"planned_start": in_days(5).isoformat(), "planned_end": in_days(14).isoformat()}
    assert (await post(client, f"{order_path(order)}/lots", quantity="2000", **dates)).status_code == 303
    over = await post(client, f"{order_path(order)}/lots", quantity="1500", **dates)
    assert over.status_code == 422
    assert "more than the order" in over.text
    assert 'value="1500"' in over.text  # the typed quantity is kept
    absurd = await post(client, f"{order_path(order)}/lots", quantity="2.5", **dates)
    assert absurd.status_code == 422
    assert await count(engine, Lot) == 1

    async with system(engine) as session:
        lot = await session.scalar(select(Lot))
    assert lot is not None
    resized = await post(
        client,
        f"{order_path(order)}/lots/{lot.id}",
        action="resize",
        quantity="3001",
        version=str(lot.version),
    )
    assert resized.status_code == 422
    assert (await reload(engine, Lot, lot.id)).quantity == 2000


async def test_sending_shows_the_production_link_once_and_links_can_be_replaced_and_revoked(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, _ = await make_order(engine, people, arranged, state="confirmed")
    await login(client, world.coordinator.email)
    sent = await post(client, f"{order_path(order)}/send", version=str(order.version))
    assert sent.status_code == 200
    assert sent.headers["cache-control"] == "no-store"
    url = sent.text.split('<code id="new-link">', 1)[1].split("</code>", 1)[0]
    token = url.rsplit("/p/", 1)[1]
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.sent
    async with session_as(engine, people, None) as session:
        assert (await links.find_link(session, token)).order_id == order.id
    again = await client.get(order_path(order))
    assert token not in again.text
    assert "Ex-factory" in again.text  # the plan is on the page

    replaced = await post(client, f"{order_path(order)}/link", action="new")
    assert replaced.status_code == 200
    second = replaced.text.split('<code id="new-link">', 1)[1].split("</code>", 1)[0].rsplit("/p/", 1)[1]
    assert second != token
    async with system(engine) as session:
        rows = (await session.scalars(select(ProductionLink).order_by(ProductionLink.id))).all()
    assert [r.state for r in rows] == [ProductionLinkState.revoked, ProductionLinkState.live]
    revoked = await post(client, f"{order_path(order)}/link", action="revoke", link_id=str(rows[1].id))
    assert revoked.status_code == 303
    assert (await reload(engine, ProductionLink, rows[1].id)).state == ProductionLinkState.revoked

    # sending twice is refused on the page, with no second link
    twice = await post(client, f"{order_path(order)}/send", version=str(order.version + 1))
    assert twice.status_code == 409
    assert await count(engine, ProductionLink) == 2


async def test_the_factorys_proposed_date_is_declined_with_a_reason_or_agreed(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, _ = await make_order(engine, people, arranged, state="sent")

    async def propose(days: int) -> ProductionOrder:
        async with session_as(engine, people, None) as session:
            loaded = await order_service.load_order(session, order.id)
            return await order_service.propose_date(
                session, order=loaded, ex_factory_date=in_days(days), reason="Mold repair", name="Wang Lei"
            )

    proposed = await propose(75)
    await login(client, world.coordinator.email)
    page = await client.get(order_path(order))
    assert "Mold repair" in page.text
    assert 'id="proposal"' in page.text
    no_reason = await post(
        client, f"{order_path(order)}/order", action="decline", reason="", version=str(proposed.version)
    )
    assert no_reason.status_code == 422
    assert (await reload(engine, ProductionOrder, order.id)).proposed_ex_factory_date == in_days(75)
    declined = await post(
        client,
        f"{order_path(order)}/order",
        action="decline",
        reason="Too late",
        version=str(proposed.version),
    )
    assert declined.status_code == 303
    assert (await reload(engine, ProductionOrder, order.id)).proposed_ex_factory_date is None

    proposed = await propose(68)
    agreed = await post(client, f"{order_path(order)}/order", action="agree", version=str(proposed.version))
    assert agreed.status_code == 303
    after = await reload(engine, ProductionOrder, order.id)
    assert after.status == OrderStatus.accepted
    assert after.ex_factory_date == in_days(68)


async def test_moving_dates_needs_a_reason(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(engine, people, arranged, state="sent")
    await login(client, world.coordinator.email)
    current = await reload(engine, ProductionOrder, order.id)
    refused = await post(
        client,
        f"{order_path(order)}/order",
        action="reschedule",
        ex_factory_date=in_days(80).isoformat(),
        reason="",
        version=str(current.version),
    )
    assert refused.status_code == 422
    assert (await reload(engine, ProductionOrder, order.id)).ex_factory_date == in_days(60)
    moved = await post(
        client,
        f"{order_path(order)}/order",
        action="reschedule",
        ex_factory_date=in_days(80).isoformat(),
        reason="Brand moved the launch",
        version=str(current.version),
    )
    assert moved.status_code == 303
    assert (await reload(engine, ProductionOrder, order.id)).ex_factory_date == in_days(80)

    lot = lots[0]
    dates = {"planned_start": in_days(8).isoformat(), "planned_end": in_days(20).isoformat()}
    lot_path = f"{order_path(order)}/lots/{lot.id}"
    no_reason = await post(
        client, lot_path, action="reschedule", reason="", version=str(lot.version), **dates
    )
    assert no_reason.status_code == 422
    assert (await reload(engine, Lot, lot.id)).planned_start == lot.planned_start
    done = await post(
        client, lot_path, action="reschedule", reason="Line busy", version=str(lot.version), **dates
    )
    assert done.status_code == 303
    assert (await reload(engine, Lot, lot.id)).planned_end == in_days(20)


async def test_tooling_is_added_rejected_with_a_reason_retried_and_approved(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, _lots, _ = await make_order(engine, people, arranged, state="sent")
    await login(client, world.coordinator.email)
    added = await post(
        client,
        f"{order_path(order)}/tooling",
        kind="mold",
        name="Shade mold",
        due_date=in_days(20).isoformat(),
    )
    assert added.status_code == 303
    async with system(engine) as session:
        item = await session.scalar(select(ToolingItem))
    assert item is not None

    async def trial() -> ToolingItem:
        async with session_as(engine, people, None) as session:
            loaded = await session.get(ToolingItem, item.id)
            assert loaded is not None
            return await tooling_service.submit_trial(session, item=loaded, note="T1 photos")

    tried = await trial()
    path = f"{order_path(order)}/tooling/{item.id}"
    no_reason = await post(client, path, action="reject", reason="", version=str(tried.version))
    assert no_reason.status_code == 422
    assert (await reload(engine, ToolingItem, item.id)).status == ToolingStatus.trial
    rejected = await post(
        client, path, action="reject", reason="Flash on the rim", version=str(tried.version)
    )
    assert rejected.status_code == 303
    after = await reload(engine, ToolingItem, item.id)
    assert after.status == ToolingStatus.rejected
    assert after.rejection_reason == "Flash on the rim"
    assert (await post(client, path, action="start", version=str(after.version))).status_code == 303
    tried = await trial()
    approved = await post(client, path, action="approve", version=str(tried.version))
    assert approved.status_code == 303
    assert (await reload(engine, ToolingItem, item.id)).status == ToolingStatus.approved


async def test_brands_are_refused_and_another_projects_order_is_not_found(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(engine, people, arranged, state="confirmed")
    other = await arrange_project(engine, people, org="b")
    for brand in (world.owner_a, world.owner_b):
        await login(client, brand.email)
        for path in (
            order_path(order),
            f"/coordinator/projects/{order.project_id}/production",
            "/coordinator/production/board",
            "/coordinator/production/schedule",
        ):
            response = await client.get(path, follow_redirects=False)
            assert response.status_code == 403, (brand.email, path)
            assert order.reference not in response.text
        sent = await post(client, f"{order_path(order)}/send", version=str(order.version))
        assert sent.status_code == 403
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.confirmed

    await login(client, world.coordinator.email)
    elsewhere = f"/coordinator/projects/{other.project.id}/production/{order.id}"
    assert (await client.get(elsewhere)).status_code == 404
    assert (await post(client, f"{elsewhere}/send", version=str(order.version))).status_code == 404
    foreign_lot = await post(
        client,
        f"{order_path(order)}/lots/{lots[0].id + 1000}",
        action="cancel",
        reason="x",
        version="1",
    )
    assert foreign_lot.status_code == 404
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.confirmed
    assert (await client.get("/coordinator/production/photos/999999/thumbnail")).status_code == 404


async def test_starting_a_lot_waits_for_tooling_unless_overridden(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(engine, people, arranged, state="accepted")
    await login(client, world.coordinator.email)
    await post(client, f"{order_path(order)}/tooling", kind="jig", name="Drill jig")
    lot = lots[0]
    refused = await post(
        client, f"{order_path(order)}/lots/{lot.id}", action="start", version=str(lot.version)
    )
    assert refused.status_code == 409
    assert "Drill jig" in refused.text
    started = await post(
        client,
        f"{order_path(order)}/lots/{lot.id}",
        action="start",
        override_reason="Brand accepts the risk",
        version=str(lot.version),
    )
    assert started.status_code == 303
    assert (await reload(engine, Lot, lot.id)).start_override_reason == "Brand accepts the risk"
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.in_production


async def test_a_suppliers_weekly_capacity_is_a_whole_number_of_zero_or_more(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    await login(client, world.coordinator.email)
    base = {"name_en": "Ningbo Capacity Works", "name_zh": "宁波产能工厂"}
    for bad in ("-1", "2.5", "lots"):
        refused = await post(client, "/coordinator/suppliers", **base, weekly_capacity=bad)
        assert refused.status_code == 422, bad
        assert "weekly capacity must be a whole number" in refused.text
    assert await count(engine, Supplier) == 0
    created = await post(client, "/coordinator/suppliers", **base, weekly_capacity="0")
    assert created.status_code == 303
    async with system(engine) as session:
        supplier = await session.scalar(select(Supplier))
    assert supplier is not None
    assert supplier.weekly_capacity == 0
    form = (await client.get(f"/coordinator/suppliers/{supplier.id}/edit")).text
    assert 'name="weekly_capacity" min="0" step="1" value="0"' in form
    saved = await post(
        client,
        f"/coordinator/suppliers/{supplier.id}/edit",
        **base,
        weekly_capacity="1,500",
        version=str(supplier.version),
    )
    assert saved.status_code == 303
    assert (await reload(engine, Supplier, supplier.id)).weekly_capacity == 1500


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalStorage]:
    storage = LocalStorage(
        StorageSettings().model_copy(update={"media_root": tmp_path / "media"}),
        secret_key="production-test-secret-0123456789abcdef",
    )
    set_storage(storage)
    yield storage
    reset_storage()


async def test_reports_are_paged_newest_first_with_their_photos(
    client: Client,
    engine: AsyncEngine,
    world: World,
    people: People,
    local: LocalStorage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(production_queries, "REPORTS_PER_PAGE", 2)
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(engine, people, arranged, quantity=300, lots=[300], state="accepted")
    lot = lots[0]
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lot.id)
    reports = []
    for finished in (10, 20, 30):
        async with session_as(engine, people, None) as session:
            loaded = await lot_service.load_lot(session, lot.id)
            counts = {"cut": 300, "assembled": 300, "finished": finished, "packed": 0}
            reports.append(
                await lot_service.report_progress(
                    session, lot=loaded, counts=counts, note=f"note {finished}", reporter_name="Wang Lei"
                )
            )
    image = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(image, "JPEG")
    key = make_key(order.org_id, "image", "report.jpg")
    await local.put(key, image.getvalue(), content_type="image/jpeg")
    async with system(engine) as session:
        attachment = Attachment(
            org_id=order.org_id,
            project_id=order.project_id,
            kind="image",
            object_key=key,
            original_name="report.jpg",
            size=len(image.getvalue()),
            content_type="image/jpeg",
            checksum="1" * 64,
        )
        session.add(attachment)
        await session.flush()
        photo = ProductionPhoto(
            org_id=order.org_id,
            order_id=order.id,
            subject_type="progress_report",
            subject_id=reports[2].id,
            attachment_id=attachment.id,
            caption="Line 2",
        )
        session.add(photo)
    await login(client, world.coordinator.email)
    first = (await client.get(f"{order_path(order)}?lot={lot.id}")).text
    shown = re.findall(r'data-report="(\d+)"', first)
    assert shown == [str(reports[2].id), str(reports[1].id)]
    assert f'src="/coordinator/production/photos/{photo.id}/thumbnail"' in first
    assert "Page 1 of 2" in first
    second = (await client.get(f"{order_path(order)}?lot={lot.id}&page=2")).text
    assert re.findall(r'data-report="(\d+)"', second) == [str(reports[0].id)]
    thumbnail = await client.get(f"/coordinator/production/photos/{photo.id}/thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) <= 480
    full = await client.get(f"/coordinator/production/photos/{photo.id}/image", follow_redirects=False)
    assert full.status_code == 302
    await login(client, world.owner_a.email)
    assert (await client.get(f"/coordinator/production/photos/{photo.id}/thumbnail")).status_code == 403
