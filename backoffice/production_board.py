"""The live production board: a job card per lot, in the column of where the lot is.

Planned / Pending parts / Tooling / In production / Inspection / On hold / Packed / Shipped: the rule is
`makeready.production.board_columns.column_of_lot()`, and each lot's column is stored on the lot
(`lots.board_column`, kept on every flush that changes what the rule reads). So each column is one page read in
the order of the index on (board_column, planned_start, order_id, number) (most urgent first: the earliest planned
start) and counted on it, in a fixed number of statements whatever the number of lots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from backoffice.board_queries import filter_choices
from makeready.accounts.models import Organization, User
from makeready.conditions import kinds as condition_kinds
from makeready.conditions.models import Condition, ConditionStatus
from makeready.conditions.service import unresolved_for
from makeready.db.types import utcnow
from makeready.i18n import _
from makeready.production.board_columns import BoardColumn
from makeready.production.lots import produced_count
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.projects.models import Milestone, MilestoneStatus, Project
from makeready.suppliers.models import Supplier

PAGE_SIZE = 12
"""Cards per column (eight columns: at most 96 job cards a page; a column with more has a "more" link)."""
MAX_PAGE = 100
AFTER_PRODUCTION = frozenset(LotStatus) - {LotStatus.planned, LotStatus.in_production, LotStatus.cancelled}


@dataclass
class BoardFilters:
    coordinator: int | None = None
    """None: every coordinator's lots (the page sets the caller's by default)."""
    client: int | None = None
    factory: int | None = None

    def query(self, page: int | None = None) -> str:
        parts = [f"coordinator={self.coordinator if self.coordinator is not None else 'all'}"]
        parts += [
            f"{k}={v}" for k, v in (("client", self.client), ("factory", self.factory)) if v is not None
        ]
        if page and page > 1:
            parts.append(f"page={page}")
        return "?" + "&".join(parts)


@dataclass(frozen=True)
class Note:
    """A sticky note: an open condition on the card's lot."""

    kind: str
    title: str
    owner: str
    since: datetime
    escalated: bool


@dataclass
class JobCard:
    lot: Lot
    order: ProductionOrder
    supplier: Supplier
    project: Project
    client: Organization
    produced: int
    next: Milestone | None
    notes: list[Note] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.produced / self.lot.quantity)) if self.lot.quantity else 0


@dataclass
class Column:
    column: BoardColumn
    cards: list[JobCard]
    total: int


@dataclass
class ProductionBoard:
    columns: list[Column]
    filters: BoardFilters
    coordinators: list[User]
    clients: list[Organization]
    suppliers: list[Supplier]
    today: date
    page: int = 1
    pages: int = 1
    count: int = 0
    page_size: int = PAGE_SIZE

    def more(self, column: Column) -> int:
        """How many of the column's cards come after this page (its "more" link goes to the next page)."""
        return max(0, column.total - (self.page - 1) * self.page_size - len(column.cards))

    @property
    def previous_url(self) -> str | None:
        return "/coordinator/production/board" + self.filters.query(self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        if self.page < self.pages:
            return "/coordinator/production/board" + self.filters.query(self.page + 1)
        return None


def board_lots(filters: BoardFilters, *columns: Any) -> Select[Any]:
    """`columns` of the lots on the board (a stored column), with the filters' joins."""
    query = select(*columns).select_from(Lot).where(Lot.board_column.is_not(None))
    if filters.coordinator is not None:
        query = query.join(Project, Project.id == Lot.project_id).where(
            Project.coordinator_id == filters.coordinator
        )
    if filters.client is not None or filters.factory is not None:
        query = query.join(ProductionOrder, ProductionOrder.id == Lot.order_id)
    if filters.client is not None:
        query = query.where(ProductionOrder.org_id == filters.client)
    if filters.factory is not None:
        query = query.where(ProductionOrder.supplier_id == filters.factory)
    return query


async def load_production_board(
    db: AsyncSession, filters: BoardFilters, *, page: int = 1, day: date | None = None
) -> ProductionBoard:
    """One page of each column. Statements: the columns' counts, the page's lots with their orders, factories,
    projects and clients, the orders' next open milestones, the lots' open conditions, the people they name, and
    the filters' choices."""
    today = day or utcnow().date()
    totals = {
        BoardColumn(col): int(n)
        for col, n in (
            await db.execute(board_lots(filters, Lot.board_column, func.count()).group_by(Lot.board_column))
        ).all()
    }
    pages = max([1, *((n + PAGE_SIZE - 1) // PAGE_SIZE for n in totals.values())])
    page = min(max(page, 1), pages, MAX_PAGE)
    first = (page - 1) * PAGE_SIZE
    # one page of each column that has cards on it, in the index's order, in one statement
    pages_of = [
        board_lots(
            filters,
            Lot.id.label("id"),
            Lot.board_column.label("col"),
            Lot.planned_start.label("start"),
            Lot.order_id.label("order_id"),
            Lot.number.label("number"),
        )
        .where(Lot.board_column == col.value)
        .order_by(Lot.planned_start, Lot.order_id, Lot.number)
        .offset(first)
        .limit(PAGE_SIZE)
        .subquery()
        for col in BoardColumn
        if totals.get(col, 0) > first
    ]
    placed: dict[int, tuple[str, tuple[date, int, int]]] = {}
    if pages_of:
        for lot_id, col, start, order_id, number in (
            await db.execute(union_all(*(select(*sub.c) for sub in pages_of)))
        ).all():
            placed[lot_id] = (col, (start, order_id, number))
    found = (
        (
            await db.execute(
                select(Lot, ProductionOrder, Supplier, Project, Organization)
                .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
                .join(Supplier, Supplier.id == ProductionOrder.supplier_id)
                .join(Project, Project.id == Lot.project_id)
                .join(Organization, Organization.id == ProductionOrder.org_id)
                .where(Lot.id.in_(list(placed)))
                .options(joinedload(Project.coordinator))
            )
        ).all()
        if placed
        else []
    )
    rows = sorted(
        (
            (lot, placed[lot.id][0], order, supplier, project, client)
            for lot, order, supplier, project, client in found
        ),
        key=lambda row: (row[1], placed[row[0].id][1]),
    )
    order_ids = sorted({order.id for _l, _c, order, _s, _p, _o in rows})
    next_of: dict[int, Milestone] = {}
    if order_ids:
        for milestone in (
            await db.scalars(
                select(Milestone)
                .where(Milestone.production_order_id.in_(order_ids), Milestone.status != MilestoneStatus.done)
                .options(joinedload(Milestone.owner))
                .order_by(Milestone.due_date, Milestone.position)
            )
        ).all():
            assert milestone.production_order_id is not None
            next_of.setdefault(milestone.production_order_id, milestone)
    conditions = await unresolved_for(db, subject_type="lot", subject_ids=[lot.id for lot, *_rest in rows])
    people = await _people(db, rows, [c.owner_id for c in conditions])
    notes_of: dict[int, list[Note]] = defaultdict(list)
    for condition in conditions:
        notes_of[condition.subject_id].append(_note(condition, people))
    columns = {col: Column(col, [], totals.get(col, 0)) for col in BoardColumn}
    for lot, col, order, supplier, project, client in rows:
        produced = (
            lot.quantity if lot.status in AFTER_PRODUCTION else min(produced_count(order, lot), lot.quantity)
        )
        columns[BoardColumn(col)].cards.append(
            JobCard(
                lot=lot,
                order=order,
                supplier=supplier,
                project=project,
                client=client,
                produced=produced,
                next=next_of.get(order.id),
                notes=notes_of.get(lot.id, []),
            )
        )
    coordinators, clients, suppliers = await filter_choices(db)
    return ProductionBoard(
        columns=list(columns.values()),
        filters=filters,
        coordinators=coordinators,
        clients=clients,
        suppliers=suppliers,
        today=today,
        page=page,
        pages=pages,
        count=sum(totals.values()),
        page_size=PAGE_SIZE,
    )


async def _people(db: AsyncSession, rows: Sequence[Any], ids: list[int | None]) -> dict[int, User]:
    known = {p.coordinator.id: p.coordinator for *_rest, p, _o in rows if p.coordinator is not None}
    wanted = sorted({i for i in ids if i is not None} - set(known))
    if rows:
        for user in (await db.scalars(select(User).where(User.id.in_(wanted)))).all():
            known[user.id] = user
    return known


def _note(condition: Condition, people: dict[int, User]) -> Note:
    kind = condition_kinds.KINDS.get(condition.kind)
    owner = people.get(condition.owner_id) if condition.owner_id else None
    return Note(
        kind=condition.kind,
        title=_(kind.title) if kind else condition.kind,
        owner=owner.display_name if owner else _("nobody"),
        since=condition.raised_at,
        escalated=condition.status == ConditionStatus.escalated,
    )
