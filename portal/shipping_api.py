"""The shipping API under /api/v1: shipments, their release gate and release, the brand's receipt or problem,
packing lists, revision changes and floor deviations.

Reads for brands (their own organizations, through the data layer's scope: another organization's shipment, lot or
order is a 404) and for staff tokens. Every write goes through makeready.shipping's services, which decide who may:
the release is for staff tokens (403 for a brand in its own organization, 404 in another's), the receipt, the
problem report and the decision on a floor deviation for the brand, as on its shipments page. Brand responses never
carry the declared value or the coordinator's override reason (`schemas_shipping.ShipmentOut`).
"""

from __future__ import annotations

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.production.common import load_lot, load_order
from makeready.projects import service as projects
from makeready.shipping import changes, packing, shipments
from makeready.shipping.common import load_packing_list, load_shipment
from makeready.shipping.models import Shipment, ShipmentDocument
from portal.api import PROBLEMS, Limit, Offset
from portal.auth import Actor, provide_user
from portal.schemas import Page
from portal.schemas_shipping import (
    DeviationDecisionIn,
    DeviationOut,
    PackingListOut,
    ProblemIn,
    ReceiptIn,
    ReleaseGateOut,
    ReleaseIn,
    RevisionChangeOut,
    ShipmentOut,
)

READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 404)}
WRITE_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 403, 404, 409, 422)}


async def _shipments_out(db: AsyncSession, user: Actor, rows: list[Shipment]) -> list[ShipmentOut]:
    """The shipments with their lots and generated documents (two statements for any number of shipments)."""
    if not rows:
        return []
    ids = [s.id for s in rows]
    lots = await shipments.lots_by_shipment(db, ids)
    kinds: dict[int, list[str]] = {}
    for shipment_id, kind in (
        await db.execute(
            select(ShipmentDocument.shipment_id, ShipmentDocument.kind).where(
                ShipmentDocument.shipment_id.in_(ids)
            )
        )
    ).all():
        kinds.setdefault(shipment_id, []).append(kind)
    return [
        ShipmentOut.of(s, lots=lots.get(s.id, []), documents=kinds.get(s.id, []), staff=user.is_staff)
        for s in rows
    ]


async def _shipment_out(db: AsyncSession, user: Actor, shipment: Shipment) -> ShipmentOut:
    return (await _shipments_out(db, user, [shipment]))[0]


class ShippingApi(Controller):
    """Shipments, their release, receipt and problems; packing lists; revision changes and floor deviations."""

    path = "/"
    tags = ["shipping"]

    @get("/projects/{project_id:int}/shipments", responses=READ_PROBLEMS)
    async def list_project_shipments(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ShipmentOut]:
        """The project's shipments in the order they were planned, with their lots."""
        project = await projects.get_project(db, project_id)
        total = (
            await db.scalar(
                select(func.count()).select_from(Shipment).where(Shipment.project_id == project.id)
            )
            or 0
        )
        rows = list(
            (
                await db.scalars(
                    select(Shipment)
                    .where(Shipment.project_id == project.id)
                    .order_by(Shipment.number, Shipment.id)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        )
        return Page(items=await _shipments_out(db, user, rows), total=total, limit=limit, offset=offset)

    @get("/production-orders/{order_id:int}/shipments", responses=READ_PROBLEMS)
    async def list_order_shipments(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> list[ShipmentOut]:
        """The order's shipments in the order they were planned, with their lots."""
        order = await load_order(db, order_id)
        rows = list(
            (
                await db.scalars(
                    select(Shipment)
                    .where(Shipment.order_id == order.id)
                    .order_by(Shipment.number, Shipment.id)
                )
            ).all()
        )
        return await _shipments_out(db, user, rows)

    @get("/shipments/{shipment_id:int}", responses=READ_PROBLEMS)
    async def get_shipment(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], shipment_id: FromPath[int]
    ) -> ShipmentOut:
        """One shipment: its lots, transport, dates, tracking, status and who released it when."""
        return await _shipment_out(db, user, await load_shipment(db, shipment_id))

    @get("/shipments/{shipment_id:int}/release-gate", responses=READ_PROBLEMS)
    async def release_gate(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], shipment_id: FromPath[int]
    ) -> ReleaseGateOut:
        """What a release needs that is still missing (the same list a refused release answers with)."""
        shipment = await load_shipment(db, shipment_id)
        missing, payment = await shipments.release_missing(db, shipment)
        return ReleaseGateOut(
            shipment_id=shipment.id,
            status=shipment.status.value,
            ready=not missing and not payment,
            missing=missing,
            payment=payment,
        )

    @post("/shipments/{shipment_id:int}/release", status_code=HTTP_200_OK, responses=WRITE_PROBLEMS)
    async def release(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        shipment_id: FromPath[int],
        data: JSONBody[ReleaseIn],
    ) -> ShipmentOut:
        """Release the shipment through the gate (staff tokens only).

        A 409 lists everything missing (`missing`); an unpaid balance alone may be overridden with a reason. A
        shipment already released is a 409 too, so releasing twice records one release."""
        shipment = await shipments.release_shipment(
            db,
            actor=user.user,
            shipment_id=shipment_id,
            override_reason=data.override_reason,
            expected_version=data.version,
        )
        return await _shipment_out(db, user, shipment)

    @post("/shipments/{shipment_id:int}/receipt", status_code=HTTP_200_OK, responses=WRITE_PROBLEMS)
    async def confirm_receipt(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        shipment_id: FromPath[int],
        data: JSONBody[ReceiptIn],
    ) -> ShipmentOut:
        """The brand confirms the goods of a shipped shipment arrived: its lots are delivered."""
        shipment = await shipments.confirm_receipt(
            db, actor=user.user, shipment_id=shipment_id, note=data.note, expected_version=data.version
        )
        return await _shipment_out(db, user, shipment)

    @post("/shipments/{shipment_id:int}/problem", status_code=HTTP_200_OK, responses=WRITE_PROBLEMS)
    async def report_problem(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        shipment_id: FromPath[int],
        data: JSONBody[ProblemIn],
    ) -> ShipmentOut:
        """The brand reports a problem with a shipment that has left (a comment is required)."""
        shipment = await shipments.report_problem(
            db, actor=user.user, shipment_id=shipment_id, comment=data.comment, expected_version=data.version
        )
        return await _shipment_out(db, user, shipment)

    @get("/lots/{lot_id:int}/packing-lists", responses=READ_PROBLEMS)
    async def lot_packing_lists(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], lot_id: FromPath[int]
    ) -> list[PackingListOut]:
        """The lot's packing list as the factory submitted it (none before the factory does; a lot has one)."""
        lot = await load_lot(db, lot_id)
        listed = await packing.packing_list_of(db, lot.id)
        return [PackingListOut.of(listed)] if listed is not None else []

    @get("/packing-lists/{packing_id:int}", responses=READ_PROBLEMS)
    async def get_packing_list(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], packing_id: FromPath[int]
    ) -> PackingListOut:
        """One packing list: its carton rows, totals, differences from the spec and its review."""
        return PackingListOut.of(await load_packing_list(db, packing_id))

    @get("/production-orders/{order_id:int}/revision-changes", responses=READ_PROBLEMS)
    async def list_changes(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> list[RevisionChangeOut]:
        """Spec revisions issued while the order runs: from which lot each applies and the factory's acknowledgement."""
        order = await load_order(db, order_id)
        return [RevisionChangeOut.of(c) for c in await changes.changes_of_order(db, order.id)]

    @get("/production-orders/{order_id:int}/deviations", responses=READ_PROBLEMS)
    async def list_deviations(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> list[DeviationOut]:
        """The order's floor deviations in the order they were reported, with the brand's decisions."""
        order = await load_order(db, order_id)
        return [DeviationOut.of(d) for d in await changes.deviations_of_order(db, order.id)]

    @post("/deviations/{deviation_id:int}/decision", status_code=HTTP_200_OK, responses=WRITE_PROBLEMS)
    async def decide_deviation(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        deviation_id: FromPath[int],
        data: JSONBody[DeviationDecisionIn],
    ) -> DeviationOut:
        """The brand approves a floor deviation (part of the record) or rejects it with a comment: a
        nonconformance."""
        deviation = await changes.decide_deviation(
            db,
            actor=user.user,
            deviation_id=deviation_id,
            decision=data.decision,
            comment=data.comment,
            expected_version=data.version,
        )
        return DeviationOut.of(deviation)


shipping_api = Router(
    path="/api/v1",
    route_handlers=[ShippingApi],
    dependencies={"user": Provide(provide_user)},
)
