"""The back office's billing forms through HTTP (piccolo-admin's JSON and CSRF): a coordinator attaches a fee,
cancels one, and re-processes a Stripe event that failed; the billing tables refuse raw writes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.billing.models import BillingStatus, EventStatus, FeeStatus, MilestoneFee
from makeready.projects.models import MilestoneStatus, Phase
from tests.billing_support import FakeStripe, account_of, add_account, events, fake_stripe, post_event
from tests.conftest import World
from tests.stripe_fake import event
from tests.test_backoffice_forms import Client, audit, people_of, refused, sign_in, submit, succeeded
from tests.workflow_support import make_milestone, make_project, system

__all__ = ["fake_stripe"]


async def test_a_coordinator_attaches_and_cancels_a_fee(
    client: Client, engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development, name="Arc Pendant")
    await make_milestone(engine, project, status=MilestoneStatus.in_progress, title="First sample")
    await sign_in(client, engine, world.coordinator)

    message = succeeded(
        await submit(
            client,
            "attach-a-milestone-fee",
            {
                "project": "Arc Pendant",
                "milestone": "First sample",
                "description": "Development retainer",
                "amount": "1500",
            },
        )
    )
    assert message == (
        "$1,500.00 for Development retainer is attached to First sample of Arc Pendant; it is invoiced when the "
        "milestone is done."
    )
    async with system(engine) as session:
        fee = await session.scalar(select(MilestoneFee))
        assert fee is not None
        assert (fee.amount_minor, fee.currency, fee.status) == (150000, "USD", FeeStatus.planned)
    assert len(await audit(engine, "milestone_fee.attached")) == 1

    bad = refused(
        await submit(
            client,
            "attach-a-milestone-fee",
            {"project": "Arc Pendant", "milestone": "First sample", "description": "Fee", "amount": "12.345"},
        )
    )
    assert "at most 2 decimals" in bad

    assert "Give a reason" in refused(
        await submit(client, "cancel-a-milestone-fee", {"fee": fee.id, "reason": " "})
    )
    assert succeeded(await submit(client, "cancel-a-milestone-fee", {"fee": fee.id, "reason": "Waived"}))
    async with system(engine) as session:
        assert (await session.get(MilestoneFee, fee.id)).status == FeeStatus.canceled  # type: ignore[union-attr]
    assert "Only a fee whose invoicing failed" in refused(
        await submit(client, "retry-invoicing-a-fee", {"fee": fee.id})
    )
    # raw writes of the fee table are refused with the forms' names
    raw = await client.patch(
        f"/admin/api/tables/milestone_fees/{fee.id}/",
        json={"amount_minor": 1},
        headers={"X-CSRFToken": client.cookies.get("csrftoken", "")},
    )
    assert raw.status_code == 405
    assert "Attach a milestone fee" in raw.text


async def test_with_billing_off_the_fee_form_says_so(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development, name="Arc Pendant")
    await make_milestone(engine, project, status=MilestoneStatus.in_progress, title="First sample")
    await sign_in(client, engine, world.coordinator)
    message = refused(
        await submit(
            client,
            "attach-a-milestone-fee",
            {"project": "Arc Pendant", "milestone": "First sample", "description": "Fee", "amount": "10"},
        )
    )
    assert "Billing is not set up" in message


async def test_a_coordinator_reprocesses_a_failed_event(
    client: Client, engine: AsyncEngine, world: World, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, world.org_a.id)
    fake_stripe.subscription("sub_1", customer="cus_acme", status="active")
    fake_stripe.fail("/v1/subscriptions/", 400)
    created = event("customer.subscription.created", dict(fake_stripe.objects["sub_1"]))
    assert (await post_event(client, created)).status_code == 500
    [stored] = await events(engine)
    assert stored.status == EventStatus.failed

    await sign_in(client, engine, world.coordinator)
    message = succeeded(await submit(client, "re-process-a-stripe-event", {"event": created["id"]}))
    assert "sub_1 is active" in message
    assert (await account_of(engine, world.org_a.id)).status == BillingStatus.active
    [stored] = await events(engine)
    assert stored.status == EventStatus.processed
    [reprocessed] = await audit(engine, "stripe_event.reprocessed")
    assert reprocessed.actor_id == world.coordinator.id
    again = succeeded(await submit(client, "re-process-a-stripe-event", {"event": str(stored.id)}))
    assert "already applied" in again
    assert "no such Stripe event" in refused(
        await submit(client, "re-process-a-stripe-event", {"event": "evt_nope"})
    )
