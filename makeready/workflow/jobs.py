"""The workflow's background job: the hourly escalation pass.

It is safe to run at any moment and any number of times: the escalation pass says nothing twice (its stamps).
The composition root imports this module, so the job is registered wherever a worker runs.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.jobs.registry import job, periodic
from makeready.settings import Settings
from makeready.workflow.escalation import run_escalation

log = logging.getLogger("makeready.workflow")

ESCALATION_EVERY = 3600.0
"""Seconds between two escalation passes."""

CONCURRENT_RETRIES = 3
"""Passes one escalation job tries when a concurrent pass wins a race for the same milestone."""


@job("run_escalation", attempts=3, retry_delay=60.0, timeout=600.0)
async def escalation_job(ctx: dict[str, Any], *, today: str | None = None) -> str:
    """Tell owners about milestones at risk or late and escalate to coordinators (see workflow.escalation)."""
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


periodic("run_escalation", every=ESCALATION_EVERY)
