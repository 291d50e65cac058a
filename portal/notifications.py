"""Notifications: the page that lists a user's notifications in their language, marking them read, and the API.

The header's bell shows the unread count that portal.auth loads once per page (`Actor.unread_notifications`).
Notifications are written by makeready.notify.service.notify() with the event they report, together with the
email the worker delivers from the outbox in the recipient's language.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.notify import inbox
from makeready.notify.service import mark_read, unread_count
from makeready.notify.service import render as notification_text
from portal.api import PROBLEMS, Limit, Offset
from portal.auth import Actor, provide_user
from portal.bounds import PageNumber
from portal.pages import safe_next
from portal.schemas_samples import MarkedRead, NotificationOut, NotificationPage

PAGE_SIZE = 30


class NotificationPages(Controller):
    """The notifications page and its two buttons."""

    path = "/notifications"
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="notifications")
    async def notifications_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        page: PageNumber = 1,
        unread: FromQuery[bool] = False,
    ) -> Template:
        """The user's notifications, newest first, each in their language and with its link."""
        found = await inbox.page_of(
            db, user=user.user, unread_only=unread, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return Template(
            "portal/notifications.html",
            context={
                "user": user,
                "items": [(n, notification_text(n)) for n in found.items],
                "total": found.total,
                "unread": found.unread,
                "only_unread": unread,
                "page": page,
                "pages": max(1, -(-found.total // PAGE_SIZE)),
            },
        )

    @post("/{notification_id:int}/read", name="notification_read")
    async def mark_one(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        notification_id: FromPath[int],
    ) -> Redirect:
        """Mark one notification read, then go back (or on to its link)."""
        form = await request.form()
        await inbox.mark_one_read(db, user=user.user, notification_id=notification_id)
        return Redirect(safe_next(form.get("next") or "/notifications"), status_code=303)

    @post("/read-all", name="notifications_read_all")
    async def mark_all(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Actor]
    ) -> Redirect:
        """Mark every notification read."""
        form = await request.form()
        await mark_read(db, user=user.user)
        return Redirect(safe_next(form.get("next") or "/notifications"), status_code=303)


# a caller's own notifications: no role or state to refuse (403 is the CSRF check of cookie callers)
NOTIFICATION_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 403, 404)}


class NotificationApi(Controller):
    """The caller's own notifications."""

    path = "/notifications"
    tags = ["notifications"]

    @get("/", responses=NOTIFICATION_PROBLEMS)
    async def list_notifications(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        unread: Annotated[bool, Parameter(description="Only the unread ones")] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> NotificationPage:
        """Your notifications, newest first, each with its text in your language; `unread` counts all unread."""
        found = await inbox.page_of(db, user=user.user, unread_only=unread, offset=offset, limit=limit)
        return NotificationPage(
            items=[NotificationOut.of(n) for n in found.items],
            total=found.total,
            unread=found.unread,
            limit=limit,
            offset=offset,
        )

    @post("/{notification_id:int}/read", status_code=200, responses=NOTIFICATION_PROBLEMS)
    async def mark_one(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], notification_id: FromPath[int]
    ) -> MarkedRead:
        """Mark one of your notifications read (another user's is a 404)."""
        marked = await inbox.mark_one_read(db, user=user.user, notification_id=notification_id)
        return MarkedRead(marked=marked, unread=await unread_count(db, user.user))

    @post("/read-all", status_code=200, responses=NOTIFICATION_PROBLEMS)
    async def mark_all(self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor]) -> MarkedRead:
        """Mark all your notifications read."""
        marked = await mark_read(db, user=user.user)
        return MarkedRead(marked=marked, unread=0)


notifications_api = Router(
    path="/api/v1",
    route_handlers=[NotificationApi],
    dependencies={"user": Provide(provide_user)},
)
