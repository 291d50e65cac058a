"""Production's conditions: what the hourly pass raises on orders and lots, and clears when the cause is gone.

- "production_order.not_accepted": a sent order the factory has not accepted within ACCEPT_WITHIN;
- "lot.no_report": a lot in production with no progress report for the order's `report_interval_days`;
- "lot.behind_plan": a lot's produced count behind its linear plan by more than BEHIND_SHARE of the lot;
- "production_order.ex_factory_at_risk": at the rate reported so far, the order cannot be produced before its
  final inspection (ex-factory less the plan's FINAL_INSPECTION_DAYS).

Each condition is owned by the project's coordinator and escalates once (its ladder step) if it stays open. The
pass works in batches of orders by id, each batch in its own short transaction (makeready.production.jobs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.conditions.service import raise_condition, resolve_condition, unresolved_for
from makeready.i18n import N_
from makeready.production.lots import produced_count
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder
from makeready.production.plan import FINAL_INSPECTION_DAYS
from makeready.projects.models import Project

ACCEPT_WITHIN = timedelta(hours=48)
BEHIND_SHARE = 0.10
ESCALATE_AFTER = timedelta(days=2)
BATCH = 200
"""Orders one batch looks at (with their lots)."""

NOT_ACCEPTED = kinds.define(
    kinds.Kind(
        name="production_order.not_accepted",
        subject_type="production_order",
        title=N_("The factory has not accepted the order"),
        ladder=(kinds.Step(after=ESCALATE_AFTER, event="production_order.not_accepted_escalated"),),
    )
)
AT_RISK = kinds.define(
    kinds.Kind(
        name="production_order.ex_factory_at_risk",
        subject_type="production_order",
        title=N_("The ex-factory date cannot be met at the reported rate"),
        ladder=(kinds.Step(after=ESCALATE_AFTER, event="production_order.ex_factory_escalated"),),
    )
)
NO_REPORT = kinds.define(
    kinds.Kind(
        name="lot.no_report",
        subject_type="lot",
        title=N_("No progress report"),
        ladder=(kinds.Step(after=ESCALATE_AFTER, event="lot.no_report_escalated"),),
    )
)
BEHIND_PLAN = kinds.define(
    kinds.Kind(
        name="lot.behind_plan",
        subject_type="lot",
        title=N_("Progress behind plan"),
        ladder=(kinds.Step(after=ESCALATE_AFTER, event="lot.behind_plan_escalated"),),
    )
)
CAUSE_GONE = {
    NOT_ACCEPTED.name: N_("The factory has answered the order."),
    AT_RISK.name: N_("The reported rate meets the ex-factory date again."),
    NO_REPORT.name: N_("The factory reported progress."),
    BEHIND_PLAN.name: N_("Progress has caught up with the plan."),
}
WATCHED = (OrderStatus.sent, OrderStatus.in_production)


@dataclass
class PassReport:
    raised: list[tuple[str, int]] = field(default_factory=list)
    resolved: list[tuple[str, int]] = field(default_factory=list)
    last_id: int | None = None

    def add(self, other: PassReport) -> None:
        self.raised += other.raised
        self.resolved += other.resolved


def expected_by(lot: Lot, today: date) -> int:
    """Units the lot's linear plan expects produced by the end of `today` (0 before it starts)."""
    if today < lot.planned_start:
        return 0
    days = (lot.planned_end - lot.planned_start).days + 1
    done = min(days, (today - lot.planned_start).days + 1)
    return math.floor(lot.quantity * done / days)


def behind_plan(order: ProductionOrder, lot: Lot, today: date) -> bool:
    return expected_by(lot, today) - produced_count(order, lot) > BEHIND_SHARE * lot.quantity


def no_report(order: ProductionOrder, lot: Lot, now: datetime) -> bool:
    since = lot.last_report_at or lot.started_at
    return since is not None and now - since > timedelta(days=order.report_interval_days)


def ex_factory_at_risk(order: ProductionOrder, lots: list[Lot], today: date) -> bool:
    """Produced so far over the days since production started gives a rate; the rest at that rate must finish
    before the final inspection. No rate yet (nothing produced) is "no report", not this."""
    if order.production_started_at is None:
        return False
    running = [lot for lot in lots if lot.status != LotStatus.cancelled]
    produced = sum(
        lot.quantity
        if lot.status not in (LotStatus.planned, LotStatus.in_production)
        else produced_count(order, lot)
        for lot in running
    )
    remaining = sum(lot.quantity for lot in running) - produced
    if remaining <= 0 or produced <= 0:
        return False
    elapsed = max(1, (today - order.production_started_at.date()).days + 1)
    days_needed = math.ceil(remaining / (produced / elapsed))
    return today + timedelta(days=days_needed) > order.ex_factory_date - timedelta(days=FINAL_INSPECTION_DAYS)


async def run_production_checks(
    session: AsyncSession, *, now: datetime, after_id: int = 0, limit: int = BATCH
) -> PassReport:
    """One batch: the sent and running orders with an id above `after_id`, and their lots."""
    today = now.date()
    report = PassReport()
    rows = (
        await session.execute(
            select(ProductionOrder, Project.coordinator_id)
            .join(Project, Project.id == ProductionOrder.project_id)
            .where(ProductionOrder.id > after_id, ProductionOrder.status.in_(WATCHED))
            .order_by(ProductionOrder.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return report
    order_ids = [order.id for order, _c in rows]
    lots_by_order: dict[int, list[Lot]] = {}
    for lot in (await session.scalars(select(Lot).where(Lot.order_id.in_(order_ids)).order_by(Lot.id))).all():
        lots_by_order.setdefault(lot.order_id, []).append(lot)
    open_conditions: dict[tuple[str, int], Condition] = {}
    for subject_type, ids in (
        ("production_order", order_ids),
        ("lot", [lot.id for lots in lots_by_order.values() for lot in lots]),
    ):
        for condition in await unresolved_for(session, subject_type=subject_type, subject_ids=ids):
            open_conditions[(condition.kind, condition.subject_id)] = condition

    async def settle(
        kind: kinds.Kind,
        subject_id: int,
        holds: bool,
        order: ProductionOrder,
        owner: int | None,
        details: dict[str, object],
    ) -> None:
        current = open_conditions.get((kind.name, subject_id))
        if holds and current is None:
            raised = await raise_condition(
                session,
                kind=kind,
                subject_id=subject_id,
                org_id=order.org_id,
                project_id=order.project_id,
                owner_id=owner,
                now=now,
                details={"order": order.reference, **details},
            )
            if raised is not None:
                report.raised.append((kind.name, subject_id))
        elif not holds and current is not None:
            await resolve_condition(session, current, reason=CAUSE_GONE[kind.name], now=now)
            report.resolved.append((kind.name, subject_id))

    for order, coordinator_id in rows:
        lots = lots_by_order.get(order.id, [])
        waiting = (
            order.status == OrderStatus.sent
            and order.sent_at is not None
            and now - order.sent_at > ACCEPT_WITHIN
        )
        await settle(NOT_ACCEPTED, order.id, waiting, order, coordinator_id, {"sent_at": order.sent_at})
        await settle(
            AT_RISK,
            order.id,
            order.status == OrderStatus.in_production and ex_factory_at_risk(order, lots, today),
            order,
            coordinator_id,
            {"ex_factory_date": order.ex_factory_date},
        )
        for lot in lots:
            running = lot.status == LotStatus.in_production
            await settle(
                NO_REPORT,
                lot.id,
                running and no_report(order, lot, now),
                order,
                coordinator_id,
                {"lot": lot.number, "last_report_at": lot.last_report_at},
            )
            await settle(
                BEHIND_PLAN,
                lot.id,
                running and behind_plan(order, lot, today),
                order,
                coordinator_id,
                {
                    "lot": lot.number,
                    "expected": expected_by(lot, today),
                    "produced": produced_count(order, lot),
                },
            )
    if len(rows) == limit:
        report.last_id = rows[-1][0].id
    return report
