"""Quality's background job: the daily pass that flags corrective actions the factory has not answered in time."""

from __future__ import annotations

from datetime import date
from typing import Any

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.jobs.registry import job, periodic
from makeready.quality.actions import flag_overdue
from makeready.settings import Settings

OVERDUE_EVERY = 3600.0
"""Seconds between two passes (a condition is raised once, so passing often says nothing twice)."""


@job("flag_overdue_corrective_actions", attempts=3, retry_delay=60.0, timeout=300.0)
async def overdue_job(ctx: dict[str, Any], *, today: str | None = None) -> str:
    settings: Settings = ctx["settings"]
    day = date.fromisoformat(today) if today else utcnow().date()
    async with unit_of_work(Scope.system(), engine=get_engine(settings.db.url)) as session:
        raised = await flag_overdue(session, today=day)
    return f"overdue {len(raised)}"


periodic("flag_overdue_corrective_actions", every=OVERDUE_EVERY)
