"""Submit a product: /projects/new.

The form is server-rendered and complete without JavaScript: POST /projects/new validates every field, creates the
project through `makeready.projects.service.create_project` (feasibility, the standard milestones, the audit event)
and continues to the project page, where design files are added. Bad input shows the form again with a message
per field and writes nothing.

Files go straight to storage, so they need a project to belong to (keys live under its organization, completion
checks the project): the project is created first, then files are attached to it. portal/static/upload.js does
both from the one form: it posts the fields with `Accept: application/json` (201 with the project's id, or 422
with the messages per field, nothing written), then uploads every chosen file through the files API with a
progress bar each and reports, by file name, any file that fails verification (the server has already removed it).
Nothing can be orphaned: a file exists only once it is verified and attached to the project, and a project whose
uploads failed is a project without files yet, complete on its own, to which files can be added on its page.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import Organization
from makeready.db.types import utcnow
from makeready.errors import ValidationFailed
from makeready.i18n import N_, _
from makeready.projects import service as projects
from portal.auth import Actor, provide_user
from portal.guards import caller
from portal.projects_pages import WRITERS, can_submit

FIELDS = (
    "name",
    "category",
    "description",
    "materials_notes",
    "target_quantity",
    "target_unit_price",
    "currency",
    "target_date",
)
LIMITS = {"name": 200, "category": 100, "description": 10_000, "materials_notes": 10_000}
TOO_LONG = {
    "category": N_("The category can be at most %(limit)s characters long."),
    "description": N_("The description can be at most %(limit)s characters long."),
    "materials_notes": N_("The materials and finish notes can be at most %(limit)s characters long."),
}
CURRENCIES = ("USD", "EUR", "GBP", "CNY", "JPY", "AUD", "CAD", "CHF", "SEK", "DKK", "NOK", "HKD")
VIEWER_REFUSED = N_(
    "Viewers can look but not submit products. Ask an owner of your organization for a member role."
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def submitters_only(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Staff, and owners or members of at least one organization; a viewer is told why, before the form is drawn
    or anything sent is read."""
    user = await caller(connection)
    if user is None:
        raise NotAuthorizedException(_("Please log in to continue."))
    if not can_submit(user):
        raise PermissionDeniedException(_(VIEWER_REFUSED))


async def writable_orgs(db: AsyncSession, user: Actor) -> list[Organization]:
    """The organizations the caller may submit a product for: every client for staff, else those where the caller
    is an owner or a member (submitters_only has let in only callers with at least one)."""
    query = select(Organization).order_by(Organization.name)
    if not user.is_staff:
        ids = sorted(m.org_id for m in user.memberships if m.role in WRITERS)
        query = query.where(Organization.id.in_(ids))
    return list((await db.scalars(query)).all())


def clean(values: dict[str, str], *, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The project fields, and a message per field that is not valid (every one of them, not just the first)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in FIELDS:
        value = values.get(key, "")
        if key in TOO_LONG and len(value) > LIMITS[key]:
            errors[key] = _(TOO_LONG[key]) % {"limit": LIMITS[key]}
            continue
        try:
            cleaned.update(projects.clean_project_fields({key: value}))
        except ValidationFailed as exc:
            errors[key] = exc.message
    target = cleaned.get("target_date")
    if "target_date" not in errors and isinstance(target, date) and target <= today:
        errors["target_date"] = _("The target date must be in the future.")
    return cleaned, errors


def wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


class SubmitPages(Controller):
    """GET shows the form, POST creates the project."""

    path = "/projects/new"
    include_in_schema = False
    guards = [submitters_only]
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="submit_product")
    async def form(self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor]) -> Template:
        """The empty form."""
        orgs = await writable_orgs(db, user)
        return self._form(user, orgs, values={"currency": "USD"}, errors={})

    @post("/", name="submit_product_post")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Form,
    ) -> Template | Redirect | Response[Any]:
        """Create the project, or show the form again with a message per field."""
        orgs = await writable_orgs(db, user)
        values = {key: (data.get(key) or "").strip() for key in (*FIELDS, "org_id")}
        cleaned, errors = clean(values, today=utcnow().date())
        org_id = self._org(values["org_id"], orgs)
        if org_id is None:
            errors["org_id"] = _("Choose the organization the product is for.")
        if errors:
            if wants_json(request):
                return Response(
                    {"detail": _("Some fields need your attention."), "errors": errors},
                    status_code=422,
                    media_type=MediaType.JSON,
                )
            return self._form(user, orgs, values=values, errors=errors, status_code=400)
        assert org_id is not None
        project = await projects.create_project(db, actor=user.user, org_id=org_id, data=cleaned)
        url = urls.project(project.id)
        if wants_json(request):
            return Response(
                {"id": project.id, "url": url, "files_url": f"/api/v1/projects/{project.id}/files"},
                status_code=201,
                media_type=MediaType.JSON,
            )
        return Redirect(f"{url}?submitted=1#files", status_code=303)

    @staticmethod
    def _org(value: str, orgs: list[Organization]) -> int | None:
        if not value and len(orgs) == 1:
            return orgs[0].id
        return next((o.id for o in orgs if str(o.id) == value), None)

    @staticmethod
    def _form(
        user: Actor,
        orgs: list[Organization],
        *,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        return Template(
            "portal/submit.html",
            context={
                "user": user,
                "orgs": orgs,
                "values": values,
                "errors": errors,
                "currencies": CURRENCIES,
            },
            status_code=status_code,
        )
