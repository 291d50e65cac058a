"""Queue an email to any address through the outbox, in the caller's transaction.

`makeready.notify.service.notify()` writes to users (with an in-app notification); this is for addresses that may
have no account yet, such as an invitation's. The row is delivered later by `notify.service.deliver_outbox()`,
rendered from `templates/email/<template>.*` in `locale`, so it exists exactly when the caller's change committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit.service import jsonable
from makeready.notify import email
from makeready.notify.models import EmailOutbox, OutboxStatus

PRIVATE_ENTRIES = "_secret_keys"
"""The context entry listing the values delivery blanks once the row is final."""


def without_secrets(context: Mapping[str, Any]) -> dict[str, Any] | None:
    """`context` with its secret values blanked, or None when it has none."""
    keys = context.get(PRIVATE_ENTRIES)
    if not keys:
        return None
    return {key: ("" if key in keys else value) for key, value in context.items()}


async def queue_email(
    session: AsyncSession,
    *,
    to_email: str,
    to_name: str,
    locale: str | None,
    template: str,
    context: Mapping[str, Any],
    secret: Iterable[str] = (),
) -> EmailOutbox:
    """Add one pending EmailOutbox row; nothing is sent until the delivery job picks it up.

    `secret` names context values (a link carrying a token) that the row keeps only until the email is sent or
    has failed for good: delivery blanks them, so the outbox never becomes a store of live tokens.
    """
    values = jsonable(dict(context))
    if secret:
        values[PRIVATE_ENTRIES] = sorted(set(secret))
    row = EmailOutbox(
        to_email=to_email,
        to_name=to_name,
        locale=email.recipient_locale(locale),
        template=template,
        context=values,
        status=OutboxStatus.pending,
        attempts=0,
    )
    session.add(row)
    await session.flush()
    return row
