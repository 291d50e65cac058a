"""The audit chain's periodic checkpoint: its head signed outside the table (see `audit.service.write_checkpoint`)."""

from __future__ import annotations

from typing import Any

from makeready.audit.service import write_checkpoint
from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.jobs.registry import job, periodic
from makeready.settings import Settings

CHECKPOINT_JOB = "audit_checkpoint"
CHECKPOINT_EVERY = 3600.0


@job(CHECKPOINT_JOB, attempts=3, retry_delay=60.0, timeout=120.0)
async def checkpoint_job(ctx: dict[str, Any]) -> str:
    settings: Settings = ctx["settings"]
    async with unit_of_work(Scope.system(), engine=get_engine(settings.db.url)) as session:
        checkpoint = await write_checkpoint(session, secret_key=settings.app.secret_key)
        return f"checkpoint at event #{checkpoint.seq}" if checkpoint else "the chain is empty"


periodic(CHECKPOINT_JOB, every=CHECKPOINT_EVERY)
