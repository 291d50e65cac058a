"""The periodic fold of the audit trail into the metric facts, for events that fire no bus rule."""

from __future__ import annotations

from typing import Any

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.jobs.registry import job, periodic
from makeready.metrics.facts import REBUILD_BATCH, catch_up
from makeready.settings import Settings

CATCH_UP_JOB = "metrics_catch_up"
CATCH_UP_EVERY = 60.0


@job(CATCH_UP_JOB, attempts=3, retry_delay=30.0, timeout=300.0)
async def catch_up_job(ctx: dict[str, Any]) -> str:
    settings: Settings = ctx["settings"]
    read = 0
    while True:
        # one short transaction per batch, never one over the whole backlog
        async with unit_of_work(Scope.system(), engine=get_engine(settings.db.url)) as session:
            n = await catch_up(session, limit=REBUILD_BATCH, lock=True)
        read += n
        if n < REBUILD_BATCH:
            return f"folded {read} events"


periodic(CATCH_UP_JOB, every=CATCH_UP_EVERY)
