"""Stripe webhooks through POST /webhooks/stripe: signed payloads only, each event applied once (ten concurrent
deliveries included), any order ending in Stripe's current state, payment failure and recovery, and the event log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.billing import webhooks
from makeready.billing.models import BillingStatus, EventStatus, Invoice, InvoiceStatus, Subscription
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.notify.models import EmailOutbox
from tests.billing_support import (
    FakeStripe,
    account_of,
    add_account,
    add_plan,
    audit_count,
    events,
    fake_stripe,
    post_event,
)
from tests.conftest import World
from tests.stripe_fake import event

__all__ = ["fake_stripe"]


async def emails(engine: AsyncEngine, template: str) -> list[EmailOutbox]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        rows = await session.scalars(select(EmailOutbox).where(EmailOutbox.template == template))
        return list(rows.all())


# -- signatures ------------------------------------------------------------------------------------------------


async def test_a_bad_signature_or_an_old_timestamp_is_refused_with_no_effect(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    created = event("customer.subscription.created", fake_stripe.objects["sub_1"])

    forged = await post_event(client, created, secret="whsec_someone_else")
    assert forged.status_code == 400, forged.text
    assert forged.headers["content-type"].startswith("application/problem+json")
    stale = await post_event(client, created, timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    unsigned = await client.post(
        "/webhooks/stripe", content=b"{}", headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 400
    tampered_payload = '{"id": "evt_x", "type": "customer.subscription.created", "data": {"object": {}}}'
    tampered = await client.post(
        "/webhooks/stripe",
        content=tampered_payload,
        headers={"stripe-signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    assert tampered.status_code == 400

    assert await events(engine) == []
    assert fake_stripe.requests == []
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.none
    assert await audit_count(engine, "billing.status_changed") == 0

    accepted = await post_event(client, created, timestamp=int(time.time()) - 200)
    assert accepted.status_code == 200, accepted.text
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.active


async def test_a_signature_timestamped_in_the_future_beyond_the_tolerance_is_refused(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    """Stripe's own check only refuses old timestamps; a signature dated an hour ahead would stay valid for an
    hour and five minutes, so it is refused like an old one."""
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    created = event("customer.subscription.created", fake_stripe.objects["sub_1"])

    ahead = await post_event(client, created, timestamp=int(time.time()) + 3600)
    assert ahead.status_code == 400, ahead.text
    assert ahead.headers["content-type"].startswith("application/problem+json")
    just_beyond = await post_event(client, created, timestamp=int(time.time()) + 301)
    assert just_beyond.status_code == 400
    assert await events(engine) == []
    assert fake_stripe.requests == []

    slightly_ahead = await post_event(client, created, timestamp=int(time.time()) + 30)
    assert slightly_ahead.status_code == 200, slightly_ahead.text


async def test_with_billing_off_the_webhook_is_not_there(client: AsyncTestClient[Litestar]) -> None:
    response = await post_event(client, event("customer.updated", {"id": "cus_x", "object": "customer"}))
    assert response.status_code == 404
    assert "Billing is not set up" in response.json()["detail"]


# -- once ------------------------------------------------------------------------------------------------------


async def test_the_same_event_ten_times_at_once_has_one_effect(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    world: World,
    fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = await add_plan(engine)
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    paid = event("customer.subscription.created", fake_stripe.objects["sub_1"])
    # count the deliveries in progress at the same moment, to know they really overlapped
    in_flight, most = 0, 0
    deliver = webhooks.deliver

    async def counted(*args: Any, **kwargs: Any) -> webhooks.Delivery:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await deliver(*args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(webhooks, "deliver", counted)

    # Litestar's test client runs one request at a time (it blocks on a portal); httpx's ASGI transport runs the
    # app in this event loop, so the ten requests really are in flight together
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    ) as direct:
        responses = await asyncio.gather(*(post_event(direct, paid) for _ in range(10)))
    assert most > 1, "the ten deliveries did not overlap"

    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["duplicate"] * 9 + ["processed"]
    stored = await events(engine)
    assert len(stored) == 1
    assert stored[0].status == EventStatus.processed
    assert stored[0].attempts == 1
    assert stored[0].org_id == world.org_a.id
    assert "sub_1 is active" in stored[0].result
    # one re-read of the subscription, one change of standing, one audit event
    assert len(fake_stripe.calls("GET", "/v1/subscriptions/sub_1")) == 1
    assert await audit_count(engine, "billing.status_changed") == 1
    account = await account_of(engine, world.org_a.id)
    assert (account.status, account.plan_id) == (BillingStatus.active, plan.id)

    again = await post_event(client, paid)
    assert again.json()["outcome"] == "duplicate"
    assert len(await events(engine)) == 1


async def test_unknown_event_types_are_stored_and_acknowledged(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, fake_stripe: FakeStripe
) -> None:
    response = await post_event(client, event("radar.early_fraud_warning.created", {"id": "issfr_1"}))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    [stored] = await events(engine)
    assert (stored.type, stored.status) == ("radar.early_fraud_warning.created", EventStatus.ignored)
    assert stored.payload["data"]["object"]["id"] == "issfr_1"
    assert fake_stripe.requests == []


async def test_an_event_for_a_customer_that_is_not_ours_is_ignored(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, fake_stripe: FakeStripe
) -> None:
    fake_stripe.subscription("sub_x", customer="cus_stranger", status="active")
    response = await post_event(client, event("customer.subscription.updated", fake_stripe.objects["sub_x"]))
    assert response.json()["outcome"] == "ignored"
    [stored] = await events(engine)
    assert stored.org_id is None
    assert "cus_stranger" in stored.result


# -- any order -------------------------------------------------------------------------------------------------


async def test_out_of_order_subscription_events_end_in_stripes_current_state(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    now = int(time.time())
    created = fake_stripe.subscription("sub_1", customer="cus_acme", status="incomplete", created=now - 100)
    stream = [event("customer.subscription.created", dict(created), created=now - 100)]
    active = dict(fake_stripe.subscription("sub_1", customer="cus_acme", status="active", created=now - 100))
    stream.append(event("customer.subscription.updated", active, created=now - 50))
    canceled = dict(
        fake_stripe.subscription("sub_1", customer="cus_acme", status="canceled", created=now - 100)
    )
    stream.append(event("customer.subscription.deleted", canceled, created=now - 10))
    # Stripe now holds the canceled subscription; the deliveries arrive newest first
    for delivered in reversed(stream):
        assert (await post_event(client, delivered)).status_code == 200

    account = await account_of(engine, world.org_a.id)
    assert account.status == BillingStatus.canceled
    assert account.delinquent_since is not None


async def test_an_ended_subscription_is_never_revived_by_an_older_copy(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    canceled = fake_stripe.subscription("sub_1", customer="cus_acme", status="canceled")
    assert (
        await post_event(client, event("customer.subscription.deleted", dict(canceled)))
    ).status_code == 200
    # Stripe forgets the subscription; a late "updated" carries an older, active copy
    del fake_stripe.objects["sub_1"]
    older = {**canceled, "status": "active", "canceled_at": None}
    assert (await post_event(client, event("customer.subscription.updated", older))).status_code == 200
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.canceled


async def test_a_new_subscription_after_a_cancellation_is_the_one_that_counts(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    now = int(time.time())
    old = fake_stripe.subscription(
        "sub_old", customer="cus_acme", status="canceled", created=now - 90 * 86400
    )
    new = fake_stripe.subscription("sub_new", customer="cus_acme", status="active", created=now - 60)
    # the new one's event first, then the old one's late deletion
    await post_event(client, event("customer.subscription.created", dict(new)))
    await post_event(client, event("customer.subscription.deleted", dict(old)))
    account = await account_of(engine, world.org_a.id)
    assert (account.status, account.stripe_subscription_id) == (BillingStatus.active, "sub_new")
    assert account.delinquent_since is None


# -- payment failure and recovery ------------------------------------------------------------------------------


async def test_invoice_paid_after_payment_failed_clears_past_due(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    await post_event(client, event("customer.subscription.created", dict(fake_stripe.objects["sub_1"])))

    # the renewal fails: Stripe marks the invoice open and the subscription past due
    fake_stripe.subscription("sub_1", customer="cus_acme", status="past_due")
    failed_invoice = fake_stripe.invoice("in_1", customer="cus_acme", status="open", subscription="sub_1")
    response = await post_event(client, event("invoice.payment_failed", dict(failed_invoice)))
    assert response.status_code == 200, response.text
    account = await account_of(engine, world.org_a.id)
    assert account.status == BillingStatus.past_due
    assert account.delinquent_since is not None
    # the owner (only) is told, by email through the outbox too
    told = await emails(engine, "billing_past_due")
    assert [e.to_email for e in told] == [world.owner_a.email]

    # the customer pays: the invoice is paid and Stripe's subscription active again
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    paid_invoice = fake_stripe.invoice("in_1", customer="cus_acme", status="paid", subscription="sub_1")
    assert (await post_event(client, event("invoice.paid", dict(paid_invoice)))).status_code == 200
    account = await account_of(engine, world.org_a.id)
    assert (account.status, account.delinquent_since) == (BillingStatus.active, None)

    # the payment_failed event delivered again, late, changes nothing: Stripe is re-read
    assert (
        await post_event(client, event("invoice.payment_failed", dict(failed_invoice)))
    ).status_code == 200
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.active
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        invoice = await session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == "in_1"))
        assert invoice is not None
        assert (invoice.status, invoice.amount_paid, invoice.currency) == (InvoiceStatus.paid, 4900, "USD")
    assert await audit_count(engine, "billing.status_changed") == 3  # active, past_due, active
    assert await audit_count(engine, "invoice.paid") == 1
    assert len(await emails(engine, "billing_past_due")) == 1


# -- failures and re-processing --------------------------------------------------------------------------------


async def test_a_failed_event_is_kept_retried_by_stripe_and_reprocessed_once(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    created = event("customer.subscription.created", dict(fake_stripe.objects["sub_1"]))
    fake_stripe.fail("/v1/subscriptions/sub_1", 400, 400)

    first = await post_event(client, created)
    assert first.status_code == 500  # Stripe will deliver it again
    [stored] = await events(engine)
    assert (stored.status, stored.attempts) == (EventStatus.failed, 1)
    assert "fake Stripe failure" in stored.last_error
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.none

    second = await post_event(client, created)
    assert second.status_code == 500
    [stored] = await events(engine)
    assert (stored.status, stored.attempts) == (EventStatus.failed, 2)

    # a coordinator re-processes it from the back office
    factory = make_sessionmaker(engine)
    done = await webhooks.reprocess(factory, event_row_id=stored.id, actor_id=world.coordinator.id)
    assert done.outcome == webhooks.Outcome.processed
    [stored] = await events(engine)
    assert (stored.status, stored.attempts, stored.last_error) == (EventStatus.processed, 3, "")
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.active
    assert await audit_count(engine, "stripe_event.reprocessed") == 1

    # once applied, neither Stripe's next delivery nor another click applies it again
    assert (await post_event(client, created)).json()["outcome"] == "duplicate"
    again = await webhooks.reprocess(factory, event_row_id=stored.id, actor_id=world.coordinator.id)
    assert again.outcome == webhooks.Outcome.duplicate
    assert await audit_count(engine, "billing.status_changed") == 1
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        assert len((await session.scalars(select(Subscription))).all()) == 1


async def test_checkout_completion_and_customer_updates(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="trialing")
    session_obj = {
        "id": "cs_1",
        "object": "checkout.session",
        "customer": "cus_acme",
        "subscription": "sub_1",
        "client_reference_id": str(world.org_a.id),
    }
    assert (await post_event(client, event("checkout.session.completed", session_obj))).status_code == 200
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.trialing

    fake_stripe.objects["cus_acme"] = {"id": "cus_acme", "object": "customer", "email": "billing@acme.test"}
    assert (await post_event(client, event("customer.updated", {"id": "cus_acme"}))).status_code == 200
    assert (await account_of(engine, world.org_a.id)).billing_email == "billing@acme.test"
    assert await audit_count(engine, "billing.customer_updated") == 1
