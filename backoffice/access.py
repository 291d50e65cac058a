"""Who may use the coordinator pages, and what a coordinator page does when a form is refused.

Access: agency staff (users.is_staff) or agency admins (users.is_admin), signed in to the portal or to the back office
(/admin) only. The check is a Litestar guard the portal puts on every coordinator page (portal.guards, which knows
the portal's caller); the guard records the coordinator on the connection and the `staff` dependency reads them from
there, so a handler mounted without the guard refuses everyone instead of serving anyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import User
from makeready.db.types import utcnow
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.i18n import _

ADMIN_SESSION_COOKIE = "id"  # piccolo_api's session cookie (SessionsAuthBackend's default name)
STAFF_STATE = "coordinator"
"""The connection state key under which the guard leaves the admitted coordinator."""


@dataclass
class Staff:
    """The signed-in coordinator, shaped like the portal's Actor where the layout template reads it."""

    user: User
    is_staff: bool = True
    unread_notifications: int | None = None
    """For the header's bell, as the portal counted it for this request (None: not counted)."""


def may_coordinate(user: User) -> bool:
    """Staff or admin, and active: the one rule for every coordinator page."""
    return bool(user.is_active and (user.is_staff or user.is_admin))


async def backoffice_user(db: AsyncSession, token: str | None) -> User | None:
    """The active staff or admin user of an unexpired back-office session, else None (the checks piccolo-admin
    makes)."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    user = await db.scalar(
        select(User)
        .join(AdminSession, AdminSession.user_id == User.id)
        .where(
            AdminSession.token == token, AdminSession.expiry_date > now, AdminSession.max_expiry_date > now
        )
    )
    return user if user is not None and may_coordinate(user) else None


def admit(connection: ASGIConnection[Any, Any, Any, Any], staff: Staff) -> None:
    """Called by the coordinator guard once it has checked the caller."""
    connection.state[STAFF_STATE] = staff


async def provide_staff(request: ASGIConnection[Any, Any, Any, Any]) -> Staff:
    """The coordinator the guard admitted. Without the guard nobody is admitted, so nobody gets in."""
    staff = request.state.get(STAFF_STATE)
    if not isinstance(staff, Staff):
        raise NotAuthorizedException(_("Please log in to continue."))
    return staff


# -- a refused form ------------------------------------------------------------------------------------------------


@dataclass
class Failed:
    """A refused form: which one (`key`), its message, what was typed when it is worth showing again (only for
    invalid input: after a conflict the page shows the current state), the messages of single fields, and for a
    refused completion or issue what is missing."""

    key: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def at(self, key: str) -> Failed | None:
        return self if key == self.key else None


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The text a form sent (not its files, not its CSRF token), to put back into it."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


def typed_values(form: Mapping[str, Any], exc: DomainError) -> dict[str, str]:
    """What to put back into the refused form: the typed text after invalid input, nothing after a conflict."""
    return form_values(form) if isinstance(exc, ValidationFailed) else {}


def failed_form(key: str, form: Mapping[str, Any], exc: DomainError) -> Failed:
    """The refusal of the form named `key`: its message, what was typed (after invalid input) and, when the
    service listed them, what is missing."""
    return Failed(
        key=key,
        message=exc.message,
        values=typed_values(form, exc),
        missing=list(exc.extra.get("missing") or []),
    )


async def act_on_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    staff: Staff,
    *,
    key: str,
    check: Callable[[], Awaitable[Any]],
    write: Callable[[FormMultiDict], Awaitable[Any]],
    done_url: str,
    page: Callable[[Staff, Failed], Awaitable[Template]],
) -> Template | Redirect:
    """One form of a coordinator page: `check` that the page's row is the caller's to see (a NotFound stays a
    404), run `write`, and go back to `done_url` (post/redirect/get); a refusal draws the page again with its
    message at the form named `key`, nothing of the attempt kept (`refused_page`)."""
    form = await request.form()
    try:
        await check()
        await write(form)
    except NotFound:
        raise
    except DomainError as exc:
        failed = failed_form(key, form, exc)

        async def render(staff: Staff) -> Template:
            return await page(staff, failed)

        return await refused_page(db, staff, render, status_code=exc.status_code)
    return Redirect(done_url, status_code=303)


async def refused_page(
    db: AsyncSession,
    staff: Staff,
    render: Callable[[Staff], Awaitable[Template]],
    *,
    status_code: int,
) -> Template:
    """A refused form shows the page again with the message: nothing of the attempt is kept (the transaction is
    rolled back, whatever it flushed), and the page is drawn by `render` for the signed-in coordinator, reloaded
    because the rollback expired every loaded row."""
    user_id = staff.user.id  # read before the rollback expires it
    await db.rollback()
    user = await db.get(User, user_id, populate_existing=True)
    assert user is not None
    page = await render(Staff(user=user))
    page.status_code = status_code
    return page
