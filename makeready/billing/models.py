"""Billing tables: plans, each organization's billing account and subscriptions, milestone fees, invoices, and
every Stripe webhook event received.

Amounts are integers in the currency's minor unit (cents; yen have none), as Stripe counts them, so nothing is
rounded between the form, the database and Stripe. Stripe is the source of truth for subscriptions and invoices:
these rows are Makeready's copy, written by webhooks (after re-reading the object from Stripe) and by the fee job.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import Organization, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_


class BillingStatus(enum.StrEnum):
    """An organization's standing, and a Stripe subscription's status (Stripe's names; `none`: never subscribed)."""

    none = "none"
    incomplete = "incomplete"
    incomplete_expired = "incomplete_expired"
    trialing = "trialing"
    active = "active"
    past_due = "past_due"
    unpaid = "unpaid"
    canceled = "canceled"
    paused = "paused"

    @staticmethod
    def labels() -> dict[BillingStatus, str]:
        return {
            BillingStatus.none: N_("No subscription"),
            BillingStatus.incomplete: N_("Waiting for the first payment"),
            BillingStatus.incomplete_expired: N_("First payment not made"),
            BillingStatus.trialing: N_("Trial"),
            BillingStatus.active: N_("Active"),
            BillingStatus.past_due: N_("Payment overdue"),
            BillingStatus.unpaid: N_("Unpaid"),
            BillingStatus.canceled: N_("Canceled"),
            BillingStatus.paused: N_("Paused"),
        }


GOOD_STANDING = frozenset({BillingStatus.trialing, BillingStatus.active})
"""Statuses in which an organization is paid up."""
DELINQUENT = frozenset(
    {BillingStatus.past_due, BillingStatus.unpaid, BillingStatus.canceled, BillingStatus.paused}
)
"""Statuses that start (or continue) the grace period: payments stopped after the organization had access."""
READ_ONLY_AFTER_GRACE = frozenset({BillingStatus.unpaid, BillingStatus.canceled, BillingStatus.paused})
"""Statuses that make the portal read-only once the grace period has run out (past due only shows a banner)."""
LIVE = frozenset(
    {
        BillingStatus.incomplete,
        BillingStatus.trialing,
        BillingStatus.active,
        BillingStatus.past_due,
        BillingStatus.unpaid,
        BillingStatus.paused,
    }
)
"""Subscription statuses Stripe may still move on from (a canceled or expired subscription never comes back)."""


class Plan(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A plan the agency sells: a Stripe recurring price, and what it includes (shown on the pricing page)."""

    __tablename__ = "billing_plans"

    name: Mapped[str] = mapped_column(String(100))
    stripe_price_id: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    """What the plan includes, in English (the fallback for every reader)."""
    description_zh: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The same in Simplified Chinese; Chinese readers see the English one while this is empty."""
    max_active_projects: Mapped[int | None] = mapped_column(Integer, default=None)
    # shown on the pricing page; the Stripe price is what is charged
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    interval: Mapped[str] = mapped_column(String(10), default="month")
    is_active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def description_for(self, locale: str) -> str:
        """The description in the reader's language, falling back to English."""
        if locale.startswith("zh") and self.description_zh.strip():
            return self.description_zh
        return self.description


class BillingAccount(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One organization's place in Stripe: its customer, and its standing derived from its subscriptions."""

    __tablename__ = "billing_accounts"
    __table_args__ = (UniqueConstraint("org_id", name="uq_billing_accounts_org_id"),)

    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    billing_email: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[BillingStatus] = mapped_column(str_enum(BillingStatus), default=BillingStatus.none)
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # when payments stopped (the first past_due/unpaid/canceled after good standing); the grace period counts
    # from here and ends when the organization is in good standing again
    delinquent_since: Mapped[datetime | None] = mapped_column(default=None)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_plans.id", ondelete="RESTRICT"), default=None
    )
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100), default=None)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)

    org: Mapped[Organization] = relationship(lazy="raise")
    plan: Mapped[Plan | None] = relationship(lazy="raise")


class Subscription(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A Stripe subscription of an organization, as last read from Stripe."""

    __tablename__ = "subscriptions"

    stripe_subscription_id: Mapped[str] = mapped_column(String(100), unique=True)
    stripe_price_id: Mapped[str] = mapped_column(String(100), default="")
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_plans.id", ondelete="RESTRICT"), default=None, index=True
    )
    status: Mapped[BillingStatus] = mapped_column(str_enum(BillingStatus), index=True)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    trial_end: Mapped[datetime | None] = mapped_column(default=None)
    canceled_at: Mapped[datetime | None] = mapped_column(default=None)
    stripe_created: Mapped[datetime]
    synced_at: Mapped[datetime]


class FeeStatus(enum.StrEnum):
    planned = "planned"
    due = "due"
    invoicing = "invoicing"
    invoiced = "invoiced"
    failed = "failed"
    canceled = "canceled"

    @staticmethod
    def labels() -> dict[FeeStatus, str]:
        return {
            FeeStatus.planned: N_("Billed when the milestone is done"),
            FeeStatus.due: N_("Being invoiced"),
            FeeStatus.invoicing: N_("Being invoiced"),
            FeeStatus.invoiced: N_("Invoiced"),
            FeeStatus.failed: N_("Invoicing failed"),
            FeeStatus.canceled: N_("Canceled"),
        }


class MilestoneFee(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A coordination fee billed when its milestone is done (a feasibility fee, a development retainer...)."""

    __tablename__ = "milestone_fees"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[FeeStatus] = mapped_column(str_enum(FeeStatus), default=FeeStatus.planned, index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the milestone was done and the fee became due for invoicing."""
    # the invoicing job's progress: its claim (a lease), the Stripe invoice it made, and what went wrong
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    invoiced_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")


class InvoiceStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    uncollectible = "uncollectible"
    void = "void"

    @staticmethod
    def labels() -> dict[InvoiceStatus, str]:
        return {
            InvoiceStatus.draft: N_("Draft"),
            InvoiceStatus.open: N_("Awaiting payment"),
            InvoiceStatus.paid: N_("Paid"),
            InvoiceStatus.uncollectible: N_("Uncollectible"),
            InvoiceStatus.void: N_("Void"),
        }


class Invoice(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A Stripe invoice of an organization: a milestone fee's, or a subscription's."""

    __tablename__ = "invoices"

    stripe_invoice_id: Mapped[str] = mapped_column(String(100), unique=True)
    fee_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone_fees.id", ondelete="RESTRICT"), unique=True, default=None
    )
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100), default=None)
    number: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus), default=InvoiceStatus.draft)
    currency: Mapped[str] = mapped_column(String(3))
    amount_due: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_remaining: Mapped[int] = mapped_column(BigInteger, default=0)
    hosted_invoice_url: Mapped[str] = mapped_column(String(1000), default="")
    invoice_pdf: Mapped[str] = mapped_column(String(1000), default="")
    stripe_created: Mapped[datetime]
    due_date: Mapped[datetime | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime]


class EventStatus(enum.StrEnum):
    received = "received"
    processed = "processed"
    ignored = "ignored"
    failed = "failed"


class StripeEvent(IdMixin, TimestampMixin, Base):
    """A webhook event as Stripe sent it, stored once per event id, with what processing it did.

    Not tenant-owned: an event names a Stripe customer, and which organization that is (if any) is only known
    while it is processed (`org_id` records it); only staff see this table."""

    __tablename__ = "stripe_events"

    stripe_event_id: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    api_version: Mapped[str] = mapped_column(String(40), default="")
    livemode: Mapped[bool] = mapped_column(default=False)
    stripe_created: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus), default=EventStatus.received, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), default=None, index=True
    )
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
