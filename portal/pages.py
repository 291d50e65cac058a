"""Server-rendered portal pages: login, logout, language switch, dashboard and project page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts import service as accounts
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.feasibility import service as feasibility
from makeready.i18n import SUPPORTED, _, get_locale, set_locale
from makeready.projects import service as projects
from portal.auth import Actor, login_session, provide_user

PAGE_SIZE = 25


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
    request: Request[Any, Any, Any], next: str | None = None, expired: bool = False
) -> Template:
    """The login form."""
    message = _("Your session has expired. Please log in again.") if expired else None
    return Template("portal/login.html", context={"next": safe_next(next), "message": message, "email": ""})


@post("/login", tags=["pages"], include_in_schema=False)
async def login_submit(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    """Check the credentials; on success start a session, else show the form again with the message."""
    set_scope(db_session, Scope.system())
    email = (data.get("email") or "").strip()
    user = await accounts.authenticate(db_session, email=email, password=data.get("password") or "")
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
    login_session(request, user)
    if user.locale:
        set_locale(user.locale)
    return Redirect(safe_next(data.get("next")), status_code=303)


@post("/logout", tags=["pages"], include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session."""
    request.clear_session()
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


class PortalPages(Controller):
    """Pages for logged-in brand users and coordinators."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="dashboard")
    async def dashboard(
        self, db: AsyncSession, user: Actor, page: Annotated[int, Parameter(ge=1)] = 1
    ) -> Template:
        """Every project the caller can see, with its phase and next milestone."""
        rows, total = await projects.list_projects(db, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        today = utcnow().date()
        return Template(
            "portal/dashboard.html",
            context={
                "user": user,
                "projects": rows,
                "today": today,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "total": total,
                "locale": get_locale(),
            },
        )

    @get("/projects/{project_id:int}", name="project")
    async def project_page(self, db: AsyncSession, user: Actor, project_id: int) -> Template:
        """One project: phase, milestones with owners and due dates."""
        project = await projects.get_project(db, project_id)
        return Template(
            "portal/project.html",
            context={
                "user": user,
                "project": project,
                "today": utcnow().date(),
                "feasibility": await feasibility.brand_summary(db, project_id),
            },
        )
