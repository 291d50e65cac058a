"""The shipment PDFs are rendered once per content (issue: "shipment PDFs rendered per request 1.5-6 s, no cache"):
the first request renders and stores the PDF, later ones serve the stored bytes; documents generated again from a
changed packing list make a new PDF, and the old one is never served for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.shipping import documents
from makeready.shipping.models import PackingList, ShipmentDocument
from makeready.storage import get_storage
from portal.factory import MISSES
from tests.conftest import World, login
from tests.shipping_support import (
    pass_inspection,
    people_of,
    produce,
    running_order,
    staff_post,
    submit_packing,
)
from tests.test_shipping import ready_to_release, shipment_of
from tests.workflow_support import system

Client = AsyncTestClient[Litestar]


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    """The factory link's miss counter is per process: another module's forged tokens must not limit these tests."""
    MISSES.clear()
    yield
    MISSES.clear()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The document numbers rendered, in order (the renderer itself still runs)."""
    seen: list[str] = []
    real = documents.render_pdf

    async def counting(document: ShipmentDocument, *, languages: tuple[str, str]) -> bytes:
        seen.append(document.number)
        return await real(document, languages=languages)

    monkeypatch.setattr(documents, "render_pdf", counting)
    return seen


async def _cached(org_id: int) -> set[str]:
    return {
        obj.key
        async for page in get_storage().list_objects(f"org/{org_id}/cache/shipping-pdf/")
        for obj in page
    }


async def _clear(org_id: int) -> None:
    """The media folder lives for the whole session: another run of these tests may have stored the same content."""
    await get_storage().delete_many(sorted(await _cached(org_id)))


async def test_the_second_request_serves_the_stored_pdf_and_a_changed_packing_list_makes_a_new_one(
    engine: AsyncEngine, world: World, client: Client, renders: list[str]
) -> None:
    people = people_of(world)
    running = await running_order(engine, people, lots=[1000, 1000])
    await _clear(world.org_a.id)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    url = f"{running.coordinator_page}/shipments/{shipment.id}/documents/packing_list?format=pdf&lang=en"

    first = await client.get(url)
    assert first.status_code == 200
    assert first.content.startswith(b"%PDF")
    assert renders == [f"PL-{shipment.reference}"]
    [key] = await _cached(world.org_a.id)
    assert await get_storage().read(key) == first.content

    second = await client.get(url)
    assert second.content == first.content
    assert renders == [f"PL-{shipment.reference}"], "the second request rendered again"
    # the brand reads the same stored copy (same content, same language order)
    client.cookies.clear()
    await login(client, world.owner_a.email)
    brand = await client.get(
        f"/projects/{running.project_id}/shipments/{shipment.id}/documents/packing_list?format=pdf&lang=en"
    )
    assert brand.content == first.content
    assert len(renders) == 1
    # another language order is another document
    chinese = await client.get(
        f"/projects/{running.project_id}/shipments/{shipment.id}/documents/packing_list?format=pdf&lang=zh_Hans"
    )
    assert chinese.status_code == 200
    assert len(renders) == 2
    client.cookies.clear()

    # lot 2's packing list joins the shipment: the documents are generated again, and the PDF is a new one
    await login(client, world.coordinator.email)
    lot = running.lots[1]
    await produce(engine, people, running, lot)
    await pass_inspection(engine, people, lot)
    assert (await submit_packing(client, running, lot)).status_code == 303
    async with system(engine) as session:
        listed = (await session.scalars(select(PackingList).where(PackingList.lot_id == lot.id))).one()
    assert (
        await staff_post(client, f"{running.coordinator_page}/packing/{listed.id}/accept")
    ).status_code == 303
    current = await shipment_of(engine, running.project_id)
    data: dict[str, Any] = {
        "lot_ids": [str(running.lots[0].id), str(lot.id)],
        "lot_ids_sent": "1",
        "version": str(current.version),
    }
    assert (
        await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}", data)
    ).status_code == 303
    # the documents no longer hold until they are generated again
    assert (await client.get(url)).status_code == 404
    assert (
        await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}/documents")
    ).status_code == 303
    third = await client.get(url)
    assert third.status_code == 200
    assert third.content != first.content
    assert len(renders) == 3
    assert len(await _cached(world.org_a.id)) == 3
    assert (await client.get(url)).content == third.content
    assert len(renders) == 3


async def test_storage_that_fails_does_not_refuse_the_document(
    engine: AsyncEngine, world: World, client: Client, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    people = people_of(world)
    running = await running_order(engine, people, lots=[1000])
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    storage = get_storage()

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk gone")

    monkeypatch.setattr(storage, "read", broken)
    monkeypatch.setattr(storage, "put", broken)
    url = f"{running.coordinator_page}/shipments/{shipment.id}/documents/commercial_invoice?format=pdf"
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert renders == [f"CI-{shipment.reference}"]
