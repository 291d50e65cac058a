"""A user's notifications as their inbox: a page of them with the counts a pager and the bell need, and marking
one read. Writing and the email outbox are makeready.notify.service; a notification is only ever its own
recipient's, so another user's id is NotFound."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.errors import NotFound
from makeready.i18n import _
from makeready.notify.models import Notification
from makeready.notify.service import list_notifications, mark_read


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    total: int
    """How many match the filter."""
    unread: int


async def page_of(
    session: AsyncSession, *, user: User, unread_only: bool = False, offset: int = 0, limit: int = 50
) -> InboxPage:
    """One page, newest first; both counts come from one statement."""
    counts = (
        await session.execute(
            select(func.count(), func.count(Notification.read_at)).where(Notification.user_id == user.id)
        )
    ).one()
    total_all, read = int(counts[0]), int(counts[1])
    unread = total_all - read
    items = await list_notifications(session, user=user, unread_only=unread_only, limit=limit, offset=offset)
    return InboxPage(items=items, total=unread if unread_only else total_all, unread=unread)


async def mark_one_read(session: AsyncSession, *, user: User, notification_id: int) -> int:
    """Mark one of the user's notifications read (0 when it already was); NotFound when it is not theirs."""
    owner = await session.scalar(
        select(Notification.user_id).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if owner is None:
        raise NotFound(_("This notification does not exist or is not yours."))
    return await mark_read(session, user=user, notification_ids=[notification_id])
