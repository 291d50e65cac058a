"""Corrective actions: requested -> answered -> verified -> closed.

The brand's rejection of an inspection opens one (a rule on "inspection.rejected"), due in DUE_DAYS. The factory
answers through its production link, in Chinese: root cause, action, rework done and the reworked quantity, with
evidence photos (the lot goes to rework). The inspector verifies the answer, which requests a re-inspection with a
fresh plan for the reworked quantity; a passed re-inspection closes the action. One not answered by its due date
raises "corrective_action.overdue" on it (the periodic pass `flag_overdue`), resolved when it is answered.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.conditions import kinds
from makeready.conditions.service import raise_condition, resolve_on
from makeready.db.types import utcnow
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel import bus
from makeready.kernel.machine import Context, Machine, Role, Transition, load, perform, states
from makeready.production.common import load_lot, load_order, text_of, whole_units
from makeready.production.lots import move_lot
from makeready.production.models import LotStatus, ProductionOrder
from makeready.projects.models import Project
from makeready.quality import inspections, photos
from makeready.quality.models import ActionStatus, CorrectiveAction, Inspection, InspectionKind

bus.emits("corrective_action.requested")

ACTION_NOT_FOUND = N_("This corrective action does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only the agency's inspectors verify and close corrective actions.")
DUE_DAYS = 7
OVERDUE = kinds.define(
    kinds.Kind(
        name="corrective_action.overdue",
        subject_type="corrective_action",
        title=N_("Corrective action overdue"),
    )
)
ANSWERED = N_("The factory answered the corrective action.")
TEXT_LIMIT = 4000


async def _answered(ctx: Context[CorrectiveAction]) -> None:
    action = ctx.obj
    for key in ("root_cause", "action", "rework_done", "answered_name"):
        setattr(action, key, ctx.inputs[key])
    action.reworked_quantity = ctx.inputs["reworked_quantity"]
    ctx.after.update(
        root_cause=action.root_cause,
        action=action.action,
        rework_done=action.rework_done,
        reworked_quantity=action.reworked_quantity,
        name=action.answered_name,
    )
    lot = await load_lot(ctx.session, action.lot_id)
    if lot.status == LotStatus.failed:
        await move_lot(ctx.session, lot, "rework", actor=None)
    await resolve_on(
        ctx.session, subject_type="corrective_action", subject_id=action.id, reason=ANSWERED, kinds=[OVERDUE]
    )


async def _verified(ctx: Context[CorrectiveAction]) -> None:
    action = ctx.obj
    assert ctx.actor is not None
    action.verified_by_id = ctx.actor.id
    action.verification_note = str(ctx.inputs.get("note") or "").strip()
    reinspection = await inspections.request_inspection(
        ctx.session,
        actor=ctx.actor,
        lot_id=action.lot_id,
        kind=InspectionKind.re_inspection.value,
        lot_size=action.reworked_quantity,
        parent_id=action.inspection_id,
    )
    action.reinspection_id = reinspection.id
    ctx.after.update(note=action.verification_note, reinspection_id=reinspection.id)


CORRECTIVE_ACTION: Machine[ActionStatus] = Machine(
    name="corrective_action",
    subject=N_("corrective action"),
    states=ActionStatus,
    column="status",
    final=states(ActionStatus.closed),
    transitions=(
        Transition(
            "answer",
            states(ActionStatus.requested, ActionStatus.answered),
            ActionStatus.answered,
            frozenset({Role.SYSTEM, Role.STAFF}),
            "corrective_action.answered",
            wrong_state=N_("This corrective action was already verified; it is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="answered_at",
            effect=_answered,
        ),
        Transition(
            "verify",
            states(ActionStatus.answered),
            ActionStatus.verified,
            frozenset({Role.STAFF}),
            "corrective_action.verified",
            wrong_state=N_(
                "A corrective action is verified once the factory answered it; this one is %(state)s."
            ),
            forbidden=STAFF_ONLY,
            stamp="verified_at",
            effect=_verified,
        ),
        Transition(
            "close",
            states(ActionStatus.verified),
            ActionStatus.closed,
            frozenset({Role.STAFF, Role.SYSTEM}),
            "corrective_action.closed",
            wrong_state=N_("Only a verified corrective action can be closed; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="closed_at",
        ),
    ),
)


async def load_action(session: AsyncSession, action_id: int) -> CorrectiveAction:
    return await load(session, CorrectiveAction, action_id, ACTION_NOT_FOUND)


async def open_action(session: AsyncSession, *, inspection: Inspection, problem: str) -> CorrectiveAction:
    """The request to the factory after a rejected inspection (the system)."""
    now = utcnow()
    action = CorrectiveAction(
        org_id=inspection.org_id,
        project_id=inspection.project_id,
        order_id=inspection.order_id,
        lot_id=inspection.lot_id,
        inspection_id=inspection.id,
        status=ActionStatus.requested,
        problem=problem,
        due_date=now.date() + timedelta(days=DUE_DAYS),
        requested_at=now,
    )
    session.add(action)
    await session.flush()
    after = {"inspection": inspection.reference, "problem": problem, "due_date": action.due_date.isoformat()}
    await audit.record(
        session,
        actor_id=None,
        action="corrective_action.requested",
        subject_type="corrective_action",
        subject_id=action.id,
        org_id=action.org_id,
        project_id=action.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="corrective_action.requested",
            actor=None,
            subject=action,
            org_id=action.org_id,
            project_id=action.project_id,
            now=now,
            after=after,
        ),
    )
    return action


async def actions_of_order(session: AsyncSession, order_id: int) -> list[CorrectiveAction]:
    rows = await session.scalars(
        select(CorrectiveAction)
        .where(CorrectiveAction.order_id == order_id)
        .order_by(CorrectiveAction.id.desc())
    )
    return list(rows.all())


async def answer_action(
    session: AsyncSession,
    *,
    order: ProductionOrder,
    action_id: int,
    data: dict[str, Any],
    files: list[photos.PhotoFile] | None = None,
    expected_version: int | None = None,
) -> CorrectiveAction:
    """The factory's answer through its link (no account: the system acts, the name is recorded).

    The action must belong to the link's order; another order's is a 404."""
    action = await load_action(session, action_id)
    if action.order_id != order.id:
        await load_action(session, -1)  # the same NotFound as a missing one
    lot = await load_lot(session, action.lot_id)
    reworked = whole_units(data.get("reworked_quantity"), field="reworked_quantity")
    name = text_of(data.get("name"), field="name", limit=200, required=True)
    inputs: dict[str, Any] = {
        "answered_name": text_of(data.get("name"), field="name", limit=200, required=True),
        "root_cause": text_of(data.get("root_cause"), field="root_cause", limit=TEXT_LIMIT, required=True),
        "action": text_of(data.get("action"), field="action", limit=TEXT_LIMIT, required=True),
        "rework_done": text_of(data.get("rework_done"), field="rework_done", limit=TEXT_LIMIT, required=True),
        "reworked_quantity": whole_units(data.get("reworked_quantity"), field="reworked_quantity"),
    }
    if reworked > lot.quantity:
        raise ValidationFailed(
            _("The lot has %(quantity)s units: no more can be reworked.") % {"quantity": lot.quantity},
            field="reworked_quantity",
        )
    await perform(
        session,
        CORRECTIVE_ACTION,
        action,
        "answer",
        actor=None,
        org_id=action.org_id,
        project_id=action.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    if files:
        await photos.attach(
            session,
            order=order,
            subject_type="corrective_action",
            subject_id=action.id,
            files=files,
            actor_id=None,
            caption=name,
        )
    return action


async def verify_action(
    session: AsyncSession, *, actor: User, action_id: int, note: str = "", expected_version: int | None = None
) -> CorrectiveAction:
    """The inspector accepts the factory's answer: a re-inspection of the reworked quantity is requested."""
    action = await load_action(session, action_id)
    if action.reworked_quantity is None:
        raise Conflict(_("The factory has not said how many units it reworked."))
    await perform(
        session,
        CORRECTIVE_ACTION,
        action,
        "verify",
        actor=actor,
        org_id=action.org_id,
        project_id=action.project_id,
        inputs={"note": text_of(note, field="note")},
        expected_version=expected_version,
    )
    return action


async def close_action(
    session: AsyncSession, *, actor: User | None, action: CorrectiveAction, reason: str
) -> None:
    await perform(
        session,
        CORRECTIVE_ACTION,
        action,
        "close",
        actor=actor,
        org_id=action.org_id,
        project_id=action.project_id,
        reason=reason,
    )


async def flag_overdue(session: AsyncSession, *, today: date) -> list[int]:
    """Raise "corrective_action.overdue" on every action still unanswered after its due date (once each)."""
    rows = (
        await session.execute(
            select(CorrectiveAction, Project.coordinator_id)
            .join(Project, Project.id == CorrectiveAction.project_id)
            .where(CorrectiveAction.status == ActionStatus.requested, CorrectiveAction.due_date < today)
            .order_by(CorrectiveAction.id)
            .limit(500)
        )
    ).all()
    raised = []
    for action, coordinator_id in rows:
        condition = await raise_condition(
            session,
            kind=OVERDUE,
            subject_id=action.id,
            org_id=action.org_id,
            project_id=action.project_id,
            owner_id=coordinator_id,
            details={"due_date": action.due_date},
        )
        if condition is not None:
            raised.append(action.id)
    return raised


async def order_of(session: AsyncSession, action: CorrectiveAction) -> ProductionOrder:
    return await load_order(session, action.order_id)
