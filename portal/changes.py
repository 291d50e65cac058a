"""Change requests for brands: raise one (what, why, which files), follow it, withdraw it; the decision log; and the
same through the API.

Raising and withdrawing go through makeready.workflow (roles, an open project, the project's own files, the audit
event, the coordinator's notification); a coordinator approves or rejects in the back office, and the outcome is
in the decision log. A refused form is shown again with the message and what was typed, with the error's status.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import OrgRole
from makeready.changes import lifecycle as change_requests
from makeready.changes import register
from makeready.decisions.listing import list_decisions
from makeready.errors import DomainError
from makeready.i18n import _
from makeready.projects.models import Project
from portal.api import PROBLEMS, Limit, Offset
from portal.auth import Actor, provide_user
from portal.samples import NOT_A_PAGE, READ_PROBLEMS, load_project
from portal.schemas import Page, Problem
from portal.schemas_samples import ChangeRequestIn, ChangeRequestOut, DecisionOut

SECTION_SIZE = 5


def raiser_note(user: Actor, project: Project) -> str:
    """Why the caller sees no form to raise a change, or "" when they may raise one."""
    if not user.is_staff and user.role_in(project.org_id) == OrgRole.viewer:
        return _("Viewers can look but not raise change requests. Ask an owner for a member role.")
    return ""


def _form_values(form: FormMultiDict | None) -> dict[str, Any]:
    if form is None:
        return {"title": "", "description": "", "reason": "", "files": set()}
    files: set[int] = set()
    for value in form.getall("attachment_ids", []):
        try:
            files.add(int(value))
        except (TypeError, ValueError):
            continue
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "reason": form.get("reason", ""),
        "files": files,
    }


async def section_context(db: AsyncSession, user: Actor, project: Project) -> dict[str, Any]:
    """What the project page's change section shows: the newest change requests and how many there are.

    The project page's handler can add `changes_section=await section_context(...)` to its context to render the
    section in place; without it, templates/portal/_changes.html loads it from its own route."""
    entries, total = await register.list_changes(db, project.id, limit=SECTION_SIZE)
    return {"project": project, "entries": entries, "total": total, "raiser_note": raiser_note(user, project)}


class ChangePages(Controller):
    """The brand's change request pages."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    async def _list_context(
        self,
        db: AsyncSession,
        user: Actor,
        project_id: int,
        *,
        form: FormMultiDict | None = None,
        error: str = "",
    ) -> dict[str, Any]:
        project = await load_project(db, project_id)
        entries, total = await register.list_changes(db, project_id, limit=200)
        return {
            "user": user,
            "project": project,
            "entries": entries,
            "total": total,
            "files": await register.project_files(db, project_id),
            "raiser_note": raiser_note(user, project),
            "form": _form_values(form),
            "error": error,
        }

    @get("/projects/{project_id:int}/changes", name="changes")
    async def changes_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The project's change requests with their status, and the form to raise one."""
        return Template("portal/changes.html", context=await self._list_context(db, user, project_id))

    @get("/projects/{project_id:int}/changes/section", name="changes_section", opt=NOT_A_PAGE)
    async def changes_section(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The change section of the project page, as an HTML fragment (loaded by gallery.js)."""
        project = await load_project(db, project_id)
        return Template(
            "portal/changes_section.html",
            context={"user": user, "section": await section_context(db, user, project)},
        )

    @post("/projects/{project_id:int}/changes", name="raise_change")
    async def raise_change(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Raise a change request: what should change, why, and which of the project's files it concerns."""
        form = await request.form()
        project = await load_project(db, project_id)  # another organization's project is a 404 here
        values = _form_values(form)
        try:
            change = await change_requests.raise_change_request(
                db,
                actor=user.user,
                project_id=project.id,
                title=values["title"],
                description=values["description"],
                reason=values["reason"],
                attachment_ids=sorted(values["files"]),
            )
        except DomainError as exc:
            if not db.is_active or db.dirty or db.new:
                raise  # refused while writing: the error page, and the transaction rolls back
            context = await self._list_context(db, user, project_id, form=form, error=exc.message)
            return Template("portal/changes.html", context=context, status_code=exc.status_code)
        return Redirect(urls.change_request(project_id, change.id), status_code=303)

    @get("/projects/{project_id:int}/changes/{change_id:int}", name="change")
    async def change_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        change_id: FromPath[int],
    ) -> Template:
        """One change request: what, why, which files, its status and the coordinator's decision."""
        project = await load_project(db, project_id)
        entry = await register.get_change(db, change_id, project_id=project_id)
        return Template(
            "portal/changes_detail.html",
            context={"user": user, "project": project, "entry": entry, "error": ""},
        )

    @post("/projects/{project_id:int}/changes/{change_id:int}/withdraw", name="withdraw_change")
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        change_id: FromPath[int],
    ) -> Template | Redirect:
        """Withdraw an open change request you raised."""
        form = await request.form()
        project = await load_project(db, project_id)
        entry = await register.get_change(db, change_id, project_id=project_id)
        try:
            await change_requests.withdraw_change_request(
                db,
                actor=user.user,
                change_id=entry.change.id,
                reason=form.get("reason", ""),
                expected_version=int(form["version"]) if (form.get("version") or "").isdigit() else None,
            )
        except DomainError as exc:
            if not db.is_active or db.dirty or db.new:
                raise
            return Template(
                "portal/changes_detail.html",
                context={"user": user, "project": project, "entry": entry, "error": exc.message},
                status_code=exc.status_code,
            )
        return Redirect(urls.change_request(project_id, change_id), status_code=303)


# --- JSON API ---------------------------------------------------------------------------------------------------

RAISE_RESPONSES = {
    **PROBLEMS,
    403: ResponseSpec(
        data_container=Problem,
        media_type="application/problem+json",
        description="A viewer: only the brand's owners and members (and coordinators) raise change requests",
        examples=[
            Example(
                value={
                    "title": "Not allowed",
                    "status": 403,
                    "detail": "Viewers can look but not change anything. Ask an owner for a member role.",
                }
            )
        ],
    ),
    409: ResponseSpec(
        data_container=Problem,
        media_type="application/problem+json",
        description="The project is closed (cancelled or delivered)",
    ),
    422: ResponseSpec(
        data_container=Problem,
        media_type="application/problem+json",
        description="A blank or too long title or description, no reason, or files that are not this project's "
        "(`field` names the input)",
        examples=[
            Example(
                value={
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "Give a reason: it is recorded with the decision.",
                    "field": "reason",
                }
            )
        ],
    ),
}


class ChangeApi(Controller):
    """Change requests and the decision log of a project."""

    path = "/projects/{project_id:int}"
    tags = ["change requests"]

    @get("/change-requests", responses=READ_PROBLEMS)
    async def list_change_requests(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ChangeRequestOut]:
        """The project's change requests, newest first, with their status and outcome."""
        entries, total = await register.list_changes(db, project_id, offset=offset, limit=limit)
        return Page(items=[ChangeRequestOut.of(e) for e in entries], total=total, limit=limit, offset=offset)

    @post("/change-requests", status_code=201, responses=RAISE_RESPONSES)
    async def raise_change_request(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[ChangeRequestIn],
    ) -> ChangeRequestOut:
        """Raise a change request; the project's coordinator is notified and decides it."""
        change = await change_requests.raise_change_request(
            db,
            actor=user.user,
            project_id=project_id,
            title=data.title,
            description=data.description,
            reason=data.reason,
            attachment_ids=data.attachment_ids,
        )
        return ChangeRequestOut.of(await register.get_change(db, change.id))

    @get("/decisions", tags=["decisions"], responses=READ_PROBLEMS)
    async def list_decisions(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[DecisionOut]:
        """The project's decision log, newest first: who did what, when, why, and what changed."""
        rows, total = await list_decisions(db, project_id, staff=user.is_staff, offset=offset, limit=limit)
        return Page(items=[DecisionOut.of(d) for d in rows], total=total, limit=limit, offset=offset)


changes_api = Router(
    path="/api/v1",
    route_handlers=[ChangeApi],
    dependencies={"user": Provide(provide_user)},
)
