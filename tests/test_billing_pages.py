"""Billing through HTTP: the pages with billing off and on, an owner's doors to Stripe Checkout and the customer
portal, invoices with Babel's amounts and Stripe's links, the past-due banner, and the read-only gate."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.accounts import service as accounts
from makeready.billing.models import BillingStatus, FeeStatus, Invoice, InvoiceStatus, MilestoneFee
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.projects import service as projects
from makeready.projects.models import Project
from tests.billing_support import FakeStripe, account_of, add_account, add_plan, fake_stripe, post_event
from tests.conftest import World, csrf, login
from tests.stripe_fake import event

__all__ = ["fake_stripe"]


async def as_user(client: AsyncTestClient[Litestar], email: str) -> None:
    client.cookies = httpx.Cookies()
    await login(client, email)


async def project_count(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        return int(await session.scalar(select(func.count()).select_from(Project)) or 0)


async def api_token(engine: AsyncEngine, world: World) -> str:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            return (await accounts.issue_api_token(session, user=world.owner_a)).token


def product(client: AsyncTestClient[Litestar], **extra: str) -> dict[str, str]:
    return {"name": "Arc floor lamp", "currency": "USD", "_csrf_token": csrf(client), **extra}


# -- billing off -----------------------------------------------------------------------------------------------


async def test_with_billing_off_the_pages_say_so_and_nothing_changes(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    await add_plan(engine, name="Studio")
    await as_user(client, world.owner_a.email)
    for url in ("/billing", "/pricing"):
        page = await client.get(url)
        assert page.status_code == 200, url
        assert "Billing is not set up on this Makeready" in page.text
    pricing = (await client.get("/pricing")).text
    assert "Studio" in pricing  # the agency's plans are shown, with nothing to click
    assert "Subscribe" not in pricing
    assert 'href="/billing"' not in (await client.get("/")).text
    refused = await client.post("/billing/checkout", data={"plan": "1", "_csrf_token": csrf(client)})
    assert refused.status_code == 404
    assert "Billing is not set up" in refused.text
    # and the portal writes as before
    created = await client.post("/projects/new", data=product(client), follow_redirects=False)
    assert created.status_code == 303


# -- subscribing -----------------------------------------------------------------------------------------------


async def test_an_owner_subscribes_through_stripe_checkout(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    plan = await add_plan(engine, name="Studio", price="price_studio", max_active_projects=5)

    await as_user(client, world.member_a.email)
    page = await client.get("/pricing")
    assert "Studio" in page.text
    assert "$49.00" in page.text
    assert "Up to 5 active projects" in page.text
    assert "Subscribe" not in page.text  # members look, owners subscribe
    refused = await client.post(
        "/billing/checkout",
        data={"plan": str(plan.id), "org": str(world.org_a.id), "_csrf_token": csrf(client)},
    )
    assert refused.status_code == 403
    assert fake_stripe.requests == []

    await as_user(client, world.owner_b.email)
    other = await client.post(
        "/billing/checkout",
        data={"plan": str(plan.id), "org": str(world.org_a.id), "_csrf_token": csrf(client)},
    )
    assert other.status_code == 404
    assert fake_stripe.requests == []

    await as_user(client, world.owner_a.email)
    assert "Subscribe" in (await client.get("/pricing")).text
    for _ in range(2):
        response = await client.post(
            "/billing/checkout",
            data={"plan": str(plan.id), "org": str(world.org_a.id), "_csrf_token": csrf(client)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("https://checkout.stripe.test/cs_")
    # one customer for the organization, whatever the number of tries
    [customer] = fake_stripe.calls("POST", "/v1/customers")
    assert customer.idempotency_key == f"org-{world.org_a.id}-customer"
    assert customer.params["name"] == "Acme Lamps"
    assert customer.params["metadata[org_id]"] == str(world.org_a.id)
    sessions = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert len(sessions) == 2
    params = sessions[0].params
    assert params["mode"] == "subscription"
    assert params["line_items[0][price]"] == "price_studio"
    assert params["client_reference_id"] == str(world.org_a.id)
    assert params["customer"] == (await account_of(engine, world.org_a.id)).stripe_customer_id
    assert params["success_url"].endswith(f"/billing?org={world.org_a.id}&checkout=done")

    # Stripe confirms: the organization is active on the plan, and a second checkout is refused
    customer_id = (await account_of(engine, world.org_a.id)).stripe_customer_id
    assert customer_id is not None
    fake_stripe.subscription("sub_1", customer=customer_id, status="active", price="price_studio")
    completed = {"id": "cs_x", "object": "checkout.session", "customer": customer_id, "subscription": "sub_1"}
    assert (await post_event(client, event("checkout.session.completed", completed))).status_code == 200
    account = await account_of(engine, world.org_a.id)
    assert (account.status, account.plan_id) == (BillingStatus.active, plan.id)
    again = await client.post(
        "/billing/checkout",
        data={"plan": str(plan.id), "org": str(world.org_a.id), "_csrf_token": csrf(client)},
    )
    assert again.status_code == 409
    billing = await client.get(f"/billing?org={world.org_a.id}&checkout=done")
    assert "Thank you" in billing.text
    assert "Studio" in billing.text
    assert "Manage payment methods, plan and cancellation" in billing.text

    portal = await client.post(
        "/billing/portal",
        data={"org": str(world.org_a.id), "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert portal.status_code == 303
    assert portal.headers["location"].startswith("https://billing.stripe.test/")
    [portal_call] = fake_stripe.calls("POST", "/v1/billing_portal/sessions")
    assert portal_call.params["customer"] == customer_id


async def test_the_plan_caps_active_projects(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_plan(engine, price="price_small", max_active_projects=1)
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active", price="price_small")
    await post_event(client, event("customer.subscription.created", dict(fake_stripe.objects["sub_1"])))
    await as_user(client, world.owner_a.email)
    assert (
        await client.post("/projects/new", data=product(client), follow_redirects=False)
    ).status_code == 303
    over = await client.post("/projects/new", data=product(client, name="Second"), follow_redirects=False)
    assert over.status_code == 409
    assert "Your plan includes 1 active projects" in over.text
    assert await project_count(engine) == 1


# -- invoices --------------------------------------------------------------------------------------------------


async def test_the_billing_page_lists_invoices_with_amounts_in_the_clients_currency(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Arc Pendant"}
            )
            await session.flush()
            milestone = (await projects.get_project(session, project.id)).milestones[0]
            fee = MilestoneFee(
                org_id=world.org_a.id,
                project_id=project.id,
                milestone_id=milestone.id,
                description="Production fee",
                amount_minor=250000,
                currency="JPY",
                status=FeeStatus.planned,
                attempts=0,
            )
            session.add(fee)
            now = utcnow()
            for number, status, amount, currency in [
                ("MR-0001", InvoiceStatus.paid, 150000, "USD"),
                ("MR-0002", InvoiceStatus.open, 99000, "EUR"),
            ]:
                session.add(
                    Invoice(
                        org_id=world.org_a.id,
                        stripe_invoice_id=f"in_{number}",
                        number=number,
                        description="Development retainer",
                        status=status,
                        currency=currency,
                        amount_due=amount,
                        amount_paid=amount if status == InvoiceStatus.paid else 0,
                        amount_remaining=0,
                        hosted_invoice_url=f"https://invoice.stripe.test/{number}",
                        stripe_created=now,
                        synced_at=now,
                    )
                )
    await as_user(client, world.member_a.email)
    page = await client.get("/billing")
    assert page.status_code == 200
    text = page.text
    assert "MR-0001" in text
    assert "$1,500.00" in text
    assert "€990.00" in text
    assert 'href="https://invoice.stripe.test/MR-0002"' in text
    assert "Paid" in text
    assert "Awaiting payment" in text
    # the fee to come, with its milestone, in yen (no decimals)
    assert "Production fee" in text
    assert "¥250,000" in text
    assert "Only an owner of the organization can change its subscription." in text

    await client.post("/locale", data={"locale": "zh_Hans", "_csrf_token": csrf(client), "next": "/billing"})
    chinese = await client.get("/billing")
    assert "US$1,500.00" in chinese.text
    assert "账单" in chinese.text
    assert "待付款" in chinese.text

    await as_user(client, world.owner_b.email)
    theirs = await client.get(f"/billing?org={world.org_a.id}")
    assert theirs.status_code == 404
    assert "MR-0001" not in (await client.get("/billing")).text


# -- past due and read-only ------------------------------------------------------------------------------------


async def test_past_due_shows_the_owners_a_banner_and_the_portal_stays_writable(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="past_due")
    await post_event(client, event("customer.subscription.updated", dict(fake_stripe.objects["sub_1"])))

    await as_user(client, world.owner_a.email)
    home = await client.get("/")
    assert "The latest subscription payment for Acme Lamps failed" in home.text
    assert f'href="/billing?org={world.org_a.id}"' in home.text
    assert (
        await client.post("/projects/new", data=product(client), follow_redirects=False)
    ).status_code == 303

    await as_user(client, world.member_a.email)
    assert "subscription payment" not in (await client.get("/")).text
    await as_user(client, world.owner_b.email)
    assert "Acme Lamps" not in (await client.get("/")).text


async def test_unpaid_beyond_the_grace_period_makes_the_portal_read_only_until_paid(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            existing = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Arc Pendant"}
            )
    # payments stopped 20 days ago (the grace period is 14 days) and the subscription is now canceled
    await add_account(
        engine, world.org_a.id, status=BillingStatus.canceled, delinquent_since=utcnow() - timedelta(days=20)
    )
    token = await api_token(engine, world)
    headers: dict[str, Any] = {"authorization": f"Bearer {token}", "accept": "application/json"}

    await as_user(client, world.member_a.email)
    home = await client.get("/")
    assert home.status_code == 200
    assert "The portal is read-only for Acme Lamps" in home.text
    assert (await client.get(f"/projects/{existing.id}")).status_code == 200  # everything stays readable
    page = await client.post("/projects/new", data=product(client), follow_redirects=False)
    assert page.status_code == 402
    assert "read-only" in page.text
    api = await client.post("/api/v1/projects", json={"name": "By API"}, headers=headers)
    assert api.status_code == 402
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["title"] == "Payment required"
    upload = await client.post(
        f"/api/v1/projects/{existing.id}/uploads",
        json={"filename": "a.png", "kind": "image", "size": 100},
        headers=headers,
    )
    assert upload.status_code == 402
    assert await project_count(engine) == 1
    # the agency's coordinators are never gated
    await as_user(client, world.coordinator.email)
    staff = await client.post(
        "/projects/new", data=product(client, org_id=str(world.org_a.id)), follow_redirects=False
    )
    assert staff.status_code == 303
    assert await project_count(engine) == 2

    # the client subscribes again and pays: the portal opens at once
    fake_stripe.subscription("sub_2", customer="cus_acme", status="active", created=int(time.time()))
    paid = fake_stripe.invoice("in_2", customer="cus_acme", status="paid", subscription="sub_2")
    assert (await post_event(client, event("invoice.paid", dict(paid)))).status_code == 200
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.active
    await as_user(client, world.member_a.email)
    assert "read-only" not in (await client.get("/")).text
    assert (
        await client.post("/projects/new", data=product(client), follow_redirects=False)
    ).status_code == 303
    assert (
        await client.post("/api/v1/projects", json={"name": "By API"}, headers=headers)
    ).status_code == 201


async def test_within_the_grace_period_owners_are_warned_and_writes_still_work(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(
        engine, world.org_a.id, status=BillingStatus.unpaid, delinquent_since=utcnow() - timedelta(days=3)
    )
    await as_user(client, world.owner_a.email)
    home = await client.get("/")
    assert "The portal becomes read-only on" in home.text
    assert (
        await client.post("/projects/new", data=product(client), follow_redirects=False)
    ).status_code == 303


# -- statements per page ---------------------------------------------------------------------------------------


async def add_invoices_and_fees(engine: AsyncEngine, world: World, count: int, *, first: int) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            now = utcnow()
            for n in range(first, first + count):
                project = await projects.create_project(
                    session, actor=world.owner_a, org_id=world.org_a.id, data={"name": f"Lamp {n:03}"}
                )
                milestone = (await projects.get_project(session, project.id)).milestones[0]
                fee = MilestoneFee(
                    org_id=world.org_a.id,
                    project_id=project.id,
                    milestone_id=milestone.id,
                    description=f"Fee {n}",
                    amount_minor=1000 * n,
                    currency="USD",
                    status=FeeStatus.planned if n % 2 else FeeStatus.invoiced,
                    attempts=0,
                )
                session.add(fee)
                await session.flush()
                session.add(
                    Invoice(
                        org_id=world.org_a.id,
                        stripe_invoice_id=f"in_{n}",
                        fee_id=fee.id if not n % 2 else None,
                        number=f"MR-{n:04}",
                        status=InvoiceStatus.paid if n % 3 else InvoiceStatus.open,
                        currency="USD",
                        amount_due=1000 * n,
                        stripe_created=now,
                        synced_at=now,
                    )
                )


async def test_the_billing_page_runs_the_same_statements_for_3_or_60_invoices(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    from tests.test_query_counts import Page, check_baseline, count_statements

    page = Page("GET /billing", "/billing")
    await add_account(engine, world.org_a.id, status=BillingStatus.past_due, delinquent_since=utcnow())
    await as_user(client, world.owner_a.email)
    await add_invoices_and_fees(engine, world, 3, first=1)
    await client.get("/billing")  # the first connection of a backend may run the dialect's own setup queries
    with count_statements(engine) as small:
        assert (await client.get("/billing")).status_code == 200
    await add_invoices_and_fees(engine, world, 57, first=4)
    with count_statements(engine) as large:
        response = await client.get("/billing")
    assert response.status_code == 200
    assert "MR-0060" in response.text
    assert len(small) == len(large), "\n".join(large)
    check_baseline(page, engine.dialect.name, large)
