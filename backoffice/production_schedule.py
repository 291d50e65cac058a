"""The master production schedule: week by week for the next 16 ISO weeks (from this week's Monday), the output
planned and reported per factory and per order, against each factory's declared weekly capacity.

- Planned: each lot's quantity spread evenly over its planned working days (Monday to Saturday, as most Chinese
  factories work; a lot planned on Sundays only uses its days as they are). Whole units: the first k working days
  of a lot of q units over n days plan floor(q * k / n), so a lot's weeks add up to its quantity exactly.
- Reported: the increase, week by week, of the produced step (lots.produced_step) of each lot's latest report,
  counted from its last report before the week.
- Over capacity: a factory week whose planned output (every scheduled order of the factory, whatever the filters)
  is above its weekly capacity. Behind plan: an order with a lot whose produced count is short of what its plan
  says should be made by today by more than a tenth of the lot.

A page is a page of orders (grouped by factory), read in a fixed number of statements whatever the number of
orders, lots or reports.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.board_queries import ClientChoice, SupplierChoice, filter_choices
from makeready.accounts.models import Organization, User
from makeready.db.types import utcnow
from makeready.production.lots import produced_step_of
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder, ProgressReport
from makeready.projects.models import Project
from makeready.suppliers.models import Supplier

WEEKS = 16
ORDERS_PER_PAGE = 40
MAX_PAGE = 100
WORKING_WEEKDAYS = 6
"""Monday to Saturday."""
BEHIND_SHARE = 0.10
"""An order is behind plan when a lot is short of its plan to date by more than this share of the lot."""
SCHEDULED = (
    OrderStatus.draft,
    OrderStatus.confirmed,
    OrderStatus.sent,
    OrderStatus.accepted,
    OrderStatus.in_production,
    OrderStatus.produced,
)
JUDGED = (OrderStatus.sent, OrderStatus.accepted, OrderStatus.in_production)
"""Orders whose progress is judged against their plan (a draft has no factory working on it yet)."""
RUNNING_LOTS = (LotStatus.planned, LotStatus.in_production)
AFTER_PRODUCTION = frozenset(LotStatus) - {LotStatus.planned, LotStatus.in_production, LotStatus.cancelled}


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def working_days(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    working = [d for d in days if d.weekday() < WORKING_WEEKDAYS]
    return working or days


def planned_weeks(quantity: int, start: date, end: date, weeks: list[date]) -> list[int]:
    """The lot's planned output in each week starting on the Mondays `weeks`."""
    days = working_days(start, end)
    n = len(days)
    out = []
    for monday in weeks:
        before = bisect_left(days, monday)
        through = bisect_left(days, monday + timedelta(days=7))
        out.append(quantity * through // n - quantity * before // n)
    return out


def planned_by(quantity: int, start: date, end: date, day: date) -> int:
    """What the lot's plan says is made by the end of `day`."""
    days = working_days(start, end)
    return quantity * bisect_right(days, day) // len(days)


@dataclass
class ScheduleFilters:
    coordinator: int | None = None
    """None: every coordinator's orders (the page sets the caller's by default)."""
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


@dataclass
class LotLine:
    id: int
    number: int
    quantity: int
    planned_start: date
    planned_end: date
    status: LotStatus


@dataclass
class OrderRow:
    order: ProductionOrder
    project: Project
    client: Organization
    planned: list[int]
    reported: list[int]
    lots: list[LotLine] = field(default_factory=list)
    behind: bool = False
    short: int = 0
    """Units short of the plan to date, over the lots that are behind."""


@dataclass
class FactoryRow:
    supplier: Supplier
    planned: list[int]
    reported: list[int]
    orders: list[OrderRow] = field(default_factory=list)

    @property
    def capacity(self) -> int | None:
        return self.supplier.weekly_capacity

    @property
    def over(self) -> list[bool]:
        cap = self.capacity
        return [cap is not None and planned > cap for planned in self.planned]


@dataclass
class Schedule:
    weeks: list[date]
    factories: list[FactoryRow]
    filters: ScheduleFilters
    coordinators: list[User]
    clients: list[ClientChoice]
    suppliers: list[SupplierChoice]
    today: date
    page: int
    pages: int
    total: int

    @property
    def iso_weeks(self) -> list[tuple[int, int]]:
        return [(w.isocalendar()[0], w.isocalendar()[1]) for w in self.weeks]

    @property
    def previous_url(self) -> str | None:
        return (
            "/coordinator/production/schedule" + self.filters.query(self.page - 1) if self.page > 1 else None
        )

    @property
    def next_url(self) -> str | None:
        if self.page < self.pages:
            return "/coordinator/production/schedule" + self.filters.query(self.page + 1)
        return None


def _in_window(first: date) -> Any:
    """A lot that plans output in the window, or that should be running (behind-plan lots stay on the page)."""
    return and_(
        Lot.status != LotStatus.cancelled, or_(Lot.planned_end >= first, Lot.status.in_(RUNNING_LOTS))
    )


def scheduled_orders(filters: ScheduleFilters, first: date) -> Select[Any]:
    query = (
        select(ProductionOrder.id)
        .join(Project, Project.id == ProductionOrder.project_id)
        .where(
            ProductionOrder.status.in_(SCHEDULED),
            exists().where(Lot.order_id == ProductionOrder.id, _in_window(first)),
        )
    )
    if filters.coordinator is not None:
        query = query.where(Project.coordinator_id == filters.coordinator)
    if filters.client is not None:
        query = query.where(ProductionOrder.org_id == filters.client)
    if filters.factory is not None:
        query = query.where(ProductionOrder.supplier_id == filters.factory)
    return query


def _produced(counts: dict[str, Any] | None, step: str) -> int:
    try:
        return int((counts or {}).get(step, 0))
    except (TypeError, ValueError):
        return 0


def reported_weeks(reports: list[tuple[datetime, int]], baseline: int, weeks: list[date]) -> list[int]:
    """Per week, how much the produced count grew: the week's last report against the one before it."""
    ordered = sorted(reports)
    out = []
    level = baseline
    index = 0
    for monday in weeks:
        end = monday + timedelta(days=7)
        last = level
        while index < len(ordered) and ordered[index][0].date() < end:
            last = ordered[index][1]
            index += 1
        out.append(last - level)
        level = last
    return out


async def load_schedule(
    db: AsyncSession, filters: ScheduleFilters, *, page: int = 1, day: date | None = None
) -> Schedule:
    """One page of orders grouped by factory, with their factories' totals. Statements: the count, the page's
    orders, the lots of the page's factories, their reports this window and before it, and the filters' choices."""
    today = day or utcnow().date()
    first = week_start(today)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    start_at = datetime.combine(first, time.min, tzinfo=UTC)
    ids = scheduled_orders(filters, first)
    total = int(await db.scalar(select(func.count()).select_from(ids.subquery())) or 0)
    pages = max(1, -(-total // ORDERS_PER_PAGE))
    page = min(max(page, 1), pages, MAX_PAGE)
    rows = (
        await db.execute(
            select(ProductionOrder, Supplier, Project, Organization)
            .join(Supplier, Supplier.id == ProductionOrder.supplier_id)
            .join(Project, Project.id == ProductionOrder.project_id)
            .join(Organization, Organization.id == ProductionOrder.org_id)
            .where(ProductionOrder.id.in_(ids.scalar_subquery()))
            .order_by(
                func.lower(Supplier.name_en),
                Supplier.id,
                ProductionOrder.ex_factory_date,
                ProductionOrder.id,
            )
            .offset((page - 1) * ORDERS_PER_PAGE)
            .limit(ORDERS_PER_PAGE)
        )
    ).all()
    factory_ids = sorted({supplier.id for _o, supplier, _p, _c in rows})
    # every scheduled lot of the page's factories: their load is the whole factory's, whatever the filters
    lot_rows = (
        (
            await db.execute(
                select(
                    Lot.id,
                    Lot.order_id,
                    Lot.number,
                    Lot.quantity,
                    Lot.planned_start,
                    Lot.planned_end,
                    Lot.status,
                    Lot.progress,
                    ProductionOrder.supplier_id,
                    ProductionOrder.routing,
                    ProductionOrder.status.label("order_status"),
                )
                .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
                .where(
                    ProductionOrder.supplier_id.in_(factory_ids),
                    ProductionOrder.status.in_(SCHEDULED),
                    _in_window(first),
                )
                .order_by(Lot.order_id, Lot.number)
            )
        ).all()
        if factory_ids
        else []
    )
    lot_ids = [row.id for row in lot_rows]
    reports: dict[int, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    baseline_counts: dict[int, dict[str, Any]] = {}
    if lot_ids:
        for lot_id, at, counts in (
            await db.execute(
                select(ProgressReport.lot_id, ProgressReport.reported_at, ProgressReport.counts).where(
                    ProgressReport.lot_id.in_(lot_ids), ProgressReport.reported_at >= start_at
                )
            )
        ).all():
            reports[lot_id].append((at, counts))
        latest = (
            select(ProgressReport.lot_id, func.max(ProgressReport.reported_at).label("at"))
            .where(ProgressReport.lot_id.in_(lot_ids), ProgressReport.reported_at < start_at)
            .group_by(ProgressReport.lot_id)
            .subquery()
        )
        for lot_id, counts in (
            await db.execute(
                select(ProgressReport.lot_id, ProgressReport.counts).join(
                    latest,
                    and_(latest.c.lot_id == ProgressReport.lot_id, latest.c.at == ProgressReport.reported_at),
                )
            )
        ).all():
            baseline_counts[lot_id] = counts

    factories = {
        supplier.id: FactoryRow(supplier=supplier, planned=[0] * WEEKS, reported=[0] * WEEKS)
        for _o, supplier, _p, _c in rows
    }
    order_rows = {
        order.id: OrderRow(
            order=order, project=project, client=client, planned=[0] * WEEKS, reported=[0] * WEEKS
        )
        for order, _s, project, client in rows
    }
    for row in lot_rows:
        step = produced_step_of(row.routing)
        planned = planned_weeks(row.quantity, row.planned_start, row.planned_end, weeks)
        reported = reported_weeks(
            [(at, _produced(counts, step)) for at, counts in reports.get(row.id, [])],
            _produced(baseline_counts.get(row.id), step),
            weeks,
        )
        factory = factories[row.supplier_id]
        factory.planned = [a + b for a, b in zip(factory.planned, planned, strict=True)]
        factory.reported = [a + b for a, b in zip(factory.reported, reported, strict=True)]
        shown = order_rows.get(row.order_id)
        if shown is None:
            continue
        shown.planned = [a + b for a, b in zip(shown.planned, planned, strict=True)]
        shown.reported = [a + b for a, b in zip(shown.reported, reported, strict=True)]
        shown.lots.append(
            LotLine(row.id, row.number, row.quantity, row.planned_start, row.planned_end, row.status)
        )
        if row.order_status in JUDGED:
            made = row.quantity if row.status in AFTER_PRODUCTION else _produced(row.progress, step)
            short = planned_by(row.quantity, row.planned_start, row.planned_end, today) - made
            if short > BEHIND_SHARE * row.quantity:
                shown.behind = True
                shown.short += short
    for order, supplier, _p, _c in rows:
        factories[supplier.id].orders.append(order_rows[order.id])
    coordinators, clients, suppliers = await filter_choices(db)
    return Schedule(
        weeks=weeks,
        factories=list(factories.values()),
        filters=filters,
        coordinators=coordinators,
        clients=clients,
        suppliers=suppliers,
        today=today,
        page=page,
        pages=pages,
        total=total,
    )
