"""Shortages: owned escalations (makeready.conditions) on the lot that needs the material next.

- "shortage.not_ordered": an order-by date passed and what is in house and on order does not cover the requirement
  (or nobody buys it yet);
- "shortage.late": an ETA after the need date, or the need date passed without the material in house;
- "shortage.short_receipt": something arrived, nothing more is coming, and it is not enough.

Each is raised on the order's next lot to start (its first planned lot: the one whose start is the need date), so
the board's lot card shows it under "Pending parts"; the audit event names the materials and their expected dates.
Its owner is who must act: the brand's owner when every material concerned is free issue, else the project's
coordinator (the agency's buyer, who also chases the factory for what it buys). The kernel's escalation pass takes
the ladder's step; `evaluate_order` raises what holds and resolves what no longer does, so a receipt, a purchase
order or a fixed ETA clears the shortage (the rules call it on those events; `jobs.py` runs it periodically).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Membership, OrgRole
from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.conditions.service import raise_condition, resolve_condition, unresolved_for
from makeready.db.types import utcnow
from makeready.i18n import N_
from makeready.materials.readiness import Line, Readiness, lines_of
from makeready.materials.supply import SUPPLY_ORDER
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.projects.models import Project

ESCALATION_DAYS = 2
"""Days a shortage stays unresolved before it climbs its ladder (the coordinator and the agency are told)."""


def _kind(name: str, title: str) -> kinds.Kind:
    return kinds.define(
        kinds.Kind(
            name=name,
            subject_type="lot",
            title=title,
            ladder=(kinds.Step(after=timedelta(days=ESCALATION_DAYS), event=f"{name}.escalated"),),
        )
    )


NOT_ORDERED = _kind("shortage.not_ordered", N_("Pending parts: not ordered"))
LATE = _kind("shortage.late", N_("Pending parts: late"))
SHORT_RECEIPT = _kind("shortage.short_receipt", N_("Pending parts: short receipt"))
KINDS = (NOT_ORDERED, LATE, SHORT_RECEIPT)
CAUSE_GONE = {
    NOT_ORDERED.name: N_("Every material due to be ordered is now ordered or in house."),
    LATE.name: N_("No material is expected after its need date any more."),
    SHORT_RECEIPT.name: N_("The short receipt was made up."),
}
ORDER_STOPPED = N_("The production order no longer needs materials.")


@dataclass
class ShortageReport:
    raised: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def classify(lines: list[Line], *, today: date) -> dict[str, list[Line]]:
    """Which materials fall under which kind today (pure)."""
    found: dict[str, list[Line]] = {kind.name: [] for kind in KINDS}
    for line in lines:
        if line.state == Readiness.in_house:
            continue
        if line.short_receipt:
            found[SHORT_RECEIPT.name].append(line)
        elif line.state in (Readiness.no_party, Readiness.not_ordered):
            if line.requirement.order_by_date < today:
                found[NOT_ORDERED.name].append(line)
        elif line.state == Readiness.late:
            found[LATE.name].append(line)
    return found


async def brand_owner_id(session: AsyncSession, org_id: int) -> int | None:
    return await session.scalar(
        select(Membership.user_id)
        .where(Membership.org_id == org_id, Membership.role == OrgRole.owner)
        .order_by(Membership.id)
        .limit(1)
    )


async def _owner(session: AsyncSession, order: ProductionOrder, lines: list[Line]) -> int | None:
    if lines and all(line.requirement.supplied_by == "brand" for line in lines):
        return await brand_owner_id(session, order.org_id)
    return await session.scalar(select(Project.coordinator_id).where(Project.id == order.project_id))


def details_of(lines: list[Line]) -> dict[str, object]:
    return {
        "materials": [
            {
                "requirement_id": line.requirement.id,
                "material": line.requirement.description_en or line.requirement.material_code,
                "missing": str(line.missing),
                "unit": line.requirement.unit,
                "need_date": line.requirement.need_date.isoformat(),
                "expected": line.eta.isoformat() if line.eta else None,
                "supplied_by": line.requirement.supplied_by,
            }
            for line in lines
        ]
    }


async def evaluate_order(
    session: AsyncSession, order: ProductionOrder, *, today: date | None = None, now: datetime | None = None
) -> ShortageReport:
    """Raise the shortages that hold for the order today on its next lot, resolve those that no longer do."""
    day = today or utcnow().date()
    report = ShortageReport()
    lots = list(
        (
            await session.scalars(
                select(Lot)
                .where(Lot.order_id == order.id, Lot.status != LotStatus.cancelled)
                .order_by(Lot.planned_start, Lot.number)
            )
        ).all()
    )
    names = {kind.name for kind in KINDS}
    current = [
        c
        for c in await unresolved_for(session, subject_type="lot", subject_ids=[lot.id for lot in lots])
        if c.kind in names
    ]
    target = next((lot for lot in lots if lot.status == LotStatus.planned), None)
    found: dict[str, list[Line]] = {kind.name: [] for kind in KINDS}
    if order.status in SUPPLY_ORDER and target is not None:
        found = classify(await lines_of(session, order.id, today=day), today=day)
    open_on_target: dict[str, Condition] = {}
    for condition in current:
        if target is not None and condition.subject_id == target.id and found[condition.kind]:
            open_on_target[condition.kind] = condition
            continue
        reason = CAUSE_GONE[condition.kind] if order.status in SUPPLY_ORDER else ORDER_STOPPED
        await resolve_condition(session, condition, reason=reason, now=now)
        report.resolved.append(condition.id)
    if target is None:
        return report
    for kind in KINDS:
        lines = found[kind.name]
        if not lines or kind.name in open_on_target:
            continue
        raised = await raise_condition(
            session,
            kind=kind,
            subject_id=target.id,
            org_id=order.org_id,
            project_id=order.project_id,
            owner_id=await _owner(session, order, lines),
            now=now,
            details=details_of(lines),
        )
        if raised is not None:
            report.raised.append(raised.id)
    return report


async def open_shortages(session: AsyncSession, order_id: int) -> list[Condition]:
    lot_ids = list((await session.scalars(select(Lot.id).where(Lot.order_id == order_id))).all())
    names = {kind.name for kind in KINDS}
    return [
        c for c in await unresolved_for(session, subject_type="lot", subject_ids=lot_ids) if c.kind in names
    ]
