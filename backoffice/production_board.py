"""The live production board: a job card per lot, in the column of where the lot is.

Planned / Pending parts / Tooling / In production / Inspection / On hold / Packed / Shipped: the rule is
`makeready.production.board_columns.column_of_lot()`, and each lot's column is stored on the lot
(`lots.board_column`, kept on every flush that changes what the rule reads). So each column is one page read in
the order of the index on (board_column, planned_start, order_id, number) (most urgent first: the earliest planned
start) and counted on it, in a fixed number of statements whatever the number of lots.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import CompoundSelect, Integer, Select, bindparam, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Executable

from backoffice.board_queries import ClientChoice, SupplierChoice, filter_choices
from makeready.accounts.models import Organization, User
from makeready.conditions import kinds as condition_kinds
from makeready.conditions.models import Condition, ConditionStatus
from makeready.db.types import utcnow
from makeready.i18n import _
from makeready.production.board_columns import BoardColumn
from makeready.production.lots import produced_step_of
from makeready.production.models import Lot, LotStatus, ProductionOrder, order_reference
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


# What a job card shows, read as columns rather than ORM rows: a page has 96 cards, and building and populating
# their lots, orders, projects, factories and clients as entities cost more CPU than the whole SQL.


@dataclass(frozen=True, slots=True)
class CardLot:
    id: int
    number: int
    quantity: int
    planned_start: date
    planned_end: date
    status: LotStatus
    progress: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class CardOrder:
    id: int
    project_id: int
    number: int
    routing: list[str] | None

    @property
    def reference(self) -> str:
        return order_reference(self.project_id, self.number)


@dataclass(frozen=True, slots=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CardFactory:
    id: int
    name_en: str


@dataclass(frozen=True, slots=True)
class NextItem:
    """The order's first open milestone."""

    title: str
    due_date: date | None
    owner: str | None
    """The owner's name (or email), None: nobody."""


@dataclass
class JobCard:
    lot: CardLot
    order: CardOrder
    supplier: CardFactory
    project: Named
    client: Named
    produced: int
    next: NextItem | None
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
    clients: list[ClientChoice]
    suppliers: list[SupplierChoice]
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


def board_lots(shape: tuple[bool, bool, bool], *columns: Any) -> Select[Any]:
    """`columns` of the lots on the board (a stored column), with the joins and bound parameters of the filters
    in use (`shape`: coordinator, client, factory)."""
    coordinator, client, factory = shape
    query = select(*columns).select_from(Lot).where(Lot.board_column.is_not(None))
    if coordinator:
        query = query.join(Project, Project.id == Lot.project_id).where(
            Project.coordinator_id == bindparam("coordinator")
        )
    if client or factory:
        query = query.join(ProductionOrder, ProductionOrder.id == Lot.order_id)
    if client:
        query = query.where(ProductionOrder.org_id == bindparam("client"))
    if factory:
        query = query.where(ProductionOrder.supplier_id == bindparam("factory"))
    return query


# The statements are built once per shape of filters and bound per request: building eight paged subqueries and
# their union costs more CPU than running them.


@functools.cache
def _counts(shape: tuple[bool, bool, bool]) -> Select[Any]:
    return board_lots(shape, Lot.board_column, func.count()).group_by(Lot.board_column)


CARD = (
    Lot.id,
    Lot.number,
    Lot.quantity,
    Lot.planned_start,
    Lot.planned_end,
    Lot.status,
    Lot.progress,
    ProductionOrder.id,
    ProductionOrder.project_id,
    ProductionOrder.number,
    ProductionOrder.routing,
    Supplier.id,
    Supplier.name_en,
    Project.id,
    Project.name,
    Organization.id,
    Organization.name,
    Lot.board_column,
)
"""A job card's columns, in the order of its parts' fields (CardLot, CardOrder, CardFactory, project, client)."""


@functools.cache
def _pages(shape: tuple[bool, bool, bool]) -> CompoundSelect:
    """One page (`first`, `size`) of each column with its cards' columns, each read in the order of the index
    ix_lots_board and joined to its order, factory, project and client by primary key."""
    coordinator, client, factory = shape
    branches = []
    for col in BoardColumn:
        branch = (
            select(*CARD)
            .select_from(Lot)
            .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
            .join(Supplier, Supplier.id == ProductionOrder.supplier_id)
            .join(Project, Project.id == Lot.project_id)
            .join(Organization, Organization.id == ProductionOrder.org_id)
            .where(Lot.board_column == col.value)
        )
        if coordinator:
            branch = branch.where(Project.coordinator_id == bindparam("coordinator"))
        if client:
            branch = branch.where(ProductionOrder.org_id == bindparam("client"))
        if factory:
            branch = branch.where(ProductionOrder.supplier_id == bindparam("factory"))
        branches.append(
            branch.order_by(Lot.planned_start, Lot.order_id, Lot.number)
            .offset(bindparam("first", type_=Integer))
            .limit(bindparam("size", type_=Integer))
            .subquery()
        )
    return union_all(*(select(*sub.c) for sub in branches))


@functools.cache
def _next_milestones() -> Executable:
    """Each order's first open milestone only (its plan has a dozen), with its owner's name: per order, the first
    row of the index ix_milestones_open_order (a seek, no sort)."""
    other = aliased(Milestone)
    first_open = (
        select(other.id)
        .where(other.production_order_id == ProductionOrder.id, other.status != MilestoneStatus.done)
        .order_by(other.due_date, other.position, other.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(Milestone.production_order_id, Milestone.title, Milestone.due_date, User.name, User.email)
        .outerjoin(User, User.id == Milestone.owner_id)
        .where(
            Milestone.id.in_(
                select(first_open).where(ProductionOrder.id.in_(bindparam("orders", expanding=True)))
            )
        )
    )


@functools.cache
def _open_conditions() -> Executable:
    """The lots' unresolved conditions, oldest first, with their owners' names."""
    return (
        select(
            Condition.subject_id,
            Condition.kind,
            Condition.raised_at,
            Condition.status,
            User.name,
            User.email,
        )
        .outerjoin(User, User.id == Condition.owner_id)
        .where(
            Condition.subject_type == "lot",
            Condition.subject_id.in_(bindparam("lots", expanding=True)),
            Condition.resolved_at.is_(None),
        )
        .order_by(Condition.raised_at, Condition.id)
    )


async def load_production_board(
    db: AsyncSession, filters: BoardFilters, *, page: int = 1, day: date | None = None
) -> ProductionBoard:
    """One page of each column. Statements: the columns' counts, the page's lots, their rows with their orders,
    factories, projects and clients, the orders' next open milestones, the lots' open conditions, the people they
    name, and the filters' choices."""
    today = day or utcnow().date()
    shape = (filters.coordinator is not None, filters.client is not None, filters.factory is not None)
    params = {
        key: value
        for key, value in (
            ("coordinator", filters.coordinator),
            ("client", filters.client),
            ("factory", filters.factory),
        )
        if value is not None
    }
    totals = {BoardColumn(col): int(n) for col, n in (await db.execute(_counts(shape), params)).all()}
    pages = max([1, *((n + PAGE_SIZE - 1) // PAGE_SIZE for n in totals.values())])
    page = min(max(page, 1), pages, MAX_PAGE)
    first = (page - 1) * PAGE_SIZE
    found = (
        (await db.execute(_pages(shape), {**params, "first": first, "size": PAGE_SIZE})).all()
        if any(n > first for n in totals.values())
        else []
    )
    cards = sorted(
        (
            (
                row[17],
                CardLot(*row[0:7]),
                CardOrder(*row[7:11]),
                CardFactory(*row[11:13]),
                Named(*row[13:15]),
                Named(*row[15:17]),
            )
            for row in found
        ),
        key=lambda card: (card[0], card[1].planned_start, card[2].id, card[1].number),
    )
    order_ids = sorted({order.id for _c, _l, order, *_rest in cards})
    next_of = {
        order_id: NextItem(title, due, name or email)
        for order_id, title, due, name, email in (
            (await db.execute(_next_milestones(), {"orders": order_ids})).all() if order_ids else []
        )
    }
    notes_of: dict[int, list[Note]] = defaultdict(list)
    if cards:
        for lot_id, kind, raised_at, status, name, email in (
            await db.execute(_open_conditions(), {"lots": [lot.id for _c, lot, *_rest in cards]})
        ).all():
            known = condition_kinds.KINDS.get(kind)
            notes_of[lot_id].append(
                Note(
                    kind=kind,
                    title=_(known.title) if known else kind,
                    owner=name or email or _("nobody"),
                    since=raised_at,
                    escalated=status == ConditionStatus.escalated,
                )
            )
    columns = {col: Column(col, [], totals.get(col, 0)) for col in BoardColumn}
    for col, lot, order, supplier, project, client in cards:
        produced = (
            lot.quantity
            if lot.status in AFTER_PRODUCTION
            else min(int((lot.progress or {}).get(produced_step_of(order.routing), 0)), lot.quantity)
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
