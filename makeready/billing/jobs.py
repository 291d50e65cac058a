"""Billing's background jobs: invoicing a milestone fee, and a periodic sweep that invoices any fee still due.

A fee becomes due in the transaction that completes its milestone; `enqueue_after_commit` hands its job to the
worker only once that transaction has committed (a job started earlier would not see the fee). The sweep picks up
whatever a lost job or a crash left due, so the database, not the in-memory queue, is the record of work to do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.jobs import enqueue, job
from makeready.settings import Settings

log = logging.getLogger("makeready.billing")

_PENDING = "billing_jobs_after_commit"
_LISTENING = "billing_jobs_listening"
_tasks: set[asyncio.Task[Any]] = set()


def enqueue_after_commit(session: AsyncSession, name: str, **kwargs: Any) -> None:
    """Enqueue the job `name` when the session's transaction commits; nothing if it rolls back."""
    sync = session.sync_session
    if not sync.info.get(_LISTENING):
        # listeners stay for the session's life (SQLAlchemy forbids removing one while it runs)
        event.listen(sync, "after_commit", _after_commit)
        event.listen(sync, "after_rollback", _after_rollback)
        sync.info[_LISTENING] = True
    sync.info.setdefault(_PENDING, []).append((name, kwargs))


def _take(sync: Any) -> list[tuple[str, dict[str, Any]]]:
    pending: list[tuple[str, dict[str, Any]]] = sync.info.pop(_PENDING, None) or []
    return pending


def _after_commit(sync: Any) -> None:
    pending = _take(sync)
    if not pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # committed outside an event loop: the sweep will find the fees
        return
    for name, kwargs in pending:
        task = loop.create_task(_enqueue_logged(name, kwargs))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


def _after_rollback(sync: Any) -> None:
    _take(sync)


async def settle() -> None:
    """Wait until the jobs of committed transactions are in the queue (tests and scripts that then drain it)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)


async def _enqueue_logged(name: str, kwargs: dict[str, Any]) -> None:
    try:
        await enqueue(name, **kwargs)
    except Exception:  # the sweep will pick the work up later
        log.exception("could not enqueue %s; the periodic sweep will do it", name)


@job("invoice_milestone_fee", attempts=4, retry_delay=30.0, timeout=300.0)
async def invoice_fee_job(ctx: dict[str, Any], *, fee_id: int) -> str:
    """Create, finalise and send the Stripe invoice of one due milestone fee (see billing.fees.invoice_fee)."""
    from makeready.billing.fees import invoice_fee
    from makeready.db.session import get_engine, make_sessionmaker

    settings: Settings = ctx["settings"]
    outcome = await invoice_fee(make_sessionmaker(get_engine(settings.db.url)), fee_id)
    return outcome


@job("invoice_due_fees", attempts=1, timeout=600.0)
async def sweep_job(ctx: dict[str, Any]) -> str:
    """Invoice every fee that is due (or whose invoicing was interrupted), one job each."""
    from makeready.billing.fees import due_fee_ids
    from makeready.billing.stripe_client import billing_enabled
    from makeready.db.session import get_engine, make_sessionmaker

    if not billing_enabled():
        return "billing is off"
    settings: Settings = ctx["settings"]
    ids = await due_fee_ids(make_sessionmaker(get_engine(settings.db.url)))
    for fee_id in ids:
        await enqueue("invoice_milestone_fee", fee_id=fee_id)
    return f"{len(ids)} fee(s) to invoice"
