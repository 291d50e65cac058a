"""Project services. Reads go through the session's tenancy scope; writes check the caller's role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload

from makeready.accounts.models import Membership, OrgRole, User
from makeready.audit import service as audit
from makeready.db.tenancy import get_scope
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel import bus, gates
from makeready.kernel.stale import STALE_MESSAGE
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project

bus.emits("project.created", "project.coordinator_assigned")

# The agency's standard plan for a new product: (phase, title, days after submission).
STANDARD_MILESTONES: list[tuple[Phase, str, int]] = [
    (Phase.feasibility, N_("Feasibility review"), 10),
    (Phase.feasibility, N_("Cost estimate and approach"), 14),
    (Phase.development, N_("Supplier selection"), 28),
    (Phase.development, N_("First sample"), 56),
    (Phase.development, N_("Spec revision approved"), 70),
    (Phase.production, N_("Production run"), 110),
    (Phase.production, N_("Final inspection"), 120),
    (Phase.production, N_("Shipment"), 130),
]

EDITABLE_FIELDS = {
    "name",
    "category",
    "description",
    "materials_notes",
    "target_quantity",
    "target_unit_price",
    "currency",
    "target_date",
}


NULLABLE_FIELDS = {"target_quantity", "target_unit_price", "target_date"}


@dataclass(frozen=True)
class ProjectInput:
    name: str
    category: str = ""
    description: str = ""
    target_quantity: int | None = None
    target_unit_price: Decimal | None = None
    currency: str = "USD"
    target_date: date | None = None


def clean_project_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise editable project fields; raise ValidationFailed naming the first bad one."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in EDITABLE_FIELDS:
            raise ValidationFailed(
                _("The field %(field)s cannot be changed here.") % {"field": key}, field=key
            )
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold it: a 500 otherwise
            raise ValidationFailed(_("%(field)s contains a NUL character.") % {"field": key}, field=key)
        if key == "name":
            value = (value or "").strip()
            if not value or len(value) > 200:
                raise ValidationFailed(_("The product needs a name of at most 200 characters."), field=key)
        elif key in {"category", "description", "materials_notes"}:
            value = (value or "").strip()
            limit = 100 if key == "category" else 10_000
            if len(value) > limit:
                raise ValidationFailed(_("%(field)s is too long.") % {"field": key}, field=key)
        elif key == "target_quantity" and value not in (None, ""):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(_("The quantity must be a whole number."), field=key) from None
            if value <= 0 or value > 100_000_000:
                raise ValidationFailed(_("The quantity must be a positive number."), field=key)
        elif key == "target_unit_price" and value not in (None, ""):
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                raise ValidationFailed(_("The unit price must be a number."), field=key) from None
            if not value.is_finite() or value < 0 or value >= Decimal("10000000000"):
                raise ValidationFailed(_("The unit price must be zero or more."), field=key)
            value = value.quantize(Decimal("0.01"))
        elif key == "currency":
            value = (value or "USD").strip().upper()
            if len(value) != 3 or not value.isalpha():
                raise ValidationFailed(_("The currency must be a three-letter code such as USD."), field=key)
        elif key == "target_date" and value not in (None, "") and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise ValidationFailed(_("The target date must be a date (YYYY-MM-DD)."), field=key) from None
        if value == "" and key in NULLABLE_FIELDS:
            value = None  # a cleared number or date; cleared text stays "" (those columns are NOT NULL)
        out[key] = value
    return out


async def role_in(session: AsyncSession, *, user: User, org_id: int) -> OrgRole | None:
    return await session.scalar(
        select(Membership.role).where(Membership.user_id == user.id, Membership.org_id == org_id)
    )


async def require_writer(session: AsyncSession, *, user: User, org_id: int) -> None:
    """Staff, owners and members may change a project; viewers may only look."""
    if user.is_staff:
        return
    role = await role_in(session, user=user, org_id=org_id)
    if role is None:
        raise NotFound(_("Not found."))
    if role == OrgRole.viewer:
        raise PermissionDenied(_("Viewers can look but not change anything. Ask an owner for a member role."))


@cache
def _is_next_open_milestone() -> ColumnElement[bool]:
    """True for a project's next open milestone: not done, and first in plan order among those not done.

    Built once: SQL expressions are immutable, and a new `aliased()` per request recomputed every column of the
    alias (about a millisecond of CPU per list page)."""
    other = aliased(Milestone)
    first_open = (
        select(func.min(other.position))
        .where(other.project_id == Milestone.project_id, other.status != MilestoneStatus.done)
        .correlate(Milestone)
        .scalar_subquery()
    )
    return and_(Milestone.status != MilestoneStatus.done, Milestone.position == first_open)


async def list_projects(
    session: AsyncSession,
    *,
    org_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
    with_plan: bool = True,
) -> tuple[list[Project], int]:
    """Projects visible to the session's scope, newest first, with their organization and next open milestone
    (`with_plan=False`: the projects' own columns only, one statement fewer, for the API's list, which shows neither),
    and their total: one statement, or two for a page past the last row.

    A list shows one milestone per project, so `project.milestones` holds only the next open one (empty when all
    are done), loaded for the whole page in one query: loading every milestone of every row was the largest
    single cost of the dashboard (bench/portal_throughput.py). For a project's whole plan use `get_project` or
    `list_milestones`, which reload it.
    """
    count, page = _list_statements(org_id is not None, with_plan, limit)
    bound = {"org_id": org_id, "first": offset}
    rows = (await session.execute(page, bound)).unique().all()
    if rows:
        return [project for project, _total in rows], int(rows[0][1])
    # past the last row (or none at all): the total did not ride along
    return [], int(await session.scalar(count, bound) or 0) if offset else 0


@lru_cache(maxsize=16)
def _list_statements(by_org: bool, with_plan: bool, limit: int) -> tuple[Any, Any]:
    """`list_projects`' page (with the total) and count (for a page past the last row), built once and bound per
    request with `org_id` and the first row (`first`): building them was about a tenth of the API list's CPU."""
    query = select(Project).where(Project.archived_at.is_(None))
    if by_org:
        query = query.where(Project.org_id == bindparam("org_id", type_=Integer))
    # counted without a subquery: wrapping the query copies every column of projects into it
    count = query.with_only_columns(func.count(), maintain_column_froms=True)
    if with_plan:
        query = query.options(
            selectinload(Project.milestones.and_(_is_next_open_milestone())),
            joinedload(Project.org),
        )
    page = (
        # the total rides along with the page's rows: one statement
        query.add_columns(func.count().over().label("total"))
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .offset(bindparam("first", type_=Integer))
        .limit(limit)
    )
    return count, page


@cache
def _project_with_plan() -> Any:
    """`get_project`'s statement, built once and bound per request with `project_id`."""
    return (
        select(Project)
        .where(Project.id == bindparam("project_id", type_=Integer))
        # the plan and the one-to-one relations joined into the project's statement: one statement instead of five
        .options(
            joinedload(Project.milestones).joinedload(Milestone.owner),
            joinedload(Project.org),
            joinedload(Project.coordinator),
        )
        # a list_projects earlier in this session left only the next milestone in the collection: reload it all
        .execution_options(populate_existing=True)
    )


async def get_project(session: AsyncSession, project_id: int) -> Project:
    project = (await session.execute(_project_with_plan(), {"project_id": project_id})).unique().scalar()
    if project is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))
    return project


async def create_project(session: AsyncSession, *, actor: User, org_id: int, data: dict[str, Any]) -> Project:
    await require_writer(session, user=actor, org_id=org_id)
    fields = clean_project_fields(data)
    # an organization that stopped paying is read-only (402), and a plan may cap its active projects (409)
    await gates.check(gates.PROJECT_CREATE, session, org_id=org_id, actor=actor)
    if "name" not in fields:
        raise ValidationFailed(_("The product needs a name of at most 200 characters."), field="name")
    project = Project(org_id=org_id, phase=Phase.feasibility, **fields)
    session.add(project)
    await session.flush()
    today = date.today()
    for position, (phase, title, days) in enumerate(STANDARD_MILESTONES):
        session.add(
            Milestone(
                org_id=org_id,
                project_id=project.id,
                phase=phase,
                title=title,
                position=position,
                due_date=today + timedelta(days=days),
                status=MilestoneStatus.planned,
            )
        )
    await audit.record(
        session,
        actor_id=actor.id,
        action="project.created",
        subject_type="project",
        subject_id=project.id,
        org_id=org_id,
        project_id=project.id,
        after={k: fields[k] for k in sorted(fields)},
    )
    # "a coordinator is notified": the workflow's triggers run every rule registered for "project.created", in
    # this transaction, for submissions from every door (portal form, API). A new project has no coordinator yet,
    # so whom to tell (and the notification kind) is the rule's to decide, in makeready.workflow.triggers.

    await bus.fire(
        session,
        bus.Event(name="project.created", actor=actor, subject=project, org_id=org_id, project_id=project.id),
    )
    return project


async def update_project(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    expected_version: int,
    changes: dict[str, Any],
    reason: str = "",
) -> Project:
    """Apply edits if the caller saw the current version; otherwise Conflict carrying the current one."""
    project = await get_project(session, project_id)
    await require_writer(session, user=actor, org_id=project.org_id)
    if project.version != expected_version:
        raise Conflict(
            _(STALE_MESSAGE) % {"subject": _("project"), "state": label(project.phase)},
            current_version=project.version,
        )
    fields = clean_project_fields(changes)
    before = {k: getattr(project, k) for k in fields if getattr(project, k) != fields[k]}
    if not before:
        return project
    for key in before:
        setattr(project, key, fields[key])
    await session.flush()  # the version column guards a concurrent writer between our read and this write
    await audit.record(
        session,
        actor_id=actor.id,
        action="project.updated",
        subject_type="project",
        subject_id=project.id,
        org_id=project.org_id,
        project_id=project.id,
        before=before,
        after={k: fields[k] for k in before},
        reason=reason,
    )
    return project


async def assign_coordinator(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    coordinator_id: int,
    expected_version: int | None = None,
) -> Project:
    """Make an active staff member the project's coordinator (a new project has none), or change who it is.

    Staff only. Recorded as `project.coordinator_assigned` (before/after ids); the new coordinator is told in the
    app and by email, unless they assigned themselves. Assigning the current coordinator again changes nothing.
    """
    if not actor.is_staff:
        raise PermissionDenied(_("Only the agency's staff can assign a project's coordinator."))
    project = await get_project(session, project_id)
    if expected_version is not None and project.version != expected_version:
        raise Conflict(
            _(STALE_MESSAGE) % {"subject": _("project"), "state": label(project.phase)},
            current_version=project.version,
        )
    coordinator = await session.scalar(
        select(User).where(User.id == coordinator_id, User.is_staff.is_(True), User.is_active.is_(True))
    )
    if coordinator is None:
        raise ValidationFailed(_("Choose one of the agency's coordinators."), field="coordinator_id")
    previous = project.coordinator_id
    if previous == coordinator.id:
        return project
    project.coordinator_id = coordinator.id
    project.coordinator = coordinator
    await session.flush()  # the version column guards a concurrent writer between our read and this write
    await audit.record(
        session,
        actor_id=actor.id,
        action="project.coordinator_assigned",
        subject_type="project",
        subject_id=project.id,
        org_id=project.org_id,
        project_id=project.id,
        before={"coordinator_id": previous},
        after={"coordinator_id": coordinator.id},
    )
    # the new coordinator is told by a rule (makeready.workflow.triggers), unless they assigned themselves
    await bus.fire(
        session,
        bus.Event(
            name="project.coordinator_assigned",
            actor=actor,
            subject=project,
            org_id=project.org_id,
            project_id=project.id,
            after={"coordinator_id": coordinator.id},
        ),
    )
    return project


async def list_milestones(session: AsyncSession, project_id: int) -> list[Milestone]:
    project = await get_project(session, project_id)
    return list(project.milestones)


def scope_org_ids(session: AsyncSession) -> frozenset[int]:
    return get_scope(session).org_ids
