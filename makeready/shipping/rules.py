"""Shipping's rules: what follows from its own events and from a revision issued while orders run."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.errors import Conflict
from makeready.kernel.bus import Event, Rule
from makeready.kernel.machine import perform
from makeready.notify.service import notify
from makeready.production.models import ProductionOrder
from makeready.projects.access import brand_writers, load_project, user_by_id
from makeready.projects.models import Phase
from makeready.shipping.changes import open_revision_changes
from makeready.shipping.models import Shipment
from makeready.shipping.shipments import PROJECT_DELIVERED, all_lots_delivered, lots_of_shipment
from makeready.workflow.projects import PROJECT


def _actor_name(event: Event) -> str:
    return event.actor.display_name if event.actor is not None else ""


async def tell_brand_released(session: AsyncSession, event: Event) -> None:
    """The brand learns that a shipment is released (who released it, which lots)."""
    shipment: Shipment = event.subject
    project = await load_project(session, shipment.project_id)
    order = await session.get(ProductionOrder, shipment.order_id)
    lots = ", ".join(str(lot.number) for lot in await lots_of_shipment(session, shipment.id))
    for user in await brand_writers(session, project.org_id):
        await notify(
            session,
            user=user,
            kind="shipment_released",
            params={
                "project": project.name,
                "shipment": shipment.reference,
                "order": order.reference if order is not None else "",
                "lots": lots,
                "actor": _actor_name(event),
            },
            project_id=project.id,
            link=urls.shipment(project.id, shipment.id),
        )


async def tell_coordinator_problem(session: AsyncSession, event: Event) -> None:
    shipment: Shipment = event.subject
    project = await load_project(session, shipment.project_id)
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is None:
        return
    await notify(
        session,
        user=coordinator,
        kind="shipment_problem_reported",
        params={
            "project": project.name,
            "shipment": shipment.reference,
            "problem": shipment.problem,
            "actor": _actor_name(event),
        },
        project_id=project.id,
        link=urls.coordinator_shipping(project.id),
    )


async def deliver_project(session: AsyncSession, event: Event) -> None:
    """When every lot of every order is delivered, the project is delivered (through its phase gate: with
    production milestones still open it stays in production and the coordinator advances it later)."""
    shipment: Shipment = event.subject
    project = await load_project(session, shipment.project_id)
    if project.phase != Phase.production or not await all_lots_delivered(session, project.id):
        return
    try:
        await perform(
            session,
            PROJECT,
            project,
            "deliver",
            actor=None,
            org_id=project.org_id,
            project_id=project.id,
            reason=PROJECT_DELIVERED,
        )
    except Conflict:
        return  # the gate refused before changing anything (open milestones): the coordinator decides


RULES: list[tuple[str, Rule]] = [
    ("spec_revision.issued", open_revision_changes),
    ("shipment.released", tell_brand_released),
    ("shipment.problem_reported", tell_coordinator_problem),
    ("shipment.delivered", deliver_project),
]
