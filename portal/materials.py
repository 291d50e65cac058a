"""The brand's materials page of a production order: readiness per material and the open shortages with their
owner, WITHOUT the agency's costs or suppliers' prices; and the free-issue shipment form (quantity, ETA, tracking).
Another organization's order is a 404 (the scoped session does not find it)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import User
from makeready.conditions import kinds
from makeready.i18n import _, label
from makeready.materials import shortages, supply, views
from makeready.production.common import load_order
from makeready.production.models import Lot
from portal.api import PROBLEMS
from portal.auth import Actor, provide_user


class BrandMaterialPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/orders/{order_id:int}/materials", name="brand_order_materials")
    async def materials_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> Template:
        """Readiness per material and the open shortages with who owns them."""
        order = await load_order(db, order_id)
        materials = await views.order_materials(db, order)
        owner_ids = {c.owner_id for c in materials.shortages if c.owner_id}
        owners = (
            {
                u.id: u.name or u.email
                for u in (await db.scalars(select(User).where(User.id.in_(owner_ids)))).all()
            }
            if owner_ids
            else {}
        )
        titles = {kind.name: _(kind.title) for kind in shortages.KINDS}
        # a lot started without its materials in house: the coordinator's recorded reason is the brand's to see
        overrides = (
            await db.scalars(
                select(Lot)
                .where(Lot.order_id == order.id, Lot.start_override_reason != "")
                .order_by(Lot.number)
            )
        ).all()
        return Template(
            "portal/materials/order.html",
            context={
                "user": user,
                "m": materials,
                "owners": owners,
                "titles": titles,
                "overrides": overrides,
                "label": label,
                "shipments": await supply.shipments_of(db, order.id),
                "action": urls.brand_order_materials(order.id) + "/free-issue",
            },
        )

    @post("/orders/{order_id:int}/materials/free-issue", name="brand_free_issue")
    async def free_issue(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        order_id: FromPath[int],
    ) -> Redirect:
        """The brand records a free-issue shipment."""
        form = await request.form()
        await supply.record_free_issue(
            db,
            actor=user.user,
            order_id=order_id,
            requirement_id=form.get("requirement_id"),
            quantity=form.get("quantity"),
            eta=form.get("eta"),
            tracking=str(form.get("tracking") or ""),
        )
        return Redirect(urls.brand_order_materials(order_id))


# -- the JSON API -------------------------------------------------------------------------------------------------


class MaterialOut(msgspec.Struct):
    """One material of an order as the brand may see it: no agency costs, no material supplier."""

    id: int
    material: str
    material_zh: str
    material_code: str
    unit: str
    gross: str
    in_house: str
    need_date: str
    eta: str | None
    supplied_by: str
    readiness: str


class ShortageOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    lot_id: int
    owner_id: int | None
    status: str
    raised_at: str


class OrderMaterialsOut(msgspec.Struct):
    order_id: int
    readiness: str | None
    materials: list[MaterialOut]
    shortages: list[ShortageOut]


READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 404)}


class MaterialApi(Controller):
    """An order's materials readiness and open shortages (brand and staff; costs stay internal)."""

    path = "/"
    tags = ["materials"]

    @get("/orders/{order_id:int}/materials", responses=READ_PROBLEMS)
    async def order_materials(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], order_id: FromPath[int]
    ) -> OrderMaterialsOut:
        """Readiness per material (computed, never typed), the order's worst, and the open shortages with owners."""
        order = await load_order(db, order_id)
        m = await views.order_materials(db, order)
        return OrderMaterialsOut(
            order_id=order.id,
            readiness=m.readiness.value if m.readiness else None,
            materials=[
                MaterialOut(
                    id=line.requirement.id,
                    material=line.requirement.description_en,
                    material_zh=line.requirement.description_zh,
                    material_code=line.requirement.material_code,
                    unit=line.requirement.unit,
                    gross=str(line.requirement.gross),
                    in_house=str(line.in_house),
                    need_date=line.requirement.need_date.isoformat(),
                    eta=line.eta.isoformat() if line.eta else None,
                    supplied_by=line.requirement.supplied_by,
                    readiness=line.state.value,
                )
                for line in m.lines
            ],
            shortages=[
                ShortageOut(
                    id=c.id,
                    kind=c.kind,
                    title=_(kinds.get(c.kind).title),
                    lot_id=c.subject_id,
                    owner_id=c.owner_id,
                    status=c.status.value,
                    raised_at=c.raised_at.isoformat(),
                )
                for c in m.shortages
            ],
        )


materials_api = Router(
    path="/api/v1", route_handlers=[MaterialApi], dependencies={"user": Provide(provide_user)}
)
