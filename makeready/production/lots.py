"""The lot machine, the order's split into lots, and the factory's progress reports.

planned -> in_production -> produced -> inspecting -> passed | failed (-> rework -> reinspecting -> passed |
failed) -> released (for packing) -> packed -> shipped -> delivered; a lot that has not started can be cancelled.

Production and its reports live here; the quality, packing and shipping transitions are performed by the domains
above (makeready.quality, makeready.shipping) through `move_lot`, and what a start or a release needs from them
is asked through the kernel's gates (`gates.LOT_START`: materials in house; `gates.LOT_RELEASE`: no active hold).
A progress report never overwrites an earlier one: it is a new dated row, and the latest is the lot's state.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel import bus, gates
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    perform,
    states,
)
from makeready.kernel.stale import check_version, flush
from makeready.production.common import (
    STAFF_ONLY,
    a_date,
    load_lot,
    load_order,
    require_staff,
    text_of,
    whole_units,
)
from makeready.production.models import (
    DEFAULT_ROUTING,
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ProgressReport,
)
from makeready.production.orders import perform_order, tooling_missing

bus.emits("lot.created", "lot.progress_reported")

STAFF = frozenset({Role.STAFF})
STAFF_OR_SYSTEM = frozenset({Role.STAFF, Role.SYSTEM})
REPORTABLE = states(LotStatus.in_production, LotStatus.produced)
PLANNABLE_ORDER = states(
    OrderStatus.draft,
    OrderStatus.confirmed,
    OrderStatus.sent,
    OrderStatus.accepted,
    OrderStatus.in_production,
)
STARTED_ORDER = states(OrderStatus.accepted, OrderStatus.in_production)
AFTER_PRODUCTION = frozenset(LotStatus) - states(
    LotStatus.planned, LotStatus.in_production, LotStatus.cancelled
)
MAX_LOTS = 100
NOTE_LIMIT = 2000


async def _ready_to_start(ctx: Context[Lot]) -> list[str]:
    order = await load_order(ctx.session, ctx.obj.order_id)
    if order.status not in STARTED_ORDER:
        return [
            _("Production starts once the factory has accepted the order; it is %(state)s.")
            % {"state": label(order.status)}
        ]
    missing = await tooling_missing(ctx.session, order) + await gates.missing(
        gates.LOT_START, ctx.session, lot=ctx.obj, order=order
    )
    override = (ctx.inputs.get("override_reason") or "").strip()
    if missing and override:
        ctx.obj.start_override_reason = override
        ctx.after["overridden"] = missing
        return []
    return missing


async def _started(ctx: Context[Lot]) -> None:
    order = await load_order(ctx.session, ctx.obj.order_id)
    if order.status == OrderStatus.accepted:
        await perform_order(ctx.session, order, "start_production", actor=None)


async def _produced(ctx: Context[Lot]) -> None:
    """The order is produced when its last running lot is."""
    order = await load_order(ctx.session, ctx.obj.order_id)
    if order.status != OrderStatus.in_production:
        return
    still = await ctx.session.scalar(
        select(func.count(Lot.id)).where(
            Lot.order_id == order.id,
            Lot.id != ctx.obj.id,
            Lot.status.in_((LotStatus.planned, LotStatus.in_production)),
        )
    )
    if not still:
        await perform_order(ctx.session, order, "complete_production", actor=None)


async def _may_release(ctx: Context[Lot]) -> list[str]:
    order = await load_order(ctx.session, ctx.obj.order_id)
    return await gates.missing(gates.LOT_RELEASE, ctx.session, lot=ctx.obj, order=order)


async def _rescheduled(ctx: Context[Lot]) -> None:
    start: date = ctx.inputs["planned_start"]
    end: date = ctx.inputs["planned_end"]
    ctx.before.update(
        planned_start=ctx.obj.planned_start.isoformat(), planned_end=ctx.obj.planned_end.isoformat()
    )
    ctx.obj.planned_start, ctx.obj.planned_end = start, end
    ctx.after.update(planned_start=start.isoformat(), planned_end=end.isoformat())


def _t(
    action: str,
    sources: frozenset[LotStatus],
    target: LotStatus | None,
    wrong: str,
    roles: frozenset[Role] = STAFF_OR_SYSTEM,
    **kwargs: Any,
) -> Transition[LotStatus]:
    event = kwargs.pop("event", f"lot.{target.value if target else action}")
    return Transition(
        action, sources, target, roles, event, wrong_state=wrong, forbidden=STAFF_ONLY, **kwargs
    )


LOT: Machine[LotStatus] = Machine(
    name="lot",
    subject=N_("lot"),
    states=LotStatus,
    column="status",
    final=states(LotStatus.delivered, LotStatus.cancelled),
    transitions=(
        _t(
            "start",
            states(LotStatus.planned),
            LotStatus.in_production,
            N_("Only a planned lot can start production; this one is %(state)s."),
            roles=STAFF,
            event="lot.started",
            stamp="started_at",
            precondition=_ready_to_start,
            effect=_started,
        ),
        _t(
            "finish",
            states(LotStatus.in_production),
            LotStatus.produced,
            N_("Only a lot in production can be finished; this one is %(state)s."),
            stamp="produced_at",
            effect=_produced,
        ),
        _t(
            "inspect",
            states(LotStatus.produced),
            LotStatus.inspecting,
            N_("A lot is inspected once it is produced; this one is %(state)s."),
        ),
        _t(
            "pass_inspection",
            states(LotStatus.inspecting, LotStatus.reinspecting, LotStatus.failed),
            LotStatus.passed,
            N_("Only a lot under inspection can pass; this one is %(state)s."),
            event="lot.passed",
        ),
        _t(
            "fail_inspection",
            states(LotStatus.inspecting, LotStatus.reinspecting),
            LotStatus.failed,
            N_("Only a lot under inspection can fail; this one is %(state)s."),
            event="lot.failed",
        ),
        _t(
            "fail_review",
            states(LotStatus.passed),
            LotStatus.failed,
            N_("Only a lot that passed inspection can be failed on review; this one is %(state)s."),
            event="lot.failed_review",
        ),
        _t(
            "rework",
            states(LotStatus.failed),
            LotStatus.rework,
            N_("Only a failed lot is reworked; this one is %(state)s."),
        ),
        _t(
            "reinspect",
            states(LotStatus.rework),
            LotStatus.reinspecting,
            N_("Only a reworked lot is inspected again; this one is %(state)s."),
        ),
        _t(
            "release",
            states(LotStatus.passed),
            LotStatus.released,
            N_("Only a lot that passed inspection can be released for packing; this one is %(state)s."),
            stamp="released_at",
            precondition=_may_release,
        ),
        _t(
            "pack",
            states(LotStatus.released),
            LotStatus.packed,
            N_("Only a lot released for packing can be packed; this one is %(state)s."),
            stamp="packed_at",
        ),
        _t(
            "ship",
            states(LotStatus.packed),
            LotStatus.shipped,
            N_("Only a packed lot can be shipped; this one is %(state)s."),
            stamp="shipped_at",
        ),
        _t(
            "deliver",
            states(LotStatus.shipped),
            LotStatus.delivered,
            N_("Only a shipped lot can be delivered; this one is %(state)s."),
            stamp="delivered_at",
        ),
        _t(
            "reschedule",
            states(LotStatus.planned, LotStatus.in_production),
            None,
            N_("The dates of a %(state)s lot cannot be moved."),
            roles=STAFF,
            event="lot.rescheduled",
            requires=("reason",),
            effect=_rescheduled,
        ),
        _t(
            "cancel",
            states(LotStatus.planned),
            LotStatus.cancelled,
            N_("Only a lot that has not started can be cancelled; this one is %(state)s."),
            requires=("reason",),
        ),
    ),
)


async def move_lot(
    session: AsyncSession,
    lot: Lot,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Lot:
    """Perform one transition of the lot machine (the domains above production call this)."""
    await perform(
        session,
        LOT,
        lot,
        action,
        actor=actor,
        org_id=lot.org_id,
        project_id=lot.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return lot


# --------------------------------------------------------------------------------------------------------------
# Planning lots


def _dates(data: dict[str, Any]) -> tuple[date, date]:
    start = a_date(data.get("planned_start"), field="planned_start")
    end = a_date(data.get("planned_end"), field="planned_end")
    if end < start:
        raise ValidationFailed(_("A lot cannot end before it starts."), field="planned_end")
    if end - start > timedelta(days=366):
        raise ValidationFailed(_("A lot runs for at most a year."), field="planned_end")
    return start, end


async def planned_units(session: AsyncSession, order_id: int, *, except_lot: int | None = None) -> int:
    query = select(func.coalesce(func.sum(Lot.quantity), 0)).where(
        Lot.order_id == order_id, Lot.status != LotStatus.cancelled
    )
    if except_lot is not None:
        query = query.where(Lot.id != except_lot)
    return int(await session.scalar(query) or 0)


async def add_lot(session: AsyncSession, *, actor: User, order_id: int, data: dict[str, Any]) -> Lot:
    """A new lot of the order: quantity and planned dates; the lots never sum to more than the order."""
    order = await load_order(session, order_id)
    await require_staff(session, actor, order.org_id)
    if order.status not in PLANNABLE_ORDER:
        raise Conflict(
            _("Lots are planned while the order runs; it is %(state)s.") % {"state": label(order.status)},
            current_state=order.status.value,
        )
    quantity = whole_units(data.get("quantity"), field="quantity")
    start, end = _dates(data)
    planned = await planned_units(session, order.id)
    if planned + quantity > order.quantity:
        raise ValidationFailed(
            _(
                "The lots would hold %(total)s units, more than the order's %(quantity)s (%(left)s left to plan)."
            )
            % {"total": planned + quantity, "quantity": order.quantity, "left": order.quantity - planned},
            field="quantity",
        )
    count = await session.scalar(select(func.count(Lot.id)).where(Lot.order_id == order.id)) or 0
    if count >= MAX_LOTS:
        raise ValidationFailed(
            _("An order has at most %(count)s lots.") % {"count": MAX_LOTS}, field="quantity"
        )
    number = (await session.scalar(select(func.max(Lot.number)).where(Lot.order_id == order.id)) or 0) + 1
    lot = Lot(
        org_id=order.org_id,
        order_id=order.id,
        project_id=order.project_id,
        number=number,
        quantity=quantity,
        planned_start=start,
        planned_end=end,
        revision_id=order.revision_id,
        status=LotStatus.planned,
        progress={},
    )
    session.add(lot)
    await flush(session, LOT.subject)
    # a second writer that took the same number loses on the unique constraint (a Conflict above)
    if await planned_units(session, order.id) > order.quantity:
        raise Conflict(_("Someone else planned lots of this order at the same time. Try again."))
    after = {
        "number": number,
        "quantity": quantity,
        "planned_start": start.isoformat(),
        "planned_end": end.isoformat(),
    }
    await audit.record(
        session,
        actor_id=actor.id,
        action="lot.created",
        subject_type="lot",
        subject_id=lot.id,
        org_id=lot.org_id,
        project_id=lot.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="lot.created",
            actor=actor,
            subject=lot,
            org_id=lot.org_id,
            project_id=lot.project_id,
            after=after,
        ),
    )
    return lot


async def resize_lot(
    session: AsyncSession, *, actor: User, lot_id: int, quantity: Any, expected_version: int | None = None
) -> Lot:
    """Change a planned lot's quantity (dates move through `reschedule_lot`, with a reason)."""
    lot = await load_lot(session, lot_id)
    await require_staff(session, actor, lot.org_id)
    check_version(lot, expected_version, LOT)
    if lot.status != LotStatus.planned:
        raise Conflict(
            _("Only a planned lot can change its quantity; this one is %(state)s.")
            % {"state": label(lot.status)},
            current_state=lot.status.value,
        )
    order = await load_order(session, lot.order_id)
    new = whole_units(quantity, field="quantity")
    others = await planned_units(session, order.id, except_lot=lot.id)
    if others + new > order.quantity:
        raise ValidationFailed(
            _(
                "The lots would hold %(total)s units, more than the order's %(quantity)s (%(left)s left to plan)."
            )
            % {"total": others + new, "quantity": order.quantity, "left": order.quantity - others},
            field="quantity",
        )
    before = lot.quantity
    lot.quantity = new
    await flush(session, LOT.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="lot.resized",
        subject_type="lot",
        subject_id=lot.id,
        org_id=lot.org_id,
        project_id=lot.project_id,
        before={"quantity": before},
        after={"quantity": new},
    )
    return lot


async def reschedule_lot(
    session: AsyncSession,
    *,
    actor: User,
    lot_id: int,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> Lot:
    lot = await load_lot(session, lot_id)
    start, end = _dates(data)
    return await move_lot(
        session,
        lot,
        "reschedule",
        actor=actor,
        inputs={"planned_start": start, "planned_end": end, "reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def start_lot(
    session: AsyncSession,
    *,
    actor: User,
    lot_id: int,
    override_reason: str = "",
    expected_version: int | None = None,
) -> Lot:
    """Start production of a lot: refused (listing what is missing) until its tooling is approved and its
    materials are in house, unless the coordinator overrides with a reason (recorded, and shown to the brand)."""
    lot = await load_lot(session, lot_id)
    return await move_lot(
        session,
        lot,
        "start",
        actor=actor,
        inputs={"override_reason": text_of(override_reason, field="override_reason")},
        expected_version=expected_version,
    )


async def cancel_lot(
    session: AsyncSession,
    *,
    actor: User | None,
    lot_id: int,
    reason: str,
    expected_version: int | None = None,
) -> Lot:
    lot = await load_lot(session, lot_id)
    return await move_lot(
        session,
        lot,
        "cancel",
        actor=actor,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


# --------------------------------------------------------------------------------------------------------------
# Progress reports


def produced_step(order: ProductionOrder) -> str:
    """The routing step whose count says how many units are produced: the one before packing, if packing is last."""
    return produced_step_of(order.routing)


def produced_step_of(routing: list[str] | None) -> str:
    """`produced_step` for a routing read without its order (the schedule reads columns, not rows)."""
    steps = list(routing or []) or list(DEFAULT_ROUTING)
    if len(steps) >= 2 and steps[-1] == "packed":
        return steps[-2]
    return steps[-1]


def check_counts(order: ProductionOrder, lot: Lot, counts: dict[str, Any]) -> dict[str, int]:
    """Whole, non-negative counts for every routing step, none above the lot's quantity, and none above the step
    before it (packed never exceeds finished, finished never exceeds assembled...)."""
    clean: dict[str, int] = {}
    previous: tuple[str, int] | None = None
    for step in order.routing:
        raw = counts.get(step)
        value = whole_units(0 if raw in (None, "") else raw, field=f"counts.{step}", minimum=0)
        if value > lot.quantity:
            raise ValidationFailed(
                _("%(step)s: %(count)s is more than the lot's %(quantity)s units.")
                % {"step": step_label(step), "count": value, "quantity": lot.quantity},
                field=f"counts.{step}",
            )
        if previous is not None and value > previous[1]:
            raise ValidationFailed(
                _(
                    "%(step)s: %(count)s is more than %(previous)s (%(previous_count)s): a step cannot count more "
                    "units than the step before it."
                )
                % {
                    "step": step_label(step),
                    "count": value,
                    "previous": step_label(previous[0]),
                    "previous_count": previous[1],
                },
                field=f"counts.{step}",
            )
        clean[step] = value
        previous = (step, value)
    unknown = set(counts) - set(order.routing)
    if unknown:
        raise ValidationFailed(
            _("Unknown routing steps: %(steps)s.") % {"steps": ", ".join(sorted(map(str, unknown)))},
            field="counts",
        )
    return clean


STEP_LABELS = {
    "cut": N_("Cut"),
    "assembled": N_("Assembled"),
    "finished": N_("Finished"),
    "packed": N_("Packed"),
}
"""The default routing's steps in the reader's language; a coordinator's own step names are shown as written."""


def step_label(step: str) -> str:
    msgid = STEP_LABELS.get(step)
    return _(msgid) if msgid else step


async def report_progress(
    session: AsyncSession,
    *,
    lot: Lot,
    counts: dict[str, Any],
    note: str = "",
    reporter_name: str = "",
    actor: User | None = None,
    via_link: bool = False,
) -> ProgressReport:
    """A new dated report for a lot in production (from the factory's link, or a coordinator for it).

    A report that contradicts itself is refused; one that shows fewer units than the last needs a note saying why.
    When the produced count reaches the lot's quantity the lot is produced.
    """
    order = await load_order(session, lot.order_id)
    if actor is not None and not via_link:
        await require_staff(session, actor, lot.org_id)
    if lot.status not in REPORTABLE:
        raise Conflict(
            _("Progress is reported while a lot is in production; this one is %(state)s.")
            % {"state": label(lot.status)},
            current_state=lot.status.value,
        )
    clean = check_counts(order, lot, counts)
    note = text_of(note, field="note", limit=NOTE_LIMIT)
    name = text_of(reporter_name, field="name", limit=200, required=via_link)
    last = lot.progress or {}
    fewer = [step for step in clean if clean[step] < int(last.get(step, 0))]
    if fewer and not note:
        raise ValidationFailed(
            _(
                "This report shows fewer units than the last one (%(steps)s): write a note that explains the correction."
            )
            % {"steps": ", ".join(step_label(s) for s in fewer)},
            field="note",
        )
    now = utcnow()
    report = ProgressReport(
        org_id=lot.org_id,
        lot_id=lot.id,
        order_id=lot.order_id,
        reported_at=now,
        counts=clean,
        note=note,
        reporter_name=name,
        via_link=via_link,
        reported_by_id=actor.id if actor is not None else None,
    )
    session.add(report)
    lot.progress = dict(clean)
    lot.last_report_at = now
    await flush(session, LOT.subject)
    after = {"lot": lot.number, "counts": clean, "note": note, "reporter": name}
    await audit.record(
        session,
        actor_id=actor.id if actor is not None else None,
        action="lot.progress_reported",
        subject_type="lot",
        subject_id=lot.id,
        org_id=lot.org_id,
        project_id=lot.project_id,
        before={"counts": last},
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="lot.progress_reported",
            actor=actor,
            subject=lot,
            org_id=lot.org_id,
            project_id=lot.project_id,
            now=now,
            after=after,
        ),
    )
    if lot.status == LotStatus.in_production and clean[produced_step(order)] >= lot.quantity:
        await move_lot(session, lot, "finish", actor=None)
    return report


def produced_count(order: ProductionOrder, lot: Lot) -> int:
    return int((lot.progress or {}).get(produced_step(order), 0))


async def reports_of(session: AsyncSession, lot_id: int, *, limit: int = 50) -> list[ProgressReport]:
    """The lot's reports, newest first (a page of them: a long run has hundreds)."""
    rows = await session.scalars(
        select(ProgressReport)
        .where(ProgressReport.lot_id == lot_id)
        .order_by(ProgressReport.reported_at.desc(), ProgressReport.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def lots_of(session: AsyncSession, order_id: int) -> list[Lot]:
    rows = await session.scalars(select(Lot).where(Lot.order_id == order_id).order_by(Lot.number))
    return list(rows.all())
