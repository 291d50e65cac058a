"""Quality holds: active -> lifted. A hold on a lot (or, with no lot, on its whole order) blocks the lot's release.

Placed by a failed inspection or a critical defect (makeready.quality.inspections), and by the shipping domain for
an unacknowledged revision change or a floor deviation (`place_hold`). Lifted by a coordinator with a reason, or by
the system when the brand accepts with a concession or a re-inspection passes. The release gate
(`gates.LOT_RELEASE`, registered by the composition root) lists the active holds; while a lot has one, it carries
the condition "hold.active" (the board shows it "On hold"), resolved when the last of its holds is lifted.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.conditions import kinds
from makeready.conditions.service import raise_condition, resolve_on
from makeready.db.types import utcnow
from makeready.errors import ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel import bus
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    load,
    perform,
    require_role,
    roles_of,
    states,
)
from makeready.production.common import load_lot, load_order, text_of
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.projects.models import Project
from makeready.quality.models import HoldStatus, QualityHold

bus.emits("quality_hold.placed")

HOLD_NOT_FOUND = N_("This quality hold does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only a coordinator can place or lift a quality hold.")
SOURCES = {
    "failed_inspection": N_("Failed inspection"),
    "critical_defect": N_("Critical defect"),
    "revision_change": N_("Unacknowledged revision change"),
    "floor_deviation": N_("Deviation on the floor"),
    "manual": N_("Placed by a coordinator"),
}
"""What may place a hold, in people's words."""
CLEARING_SOURCES = ("failed_inspection", "critical_defect")
"""The holds a concession or a passed re-inspection lifts (the others are lifted by their own domain or staff)."""
FINISHED_LOTS = (LotStatus.shipped, LotStatus.delivered, LotStatus.cancelled)

HOLD_ACTIVE = kinds.define(
    kinds.Kind(name="hold.active", subject_type="lot", title=N_("On hold: a quality hold blocks release"))
)
HOLDS_LIFTED = N_("Every quality hold on the lot was lifted.")


async def _lifted(ctx: Context[QualityHold]) -> None:
    ctx.obj.lifted_by_id = ctx.actor.id if ctx.actor is not None else None
    ctx.obj.lift_reason = str(ctx.inputs.get("reason") or "").strip()
    ctx.after["reason"] = ctx.obj.lift_reason


QUALITY_HOLD: Machine[HoldStatus] = Machine(
    name="quality_hold",
    subject=N_("quality hold"),
    states=HoldStatus,
    column="status",
    final=states(HoldStatus.lifted),
    transitions=(
        Transition(
            "lift",
            states(HoldStatus.active),
            HoldStatus.lifted,
            frozenset({Role.STAFF, Role.SYSTEM}),
            "quality_hold.lifted",
            wrong_state=N_("This hold was already lifted."),
            forbidden=STAFF_ONLY,
            stamp="lifted_at",
            requires=("reason",),
            effect=_lifted,
        ),
    ),
)


def source_label(source: str) -> str:
    msgid = SOURCES.get(source)
    return _(msgid) if msgid else source


async def _coordinator_of(session: AsyncSession, project_id: int) -> int | None:
    return await session.scalar(select(Project.coordinator_id).where(Project.id == project_id))


def _applies(lot: Lot) -> object:
    """Holds on this lot, or on its whole order."""
    return or_(
        QualityHold.lot_id == lot.id,
        and_(QualityHold.lot_id.is_(None), QualityHold.order_id == lot.order_id),
    )


async def active_holds(session: AsyncSession, lot: Lot) -> list[QualityHold]:
    rows = await session.scalars(
        select(QualityHold)
        .where(_applies(lot), QualityHold.status == HoldStatus.active)  # type: ignore[arg-type]
        .order_by(QualityHold.id)
    )
    return list(rows.all())


async def holds_of_order(
    session: AsyncSession, order_id: int, *, active_only: bool = False
) -> list[QualityHold]:
    query = select(QualityHold).where(QualityHold.order_id == order_id)
    if active_only:
        query = query.where(QualityHold.status == HoldStatus.active)
    return list((await session.scalars(query.order_by(QualityHold.id.desc()))).all())


async def release_gate(session: AsyncSession, *, lot: Lot, order: ProductionOrder) -> list[str]:
    """`gates.LOT_RELEASE`: one sentence per active hold on the lot or its order."""
    return [
        _("Quality hold: %(source)s. %(reason)s") % {"source": source_label(h.source), "reason": h.reason}
        for h in await active_holds(session, lot)
    ]


async def sync_condition(session: AsyncSession, lot: Lot, *, now: object = None) -> None:
    """Raise "hold.active" on a lot that has an active hold; resolve it on one that has none."""
    if await active_holds(session, lot):
        await raise_condition(
            session,
            kind=HOLD_ACTIVE,
            subject_id=lot.id,
            org_id=lot.org_id,
            project_id=lot.project_id,
            owner_id=await _coordinator_of(session, lot.project_id),
        )
    else:
        await resolve_on(
            session, subject_type="lot", subject_id=lot.id, reason=HOLDS_LIFTED, kinds=[HOLD_ACTIVE]
        )


async def _lots_touched(session: AsyncSession, hold: QualityHold) -> list[Lot]:
    if hold.lot_id is not None:
        return [await load_lot(session, hold.lot_id)]
    rows = await session.scalars(
        select(Lot).where(Lot.order_id == hold.order_id, Lot.status.not_in(FINISHED_LOTS)).order_by(Lot.id)
    )
    return list(rows.all())


async def place_hold(
    session: AsyncSession,
    *,
    lot: Lot | None = None,
    order: ProductionOrder | None = None,
    reason: str,
    source: str,
    actor: User | None = None,
    inspection_id: int | None = None,
) -> QualityHold:
    """A new active hold on `lot`, or on the whole `order` when no lot is given; audited, and the lot(s) raise
    "hold.active". The shipping domain calls this for an unacknowledged revision change or a floor deviation."""
    if source not in SOURCES:
        raise ValueError(f"unknown hold source {source!r}; known: {', '.join(SOURCES)}")
    if lot is None and order is None:
        raise ValueError("a hold needs a lot or an order")
    if order is None:
        assert lot is not None
        order = await load_order(session, lot.order_id)
    if actor is not None:
        require_role(await roles_of(session, actor, org_id=order.org_id), {Role.STAFF}, STAFF_ONLY)
    reason = text_of(reason, field="reason", required=True)
    hold = QualityHold(
        org_id=order.org_id,
        project_id=order.project_id,
        order_id=order.id,
        lot_id=lot.id if lot is not None else None,
        inspection_id=inspection_id,
        source=source,
        reason=reason,
        status=HoldStatus.active,
        placed_at=utcnow(),
        placed_by_id=actor.id if actor is not None else None,
    )
    session.add(hold)
    await session.flush()
    after = {"lot_id": hold.lot_id, "order": order.reference, "source": source, "reason": reason}
    await audit.record(
        session,
        actor_id=actor.id if actor is not None else None,
        action="quality_hold.placed",
        subject_type="quality_hold",
        subject_id=hold.id,
        org_id=hold.org_id,
        project_id=hold.project_id,
        after=after,
        reason=reason,
    )
    await bus.fire(
        session,
        bus.Event(
            name="quality_hold.placed",
            actor=actor,
            subject=hold,
            org_id=hold.org_id,
            project_id=hold.project_id,
            after=after,
        ),
    )
    for touched in await _lots_touched(session, hold):
        await sync_condition(session, touched)
    return hold


async def lift_hold(
    session: AsyncSession,
    *,
    actor: User | None,
    hold_id: int,
    reason: str,
    expected_version: int | None = None,
) -> QualityHold:
    """Lift a hold with a reason (a coordinator, or the system for a concession or a passed re-inspection)."""
    hold = await load(session, QualityHold, hold_id, HOLD_NOT_FOUND)
    await perform(
        session,
        QUALITY_HOLD,
        hold,
        "lift",
        actor=actor,
        org_id=hold.org_id,
        project_id=hold.project_id,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )
    for touched in await _lots_touched(session, hold):
        await sync_condition(session, touched)
    return hold


async def lift_clearing_holds(
    session: AsyncSession, lot: Lot, *, reason: str, inspection_ids: Iterable[int] | None = None
) -> list[QualityHold]:
    """The system lifts the lot's holds that a concession or a passed re-inspection clears (those placed by
    inspections; `inspection_ids` narrows them to these inspections')."""
    query = select(QualityHold).where(
        QualityHold.lot_id == lot.id,
        QualityHold.status == HoldStatus.active,
        QualityHold.source.in_(CLEARING_SOURCES),
    )
    if inspection_ids is not None:
        query = query.where(QualityHold.inspection_id.in_(list(inspection_ids)))
    lifted = []
    for hold in (await session.scalars(query.order_by(QualityHold.id))).all():
        lifted.append(await lift_hold(session, actor=None, hold_id=hold.id, reason=reason))
    return lifted


async def place_manual_hold(
    session: AsyncSession, *, actor: User, lot_id: int | None, order_id: int, reason: str
) -> QualityHold:
    """A coordinator holds a lot (or the whole order) by hand, with a reason."""
    order = await load_order(session, order_id)
    lot = None
    if lot_id is not None:
        lot = await load_lot(session, lot_id)
        if lot.order_id != order.id:
            raise ValidationFailed(_("This lot is not part of the order."), field="lot_id")
    return await place_hold(session, lot=lot, order=order, reason=reason, source="manual", actor=actor)
