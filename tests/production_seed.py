"""Production data in bulk, for the query-count tests and bench/production.py: projects in production, each with an
order at one of a few factories, its lots in every column of the board, reports, the time-and-action plan and a
few open conditions. Rows are written with bulk INSERTs (no services: this is volume, not behaviour), then the
lots' board columns are stored (`board_columns.refresh`), as the flush hook does for ORM writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.conditions.models import Condition, ConditionStatus
from makeready.production import board_columns
from makeready.production.models import (
    DEFAULT_ROUTING,
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ProgressReport,
    ToolingItem,
    ToolingStatus,
)
from makeready.production.plan import STEPS, due_dates
from makeready.projects.models import Milestone, Phase, Project
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.models import Supplier

LOT_CYCLE = (
    LotStatus.planned,
    LotStatus.in_production,
    LotStatus.in_production,
    LotStatus.produced,
    LotStatus.packed,
    LotStatus.shipped,
    LotStatus.planned,
)


async def _ids(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = await session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.all())


async def seed_production(
    session: AsyncSession,
    *,
    org_ids: list[int],
    coordinator_id: int | None,
    orders: int,
    lots_per_order: int,
    factories: int = 10,
    first: int = 1,
    today: date | None = None,
) -> list[int]:
    """`orders` orders of `lots_per_order` lots each, spread over `factories` new factories and the given
    organizations; returns the orders' ids."""
    now = datetime.now(UTC)
    today = today or now.date()
    supplier_ids = await _ids(
        session,
        Supplier,
        [
            {
                "name_en": f"Factory {first}-{n}",
                "name_zh": f"工厂 {first}-{n}",
                "weekly_capacity": 2000 + 100 * n,
            }
            for n in range(factories)
        ],
    )
    projects = [
        {
            "org_id": org_ids[n % len(org_ids)],
            "name": f"Production {first + n:05}",
            "phase": Phase.production,
            "coordinator_id": coordinator_id,
        }
        for n in range(orders)
    ]
    project_ids = await _ids(session, Project, projects)
    revision_ids = await _ids(
        session,
        SpecRevision,
        [
            {
                "org_id": p["org_id"],
                "project_id": pid,
                "number": 1,
                "status": RevisionStatus.issued,
                "content": {},
            }
            for p, pid in zip(projects, project_ids, strict=True)
        ],
    )
    order_rows = []
    for n, (p, pid, rid) in enumerate(zip(projects, project_ids, revision_ids, strict=True)):
        order_rows.append(
            {
                "org_id": p["org_id"],
                "project_id": pid,
                "number": 1,
                "supplier_id": supplier_ids[n % factories],
                "revision_id": rid,
                "status": OrderStatus.in_production if n % 4 else OrderStatus.accepted,
                "quantity": 500 * lots_per_order,
                "currency": "USD",
                "ex_factory_date": today + timedelta(days=30 + n % 60),
                "routing": list(DEFAULT_ROUTING),
                "report_interval_days": 3,
            }
        )
    order_ids = await _ids(session, ProductionOrder, order_rows)
    lot_rows = []
    for n, (order, oid) in enumerate(zip(order_rows, order_ids, strict=True)):
        for k in range(lots_per_order):
            status = LOT_CYCLE[(n + k) % len(LOT_CYCLE)]
            start = today + timedelta(days=-7 + 5 * k + n % 20)
            produced = {LotStatus.planned: 0, LotStatus.in_production: 200}.get(status, 500)
            lot_rows.append(
                {
                    "org_id": order["org_id"],
                    "order_id": oid,
                    "project_id": order["project_id"],
                    "number": k + 1,
                    "quantity": 500,
                    "planned_start": start,
                    "planned_end": start + timedelta(days=12),
                    "revision_id": order["revision_id"],
                    "status": status,
                    "progress": {"cut": produced, "assembled": produced, "finished": produced, "packed": 0},
                    "last_report_at": now if produced else None,
                }
            )
    lot_ids = await _ids(session, Lot, lot_rows)
    report_rows = []
    condition_rows = []
    for index, (lot, lid) in enumerate(zip(lot_rows, lot_ids, strict=True)):
        if lot["last_report_at"] is not None:
            for days, share in ((9, 2), (2, 1)):
                count = lot["progress"]["finished"] // share
                report_rows.append(
                    {
                        "org_id": lot["org_id"],
                        "lot_id": lid,
                        "order_id": lot["order_id"],
                        "reported_at": now - timedelta(days=days),
                        "counts": {"cut": count, "assembled": count, "finished": count, "packed": 0},
                        "reporter_name": "Wang Lei",
                        "via_link": True,
                    }
                )
        if index % 9 in (3, 6):
            condition_rows.append(
                {
                    "org_id": lot["org_id"],
                    "kind": "hold.seeded" if index % 9 == 3 else "shortage.seeded",
                    "subject_type": "lot",
                    "subject_id": lid,
                    "project_id": lot["project_id"],
                    "owner_id": coordinator_id,
                    "status": ConditionStatus.open,
                    "raised_at": now,
                }
            )
    await _ids(session, ProgressReport, report_rows)
    await _ids(session, Condition, condition_rows)
    tooling_rows = [
        {
            "org_id": order["org_id"],
            "order_id": oid,
            "project_id": order["project_id"],
            "name": "Mold",
            "status": ToolingStatus.trial,
        }
        for n, (order, oid) in enumerate(zip(order_rows, order_ids, strict=True))
        if n % 5 == 0
    ]
    await _ids(session, ToolingItem, tooling_rows)
    milestone_rows = []
    for order, oid in zip(order_rows, order_ids, strict=True):
        dates = due_dates(order["ex_factory_date"], start=None, end=None, today=today)
        for position, step in enumerate(STEPS):
            milestone_rows.append(
                {
                    "org_id": order["org_id"],
                    "project_id": order["project_id"],
                    "phase": Phase.production,
                    "title": step.title,
                    "position": position,
                    "owner_id": coordinator_id,
                    "due_date": dates[step.key],
                    "production_order_id": oid,
                    "plan_key": step.key,
                }
            )
    await _ids(session, Milestone, milestone_rows)
    # bulk INSERTs pass by the flush hook that keeps each lot's board column: store them as the rule says
    await board_columns.refresh(session, lot_ids)
    return order_ids
