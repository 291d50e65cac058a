"""Who is calling: session cookie or bearer token, resolved once per request, and the tenancy scope it implies."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts import service as accounts
from makeready.accounts import sessions, throttle
from makeready.accounts.models import Membership, OrgRole, User
from makeready.billing.gating import BillingNotice, notices_for
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope, set_scope
from makeready.i18n import SUPPORTED, _, set_locale
from makeready.notify import service as notify
from makeready.settings import get_settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"


def clock() -> float:
    """Seconds since the epoch; tests replace it to age a session without waiting."""
    return time.time()


class SessionExpired(NotAuthorizedException):
    """The portal session is older than SESSION_HOURS, or older than the user's password."""

    reason = "1"
    """What the login page says: "1" the session's age, "password" a changed password."""


class PasswordChanged(SessionExpired):
    reason = "password"


@dataclass
class Actor:
    """The authenticated caller with their memberships; `scope` is what the data layer filters by."""

    user: User
    memberships: list[Membership] = field(default_factory=list)
    via_token: bool = False
    unread_notifications: int | None = None
    """For the header's bell on pages; None on the API and on routes that draw no page."""
    billing_notices: list[BillingNotice] = field(default_factory=list)
    """Banners about the organizations' billing (past due, read-only), on pages only, when billing is on."""

    @property
    def scope(self) -> Scope:
        return accounts.scope_for(self.user, self.memberships)

    @property
    def is_staff(self) -> bool:
        return self.user.is_staff

    def role_in(self, org_id: int) -> OrgRole | None:
        return next((m.role for m in self.memberships if m.org_id == org_id), None)

    @property
    def primary_org_id(self) -> int | None:
        return self.memberships[0].org_id if self.memberships else None


def login_session(request: Request, user: User, db: AsyncSession) -> None:
    """Start a portal session: a `portal_sessions` row (committed with the request) named by the cookie's `sid`.
    Any session the browser had before is replaced (a fresh id at each login: no session fixation)."""
    request.set_session(
        {
            "uid": user.id,
            "sid": sessions.start(db, user_id=user.id),
            "iat": int(clock()),
            "pw": accounts.password_mark(user),
            "locale": user.locale or _current_locale(request),
        }
    )


class TooManyAttempts(Exception):
    """The login is refused before checking the password: too many failures for the account or the address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return _("Too many failed logins. Try again in %(seconds)d seconds.") % {"seconds": self.retry_after}


def client_address(request: Request) -> str:
    """The caller's address (uvicorn puts the X-Forwarded-For address here when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"


async def attempt_login(request: Request, db: AsyncSession, *, email: str, password: str) -> User | None:
    """The user these credentials name, or None, under the brute-force limits of makeready.accounts.throttle:
    raises TooManyAttempts while the account or the address is blocked, without checking the password.

    A failure is counted in a transaction of its own, committed whatever the request's transaction does (a failed
    login answers 400, which rolls the request's transaction back)."""
    set_scope(db, Scope.system())
    address, now = client_address(request), datetime.fromtimestamp(clock(), UTC)
    wait = await throttle.wait_seconds(db, email=email, address=address, now=now)
    if wait:
        raise TooManyAttempts(wait)
    user = await accounts.authenticate(db, email=email, password=password)
    if user is None:
        await db.rollback()
        async with unit_of_work(Scope.system(), engine=cast(AsyncEngine, db.bind)) as counting:
            await throttle.record_failure(counting, email=email, address=address, now=now)
        return None
    await throttle.record_success(db, email=email)
    # a good moment to forget the user's sessions that have expired anyway
    hours = get_settings().app.session_hours
    await sessions.forget_expired(db, user_id=user.id, older_than=now - timedelta(hours=hours))
    return user


async def logout_session(request: Request, db: AsyncSession) -> None:
    """End this browser's session on the server too, so a copy of the cookie is worth nothing."""
    session = request.session if request.scope.get("session") else {}
    if session.get("sid"):
        set_scope(db, Scope.system())
        await sessions.end(db, session_id=str(session["sid"]))
    request.clear_session()


def _current_locale(request: Request) -> str | None:
    value = request.session.get("locale") if request.scope.get("session") else None
    return value if value in SUPPORTED else None


async def _resolve(request: Request, db: AsyncSession) -> Actor | None:
    set_scope(db, Scope.system())  # identity lookups read the users table itself
    header = request.headers.get("authorization", "")
    user: User | None = None
    memberships: list[Membership] | None = None
    unread: int | None = None
    via_token = False
    if header:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(_("Use an Authorization header of the form: Bearer <token>."))
        user = await accounts.user_for_token(db, token.strip())
        if user is None:
            raise NotAuthorizedException(_("This API token is not valid or has been revoked."))
        via_token = True
        if user.locale:
            set_locale(user.locale)
    else:
        session = request.session if request.scope.get("session") else {}
        uid = session.get("uid")
        if uid is not None:
            if int(session.get("iat", 0)) + get_settings().app.session_hours * 3600 < clock():
                request.clear_session()
                raise SessionExpired(_("Your session has expired. Please log in again."))
            sid, user_id = str(session.get("sid") or ""), int(uid)
            if _draws_page(request):
                # the header's bell: the unread count read by the same statement as the user
                found = await sessions.user_for_with(
                    db, session_id=sid, user_id=user_id, column=notify.unread_count_of_user()
                )
                user, unread = found if found is not None else (None, None)
            else:
                user = await sessions.user_for(db, session_id=sid, user_id=user_id)
            if user is not None:
                # loaded with the user (one statement fewer per request), in memberships_of's order
                memberships = sorted(user.memberships, key=lambda m: m.id)
            if user is None:
                # logged out, signed out by a password change or an admin, or deactivated: the cookie is dead
                request.clear_session()
                stale = await db.scalar(select(User).where(User.id == uid, User.is_active))
                if stale is not None and session.get("pw", "") != accounts.password_mark(stale):
                    # started before the password changed: another browser, or a stolen cookie
                    raise PasswordChanged(_("Your password was changed. Please log in again."))
                if stale is not None:
                    raise SessionExpired(_("Your session has expired. Please log in again."))
            if (
                user is not None
                and request.method not in SAFE_METHODS
                and request.url.path.startswith("/api/")
            ):
                # cookie-authenticated API writes need the CSRF double-submit header; bearer tokens do not
                cookie, sent = request.cookies.get(CSRF_COOKIE, ""), request.headers.get(CSRF_HEADER, "")
                if not (cookie and sent and secrets.compare_digest(cookie, sent)):
                    raise PermissionDeniedException(_("The CSRF token is missing or does not match."))
    if user is None:
        set_scope(db, Scope.anonymous())
        return None
    if memberships is None:
        memberships = await accounts.memberships_of(db, user.id)
    actor = Actor(user=user, memberships=memberships, via_token=via_token)
    set_scope(db, actor.scope)
    if _draws_page(request):
        actor.unread_notifications = unread if unread is not None else await notify.unread_count(db, user)
        actor.billing_notices = await notices_for(
            db,
            owner_org_ids={m.org_id for m in memberships if m.role == OrgRole.owner},
            member_org_ids={m.org_id for m in memberships},
        )
    return actor


def _draws_page(request: Request) -> bool:
    """A GET that renders a page with the header (not the API, and not a route marked `opt={"bell": False}`:
    images, fragments)."""
    return (
        request.method == "GET"
        and not request.url.path.startswith("/api/")
        and request.route_handler.opt.get("bell", True)
    )


ACTOR_STATE = "actor"
"""The connection state key holding the resolved caller, so guards and the `actor` dependency resolve it once."""


async def current_actor(connection: ASGIConnection[Any, Any, Any, Any], db: AsyncSession) -> Actor | None:
    """The caller, or None when anonymous, resolved once per request. Sets the session's tenancy scope."""
    if ACTOR_STATE not in connection.state:
        connection.state[ACTOR_STATE] = await _resolve(connection, db)  # type: ignore[arg-type]
    actor: Actor | None = connection.state[ACTOR_STATE]
    return actor


def forget_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Resolve the caller again on next use (a session was just started)."""
    connection.state.pop(ACTOR_STATE, None)


async def provide_actor(request: Request, db_session: NamedDependency[AsyncSession]) -> Actor | None:
    """The caller, or None when anonymous. Sets the session's tenancy scope as a side effect."""
    return await current_actor(request, db_session)


async def provide_user(actor: NamedDependency[Actor | None]) -> Actor:
    """The caller, who must be logged in."""
    if actor is None:
        raise NotAuthorizedException(_("Please log in to continue."))
    return actor


async def provide_db(
    db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor | None]
) -> AsyncSession:
    """The request's database session, with the caller's tenancy scope already set."""
    return db_session
