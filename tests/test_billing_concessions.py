"""A concession the brand agreed is noted on its billing page and under the invoices of its product (issue #13):
a note, in the reader's language and the order's currency; the amounts invoiced do not change."""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.billing.models import FeeStatus, Invoice, InvoiceStatus, MilestoneFee
from makeready.db.types import utcnow
from makeready.projects import service as projects
from makeready.quality import inspections as qc
from tests.billing_support import FakeStripe, add_account, fake_stripe
from tests.conftest import World, csrf
from tests.quality_support import produced_lot, submitted
from tests.test_billing_pages import as_user
from tests.test_quality_pages import people_of
from tests.workflow_support import call_as, system

__all__ = ["fake_stripe"]


def invoice(org_id: int, number: str, *, fee_id: int | None) -> Invoice:
    now = utcnow()
    return Invoice(
        org_id=org_id,
        stripe_invoice_id=f"in_{number}",
        fee_id=fee_id,
        number=number,
        description=f"Invoice {number}",
        status=InvoiceStatus.open,
        currency="USD",
        amount_due=150000,
        amount_paid=0,
        amount_remaining=150000,
        hosted_invoice_url=f"https://invoice.stripe.test/{number}",
        stripe_created=now,
        synced_at=now,
    )


async def fee_of(session, world: World, project_id: int) -> MilestoneFee:  # type: ignore[no-untyped-def]
    milestone = (await projects.get_project(session, project_id)).milestones[0]
    fee = MilestoneFee(
        org_id=world.org_a.id,
        project_id=project_id,
        milestone_id=milestone.id,
        description="Production fee",
        amount_minor=150000,
        currency="USD",
        status=FeeStatus.invoiced,
        attempts=1,
    )
    session.add(fee)
    await session.flush()
    return fee


def rows_of(html: str) -> list[str]:
    return re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S)


async def test_a_concession_is_noted_under_its_products_invoices_and_on_the_billing_page(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8)
    await add_account(engine, world.org_a.id)
    # before any concession: no note anywhere
    await as_user(client, world.owner_a.email)
    assert "Concession agreed" not in (await client.get("/billing")).text
    await call_as(
        engine,
        people,
        people.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="concede",
        concession="Rim <b>scratches</b>",
        remedy="3% off",
        amount="378",
    )
    async with system(engine) as session:
        fee = await fee_of(session, world, produced.arranged.project.id)
        other = await projects.create_project(
            session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Other lamp"}
        )
        await session.flush()
        other_fee = await fee_of(session, world, other.id)
        session.add_all(
            [
                invoice(world.org_a.id, "MR-0001", fee_id=fee.id),
                invoice(world.org_a.id, "MR-0002", fee_id=other_fee.id),
                invoice(world.org_a.id, "MR-0003", fee_id=None),  # the subscription
            ]
        )
    note = (
        f"Concession agreed on inspection {inspection.reference} of lot {produced.lot.number}: "
        "Rim &lt;b&gt;scratches&lt;/b&gt;, $378.00"
    )
    page = await client.get("/billing")
    assert page.status_code == 200
    text = page.text
    assert "<b>scratches" not in text  # the brand's words are text
    assert text.count(note) == 2  # under the invoice of its product, and in the concessions section
    rows = rows_of(text)
    (first,) = [i for i, row in enumerate(rows) if "MR-0001" in row]
    assert note in rows[first + 1]
    for number in ("MR-0002", "MR-0003"):
        (at,) = [i for i, row in enumerate(rows) if number in row]
        assert at + 1 == len(rows) or "Concession agreed" not in rows[at + 1]
    assert "$1,500.00" in text  # the amount invoiced is unchanged: a note, not a credit
    # in Chinese, with the amount in the Chinese format
    await client.post("/locale", data={"locale": "zh_Hans", "_csrf_token": csrf(client), "next": "/billing"})
    chinese = (await client.get("/billing")).text
    assert (
        f"第 {produced.lot.number} 批的验货 {inspection.reference} 已商定让步接收："
        "Rim &lt;b&gt;scratches&lt;/b&gt;，US$378.00"
    ) in chinese
    # another organization's owner sees none of it, and cannot ask for it
    await as_user(client, world.owner_b.email)
    assert "Concession agreed" not in (await client.get("/billing")).text
    assert (await client.get(f"/billing?org={world.org_a.id}")).status_code == 404


async def test_with_billing_off_the_concession_is_still_noted(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8)
    await call_as(
        engine,
        people,
        people.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="concede",
        concession="Rim scratches",
        remedy="Rework at the factory's cost",
    )
    await as_user(client, world.member_a.email)
    await client.post("/locale", data={"locale": "en", "_csrf_token": csrf(client), "next": "/billing"})
    text = (await client.get("/billing")).text
    assert "Billing is not set up" in text
    # no amount agreed: the note says what was conceded, without a price
    assert (
        f"Concession agreed on inspection {inspection.reference} of lot {produced.lot.number}: Rim scratches</li>"
        in text
    )
