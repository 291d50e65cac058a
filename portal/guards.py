"""Litestar guards: who may reach a handler at all, checked before anything is looked up for it.

Guards run before dependencies, so they resolve the caller themselves (portal.auth.current_actor, once per request:
the `actor` dependency reuses it). Finer rules that need the record (is this user an owner of *this* organization?)
stay in the core's service functions, which every door calls.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import ADMIN_SESSION_COOKIE, Staff, admit, backoffice_user, may_coordinate
from makeready.i18n import _
from portal.auth import Actor, current_actor, forget_actor, login_session
from portal.database import request_session

Connection = ASGIConnection[Any, Any, Any, Any]


def request_db(connection: Connection) -> AsyncSession:
    """The request's database session: the one the `db_session` dependency gives handlers later (portal.database
    keeps it in the connection's scope, and commits or rolls it back when the response is sent)."""
    return request_session(connection)


async def caller(connection: Connection) -> Actor | None:
    return await current_actor(connection, request_db(connection))


async def signed_in(connection: Connection, _handler: BaseRouteHandler) -> None:
    """Anyone logged in; anonymous callers are sent to the login page (portal.errors) and come back after."""
    if await caller(connection) is None:
        raise NotAuthorizedException(_("Please log in to continue."))


async def coordinators_only(connection: Connection, _handler: BaseRouteHandler) -> None:
    """Agency staff or admins, signed in to the portal or only to the back office (/admin): a back-office session
    starts a portal session, so the portal knows them from then on. Anonymous callers go to the login page; brand
    users get 403 before any record is looked up, so the answer is the same for their own projects and others'."""
    actor = await caller(connection)
    if actor is None:
        db = request_db(connection)
        user = await backoffice_user(db, connection.cookies.get(ADMIN_SESSION_COOKIE))
        if user is None:
            raise NotAuthorizedException(_("Please log in to continue."))
        if "session" in connection.scope:
            login_session(connection, user, db)  # type: ignore[arg-type]
        forget_actor(connection)
        actor = await caller(connection)
        if actor is None:  # the cookie middleware is off for this path: no portal session to start
            raise NotAuthorizedException(_("Please log in to continue."))
    if not may_coordinate(actor.user):
        raise PermissionDeniedException(_("Only coordinators can do this."))
    admit(connection, Staff(user=actor.user, unread_notifications=actor.unread_notifications))
