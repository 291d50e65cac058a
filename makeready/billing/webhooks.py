"""Stripe webhooks: signature verified, every event stored and applied once, in whatever order events arrive.

Once: an event is inserted with INSERT ... ON CONFLICT (stripe_event_id) DO NOTHING and applied in that same
transaction. Concurrent deliveries of one event wait on the unique index (PostgreSQL) or the write lock (SQLite)
until the first commits, then find it there and do nothing. An event whose processing failed is stored `failed`
with its error (and the delivery answered 500, so Stripe delivers it again); a later delivery, or a coordinator's
re-process, claims it (compare-and-set on its attempts) and applies it then.

Any order: a handler never trusts the object in the event. It re-reads the subscription, invoice or customer from
Stripe while holding the organization's billing account row, and applies what Stripe says now; a subscription
that ended is never revived by an older copy. Webhooks have no user: the organization is found by its Stripe
customer id (outside tenancy filtering), and the event is then applied in that organization's scope only.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from makeready.audit import service as audit
from makeready.billing.models import BillingAccount, EventStatus, StripeEvent
from makeready.billing.service import (
    account_by_customer,
    apply_invoice,
    apply_subscription,
    from_timestamp,
    invoice_subscription_id,
    lock_account,
    org_scope,
)
from makeready.billing.stripe_client import Gateway, require_enabled, stripe_api
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.errors import DomainError, NotFound
from makeready.i18n import _

log = logging.getLogger("makeready.billing")


class WebhookRefused(DomainError):
    """Not a genuine, recent Stripe event: nothing was stored."""

    status_code = 400


class Outcome(enum.StrEnum):
    processed = "processed"
    ignored = "ignored"
    duplicate = "duplicate"
    failed = "failed"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    event_id: int | None
    result: str = ""


@dataclass(frozen=True)
class Applied:
    """What a handler did: the organization it acted for (None: not ours) and a line for the event log."""

    org_id: int | None
    result: str


# --------------------------------------------------------------------------------------------------------------
# Receiving


def verify(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event in `payload` if Stripe signed it with our endpoint secret within the tolerance; else refused."""
    import stripe  # here, not at the top: the SDK costs a quarter second of every start (billing.stripe_client)

    settings = require_enabled()
    if not settings.stripe_webhook_secret:
        raise WebhookRefused(
            _("This server has no webhook secret (STRIPE_WEBHOOK_SECRET), so it accepts no events.")
        )
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8", errors="replace"),
            signature,
            settings.stripe_webhook_secret,
            settings.webhook_tolerance_seconds,
        )
    except stripe.SignatureVerificationError:
        raise WebhookRefused(_("The Stripe signature is missing, wrong or too old.")) from None
    # Stripe's check refuses timestamps older than the tolerance but not ones ahead of now: a signature dated in
    # the future would stay replayable for as long as it is ahead plus the tolerance. The header passed the check
    # above, so it parses; Stripe signs with its own clock, a few seconds of skew either way are tolerated.
    if _signed_at(signature or "") > time.time() + settings.webhook_tolerance_seconds:
        raise WebhookRefused(_("The Stripe signature is missing, wrong or too old."))
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookRefused(_("The event is not JSON.")) from None
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise WebhookRefused(_("The event lacks an id, a type or an object."))
    return event


def _signed_at(header: str) -> int:
    """The `t=` timestamp of a Stripe-Signature header (the first one, as Stripe's own check reads it)."""
    for item in header.split(","):
        key, _sep, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise WebhookRefused(_("The Stripe signature is missing, wrong or too old."))


async def deliver(factory: async_sessionmaker[AsyncSession], event: dict[str, Any]) -> Delivery:
    """Store and apply a verified event once; a second delivery of an applied event does nothing."""
    try:
        async with factory() as session:
            set_scope(session, Scope.system())
            async with session.begin():
                row_id = await _insert_once(session, event)
                if row_id is not None:
                    return await _process(session, row_id, event)
    except Exception as exc:
        return await _record_failure(factory, event, exc)
    return await _claim_and_process(factory, stripe_event_id=str(event["id"]))


async def reprocess(
    factory: async_sessionmaker[AsyncSession], *, event_row_id: int, actor_id: int | None
) -> Delivery:
    """Apply a stored event that failed again (a coordinator's button); an applied one is left alone."""
    require_enabled()
    async with factory() as session:
        set_scope(session, Scope.system())
        stripe_event_id = await session.scalar(
            select(StripeEvent.stripe_event_id).where(StripeEvent.id == event_row_id)
        )
    if stripe_event_id is None:
        raise NotFound(_("This event does not exist."))
    return await _claim_and_process(factory, stripe_event_id=stripe_event_id, actor_id=actor_id)


async def _insert_once(session: AsyncSession, event: dict[str, Any]) -> int | None:
    now = utcnow()
    values = {
        "stripe_event_id": str(event["id"]),
        "type": str(event["type"])[:100],
        "api_version": str(event.get("api_version") or "")[:40],
        "livemode": bool(event.get("livemode")),
        "stripe_created": from_timestamp(event.get("created")) or now,
        "payload": event,
        "status": EventStatus.received,
        "attempts": 0,
        "result": "",
        "last_error": "",
        "created_at": now,
        "updated_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(StripeEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["stripe_event_id"])
        .returning(StripeEvent.id)
    )
    inserted: int | None = (await session.execute(statement)).scalar_one_or_none()
    return inserted


async def _claim_and_process(
    factory: async_sessionmaker[AsyncSession], *, stripe_event_id: str, actor_id: int | None = None
) -> Delivery:
    payload: dict[str, Any] = {"id": stripe_event_id}
    try:
        async with factory() as session:
            set_scope(session, Scope.system())
            async with session.begin():
                row = await session.scalar(
                    select(StripeEvent).where(StripeEvent.stripe_event_id == stripe_event_id)
                )
                if row is None:
                    raise NotFound(_("This event does not exist."))
                payload = row.payload
                if row.status not in (EventStatus.failed, EventStatus.received):
                    return Delivery(Outcome.duplicate, row.id, row.result)
                claimed = await session.execute(
                    update(StripeEvent)
                    .where(
                        StripeEvent.id == row.id,
                        StripeEvent.status == row.status,
                        StripeEvent.attempts == row.attempts,
                    )
                    .values(updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                if getattr(claimed, "rowcount", 0) != 1:
                    return Delivery(Outcome.duplicate, row.id, "")  # another delivery is applying it
                return await _process(session, row.id, payload, actor_id=actor_id)
    except NotFound:
        raise
    except Exception as exc:
        return await _record_failure(factory, payload, exc)


async def _process(
    session: AsyncSession, row_id: int, event: dict[str, Any], *, actor_id: int | None = None
) -> Delivery:
    handler = HANDLERS.get(str(event.get("type")))
    if handler is None:
        applied, status = (
            Applied(None, "not an event Makeready acts on; stored and acknowledged"),
            EventStatus.ignored,
        )
    else:
        async with stripe_api() as gateway:
            applied = await handler(session, gateway, event)
        status = EventStatus.processed if applied.org_id is not None else EventStatus.ignored
    set_scope(session, Scope.system())
    row = await session.get(StripeEvent, row_id)
    assert row is not None
    row.status = status
    row.result = applied.result[:2000]
    row.org_id = applied.org_id
    row.attempts = row.attempts + 1
    row.processed_at = utcnow()
    row.last_error = ""
    await session.flush()
    if actor_id is not None:
        await audit.record(
            session,
            actor_id=actor_id,
            action="stripe_event.reprocessed",
            subject_type="stripe_event",
            subject_id=row.id,
            org_id=applied.org_id,
            after={"status": status, "type": row.type, "result": row.result},
        )
    outcome = Outcome.processed if status == EventStatus.processed else Outcome.ignored
    return Delivery(outcome, row_id, row.result)


async def _record_failure(
    factory: async_sessionmaker[AsyncSession], event: dict[str, Any], exc: Exception
) -> Delivery:
    """Keep the event as failed, with its error, for a later delivery or a coordinator to apply."""
    message = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning("stripe event %s (%s) failed: %s", event.get("id"), event.get("type"), message, exc_info=exc)
    now = utcnow()
    async with factory() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            table = StripeEvent.__table__
            upsert = insert(StripeEvent).values(
                stripe_event_id=str(event["id"]),
                type=str(event.get("type") or "")[:100],
                api_version=str(event.get("api_version") or "")[:40],
                livemode=bool(event.get("livemode")),
                stripe_created=from_timestamp(event.get("created")) or now,
                payload=event,
                status=EventStatus.failed,
                attempts=1,
                result="",
                last_error=message,
                created_at=now,
                updated_at=now,
            )
            statement = upsert.on_conflict_do_update(
                index_elements=["stripe_event_id"],
                set_={
                    "status": EventStatus.failed.value,
                    "attempts": table.c.attempts + 1,
                    "last_error": message,
                    "updated_at": now,
                },
                where=table.c.status.in_([EventStatus.failed.value, EventStatus.received.value]),
            ).returning(StripeEvent.id)
            row_id = (await session.execute(statement)).scalar_one_or_none()
    return Delivery(Outcome.failed, row_id, message)


# --------------------------------------------------------------------------------------------------------------
# Handlers: each re-reads its object from Stripe under the organization's account lock


Handler = Callable[[AsyncSession, Gateway, dict[str, Any]], Awaitable[Applied]]


def _ref(value: Any) -> str | None:
    """A Stripe reference, expanded (a dict with an id) or not (the id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


async def _enter(session: AsyncSession, account: BillingAccount) -> BillingAccount:
    """From here on, act for this organization only, holding its account row."""
    set_scope(session, org_scope(account.org_id))
    return await lock_account(session, account)


def _not_ours(customer_id: str | None) -> Applied:
    return Applied(None, f"no organization has the Stripe customer {customer_id or '(none)'}")


async def on_subscription(session: AsyncSession, gateway: Gateway, event: dict[str, Any]) -> Applied:
    import stripe  # for its error class, imported where needed (see verify)

    obj = event["data"]["object"]
    customer_id = _ref(obj.get("customer"))
    found = await account_by_customer(session, customer_id)
    if found is None:
        return _not_ours(customer_id)
    account = await _enter(session, found)
    try:
        current = await gateway.retrieve_subscription(str(obj["id"]))
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        current = obj  # Stripe no longer has it: the event's copy is its last word
    sub = await apply_subscription(session, account, current)
    return Applied(
        account.org_id,
        f"subscription {sub.stripe_subscription_id} is {sub.status.value}; the organization is {account.status.value}",
    )


async def on_checkout_completed(session: AsyncSession, gateway: Gateway, event: dict[str, Any]) -> Applied:
    obj = event["data"]["object"]
    customer_id = _ref(obj.get("customer"))
    found = await account_by_customer(session, customer_id)
    if found is None:
        return _not_ours(customer_id)
    account = await _enter(session, found)
    subscription_id = _ref(obj.get("subscription"))
    if not subscription_id:
        return Applied(account.org_id, f"checkout {obj.get('id')} completed without a subscription")
    sub = await apply_subscription(session, account, await gateway.retrieve_subscription(subscription_id))
    return Applied(
        account.org_id,
        f"checkout {obj.get('id')} completed: subscription {sub.stripe_subscription_id} is {sub.status.value}",
    )


async def on_invoice(session: AsyncSession, gateway: Gateway, event: dict[str, Any]) -> Applied:
    obj = event["data"]["object"]
    customer_id = _ref(obj.get("customer"))
    found = await account_by_customer(session, customer_id)
    if found is None:
        return _not_ours(customer_id)
    account = await _enter(session, found)
    current = await gateway.retrieve_invoice(str(obj["id"]))
    invoice = await apply_invoice(session, account, current)
    result = f"invoice {invoice.stripe_invoice_id} is {invoice.status.value}"
    subscription_id = invoice_subscription_id(current)
    if subscription_id:
        # a payment changes the subscription's status too; its own event may come later, or never first
        sub = await apply_subscription(session, account, await gateway.retrieve_subscription(subscription_id))
        result += f"; subscription {sub.stripe_subscription_id} is {sub.status.value}"
    return Applied(account.org_id, result + f"; the organization is {account.status.value}")


async def on_customer_updated(session: AsyncSession, gateway: Gateway, event: dict[str, Any]) -> Applied:
    obj = event["data"]["object"]
    customer_id = _ref(obj.get("id"))
    found = await account_by_customer(session, customer_id)
    if found is None:
        return _not_ours(customer_id)
    account = await _enter(session, found)
    current = await gateway.retrieve_customer(str(customer_id))
    if current.get("deleted"):
        return Applied(account.org_id, f"customer {customer_id} was deleted in Stripe")
    email = str(current.get("email") or "")
    if email != account.billing_email:
        before = account.billing_email
        account.billing_email = email
        await session.flush()
        await audit.record(
            session,
            actor_id=None,
            action="billing.customer_updated",
            subject_type="billing_account",
            subject_id=account.id,
            org_id=account.org_id,
            before={"billing_email": before},
            after={"billing_email": email},
            reason="stripe",
        )
    return Applied(account.org_id, f"customer {customer_id}: billing email {email or '(none)'}")


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription,
    "customer.subscription.updated": on_subscription,
    "customer.subscription.deleted": on_subscription,
    "customer.subscription.paused": on_subscription,
    "customer.subscription.resumed": on_subscription,
    "invoice.finalized": on_invoice,
    "invoice.paid": on_invoice,
    "invoice.payment_failed": on_invoice,
    "invoice.payment_succeeded": on_invoice,
    "invoice.voided": on_invoice,
    "invoice.marked_uncollectible": on_invoice,
    "customer.updated": on_customer_updated,
}
"""The event types Makeready applies; any other is stored and acknowledged (`ignored`)."""
