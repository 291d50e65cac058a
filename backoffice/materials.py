"""Coordinator pages for materials: an order's requirements with their readiness (filter "not ready"), its
purchase orders (create, send, confirm, ship, move the ETA, receive), its free-issue shipments (receive); and the
agency page of every open shortage and every purchase order due in the next 14 days. Every change goes through
makeready.materials.supply; a refused change is the error page with its status (the transaction rolls back)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import Staff, provide_staff
from backoffice.form_values import form_version
from backoffice.params import PageNumber
from makeready import urls
from makeready.i18n import _, label
from makeready.materials import shortages, supply, views
from makeready.production.common import load_order

TEMPLATES = "backoffice/materials"


def titles() -> dict[str, str]:
    return {kind.name: _(kind.title) for kind in shortages.KINDS}


class MaterialPages(Controller):
    """Materials, for coordinators."""

    path = "/coordinator"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/orders/{order_id:int}/materials", name="order_materials")
    async def order_page(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        order_id: FromPath[int],
        not_ready: FromQuery[bool] = False,
    ) -> Template:
        """The order's requirements with readiness colours, its purchase orders and shipments, its shortages."""
        order = await load_order(db, order_id)
        materials = await views.order_materials(db, order, not_ready=not_ready)
        purchase_orders, shipments = await views.supply_of(db, order.id)
        lines = {po.id: await supply.lines_of(db, po.id) for po in purchase_orders}
        return Template(
            f"{TEMPLATES}/order.html",
            context={
                "user": staff,
                "m": materials,
                "not_ready": not_ready,
                "purchase_orders": purchase_orders,
                "po_lines": lines,
                "shipments": shipments,
                "label": label,
                "base": urls.order_materials(order.id),
                "titles": titles(),
            },
        )

    @post("/orders/{order_id:int}/materials/purchase-orders", name="purchase_order_create")
    async def create_po(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        order_id: FromPath[int],
    ) -> Redirect:
        form = await request.form()
        lines = [
            {
                "requirement_id": rid,
                "quantity": form.get(f"quantity_{rid}"),
                "unit_cost": form.get(f"cost_{rid}"),
            }
            for rid in form.getall("requirement_id", [])
        ]
        await supply.create_purchase_order(
            db,
            actor=staff.user,
            order_id=order_id,
            supplier_name=str(form.get("supplier_name") or ""),
            eta=form.get("eta"),
            lines=lines,
        )
        return Redirect(urls.order_materials(order_id))

    @post("/purchase-orders/{po_id:int}/action", name="purchase_order_action")
    async def act(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        po_id: FromPath[int],
    ) -> Redirect:
        form = await request.form()
        po = await supply.act_on_purchase_order(
            db,
            actor=staff.user,
            purchase_order_id=po_id,
            action=str(form.get("action") or ""),
            eta=form.get("eta"),
            tracking=str(form.get("tracking") or ""),
            reason=str(form.get("reason") or ""),
            expected_version=form_version(form),
        )
        return Redirect(urls.order_materials(po.order_id))

    @post("/purchase-orders/{po_id:int}/receive", name="purchase_order_receive")
    async def receive(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        po_id: FromPath[int],
    ) -> Redirect:
        form = await request.form()
        quantities = {
            key.removeprefix("line_"): value for key, value in form.items() if key.startswith("line_")
        }
        po = await supply.receive_purchase_order(
            db,
            actor=staff.user,
            purchase_order_id=po_id,
            quantities=quantities,
            reason=str(form.get("reason") or ""),
            expected_version=form_version(form),
        )
        return Redirect(urls.order_materials(po.order_id))

    @post("/free-issue/{free_issue_id:int}/receive", name="free_issue_receive")
    async def receive_free_issue(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        free_issue_id: FromPath[int],
    ) -> Redirect:
        form = await request.form()
        shipment = await supply.receive_free_issue(
            db,
            actor=staff.user,
            shipment_id=free_issue_id,
            quantity=form.get("quantity"),
            note=str(form.get("note") or ""),
            expected_version=form_version(form),
        )
        return Redirect(urls.order_materials(shipment.order_id))

    @get("/materials", name="materials_overview")
    async def overview(
        self, db: NamedDependency[AsyncSession], staff: NamedDependency[Staff], page: PageNumber = 1
    ) -> Template:
        """Every open shortage (paged) and every purchase order due in the next 14 days."""
        rows, total, due = await views.agency_overview(db, page=page)
        return Template(
            f"{TEMPLATES}/overview.html",
            context={
                "user": staff,
                "shortages": rows,
                "total": total,
                "page": page,
                "pages": max(1, -(-total // views.PAGE_SIZE)),
                "due": due,
                "days": views.DUE_DAYS,
                "label": label,
                "titles": titles(),
            },
        )
