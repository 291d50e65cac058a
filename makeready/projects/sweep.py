"""The sweep of abandoned uploads: objects in storage that no row points at, older than a day, are removed.

A presigned upload that was never completed (the browser closed, the completion refused before the object could
be deleted, a crash between the copy and the row) leaves an object nobody can reach. The periodic job lists the
bucket or media folder a page at a time, asks the key owners (`projects.files.keys_in_use`: attachments, sample
photo thumbnails, spec PDFs) in one short transaction per page which keys are stored files, and deletes the rest in
one batch per page. Only keys we generate for uploads (`storage.keys.parse_key`) are ever considered, and only when
older than `ABANDONED_AFTER`, so an upload in progress or a file being recorded right now is never touched.
Partial uploads (local `.incoming` files, S3 multipart uploads) older than that are discarded too, and cache objects
(`storage.keys.is_cache_key`: rendered documents, made again on request) not written for `CACHE_KEPT` are evicted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.jobs.registry import job, periodic
from makeready.projects.files import keys_in_use
from makeready.settings import Settings
from makeready.storage import Storage, get_storage
from makeready.storage.keys import is_cache_key, parse_key

log = logging.getLogger("makeready.storage")

SWEEP_JOB = "sweep_abandoned_uploads"
SWEEP_EVERY = 6 * 3600.0
ABANDONED_AFTER = timedelta(days=1)
CACHE_KEPT = timedelta(days=30)
PAGE_SIZE = 500
PREFIX = "org/"


@dataclass
class SweepReport:
    listed: int = 0
    deleted: list[str] | None = None
    partials: int = 0
    evicted: int = 0
    """Cache objects older than CACHE_KEPT removed."""

    def __post_init__(self) -> None:
        if self.deleted is None:
            self.deleted = []


async def sweep_abandoned_uploads(
    engine: AsyncEngine,
    storage: Storage,
    *,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> SweepReport:
    """Remove the objects no row points at that are older than ABANDONED_AFTER, and the cache objects older than
    CACHE_KEPT, a page at a time."""
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    cache_cutoff = (now or utcnow()) - CACHE_KEPT
    report = SweepReport()
    deleted: list[str] = []
    async for page in storage.list_objects(PREFIX, page_size=page_size):
        report.listed += len(page)
        stale = [item.key for item in page if item.modified < cache_cutoff and is_cache_key(item.key)]
        if stale:
            await storage.delete_many(stale)
            report.evicted += len(stale)
        candidates = [item.key for item in page if item.modified < cutoff and parse_key(item.key) is not None]
        if not candidates:
            continue
        async with unit_of_work(Scope.system(), engine=engine) as session:
            stored = await keys_in_use(session, candidates)
        orphans = [key for key in candidates if key not in stored]
        if orphans:
            await storage.delete_many(orphans)
            deleted.extend(orphans)
    report.deleted = deleted
    report.partials = await storage.remove_partial_uploads(cutoff)
    return report


@job(SWEEP_JOB, attempts=2, retry_delay=300.0, timeout=1800.0)
async def sweep_job(ctx: dict[str, Any]) -> str:
    settings: Settings = ctx["settings"]
    report = await sweep_abandoned_uploads(get_engine(settings.db.url), get_storage())
    if report.deleted or report.partials or report.evicted:
        log.info(
            "abandoned uploads removed: %d object(s), %d partial upload(s); %d cache object(s) evicted",
            len(report.deleted or []),
            report.partials,
            report.evicted,
        )
    return (
        f"listed {report.listed}, deleted {len(report.deleted or [])}, partial uploads {report.partials},"
        f" cache evicted {report.evicted}"
    )


periodic(SWEEP_JOB, every=SWEEP_EVERY)
