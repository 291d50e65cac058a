"""The live production board: a job card per lot, in the column of where the lot is.

Planned / Pending parts / Tooling / In production / Inspection / On hold / Packed / Shipped. The column is the
lot's status, unless something stops it: an open condition on the lot whose kind starts with "hold" puts it On
hold, one whose kind starts with "shortage" in Pending parts (materials and quality raise those), and a planned
lot whose order still waits for tooling (not every item approved, no recorded override) is in Tooling. The column
is computed in SQL, so each column is paged like the project board's (most urgent first: the earliest planned
start), in a fixed number of statements whatever the number of lots.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from backoffice.board_queries import ClientChoice, SupplierChoice, filter_choices
from makeready.accounts.models import Organization, User
from makeready.conditions import kinds as condition_kinds
from makeready.conditions.models import Condition, ConditionStatus
from makeready.conditions.service import unresolved_for
from makeready.db.types import utcnow
from makeready.i18n import N_, _
from makeready.production.lots import produced_count
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ToolingItem,
    ToolingStatus,
)
from makeready.projects.models import Milestone, MilestoneStatus, Project
from makeready.suppliers.models import Supplier

PAGE_SIZE = 12
"""Cards per column (eight columns: at most 96 job cards a page; a column with more has a "more" link)."""
MAX_PAGE = 100
HOLD_PREFIX = "hold"
SHORTAGE_PREFIX = "shortage"
INSPECTION = (
    LotStatus.produced,
    LotStatus.inspecting,
    LotStatus.passed,
    LotStatus.failed,
    LotStatus.rework,
    LotStatus.reinspecting,
    LotStatus.released,
)
SHIPPED = (LotStatus.shipped,)
OFF_BOARD_LOTS = (LotStatus.cancelled, LotStatus.delivered)
OFF_BOARD_ORDERS = (OrderStatus.closed, OrderStatus.cancelled)
AFTER_PRODUCTION = frozenset(LotStatus) - {LotStatus.planned, LotStatus.in_production, LotStatus.cancelled}


class BoardColumn(enum.StrEnum):
    planned = "planned"
    pending_parts = "pending_parts"
    tooling = "tooling"
    in_production = "in_production"
    inspection = "inspection"
    on_hold = "on_hold"
    packed = "packed"
    shipped = "shipped"

    @staticmethod
    def labels() -> dict[BoardColumn, str]:
        return {
            BoardColumn.planned: N_("Planned"),
            BoardColumn.pending_parts: N_("Pending parts"),
            BoardColumn.tooling: N_("Tooling"),
            BoardColumn.in_production: N_("In production"),
            BoardColumn.inspection: N_("Inspection"),
            BoardColumn.on_hold: N_("On hold"),
            BoardColumn.packed: N_("Packed"),
            BoardColumn.shipped: N_("Shipped"),
        }


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


def _open_condition(prefix: str) -> Any:
    """The lot has an open condition whose kind starts with `prefix`: an uncorrelated IN (computed once, not per
    lot), with the prefix as a range on `kind` so the unresolved conditions' index serves it."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Lot.id.in_(
        select(Condition.subject_id).where(
            Condition.subject_type == "lot",
            Condition.resolved_at.is_(None),
            Condition.kind >= prefix,
            Condition.kind < upper,
        )
    )


def column_of_lot() -> Any:
    """The board column of a lot, in SQL (see the module's docstring)."""
    waiting_tooling = and_(
        Lot.status == LotStatus.planned,
        ProductionOrder.tooling_override_reason == "",
        exists().where(ToolingItem.order_id == Lot.order_id, ToolingItem.status != ToolingStatus.approved),
    )
    return case(
        (_open_condition(HOLD_PREFIX), literal(BoardColumn.on_hold.value)),
        (_open_condition(SHORTAGE_PREFIX), literal(BoardColumn.pending_parts.value)),
        (waiting_tooling, literal(BoardColumn.tooling.value)),
        (Lot.status == LotStatus.planned, literal(BoardColumn.planned.value)),
        (Lot.status == LotStatus.in_production, literal(BoardColumn.in_production.value)),
        (Lot.status.in_(INSPECTION), literal(BoardColumn.inspection.value)),
        (Lot.status == LotStatus.packed, literal(BoardColumn.packed.value)),
        else_=literal(BoardColumn.shipped.value),
    )


def board_lots(filters: BoardFilters) -> Select[Any]:
    query = (
        select(
            Lot.id.label("id"),
            column_of_lot().label("col"),
            Lot.planned_start.label("start"),
            Lot.order_id.label("order_id"),
            Lot.number.label("number"),
        )
        .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
        .join(Project, Project.id == Lot.project_id)
        .where(Lot.status.not_in(OFF_BOARD_LOTS), ProductionOrder.status.not_in(OFF_BOARD_ORDERS))
    )
    if filters.coordinator is not None:
        query = query.where(Project.coordinator_id == filters.coordinator)
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
    graded = board_lots(filters).subquery()
    totals = {
        BoardColumn(col): int(n)
        for col, n in (await db.execute(select(graded.c.col, func.count()).group_by(graded.c.col))).all()
    }
    pages = max([1, *((n + PAGE_SIZE - 1) // PAGE_SIZE for n in totals.values())])
    page = min(max(page, 1), pages, MAX_PAGE)
    position = (
        func.row_number()
        .over(partition_by=graded.c.col, order_by=(graded.c.start, graded.c.order_id, graded.c.number))
        .label("position")
    )
    ranked = select(graded.c.id, graded.c.col, position).subquery()
    first = (page - 1) * PAGE_SIZE
    # the page's lots first, then their rows by id: joining the ranking to the lots made SQLite rank per row
    placed = {
        lot_id: (col, position)
        for lot_id, col, position in (
            await db.execute(
                select(ranked.c.id, ranked.c.col, ranked.c.position).where(
                    ranked.c.position > first, ranked.c.position <= first + PAGE_SIZE
                )
            )
        ).all()
    }
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
