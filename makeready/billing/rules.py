"""Billing's rules on the bus: a done milestone makes its fees due."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.billing.fees import mark_fees_due
from makeready.db.types import utcnow
from makeready.kernel.bus import Event, Rule


async def bill_milestone_fees(session: AsyncSession, event: Event) -> None:
    """A done milestone makes its fees due; each is invoiced through Stripe once this transaction commits."""
    await mark_fees_due(session, milestone=event.subject, actor=event.actor, now=event.now or utcnow())


RULES: list[tuple[str, Rule]] = [
    ("milestone.completed", bill_milestone_fees),
]
