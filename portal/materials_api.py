"""The materials API under /api/v1: an order's requirements with their readiness, its open shortages with their
owners, free-issue shipments (the brand records one, as on its materials page), and the agency's purchase orders.

Reads for brands (their own organizations, through the data layer's scope: another organization's order is a 404)
and for staff tokens. A brand never sees the agency's costs or material suppliers (`schemas_materials.MaterialOut`
leaves them out); purchase orders carry the agency's costs, so they are for staff tokens only: a brand is refused
with 403 for its own order (as the coordinator pages refuse it) and 404 for another organization's. A free-issue
shipment goes through `supply.record_free_issue` (the brand's owners and members, or staff; a material the brand does
not supply is a 422; an order not confirmed or finished is a 409).
"""

from __future__ import annotations

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.conditions.models import Condition
from makeready.kernel.machine import require_role, roles_of
from makeready.materials import shortages, supply, views
from makeready.materials.models import FreeIssueShipment, PurchaseOrder, PurchaseOrderLine
from makeready.production.common import load_order
from portal.api import PROBLEMS, Limit, Offset, page_of
from portal.auth import Actor, provide_user
from portal.quality_api import READ_PROBLEMS, WRITE_PROBLEMS
from portal.schemas import Page
from portal.schemas_materials import (
    FreeIssueIn,
    FreeIssueOut,
    MaterialOut,
    OrderMaterialsOut,
    PurchaseOrderOut,
    ShortageOut,
)

STAFF_READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 403, 404)}


class MaterialApi(Controller):
    """An order's materials readiness, shortages, free-issue shipments and purchase orders (costs stay internal)."""

    path = "/"
    tags = ["materials"]

    @get(
        ["/production-orders/{order_id:int}/materials", "/orders/{order_id:int}/materials"],
        responses=READ_PROBLEMS,
    )
    async def order_materials(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> OrderMaterialsOut:
        """Readiness per material (computed, never typed; worst first), the order's worst, and the open shortages
        with their owners. `/orders/{order_id}/materials` is the same, kept for existing clients."""
        order = await load_order(db, order_id)
        materials = await views.order_materials(db, order)
        return OrderMaterialsOut(
            order_id=order.id,
            readiness=materials.readiness.value if materials.readiness else None,
            materials=[MaterialOut.of(line, staff=user.is_staff) for line in materials.lines],
            shortages=await _shortages_out(db, materials.shortages),
        )

    @get("/production-orders/{order_id:int}/shortages", responses=READ_PROBLEMS)
    async def order_shortages(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> list[ShortageOut]:
        """The order's open shortages (pending parts: not ordered, late, short receipt) and who owns each."""
        order = await load_order(db, order_id)
        return await _shortages_out(db, await shortages.open_shortages(db, order.id))

    @get("/production-orders/{order_id:int}/free-issue-shipments", responses=READ_PROBLEMS)
    async def list_free_issue(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[FreeIssueOut]:
        """The material the brand sent to the factory for this order, newest first."""
        order = await load_order(db, order_id)
        query = (
            select(FreeIssueShipment)
            .where(FreeIssueShipment.order_id == order.id)
            .order_by(FreeIssueShipment.id.desc())
        )
        return await page_of(db, query, FreeIssueOut.of, limit=limit, offset=offset)

    @post("/production-orders/{order_id:int}/free-issue-shipments", responses=WRITE_PROBLEMS)
    async def record_free_issue(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        data: JSONBody[FreeIssueIn],
    ) -> FreeIssueOut:
        """Record a free-issue shipment of a material the brand supplies (quantity, ETA, tracking); it counts as on
        order until the factory receives it. The brand's owners and members (a viewer: 403), or staff."""
        shipment = await supply.record_free_issue(
            db,
            actor=user.user,
            order_id=order_id,
            requirement_id=data.requirement_id,
            quantity=data.quantity,
            eta=data.eta,
            tracking=data.tracking,
        )
        return FreeIssueOut.of(shipment)

    @get("/production-orders/{order_id:int}/purchase-orders", responses=STAFF_READ_PROBLEMS)
    async def list_purchase_orders(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[PurchaseOrderOut]:
        """The agency's purchase orders for this order's materials, with their lines and unit costs (staff tokens
        only: a brand is refused with 403 for its own order, 404 for another organization's)."""
        order = await load_order(db, order_id)
        require_role(await roles_of(db, user.user, org_id=order.org_id), supply.STAFF, supply.STAFF_ONLY)
        query = select(PurchaseOrder).where(PurchaseOrder.order_id == order.id).order_by(PurchaseOrder.number)
        page: Page[PurchaseOrder] = await page_of(db, query, lambda po: po, limit=limit, offset=offset)
        ids = [po.id for po in page.items]
        lines: dict[int, list[PurchaseOrderLine]] = {}
        if ids:
            for line in await db.scalars(
                select(PurchaseOrderLine)
                .where(PurchaseOrderLine.purchase_order_id.in_(ids))
                .order_by(PurchaseOrderLine.id)
            ):
                lines.setdefault(line.purchase_order_id, []).append(line)
        return Page(
            items=[PurchaseOrderOut.of(po, lines.get(po.id, [])) for po in page.items],
            total=page.total,
            limit=limit,
            offset=offset,
        )


async def _shortages_out(db: AsyncSession, conditions: list[Condition]) -> list[ShortageOut]:
    """The shortages with their owners' names (one statement for any number)."""
    owner_ids = {c.owner_id for c in conditions if c.owner_id}
    names = (
        {u.id: u.name or u.email for u in await db.scalars(select(User).where(User.id.in_(owner_ids)))}
        if owner_ids
        else {}
    )
    return [ShortageOut.of(c, names.get(c.owner_id, "") if c.owner_id else "") for c in conditions]


materials_api = Router(
    path="/api/v1", route_handlers=[MaterialApi], dependencies={"user": Provide(provide_user)}
)
