"""Billing services: plans, an organization's account and standing, checkout and the customer portal, and applying
what Stripe says about subscriptions and invoices.

An organization's standing (`BillingAccount.status`) is derived from its subscriptions each time one changes:
the most relevant subscription wins (paid up, then in trouble, then starting, then ended; newest first). Every
change of standing is an audit event in the same transaction; entering `past_due` tells the owners. Writers to
one account serialise on its row (`lock_account`), so two webhooks for one organization never interleave their
read of Stripe and their write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import Membership, Organization, OrgRole, User
from makeready.audit import service as audit
from makeready.billing.gating import read_only_from
from makeready.billing.models import (
    DELINQUENT,
    GOOD_STANDING,
    LIVE,
    BillingAccount,
    BillingStatus,
    FeeStatus,
    Invoice,
    InvoiceStatus,
    MilestoneFee,
    Plan,
    Subscription,
)
from makeready.billing.stripe_client import BillingUnavailable, Gateway, billing_settings
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied
from makeready.i18n import N_, _
from makeready.notify.service import notify
from makeready.projects.models import Milestone, Project

OWNERS_ONLY = N_("Only an owner of the organization can change its subscription.")
NO_PLAN = N_("This plan does not exist or is no longer offered.")
ALREADY_SUBSCRIBED = N_(
    "Your organization already has a subscription. Change or cancel it in Stripe's customer portal, from the "
    "billing page."
)
NO_CUSTOMER = N_("Your organization has no subscription yet: choose a plan on the pricing page first.")
SUBSCRIBED = GOOD_STANDING | {BillingStatus.past_due}
"""Standings in which an organization already has a subscription to pay (a new checkout is refused)."""

STRIPE_DOWN = N_("Stripe could not be reached just now. Nothing was changed; please try again in a minute.")


def org_scope(org_id: int) -> Scope:
    """What a webhook or a job acting for one organization may touch: that organization's rows only."""
    return Scope(user_id=None, org_ids=frozenset({org_id}))


def from_timestamp(value: Any) -> datetime | None:
    """Stripe's Unix seconds as an aware UTC datetime (None stays None)."""
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), UTC)


# --------------------------------------------------------------------------------------------------------------
# Plans


async def list_plans(session: AsyncSession, *, active_only: bool = True) -> list[Plan]:
    query = select(Plan).order_by(Plan.position, Plan.id)
    if active_only:
        query = query.where(Plan.is_active.is_(True))
    return list((await session.scalars(query)).all())


async def plan_for_price(session: AsyncSession, price_id: str) -> Plan | None:
    if not price_id:
        return None
    return await session.scalar(select(Plan).where(Plan.stripe_price_id == price_id))


# --------------------------------------------------------------------------------------------------------------
# Accounts


async def get_account(session: AsyncSession, org_id: int) -> BillingAccount | None:
    return await session.scalar(select(BillingAccount).where(BillingAccount.org_id == org_id))


async def get_or_create_account(session: AsyncSession, org_id: int) -> BillingAccount:
    """The organization's account, created on first use. Two first uses at once make one row: the insert skips a
    row that exists (ON CONFLICT DO NOTHING on the unique org_id), with no savepoint (pysqlite's are unreliable)."""
    account = await get_account(session, org_id)
    if account is not None:
        return account
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(BillingAccount)
        .values(
            org_id=org_id,
            status=BillingStatus.none,
            billing_email="",
            cancel_at_period_end=False,
            version=1,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["org_id"])
    )
    account = await get_account(session, org_id)
    assert account is not None
    return account


async def lock_account(session: AsyncSession, account: BillingAccount) -> BillingAccount:
    """Take the account's row for this transaction (a row lock on PostgreSQL, the write lock on SQLite) and read
    it again: whoever held it before us has committed, and we see what they wrote."""
    await session.execute(
        update(BillingAccount)
        .where(BillingAccount.id == account.id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    fresh = await session.scalar(
        select(BillingAccount)
        .where(BillingAccount.id == account.id)
        .execution_options(populate_existing=True)
    )
    assert fresh is not None
    return fresh


async def account_by_customer(session: AsyncSession, customer_id: str | None) -> BillingAccount | None:
    """The account of a Stripe customer, whatever the session's scope (webhooks arrive with no user)."""
    if not customer_id:
        return None
    return await session.scalar(
        select(BillingAccount).where(BillingAccount.stripe_customer_id == customer_id),
        execution_options={"tenancy_bypass": True},
    )


async def owners(session: AsyncSession, org_id: int) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role == OrgRole.owner, User.is_active.is_(True))
        .order_by(User.id)
    )
    return list(rows.all())


async def require_owner(session: AsyncSession, *, actor: User, org_id: int) -> None:
    """Subscriptions are the owners' business: members, viewers and agency staff are refused."""
    role = await session.scalar(
        select(Membership.role).where(Membership.user_id == actor.id, Membership.org_id == org_id)
    )
    if role is None and not actor.is_staff:
        raise NotFound(_("This organization does not exist or you do not have access to it."))
    if role != OrgRole.owner:
        raise PermissionDenied(_(OWNERS_ONLY))


async def ensure_customer(session: AsyncSession, gateway: Gateway, account: BillingAccount) -> str:
    """The organization's Stripe customer, created once (the idempotency key is the organization's)."""
    if account.stripe_customer_id:
        return account.stripe_customer_id
    org = await session.scalar(select(Organization).where(Organization.id == account.org_id))
    assert org is not None
    first_owner = next(iter(await owners(session, account.org_id)), None)
    email = first_owner.email if first_owner else ""
    customer = await gateway.create_customer(org_id=org.id, name=org.name, email=email)
    account.stripe_customer_id = str(customer["id"])
    account.billing_email = str(customer.get("email") or email)
    await session.flush()
    return account.stripe_customer_id


# --------------------------------------------------------------------------------------------------------------
# Checkout and the customer portal


async def start_checkout(
    session: AsyncSession, gateway: Gateway, *, actor: User, org_id: int, plan_id: int, base_url: str
) -> str:
    """The Stripe Checkout address where an owner subscribes the organization to a plan."""
    await require_owner(session, actor=actor, org_id=org_id)
    plan = await session.scalar(select(Plan).where(Plan.id == plan_id, Plan.is_active.is_(True)))
    if plan is None:
        raise NotFound(_(NO_PLAN))
    account = await lock_account(session, await get_or_create_account(session, org_id))
    if account.status in SUBSCRIBED:
        raise Conflict(_(ALREADY_SUBSCRIBED), current_state=account.status.value)
    try:
        customer_id = await ensure_customer(session, gateway, account)
        checkout = await gateway.create_checkout_session(
            customer_id=customer_id,
            price_id=plan.stripe_price_id,
            org_id=org_id,
            success_url=base_url + urls.billing(org_id, checkout="done"),
            cancel_url=base_url + urls.pricing(org_id, checkout="canceled"),
        )
    except _stripe_errors() as exc:
        raise BillingUnavailable(_(STRIPE_DOWN)) from exc
    return str(checkout["url"])


async def open_customer_portal(
    session: AsyncSession, gateway: Gateway, *, actor: User, org_id: int, base_url: str
) -> str:
    """The Stripe customer portal address where an owner changes payment methods, the plan, or cancels."""
    await require_owner(session, actor=actor, org_id=org_id)
    account = await get_account(session, org_id)
    if account is None or not account.stripe_customer_id:
        raise Conflict(_(NO_CUSTOMER))
    try:
        portal = await gateway.create_portal_session(
            customer_id=account.stripe_customer_id, return_url=base_url + urls.billing(org_id)
        )
    except _stripe_errors() as exc:
        raise BillingUnavailable(_(STRIPE_DOWN)) from exc
    return str(portal["url"])


def _stripe_errors() -> tuple[type[Exception], ...]:
    import stripe

    return (stripe.StripeError,)


# --------------------------------------------------------------------------------------------------------------
# Applying Stripe's subscriptions


def _status(value: Any) -> BillingStatus:
    try:
        status = BillingStatus(str(value))
    except ValueError:
        return BillingStatus.incomplete  # a status Stripe adds later: not paid up, not ended
    return BillingStatus.incomplete if status == BillingStatus.none else status


def _first_item(obj: dict[str, Any]) -> dict[str, Any]:
    items = (obj.get("items") or {}).get("data") or []
    return items[0] if items else {}


async def apply_subscription(
    session: AsyncSession, account: BillingAccount, obj: dict[str, Any], *, now: datetime | None = None
) -> Subscription:
    """Store a subscription as Stripe returned it and recompute the organization's standing.

    A canceled or expired subscription never comes back in Stripe, so an older copy that says it is live is
    ignored: whatever the order copies arrive in, the row ends in the latest state."""
    now = now or utcnow()
    row = await session.scalar(select(Subscription).where(Subscription.stripe_subscription_id == obj["id"]))
    status = _status(obj.get("status"))
    if row is not None and row.status not in LIVE and status in LIVE:
        status = row.status
    item = _first_item(obj)
    price_id = str((item.get("price") or {}).get("id") or "")
    plan = await plan_for_price(session, price_id)
    values: dict[str, Any] = {
        "status": status,
        "stripe_price_id": price_id,
        "plan_id": plan.id if plan else None,
        "current_period_end": from_timestamp(item.get("current_period_end") or obj.get("current_period_end")),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "trial_end": from_timestamp(obj.get("trial_end")),
        "canceled_at": from_timestamp(obj.get("canceled_at")),
        "synced_at": now,
    }
    if row is None:
        row = Subscription(
            org_id=account.org_id,
            stripe_subscription_id=str(obj["id"]),
            stripe_created=from_timestamp(obj.get("created")) or now,
            **values,
        )
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    await session.flush()
    await recompute_standing(session, account, now=now)
    return row


def _rank(sub: Subscription) -> tuple[int, float]:
    if sub.status in GOOD_STANDING:
        group = 0
    elif sub.status in LIVE and sub.status != BillingStatus.incomplete:
        group = 1
    elif sub.status == BillingStatus.incomplete:
        group = 2
    else:
        group = 3
    return group, -sub.stripe_created.timestamp()


def _snapshot(account: BillingAccount, grace_days: int) -> dict[str, Any]:
    return {
        "status": account.status,
        "plan_id": account.plan_id,
        "subscription": account.stripe_subscription_id,
        "delinquent_since": account.delinquent_since,
        "read_only_from": read_only_from(account, grace_days),
    }


async def recompute_standing(session: AsyncSession, account: BillingAccount, *, now: datetime) -> None:
    """Derive the account's standing from its subscriptions; audit a change, and tell the owners of past_due."""
    subs = list(
        (await session.scalars(select(Subscription).where(Subscription.org_id == account.org_id))).all()
    )
    current = min(subs, key=_rank) if subs else None
    grace_days = billing_settings().grace_days
    before = _snapshot(account, grace_days)
    old_status = account.status
    new_status = current.status if current else BillingStatus.none
    account.plan_id = current.plan_id if current else None
    account.stripe_subscription_id = current.stripe_subscription_id if current else None
    account.current_period_end = current.current_period_end if current else None
    account.cancel_at_period_end = current.cancel_at_period_end if current else False
    if new_status != old_status:
        account.status = new_status
        account.status_changed_at = now
        if new_status in GOOD_STANDING:
            account.delinquent_since = None
        elif new_status in DELINQUENT and account.delinquent_since is None:
            account.delinquent_since = now
    await session.flush()
    after = _snapshot(account, grace_days)
    if after == before:
        return
    await audit.record(
        session,
        actor_id=None,
        action="billing.status_changed" if new_status != old_status else "billing.plan_changed",
        subject_type="billing_account",
        subject_id=account.id,
        org_id=account.org_id,
        before=before,
        after=after,
        reason="stripe",
    )
    if new_status == BillingStatus.past_due and old_status != BillingStatus.past_due:
        await tell_owners_past_due(session, account)


async def tell_owners_past_due(session: AsyncSession, account: BillingAccount) -> None:
    org_name = await session.scalar(select(Organization.name).where(Organization.id == account.org_id))
    for owner in await owners(session, account.org_id):
        await notify(
            session,
            user=owner,
            kind="billing_past_due",
            params={"org": org_name or ""},
            link=urls.billing(account.org_id),
        )


# --------------------------------------------------------------------------------------------------------------
# Applying Stripe's invoices


def invoice_subscription_id(obj: dict[str, Any]) -> str | None:
    """The subscription an invoice bills, if any (under `parent` since API 2025-03; `subscription` before)."""
    parent = obj.get("parent") or {}
    details = parent.get("subscription_details") or {}
    value = details.get("subscription") or obj.get("subscription")
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _invoice_status(value: Any) -> InvoiceStatus:
    try:
        return InvoiceStatus(str(value))
    except ValueError:
        return InvoiceStatus.draft


async def apply_invoice(
    session: AsyncSession, account: BillingAccount, obj: dict[str, Any], *, now: datetime | None = None
) -> Invoice:
    """Store an invoice as Stripe returned it; a change of its status is an audit event."""
    now = now or utcnow()
    row = await session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == obj["id"]))
    status = _invoice_status(obj.get("status"))
    fee: MilestoneFee | None = None
    fee_ref = (obj.get("metadata") or {}).get("fee_id")
    if fee_ref and str(fee_ref).isdigit():
        fee = await session.scalar(
            select(MilestoneFee).where(MilestoneFee.id == int(fee_ref), MilestoneFee.org_id == account.org_id)
        )
    transitions = obj.get("status_transitions") or {}
    lines = (obj.get("lines") or {}).get("data") or []
    description = str(obj.get("description") or (lines[0].get("description") if lines else "") or "")
    values: dict[str, Any] = {
        "status": status,
        "number": str(obj.get("number") or ""),
        "description": description[:500],
        "currency": str(obj.get("currency") or "usd").upper(),
        "amount_due": int(obj.get("amount_due") or 0),
        "amount_paid": int(obj.get("amount_paid") or 0),
        "amount_remaining": int(obj.get("amount_remaining") or 0),
        "hosted_invoice_url": str(obj.get("hosted_invoice_url") or ""),
        "invoice_pdf": str(obj.get("invoice_pdf") or ""),
        "due_date": from_timestamp(obj.get("due_date")),
        "paid_at": from_timestamp(transitions.get("paid_at")),
        "stripe_subscription_id": invoice_subscription_id(obj),
        "synced_at": now,
    }
    before_status = row.status if row is not None else None
    if row is None:
        row = Invoice(
            org_id=account.org_id,
            stripe_invoice_id=str(obj["id"]),
            fee_id=fee.id if fee else None,
            stripe_created=from_timestamp(obj.get("created")) or now,
            **values,
        )
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
        if row.fee_id is None and fee is not None:
            row.fee_id = fee.id
    await session.flush()
    # a draft is Makeready's own work in progress (the fee job's); what Stripe's client sees starts at open
    if before_status != status and status != InvoiceStatus.draft:
        await audit.record(
            session,
            actor_id=None,
            action=f"invoice.{status.value}",
            subject_type="invoice",
            subject_id=row.id,
            org_id=account.org_id,
            project_id=fee.project_id if fee else None,
            before={"status": before_status} if before_status else None,
            after={
                "status": status,
                "stripe_invoice_id": row.stripe_invoice_id,
                "amount_due": row.amount_due,
                "amount_paid": row.amount_paid,
                "currency": row.currency,
            },
            reason="stripe",
        )
    return row


# --------------------------------------------------------------------------------------------------------------
# Reading, for the portal's billing page


@dataclass
class FeeLine:
    fee: MilestoneFee
    project_name: str
    milestone_title: str


@dataclass
class Overview:
    account: BillingAccount | None
    plan: Plan | None
    invoices: list[Invoice]
    fees: list[FeeLine]
    read_only_from: datetime | None


async def overview(session: AsyncSession, org_id: int, *, invoice_limit: int = 100) -> Overview:
    """What the organization has, owes and has paid (three queries, whatever the number of rows)."""
    row = (
        await session.execute(
            select(BillingAccount, Plan)
            .outerjoin(Plan, Plan.id == BillingAccount.plan_id)
            .where(BillingAccount.org_id == org_id)
        )
    ).first()
    account, plan = (row[0], row[1]) if row else (None, None)
    invoices = list(
        (
            await session.scalars(
                select(Invoice)
                .where(Invoice.org_id == org_id, Invoice.status != InvoiceStatus.draft)
                .order_by(Invoice.stripe_created.desc(), Invoice.id.desc())
                .limit(invoice_limit)
            )
        ).all()
    )
    fee_rows = (
        await session.execute(
            select(MilestoneFee, Project.name, Milestone.title)
            .join(Project, Project.id == MilestoneFee.project_id)
            .join(Milestone, Milestone.id == MilestoneFee.milestone_id)
            .where(
                MilestoneFee.org_id == org_id,
                MilestoneFee.status.not_in([FeeStatus.invoiced, FeeStatus.canceled]),
            )
            .order_by(MilestoneFee.project_id, Milestone.position, MilestoneFee.id)
        )
    ).all()
    fees = [FeeLine(fee=r[0], project_name=r[1], milestone_title=r[2]) for r in fee_rows]
    grace = billing_settings().grace_days
    return Overview(
        account=account,
        plan=plan,
        invoices=invoices,
        fees=fees,
        read_only_from=read_only_from(account, grace) if account else None,
    )
