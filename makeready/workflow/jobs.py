"""The workflow's background jobs: the escalation pass and outbox delivery, plus a ticker that runs them periodically.

Both jobs are safe to run at any moment and any number of times: the escalation pass says nothing twice (its
stamps), and outbox delivery claims each email before sending it. `makeready.jobs` imports this module, so the jobs
are registered wherever a worker runs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from makeready.db.session import get_engine, make_sessionmaker, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.jobs import enqueue, job
from makeready.settings import Settings

log = logging.getLogger("makeready.workflow")

ESCALATION_EVERY = 3600.0
"""Seconds between two escalation passes."""
OUTBOX_EVERY = 30.0
"""Seconds between two outbox deliveries."""

CONCURRENT_RETRIES = 3
"""Passes one escalation job tries when a concurrent pass wins a race for the same milestone."""


@job("run_escalation", attempts=3, retry_delay=60.0, timeout=600.0)
async def escalation_job(ctx: dict[str, Any], *, today: str | None = None) -> str:
    """Tell owners about milestones at risk or late and escalate to coordinators (see workflow.escalation)."""
    from makeready.workflow.escalation import run_escalation

    settings: Settings = ctx["settings"]
    day = date.fromisoformat(today) if today else utcnow().date()
    for attempt in range(1, CONCURRENT_RETRIES + 1):
        try:
            async with unit_of_work(Scope.system(), engine=get_engine(settings.db.url)) as session:
                report = await run_escalation(session, today=day, settings=settings)
        except StaleDataError:
            # another pass (another process's ticker) stamped a milestone first: run again on what is left
            if attempt == CONCURRENT_RETRIES:
                raise
            log.info("escalation pass met a concurrent pass; running it again")
            continue
        return f"at risk {len(report.at_risk)}, late {len(report.late)}, escalated {len(report.escalated)}"
    raise AssertionError("unreachable")


@job("deliver_outbox", attempts=1, timeout=600.0)
async def outbox_job(ctx: dict[str, Any]) -> str:
    """Send the pending emails of the outbox (see notify.service.deliver_outbox)."""
    from makeready.notify.service import deliver_outbox

    settings: Settings = ctx["settings"]
    report = await deliver_outbox(make_sessionmaker(get_engine(settings.db.url)), settings)
    return f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}"


BILLING_SWEEP_EVERY = 300.0
"""Seconds between two sweeps for milestone fees still to invoice (makeready.billing.jobs)."""

PERIODIC: list[tuple[str, float]] = [
    ("deliver_outbox", OUTBOX_EVERY),
    ("run_escalation", ESCALATION_EVERY),
    ("invoice_due_fees", BILLING_SWEEP_EVERY),
]


async def tick_forever(periodic: list[tuple[str, float]] | None = None) -> None:
    """Enqueue each periodic job at its interval, the first time right away; run it as a task and cancel it to stop."""
    schedule = periodic or PERIODIC
    loop = asyncio.get_running_loop()
    due = {name: loop.time() for name, _every in schedule}
    while True:
        now = loop.time()
        for name, every in schedule:
            if now >= due[name]:
                due[name] = now + every
                try:
                    await enqueue(name)
                except Exception:  # a queue that is down now may be up at the next tick
                    log.exception("could not enqueue the periodic job %s", name)
        await asyncio.sleep(max(min(due.values()) - loop.time(), 0.5))
