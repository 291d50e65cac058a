"""Coordinator pages: the board of active projects, "my work", and the coordinator's page for one project.

- `/coordinator/board`: every active project (feasibility, development, production, plus on hold) as a card in its
  phase's column, most urgent first: a late milestone, then one at risk, then the nearest due date. A card shows the
  client, the coordinator, the milestone that needs attention next with its due date and health, and what the
  project is waiting on and from whom. Filters by coordinator, client and supplier are query parameters, so a
  filtered board is a link.
- `/coordinator/work`: the open milestones, open tasks and unanswered brand questions a coordinator owns (the caller,
  or `?user=<id>` for a lead looking at someone else's), late first.
- `/coordinator/projects/{id}`: the project's workflow on one page, with its actions as forms that call the same
  makeready.workflow services as the back office's forms (post/redirect/get). A refusal rolls the request's
  transaction back and shows the page again with the service's message next to the form; each form carries the
  version of the record it was rendered from, so a coordinator acting on a stale page gets a conflict, not an
  overwrite.

Both lists are read with a fixed number of statements whatever the number of projects (tests/test_board.py counts
them): the waiting-on summary is computed for the whole board at once, with the same rules as
makeready.workflow.waiting_on (whose per-project queries would be one round of statements per card).

Staff only, like every coordinator page (backoffice.access): the portal mounts it behind its coordinator guard.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload
from starlette.exceptions import HTTPException

from backoffice.access import Failed, Staff, provide_staff, refused_page, typed_values
from makeready import urls, workflow
from makeready.accounts.models import Organization, User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.types import utcnow
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.feasibility.models import FeasibilityReview
from makeready.i18n import N_, _, ngettext
from makeready.projects import files
from makeready.projects import service as projects
from makeready.projects.access import brand_writers
from makeready.projects.models import (
    Milestone,
    MilestoneStatus,
    Phase,
    Project,
    Question,
    Task,
    TaskStatus,
)
from makeready.samples import photos as sample_photos
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.suppliers.models import Quote, Supplier
from makeready.workflow import Health, milestone_health

BOARD_PHASES = (Phase.feasibility, Phase.development, Phase.production, Phase.on_hold)
NEXT_PHASE = {
    Phase.feasibility: Phase.development,
    Phase.development: Phase.production,
    Phase.production: Phase.delivered,
}
URGENCY = {Health.late: 0, Health.at_risk: 1, Health.on_track: 2, Health.unscheduled: 3, Health.done: 4}
DECIDED_ROUNDS = (SampleStatus.approved, SampleStatus.rejected)
ADVANCE_ACTIONS = frozenset({"start_development", "start_production", "deliver"})
DECISIONS_SHOWN = 50


def today() -> date:
    """The day health is judged on (UTC, like the escalation job). Tests replace it to move time."""
    return utcnow().date()


# -- reading: the board --------------------------------------------------------------------------------------------


@dataclass
class Waiting:
    """What a card says the project waits for: who (the brand, a person, or the coordinator) and what."""

    who: str
    brand: bool
    items: list[str]
    kinds: Counter[str] = field(default_factory=Counter)
    """How many of each kind (waiting_on's kinds: question, sample_decision, task...)."""


@dataclass
class Card:
    project: Project
    supplier: Supplier | None
    health: Health
    next: Milestone | None
    late: int = 0
    at_risk: int = 0
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[int, date, str, int]:
        due = self.next.due_date if self.next and self.next.due_date else date.max
        return (URGENCY[self.health], due, self.project.name.lower(), self.project.id)


@dataclass
class Filters:
    coordinator: int | None = None  # UNASSIGNED: the projects nobody coordinates
    client: int | None = None
    supplier: int | None = None

    def query(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v is not None]
        return "?" + "&".join(parts) if parts else ""


UNASSIGNED = 0  # the coordinator filter's value for "no coordinator"


@dataclass
class Board:
    columns: list[tuple[Phase, list[Card]]]
    filters: Filters
    coordinators: list[User]
    clients: list[Organization]
    suppliers: list[Supplier]
    today: date

    @property
    def count(self) -> int:
        return sum(len(cards) for _phase, cards in self.columns)

    @property
    def late(self) -> int:
        return sum(1 for _phase, cards in self.columns for c in cards if c.health == Health.late)

    @property
    def at_risk(self) -> int:
        return sum(1 for _phase, cards in self.columns for c in cards if c.health == Health.at_risk)

    @property
    def unassigned(self) -> int:
        """Cards with no coordinator: their escalations reach nobody until one is assigned."""
        return sum(1 for _phase, cards in self.columns for c in cards if c.project.coordinator_id is None)


def board_projects(filters: Filters) -> Select[Any]:
    """The board's projects: not archived, in an active phase or on hold, narrowed by the filters."""
    query = select(Project.id).where(Project.archived_at.is_(None), Project.phase.in_(BOARD_PHASES))
    if filters.coordinator == UNASSIGNED:
        query = query.where(Project.coordinator_id.is_(None))
    elif filters.coordinator is not None:
        query = query.where(Project.coordinator_id == filters.coordinator)
    if filters.client is not None:
        query = query.where(Project.org_id == filters.client)
    if filters.supplier is not None:
        # the chosen supplier, or one that made a sample round or quoted for the project
        query = query.where(
            or_(
                Project.supplier_id == filters.supplier,
                exists().where(
                    SampleRound.project_id == Project.id, SampleRound.supplier_id == filters.supplier
                ),
                exists().where(Quote.project_id == Project.id, Quote.supplier_id == filters.supplier),
            )
        )
    return query


def card_health(
    milestones: Sequence[Milestone], day: date
) -> tuple[Health, Milestone | None, Counter[Health]]:
    """The worst health of the open milestones, the one to act on next (most urgent, then soonest due, then plan
    order), and how many are in each health."""
    if not milestones:
        return Health.done, None, Counter()
    graded = [(milestone_health(m, day), m) for m in milestones]
    counts = Counter(h for h, _m in graded)
    health, nxt = min(
        graded, key=lambda hm: (URGENCY[hm[0]], hm[1].due_date or date.max, hm[1].position, hm[1].id)
    )
    return health, nxt, counts


async def load_board(db: AsyncSession, filters: Filters, *, day: date) -> Board:
    ids = board_projects(filters).scalar_subquery()
    rows = (
        await db.execute(
            select(Project, Supplier)
            .outerjoin(Supplier, Supplier.id == Project.supplier_id)
            .where(Project.id.in_(ids))
            .options(joinedload(Project.org), joinedload(Project.coordinator))
        )
    ).all()
    open_milestones = (
        await db.scalars(
            select(Milestone)
            .where(Milestone.project_id.in_(ids), Milestone.status != MilestoneStatus.done)
            .options(joinedload(Milestone.owner))
        )
    ).all()
    by_project: dict[int, list[Milestone]] = defaultdict(list)
    for milestone in open_milestones:
        by_project[milestone.project_id].append(milestone)
    projects_list = [project for project, _s in rows]
    waiting = await waiting_summary(db, projects_list, ids)
    columns: dict[Phase, list[Card]] = {phase: [] for phase in BOARD_PHASES}
    for project, supplier in rows:
        health, nxt, counts = card_health(by_project.get(project.id, []), day)
        columns[project.phase].append(
            Card(
                project=project,
                supplier=supplier,
                health=health,
                next=nxt,
                late=counts[Health.late],
                at_risk=counts[Health.at_risk],
                waiting=waiting.get(project.id, []),
            )
        )
    for cards in columns.values():
        cards.sort(key=lambda c: c.sort_key)
    coordinators, clients, suppliers = await filter_choices(db)
    return Board(
        columns=list(columns.items()),
        filters=filters,
        coordinators=coordinators,
        clients=clients,
        suppliers=suppliers,
        today=day,
    )


async def filter_choices(db: AsyncSession) -> tuple[list[User], list[Organization], list[Supplier]]:
    staff = await db.scalars(
        select(User).where(User.is_staff.is_(True), User.is_active.is_(True)).order_by(User.name, User.email)
    )
    clients = await db.scalars(
        select(Organization).where(Organization.archived_at.is_(None)).order_by(Organization.name)
    )
    suppliers = await db.scalars(
        select(Supplier).where(Supplier.archived_at.is_(None)).order_by(Supplier.name_en)
    )
    return list(staff.all()), list(clients.all()), list(suppliers.all())


async def waiting_summary(
    db: AsyncSession, project_rows: Sequence[Project], ids: Any
) -> dict[int, list[Waiting]]:
    """What each project waits on, besides its milestones (the card shows those), by whom: the rules of
    makeready.workflow.waiting_on, read for every project of the board in five statements."""
    if not project_rows:
        return {}
    reviewed = set(
        (
            await db.scalars(
                select(FeasibilityReview.project_id).where(
                    FeasibilityReview.project_id.in_(ids), FeasibilityReview.completed_at.is_not(None)
                )
            )
        ).all()
    )
    rounds = (
        await db.execute(
            select(SampleRound.project_id, SampleRound.number, SampleRound.status)
            .where(SampleRound.project_id.in_(ids), SampleRound.status.not_in(DECIDED_ROUNDS))
            .order_by(SampleRound.project_id, SampleRound.number)
        )
    ).all()
    questions = dict(
        (
            await db.execute(
                select(Question.project_id, func.count())
                .where(Question.project_id.in_(ids), Question.answered_at.is_(None))
                .group_by(Question.project_id)
            )
        ).all()
    )
    changes = dict(
        (
            await db.execute(
                select(ChangeRequest.project_id, func.count())
                .where(ChangeRequest.project_id.in_(ids), ChangeRequest.status == ChangeStatus.open)
                .group_by(ChangeRequest.project_id)
            )
        ).all()
    )
    owner = aliased(User)
    tasks = (
        await db.execute(
            select(Task.project_id, Task.owner_id, owner.name, owner.email, func.count())
            .outerjoin(owner, owner.id == Task.owner_id)
            .where(Task.project_id.in_(ids), Task.status == TaskStatus.open)
            .group_by(Task.project_id, Task.owner_id, owner.name, owner.email)
        )
    ).all()
    rounds_of: dict[int, list[Any]] = defaultdict(list)
    for sample_row in rounds:
        rounds_of[sample_row.project_id].append(sample_row)
    tasks_of: dict[int, list[Any]] = defaultdict(list)
    for task_row in tasks:
        tasks_of[task_row.project_id].append(task_row)

    out: dict[int, list[Waiting]] = {}
    for project in project_rows:
        coordinator = project.coordinator.display_name if project.coordinator else _("the coordinator")
        groups: dict[str, Waiting] = {}

        add = partial(_add_waiting, groups)
        brand = _("the brand")
        if project.phase == Phase.feasibility:
            if project.id not in reviewed:
                add(coordinator, "feasibility_review", _("feasibility review"))
            elif project.go_ahead_at is None:
                add(brand, "go_ahead", _("go-ahead for development"), brand=True)
        for sample in rounds_of.get(project.id, []):
            if sample.status == SampleStatus.received:
                text = _("decision on sample round %(number)s") % {"number": sample.number}
                add(brand, "sample_decision", text, brand=True)
            else:
                add(coordinator, "sample_round", _("sample round %(number)s") % {"number": sample.number})
        if questions.get(project.id):
            n = questions[project.id]
            text = ngettext("%(num)d question", "%(num)d questions", n) % {"num": n}
            add(brand, "question", text, n, brand=True)
        if changes.get(project.id):
            n = changes[project.id]
            add(
                coordinator,
                "change_request",
                ngettext("%(num)d change request", "%(num)d change requests", n) % {"num": n},
                n,
            )
        for task in tasks_of.get(project.id, []):
            n = task[4]
            who = coordinator if task.owner_id is None else (task.name or task.email)
            add(who, "task", ngettext("%(num)d task", "%(num)d tasks", n) % {"num": n}, n)
        # the brand first, then the coordinator, then anyone else named
        order = [brand, coordinator]
        out[project.id] = sorted(
            groups.values(), key=lambda g: (order.index(g.who) if g.who in order else 2, g.who)
        )
    return out


def _add_waiting(
    groups: dict[str, Waiting], who: str, kind: str, text: str, n: int = 1, *, brand: bool = False
) -> None:
    group = groups.setdefault(who, Waiting(who=who, brand=brand, items=[]))
    group.items.append(text)
    group.kinds[kind] += n


# -- reading: my work ----------------------------------------------------------------------------------------------


@dataclass
class WorkItem:
    project: Project
    milestone: Milestone | None = None
    task: Task | None = None
    question: Question | None = None
    health: Health | None = None

    @property
    def late(self) -> bool:
        return self.health == Health.late


@dataclass
class Work:
    person: User
    is_me: bool
    milestones: list[WorkItem]
    tasks: list[WorkItem]
    questions: list[WorkItem]
    staff: list[User]
    today: date


def _live_project() -> Any:
    return and_(Project.archived_at.is_(None), Project.phase.in_(BOARD_PHASES))


async def load_work(db: AsyncSession, person: User, *, me: User, day: date) -> Work:
    milestone_rows = (
        await db.execute(
            select(Milestone, Project)
            .join(Project, Project.id == Milestone.project_id)
            .where(Milestone.owner_id == person.id, Milestone.status != MilestoneStatus.done, _live_project())
            .options(joinedload(Project.org))
        )
    ).all()
    milestones = [
        WorkItem(project=p, milestone=m, health=milestone_health(m, day)) for m, p in milestone_rows
    ]
    milestones.sort(
        key=lambda w: (
            URGENCY[w.health or Health.done],
            w.milestone.due_date if w.milestone and w.milestone.due_date else date.max,
            w.project.name.lower(),
        )
    )
    task_rows = (
        await db.execute(
            select(Task, Project)
            .join(Project, Project.id == Task.project_id)
            .where(
                Task.status == TaskStatus.open,
                or_(
                    Task.owner_id == person.id,
                    and_(Task.owner_id.is_(None), Project.coordinator_id == person.id),
                ),
                _live_project(),
            )
            .options(joinedload(Project.org))
        )
    ).all()
    tasks = [
        WorkItem(
            project=p,
            task=t,
            health=Health.late if t.due_date and t.due_date < day else Health.on_track,
        )
        for t, p in task_rows
    ]
    tasks.sort(
        key=lambda w: (
            not w.late,
            w.task.due_date if w.task and w.task.due_date else date.max,
            w.task.created_at if w.task else None,
        )
    )
    question_rows = (
        await db.execute(
            select(Question, Project)
            .join(Project, Project.id == Question.project_id)
            .where(
                Question.answered_at.is_(None),
                or_(Question.asked_by_id == person.id, Project.coordinator_id == person.id),
                _live_project(),
            )
            .options(joinedload(Project.org))
            .order_by(Question.created_at, Question.id)
        )
    ).all()
    questions = [WorkItem(project=p, question=q) for q, p in question_rows]
    staff = (
        await db.scalars(
            select(User)
            .where(User.is_staff.is_(True), User.is_active.is_(True))
            .order_by(User.name, User.email)
        )
    ).all()
    return Work(
        person=person,
        is_me=person.id == me.id,
        milestones=milestones,
        tasks=tasks,
        questions=questions,
        staff=list(staff),
        today=day,
    )


# -- reading: one project ------------------------------------------------------------------------------------------


NOTICES = {
    "advanced": N_("The project moved to its next phase."),
    "held": N_("The project is on hold."),
    "resumed": N_("The project is back in the phase it was in."),
    "cancelled": N_("The project is cancelled."),
    "planned": N_("The template's milestones were added."),
    "milestone": N_("The milestone was updated."),
    "requested": N_("The sample round was requested."),
    "sample": N_("The sample round was updated."),
    "photos": N_("The photos were added to the sample round."),
    "question": N_("The question was sent to the brand."),
    "decision": N_("The decision was recorded."),
    "change": N_("The change request was decided."),
    "task": N_("The task was closed."),
    "coordinator": N_("The coordinator was assigned."),
}


async def project_context(
    db: AsyncSession, staff: Staff, project_id: int, *, day: date, failed: Failed | None = None
) -> dict[str, Any]:
    project = await projects.get_project(db, project_id)
    supplier = await db.get(Supplier, project.supplier_id) if project.supplier_id else None
    milestones = [(m, milestone_health(m, day)) for m in project.milestones]
    next_phase = NEXT_PHASE.get(project.phase)
    missing = await workflow.gate_report(db, project_id=project.id, to_phase=next_phase) if next_phase else []
    rounds = list(
        (
            await db.scalars(
                select(SampleRound)
                .where(SampleRound.project_id == project.id)
                .options(selectinload(SampleRound.supplier))
                .order_by(SampleRound.number.desc())
            )
        ).all()
    )
    photos = await sample_photos.photos_of_rounds(db, [r.id for r in rounds])
    questions = list(
        (
            await db.scalars(
                select(Question)
                .where(Question.project_id == project.id)
                .options(selectinload(Question.asked_by))
                .order_by(Question.created_at.desc(), Question.id.desc())
            )
        ).all()
    )
    changes = list(
        (
            await db.scalars(
                select(ChangeRequest)
                .where(ChangeRequest.project_id == project.id)
                .order_by(ChangeRequest.number.desc())
            )
        ).all()
    )
    tasks = list(
        (
            await db.scalars(
                select(Task)
                .where(Task.project_id == project.id, Task.status == TaskStatus.open)
                .options(selectinload(Task.owner))
                .order_by(Task.due_date, Task.created_at)
            )
        ).all()
    )
    decisions = (
        await db.execute(
            select(AuditEvent, User)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.project_id == project.id, AuditEvent.action == "decision.recorded")
            .order_by(AuditEvent.seq.desc())
            .limit(DECISIONS_SHOWN)
        )
    ).all()
    attachments, _total = await files.list_files(db, project.id, limit=200)
    staff_users = (
        await db.scalars(
            select(User)
            .where(User.is_staff.is_(True), User.is_active.is_(True))
            .order_by(User.name, User.email)
        )
    ).all()
    suppliers = (
        await db.scalars(select(Supplier).where(Supplier.archived_at.is_(None)).order_by(Supplier.name_en))
    ).all()
    actions = {t.action for t in workflow.PROJECT.allowed(project.phase)}
    owners = [*staff_users, *await brand_writers(db, project.org_id)]
    return {
        "user": staff,
        "project": project,
        "supplier": supplier,
        "milestones": milestones,
        "next_phase": next_phase,
        "missing": missing,
        "actions": actions,
        "can_advance": next_phase is not None and bool(actions & ADVANCE_ACTIONS),
        "waiting": await workflow.waiting_on(db, project_id=project.id, today=day),
        "rounds": rounds,
        "photos": photos,
        "thumbnail_url": thumbnail_src,
        "photo_url": sample_photos.photo_url,
        "questions": questions,
        "changes": changes,
        "tasks": tasks,
        "decisions": decisions,
        "attachments": {a.id: a for a in attachments},
        "owners": owners,
        "coordinators": staff_users,
        "people": {u.id: u for u in [*owners, *([project.coordinator] if project.coordinator else [])]},
        "suppliers": suppliers,
        "templates": workflow.TEMPLATES,
        "template_labels": TEMPLATE_LABELS,
        "open_round": next((r for r in rounds if r.status not in DECIDED_ROUNDS), None),
        "failed": failed,
        "today": day,
        "photo_limit": sample_photos.MAX_PHOTOS_PER_CALL,
    }


def thumbnail_src(photo: SamplePhoto) -> str:
    """Where the page loads a photo's thumbnail: straight from storage when one was made at upload, else the
    portal's photo route, which makes it on first use (photos added before thumbnails were made at upload)."""
    if photo.thumbnail_key:
        return sample_photos.thumbnail_url(photo)
    return f"/samples/photos/{photo.id}/thumbnail"


TEMPLATE_LABELS = {
    "standard": N_("Standard plan: feasibility to shipment"),
    "development_round": N_("Another sample round"),
}


# -- writing -------------------------------------------------------------------------------------------------------


def _text(form: FormMultiDict, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _int(form: FormMultiDict, key: str, *, required: bool = True) -> int | None:
    text = _text(form, key)
    if not text and not required:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed(
            _("The form is missing a value it needs (%(field)s). Reload the page and try again.")
            % {"field": key},
            field=key,
        ) from None


def _version(form: FormMultiDict) -> int | None:
    return _int(form, "version", required=False)


def _date(form: FormMultiDict, key: str) -> date:
    try:
        return date.fromisoformat(_text(form, key))
    except ValueError:
        raise ValidationFailed(_("The due date must be a date (YYYY-MM-DD)."), field=key) from None


def project_url(project_id: int, *, notice: str = "", anchor: str = "") -> str:
    url = urls.coordinator_project(project_id)
    if notice:
        url += f"?done={notice}"
    return url + (f"#{anchor}" if anchor else "")


async def act(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    key: str,
    notice: str,
    action: Callable[[FormMultiDict], Awaitable[Any]],
) -> Template | Redirect:
    """Run one service call in the request's transaction; on success back to the page (post/redirect/get), on a
    refusal the page again with the message at the form named `key`, nothing of the attempt kept."""
    form = await request.form()
    try:
        await action(form)
    except NotFound:
        raise
    except DomainError as exc:
        failed = Failed(key=key, message=exc.message, values=typed_values(form, exc))

        async def page(staff: Staff) -> Template:
            context = await project_context(db, staff, project_id, day=today(), failed=failed)
            return Template("backoffice/project.html", context=context)

        return await refused_page(db, staff, page, status_code=exc.status_code)
    return Redirect(project_url(project_id, notice=notice, anchor=key), status_code=303)


class CoordinatorPages(Controller):
    """The board, my work, and the coordinator's project page."""

    path = "/coordinator"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/board", name="coordinator_board")
    async def board(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        coordinator: FromQuery[int | None] = None,
        client: FromQuery[int | None] = None,
        supplier: FromQuery[int | None] = None,
    ) -> Template:
        """Every active project as a card in its phase's column, most urgent first."""
        filters = Filters(coordinator=coordinator, client=client, supplier=supplier)
        board = await load_board(db, filters, day=today())
        return Template("backoffice/board.html", context={"user": staff, "board": board})

    @get("/work", name="coordinator_work")
    async def work(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        user: FromQuery[int | None] = None,
    ) -> Template:
        """The milestones, tasks and questions a coordinator owns, late first."""
        person = staff.user
        if user is not None and user != staff.user.id:
            found = await db.scalar(select(User).where(User.id == user, User.is_staff.is_(True)))
            if found is None:
                raise NotFound(_("There is no coordinator with this number."))
            person = found
        work = await load_work(db, person, me=staff.user, day=today())
        return Template("backoffice/work.html", context={"user": staff, "work": work})

    @get("/projects/{project_id:int}", name="coordinator_project")
    async def project(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str | None] = None,
    ) -> Template:
        """One project's workflow with its actions."""
        context = await project_context(db, staff, project_id, day=today())
        context["notice"] = _(NOTICES[done]) if done in NOTICES else None
        return Template("backoffice/project.html", context=context)

    # -- the project's phase

    @post("/projects/{project_id:int}/phase")
    async def phase(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Advance (through the gate), hold, resume or cancel, with a reason."""
        form = await request.form()
        choice = _text(form, "action")
        notices = {"advance": "advanced", "hold": "held", "resume": "resumed", "cancel": "cancelled"}

        async def action(form: FormMultiDict) -> Any:
            common: dict[str, Any] = {
                "actor": staff.user,
                "project_id": project_id,
                "expected_version": _version(form),
            }
            reason = _text(form, "reason")
            if choice == "advance":
                return await workflow.advance_project(
                    db, to_phase=_text(form, "to_phase"), reason=reason, **common
                )
            if choice == "hold":
                return await workflow.hold_project(db, reason=reason, **common)
            if choice == "resume":
                return await workflow.resume_project(db, reason=reason, **common)
            if choice == "cancel":
                return await workflow.cancel_project(db, reason=reason, **common)
            raise ValidationFailed(_("Choose advance, hold, resume or cancel."), field="action")

        return await act(
            request, db, staff, project_id, key="phase", notice=notices.get(choice, ""), action=action
        )

    # -- the project's coordinator

    @post("/projects/{project_id:int}/coordinator")
    async def coordinator(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Assign the project's coordinator, or change who it is."""

        async def action(form: FormMultiDict) -> Any:
            coordinator_id = _int(form, "coordinator_id")
            assert coordinator_id is not None  # required
            return await projects.assign_coordinator(
                db,
                actor=staff.user,
                project_id=project_id,
                coordinator_id=coordinator_id,
                expected_version=_version(form),
            )

        return await act(
            request, db, staff, project_id, key="coordinator", notice="coordinator", action=action
        )

    # -- milestones

    @post("/projects/{project_id:int}/milestones")
    async def plan(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Add a template's milestones."""

        async def action(form: FormMultiDict) -> Any:
            try:
                start = date.fromisoformat(_text(form, "start"))
            except ValueError:
                raise ValidationFailed(
                    _("The start date must be a date (YYYY-MM-DD)."), field="start"
                ) from None
            return await workflow.create_milestones_from_template(
                db,
                actor=staff.user,
                project_id=project_id,
                template=_text(form, "template"),
                start=start,
                owner_id=_int(form, "owner_id", required=False),
            )

        return await act(request, db, staff, project_id, key="plan", notice="planned", action=action)

    @post("/projects/{project_id:int}/milestone")
    async def milestone(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Start, complete, reopen or assign one milestone of the project."""
        form = await request.form()
        milestone_id = _text(form, "milestone_id")

        async def action(form: FormMultiDict) -> Any:
            milestone = await _milestone_of(db, project_id, _int(form, "milestone_id"))
            common: dict[str, Any] = {
                "actor": staff.user,
                "milestone_id": milestone.id,
                "expected_version": _version(form),
            }
            choice = _text(form, "action")
            if choice == "start":
                return await workflow.start_milestone(db, **common)
            if choice == "complete":
                return await workflow.complete_milestone(db, **common)
            if choice == "reopen":
                return await workflow.reopen_milestone(db, reason=_text(form, "reason"), **common)
            if choice == "assign":
                owner_id = _int(form, "owner_id", required=False)
                if owner_id is None:
                    raise ValidationFailed(_("Choose the milestone's owner."), field="owner_id")
                return await workflow.assign_milestone(
                    db, owner_id=owner_id, due_date=_date(form, "due_date"), **common
                )
            raise ValidationFailed(_("Choose start, complete, reopen or assign."), field="action")

        return await act(
            request, db, staff, project_id, key=f"milestone-{milestone_id}", notice="milestone", action=action
        )

    # -- sample rounds

    @post("/projects/{project_id:int}/samples")
    async def request_round(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Request a new sample round from a supplier."""

        async def action(form: FormMultiDict) -> Any:
            return await workflow.request_sample_round(
                db,
                actor=staff.user,
                project_id=project_id,
                supplier_id=_int(form, "supplier_id", required=False),
                notes=_text(form, "notes"),
            )

        return await act(request, db, staff, project_id, key="samples", notice="requested", action=action)

    @post("/projects/{project_id:int}/sample")
    async def sample(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Record a sample round's progress: in production, shipped, received."""
        form = await request.form()
        round_id = _text(form, "round_id")

        async def action(form: FormMultiDict) -> Any:
            sample = await _round_of(db, project_id, _int(form, "round_id"))
            move = {
                "in_production": workflow.mark_sample_in_production,
                "shipped": workflow.mark_sample_shipped,
                "received": workflow.mark_sample_received,
            }.get(_text(form, "action"))
            if move is None:
                raise ValidationFailed(_("Choose in production, shipped or received."), field="action")
            return await move(db, actor=staff.user, round_id=sample.id, expected_version=_version(form))

        return await act(
            request, db, staff, project_id, key=f"round-{round_id}", notice="sample", action=action
        )

    @post("/projects/{project_id:int}/photos")
    async def add_photos(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Attach uploaded photos (already in storage through the upload API) to a sample round."""
        form = await request.form()
        round_id = _text(form, "round_id")

        async def action(form: FormMultiDict) -> Any:
            sample = await _round_of(db, project_id, _int(form, "round_id"))
            keys, names, captions = (
                form.getall("key", []),
                form.getall("name", []),
                form.getall("caption", []),
            )
            if len(names) != len(keys) or len(captions) not in (0, len(keys)):
                raise ValidationFailed(
                    _("The upload form is incomplete. Choose the photos again."), field="key"
                )
            uploads = [
                sample_photos.PhotoUpload(
                    key=str(key), original_name=str(name), caption=str(captions[i]) if captions else ""
                )
                for i, (key, name) in enumerate(zip(keys, names, strict=True))
            ]
            return await sample_photos.attach_photos(
                db, actor=staff.user, round_id=sample.id, uploads=uploads
            )

        return await act(
            request, db, staff, project_id, key=f"round-{round_id}", notice="photos", action=action
        )

    # -- questions, decisions, change requests, tasks

    @post("/projects/{project_id:int}/questions")
    async def ask(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Ask the brand a question."""

        async def action(form: FormMultiDict) -> Any:
            return await workflow.ask_question(
                db, actor=staff.user, project_id=project_id, body=_text(form, "body")
            )

        return await act(request, db, staff, project_id, key="questions", notice="question", action=action)

    @post("/projects/{project_id:int}/decisions")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Record a decision with the files it rests on."""

        async def action(form: FormMultiDict) -> Any:
            try:
                attachment_ids = [int(v) for v in form.getall("attachment_id", []) if str(v).strip()]
            except ValueError:
                raise ValidationFailed(
                    _("The attached files must belong to this project."), field="attachment_id"
                ) from None
            return await workflow.record_decision(
                db,
                actor=staff.user,
                project_id=project_id,
                text=_text(form, "text"),
                attachment_ids=attachment_ids,
            )

        return await act(request, db, staff, project_id, key="decisions", notice="decision", action=action)

    @post("/projects/{project_id:int}/change")
    async def change(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Approve or reject a change request with a note."""
        form = await request.form()
        change_id = _text(form, "change_id")

        async def action(form: FormMultiDict) -> Any:
            change = await _change_of(db, project_id, _int(form, "change_id"))
            return await workflow.decide_change_request(
                db,
                actor=staff.user,
                change_id=change.id,
                decision=_text(form, "decision"),
                note=_text(form, "note"),
                expected_version=_version(form),
            )

        return await act(
            request, db, staff, project_id, key=f"change-{change_id}", notice="change", action=action
        )

    @post("/projects/{project_id:int}/task")
    async def task(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Complete or cancel an open task."""
        form = await request.form()
        task_id = _text(form, "task_id")

        async def action(form: FormMultiDict) -> Any:
            task = await _task_of(db, project_id, _int(form, "task_id"))
            common: dict[str, Any] = {
                "actor": staff.user,
                "task_id": task.id,
                "expected_version": _version(form),
            }
            if _text(form, "action") == "complete":
                return await workflow.complete_task(db, **common)
            if _text(form, "action") == "cancel":
                return await workflow.cancel_task(db, reason=_text(form, "reason"), **common)
            raise ValidationFailed(_("Choose complete or cancel."), field="action")

        return await act(request, db, staff, project_id, key=f"task-{task_id}", notice="task", action=action)


# -- records of one project ----------------------------------------------------------------------------------------


async def _one_of(db: AsyncSession, model: Any, project_id: int, object_id: int | None, message: str) -> Any:
    """A row of this project (a form naming another project's row is refused like a missing one)."""
    row = await db.scalar(select(model).where(model.id == object_id, model.project_id == project_id))
    if row is None:
        raise ValidationFailed(_(message))
    return row


async def _milestone_of(db: AsyncSession, project_id: int, milestone_id: int | None) -> Milestone:
    row: Milestone = await _one_of(
        db,
        Milestone,
        project_id,
        milestone_id,
        N_("This milestone does not exist or you do not have access to it."),
    )
    return row


async def _round_of(db: AsyncSession, project_id: int, round_id: int | None) -> SampleRound:
    row: SampleRound = await _one_of(
        db,
        SampleRound,
        project_id,
        round_id,
        N_("This sample round does not exist or you do not have access to it."),
    )
    return row


async def _change_of(db: AsyncSession, project_id: int, change_id: int | None) -> ChangeRequest:
    row: ChangeRequest = await _one_of(
        db,
        ChangeRequest,
        project_id,
        change_id,
        N_("This change request does not exist or you do not have access to it."),
    )
    return row


async def _task_of(db: AsyncSession, project_id: int, task_id: int | None) -> Task:
    row: Task = await _one_of(
        db, Task, project_id, task_id, N_("This task does not exist or you do not have access to it.")
    )
    return row


# -- the generic admin (piccolo-admin) ---------------------------------------------------------------------------

PROJECT_DELETE_REFUSED = (
    "This project has a history (phase changes, decisions, sample rounds, quotes, questions or files) that must "
    "stay readable: archive it instead (set archived_at)."
)
PROJECT_BULK_DELETE_REFUSED = "Delete projects one at a time, so that each is checked for its history."


async def refuse_project_delete(piccolo_crud: Any, request: Any) -> None:
    """piccolo_api validator for DELETE /admin/api/tables/projects/<id>/: a project with a history beyond its
    creation is archived, never deleted (its audit events, decisions included, would lose their subject)."""
    try:
        row_id = int(request.path_params.get("row_id"))
    except (TypeError, ValueError):
        return
    rows = await piccolo_crud.table.raw(
        "SELECT (SELECT COUNT(*) FROM audit_events WHERE project_id = {} AND action <> 'project.created') AS events, "
        "(SELECT COUNT(*) FROM sample_rounds WHERE project_id = {}) AS rounds, "
        "(SELECT COUNT(*) FROM quotes WHERE project_id = {}) AS quotes, "
        "(SELECT COUNT(*) FROM questions WHERE project_id = {}) AS questions, "
        "(SELECT COUNT(*) FROM change_requests WHERE project_id = {}) AS changes, "
        "(SELECT COUNT(*) FROM attachments WHERE project_id = {}) AS files",
        *([row_id] * 6),
    ).run()
    counts = rows[0] if rows else {}
    if any(counts.get(key) for key in ("events", "rounds", "quotes", "questions", "changes", "files")):
        raise HTTPException(status_code=409, detail=PROJECT_DELETE_REFUSED)
