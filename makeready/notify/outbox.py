"""Queue an email to any address through the outbox, in the caller's transaction.

`makeready.notify.service.notify()` writes to users (with an in-app notification); this is for addresses that may
have no account yet, such as an invitation's. The row is delivered later by `notify.service.deliver_outbox()`,
rendered from `templates/email/<template>.*` in `locale`, so it exists exactly when the caller's change committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit.service import jsonable
from makeready.notify import email
from makeready.notify.models import EmailOutbox, OutboxStatus


async def queue_email(
    session: AsyncSession,
    *,
    to_email: str,
    to_name: str,
    locale: str | None,
    template: str,
    context: Mapping[str, Any],
) -> EmailOutbox:
    """Add one pending EmailOutbox row; nothing is sent until the delivery job picks it up."""
    row = EmailOutbox(
        to_email=to_email,
        to_name=to_name,
        locale=email.recipient_locale(locale),
        template=template,
        context=jsonable(dict(context)),
        status=OutboxStatus.pending,
        attempts=0,
    )
    session.add(row)
    await session.flush()
    return row
