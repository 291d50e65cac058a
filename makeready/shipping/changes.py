"""Change control while production runs: a revision issued during an order, and the factory's floor deviations.

A revision issued while an order runs opens a RevisionChange (pending). The coordinator decides its effectivity
with a reason: from one lot on (that lot and the later ones, not yet shipped, move to the new revision and go on
hold, "hold.revision_change", until the factory acknowledges the revision through its link) or not for this order.
pending -> effective -> acknowledged | pending -> not_applied.

A floor deviation (a fix the factory made without a revision) is reported by the factory through its link or by
the inspector (a coordinator); the brand approves it (it is part of the lot's record) or it becomes a
nonconformance. reported -> approved | nonconformance. Until decided, its lot cannot be released.

`release_gate` is registered under `gates.LOT_RELEASE`: it lists both kinds of hold for a lot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.conditions.service import raise_condition, resolve_on, unresolved_for
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel import bus
from makeready.kernel.bus import Event
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.production.common import text_of
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder
from makeready.projects.models import Project
from makeready.shipping.common import BRAND_ONLY, STAFF_ONLY, load_change, load_deviation, require_staff
from makeready.shipping.models import ChangeStatus, DeviationStatus, FloorDeviation, RevisionChange
from makeready.specs.models import SpecRevision

bus.emits("revision_change.opened", "floor_deviation.reported")

HOLD_REVISION = kinds.define(
    kinds.Kind(
        name="hold.revision_change",
        subject_type="lot",
        title=N_("On hold: a new revision the factory has not acknowledged"),
    )
)
RUNNING = frozenset(
    {
        OrderStatus.confirmed,
        OrderStatus.sent,
        OrderStatus.accepted,
        OrderStatus.in_production,
        OrderStatus.produced,
    }
)
"""Orders a new revision may still change."""
CHANGEABLE_LOTS = frozenset({LotStatus.planned, LotStatus.in_production})
"""Lots a new revision can still apply to: a produced lot was built to its revision, and keeps it on record."""
ACKNOWLEDGED = N_("The factory acknowledged the new revision.")
DESCRIPTION_LIMIT = 4000


# --------------------------------------------------------------------------------------------------------------
# Revision changes


async def _made_effective(ctx: Context[RevisionChange]) -> None:
    change = ctx.obj
    from_lot: int = ctx.inputs["from_lot"]
    change.from_lot_number = from_lot
    change.decided_by_id = ctx.actor.id if ctx.actor is not None else None
    change.reason = str(ctx.inputs["reason"]).strip()
    order = await ctx.session.get(ProductionOrder, change.order_id)
    assert order is not None
    project = await ctx.session.get(Project, change.project_id)
    lots = (
        await ctx.session.scalars(
            select(Lot)
            .where(Lot.order_id == change.order_id, Lot.number >= from_lot, Lot.status.in_(CHANGEABLE_LOTS))
            .order_by(Lot.number)
        )
    ).all()
    if not lots:
        raise ValidationFailed(
            _("No lot from lot %(number)s on is still planned or in production.") % {"number": from_lot},
            field="from_lot",
        )
    moved = []
    for lot in lots:
        moved.append({"lot": lot.number, "from_revision_id": lot.revision_id})
        lot.revision_id = change.to_revision_id
        await ctx.session.flush()
        await raise_condition(
            ctx.session,
            kind=HOLD_REVISION,
            subject_id=lot.id,
            org_id=lot.org_id,
            project_id=lot.project_id,
            owner_id=project.coordinator_id if project is not None else None,
            now=ctx.now,
            details={"revision_change_id": change.id, "lot": lot.number},
        )
    change.lot_ids = [lot.id for lot in lots]
    ctx.after.update(from_lot=from_lot, lots=moved, to_revision_id=change.to_revision_id)


async def _not_applied(ctx: Context[RevisionChange]) -> None:
    ctx.obj.decided_by_id = ctx.actor.id if ctx.actor is not None else None
    ctx.obj.reason = str(ctx.inputs["reason"]).strip()


async def _acknowledged(ctx: Context[RevisionChange]) -> None:
    ctx.obj.acknowledged_name = str(ctx.inputs["name"])
    ctx.after["name"] = ctx.obj.acknowledged_name
    for lot_id in ctx.obj.lot_ids or []:
        await resolve_on(
            ctx.session,
            subject_type="lot",
            subject_id=lot_id,
            reason=ACKNOWLEDGED,
            kinds=[HOLD_REVISION],
            now=ctx.now,
        )


STAFF = frozenset({Role.STAFF})

REVISION_CHANGE: Machine[ChangeStatus] = Machine(
    name="revision_change",
    subject=N_("revision change"),
    states=ChangeStatus,
    column="status",
    final=states(ChangeStatus.acknowledged, ChangeStatus.not_applied),
    transitions=(
        Transition(
            "make_effective",
            states(ChangeStatus.pending),
            ChangeStatus.effective,
            STAFF,
            "revision_change.effective",
            wrong_state=N_("The effectivity of this revision was already decided: it is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="decided_at",
            requires=("reason",),
            effect=_made_effective,
        ),
        Transition(
            "not_for_order",
            states(ChangeStatus.pending),
            ChangeStatus.not_applied,
            STAFF,
            "revision_change.not_applied",
            wrong_state=N_("The effectivity of this revision was already decided: it is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="decided_at",
            requires=("reason",),
            effect=_not_applied,
        ),
        Transition(
            "acknowledge",
            states(ChangeStatus.effective),
            ChangeStatus.acknowledged,
            frozenset({Role.SYSTEM}),
            "revision_change.acknowledged",
            wrong_state=N_("This revision change is %(state)s: there is nothing to acknowledge."),
            forbidden=N_("The factory acknowledges a new revision through its production link."),
            stamp="acknowledged_at",
            effect=_acknowledged,
        ),
    ),
)


async def open_revision_changes(session: AsyncSession, event: Event) -> None:
    """A revision issued while orders of its project run: one pending change per running order."""
    revision: SpecRevision = event.subject
    orders = (
        await session.scalars(
            select(ProductionOrder).where(
                ProductionOrder.project_id == revision.project_id, ProductionOrder.status.in_(RUNNING)
            )
        )
    ).all()
    for order in orders:
        current = await current_revision_of(session, order)
        if current == revision.id or await session.scalar(
            select(RevisionChange.id).where(
                RevisionChange.order_id == order.id, RevisionChange.to_revision_id == revision.id
            )
        ):
            continue
        change = RevisionChange(
            org_id=order.org_id,
            order_id=order.id,
            project_id=order.project_id,
            from_revision_id=current,
            to_revision_id=revision.id,
            status=ChangeStatus.pending,
        )
        session.add(change)
        await session.flush()
        after = {"order": order.reference, "revision": revision.label}
        await audit.record(
            session,
            actor_id=event.actor.id if event.actor is not None else None,
            action="revision_change.opened",
            subject_type="revision_change",
            subject_id=change.id,
            org_id=order.org_id,
            project_id=order.project_id,
            after=after,
        )
        await bus.fire(
            session,
            Event(
                name="revision_change.opened",
                actor=event.actor,
                subject=change,
                org_id=order.org_id,
                project_id=order.project_id,
                after=after,
            ),
        )


async def current_revision_of(session: AsyncSession, order: ProductionOrder) -> int:
    """The revision the order's latest lot is built to (the order's own when it has no lot)."""
    latest = await session.scalar(
        select(Lot.revision_id)
        .where(Lot.order_id == order.id, Lot.status != LotStatus.cancelled)
        .order_by(Lot.number.desc())
        .limit(1)
    )
    return int(latest) if latest is not None else order.revision_id


async def decide_effectivity(
    session: AsyncSession,
    *,
    actor: User,
    change_id: int,
    from_lot: Any,
    reason: str,
    expected_version: int | None = None,
) -> RevisionChange:
    """From lot `from_lot` on (a lot number of the order), or not for this order (`from_lot` "none"/None)."""
    change = await load_change(session, change_id)
    await require_staff(session, actor, change.org_id)
    reason = text_of(reason, field="reason")
    text = str(from_lot if from_lot is not None else "").strip().lower()
    inputs: dict[str, Any]
    if text in ("", "none"):
        action, inputs = "not_for_order", {"reason": reason}
    else:
        if not text.isdigit():
            raise ValidationFailed(_("Choose the lot from which the revision applies."), field="from_lot")
        number = int(text)
        exists = await session.scalar(
            select(Lot.id).where(Lot.order_id == change.order_id, Lot.number == number)
        )
        if exists is None:
            raise ValidationFailed(
                _("The order has no lot %(number)s.") % {"number": number}, field="from_lot"
            )
        action, inputs = "make_effective", {"reason": reason, "from_lot": number}
    await perform(
        session,
        REVISION_CHANGE,
        change,
        action,
        actor=actor,
        org_id=change.org_id,
        project_id=change.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return change


async def acknowledge_revision(
    session: AsyncSession, *, order: ProductionOrder, change_id: int, name: str
) -> RevisionChange:
    """The factory acknowledges the new revision through its link (the change must be its own order's)."""
    change = await session.scalar(
        select(RevisionChange).where(RevisionChange.id == change_id, RevisionChange.order_id == order.id)
    )
    if change is None:
        raise ValidationFailed(_("This revision change is not part of the order."), field="change")
    name = text_of(name, field="name", limit=200, required=True)
    await perform(
        session,
        REVISION_CHANGE,
        change,
        "acknowledge",
        actor=None,
        org_id=change.org_id,
        project_id=change.project_id,
        inputs={"name": name},
    )
    return change


async def changes_of_order(session: AsyncSession, order_id: int) -> list[RevisionChange]:
    rows = await session.scalars(
        select(RevisionChange).where(RevisionChange.order_id == order_id).order_by(RevisionChange.id)
    )
    return list(rows.all())


async def changes_of_project(session: AsyncSession, project_id: int) -> list[RevisionChange]:
    rows = await session.scalars(
        select(RevisionChange).where(RevisionChange.project_id == project_id).order_by(RevisionChange.id)
    )
    return list(rows.all())


# --------------------------------------------------------------------------------------------------------------
# Floor deviations


async def _decided(ctx: Context[FloorDeviation]) -> None:
    ctx.obj.decided_by_id = ctx.actor.id if ctx.actor is not None else None
    ctx.obj.decision_comment = str(ctx.inputs.get("comment") or "").strip()


FLOOR_DEVIATION: Machine[DeviationStatus] = Machine(
    name="floor_deviation",
    subject=N_("floor deviation"),
    states=DeviationStatus,
    column="status",
    final=states(DeviationStatus.approved, DeviationStatus.nonconformance),
    transitions=(
        Transition(
            "approve",
            states(DeviationStatus.reported),
            DeviationStatus.approved,
            frozenset({Role.BRAND}),
            "floor_deviation.approved",
            wrong_state=N_("This deviation was already decided: it is %(state)s."),
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            effect=_decided,
        ),
        Transition(
            "reject",
            states(DeviationStatus.reported),
            DeviationStatus.nonconformance,
            frozenset({Role.BRAND}),
            "floor_deviation.nonconformance",
            wrong_state=N_("This deviation was already decided: it is %(state)s."),
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            requires=("comment",),
            effect=_decided,
        ),
    ),
)


async def report_deviation(
    session: AsyncSession,
    *,
    order: ProductionOrder,
    lot_id: Any,
    description: str,
    name: str = "",
    actor: User | None = None,
) -> FloorDeviation:
    """A floor deviation from the factory (actor None, through its link: a name is required) or an inspector."""
    if actor is not None:
        await require_staff(session, actor, order.org_id)
        name = name or actor.display_name
    description = text_of(description, field="description", limit=DESCRIPTION_LIMIT, required=True)
    name = text_of(name, field="name", limit=200, required=actor is None)
    lot: Lot | None = None
    if lot_id not in (None, ""):
        try:
            wanted = int(str(lot_id))
        except ValueError:
            raise ValidationFailed(_("Choose a lot of the order."), field="lot") from None
        lot = await session.scalar(select(Lot).where(Lot.id == wanted, Lot.order_id == order.id))
        if lot is None:
            raise ValidationFailed(_("Choose a lot of the order."), field="lot")
    number = (
        await session.scalar(
            select(func.max(FloorDeviation.number)).where(FloorDeviation.order_id == order.id)
        )
        or 0
    ) + 1
    deviation = FloorDeviation(
        org_id=order.org_id,
        order_id=order.id,
        project_id=order.project_id,
        lot_id=lot.id if lot is not None else None,
        number=number,
        description=description,
        reported_by_name=name,
        reported_by_id=actor.id if actor is not None else None,
        via_link=actor is None,
        status=DeviationStatus.reported,
    )
    session.add(deviation)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(_("Someone else reported a deviation at the same time. Try again.")) from exc
    after = {
        "order": order.reference,
        "number": number,
        "lot": lot.number if lot is not None else None,
        "description": description,
        "by": name,
    }
    await audit.record(
        session,
        actor_id=actor.id if actor is not None else None,
        action="floor_deviation.reported",
        subject_type="floor_deviation",
        subject_id=deviation.id,
        org_id=order.org_id,
        project_id=order.project_id,
        after=after,
    )
    await bus.fire(
        session,
        Event(
            name="floor_deviation.reported",
            actor=actor,
            subject=deviation,
            org_id=order.org_id,
            project_id=order.project_id,
            after=after,
        ),
    )
    return deviation


async def decide_deviation(
    session: AsyncSession,
    *,
    actor: User,
    deviation_id: int,
    decision: str,
    comment: str = "",
    expected_version: int | None = None,
) -> FloorDeviation:
    """The brand approves the deviation (part of the record) or refuses it: a nonconformance (comment required)."""
    deviation = await load_deviation(session, deviation_id)
    if decision not in ("approve", "reject"):
        raise ValidationFailed(_("Choose approve or reject."), field="decision")
    await perform(
        session,
        FLOOR_DEVIATION,
        deviation,
        decision,
        actor=actor,
        org_id=deviation.org_id,
        project_id=deviation.project_id,
        inputs={"comment": text_of(comment, field="comment")},
        expected_version=expected_version,
    )
    return deviation


async def deviations_of_project(session: AsyncSession, project_id: int) -> list[FloorDeviation]:
    rows = await session.scalars(
        select(FloorDeviation)
        .where(FloorDeviation.project_id == project_id)
        .order_by(FloorDeviation.order_id, FloorDeviation.number)
    )
    return list(rows.all())


async def deviations_of_order(session: AsyncSession, order_id: int) -> list[FloorDeviation]:
    rows = await session.scalars(
        select(FloorDeviation).where(FloorDeviation.order_id == order_id).order_by(FloorDeviation.number)
    )
    return list(rows.all())


# --------------------------------------------------------------------------------------------------------------
# The gate


async def release_gate(session: AsyncSession, *, lot: Lot, order: ProductionOrder) -> list[str]:
    """What of change control stops the lot's release: an unacknowledged revision, an undecided deviation."""
    missing: list[str] = []
    held: list[Condition] = await unresolved_for(session, subject_type="lot", subject_ids=[lot.id])
    if any(c.kind == HOLD_REVISION.name for c in held):
        label = await session.scalar(select(SpecRevision).where(SpecRevision.id == lot.revision_id))
        missing.append(
            _("Lot %(number)s is built to revision %(revision)s, which the factory has not acknowledged.")
            % {"number": lot.number, "revision": label.label if label is not None else "?"}
        )
    undecided = (
        await session.scalars(
            select(FloorDeviation.number).where(
                FloorDeviation.lot_id == lot.id, FloorDeviation.status == DeviationStatus.reported
            )
        )
    ).all()
    for number in undecided:
        missing.append(
            _("Floor deviation %(number)s on lot %(lot)s awaits the brand's decision.")
            % {"number": number, "lot": lot.number}
        )
    return missing
