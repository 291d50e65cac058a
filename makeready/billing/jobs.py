"""Billing's background jobs: invoicing a milestone fee, and a periodic sweep that invoices any fee still due.

A fee becomes due in the transaction that completes its milestone; `jobs.enqueue_after_commit` hands its job to the
worker only once that transaction has committed (a job started earlier would not see the fee). The sweep picks up
whatever a lost job or a crash left due, so the database, not the in-memory queue, is the record of work to do.
"""

from __future__ import annotations

from typing import Any

from makeready.billing.fees import due_fee_ids, invoice_fee
from makeready.billing.stripe_client import billing_enabled
from makeready.db.session import get_engine, make_sessionmaker
from makeready.jobs.registry import job, periodic
from makeready.jobs.runner import enqueue
from makeready.settings import Settings

BILLING_SWEEP_EVERY = 300.0
"""Seconds between two sweeps for milestone fees still to invoice."""


@job("invoice_milestone_fee", attempts=4, retry_delay=30.0, timeout=300.0)
async def invoice_fee_job(ctx: dict[str, Any], *, fee_id: int) -> str:
    """Create, finalise and send the Stripe invoice of one due milestone fee (see billing.fees.invoice_fee)."""
    settings: Settings = ctx["settings"]
    outcome = await invoice_fee(make_sessionmaker(get_engine(settings.db.url)), fee_id)
    return outcome


@job("invoice_due_fees", attempts=1, timeout=600.0)
async def sweep_job(ctx: dict[str, Any]) -> str:
    """Invoice every fee that is due (or whose invoicing was interrupted), one job each."""
    if not billing_enabled():
        return "billing is off"
    settings: Settings = ctx["settings"]
    ids = await due_fee_ids(make_sessionmaker(get_engine(settings.db.url)))
    for fee_id in ids:
        await enqueue("invoice_milestone_fee", fee_id=fee_id)
    return f"{len(ids)} fee(s) to invoice"


periodic("invoice_due_fees", every=BILLING_SWEEP_EVERY)
