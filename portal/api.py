"""The JSON API under /api/v1 for brands (bearer token or session cookie)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, Parameter
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.db.types import utcnow
from makeready.errors import ValidationFailed
from makeready.i18n import _
from makeready.projects import service as projects
from makeready.workflow import projects as project_workflow
from portal.auth import Actor, provide_user
from portal.bounds import Offset as Offset  # the lists of other modules import it from here
from portal.schemas import GoAheadIn, MilestoneOut, Page, Problem, ProjectCreate, ProjectOut, ProjectPatch

PROBLEMS = {
    code: ResponseSpec(data_container=Problem, description=desc, media_type="application/problem+json")
    for code, desc in {
        400: "Bad request",
        401: "Not authenticated",
        403: "Not allowed for this role",
        404: "Not found, or another organization's",
        409: "Stale version or wrong state",
        422: "Invalid input",
    }.items()
}

# writes an organization cannot make while its billing has stopped (makeready.billing.gating)
WRITE_PROBLEMS = {
    **PROBLEMS,
    402: ResponseSpec(
        data_container=Problem,
        description="The organization's subscription is unpaid beyond its grace period: the portal is read-only",
        media_type="application/problem+json",
    ),
}

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size")]

Row = TypeVar("Row")
Out = TypeVar("Out")


async def page_of(
    db: AsyncSession,
    query: Select[Row],
    out: Callable[[Row], Out],
    *,
    limit: int,
    offset: int,
) -> Page[Out]:
    """One page of the query's rows (already ordered) and their total: two statements."""
    total = await db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows: Sequence[Row] = (await db.scalars(query.offset(offset).limit(limit))).all()
    return Page(items=[out(row) for row in rows], total=int(total), limit=limit, offset=offset)


class ProjectController(Controller):
    """Projects of the caller's organizations."""

    path = "/projects"
    tags = ["projects"]

    @get("/", responses=PROBLEMS)
    async def list_projects(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ProjectOut]:
        """List projects, newest first."""
        # ProjectOut shows the projects' own columns: neither their organization nor their next milestone
        rows, total = await projects.list_projects(db, offset=offset, limit=limit, with_plan=False)
        return Page(items=[ProjectOut.of(p) for p in rows], total=total, limit=limit, offset=offset)

    @post("/", responses=WRITE_PROBLEMS)
    async def create_project(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], data: JSONBody[ProjectCreate]
    ) -> ProjectOut:
        """Submit a new product; it starts in feasibility with the standard milestones."""
        org_ids = {m.org_id for m in user.memberships}
        org_id = data.org_id
        if org_id is None:
            if len(org_ids) != 1:
                raise ValidationFailed(
                    _("Say which organization the project is for (org_id)."), field="org_id"
                )
            org_id = next(iter(org_ids))
        fields = msgspec.structs.asdict(data)
        fields.pop("org_id")
        project = await projects.create_project(db, actor=user.user, org_id=org_id, data=fields)
        return ProjectOut.of(await projects.get_project(db, project.id))

    @get("/{project_id:int}", responses=PROBLEMS)
    async def get_project(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> ProjectOut:
        """One project."""
        return ProjectOut.of(await projects.get_project(db, project_id))

    @patch(
        "/{project_id:int}",
        responses={
            **PROBLEMS,
            409: ResponseSpec(
                data_container=Problem,
                media_type="application/problem+json",
                description="The version sent is stale; `current_version` carries the current one",
                examples=[
                    Example(value={"title": "Conflict", "status": 409, "detail": "...", "current_version": 4})
                ],
            ),
        },
    )
    async def update_project(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[ProjectPatch],
    ) -> ProjectOut:
        """Change project fields; `version` must be the one you read."""
        changes = {
            k: v for k, v in msgspec.structs.asdict(data).items() if k != "version" and v is not msgspec.UNSET
        }
        project = await projects.update_project(
            db, actor=user.user, project_id=project_id, expected_version=data.version, changes=changes
        )
        return ProjectOut.of(project)

    @post("/{project_id:int}/go-ahead", responses=WRITE_PROBLEMS, status_code=200)
    async def give_go_ahead(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[GoAheadIn | None] = None,
    ) -> ProjectOut:
        """The brand's go-ahead for development, once the feasibility review is complete (owners and members).

        Recorded in the decision log with its reason, and the coordinator is told. Refused with 409 before the
        review is complete, when it was already given, outside feasibility or with a stale `version`.
        """
        data = data or GoAheadIn()
        project = await project_workflow.give_go_ahead(
            db, actor=user.user, project_id=project_id, reason=data.reason, expected_version=data.version
        )
        await db.refresh(project)
        return ProjectOut.of(project)

    @get("/{project_id:int}/milestones", responses=PROBLEMS)
    async def list_milestones(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> list[MilestoneOut]:
        """The project's milestones in plan order."""
        today = utcnow().date()
        return [MilestoneOut.of(m, today) for m in await projects.list_milestones(db, project_id)]


api_router = Router(
    path="/api/v1",
    route_handlers=[ProjectController],
    dependencies={"user": Provide(provide_user)},
)
