"""What an organization's billing standing allows: the read-only gate, the plan's project allowance, and the banner.

An organization whose payments stopped (past due, then unpaid or canceled) keeps writing for BILLING_GRACE_DAYS
counted from when they stopped; after that, while it is unpaid, canceled or paused, its portal is read-only: no
new projects and no uploads (everything stays readable). Paying again (good standing) lifts it at once. The gate
sits in the services (project creation, upload start and completion), so every door refuses the same way: 402
Payment Required with a message in the reader's language. Agency staff are never gated, and with billing off
(no STRIPE_SECRET_KEY) nothing here reads the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Organization, User
from makeready.billing.models import GOOD_STANDING, BillingAccount, BillingStatus, Plan
from makeready.billing.stripe_client import billing_enabled, billing_settings
from makeready.db.types import utcnow
from makeready.errors import Conflict, PaymentRequired
from makeready.i18n import N_, _
from makeready.projects.models import Phase, Project

READ_ONLY_MESSAGE = N_(
    "Your organization's subscription is not paid, so the portal is read-only: you can look at everything but "
    "not add projects or files. An owner can pay on the billing page, and everything opens again at once."
)
PLAN_LIMIT_MESSAGE = N_(
    "Your plan includes %(limit)s active projects and your organization has %(count)s. An owner can choose a "
    "larger plan on the billing page."
)


def read_only_from(account: BillingAccount, grace_days: int) -> datetime | None:
    """When the grace period of the current payment problem ends (None: no problem)."""
    if account.delinquent_since is None:
        return None
    return account.delinquent_since + timedelta(days=grace_days)


def is_read_only(account: BillingAccount | None, *, now: datetime | None = None) -> bool:
    """Payments stopped more than the grace period ago, and not past due only (see the module docstring)."""
    if account is None or account.status in GOOD_STANDING or account.status == BillingStatus.past_due:
        return False
    until = read_only_from(account, billing_settings().grace_days)
    return until is not None and (now or utcnow()) >= until


async def active_project_count(session: AsyncSession, org_id: int) -> int:
    """Projects of the organization that are not delivered, cancelled or archived."""
    count = await session.scalar(
        select(func.count())
        .select_from(Project)
        .where(
            Project.org_id == org_id,
            Project.archived_at.is_(None),
            Project.phase.not_in([Phase.delivered, Phase.cancelled]),
        )
    )
    return int(count or 0)


def _exempt(actor: User | None) -> bool:
    return actor is None or actor.is_staff or actor.is_admin


async def require_writable(session: AsyncSession, *, org_id: int, actor: User | None) -> None:
    """Refuse a brand user's new project or upload while the organization is read-only (402)."""
    if not billing_enabled() or _exempt(actor):
        return
    account = await session.scalar(select(BillingAccount).where(BillingAccount.org_id == org_id))
    if is_read_only(account):
        raise PaymentRequired(_(READ_ONLY_MESSAGE))


async def require_project_allowance(session: AsyncSession, *, org_id: int, actor: User | None) -> None:
    """Refuse a brand user's new project while the organization is read-only (402) or at its plan's limit (409)."""
    if not billing_enabled() or _exempt(actor):
        return
    row = (
        await session.execute(
            select(BillingAccount, Plan.max_active_projects)
            .outerjoin(Plan, Plan.id == BillingAccount.plan_id)
            .where(BillingAccount.org_id == org_id)
        )
    ).first()
    if row is None:
        return
    account, limit = row[0], row[1]
    if is_read_only(account):
        raise PaymentRequired(_(READ_ONLY_MESSAGE))
    if limit is not None and account.status in GOOD_STANDING | {BillingStatus.past_due}:
        count = await active_project_count(session, org_id)
        if count >= limit:
            raise Conflict(_(PLAN_LIMIT_MESSAGE) % {"limit": limit, "count": count})


# --------------------------------------------------------------------------------------------------------------
# The banner


class Notice(enum.StrEnum):
    past_due = "past_due"
    grace = "grace"
    read_only = "read_only"


@dataclass(frozen=True)
class BillingNotice:
    """A banner on every page: what is wrong with one organization's billing, and until when it can still write."""

    org_id: int
    org_name: str
    kind: Notice
    is_owner: bool
    read_only_from: datetime | None


async def notices_for(
    session: AsyncSession, *, owner_org_ids: set[int], member_org_ids: set[int]
) -> list[BillingNotice]:
    """Banners for a brand user: past due and the grace period to owners, read-only to everyone in the org.
    One query; none at all with billing off."""
    if not billing_enabled() or not member_org_ids:
        return []
    rows = (
        await session.execute(
            select(BillingAccount, Organization.name)
            .join(Organization, Organization.id == BillingAccount.org_id)
            .where(BillingAccount.org_id.in_(sorted(member_org_ids)))
            .order_by(Organization.name)
        )
    ).all()
    grace = billing_settings().grace_days
    now = utcnow()
    found: list[BillingNotice] = []
    for account, org_name in rows:
        is_owner = account.org_id in owner_org_ids
        if is_read_only(account, now=now):
            kind = Notice.read_only
        elif not is_owner:
            continue
        elif account.status == BillingStatus.past_due:
            kind = Notice.past_due
        elif account.delinquent_since is not None and account.status not in GOOD_STANDING:
            kind = Notice.grace
        else:
            continue
        found.append(
            BillingNotice(
                org_id=account.org_id,
                org_name=org_name,
                kind=kind,
                is_owner=is_owner,
                read_only_from=read_only_from(account, grace),
            )
        )
    return found
