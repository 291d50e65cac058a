"""The quality API under /api/v1: inspections (with their frozen sampling plans and computed verdicts), their
defects, the holds of an order or lot, corrective actions, the brand's decision, and the staff's writes.

Reads for brands (their own organizations, through the data layer's scope: another organization's order, lot,
inspection or hold is a 404) and for staff tokens. A brand sees an inspection's findings (counts, verdicts, remarks,
defects) once the agency sent it for review, as on the brand's pages (`portal.quality.VISIBLE`). The decision is
the brand's (`inspections.decide_inspection`, as the review page calls it: a coordinator is refused with 403, an
inspection not in review is a 409). Staff tokens create an inspection (`request_inspection`, then
`schedule_inspection`, which freezes the plans) and lift a hold (`holds.lift_hold`); a brand is refused (403 in its
own organization, 404 in another's). Every write goes through the services, in the request's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.errors import NotFound
from makeready.i18n import _
from makeready.production.common import load_lot, load_order
from makeready.quality import holds as hold_service
from makeready.quality import inspections as qc
from makeready.quality.models import CorrectiveAction, Defect, Inspection, QualityHold
from portal.api import PROBLEMS, Limit, Offset, page_of
from portal.auth import Actor, provide_user
from portal.quality import VISIBLE
from portal.schemas import Page
from portal.schemas_quality import (
    CorrectiveActionOut,
    DefectOut,
    HoldLiftIn,
    HoldOut,
    InspectionCreate,
    InspectionDecisionIn,
    InspectionOut,
)

READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 404)}
WRITE_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 403, 404, 409, 422)}


def findings_for(user: Actor, inspection: Inspection) -> bool:
    """Whether the caller reads the inspection's findings: staff always, a brand once it is sent for review."""
    return user.is_staff or inspection.status in VISIBLE


def inspection_out(user: Actor) -> Callable[[Inspection], InspectionOut]:
    return lambda inspection: InspectionOut.of(inspection, findings=findings_for(user, inspection))


class QualityApi(Controller):
    """Inspections, defects, quality holds and corrective actions of production orders."""

    path = "/"
    tags = ["quality"]

    @get("/production-orders/{order_id:int}/inspections", responses=READ_PROBLEMS)
    async def order_inspections(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[InspectionOut]:
        """The order's inspections, newest first, each with its plans (code letter, sample size, Ac/Re per class)."""
        order = await load_order(db, order_id)
        query = select(Inspection).where(Inspection.order_id == order.id).order_by(Inspection.id.desc())
        return await page_of(db, query, inspection_out(user), limit=limit, offset=offset)

    @get("/lots/{lot_id:int}/inspections", responses=READ_PROBLEMS)
    async def lot_inspections(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        lot_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[InspectionOut]:
        """The lot's inspections, newest first."""
        lot = await load_lot(db, lot_id)
        query = select(Inspection).where(Inspection.lot_id == lot.id).order_by(Inspection.number.desc())
        return await page_of(db, query, inspection_out(user), limit=limit, offset=offset)

    @get("/inspections/{inspection_id:int}", responses=READ_PROBLEMS)
    async def get_inspection(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], inspection_id: FromPath[int]
    ) -> InspectionOut:
        """One inspection: its plans, and (for a brand once in review) its counts and computed verdict."""
        return inspection_out(user)(await qc.load_inspection(db, inspection_id))

    @get("/inspections/{inspection_id:int}/defects", responses=READ_PROBLEMS)
    async def list_defects(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        inspection_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[DefectOut]:
        """The inspection's defective units, in the order recorded (a brand reads them once in review)."""
        inspection = await qc.load_inspection(db, inspection_id)
        if not findings_for(user, inspection):
            raise NotFound(_(qc.INSPECTION_NOT_FOUND))
        query = select(Defect).where(Defect.inspection_id == inspection.id).order_by(Defect.id)
        return await page_of(db, query, DefectOut.of, limit=limit, offset=offset)

    @get("/production-orders/{order_id:int}/holds", responses=READ_PROBLEMS)
    async def order_holds(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[HoldOut]:
        """The holds of the order and its lots, active and lifted, newest first."""
        order = await load_order(db, order_id)
        query = select(QualityHold).where(QualityHold.order_id == order.id).order_by(QualityHold.id.desc())
        return await page_of(db, query, HoldOut.of, limit=limit, offset=offset)

    @get("/lots/{lot_id:int}/holds", responses=READ_PROBLEMS)
    async def lot_holds(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], lot_id: FromPath[int]
    ) -> list[HoldOut]:
        """The ACTIVE holds that block the lot's release: its own and those on its whole order."""
        lot = await load_lot(db, lot_id)
        return [HoldOut.of(hold) for hold in await hold_service.active_holds(db, lot)]

    @get("/production-orders/{order_id:int}/corrective-actions", responses=READ_PROBLEMS)
    async def order_actions(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[CorrectiveActionOut]:
        """The corrective actions sent to the factory after rejected inspections, newest first, with its answers."""
        order = await load_order(db, order_id)
        query = (
            select(CorrectiveAction)
            .where(CorrectiveAction.order_id == order.id)
            .order_by(CorrectiveAction.id.desc())
        )
        return await page_of(db, query, CorrectiveActionOut.of, limit=limit, offset=offset)

    @post("/inspections/{inspection_id:int}/decision", status_code=200, responses=WRITE_PROBLEMS)
    async def decide(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        inspection_id: FromPath[int],
        data: JSONBody[InspectionDecisionIn],
    ) -> InspectionOut:
        """The brand accepts, rejects (reasons required: a corrective action goes to the factory) or accepts with a
        concession (what, and the remedy: the lot passes and its inspection holds are lifted).

        The brand's owners and members only (a viewer or a coordinator: 403); not in review: 409."""
        inspection = await qc.decide_inspection(
            db,
            actor=user.user,
            inspection_id=inspection_id,
            decision=data.decision,
            reasons=data.reasons,
            concession=data.concession,
            remedy=data.remedy,
            amount=data.amount,
            expected_version=data.version,
        )
        return inspection_out(user)(inspection)

    @post("/lots/{lot_id:int}/inspections", responses=WRITE_PROBLEMS)
    async def create_inspection(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        lot_id: FromPath[int],
        data: JSONBody[InspectionCreate],
    ) -> InspectionOut:
        """Request an inspection of the lot (staff tokens only), and schedule it when `scheduled_for` is given: the
        plans are computed from the pinned revision's AQLs and inspection level, never sent."""
        inspection = await qc.request_inspection(
            db, actor=user.user, lot_id=lot_id, kind=data.kind, lot_size=data.lot_size
        )
        if data.scheduled_for is not None:
            inspection = await qc.schedule_inspection(
                db,
                actor=user.user,
                inspection_id=inspection.id,
                scheduled_for=data.scheduled_for,
                inspector_id=data.inspector_id,
                third_party=data.third_party,
            )
        return inspection_out(user)(inspection)

    @post("/holds/{hold_id:int}/lift", status_code=200, responses=WRITE_PROBLEMS)
    async def lift_hold(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        hold_id: FromPath[int],
        data: JSONBody[HoldLiftIn],
    ) -> HoldOut:
        """Lift an active hold with a reason (staff tokens only); one already lifted is a 409."""
        hold = await hold_service.lift_hold(
            db, actor=user.user, hold_id=hold_id, reason=data.reason, expected_version=data.version
        )
        return HoldOut.of(hold)


quality_api = Router(
    path="/api/v1",
    route_handlers=[QualityApi],
    dependencies={"user": Provide(provide_user)},
)
