"""Shortage notifications (issue #12): the owner is told when a shortage is raised (the brand's people when the
brand supplies the material), the coordinator when it escalates; emails in each recipient's language through a
real SMTP server."""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.types import utcnow
from makeready.materials import shortages
from makeready.materials.jobs import run_shortages
from makeready.notify.service import deliver_outbox, render
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.workflow.escalation import run_escalation
from tests.production_support import in_days, make_order
from tests.test_email import Mailbox, parts, smtp_url
from tests.test_materials import AGENCY_BOM, arrange, line, requirement
from tests.test_notify import mail_settings, mailbox  # noqa: F401  (the SMTP server fixture)
from tests.workflow_support import People, call_as, make_people, notifications, system

FREE_ISSUE_BOM = [
    {
        **line(part="Cord", quantity="1", unit="pcs", supplied_by="brand"),
        "material": {"en": "Power cord", "zh": "电源线"},
    }
]


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def test_an_agency_shortage_tells_its_owner_the_coordinator_and_its_escalation_tells_them_again(
    engine: AsyncEngine,
    db_url: str,
    people: People,
    mailbox: tuple[Mailbox, int],  # noqa: F811
) -> None:
    box, port = mailbox
    arranged = await arrange(engine, people, AGENCY_BOM[:1])
    order, made, _token = await make_order(engine, people, arranged, quantity=3000, state="confirmed")
    # the screws' order-by date has passed with nothing ordered: "not ordered", owned by the coordinator
    (told,) = [n for n in await notifications(engine) if n.kind == "materials_shortage"]
    assert told.user_id == people.coordinator.id
    assert told.link == f"/coordinator/orders/{order.id}/materials"
    assert render(told) == (
        f"{order.reference} of {arranged.project.name}: Pending parts: not ordered. Missing: Screw M3 (12000 pcs)"
    )
    # nobody in the brand is told about the agency's purchasing
    brand_ids = {people.owner_a.id, people.member_a.id, people.viewer_a.id}
    assert not [n for n in await notifications(engine) if n.user_id in brand_ids]
    await deliver_outbox(engine, mail_settings(db_url, smtp_url(port)))
    (message,) = [
        box.message(i) for i in range(len(box.envelopes)) if "Pending parts" in box.message(i)["Subject"]
    ]
    assert message["To"].endswith("<coord@agency.test>")
    assert message["Subject"] == render(told)
    text, html = parts(message)
    assert "Screw M3 (12000 pcs)" in text
    assert f"/coordinator/orders/{order.id}/materials" in html
    # two days on, still not ordered: the ladder's step tells the coordinator it is still open
    later = utcnow() + timedelta(days=shortages.ESCALATION_DAYS, hours=1)
    async with system(engine) as session:
        await run_escalation(session, today=later.date(), now=later)
    escalated = [n for n in await notifications(engine) if n.kind == "production_escalated"]
    assert [(n.user_id, render(n)) for n in escalated] == [
        (
            people.coordinator.id,
            f"Still open: Pending parts: not ordered on {order.reference} of {arranged.project.name}.",
        )
    ]
    assert made  # the shortage sits on the first lot


async def test_a_free_issue_shortage_tells_the_brand_in_each_readers_language(
    engine: AsyncEngine,
    db_url: str,
    people: People,
    mailbox: tuple[Mailbox, int],  # noqa: F811
) -> None:
    box, port = mailbox
    arranged = await arrange(engine, people, FREE_ISSUE_BOM)
    order, _made, _token = await make_order(engine, people, arranged, quantity=3000, state="confirmed")
    told = [n for n in await notifications(engine) if n.kind == "materials_shortage"]
    # the brand owns it: its owner and member (not the viewer, not the coordinator) are told, on the brand's page
    assert sorted(n.user_id for n in told) == sorted([people.owner_a.id, people.member_a.id])
    assert {n.link for n in told} == {f"/orders/{order.id}/materials"}
    by_user = {n.user_id: n for n in told}
    assert by_user[people.owner_a.id].params["materials"] == "Power cord (3000 pcs)"
    assert by_user[people.member_a.id].params["materials"] == "电源线 (3000 pcs)"
    await deliver_outbox(engine, mail_settings(db_url, smtp_url(port)))
    by_recipient = {
        env.rcpt_tos[0]: box.message(i)
        for i, env in enumerate(box.envelopes)
        if "电源线" in box.message(i)["Subject"] or "Power cord" in box.message(i)["Subject"]
    }
    assert set(by_recipient) == {"owner@acme.test", "member@acme.test"}
    project = arranged.project.name
    assert by_recipient["owner@acme.test"]["Subject"] == (
        f"{order.reference} of {project}: Pending parts: not ordered. Missing: Power cord (3000 pcs)"
    )
    assert by_recipient["member@acme.test"]["Subject"] == (
        f"项目 {project} 的 {order.reference}：待料：未订购。缺少：电源线 (3000 pcs)"
    )
    text, _html = parts(by_recipient["member@acme.test"])
    assert "Member A，您好：" in text


async def test_the_periodic_pass_tells_the_owner_once_with_the_materials_of_its_day(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange(engine, people, [dict(AGENCY_BOM[0], lead_time_days=0)])
    order, _made, _token = await make_order(engine, people, arranged, state="draft", lots=[])
    start = in_days(40)
    await call_as(
        engine,
        people,
        people.coordinator,
        lot_service.add_lot,
        order_id=order.id,
        data={"quantity": 3000, "planned_start": start, "planned_end": start + timedelta(days=9)},
    )
    await call_as(engine, people, people.owner_a, order_service.confirm_order, order_id=order.id)
    assert [n for n in await notifications(engine) if n.kind == "materials_shortage"] == []
    screw = await requirement(engine, people, order.id, "code:SCR-M3")
    # the pass runs for a day after the order-by date (today's clock would find nothing missing yet)
    for _ in range(2):
        await run_shortages(engine, today=screw.order_by_date + timedelta(days=1))
    (told,) = [n for n in await notifications(engine) if n.kind == "materials_shortage"]
    assert told.user_id == people.coordinator.id
    assert told.params["materials"] == "Screw M3 (12000 pcs)"
