"""Packing lists, shipments and their release gate through HTTP: the coordinator's pages, the factory's production
link and the brand's portal (DESIGN.md 3b; issue 14)."""

from __future__ import annotations

import asyncio
import html
import re
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.audit.models import AuditEvent
from makeready.billing.models import FeeStatus, Invoice, InvoiceStatus, MilestoneFee
from makeready.billing.stripe_client import configure as configure_billing
from makeready.db.types import utcnow
from makeready.notify.models import Notification
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder, ProductionPhoto
from makeready.projects.models import Attachment, Milestone, MilestoneStatus, Phase, Project
from makeready.shipping.models import (
    PackingList,
    PackingStatus,
    Shipment,
    ShipmentLot,
    ShipmentStatus,
)
from makeready.storage import get_storage
from tests.conftest import World, csrf, login
from tests.shipping_support import (
    Running,
    lot_status,
    packing_form,
    pass_inspection,
    people_of,
    png,
    produce,
    running_order,
    staff_post,
    submit_packing,
)
from tests.stripe_fake import billing_settings
from tests.workflow_support import People, session_as, system

Client = AsyncTestClient[Litestar]


def missing_items(page: str) -> list[str]:
    block = re.search(r"<ul class=\"missing\">(.*?)</ul>", page, re.S)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)] if block else []


async def stored_keys(org_id: int) -> set[str]:
    return {obj.key async for page in get_storage().list_objects(f"org/{org_id}/") for obj in page}


async def shipment_of(engine: AsyncEngine, project_id: int) -> Shipment:
    async with system(engine) as session:
        return (
            await session.scalars(
                select(Shipment).where(Shipment.project_id == project_id).order_by(Shipment.id.desc())
            )
        ).first()


async def plan(client: Client, running: Running, lots: list[Lot], **terms: str) -> Any:
    return await staff_post(
        client,
        f"{running.coordinator_page}/shipments",
        {"order_id": str(running.order.id), "lot_ids": [str(lot.id) for lot in lots], **terms},
    )


async def release(client: Client, running: Running, shipment: Shipment, **data: str) -> Any:
    return await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}/release", data)


async def ready_to_release(engine: AsyncEngine, people: People, client: Client, running: Running) -> Shipment:
    """Lot 1 produced, passed, packed (its packing list accepted), in a planned shipment with its documents."""
    lot = running.lots[0]
    await produce(engine, people, running, lot)
    await pass_inspection(engine, people, lot)
    assert (await submit_packing(client, running, lot)).status_code == 303
    async with system(engine) as session:
        listed = (await session.scalars(select(PackingList).where(PackingList.lot_id == lot.id))).one()
    assert (
        await staff_post(client, f"{running.coordinator_page}/packing/{listed.id}/accept")
    ).status_code == 303
    assert (await plan(client, running, [lot], unit_value="12.50")).status_code == 303
    shipment = await shipment_of(engine, running.project_id)
    response = await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}/documents")
    assert response.status_code == 303, response.text
    return await shipment_of(engine, running.project_id)


async def test_the_release_gate_refuses_with_each_missing_condition_until_all_are_met(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    lot = running.lots[0]
    await produce(engine, people, running, lot)
    await login(client, world.coordinator.email)
    assert (await plan(client, running, [lot])).status_code == 303
    shipment = await shipment_of(engine, running.project_id)

    refused = await release(client, running, shipment, override_reason="The brand asked")
    assert refused.status_code == 409
    missing = missing_items(refused.text)
    assert any("Lot 1 has not passed its final inspection" in m for m in missing), missing
    assert any("has not submitted the packing list of lot 1" in m for m in missing), missing
    assert any("have not been generated" in m for m in missing), missing
    # an override reason covers the payment only: nothing else was overridden
    assert (await shipment_of(engine, running.project_id)).status == ShipmentStatus.planned

    await pass_inspection(engine, people, lot)
    assert (await submit_packing(client, running, lot)).status_code == 303
    missing = missing_items((await release(client, running, shipment)).text)
    assert not any("final inspection" in m for m in missing)
    assert any("packing list of lot 1 is not accepted" in m for m in missing), missing

    async with system(engine) as session:
        listed = (await session.scalars(select(PackingList).where(PackingList.lot_id == lot.id))).one()
    assert (
        await staff_post(client, f"{running.coordinator_page}/packing/{listed.id}/accept")
    ).status_code == 303
    # documents need the declared value per unit
    no_value = await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}/documents")
    assert no_value.status_code == 409
    assert "value per unit" in no_value.text
    current = await shipment_of(engine, running.project_id)
    saved = await staff_post(
        client,
        f"{running.coordinator_page}/shipments/{shipment.id}",
        {"unit_value": "12.50", "version": str(current.version), "forwarder": "Kuehne+Nagel"},
    )
    assert saved.status_code == 303
    missing = missing_items((await release(client, running, shipment)).text)
    assert missing == ["The commercial invoice and the packing list have not been generated."]

    assert (
        await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}/documents")
    ).status_code == 303
    released = await release(client, running, shipment)
    assert released.status_code == 303, released.text
    after = await shipment_of(engine, running.project_id)
    assert after.status == ShipmentStatus.released
    assert after.released_by_id == world.coordinator.id
    assert await lot_status(engine, lot.id) == LotStatus.packed
    async with system(engine) as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "shipment.released"))
        ).all()
    assert [e.actor_id for e in events] == [world.coordinator.id]
    async with system(engine) as session:
        told = (
            await session.scalars(select(Notification).where(Notification.kind == "shipment_released"))
        ).all()
    assert {n.user_id for n in told} == {world.owner_a.id, world.member_a.id}


async def test_a_lot_on_hold_is_listed_by_the_gate(engine: AsyncEngine, world: World, client: Client) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    report = await client.post(
        f"/p/{running.token}/shipping/deviations",
        data={"lot_id": str(running.lots[0].id), "description": "换了螺丝供应商", "name": "王磊"},
        follow_redirects=False,
    )
    assert report.status_code == 303
    missing = missing_items((await release(client, running, shipment)).text)
    assert missing == ["Floor deviation 1 on lot 1 awaits the brand's decision."]


async def test_the_balance_payment_is_required_and_only_it_may_be_overridden_with_a_reason(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    async with system(engine) as session:
        ex_factory = (
            await session.scalars(
                select(Milestone).where(
                    Milestone.production_order_id == running.order.id, Milestone.plan_key == "ex_factory"
                )
            )
        ).one()
        fee = MilestoneFee(
            org_id=running.order.org_id,
            project_id=running.project_id,
            milestone_id=ex_factory.id,
            description="Balance 70%",
            amount_minor=840000,
            currency="USD",
            status=FeeStatus.invoiced,
        )
        session.add(fee)
    configure_billing(billing_settings())
    try:
        refused = await release(client, running, shipment)
        assert refused.status_code == 409
        assert missing_items(refused.text) == ["The balance invoice (Balance 70%, $8,400.00) is not paid."]
        overridden = await release(
            client, running, shipment, override_reason="Letter of credit confirmed by the bank"
        )
        assert overridden.status_code == 303
    finally:
        configure_billing()
    after = await shipment_of(engine, running.project_id)
    assert after.status == ShipmentStatus.released
    assert after.payment_override_reason == "Letter of credit confirmed by the bank"
    async with system(engine) as session:
        event = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "shipment.released"))
        ).one()
    assert event.after["payment_overridden"] == ["The balance invoice (Balance 70%, $8,400.00) is not paid."]


async def test_a_paid_balance_invoice_lets_the_release_through(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    async with system(engine) as session:
        shipment_milestone = Milestone(
            org_id=running.order.org_id,
            project_id=running.project_id,
            phase=Phase.production,
            title="Shipment",
            position=9,
            due_date=utcnow().date(),
            status=MilestoneStatus.done,
        )
        session.add(shipment_milestone)
        await session.flush()
        fee = MilestoneFee(
            org_id=running.order.org_id,
            project_id=running.project_id,
            milestone_id=shipment_milestone.id,
            description="Balance",
            amount_minor=100000,
            currency="USD",
            status=FeeStatus.invoiced,
        )
        session.add(fee)
        await session.flush()
        session.add(
            Invoice(
                org_id=running.order.org_id,
                stripe_invoice_id="in_balance",
                fee_id=fee.id,
                status=InvoiceStatus.paid,
                currency="usd",
                amount_due=100000,
                amount_paid=100000,
                stripe_created=utcnow(),
                synced_at=utcnow(),
            )
        )
    configure_billing(billing_settings())
    try:
        assert (await release(client, running, shipment)).status_code == 303
    finally:
        configure_billing()


async def test_releasing_twice_from_two_tabs_records_one_release(
    engine: AsyncEngine, world: World, client: Client, app: Litestar
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    url = f"{running.coordinator_page}/shipments/{shipment.id}/release"
    data = {"_csrf_token": csrf(client), "version": str(shipment.version)}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=str(client.base_url), cookies=client.cookies
    ) as tabs:
        first, second = await asyncio.gather(
            tabs.post(url, data=data, follow_redirects=False),
            tabs.post(url, data=data, follow_redirects=False),
        )
    assert sorted([first.status_code, second.status_code]) == [303, 409]
    async with system(engine) as session:
        count = await session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "shipment.released")
        )
    assert count == 1
    # a stale tab afterwards is refused too, with the current state
    late = await release(client, running, shipment, version=str(shipment.version))
    assert late.status_code == 409


async def test_the_factory_link_says_do_not_ship_until_the_release(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)

    async def ship_state() -> str:
        page = await client.get(f"/p/{running.token}/shipping?lang=en")
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        row = re.search(r'<tr id="lot-1">.*?</tr>', page.text, re.S)
        assert row is not None
        state = re.search(r'class="ship-state">(.*?)</td>', row.group(0), re.S)
        assert state is not None
        return re.sub(r"<[^>]+>", "", state.group(1)).strip()

    assert await ship_state() == "Do not ship"
    chinese = await client.get(f"/p/{running.token}/shipping")
    assert "不要发货" in chinese.text
    assert (await release(client, running, shipment)).status_code == 303
    assert await ship_state() == "Released for shipment"
    assert "已放行出货" in (await client.get(f"/p/{running.token}/shipping")).text
    # a wrong token is a 404, and nothing of the order shows
    unknown = await client.get("/p/" + "x" * 43 + "/shipping")
    assert unknown.status_code == 404


async def test_the_documents_carry_their_numbers_in_both_languages_as_page_and_pdf(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    base = f"{running.coordinator_page}/shipments/{shipment.id}/documents"
    invoice = await client.get(f"{base}/commercial_invoice?lang=en")
    assert invoice.status_code == 200
    assert f"CI-{shipment.reference}" in invoice.text
    assert "Commercial invoice" in invoice.text
    assert "商业发票" in invoice.text
    assert re.search(r'class="n total-units">1000<', invoice.text)
    assert "USD 12500.00" in invoice.text  # 1000 units at 12.50
    packing = await client.get(f"{base}/packing_list?lang=zh_Hans")
    assert f"PL-{shipment.reference}" in packing.text
    assert "装箱单" in packing.text
    assert "Packing list" in packing.text
    assert re.search(r'class="n total-cartons">250<', packing.text)
    pdf = await client.get(f"{base}/packing_list?format=pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pl.pdf"
        path.write_bytes(pdf.content)
        text = (await anyio.run_process(["pdftotext", str(path), "-"])).stdout.decode()
    assert f"PL-{shipment.reference}" in text
    assert "装箱单" in text
    assert "Packing list" in text
    assert "250" in text
    assert "1000" in text
    # the brand reads them too, in its project
    await login(client, world.owner_a.email)
    brand = await client.get(
        f"/projects/{running.project_id}/shipments/{shipment.id}/documents/commercial_invoice"
    )
    assert brand.status_code == 200
    assert f"CI-{shipment.reference}" in brand.text


async def test_packing_lists_refuse_overlapping_ranges_gross_below_net_and_fractions(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    lot = running.lots[0]
    await produce(engine, people, running, lot)
    row = {"length_cm": "60", "width_cm": "40", "height_cm": "35", "net_kg": "8.2", "gross_kg": "9.1"}
    ranges = [
        {"first": 1, "last": 130, "units_per_carton": 4, **row},
        {"first": 120, "last": 250, "units_per_carton": 4, **row},
    ]
    overlapping = await submit_packing(client, running, lot, ranges, lang="en")
    assert overlapping.status_code == 422
    assert "Cartons 1 to 130 and 120 to 250 overlap" in overlapping.text
    chinese = await submit_packing(client, running, lot, ranges)
    assert "箱号 1 至 130 与 120 至 250 重叠" in chinese.text
    lighter = await submit_packing(
        client,
        running,
        lot,
        [{"first": 1, "last": 250, "units_per_carton": 4, **row, "gross_kg": "8.0"}],
        lang="en",
    )
    assert lighter.status_code == 422
    assert "below the net weight" in lighter.text
    fraction = await submit_packing(
        client, running, lot, [{"first": 1, "last": 250, "units_per_carton": "4.5", **row}]
    )
    assert fraction.status_code == 422
    negative = await submit_packing(
        client, running, lot, [{"first": 1, "last": 250, "units_per_carton": 4, **row, "net_kg": "-2"}]
    )
    assert negative.status_code == 422
    short = await submit_packing(
        client, running, lot, [{"first": 1, "last": 200, "units_per_carton": 4, **row}], lang="en"
    )
    assert short.status_code == 422
    assert "800 units are packed; the lot has 1000." in short.text
    # the photos are required, and must be images (checked by their bytes)
    row_ok = [{"first": 1, "last": 250, "units_per_carton": 4, **row}]
    without = await client.post(
        f"/p/{running.token}/packing/{lot.id}", data=packing_form(row_ok, lang="en"), follow_redirects=False
    )
    assert without.status_code == 422
    assert "Add a photo of: Packed carton, Carton label." in without.text
    before = await stored_keys(running.order.org_id)
    disguised = await client.post(
        f"/p/{running.token}/packing/{lot.id}",
        data=packing_form(row_ok, lang="en"),
        files=[
            ("photo_carton", ("carton.png", b"<html><script>alert(1)</script></html>", "image/png")),
            ("photo_label", ("label.png", png(), "image/png")),
        ],
        follow_redirects=False,
    )
    assert disguised.status_code == 422
    async with system(engine) as session:
        assert await session.scalar(select(func.count(PackingList.id))) == 0
        assert await session.scalar(select(func.count(ProductionPhoto.id))) == 0
        assert await session.scalar(select(func.count(Attachment.id))) == 0
    assert await stored_keys(running.order.org_id) == before  # nothing of the refused photos stays
    explained = await submit_packing(
        client,
        running,
        lot,
        [{"first": 1, "last": 200, "units_per_carton": 4, **row}],
        reason="200 units held back for rework",
    )
    assert explained.status_code == 303
    async with system(engine) as session:
        listed = (await session.scalars(select(PackingList))).one()
        photos = (
            await session.scalars(
                select(ProductionPhoto).where(
                    ProductionPhoto.subject_type == "packing_list", ProductionPhoto.subject_id == listed.id
                )
            )
        ).all()
    assert sorted(p.caption for p in photos) == ["carton", "label"]
    assert listed.status == PackingStatus.submitted
    assert listed.total_units == 800
    assert listed.total_cartons == 200
    assert listed.differences[0]["values"] == {"units": 800, "quantity": 1000}


async def test_a_lot_cannot_travel_in_two_shipments(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    assert (await plan(client, running, [running.lots[0]])).status_code == 303
    again = await plan(client, running, [running.lots[0], running.lots[1]])
    assert again.status_code == 409
    assert "already in shipment" in again.text
    async with system(engine) as session:
        assert await session.scalar(select(func.count(ShipmentLot.id))) == 1
        assert await session.scalar(select(func.count(Shipment.id))) == 1
    # a partial shipment of the other lots is fine
    assert (await plan(client, running, [running.lots[1], running.lots[2]])).status_code == 303


async def test_tenancy_another_org_sees_nothing_and_the_brand_cannot_release(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    client.cookies.clear()
    await login(client, world.owner_b.email)
    project = running.project_id
    assert (await client.get(f"/projects/{project}/shipments")).status_code == 404
    assert (await client.get(f"/projects/{project}/shipments/{shipment.id}")).status_code == 404
    doc = await client.get(f"/projects/{project}/shipments/{shipment.id}/documents/commercial_invoice")
    assert doc.status_code == 404
    client.cookies.clear()
    await login(client, world.owner_a.email)
    assert (await client.get(f"/projects/{project}/shipments/{shipment.id}")).status_code == 200
    refused = await release(client, running, shipment)
    assert refused.status_code in (403, 404)
    assert (await client.get(running.coordinator_page)).status_code in (403, 404)
    assert (await shipment_of(engine, project)).status == ShipmentStatus.planned


async def test_receipt_delivers_the_lots_and_the_project_once_every_lot_is_delivered(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people, lots=[1000])
    await login(client, world.coordinator.email)
    shipment = await ready_to_release(engine, people, client, running)
    assert (await release(client, running, shipment)).status_code == 303
    assert (
        await staff_post(client, f"{running.coordinator_page}/shipments/{shipment.id}/ship")
    ).status_code == 303
    assert await lot_status(engine, running.lots[0].id) == LotStatus.shipped
    async with system(engine) as session:  # its only lot left: the order is shipped
        assert (await session.get_one(ProductionOrder, running.order.id)).status == OrderStatus.shipped
    async with system(engine) as session:  # the time-and-action plan is done
        for milestone in (
            await session.scalars(select(Milestone).where(Milestone.project_id == running.project_id))
        ).all():
            milestone.status = MilestoneStatus.done
    client.cookies.clear()
    await login(client, world.viewer_a.email)
    viewer = await client.post(
        f"/projects/{running.project_id}/shipments/{shipment.id}/receipt",
        data={"_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert viewer.status_code == 403
    client.cookies.clear()
    await login(client, world.owner_a.email)
    confirmed = await client.post(
        f"/projects/{running.project_id}/shipments/{shipment.id}/receipt",
        data={"_csrf_token": csrf(client), "note": "All 250 cartons arrived"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text
    assert await lot_status(engine, running.lots[0].id) == LotStatus.delivered
    async with system(engine) as session:
        project = await session.get_one(Project, running.project_id)
        assert project.phase == Phase.delivered
        assert (await session.get_one(Shipment, shipment.id)).status == ShipmentStatus.delivered
    problem = await client.post(
        f"/projects/{running.project_id}/shipments/{shipment.id}/problem",
        data={"_csrf_token": csrf(client), "comment": ""},
        follow_redirects=False,
    )
    assert problem.status_code == 422


async def test_the_packing_form_shows_the_spec_and_flags_cartons_that_differ_from_it(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    packaging = [
        {
            "id": "p2",
            "kind": "packaging",
            "item": {"en": "Master carton", "zh": "外箱", "status": "reviewed"},
            "details": {"en": "5-ply", "zh": "五层瓦楞", "status": "reviewed"},
            "units_per_carton": 4,
        }
    ]
    running = await running_order(engine, people, packaging=packaging)
    lot = running.lots[0]
    await produce(engine, people, running, lot)
    form = await client.get(f"/p/{running.token}/packing/{lot.id}")
    assert form.status_code == 200
    assert "外箱" in form.text
    assert "每箱件数" in form.text
    other_order = await client.get(f"/p/{running.token}/packing/987654")
    assert other_order.status_code == 404
    five = [
        {
            "first": 1,
            "last": 200,
            "units_per_carton": 5,
            "length_cm": "60",
            "width_cm": "40",
            "height_cm": "35",
            "net_kg": "8.2",
            "gross_kg": "9.1",
        }
    ]
    refused = await submit_packing(client, running, lot, five, lang="en")
    assert refused.status_code == 422
    assert "Cartons 1 to 200 hold 5 units; the spec says 4 per carton." in html.unescape(refused.text)
    accepted = await submit_packing(client, running, lot, five, reason="The brand asked for 5 per carton")
    assert accepted.status_code == 303


async def test_accepting_the_packing_list_of_a_lot_released_for_packing_packs_it(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    people = people_of(world)
    running = await running_order(engine, people)
    lot = running.lots[0]
    await produce(engine, people, running, lot)
    await pass_inspection(engine, people, lot)
    async with session_as(engine, people, people.coordinator) as session:
        loaded = await session.get_one(Lot, lot.id)
        await move_lot(session, loaded, "release", actor=people.coordinator)
    assert (await submit_packing(client, running, lot)).status_code == 303
    async with system(engine) as session:
        listed = (await session.scalars(select(PackingList).where(PackingList.lot_id == lot.id))).one()
    await login(client, world.coordinator.email)
    blank = await staff_post(client, f"{running.coordinator_page}/packing/{listed.id}/return", {"reason": ""})
    assert blank.status_code == 422
    stale = await staff_post(
        client, f"{running.coordinator_page}/packing/{listed.id}/accept", {"version": str(listed.version + 5)}
    )
    assert stale.status_code == 409
    accepted = await staff_post(
        client, f"{running.coordinator_page}/packing/{listed.id}/accept", {"version": str(listed.version)}
    )
    assert accepted.status_code == 303
    assert await lot_status(engine, lot.id) == LotStatus.packed
    # an accepted packing list no longer changes through the link
    again = await submit_packing(client, running, lot, lang="en")
    assert again.status_code == 409


async def test_a_shipment_planned_with_its_own_currency_keeps_it_and_a_bad_code_is_refused(
    engine: AsyncEngine, world: World, client: Client
) -> None:
    """The currency of the commercial invoice may differ from the order's (it was passed twice: a 500)."""
    people = people_of(world)
    running = await running_order(engine, people)
    await login(client, world.coordinator.email)
    refused = await plan(client, running, [running.lots[0]], currency="U$D")
    assert refused.status_code == 422
    assert "three-letter currency code" in html.unescape(refused.text)
    async with system(engine) as session:
        assert await session.scalar(select(func.count(Shipment.id))) == 0
    assert (await plan(client, running, [running.lots[0]], currency="eur")).status_code == 303
    assert (await shipment_of(engine, running.order.project_id)).currency == "EUR"
