"""Raising, escalating and resolving conditions; the queries the board and "my work" read.

Raising is a creation (an audit event and the kind's bus event); escalating and resolving are transitions of the
CONDITION machine, performed with the kind's own event names. At most one unresolved condition exists per kind and
subject (a partial unique index), so a second raise is a no-op and two concurrent passes cannot raise twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit import service as audit
from makeready.conditions.kinds import Kind, get
from makeready.conditions.models import Condition, ConditionStatus
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.i18n import N_, _
from makeready.kernel import bus
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states

UNRESOLVED = frozenset({ConditionStatus.open, ConditionStatus.escalated})


async def _take_step(ctx: Context[Condition]) -> None:
    condition = ctx.obj
    condition.level += 1
    step = get(condition.kind).step(condition.level)
    condition.next_step_at = ctx.now + step.after if step is not None else None
    ctx.after["level"] = condition.level


async def _close(ctx: Context[Condition]) -> None:
    ctx.obj.next_step_at = None
    ctx.obj.resolution = str(ctx.inputs.get("reason") or "")


CONDITION: Machine[ConditionStatus] = Machine(
    name="condition",
    subject=N_("condition"),
    states=ConditionStatus,
    column="status",
    final=states(ConditionStatus.resolved),
    transitions=(
        Transition(
            action="escalate",
            sources=states(ConditionStatus.open, ConditionStatus.escalated),
            target=ConditionStatus.escalated,
            roles=frozenset({Role.SYSTEM, Role.STAFF}),
            event="condition.escalated",
            wrong_state=N_("This condition is %(state)s, so it cannot be escalated."),
            forbidden=N_("Only the agency escalates a condition."),
            stamp="escalated_at",
            effect=_take_step,
        ),
        Transition(
            action="resolve",
            sources=states(ConditionStatus.open, ConditionStatus.escalated),
            target=ConditionStatus.resolved,
            roles=frozenset({Role.SYSTEM, Role.STAFF, Role.ASSIGNEE}),
            event="condition.resolved",
            wrong_state=N_("This condition is %(state)s already."),
            forbidden=N_("Only its owner or a coordinator can resolve a condition."),
            stamp="resolved_at",
            requires=("reason",),
            effect=_close,
        ),
    ),
)


async def unresolved(session: AsyncSession, kind: Kind, subject_id: int) -> Condition | None:
    return await session.scalar(
        select(Condition).where(
            Condition.kind == kind.name,
            Condition.subject_type == kind.subject_type,
            Condition.subject_id == subject_id,
            Condition.resolved_at.is_(None),
        )
    )


async def unresolved_for(
    session: AsyncSession, *, subject_type: str, subject_ids: Iterable[int] | Select[int]
) -> list[Condition]:
    """The unresolved conditions on these subjects, oldest first (for pages: bounded by the ids asked for).

    The subjects are ids, or a statement selecting them: a page of a hundred projects has seven hundred open
    milestones, and rendering each id as a bound parameter cost more than the query."""
    if isinstance(subject_ids, Select):
        among = Condition.subject_id.in_(subject_ids)
    else:
        ids = list(subject_ids)
        if not ids:
            return []
        among = Condition.subject_id.in_(ids)
    rows = await session.scalars(
        select(Condition)
        .where(Condition.subject_type == subject_type, among, Condition.resolved_at.is_(None))
        .order_by(Condition.raised_at, Condition.id)
    )
    return list(rows.all())


async def raise_condition(
    session: AsyncSession,
    *,
    kind: Kind,
    subject_id: int,
    org_id: int,
    project_id: int | None,
    owner_id: int | None,
    now: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Condition | None:
    """Raise `kind` on the subject, unless it is already raised and unresolved (then None: nothing is said twice)."""
    if await unresolved(session, kind, subject_id) is not None:
        return None
    moment = now or utcnow()
    first = kind.step(0)
    condition = Condition(
        org_id=org_id,
        project_id=project_id,
        kind=kind.name,
        subject_type=kind.subject_type,
        subject_id=subject_id,
        owner_id=owner_id,
        status=ConditionStatus.open,
        level=0,
        raised_at=moment,
        next_step_at=moment + first.after if first is not None else None,
    )
    session.add(condition)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent pass raised it first
        raise Conflict(_("Someone else raised this condition at the same time. Try again.")) from exc
    await audit.record(
        session,
        actor_id=None,
        action=kind.name,
        subject_type="condition",
        subject_id=condition.id,
        org_id=org_id,
        project_id=project_id,
        after={
            "kind": kind.name,
            "subject_type": kind.subject_type,
            "subject_id": subject_id,
            "owner_id": owner_id,
            **(details or {}),
        },
    )
    await bus.fire(
        session,
        bus.Event(
            name=kind.name, actor=None, subject=condition, org_id=org_id, project_id=project_id, now=moment
        ),
    )
    return condition


async def escalate_condition(
    session: AsyncSession, condition: Condition, *, now: datetime | None = None
) -> None:
    """Take the next step of the condition's ladder (the system, from the periodic pass)."""
    step = get(condition.kind).step(condition.level)
    if step is None:
        raise Conflict(_("This condition is at the top of its escalation ladder."))
    await perform(
        session,
        CONDITION,
        condition,
        "escalate",
        actor=None,
        org_id=condition.org_id,
        project_id=condition.project_id,
        now=now,
        event=step.event,
    )


async def resolve_condition(
    session: AsyncSession,
    condition: Condition,
    *,
    reason: str,
    actor: Any = None,
    now: datetime | None = None,
) -> None:
    """Resolve with a reason: by the system when its cause is gone, or by its owner or a coordinator."""
    await perform(
        session,
        CONDITION,
        condition,
        "resolve",
        actor=actor,
        org_id=condition.org_id,
        project_id=condition.project_id,
        assignee_id=condition.owner_id,
        inputs={"reason": reason},
        now=now,
        event=get(condition.kind).resolved_event,
    )


async def resolve_on(
    session: AsyncSession,
    *,
    subject_type: str,
    subject_id: int,
    reason: str,
    kinds: Sequence[Kind] | None = None,
    actor: Any = None,
    now: datetime | None = None,
) -> list[Condition]:
    """Resolve the subject's unresolved conditions (of `kinds`, or all); returns those it resolved."""
    names = {k.name for k in kinds} if kinds is not None else None
    resolved = []
    for condition in await unresolved_for(session, subject_type=subject_type, subject_ids=[subject_id]):
        if names is None or condition.kind in names:
            await resolve_condition(session, condition, reason=reason, actor=actor, now=now)
            resolved.append(condition)
    return resolved


async def due_steps(session: AsyncSession, *, now: datetime, limit: int = 500) -> list[Condition]:
    """Unresolved conditions whose next ladder step is due, oldest first, at most `limit` (a pass's batch)."""
    rows = await session.scalars(
        select(Condition)
        .where(Condition.status.in_(UNRESOLVED), Condition.next_step_at <= now)
        .order_by(Condition.next_step_at, Condition.id)
        .limit(limit)
    )
    return list(rows.all())
