"""The periodic shortage pass: every running production order's shortages raised or cleared, in batches of
orders with one short transaction each (never one transaction over the agency). Safe to run any number of times:
a condition is raised once per kind and lot."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.jobs.registry import job, periodic
from makeready.materials.shortages import ShortageReport, evaluate_order
from makeready.materials.supply import SUPPLY_ORDER
from makeready.production.models import ProductionOrder
from makeready.settings import Settings

log = logging.getLogger("makeready.materials")

SHORTAGE_EVERY = 3600.0
"""Seconds between two shortage passes (order-by dates and need dates pass by the day)."""
BATCH = 50
"""Orders one transaction looks at."""
CONCURRENT_RETRIES = 3


async def run_shortage_batch(
    session: AsyncSession, *, today: date, after_id: int = 0, limit: int = BATCH
) -> tuple[ShortageReport, int | None]:
    """One batch: the running orders with an id above `after_id`; returns the report and the last id (None: done)."""
    orders = list(
        (
            await session.scalars(
                select(ProductionOrder)
                .where(ProductionOrder.id > after_id, ProductionOrder.status.in_(SUPPLY_ORDER))
                .order_by(ProductionOrder.id)
                .limit(limit)
            )
        ).all()
    )
    report = ShortageReport()
    for order in orders:
        found = await evaluate_order(session, order, today=today)
        report.raised += found.raised
        report.resolved += found.resolved
    return report, (orders[-1].id if len(orders) == limit else None)


async def run_shortages(engine: AsyncEngine, *, today: date, batch: int = BATCH) -> ShortageReport:
    total = ShortageReport()
    after_id = 0
    while True:
        for attempt in range(1, CONCURRENT_RETRIES + 1):
            try:
                async with unit_of_work(Scope.system(), engine=engine) as session:
                    report, last = await run_shortage_batch(
                        session, today=today, after_id=after_id, limit=batch
                    )
                break
            except (StaleDataError, Conflict):
                if attempt == CONCURRENT_RETRIES:
                    raise
                log.info("shortage pass met a concurrent pass; running the batch again")
        total.raised += report.raised
        total.resolved += report.resolved
        if last is None:
            return total
        after_id = last


@job("run_shortages", attempts=3, retry_delay=60.0, timeout=600.0)
async def shortage_job(ctx: dict[str, Any], *, today: str | None = None) -> str:
    settings: Settings = ctx["settings"]
    day = date.fromisoformat(today) if today else utcnow().date()
    report = await run_shortages(get_engine(settings.db.url), today=day)
    return f"raised {len(report.raised)}, resolved {len(report.resolved)}"


periodic("run_shortages", every=SHORTAGE_EVERY)
