"""What the coordinator board and "my work" read: a page at a time, in a fixed number of statements.

No page's rows grow with the agency: the board shows one page of each phase's column (`PAGE_SIZE` cards, most
urgent first, ordered in SQL so page 2 continues page 1), or with a `phase` only that column, paged on its own (what a
coordinator works through one stage with), "my work" one page of each of its lists, each with its
total. The page number is capped (`MAX_PAGE`): past it, a filter narrows the list. What each card waits on comes
from makeready.workflow.waiting_for (one computation for every page that says it), grouped by person here; the
open conditions of the page's milestones are its sticky notes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from makeready.accounts.models import Organization, User
from makeready.conditions import kinds as condition_kinds
from makeready.conditions.models import Condition, ConditionStatus
from makeready.conditions.service import unresolved_for
from makeready.db.counting import capped_count
from makeready.db.ids import among, dialect_of
from makeready.db.types import utcnow
from makeready.html import option_tags
from makeready.i18n import _, label, ngettext
from makeready.projects.milestones import RISK_WINDOW_DAYS, Health, health, milestone_health
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project, Question, Task, TaskStatus
from makeready.samples.models import SampleRound
from makeready.suppliers.models import Quote, Supplier
from makeready.workflow.waiting import URGENCY, Party, waiting_for
from makeready.workflow.waiting import Waiting as WaitingItem

BOARD_PHASES = (Phase.feasibility, Phase.development, Phase.production, Phase.on_hold)
PAGE_SIZE = 25
"""Cards per column (a column with more has a "more" link to the next page), rows per list of "my work"."""
MAX_PAGE = 100
"""The deepest page offered (offset paging): beyond it, filter."""
COUNT_CAP = MAX_PAGE * PAGE_SIZE
""""My work" counts each list up to this many rows (all its pages can show), then says "2500+" (`capped_count`)."""


def today() -> date:
    """The day health is judged on (UTC, like the escalation job). Tests replace it to move time."""
    return utcnow().date()


def clamp_page(page: int | None) -> int:
    return min(max(page or 1, 1), MAX_PAGE)


# -- the health rule in SQL, for ordering a page ---------------------------------------------------------------------


def _late(day: date) -> ColumnElement[bool]:
    return and_(Milestone.status != MilestoneStatus.done, Milestone.due_date < day)


def _at_risk(day: date) -> ColumnElement[bool]:
    return and_(
        Milestone.status == MilestoneStatus.planned,
        Milestone.due_date >= day,
        Milestone.due_date <= day + timedelta(days=RISK_WINDOW_DAYS),
    )


def milestone_urgency(day: date) -> ColumnElement[int]:
    """makeready.projects.milestones.health as an URGENCY rank (late 0 ... done 4), for ORDER BY."""
    return case(
        (Milestone.status == MilestoneStatus.done, literal(URGENCY[Health.done])),
        (Milestone.due_date.is_(None), literal(URGENCY[Health.unscheduled])),
        (_late(day), literal(URGENCY[Health.late])),
        (_at_risk(day), literal(URGENCY[Health.at_risk])),
        else_=literal(URGENCY[Health.on_track]),
    )


# -- the board -------------------------------------------------------------------------------------------------------


@dataclass
class Waiting:
    """What a card says the project waits for: who (the brand, a person, or the coordinator) and what."""

    who: str
    brand: bool
    items: list[str]
    kinds: Counter[str] = field(default_factory=Counter)
    """How many of each kind (waiting_for's kinds: question, sample_decision, task...)."""


@dataclass(frozen=True)
class Note:
    """A sticky note: an open condition on one of the page's milestones."""

    title: str
    owner: str
    since: datetime
    escalated: bool
    milestone_id: int


class Person(NamedTuple):
    """Someone a card names (its coordinator, the next step's owner, whom it waits on), read as columns."""

    id: int
    name: str
    email: str

    @property
    def display_name(self) -> str:
        return self.name or self.email


class CardProject(NamedTuple):
    """What a card shows of its project and what the waiting rules read of it (waiting.ProjectFacts), read as
    columns: a hundred cards of four entities each (project, client, coordinator, supplier) cost more CPU to build
    and populate than their statement."""

    id: int
    name: str
    phase: Phase
    coordinator_id: int | None
    go_ahead_at: datetime | None
    client: str
    coordinator: Person | None


class NextStep(NamedTuple):
    """The open milestone a card says to act on next."""

    title: str
    status: MilestoneStatus
    due_date: date | None
    owner: Person | None


@dataclass
class Card:
    project: CardProject
    supplier: str | None
    """The supplier's English name, if the project has one chosen."""
    health: Health
    next: NextStep | None
    late: int = 0
    at_risk: int = 0
    waiting: list[Waiting] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[int, date, str, int]:
        due = self.next.due_date if self.next and self.next.due_date else date.max
        return (URGENCY[self.health], due, self.project.name.lower(), self.project.id)


@dataclass
class Filters:
    coordinator: int | None = None
    """None: every coordinator's projects (the page sets the caller's by default); UNASSIGNED: nobody's."""
    client: int | None = None
    supplier: int | None = None
    phase: Phase | None = None
    """One column of the board (`?phase=production`), paged on its own; None: every column."""

    def query(self, page: int | None = None) -> str:
        parts = [f"coordinator={self.coordinator if self.coordinator is not None else 'all'}"]
        parts += [
            f"{k}={v}" for k, v in (("client", self.client), ("supplier", self.supplier)) if v is not None
        ]
        if self.phase is not None:
            parts.append(f"phase={self.phase.value}")
        if page and page > 1:
            parts.append(f"page={page}")
        return "?" + "&".join(parts)


UNASSIGNED = 0
"""The coordinator filter's value for the projects nobody coordinates (their escalations reach nobody)."""


@dataclass
class Column:
    phase: Phase
    cards: list[Card]
    """This page's cards."""
    total: int
    """Every card of the column, on every page."""

    def __iter__(self) -> Iterator[Any]:
        """`phase, cards = column`."""
        return iter((self.phase, self.cards))


@dataclass
class Board:
    columns: list[Column]
    filters: Filters
    coordinators: list[Person]
    clients: list[ClientChoice]
    suppliers: list[SupplierChoice]
    today: date
    page: int = 1
    pages: int = 1
    count: int = 0
    late: int = 0
    at_risk: int = 0
    unassigned: int = 0
    """Active projects of the whole agency with no coordinator, whatever the filters."""
    page_size: int = PAGE_SIZE

    @property
    def health_labels(self) -> dict[Health, str]:
        """Each health's badge, translated once for the page."""
        return {health: label(health) for health in Health}

    def coordinator_options(self) -> Markup:
        return option_tags(tuple((p.id, p.display_name) for p in self.coordinators), self.filters.coordinator)

    def client_options(self) -> Markup:
        return option_tags(tuple(self.clients), self.filters.client)

    def supplier_options(self) -> Markup:
        names = tuple(
            (s.id, f"{s.name_en} / {s.name_zh}" if s.name_zh else s.name_en) for s in self.suppliers
        )
        return option_tags(names, self.filters.supplier)

    def more(self, column: Column) -> int:
        """How many of the column's cards come after this page (its "more" link goes to the next page)."""
        return max(0, column.total - (self.page - 1) * self.page_size - len(column.cards))

    @property
    def phases(self) -> tuple[Phase, ...]:
        """Every column of the board, for the one-column view's links to the others."""
        return BOARD_PHASES

    def column_url(self, phase: Phase | None) -> str:
        """The board of one column (None: of every column), first page, with the same filters."""
        return "/coordinator/board" + replace(self.filters, phase=phase).query()

    @property
    def previous_url(self) -> str | None:
        return "/coordinator/board" + self.filters.query(self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return "/coordinator/board" + self.filters.query(self.page + 1) if self.page < self.pages else None


def board_projects(filters: Filters) -> Select[Any]:
    """The board's projects: not archived, in an active phase or on hold (or the one phase asked for), narrowed by
    the filters."""
    phase = Project.phase.in_(BOARD_PHASES) if filters.phase is None else Project.phase == filters.phase
    query = select(Project.id).where(Project.archived_at.is_(None), phase)
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


def _urgency_of_projects(filters: Filters, day: date) -> Any:
    """Per project of the board: its phase, its card's urgency (the worst open milestone) and the due date the
    card sorts by (that of the most urgent open milestone due soonest), as the card shows it (`_next_steps`), from the
    schedule kept on the project (`waiting_flags`: how many milestones are open, the earliest due date of them and
    of those not started): the rank of `milestones.health` on `day`, without reading the milestones.

    Built once per filters and day (SQL expressions are immutable): building it took about a third of the board's
    own CPU per request."""
    return _graded(filters.coordinator, filters.client, filters.supplier, filters.phase, day)


def project_urgency(day: date) -> tuple[ColumnElement[int], ColumnElement[date]]:
    """A project's card urgency on `day` (URGENCY of its worst open milestone) and the due date its card sorts by,
    from its stored schedule. Late: an open milestone is past due (the earliest open one is). At risk: otherwise,
    one not started is due within the window (the earliest not started is). Then on track, no due date, done."""
    late = Project.next_due < day
    at_risk = Project.next_planned_due <= day + timedelta(days=RISK_WINDOW_DAYS)
    rank = case(
        (late, literal(URGENCY[Health.late])),
        (at_risk, literal(URGENCY[Health.at_risk])),
        (Project.next_due.is_not(None), literal(URGENCY[Health.on_track])),
        (Project.open_milestones > 0, literal(URGENCY[Health.unscheduled])),
        else_=literal(URGENCY[Health.done]),
    )
    due = case((late, Project.next_due), (at_risk, Project.next_planned_due), else_=Project.next_due)
    return rank, due


@lru_cache(maxsize=64)
def _graded(
    coordinator: int | None, client: int | None, supplier: int | None, phase: Phase | None, day: date
) -> Any:
    filters = Filters(coordinator=coordinator, client=client, supplier=supplier, phase=phase)
    rank, due = project_urgency(day)
    return (
        board_projects(filters)
        .with_only_columns(
            Project.id.label("id"),
            Project.phase.label("phase"),
            rank.label("rank"),
            due.label("due"),
            func.lower(Project.name).label("name"),
            case((rank == URGENCY[Health.late], 1), else_=0).label("late"),
        )
        .subquery()
    )


@lru_cache(maxsize=8)
def _next_steps(day: date, dialect: str) -> Any:
    """Per project of the page (bound as `ids`): its open milestones ranked by what to act on next (most urgent on
    `day`, then soonest due, then plan order, as the card shows it; `step` 1 is the card's), each row with how many
    of the project's open milestones are late and at risk. Built once per day, bound per request."""
    by_project = Milestone.project_id
    return (
        select(
            Milestone.project_id,
            Milestone.title,
            Milestone.status,
            Milestone.due_date,
            Milestone.owner_id,
            func.row_number()
            .over(
                partition_by=by_project,
                order_by=(
                    milestone_urgency(day),
                    Milestone.due_date.is_(None),
                    Milestone.due_date,
                    Milestone.position,
                    Milestone.id,
                ),
            )
            .label("step"),
            func.sum(case((_late(day), 1), else_=0)).over(partition_by=by_project).label("late"),
            func.sum(case((_at_risk(day), 1), else_=0)).over(partition_by=by_project).label("at_risk"),
        )
        .where(among(by_project, "ids", dialect), Milestone.status != MilestoneStatus.done)
        .subquery()
    )


@lru_cache(maxsize=8)
def _cards(day: date, dialect: str) -> Any:
    """The page's projects (bound as `ids`) as their cards show them, one row each: the project with its client's,
    coordinator's and supplier's names, and its next step (`_next_steps`, read from the ranking itself: joining
    that back to milestones could plan a scan of the whole table) with its owner and counts. Columns, not entities:
    a hundred cards of six entities each cost more CPU to build and populate than their statements did (two)."""
    step = _next_steps(day, dialect)
    coordinator, owner = aliased(User), aliased(User)
    return (
        select(
            Project.id,
            Project.name,
            Project.phase,
            Project.coordinator_id,
            Project.go_ahead_at,
            Organization.name,
            coordinator.id,
            coordinator.name,
            coordinator.email,
            Supplier.name_en,
            step.c.title,
            step.c.status,
            step.c.due_date,
            owner.id,
            owner.name,
            owner.email,
            step.c.late,
            step.c.at_risk,
        )
        .join(Organization, Organization.id == Project.org_id)
        .outerjoin(coordinator, coordinator.id == Project.coordinator_id)
        .outerjoin(Supplier, Supplier.id == Project.supplier_id)
        .outerjoin(step, and_(step.c.project_id == Project.id, step.c.step == 1))
        .outerjoin(owner, owner.id == step.c.owner_id)
        .where(among(Project.id, "ids", dialect))
    )


@cache
def _sticky_notes(dialect: str) -> Any:
    """The unresolved conditions on the open milestones of the page's projects (bound as `ids`), oldest first,
    each with its milestone's project and its owner's name: one statement (the milestones' ids, then the
    conditions on them, were two)."""
    owner = aliased(User)
    return (
        select(
            Condition.kind,
            Condition.status,
            Condition.raised_at,
            Condition.subject_id,
            Milestone.project_id,
            owner.id,
            owner.name,
            owner.email,
        )
        .join(Milestone, Milestone.id == Condition.subject_id)
        .outerjoin(owner, owner.id == Condition.owner_id)
        .where(
            Condition.subject_type == "milestone",
            Condition.resolved_at.is_(None),
            among(Milestone.project_id, "ids", dialect),
            Milestone.status != MilestoneStatus.done,
        )
        .order_by(Condition.raised_at, Condition.id)
    )


def _unassigned() -> Any:
    """The agency's active projects nobody coordinates, whatever the filters (their escalations reach nobody)."""
    return (
        select(func.count())
        .select_from(Project)
        .where(
            Project.archived_at.is_(None),
            Project.phase.in_(BOARD_PHASES),
            Project.coordinator_id.is_(None),
        )
        .correlate(None)
        .scalar_subquery()
    )


def _counts(graded: Any, phases: tuple[Phase, ...]) -> list[Any]:
    """The cards of each of `phases` among the graded projects, and how many are late and at risk."""
    return [
        *(func.sum(case((graded.c.phase == phase, 1), else_=0)) for phase in phases),
        func.sum(graded.c.late),
        func.sum(case((graded.c.rank == URGENCY[Health.at_risk], 1), else_=0)),
    ]


@lru_cache(maxsize=64)
def _totals(graded: Any, phases: tuple[Phase, ...]) -> Any:
    """One row: `_counts` and the unassigned projects (for a page past the last, or an empty board)."""
    return select(*_counts(graded, phases), _unassigned())


@lru_cache(maxsize=64)
def _page_of(graded: Any, phases: tuple[Phase, ...]) -> Any:
    """The ids of a page's projects (each one's position in its column, the board's order, between the bound `first`
    excluded and `last`), each row with `_totals` beside it (windows over every graded project): one statement for
    the page and the counts that page it (they were two)."""
    position = func.row_number().over(
        partition_by=graded.c.phase,
        order_by=(graded.c.rank, graded.c.due.is_(None), graded.c.due, graded.c.name, graded.c.id),
    )
    counts = [count.over().label(f"count_{n}") for n, count in enumerate(_counts(graded, phases))]
    ranked = select(graded.c.id, position.label("position"), *counts).subquery()
    return select(ranked.c.id, *(ranked.c[count.name] for count in counts), _unassigned()).where(
        ranked.c.position > bindparam("first", type_=Integer),
        ranked.c.position <= bindparam("last", type_=Integer),
    )


def _person(user_id: int | None, name: str | None, email: str | None) -> Person | None:
    return Person(user_id, name or "", email or "") if user_id is not None else None


async def load_board(db: AsyncSession, filters: Filters, *, day: date, page: int = 1) -> Board:
    """One page of each column (of the one column of `filters.phase`). Statements: the page's project ids (ranked)
    with the columns' counts and the agency's unassigned projects (a page past the last, or an empty board, reads
    the counts alone first), their cards (each with its next step and counts), their sticky notes, what they wait
    on (waiting_for), and the filters' choices with the people the cards name."""
    graded = _urgency_of_projects(filters, day)
    shown_phases = BOARD_PHASES if filters.phase is None else (filters.phase,)
    page = clamp_page(page)

    async def page_rows(page: int) -> list[Any]:
        # the page's projects first, then their rows by id: joining the ranking to the projects planned a scan of
        # every project on PostgreSQL (a hash join) at 100,000 projects
        bounds = {"first": (page - 1) * PAGE_SIZE, "last": page * PAGE_SIZE}
        return list((await db.execute(_page_of(graded, shown_phases), bounds)).all())

    rows_of_page = await page_rows(page)
    if rows_of_page:
        *counts, late_total, at_risk_total, unassigned = rows_of_page[0][1:]
    else:  # an empty board, or a page past the last: the counts, then the last page
        *counts, late_total, at_risk_total, unassigned = (
            await db.execute(_totals(graded, shown_phases))
        ).one()
    per_phase = {phase: int(n or 0) for phase, n in zip(shown_phases, counts, strict=True)}
    pages = max([1, *((n + PAGE_SIZE - 1) // PAGE_SIZE for n in per_phase.values())])
    if page > pages:
        page = pages
        rows_of_page = await page_rows(page) if any(per_phase.values()) else []
    placed = [row[0] for row in rows_of_page]
    ids = {"ids": placed}
    rows: list[tuple[CardProject, str | None]] = []
    steps: dict[int, tuple[NextStep, int, int]] = {}
    notes_of: dict[int, list[Note]] = defaultdict(list)
    if placed:
        dialect = dialect_of(db)
        for row in (await db.execute(_cards(day, dialect), ids)).all():
            pid, name, phase, coordinator_id, go_ahead_at, client, cid, cname, cemail, supplier = row[:10]
            title, status, due, oid, oname, oemail, late, at_risk = row[10:]
            project = CardProject(
                pid, name, phase, coordinator_id, go_ahead_at, client, _person(cid, cname, cemail)
            )
            rows.append((project, supplier))
            if title is not None:
                steps[pid] = (
                    NextStep(title, status, due, _person(oid, oname, oemail)),
                    int(late),
                    int(at_risk),
                )
        for kind, status, raised_at, milestone_id, pid, oid, oname, oemail in (
            await db.execute(_sticky_notes(dialect), ids)
        ).all():
            notes_of[pid].append(_note(kind, status, raised_at, milestone_id, _person(oid, oname, oemail)))
    shown = [project for project, _s in rows]
    coordinators, clients, suppliers, owners = await _choices_and_owners(db, placed)
    waiting = await waiting_for(db, shown, day, milestones=False)
    people = {p.coordinator.id: p.coordinator for p in shown if p.coordinator is not None} | owners
    named = {item.user_id for items in waiting.values() for item in items if item.user_id is not None}
    if named - people.keys():
        # waiting_for named someone who is neither a card's coordinator nor a task's owner (a new kind of item)
        people |= await _people(db, named - people.keys())

    columns = {phase: Column(phase, [], per_phase.get(phase, 0)) for phase in shown_phases}
    for project, supplier in rows:
        nxt, late, at_risk = steps.get(project.id, (None, 0, 0))
        columns[project.phase].cards.append(
            Card(
                project=project,
                supplier=supplier,
                health=health(nxt.status, nxt.due_date, day) if nxt else Health.done,
                next=nxt,
                late=late,
                at_risk=at_risk,
                waiting=group_by_person(project, waiting.get(project.id, []), people),
                notes=notes_of.get(project.id, []),
            )
        )
    for column in columns.values():
        column.cards.sort(key=lambda c: c.sort_key)
    return Board(
        columns=list(columns.values()),
        filters=filters,
        coordinators=coordinators,
        clients=clients,
        suppliers=suppliers,
        today=day,
        page=page,
        pages=pages,
        count=sum(per_phase.values()),
        late=int(late_total or 0),
        at_risk=int(at_risk_total or 0),
        unassigned=int(unassigned or 0),
        page_size=PAGE_SIZE,
    )


class ClientChoice(NamedTuple):
    id: int
    name: str


class SupplierChoice(NamedTuple):
    id: int
    name_en: str
    name_zh: str


async def filter_choices(
    db: AsyncSession,
) -> tuple[list[User], list[ClientChoice], list[SupplierChoice]]:
    """The filters' choices: the active staff, and the clients and suppliers as (id, names) only: an agency has a
    thousand clients, and loading each as an entity cost the board more than its cards' projects."""
    staff = await db.scalars(
        select(User).where(User.is_staff.is_(True), User.is_active.is_(True)).order_by(User.name, User.email)
    )
    clients = await db.execute(
        select(Organization.id, Organization.name)
        .where(Organization.archived_at.is_(None))
        .order_by(Organization.name)
    )
    suppliers = await db.execute(
        select(Supplier.id, Supplier.name_en, Supplier.name_zh)
        .where(Supplier.archived_at.is_(None))
        .order_by(Supplier.name_en)
    )
    return (
        list(staff.all()),
        [ClientChoice(*row) for row in clients.all()],
        [SupplierChoice(*row) for row in suppliers.all()],
    )


@cache
def _choices(dialect: str) -> Any:
    """The filters' choices (`filter_choices`: the active staff, the clients, the suppliers) and the people who own
    the open tasks of the page's projects (bound as `ids`: a card names whom it waits on), in one statement: rows
    (list, id, name, detail), each list in its page order."""
    staff: Any = select(
        literal_column("0").label("list"), User.id, User.name, User.email.label("detail")
    ).where(User.is_staff.is_(True), User.is_active.is_(True))
    clients: Any = select(literal_column("1"), Organization.id, Organization.name, null()).where(
        Organization.archived_at.is_(None)
    )
    suppliers: Any = select(literal_column("2"), Supplier.id, Supplier.name_en, Supplier.name_zh).where(
        Supplier.archived_at.is_(None)
    )
    owners: Any = select(literal_column("3"), User.id, User.name, User.email).where(
        User.id.in_(
            select(Task.owner_id).where(
                among(Task.project_id, "ids", dialect), Task.status == TaskStatus.open
            )
        )
    )
    listed = union_all(staff, clients, suppliers, owners).subquery()
    return select(listed).order_by(listed.c.list, listed.c.name, listed.c.detail, listed.c.id)


async def _choices_and_owners(
    db: AsyncSession, ids: list[int]
) -> tuple[list[Person], list[ClientChoice], list[SupplierChoice], dict[int, Person]]:
    staff: list[Person] = []
    clients: list[ClientChoice] = []
    suppliers: list[SupplierChoice] = []
    owners: dict[int, Person] = {}
    for listed, row_id, name, detail in (await db.execute(_choices(dialect_of(db)), {"ids": ids})).all():
        if listed == 0:
            staff.append(Person(row_id, name, detail))
        elif listed == 1:
            clients.append(ClientChoice(row_id, name))
        elif listed == 2:
            suppliers.append(SupplierChoice(row_id, name, detail))
        else:
            owners[row_id] = Person(row_id, name, detail)
    return staff, clients, suppliers, owners


async def _people(db: AsyncSession, ids: Iterable[int]) -> dict[int, Person]:
    """These people, as columns."""
    rows = await db.execute(select(User.id, User.name, User.email).where(User.id.in_(sorted(ids))))
    return {row.id: Person(row.id, row.name, row.email) for row in rows.all()}


def _note(
    kind: str, status: ConditionStatus, since: datetime, milestone_id: int, owner: Person | None
) -> Note:
    found = condition_kinds.KINDS.get(kind)
    return Note(
        title=_(found.title) if found else kind,
        owner=owner.display_name if owner else _("nobody"),
        since=since,
        escalated=status == ConditionStatus.escalated,
        milestone_id=milestone_id,
    )


def _notes(conditions: Sequence[Condition], people: dict[int, User]) -> list[Note]:
    notes = []
    for condition in conditions:
        kind = condition_kinds.KINDS.get(condition.kind)
        owner = people.get(condition.owner_id) if condition.owner_id else None
        notes.append(
            Note(
                title=_(kind.title) if kind else condition.kind,
                owner=owner.display_name if owner else _("nobody"),
                since=condition.raised_at,
                escalated=condition.status == ConditionStatus.escalated,
                milestone_id=condition.subject_id,
            )
        )
    return notes


COUNTED = {
    "question": lambda n: ngettext("%(num)d question", "%(num)d questions", n) % {"num": n},
    "change_request": lambda n: ngettext("%(num)d change request", "%(num)d change requests", n) % {"num": n},
    "task": lambda n: ngettext("%(num)d task", "%(num)d tasks", n) % {"num": n},
}


def _short(item: WaitingItem) -> str:
    if item.kind == "feasibility_review":
        return _("feasibility review")
    if item.kind == "go_ahead":
        return _("go-ahead for development")
    if item.kind == "sample_decision":
        return _("decision on sample round %(number)s") % {"number": item.number}
    if item.kind == "sample_round":
        return _("sample round %(number)s") % {"number": item.number}
    return item.text


def group_by_person(
    project: CardProject, items: Sequence[WaitingItem], people: dict[int, Person]
) -> list[Waiting]:
    """waiting_for's items of one project, besides its milestones (the card shows those), by whom: the brand
    first, then the coordinator, then anyone else named; several questions, change requests or tasks counted."""
    coordinator = project.coordinator.display_name if project.coordinator else _("the coordinator")
    brand = _("the brand")
    groups: dict[str, Waiting] = {}
    entries: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item.kind == "milestone":
            continue
        if item.party == Party.brand:
            who = brand
        elif item.user_id is None or item.user_id == project.coordinator_id:
            who = coordinator
        else:
            person = people.get(item.user_id)
            who = person.display_name if person else coordinator
        group = groups.setdefault(who, Waiting(who=who, brand=item.party == Party.brand, items=[]))
        if item.kind in COUNTED:
            if group.kinds[item.kind] == 0:
                entries[who].append(item.kind)
        else:
            entries[who].append(_short(item))
        group.kinds[item.kind] += 1
    for who, group in groups.items():
        group.items = [COUNTED[e](group.kinds[e]) if e in COUNTED else e for e in entries[who]]
    order = [brand, coordinator]
    return sorted(groups.values(), key=lambda g: (order.index(g.who) if g.who in order else 2, g.who))


# -- my work ---------------------------------------------------------------------------------------------------------


@dataclass
class WorkItem:
    project: Project
    milestone: Milestone | None = None
    task: Task | None = None
    question: Question | None = None
    health: Health | None = None
    notes: list[Note] = field(default_factory=list)

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
    page: int = 1
    pages: int = 1
    totals: dict[str, int] = field(default_factory=dict)

    def total(self, name: str) -> str:
        """A list's total as the page shows it: counted up to COUNT_CAP, then "2500+"."""
        count = self.totals.get(name, 0)
        return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)

    def url(self, page: int) -> str:
        query = f"?user={self.person.id}" + (f"&page={page}" if page > 1 else "")
        return "/coordinator/work" + query

    @property
    def previous_url(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None


def _live_project() -> Any:
    return and_(Project.archived_at.is_(None), Project.phase.in_(BOARD_PHASES))


@dataclass(frozen=True)
class _WorkStatements:
    totals: Any
    milestones: Any
    tasks: Any
    questions: Any


@lru_cache(maxsize=8)
def _work_statements(day: date, page_size: int, cap: int) -> _WorkStatements:
    """ "My work"'s statements for `day` (its lists `page_size` rows a page, its counts up to `cap`), built once and
    bound per request with the person (`person`) and the first row of the page (`first`): building them cost about
    a fifth of the page's CPU."""
    person = bindparam("person", type_=Integer)
    first = bindparam("first", type_=Integer)
    mine_milestone = and_(
        Milestone.owner_id == person, Milestone.status != MilestoneStatus.done, _live_project()
    )
    mine_task = and_(
        Task.status == TaskStatus.open,
        or_(Task.owner_id == person, and_(Task.owner_id.is_(None), Project.coordinator_id == person)),
        _live_project(),
    )
    mine_question = and_(
        Question.answered_at.is_(None),
        or_(Question.asked_by_id == person, Project.coordinator_id == person),
        _live_project(),
    )

    def counted(model: Any, where: Any) -> Any:
        return capped_count(
            select(literal(1)).select_from(model).join(Project, Project.id == model.project_id).where(where),
            cap,
        )

    def listed(model: Any, where: Any, *order: Any) -> Any:
        return (
            select(model, Project)
            .join(Project, Project.id == model.project_id)
            .where(where)
            .options(joinedload(Project.org))
            .order_by(*order)
            .offset(first)
            .limit(page_size)
        )

    return _WorkStatements(
        totals=select(
            counted(Milestone, mine_milestone), counted(Task, mine_task), counted(Question, mine_question)
        ),
        milestones=listed(
            Milestone,
            mine_milestone,
            milestone_urgency(day),
            Milestone.due_date.is_(None),
            Milestone.due_date,
            func.lower(Project.name),
            Milestone.id,
        ),
        tasks=listed(
            Task,
            mine_task,
            case((Task.due_date < day, 0), else_=1),
            Task.due_date.is_(None),
            Task.due_date,
            Task.created_at,
            Task.id,
        ),
        questions=listed(Question, mine_question, Question.created_at, Question.id),
    )


async def load_work(db: AsyncSession, person: User, *, me: User, day: date, page: int = 1) -> Work:
    """One page of each list (the same page number for the three), with their totals (counted up to COUNT_CAP).
    Six statements."""
    statements = _work_statements(day, PAGE_SIZE, COUNT_CAP)
    totals_row = (await db.execute(statements.totals, {"person": person.id})).one()
    totals = {"milestones": int(totals_row[0]), "tasks": int(totals_row[1]), "questions": int(totals_row[2])}
    pages = max([1, *((min(n, COUNT_CAP) + PAGE_SIZE - 1) // PAGE_SIZE for n in totals.values())])
    page = min(clamp_page(page), pages)
    bound = {"person": person.id, "first": (page - 1) * PAGE_SIZE}

    milestone_rows = (await db.execute(statements.milestones, bound)).all()
    milestones = [
        WorkItem(project=p, milestone=m, health=milestone_health(m, day)) for m, p in milestone_rows
    ]
    tasks = [
        WorkItem(
            project=p,
            task=t,
            health=Health.late if t.due_date and t.due_date < day else Health.on_track,
        )
        for t, p in (await db.execute(statements.tasks, bound)).all()
    ]
    questions = [
        WorkItem(project=p, question=q) for q, p in (await db.execute(statements.questions, bound)).all()
    ]
    staff = list(
        (
            await db.scalars(
                select(User)
                .where(User.is_staff.is_(True), User.is_active.is_(True))
                .order_by(User.name, User.email)
            )
        ).all()
    )
    conditions = await unresolved_for(
        db, subject_type="milestone", subject_ids=[w.milestone.id for w in milestones if w.milestone]
    )
    people = {u.id: u for u in staff}
    people.setdefault(person.id, person)
    for note in _notes(conditions, people):
        for item in milestones:
            if item.milestone and item.milestone.id == note.milestone_id:
                item.notes.append(note)
    return Work(
        person=person,
        is_me=person.id == me.id,
        milestones=milestones,
        tasks=tasks,
        questions=questions,
        staff=staff,
        today=day,
        page=page,
        pages=pages,
        totals=totals,
    )
