"""The workflow's background job: the hourly escalation pass.

It is safe to run at any moment and any number of times: the escalation pass says nothing twice (its stamps).
The composition root imports this module, so the job is registered wherever a worker runs.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.exc import StaleDataError

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.jobs.registry import job, periodic
from makeready.settings import Settings
from makeready.workflow.escalation import BATCH, EscalationReport, run_escalation

log = logging.getLogger("makeready.workflow")

ESCALATION_EVERY = 3600.0
"""Seconds between two escalation passes."""

CONCURRENT_RETRIES = 3
"""Passes one escalation job tries when a concurrent pass wins a race for the same milestone."""


@job("run_escalation", attempts=3, retry_delay=60.0, timeout=600.0)
async def escalation_job(ctx: dict[str, Any], *, today: str | None = None) -> str:
    """Raise, escalate and clear the milestones' conditions (see workflow.escalation), one short transaction per
    batch of BATCH milestones, so the pass never holds a transaction over the whole agency."""
    settings: Settings = ctx["settings"]
    day = date.fromisoformat(today) if today else utcnow().date()
    engine = get_engine(settings.db.url)
    total = EscalationReport()
    after_id = 0
    while True:
        report = await _batch(engine, day, after_id, settings)
        total.add(report)
        if report.last_id is None:
            break
        after_id = report.last_id
    return f"at risk {len(total.at_risk)}, late {len(total.late)}, escalated {len(total.escalated)}"


async def _batch(engine: AsyncEngine, day: date, after_id: int, settings: Settings) -> EscalationReport:
    for attempt in range(1, CONCURRENT_RETRIES + 1):
        try:
            async with unit_of_work(Scope.system(), engine=engine) as session:
                return await run_escalation(
                    session, today=day, settings=settings, after_id=after_id, limit=BATCH
                )
        except (StaleDataError, Conflict):
            # another pass (another process's ticker) raised or escalated a condition first: run the batch again
            if attempt == CONCURRENT_RETRIES:
                raise
            log.info("escalation pass met a concurrent pass; running the batch again")
    raise AssertionError("unreachable")


periodic("run_escalation", every=ESCALATION_EVERY)
