"""The brand's materials page of a production order: readiness per material and the open shortages with their
owner, WITHOUT the agency's costs or suppliers' prices; and the free-issue shipment form (quantity, ETA, tracking).
Another organization's order is a 404 (the scoped session does not find it)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import User
from makeready.i18n import _, label
from makeready.materials import shortages, supply, views
from makeready.production.common import load_order
from makeready.production.models import Lot
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
