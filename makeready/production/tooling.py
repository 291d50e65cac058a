"""Tooling: the molds, jigs, fixtures and test rigs an order needs, and the TOOLING machine.

to_make -> in_progress -> trial (the factory submits T1, T2... with photos through its link) -> approved, or
rejected with a reason -> in_progress (retried). A lot cannot start until every item of its order is approved,
unless a coordinator overrides with a recorded reason (`orders.override_tooling`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel import bus
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    perform,
    roles_of,
    states,
)
from makeready.kernel.stale import flush
from makeready.production.common import (
    NAME_LIMIT,
    STAFF_ONLY,
    a_date,
    load_order,
    load_tooling,
    require_staff,
    text_of,
)
from makeready.production.models import OrderStatus, ToolingItem, ToolingKind, ToolingStatus

bus.emits("tooling.created")

STAFF = frozenset({Role.STAFF})
TOOLING_ORDER = frozenset(
    {
        OrderStatus.draft,
        OrderStatus.confirmed,
        OrderStatus.sent,
        OrderStatus.accepted,
        OrderStatus.in_production,
    }
)


async def _trial(ctx: Context[ToolingItem]) -> None:
    ctx.obj.trial_number += 1
    ctx.obj.trial_note = ctx.inputs.get("note") or ""
    ctx.after.update(trial_number=ctx.obj.trial_number, note=ctx.obj.trial_note)


async def _rejected(ctx: Context[ToolingItem]) -> None:
    ctx.obj.rejection_reason = ctx.inputs["reason"]


async def _approved(ctx: Context[ToolingItem]) -> None:
    ctx.obj.rejection_reason = ""


TOOLING: Machine[ToolingStatus] = Machine(
    name="tooling",
    subject=N_("tooling item"),
    states=ToolingStatus,
    column="status",
    final=states(ToolingStatus.approved),
    transitions=(
        Transition(
            "start",
            states(ToolingStatus.to_make, ToolingStatus.rejected),
            ToolingStatus.in_progress,
            frozenset({Role.STAFF, Role.SYSTEM}),
            "tooling.in_progress",
            wrong_state=N_("Only tooling still to make, or rejected, can be started; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="started_at",
        ),
        Transition(
            "submit_trial",
            states(ToolingStatus.to_make, ToolingStatus.in_progress, ToolingStatus.rejected),
            ToolingStatus.trial,
            frozenset({Role.STAFF, Role.SYSTEM}),
            "tooling.trial",
            wrong_state=N_("A trial is submitted for tooling being made; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="trial_at",
            effect=_trial,
        ),
        Transition(
            "approve",
            states(ToolingStatus.trial),
            ToolingStatus.approved,
            STAFF,
            "tooling.approved",
            wrong_state=N_("Only tooling on trial can be approved; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="decided_at",
            effect=_approved,
        ),
        Transition(
            "reject",
            states(ToolingStatus.trial),
            ToolingStatus.rejected,
            STAFF,
            "tooling.rejected",
            wrong_state=N_("Only tooling on trial can be rejected; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="decided_at",
            requires=("reason",),
            effect=_rejected,
        ),
    ),
)


async def perform_tooling(
    session: AsyncSession,
    item: ToolingItem,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> ToolingItem:
    await perform(
        session,
        TOOLING,
        item,
        action,
        actor=actor,
        org_id=item.org_id,
        project_id=item.project_id,
        inputs=inputs,
        assignee_id=item.owner_id,
        expected_version=expected_version,
    )
    return item


async def add_tooling(
    session: AsyncSession, *, actor: User, order_id: int, data: dict[str, Any]
) -> ToolingItem:
    order = await load_order(session, order_id)
    await require_staff(session, actor, order.org_id)
    if order.status not in TOOLING_ORDER:
        raise Conflict(
            _("Tooling is planned while the order runs; it is %(state)s.") % {"state": label(order.status)},
            current_state=order.status.value,
        )
    try:
        kind = ToolingKind(str(data.get("kind") or ToolingKind.mold.value))
    except ValueError:
        raise ValidationFailed(_("Choose a mold, jig, fixture or test rig."), field="kind") from None
    name = text_of(data.get("name"), field="name", limit=NAME_LIMIT, required=True)
    due = a_date(data["due_date"], field="due_date") if str(data.get("due_date") or "").strip() else None
    owner_id = data.get("owner_id") or None
    if owner_id is not None:
        owner_id = int(owner_id)
        roles = await roles_of(session, await _user(session, owner_id), org_id=order.org_id)
        if Role.STAFF not in roles:
            raise ValidationFailed(_("The owner must be an agency coordinator."), field="owner_id")
    item = ToolingItem(
        org_id=order.org_id,
        order_id=order.id,
        project_id=order.project_id,
        kind=kind,
        name=name,
        owner_id=owner_id,
        due_date=due,
        status=ToolingStatus.to_make,
    )
    session.add(item)
    await flush(session, TOOLING.subject)
    after = {
        "kind": kind.value,
        "name": name,
        "due_date": due.isoformat() if due else None,
        "owner_id": owner_id,
    }
    await audit.record(
        session,
        actor_id=actor.id,
        action="tooling.created",
        subject_type="tooling",
        subject_id=item.id,
        org_id=item.org_id,
        project_id=item.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="tooling.created",
            actor=actor,
            subject=item,
            org_id=item.org_id,
            project_id=item.project_id,
            after=after,
        ),
    )
    return item


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise ValidationFailed(_("The owner must be an agency coordinator."), field="owner_id")
    return user


async def submit_trial(
    session: AsyncSession, *, item: ToolingItem, note: str = "", actor: User | None = None
) -> ToolingItem:
    """A trial (T1, T2...) from the factory's link (actor None) or a coordinator for it."""
    return await perform_tooling(
        session, item, "submit_trial", actor=actor, inputs={"note": text_of(note, field="note", limit=2000)}
    )


async def decide_tooling(
    session: AsyncSession,
    *,
    actor: User,
    item_id: int,
    decision: str,
    reason: str = "",
    expected_version: int | None = None,
) -> ToolingItem:
    item = await load_tooling(session, item_id)
    if decision not in ("approve", "reject", "start"):
        raise ValidationFailed(_("Choose approve or reject."), field="decision")
    return await perform_tooling(
        session,
        item,
        decision,
        actor=actor,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def tooling_of(session: AsyncSession, order_id: int) -> list[ToolingItem]:
    rows = await session.scalars(
        select(ToolingItem).where(ToolingItem.order_id == order_id).order_by(ToolingItem.id)
    )
    return list(rows.all())
