"""Arrangements shared by the billing tests: Stripe turned on with a fake HTTP client, an organization's billing
account, and posting signed webhooks through the real endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.audit.models import AuditEvent
from makeready.billing.models import BillingAccount, BillingStatus, Plan, StripeEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from tests.stripe_fake import FakeStripe, signed, turn_off, turn_on


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    turn_on(fake)
    try:
        yield fake
    finally:
        turn_off()


async def add_plan(
    engine: AsyncEngine,
    *,
    name: str = "Studio",
    price: str = "price_basic",
    max_active_projects: int | None = None,
) -> Plan:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            plan = Plan(
                name=name,
                stripe_price_id=price,
                description="Coordination of up to five products at a time.",
                amount=49,
                currency="USD",
                interval="month",
                max_active_projects=max_active_projects,
                is_active=True,
                position=1,
            )
            session.add(plan)
    return plan


async def add_account(
    engine: AsyncEngine,
    org_id: int,
    *,
    customer: str = "cus_acme",
    status: BillingStatus = BillingStatus.none,
    delinquent_since: datetime | None = None,
) -> BillingAccount:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            account = BillingAccount(
                org_id=org_id, stripe_customer_id=customer, status=status, delinquent_since=delinquent_since
            )
            session.add(account)
    return account


async def account_of(engine: AsyncEngine, org_id: int) -> BillingAccount:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        account = await session.scalar(select(BillingAccount).where(BillingAccount.org_id == org_id))
        assert account is not None
        return account


async def events(engine: AsyncEngine) -> list[StripeEvent]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        return list((await session.scalars(select(StripeEvent).order_by(StripeEvent.id))).all())


async def audit_count(engine: AsyncEngine, action: str) -> int:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        count = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )
        return int(count or 0)


async def post_event(
    client: AsyncTestClient[Litestar],
    event: dict[str, Any],
    *,
    timestamp: int | None = None,
    secret: str | None = None,
) -> httpx.Response:
    """POST the event to /webhooks/stripe, signed as Stripe signs it."""
    kwargs: dict[str, Any] = {"timestamp": timestamp}
    if secret is not None:
        kwargs["secret"] = secret
    payload, signature = signed(event, **kwargs)
    return await client.post(
        "/webhooks/stripe",
        content=payload,
        headers={"stripe-signature": signature, "content-type": "application/json"},
    )


__all__ = [
    "FakeStripe",
    "account_of",
    "add_account",
    "add_plan",
    "audit_count",
    "events",
    "fake_stripe",
    "post_event",
]
