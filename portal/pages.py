"""Server-rendered portal pages: login, logout and the language switch (the dashboard and project page are in
portal.projects_pages, the submit form in portal.submit)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts import service as accounts
from makeready.db.tenancy import Scope, set_scope
from makeready.i18n import SUPPORTED, _, set_locale
from portal.auth import TooManyAttempts, attempt_login, login_session, logout_session


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our login page."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@get("/login", tags=["pages"], include_in_schema=False)
async def login_page(
    request: Request[Any, Any, Any], next: FromQuery[str | None] = None, expired: FromQuery[str | None] = None
) -> Template:
    """The login form."""
    message = None
    if expired == "password":
        message = _("Your password was changed. Please log in again.")
    elif expired:
        message = _("Your session has expired. Please log in again.")
    return Template("portal/login.html", context={"next": safe_next(next), "message": message, "email": ""})


@post("/login", tags=["pages"], include_in_schema=False)
async def login_submit(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    """Check the credentials; on success start a session, else show the form again with the message."""
    email = (data.get("email") or "").strip()
    try:
        user = await attempt_login(request, db_session, email=email, password=data.get("password") or "")
    except TooManyAttempts as refused:
        return Template(
            "portal/login.html",
            context={"next": safe_next(data.get("next")), "email": email, "error": refused.message},
            status_code=429,
            headers={"Retry-After": str(refused.retry_after)},
        )
    if user is None:
        return Template(
            "portal/login.html",
            context={
                "next": safe_next(data.get("next")),
                "email": email,
                "error": _("The email or password is not correct."),
            },
            status_code=400,
        )
    login_session(request, user, db_session)
    if user.locale:
        set_locale(user.locale)
    return Redirect(safe_next(data.get("next")), status_code=303)


@post("/logout", tags=["pages"], include_in_schema=False)
async def logout(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Redirect:
    """End the session, on the server too: a copy of the cookie no longer signs anyone in."""
    await logout_session(request, db_session)
    return Redirect("/login", status_code=303)


@post("/locale", tags=["pages"], include_in_schema=False)
async def switch_locale(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Switch the interface language; a logged-in user keeps it as their preference."""
    locale = data.get("locale", "")
    if locale in SUPPORTED:
        session = dict(request.session) if request.scope.get("session") else {}
        session["locale"] = locale
        request.set_session(session)
        if session.get("uid"):
            set_scope(db_session, Scope.system())
            await accounts.set_preferred_locale(db_session, user_id=session["uid"], locale=locale)
    return Redirect(safe_next(data.get("next")), status_code=303)
