"""The production API under /api/v1: orders, lots and progress reports.

Reads for brands (their own organizations, through the data layer's scope: another organization's order is a 404)
and for staff tokens; writes for staff tokens only (the services refuse a brand: 403 in its own organization, 404
in another's). Brand responses never carry the unit price (`schemas_production.OrderOut`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import photos as photo_service
from makeready.production.common import load_lot, load_order
from makeready.production.models import Lot, ProductionOrder, ProgressReport
from makeready.projects import service as projects
from makeready.suppliers.models import Supplier
from portal.api import PROBLEMS, Limit, Offset
from portal.auth import Actor, provide_user
from portal.schemas import Page
from portal.schemas_production import (
    LotCreate,
    LotOut,
    OrderCreate,
    OrderOut,
    OrderPatch,
    ProgressIn,
    ProgressReportOut,
)

READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 404)}
WRITE_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 403, 404, 409, 422)}


async def _orders_out(db: AsyncSession, user: Actor, orders: list[ProductionOrder]) -> list[OrderOut]:
    """The orders with their factories' names and their lots (three statements for any number of orders)."""
    if not orders:
        return []
    ids = [o.id for o in orders]
    names = {
        s.id: s.name_en or s.name_zh
        for s in await db.scalars(select(Supplier).where(Supplier.id.in_({o.supplier_id for o in orders})))
    }
    by_order: dict[int, list[Lot]] = {}
    for lot in await db.scalars(select(Lot).where(Lot.order_id.in_(ids)).order_by(Lot.order_id, Lot.number)):
        by_order.setdefault(lot.order_id, []).append(lot)
    return [
        OrderOut.of(
            order,
            supplier_name=names.get(order.supplier_id, ""),
            lots=[
                LotOut.of(lot, lot_service.produced_count(order, lot)) for lot in by_order.get(order.id, [])
            ],
            staff=user.is_staff,
        )
        for order in orders
    ]


async def _order_out(db: AsyncSession, user: Actor, order: ProductionOrder) -> OrderOut:
    return (await _orders_out(db, user, [order]))[0]


def _present(data: msgspec.Struct, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields the caller sent (UNSET and None-for-optional left out)."""
    fields = msgspec.structs.asdict(data)
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in fields.items()
        if k not in skip and v is not msgspec.UNSET
    }


class ProductionApi(Controller):
    """Production orders, their lots and the lots' progress reports."""

    path = "/"
    tags = ["production"]

    @get("/projects/{project_id:int}/production-orders", responses=READ_PROBLEMS)
    async def list_orders(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> list[OrderOut]:
        """The project's production orders, newest first, each with its lots."""
        project = await projects.get_project(db, project_id)
        orders = list(
            (
                await db.scalars(
                    select(ProductionOrder)
                    .where(ProductionOrder.project_id == project.id)
                    .order_by(ProductionOrder.number.desc())
                )
            ).all()
        )
        return await _orders_out(db, user, orders)

    @get("/production-orders/{order_id:int}", responses=READ_PROBLEMS)
    async def get_order(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> OrderOut:
        """One production order with its lots."""
        return await _order_out(db, user, await load_order(db, order_id))

    @get("/lots/{lot_id:int}/progress-reports", responses=READ_PROBLEMS)
    async def list_reports(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        lot_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ProgressReportOut]:
        """The lot's progress reports, newest first, with their photos (a report is never changed afterwards)."""
        lot = await load_lot(db, lot_id)
        total = (
            await db.scalar(
                select(func.count()).select_from(ProgressReport).where(ProgressReport.lot_id == lot.id)
            )
            or 0
        )
        reports = list(
            (
                await db.scalars(
                    select(ProgressReport)
                    .where(ProgressReport.lot_id == lot.id)
                    .order_by(ProgressReport.reported_at.desc(), ProgressReport.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        )
        photos = await photo_service.photos_of(db, "progress_report", [r.id for r in reports])
        return Page(
            items=[ProgressReportOut.of(r, photos.get(r.id, [])) for r in reports],
            total=total,
            limit=limit,
            offset=offset,
        )

    @post("/projects/{project_id:int}/production-orders", responses=WRITE_PROBLEMS)
    async def create_order(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[OrderCreate],
    ) -> OrderOut:
        """Create a draft order from the project's selected quote (staff tokens only).

        Refused with 409, listing what is missing, without an issued spec revision or a selected quote."""
        fields = {k: v for k, v in _present(data).items() if v is not None}
        order = await order_service.create_order(db, actor=user.user, project_id=project_id, data=fields)
        return await _order_out(db, user, order)

    @patch("/production-orders/{order_id:int}", responses=WRITE_PROBLEMS)
    async def update_order(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        data: JSONBody[OrderPatch],
    ) -> OrderOut:
        """Edit a draft or confirmed order (staff tokens only); `version` must be the one you read."""
        order = await order_service.update_order(
            db,
            actor=user.user,
            order_id=order_id,
            data=_present(data, skip=("version",)),
            expected_version=data.version,
        )
        return await _order_out(db, user, order)

    @post("/production-orders/{order_id:int}/lots", responses=WRITE_PROBLEMS)
    async def add_lot(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        data: JSONBody[LotCreate],
    ) -> LotOut:
        """Add a lot to the order (staff tokens only); the lots never sum to more than the order."""
        lot = await lot_service.add_lot(
            db,
            actor=user.user,
            order_id=order_id,
            data={
                "quantity": data.quantity,
                "planned_start": data.planned_start,
                "planned_end": data.planned_end,
            },
        )
        order = await load_order(db, lot.order_id)
        return LotOut.of(lot, lot_service.produced_count(order, lot))

    @post("/lots/{lot_id:int}/progress-reports", responses=WRITE_PROBLEMS)
    async def report_progress(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        lot_id: FromPath[int],
        data: JSONBody[ProgressIn],
    ) -> ProgressReportOut:
        """Report a lot's progress for the factory (staff tokens only): a new dated entry, never an edit.

        A report that contradicts itself (packed more than finished, more than the lot) is a 422 naming the step."""
        lot = await load_lot(db, lot_id)
        report = await lot_service.report_progress(
            db,
            lot=lot,
            counts=dict(data.counts),
            note=data.note,
            reporter_name=data.reporter_name,
            actor=user.user,
        )
        return ProgressReportOut.of(report, [])


production_api = Router(
    path="/api/v1",
    route_handlers=[ProductionApi],
    dependencies={"user": Provide(provide_user)},
)
