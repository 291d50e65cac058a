"""The state-machine engine: declarative transition tables and the one function that performs a transition.

A machine is a table of `Transition`s. Each names its action, the states it may start from, the state it leads
to, who may perform it, the inputs it requires (a reason, a comment, a note), a precondition that lists what is
missing, the timestamp column it stamps, its audit event, and its effects. `perform()` applies one transition to a
loaded row in the caller's transaction, in a fixed order:

1. who: a viewer never acts (403); a role the transition does not allow is refused (403, saying who may);
2. where: a state outside the transition's sources is a Conflict (409) naming the state it is in;
3. inputs: a required reason/comment/note that is blank is a ValidationFailed (422) naming it;
4. precondition: every missing condition is listed in one Conflict (409);
5. the change: state, timestamp and effects; the flush checks the row's version (a stale write is a Conflict);
6. the audit event (before/after, reason) and then the rules registered on the bus (`makeready.kernel.bus`) for it.

Every machine registers itself in `MACHINES` when it is declared, so the wiring checks see every event a
transition can fire.

Roles are relative to the record: `Role.BRAND` is an owner or member of the record's organization,
`Role.STAFF` an agency coordinator or admin, `Role.ASSIGNEE` the record's owner (a milestone's or task's),
`Role.RAISER` whoever raised it (a change request), `Role.SYSTEM` a job acting with no person (actor None).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import N_, _, join_sentences, label
from makeready.kernel import bus, ports
from makeready.kernel.stale import STALE_MESSAGE, check_version, flush

__all__ = [
    "MACHINES",
    "STALE_MESSAGE",
    "Context",
    "Machine",
    "Role",
    "Transition",
    "check_version",
    "flush",
    "load",
    "perform",
    "require_role",
    "require_text",
    "roles_of",
    "states",
]

S = TypeVar("S", bound=enum.Enum)
M = TypeVar("M")


class Role(enum.StrEnum):
    """Who acts, relative to the record being changed."""

    BRAND = "brand"
    STAFF = "staff"
    ASSIGNEE = "assignee"
    RAISER = "raiser"
    SYSTEM = "system"
    VIEWER = "viewer"


VIEWER_MESSAGE = N_("Viewers can look but not change anything. Ask an owner for a member role.")
REQUIRED_MESSAGES: Mapping[str, str] = {
    "reason": N_("Give a reason: it is recorded with the decision."),
    "comment": N_("Write a comment that says what is wrong: it is recorded with the decision."),
    "note": N_("Write a note that explains the decision: it is recorded with it."),
}


@dataclass
class Context(Generic[M]):
    """What a precondition or an effect sees: the row, who acts, the inputs and the moment."""

    session: AsyncSession
    obj: M
    actor: Any
    """The acting user (makeready.accounts.models.User), or None for the system."""
    roles: frozenset[Role]
    inputs: dict[str, Any]
    now: datetime
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


Precondition = Callable[[Context[Any]], Awaitable[list[str]]]
Effect = Callable[[Context[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One row of a machine's table."""

    action: str
    sources: frozenset[S]
    target: S | None
    """The state it leads to; None when it leaves the state as it is or an effect decides (resume)."""
    roles: frozenset[Role]
    event: str
    """The audit action, also the name the triggers listen for."""
    wrong_state: str
    """N_ message for a call from another state; may use %(state)s."""
    forbidden: str
    """N_ message for a caller without an allowed role."""
    stamp: str | None = None
    """A datetime column set to now."""
    requires: tuple[str, ...] = ()
    """Inputs that must not be blank: reason, comment, note."""
    precondition: Precondition | None = None
    effect: Effect | None = None


@dataclass(frozen=True)
class Machine(Generic[S]):
    """A declarative table of transitions over one enum-valued column."""

    name: str
    """The subject type in audit events and messages (project, milestone, sample_round...)."""
    subject: str
    """N_ name of the subject for people."""
    states: type[S]
    column: str
    transitions: tuple[Transition[S], ...]
    final: frozenset[S] = frozenset()

    def __post_init__(self) -> None:
        actions = [t.action for t in self.transitions]
        if len(actions) != len(set(actions)):
            raise ValueError(f"{self.name}: duplicate actions in {actions}")
        MACHINES[self.name] = self

    @property
    def events(self) -> frozenset[str]:
        """The audit actions (bus events) its transitions fire."""
        return frozenset(t.event for t in self.transitions)

    @property
    def actions(self) -> list[str]:
        return [t.action for t in self.transitions]

    def transition(self, action: str) -> Transition[S]:
        for t in self.transitions:
            if t.action == action:
                return t
        raise KeyError(f"{self.name} has no action {action!r}; it has {', '.join(self.actions)}")

    def allowed(self, state: S) -> list[Transition[S]]:
        """The transitions that may start from `state` (for buttons and the board)."""
        return [t for t in self.transitions if state in t.sources]


MACHINES: dict[str, Machine[Any]] = {}
"""Every machine declared so far, by name (each registers itself)."""


def states(*values: S) -> frozenset[S]:
    return frozenset(values)


# --------------------------------------------------------------------------------------------------------------
# Who is acting


async def roles_of(
    session: AsyncSession,
    actor: Any,
    *,
    org_id: int,
    assignee_id: int | None = None,
    raiser_id: int | None = None,
) -> frozenset[Role]:
    """The actor's roles towards a record of `org_id`. Another organization's user gets NotFound, like its rows."""
    if actor is None:
        return frozenset({Role.SYSTEM})
    if not actor.is_active:
        raise PermissionDenied(_("This account is deactivated."))
    found: set[Role] = set()
    if actor.is_staff or actor.is_admin:
        found.add(Role.STAFF)
    else:
        role = await ports.membership_role()(session, actor.id, org_id)
        if role is None:
            raise NotFound(_("Not found."))
        found.add(Role.VIEWER if role == "viewer" else Role.BRAND)
    if Role.VIEWER not in found:
        if assignee_id is not None and assignee_id == actor.id:
            found.add(Role.ASSIGNEE)
        if raiser_id is not None and raiser_id == actor.id:
            found.add(Role.RAISER)
    return frozenset(found)


def require_role(roles: frozenset[Role], allowed: Iterable[Role], message: str) -> None:
    """Viewers never act; anyone else needs one of `allowed`. `message` is an N_ msgid."""
    if Role.VIEWER in roles:
        raise PermissionDenied(_(VIEWER_MESSAGE))
    if not roles & frozenset(allowed):
        raise PermissionDenied(_(message))


def require_text(inputs: Mapping[str, Any], names: Iterable[str]) -> None:
    for name in names:
        value = inputs.get(name)
        if not (isinstance(value, str) and value.strip()):
            raise ValidationFailed(_(REQUIRED_MESSAGES[name]), field=name)


# --------------------------------------------------------------------------------------------------------------
# Performing a transition


async def perform(
    session: AsyncSession,
    machine: Machine[S],
    obj: Any,
    action: str,
    *,
    actor: Any,
    org_id: int,
    project_id: int | None,
    inputs: dict[str, Any] | None = None,
    assignee_id: int | None = None,
    raiser_id: int | None = None,
    expected_version: int | None = None,
    reason: str = "",
    now: datetime | None = None,
    event: str | None = None,
) -> Context[Any]:
    """Apply `action` of `machine` to `obj` (already loaded through the caller's scoped session).

    `event` names the audit action and bus event instead of the transition's own, for machines whose rows each
    speak for a kind (a condition's escalation fires "milestone.escalated"); such names are declared on the bus."""
    transition = machine.transition(action)
    inputs = dict(inputs or {})
    roles = await roles_of(session, actor, org_id=org_id, assignee_id=assignee_id, raiser_id=raiser_id)
    require_role(roles, transition.roles, transition.forbidden)
    check_version(obj, expected_version, machine)
    current = getattr(obj, machine.column)
    if current not in transition.sources:
        raise Conflict(
            _(transition.wrong_state) % {"state": label(current)}, current_state=str(current.value)
        )
    require_text(inputs, transition.requires)
    ctx: Context[Any] = Context(
        session=session, obj=obj, actor=actor, roles=roles, inputs=inputs, now=now or utcnow()
    )
    if transition.precondition is not None:
        missing = await transition.precondition(ctx)
        if missing:
            raise Conflict(join_sentences(missing), missing=missing)
    ctx.before[machine.column] = current
    if transition.target is not None:
        setattr(obj, machine.column, transition.target)
    if transition.stamp is not None:
        setattr(obj, transition.stamp, ctx.now)
    if transition.effect is not None:
        await transition.effect(ctx)
    ctx.after[machine.column] = getattr(obj, machine.column)
    if transition.stamp is not None:
        ctx.after[transition.stamp] = ctx.now
    await flush(session, machine.subject)
    await ports.record_audit()(
        session,
        actor_id=actor.id if actor else None,
        action=event or transition.event,
        subject_type=machine.name,
        subject_id=obj.id,
        org_id=org_id,
        project_id=project_id,
        before=ctx.before,
        after=ctx.after,
        reason=reason or str(inputs.get("reason") or inputs.get("comment") or inputs.get("note") or ""),
    )
    await bus.fire(
        session,
        bus.Event(
            name=event or transition.event,
            actor=actor,
            subject=obj,
            org_id=org_id,
            project_id=project_id,
            now=ctx.now,
            after=ctx.after,
        ),
    )
    return ctx


async def load(session: AsyncSession, model: type[M], object_id: int, message: str) -> M:
    """A row through the caller's scope: absent and another organization's look the same (NotFound)."""
    obj: M | None = (
        await session.execute(select(model).where(model.id == object_id))  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if obj is None:
        raise NotFound(_(message))
    return obj
