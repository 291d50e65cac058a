"""Sample rounds for brands: the gallery pages, the approve/reject form, thumbnails and full images, and the API.

A decision goes through `makeready.workflow.decide_sample_round` (roles, state, required comment, pins of this
round, audit event, the coordinator's notification) in the request's transaction. On a page, a refused decision
shows the round again with the message and what was typed, with the error's status code (the transaction is
rolled back); on the API it is a problem document.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backoffice.form_values import form_version
from makeready.accounts.models import OrgRole
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.i18n import _
from makeready.projects.access import PROJECT_NOT_FOUND
from makeready.projects.models import Project
from makeready.samples import gallery
from makeready.samples.lifecycle import decide_sample_round
from makeready.samples.models import SampleRound
from portal.api import PROBLEMS, Limit, Offset
from portal.auth import Actor, provide_user
from portal.pages import safe_next
from portal.schemas import Page, Problem
from portal.schemas_samples import SampleDecisionIn, SampleRoundOut

# routes that are not pages: no notification bell to count for them (see portal.auth)
NOT_A_PAGE = {"bell": False}


async def load_project(db: AsyncSession, project_id: int) -> Project:
    """The project a page is about, with its organization and coordinator (NotFound across organizations): the
    portal's one loader for project pages (the core's is makeready.projects.access.load_project, without the
    relationships a page shows)."""
    project = await db.scalar(
        select(Project)
        .where(Project.id == project_id)
        .options(selectinload(Project.org), selectinload(Project.coordinator))
    )
    if project is None:
        raise NotFound(_(PROJECT_NOT_FOUND))
    return project


def decider_note(user: Actor, project: Project) -> str:
    """Why the caller sees no decision form, or "" when they may decide."""
    if user.is_staff:
        return _("Only the brand's owners and members approve or reject a sample.")
    if user.role_in(project.org_id) == OrgRole.viewer:
        return _("Viewers can look but not decide. Ask an owner for a member role.")
    return ""


def _form_values(form: FormMultiDict | None) -> dict[str, Any]:
    if form is None:
        return {"decision": "", "comment": "", "pins": set()}
    pins: set[int] = set()
    for value in form.getall("pinned_photo_ids", []):
        try:
            pins.add(int(value))
        except (TypeError, ValueError):
            continue
    return {"decision": form.get("decision", ""), "comment": form.get("comment", ""), "pins": pins}


async def section_context(db: AsyncSession, user: Actor, project: Project) -> dict[str, Any]:
    """What the project page's samples section shows: the newest round beside the one before it, and every round.

    The project page's handler can add `samples_section=await section_context(...)` to its context to render the
    section in place; without it, templates/portal/_samples.html loads the section from its own route."""
    rounds, total = await gallery.list_rounds(db, project.id)
    return {
        "project": project,
        "rounds": rounds,
        "total": total,
        "comparison": gallery.latest_comparison(rounds),
        "decider_note": decider_note(user, project),
    }


class SamplePages(Controller):
    """The brand's sample pages: every round of a project, one round beside the one before it, and the decision."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    async def _round_context(
        self,
        db: AsyncSession,
        user: Actor,
        project_id: int,
        round_id: int,
        *,
        form: FormMultiDict | None = None,
        error: str = "",
        next_url: str = "",
    ) -> dict[str, Any]:
        project = await load_project(db, project_id)
        sample = await gallery.get_round(db, round_id, project_id=project_id)
        return {
            "user": user,
            "project": project,
            "sample": sample,
            "previous": await gallery.previous_round(db, sample),
            "decider_note": decider_note(user, project),
            "form": _form_values(form),
            "error": error,
            "next": next_url or f"/projects/{project_id}/samples/{round_id}",
        }

    @get("/projects/{project_id:int}/samples", name="samples")
    async def samples_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """Every sample round of the project, newest first, each with its photos."""
        project = await load_project(db, project_id)
        return Template(
            "portal/samples.html",
            context={"user": user, "section": await section_context(db, user, project), "full": True},
        )

    @get("/projects/{project_id:int}/samples/section", name="samples_section", opt=NOT_A_PAGE)
    async def samples_section(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The samples section of the project page, as an HTML fragment (loaded by gallery.js)."""
        project = await load_project(db, project_id)
        return Template(
            "portal/samples_section.html",
            context={"user": user, "section": await section_context(db, user, project), "full": False},
        )

    @get("/projects/{project_id:int}/samples/{round_id:int}", name="sample_round")
    async def round_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        round_id: FromPath[int],
    ) -> Template:
        """One round's photos and notes beside the round before it, and the decision form while it awaits one."""
        context = await self._round_context(db, user, project_id, round_id)
        return Template("portal/samples_round.html", context=context)

    @post("/projects/{project_id:int}/samples/{round_id:int}/decision", name="sample_decision")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        round_id: FromPath[int],
    ) -> Template | Redirect:
        """Approve or reject a received round (a comment is required to reject), pinned to photos if chosen."""
        form = await request.form()
        next_url = safe_next(form.get("next") or f"/projects/{project_id}/samples/{round_id}")
        # the round must be this project's: another project's (or organization's) round is a 404 here
        sample = await gallery.get_round(db, round_id, project_id=project_id)
        values = _form_values(form)
        try:
            if values["decision"] not in ("approve", "reject"):
                raise ValidationFailed(_("Choose approve or reject."), field="decision")
            await decide_sample_round(
                db,
                actor=user.user,
                round_id=sample.id,
                decision=values["decision"],
                comment=values["comment"],
                pinned_photo_ids=sorted(values["pins"]),
                expected_version=form_version(form),
            )
        except DomainError as exc:
            if not db.is_active or db.dirty or db.new:
                raise  # refused while writing (a concurrent change): the error page, and the transaction rolls back
            # refused before anything changed: the round again, with the message and what was typed
            context = await self._round_context(
                db, user, project_id, round_id, form=form, error=exc.message, next_url=next_url
            )
            return Template("portal/samples_round.html", context=context, status_code=exc.status_code)
        return Redirect(next_url, status_code=303)


def _photo_headers() -> dict[str, str]:
    return {
        "cache-control": "private, max-age=86400",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
    }


# Litestar controllers take no `responses`: each handler names the problems it can answer with
READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 404)}


class SamplePhotoRoutes(Controller):
    """A sample photo's thumbnail and full image, for the gallery and for API clients (same authentication)."""

    path = "/samples/photos"
    tags = ["samples"]
    dependencies = {"user": Provide(provide_user)}

    @get(
        "/{photo_id:int}/thumbnail",
        media_type="image/jpeg",
        opt=NOT_A_PAGE,
        responses=READ_PROBLEMS,
        response_description="A JPEG of at most 480x480 pixels, made from the photo on first use",
    )
    async def thumbnail(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], photo_id: FromPath[int]
    ) -> Response[bytes]:
        """The photo's thumbnail."""
        photo = await gallery.get_photo(db, photo_id)
        return Response(
            content=await gallery.thumbnail(photo),
            media_type=gallery.THUMBNAIL_TYPE,
            headers=_photo_headers(),
        )

    @get(
        "/{photo_id:int}/image",
        status_code=302,
        opt=NOT_A_PAGE,
        responses=READ_PROBLEMS,
        response_description="Redirect to a short-lived link that shows the full image",
    )
    async def image(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], photo_id: FromPath[int]
    ) -> Redirect:
        """The full image: a redirect to a short-lived link."""
        photo = await gallery.get_photo(db, photo_id)
        return Redirect(gallery.image_url(photo), status_code=302, headers={"cache-control": "no-store"})


# --- JSON API ---------------------------------------------------------------------------------------------------

DECISION_RESPONSES = {
    **PROBLEMS,
    403: ResponseSpec(
        data_container=Problem,
        media_type="application/problem+json",
        description="A viewer, or a coordinator: only the brand's owners and members decide",
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
        description="The round is not awaiting a decision (`current_state` says where it is), or the version "
        "sent is stale (`current_version`)",
        examples=[
            Example(
                value={
                    "title": "Conflict",
                    "status": 409,
                    "detail": "A sample round can be approved or rejected once it is received; this one is Approved.",
                    "current_state": "approved",
                }
            )
        ],
    ),
    422: ResponseSpec(
        data_container=Problem,
        media_type="application/problem+json",
        description="A rejection without a comment, or pinned photos that are not photos of this round "
        "(`field` names the input)",
        examples=[
            Example(
                value={
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "Write a comment that says what is wrong: it is recorded with the decision.",
                    "field": "comment",
                }
            )
        ],
    ),
}


class SampleApi(Controller):
    """Sample rounds and the brand's decision on them."""

    path = "/"
    tags = ["samples"]

    @get("/projects/{project_id:int}/samples", responses=READ_PROBLEMS)
    async def list_samples(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[SampleRoundOut]:
        """The project's sample rounds, newest first, with their photos and decisions."""
        rows, total = await gallery.list_rounds(db, project_id, offset=offset, limit=limit)
        return Page(items=[SampleRoundOut.of(s) for s in rows], total=total, limit=limit, offset=offset)

    @post("/samples/{round_id:int}/decision", status_code=200, responses=DECISION_RESPONSES)
    async def decide(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        round_id: FromPath[int],
        data: JSONBody[SampleDecisionIn],
    ) -> SampleRoundOut:
        """Approve or reject a received round; rejecting needs a comment. The coordinator is notified."""
        sample: SampleRound = await decide_sample_round(
            db,
            actor=user.user,
            round_id=round_id,
            decision=data.decision,
            comment=data.comment,
            pinned_photo_ids=data.pinned_photo_ids,
            expected_version=data.version,
        )
        return SampleRoundOut.of(await gallery.get_round(db, sample.id))


samples_api = Router(
    path="/api/v1",
    route_handlers=[SampleApi],
    dependencies={"user": Provide(provide_user)},
)
