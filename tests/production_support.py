"""Arrangements for the production tests: a project with an issued revision, a factory and its selected quote, and
an order taken through the services to the state a test needs.

The rows a test does not exercise (project, revision, supplier, quote) are written directly; every production
record is made through its services, so its audit events and rules are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.types import utcnow
from makeready.materials.explosion import requirements_of
from makeready.materials.supply import confirm_in_house
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.models import Phase, Project
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.models import Quote, QuoteStatus, Supplier
from tests.workflow_support import People, call_as, make_project, session_as, system

BOM = [
    {
        "part": {"en": "Shade", "zh": "灯罩"},
        "material": {"en": "Aluminium", "zh": "铝"},
        "quantity": "1",
        "unit": "pcs",
        "supplied_by": "factory",
    },
    {
        "part": {"en": "Screw M3", "zh": "M3 螺丝"},
        "material": {"en": "Steel", "zh": "钢"},
        "quantity": "4",
        "unit": "pcs",
        "supplied_by": "factory",
    },
]


@dataclass
class Arranged:
    project: Project
    revision: SpecRevision
    supplier: Supplier
    quote: Quote


def in_days(days: int) -> date:
    return utcnow().date() + timedelta(days=days)


async def arrange_project(
    engine: AsyncEngine, people: People, *, org: str = "a", quote: bool = True, revision: bool = True
) -> Arranged:
    """A development project with an issued revision (with a BOM), a factory and its selected quote."""
    project = await make_project(engine, people, phase=Phase.development, org=org, name="Arc Pendant")
    async with system(engine) as session:
        supplier = Supplier(
            name_en="Dongguan Bright Lighting", name_zh="东莞明亮照明", city="Dongguan", weekly_capacity=1500
        )
        session.add(supplier)
        await session.flush()
        spec = SpecRevision(
            org_id=project.org_id,
            project_id=project.id,
            number=1,
            status=RevisionStatus.issued if revision else RevisionStatus.draft,
            content={"bom": BOM},
            issued_at=utcnow() if revision else None,
        )
        selected = Quote(
            org_id=project.org_id,
            project_id=project.id,
            supplier_id=supplier.id,
            status=QuoteStatus.selected if quote else QuoteStatus.received,
            currency="USD",
            price_breaks=[{"quantity": 1000, "unit_price": "4.80"}, {"quantity": 3000, "unit_price": "4.20"}],
            lead_time_days=45,
        )
        session.add_all([spec, selected])
        project.supplier_id = supplier.id
        await session.flush()
    return Arranged(project, spec, supplier, selected)


async def make_order(
    engine: AsyncEngine,
    people: People,
    arranged: Arranged,
    *,
    quantity: int = 3000,
    ex_factory_in: int = 60,
    lots: list[int] | None = None,
    state: str = "draft",
    materials_in_house: bool = True,
    **data: Any,
) -> tuple[ProductionOrder, list[Lot], str | None]:
    """An order of `quantity` split into `lots` (default three equal lots), taken to `state`: draft, confirmed,
    sent or accepted. Returns the order, its lots and (once sent) the production link's token."""
    order = await call_as(
        engine,
        people,
        people.coordinator,
        order_service.create_order,
        project_id=arranged.project.id,
        data={"quantity": quantity, "ex_factory_date": in_days(ex_factory_in).isoformat(), **data},
    )
    made: list[Lot] = []
    sizes = lots if lots is not None else [quantity // 3] * 2 + [quantity - 2 * (quantity // 3)]
    for index, size in enumerate(sizes):
        start = in_days(5 + index * 10)
        made.append(
            await call_as(
                engine,
                people,
                people.coordinator,
                lot_service.add_lot,
                order_id=order.id,
                data={"quantity": size, "planned_start": start, "planned_end": start + timedelta(days=9)},
            )
        )
    token = None
    if state in ("confirmed", "sent", "accepted"):
        order = await call_as(
            engine,
            people,
            people.owner_a if arranged.project.org_id == people.org_a.id else people.owner_b,
            order_service.confirm_order,
            order_id=order.id,
        )
    if state in ("sent", "accepted"):
        order, token = await call_as(
            engine, people, people.coordinator, order_service.send_order, order_id=order.id
        )
    if state == "accepted":
        async with session_as(engine, people, None) as session:
            loaded = await order_service.load_order(session, order.id)
            order = await order_service.accept_order(session, order=loaded, name="Wang Lei")
            if materials_in_house:
                # the factory has its materials, so the lot-start gate (materials) lets lots start
                for requirement in await requirements_of(session, order.id):
                    await confirm_in_house(
                        session, order=order, requirement_id=requirement.id, quantity=requirement.gross
                    )
    return order, made, token
