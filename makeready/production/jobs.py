"""Production's background job: the hourly pass that raises and clears its conditions (makeready.production.
conditions), one short transaction per batch of orders. Ladder steps are taken by the escalation pass, which steps
every kind's conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.jobs.registry import job, periodic
from makeready.production.conditions import BATCH, PassReport, run_production_checks
from makeready.settings import Settings

CHECK_EVERY = 3600.0


@job("run_production_checks", attempts=3, retry_delay=60.0, timeout=600.0)
async def production_checks_job(ctx: dict[str, Any], *, now: str | None = None) -> str:
    settings: Settings = ctx["settings"]
    moment = datetime.fromisoformat(now) if now else utcnow()
    engine = get_engine(settings.db.url)
    total = PassReport()
    after_id = 0
    while True:
        async with unit_of_work(Scope.system(), engine=engine) as session:
            report = await run_production_checks(session, now=moment, after_id=after_id, limit=BATCH)
        total.add(report)
        if report.last_id is None:
            break
        after_id = report.last_id
    return f"raised {len(total.raised)}, resolved {len(total.resolved)}"


periodic("run_production_checks", every=CHECK_EVERY)
