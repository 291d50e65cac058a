"""Notification jobs: sending one email, and delivering the outbox every half minute."""

from __future__ import annotations

from typing import Any

from makeready.db.session import get_engine, make_sessionmaker
from makeready.jobs.registry import PermanentJobError, job, periodic
from makeready.notify import email
from makeready.notify.service import deliver_outbox
from makeready.settings import Settings

OUTBOX_EVERY = 30.0
"""Seconds between two outbox deliveries."""


@job("send_email", attempts=5, retry_delay=30.0, timeout=120.0)
async def send_email(
    ctx: dict[str, Any],
    *,
    to: str,
    template: str,
    context: dict[str, Any] | None = None,
    locale: str | None = None,
    to_name: str = "",
) -> str:
    """Render `templates/email/<template>.*` in the recipient's locale and deliver it (SMTP or the outbox)."""
    settings: Settings = ctx["settings"]
    try:
        delivery = await email.send(
            to=to, to_name=to_name, template=template, context=context or {}, locale=locale, settings=settings
        )
    except email.EmailRejected as exc:
        raise PermanentJobError(str(exc)) from exc
    return delivery.describe()


@job("deliver_outbox", attempts=1, timeout=600.0)
async def outbox_job(ctx: dict[str, Any]) -> str:
    """Send the pending emails of the outbox (see notify.service.deliver_outbox)."""
    settings: Settings = ctx["settings"]
    report = await deliver_outbox(make_sessionmaker(get_engine(settings.db.url)), settings)
    return f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}"


periodic("deliver_outbox", every=OUTBOX_EVERY)
