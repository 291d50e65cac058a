"""Production's rules: what follows from its own events (the composition root registers RULES).

Who is told: the coordinator when the brand confirms or the factory answers; the brand's owners and members when
an order is sent, accepted or its ex-factory date moves; a condition's owner when it is raised, and the project's
coordinator when it is still open after its ladder's delay. Conditions clear on the events that remove their cause
(the hourly pass clears the rest).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.conditions.service import resolve_on
from makeready.i18n import N_
from makeready.kernel.bus import Event, Rule
from makeready.notify.service import notify
from makeready.production import links
from makeready.production.conditions import AT_RISK, BEHIND_PLAN, CAUSE_GONE, NO_REPORT, NOT_ACCEPTED
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.projects.access import brand_writers, load_project, user_by_id
from makeready.projects.models import Project
from makeready.suppliers.models import Supplier

ORDER_CANCELLED = N_("The production order was cancelled.")


async def _order_params(session: AsyncSession, order: ProductionOrder) -> tuple[Project, dict[str, Any]]:
    project = await load_project(session, order.project_id)
    supplier = await session.get(Supplier, order.supplier_id)
    return project, {
        "project": project.name,
        "order": order.reference,
        "factory": supplier.name_en if supplier is not None else "",
        "ex_factory_date": order.ex_factory_date.isoformat(),
    }


async def _tell_coordinator(session: AsyncSession, event: Event, kind: str, **extra: Any) -> None:
    order: ProductionOrder = event.subject
    project, params = await _order_params(session, order)
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is None or (event.actor is not None and event.actor.id == coordinator.id):
        return
    await notify(
        session,
        user=coordinator,
        kind=kind,
        params={**params, **extra},
        project_id=project.id,
        link=urls.coordinator_project(project.id),
    )


async def _tell_brand(session: AsyncSession, event: Event, kind: str, **extra: Any) -> None:
    order: ProductionOrder = event.subject
    project, params = await _order_params(session, order)
    for user in await brand_writers(session, project.org_id):
        if event.actor is not None and event.actor.id == user.id:
            continue
        await notify(
            session,
            user=user,
            kind=kind,
            params={**params, **extra},
            project_id=project.id,
            link=urls.project(project.id),
        )


async def tell_coordinator_confirmed(session: AsyncSession, event: Event) -> None:
    await _tell_coordinator(
        session, event, "production_order_confirmed", actor=event.actor.display_name if event.actor else ""
    )


async def tell_brand_sent(session: AsyncSession, event: Event) -> None:
    await _tell_brand(session, event, "production_order_sent")


async def order_accepted(session: AsyncSession, event: Event) -> None:
    await resolve_on(
        session,
        subject_type="production_order",
        subject_id=event.subject.id,
        kinds=[NOT_ACCEPTED],
        reason=CAUSE_GONE[NOT_ACCEPTED.name],
        now=event.now,
    )
    await _tell_coordinator(session, event, "production_order_accepted")
    await _tell_brand(session, event, "production_order_accepted")


async def date_proposed(session: AsyncSession, event: Event) -> None:
    order: ProductionOrder = event.subject
    await resolve_on(
        session,
        subject_type="production_order",
        subject_id=order.id,
        kinds=[NOT_ACCEPTED],
        reason=CAUSE_GONE[NOT_ACCEPTED.name],
        now=event.now,
    )
    assert order.proposed_ex_factory_date is not None
    await _tell_coordinator(
        session,
        event,
        "production_order_date_proposed",
        ex_factory_date=order.proposed_ex_factory_date.isoformat(),
        reason=order.proposal_reason,
    )


async def tell_rescheduled(session: AsyncSession, event: Event) -> None:
    reason = str(event.after.get("reason") or "")
    await _tell_brand(session, event, "production_order_rescheduled", reason=reason)
    await _tell_coordinator(session, event, "production_order_rescheduled", reason=reason)


async def withdraw_cancelled_order(session: AsyncSession, event: Event) -> None:
    """A cancelled order's links stop working, its lots that have not started are cancelled, and its conditions
    (and its lots') are resolved."""
    order: ProductionOrder = event.subject
    await links.revoke_all(session, order, actor=event.actor, reason=ORDER_CANCELLED)
    lots = (await session.scalars(select(Lot).where(Lot.order_id == order.id))).all()
    for lot in lots:
        if lot.status == LotStatus.planned:
            await move_lot(session, lot, "cancel", actor=event.actor, inputs={"reason": ORDER_CANCELLED})
    for subject_type, ids in (("production_order", [order.id]), ("lot", [lot.id for lot in lots])):
        for subject_id in ids:
            await resolve_on(
                session,
                subject_type=subject_type,
                subject_id=subject_id,
                reason=ORDER_CANCELLED,
                now=event.now,
            )


async def progress_reported(session: AsyncSession, event: Event) -> None:
    await resolve_on(
        session,
        subject_type="lot",
        subject_id=event.subject.id,
        kinds=[NO_REPORT],
        reason=CAUSE_GONE[NO_REPORT.name],
        now=event.now,
    )


async def _condition_subject(session: AsyncSession, condition: Condition) -> ProductionOrder | None:
    if condition.subject_type == "production_order":
        return await session.get(ProductionOrder, condition.subject_id)
    lot = await session.get(Lot, condition.subject_id)
    return await session.get(ProductionOrder, lot.order_id) if lot is not None else None


async def _tell_about_condition(session: AsyncSession, event: Event, *, escalated: bool) -> None:
    condition: Condition = event.subject
    order = await _condition_subject(session, condition)
    if order is None:
        return
    project, params = await _order_params(session, order)
    recipient_id = project.coordinator_id if escalated else (condition.owner_id or project.coordinator_id)
    recipient = await user_by_id(session, recipient_id)
    if recipient is None:
        return
    await notify(
        session,
        user=recipient,
        kind="production_escalated" if escalated else "production_alert",
        params={
            "project": params["project"],
            "order": params["order"],
            "problem": kinds.get(condition.kind).title,
        },
        project_id=project.id,
        link=urls.coordinator_project(project.id),
    )


async def tell_owner_condition(session: AsyncSession, event: Event) -> None:
    await _tell_about_condition(session, event, escalated=False)


async def tell_coordinator_escalated(session: AsyncSession, event: Event) -> None:
    await _tell_about_condition(session, event, escalated=True)


RULES: list[tuple[str, Rule]] = [
    ("production_order.confirmed", tell_coordinator_confirmed),
    ("production_order.sent", tell_brand_sent),
    ("production_order.accepted", order_accepted),
    ("production_order.date_proposed", date_proposed),
    ("production_order.rescheduled", tell_rescheduled),
    ("production_order.cancelled", withdraw_cancelled_order),
    ("lot.progress_reported", progress_reported),
    *((kind.name, tell_owner_condition) for kind in (NOT_ACCEPTED, AT_RISK, NO_REPORT, BEHIND_PLAN)),
    *(
        (step.event, tell_coordinator_escalated)
        for kind in (NOT_ACCEPTED, AT_RISK, NO_REPORT, BEHIND_PLAN)
        for step in kind.ladder
    ),
]
