"""Milestone fees: attached by coordinators, due when the milestone is done, invoiced through Stripe by a job with
idempotency keys derived from the fee, retried without billing twice, and told to the owners in their language."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import jobs
from makeready.billing import fees
from makeready.billing.models import FeeStatus, Invoice, InvoiceStatus, MilestoneFee
from makeready.billing.stripe_client import BillingDisabled
from makeready.db.session import make_sessionmaker
from makeready.errors import PermissionDenied, ValidationFailed
from makeready.i18n import use_locale
from makeready.jobs import runner as job_runner
from makeready.kernel.after_commit import drain as settle
from makeready.notify.models import EmailOutbox, Notification
from makeready.notify.service import message_text
from makeready.projects.milestones import complete_milestone, reopen_milestone
from makeready.projects.models import Milestone, MilestoneStatus, Phase
from makeready.settings import Settings
from tests.billing_support import FakeStripe, add_account, audit_count, fake_stripe
from tests.workflow_support import People, call_as, make_milestone, make_people, make_project, system

__all__ = ["fake_stripe"]


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Jobs handed to the queue after commit, kept here instead: the test runs the invoicing itself."""
    found: list[tuple[str, dict[str, Any]]] = []

    async def enqueue(name: str, **kwargs: Any) -> str:
        found.append((name, kwargs))
        return "queued"

    monkeypatch.setattr(job_runner, "enqueue", enqueue)
    return found


async def in_progress_milestone(engine: AsyncEngine, people: People) -> Milestone:
    project = await make_project(engine, people, phase=Phase.development, name="Arc Pendant")
    return await make_milestone(engine, project, status=MilestoneStatus.in_progress, title="First sample")


async def attach(engine: AsyncEngine, people: People, milestone: Milestone, **kwargs: Any) -> MilestoneFee:
    values = {"description": "Development retainer", "amount": "1500.00", "currency": "USD", **kwargs}
    return await call_as(
        engine, people, people.coordinator, fees.attach_fee, milestone_id=milestone.id, **values
    )


async def fee_row(engine: AsyncEngine, fee_id: int) -> MilestoneFee:
    async with system(engine) as session:
        fee = await session.get(MilestoneFee, fee_id)
        assert fee is not None
        return fee


def keys(fake: FakeStripe) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.path, r.idempotency_key) for r in fake.requests]


async def test_a_done_milestone_invoices_its_fee_once_through_stripe(
    engine: AsyncEngine, settings: Settings, people: People, fake_stripe: FakeStripe
) -> None:
    await add_account(engine, people.org_a.id, customer="cus_acme")
    milestone = await in_progress_milestone(engine, people)
    fee = await attach(engine, people, milestone)
    assert (fee.status, fee.amount_minor, fee.currency) == (FeeStatus.planned, 150000, "USD")
    assert fake_stripe.requests == []  # nothing is billed before the milestone is done

    async with jobs.running(settings):
        await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)
        await drain()

    n = fee.id
    created = fake_stripe.calls("POST", "/v1/invoices")[0]
    assert created.idempotency_key == f"fee-{n}-invoice"
    assert created.params["customer"] == "cus_acme"
    assert created.params["collection_method"] == "send_invoice"
    assert created.params["metadata[fee_id]"] == str(n)
    stripe_invoice = fake_stripe.requests[-1].path.split("/")[3]
    assert keys(fake_stripe) == [
        ("POST", "/v1/invoices", f"fee-{n}-invoice"),
        ("POST", "/v1/invoiceitems", f"fee-{n}-invoiceitem"),
        ("POST", f"/v1/invoices/{stripe_invoice}/finalize", f"fee-{n}-finalize-1"),
        ("POST", f"/v1/invoices/{stripe_invoice}/send", f"fee-{n}-send-1"),
    ]
    item = fake_stripe.calls("POST", "/v1/invoiceitems")[0]
    assert (item.params["amount"], item.params["currency"], item.params["invoice"]) == (
        "150000",
        "usd",
        stripe_invoice,
    )
    assert item.params["description"] == "Development retainer"

    done = await fee_row(engine, n)
    assert (done.status, done.stripe_invoice_id, done.attempts) == (FeeStatus.invoiced, stripe_invoice, 1)
    async with system(engine) as session:
        invoice = await session.scalar(select(Invoice).where(Invoice.fee_id == n))
        assert invoice is not None
        assert (invoice.status, invoice.amount_due, invoice.currency) == (InvoiceStatus.open, 150000, "USD")
        assert invoice.hosted_invoice_url == f"https://invoice.stripe.test/{stripe_invoice}"
        # the owner is told, in their language, with the amount formatted for them
        note = await session.scalar(select(Notification).where(Notification.kind == "invoice_issued"))
        assert note is not None
        assert note.user_id == people.owner_a.id
        with use_locale("en"):
            assert "$1,500.00" in message_text(note.kind, note.params)
        with use_locale("zh_Hans"):
            assert "US$1,500.00" in message_text(note.kind, note.params)
        mails = (
            await session.scalars(select(EmailOutbox).where(EmailOutbox.template == "invoice_issued"))
        ).all()
        assert [m.to_email for m in mails] == [people.owner_a.email]
    assert await audit_count(engine, "milestone_fee.due") == 1
    assert await audit_count(engine, "milestone_fee.invoiced") == 1
    assert await audit_count(engine, "invoice.open") == 1

    # reopening and completing the milestone again bills nothing more
    await call_as(
        engine,
        people,
        people.coordinator,
        reopen_milestone,
        milestone_id=milestone.id,
        reason="Redo",
    )
    await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)
    await settle()
    assert (await fees.invoice_fee(make_sessionmaker(engine), n)).startswith(f"fee {n} is not due")
    assert len(fake_stripe.calls("POST", "/v1/invoices")) == 1


async def test_a_retry_continues_where_the_failure_stopped_and_never_bills_twice(
    engine: AsyncEngine, people: People, fake_stripe: FakeStripe, queued: list[tuple[str, dict[str, Any]]]
) -> None:
    await add_account(engine, people.org_a.id, customer="cus_acme")
    milestone = await in_progress_milestone(engine, people)
    fee = await attach(
        engine, people, milestone, amount="250000", currency="JPY", description="Feasibility fee"
    )
    await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)
    await settle()
    assert queued == [("invoice_milestone_fee", {"fee_id": fee.id})]
    factory = make_sessionmaker(engine)
    fake_stripe.fail("/v1/invoices/", 400)  # the first finalize is refused

    with pytest.raises(stripe.StripeError):
        await fees.invoice_fee(factory, fee.id)
    stopped = await fee_row(engine, fee.id)
    assert (stopped.status, stopped.attempts) == (FeeStatus.due, 1)
    assert stopped.stripe_invoice_id is not None
    assert "fake Stripe failure" in stopped.last_error

    outcome = await fees.invoice_fee(factory, fee.id)
    assert "open" in outcome
    n, inv = fee.id, stopped.stripe_invoice_id
    assert keys(fake_stripe) == [
        ("POST", "/v1/invoices", f"fee-{n}-invoice"),
        ("POST", "/v1/invoiceitems", f"fee-{n}-invoiceitem"),
        ("POST", f"/v1/invoices/{inv}/finalize", f"fee-{n}-finalize-1"),
        # the retry re-reads the invoice, finds its line, and goes on from there
        ("GET", f"/v1/invoices/{inv}", None),
        ("POST", f"/v1/invoices/{inv}/finalize", f"fee-{n}-finalize-2"),
        ("POST", f"/v1/invoices/{inv}/send", f"fee-{n}-send-2"),
    ]
    assert fake_stripe.calls("POST", "/v1/invoiceitems")[0].params["amount"] == "250000"  # yen have no cents
    assert (await fee_row(engine, n)).status == FeeStatus.invoiced


async def test_two_workers_on_one_fee_make_one_invoice(
    engine: AsyncEngine, people: People, fake_stripe: FakeStripe, queued: list[tuple[str, dict[str, Any]]]
) -> None:
    await add_account(engine, people.org_a.id, customer="cus_acme")
    milestone = await in_progress_milestone(engine, people)
    fee = await attach(engine, people, milestone)
    await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)
    factory = make_sessionmaker(engine)
    results = await asyncio.gather(*(fees.invoice_fee(factory, fee.id) for _ in range(4)))
    assert sum("open" in r for r in results) == 1, results
    assert len(fake_stripe.calls("POST", "/v1/invoices")) == 1
    assert len(fake_stripe.calls("POST", "/v1/invoiceitems")) == 1
    assert (await fee_row(engine, fee.id)).status == FeeStatus.invoiced


async def drain() -> None:
    await settle()
    worker = jobs.embedded_worker()
    assert worker is not None
    async with asyncio.timeout(20):
        await worker.drain()
    assert worker.failures == []


async def test_a_fee_that_keeps_failing_is_marked_failed_and_a_coordinator_retries_it(
    engine: AsyncEngine, people: People, fake_stripe: FakeStripe, queued: list[tuple[str, dict[str, Any]]]
) -> None:
    await add_account(engine, people.org_a.id, customer="cus_acme")
    milestone = await in_progress_milestone(engine, people)
    fee = await attach(engine, people, milestone)
    await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)
    factory = make_sessionmaker(engine)
    fake_stripe.fail("/v1/invoices", *([400] * fees.MAX_ATTEMPTS))
    for _ in range(fees.MAX_ATTEMPTS - 1):
        with pytest.raises(stripe.StripeError):
            await fees.invoice_fee(factory, fee.id)
    with pytest.raises(jobs.PermanentJobError):
        await fees.invoice_fee(factory, fee.id)
    failed = await fee_row(engine, fee.id)
    assert (failed.status, failed.attempts, failed.stripe_invoice_id) == (
        FeeStatus.failed,
        fees.MAX_ATTEMPTS,
        None,
    )
    assert (await fees.invoice_fee(factory, fee.id)).endswith("another worker has it)")

    with pytest.raises(PermissionDenied):
        await call_as(engine, people, people.owner_a, fees.retry_fee, fee_id=fee.id)
    await call_as(engine, people, people.coordinator, fees.retry_fee, fee_id=fee.id)
    await settle()
    assert queued == [("invoice_milestone_fee", {"fee_id": fee.id})] * 2  # the milestone's, then the retry's
    assert "open" in await fees.invoice_fee(factory, fee.id)
    assert (await fee_row(engine, fee.id)).status == FeeStatus.invoiced
    assert len(fake_stripe.calls("POST", "/v1/invoiceitems")) == 1
    assert await audit_count(engine, "milestone_fee.retried") == 1


async def test_attaching_a_fee_checks_who_what_and_how_much(
    engine: AsyncEngine, settings: Settings, people: People, fake_stripe: FakeStripe
) -> None:
    milestone = await in_progress_milestone(engine, people)
    with pytest.raises(PermissionDenied):
        await call_as(
            engine,
            people,
            people.owner_a,
            fees.attach_fee,
            milestone_id=milestone.id,
            description="Fee",
            amount="10",
            currency="USD",
        )
    for amount, currency, field in [
        ("12.345", "USD", "amount"),
        ("1500.5", "JPY", "amount"),
        ("-5", "USD", "amount"),
        ("lots", "USD", "amount"),
        ("100", "XYZ", "currency"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            await attach(engine, people, milestone, amount=amount, currency=currency)
        assert refused.value.extra["field"] == field, (amount, currency)
    with pytest.raises(ValidationFailed):
        await attach(engine, people, milestone, description="  ")
    assert (await attach(engine, people, milestone, amount="150000", currency="jpy")).amount_minor == 150000
    # a fee on a milestone already done is due at once
    done = await make_milestone(
        engine, await make_project(engine, people, name="Done"), status=MilestoneStatus.done
    )
    async with jobs.running(settings):
        late = await attach(engine, people, done)
        assert late.status == FeeStatus.due
        await drain()
    assert (await fee_row(engine, late.id)).status == FeeStatus.invoiced


async def test_with_billing_off_no_fee_can_be_attached(engine: AsyncEngine, people: People) -> None:
    milestone = await in_progress_milestone(engine, people)
    with pytest.raises(BillingDisabled):
        await attach(engine, people, milestone)
    # and completing milestones works as before
    await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)


async def test_concurrent_first_uses_of_an_account_make_one_row(engine: AsyncEngine, people: People) -> None:
    from makeready.billing.models import BillingAccount
    from makeready.billing.service import get_or_create_account, org_scope
    from makeready.db.tenancy import set_scope

    async def first_use() -> int:
        async with make_sessionmaker(engine)() as session:
            set_scope(session, org_scope(people.org_a.id))
            async with session.begin():
                return (await get_or_create_account(session, people.org_a.id)).id

    ids = await asyncio.gather(*(first_use() for _ in range(5)))
    assert len(set(ids)) == 1
    async with system(engine) as session:
        assert len((await session.scalars(select(BillingAccount))).all()) == 1
