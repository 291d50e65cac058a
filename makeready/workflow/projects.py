"""The project phase machine: feasibility -> development -> production -> delivered, hold/resume, cancel.

Advancing is a coordinator's act and passes the phase's gate (makeready.workflow.gates); the go-ahead is the
brand's. Hold keeps the phase to return to in `held_from`; resume returns there. Cancelled and delivered are final.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.errors import Conflict, ValidationFailed
from makeready.feasibility.common import review_complete
from makeready.i18n import N_, _, format_date, join_sentences, label
from makeready.kernel.machine import Context, Machine, Precondition, Role, Transition, perform, states
from makeready.projects.access import ACTIVE_PHASES, load_project
from makeready.projects.models import Phase, Project
from makeready.workflow import gates

ADVANCE_FORBIDDEN = N_("Only a coordinator can move a project to its next phase.")
BLOCKED = N_("The project cannot move to %(phase)s yet:")


def _gate(to_phase: Phase) -> Precondition:
    async def check(ctx: Context[Project]) -> list[str]:
        missing = await gates.missing_for(ctx.session, ctx.obj, to_phase)
        if missing:
            header = _(BLOCKED) % {"phase": label(to_phase)}
            raise Conflict(join_sentences([header, *missing]), missing=missing, phase=to_phase.value)
        return []

    return check


async def _go_ahead_ready(ctx: Context[Project]) -> list[str]:
    project = ctx.obj
    if project.go_ahead_at is not None:
        return [
            _("The go-ahead was already given on %(date)s.")
            % {"date": format_date(project.go_ahead_at.date())}
        ]
    if not await review_complete(ctx.session, project.id):
        return [_("The feasibility review is not complete yet: the go-ahead follows it.")]
    return []


async def _record_go_ahead(ctx: Context[Project]) -> None:
    assert ctx.actor is not None
    ctx.obj.go_ahead_at = ctx.now
    ctx.obj.go_ahead_by_id = ctx.actor.id
    ctx.after["go_ahead_at"] = ctx.now


async def _hold(ctx: Context[Project]) -> None:
    ctx.obj.held_from = ctx.before["phase"]
    ctx.after["held_from"] = ctx.before["phase"]


async def _resume_ready(ctx: Context[Project]) -> list[str]:
    if ctx.obj.held_from not in ACTIVE_PHASES:
        return [_("This project has no phase to return to; a coordinator must decide where it goes.")]
    return []


async def _resume(ctx: Context[Project]) -> None:
    held_from = ctx.obj.held_from
    assert held_from is not None  # _resume_ready checked it
    ctx.obj.phase = held_from
    ctx.obj.held_from = None


async def _cancel(ctx: Context[Project]) -> None:
    ctx.obj.held_from = None


PROJECT: Machine[Phase] = Machine(
    name="project",
    subject=N_("project"),
    states=Phase,
    column="phase",
    final=states(Phase.delivered, Phase.cancelled),
    transitions=(
        Transition(
            "give_go_ahead",
            states(Phase.feasibility),
            None,
            frozenset({Role.BRAND}),
            "project.go_ahead_given",
            wrong_state=N_("The go-ahead is given during feasibility; this project is in %(state)s."),
            forbidden=N_("Only the brand's owners and members can give the go-ahead for development."),
            precondition=_go_ahead_ready,
            effect=_record_go_ahead,
        ),
        Transition(
            "start_development",
            states(Phase.feasibility),
            Phase.development,
            frozenset({Role.STAFF}),
            "project.phase_changed",
            wrong_state=N_("Only a project in feasibility can move to development; this one is %(state)s."),
            forbidden=ADVANCE_FORBIDDEN,
            stamp="phase_changed_at",
            precondition=_gate(Phase.development),
        ),
        Transition(
            "start_production",
            states(Phase.development),
            Phase.production,
            frozenset({Role.STAFF}),
            "project.phase_changed",
            wrong_state=N_("Only a project in development can move to production; this one is %(state)s."),
            forbidden=ADVANCE_FORBIDDEN,
            stamp="phase_changed_at",
            precondition=_gate(Phase.production),
        ),
        Transition(
            "deliver",
            states(Phase.production),
            Phase.delivered,
            # the system too: shipping delivers the project when the brand has received every lot
            frozenset({Role.STAFF, Role.SYSTEM}),
            "project.phase_changed",
            wrong_state=N_("Only a project in production can be delivered; this one is %(state)s."),
            forbidden=ADVANCE_FORBIDDEN,
            stamp="phase_changed_at",
            precondition=_gate(Phase.delivered),
        ),
        Transition(
            "hold",
            frozenset(ACTIVE_PHASES),
            Phase.on_hold,
            frozenset({Role.STAFF}),
            "project.phase_changed",
            wrong_state=N_(
                "Only a project in feasibility, development or production can be put on hold; this one is %(state)s."
            ),
            forbidden=N_("Only a coordinator can put a project on hold."),
            stamp="phase_changed_at",
            requires=("reason",),
            effect=_hold,
        ),
        Transition(
            "resume",
            states(Phase.on_hold),
            None,
            frozenset({Role.STAFF}),
            "project.phase_changed",
            wrong_state=N_("Only a project on hold can be resumed; this one is %(state)s."),
            forbidden=N_("Only a coordinator can resume a project."),
            stamp="phase_changed_at",
            precondition=_resume_ready,
            effect=_resume,
        ),
        Transition(
            "cancel",
            frozenset(ACTIVE_PHASES | {Phase.on_hold}),
            Phase.cancelled,
            frozenset({Role.STAFF, Role.BRAND}),
            "project.phase_changed",
            wrong_state=N_("This project is %(state)s: it can no longer be cancelled."),
            forbidden=N_("Only a coordinator or the brand's owners and members can cancel a project."),
            stamp="phase_changed_at",
            requires=("reason",),
            effect=_cancel,
        ),
    ),
)

ADVANCE_ACTIONS = {
    Phase.development: "start_development",
    Phase.production: "start_production",
    Phase.delivered: "deliver",
}


async def _act(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    project_id: int,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Project:
    project = await load_project(session, project_id)
    await perform(
        session,
        PROJECT,
        project,
        action,
        actor=actor,
        org_id=project.org_id,
        project_id=project.id,
        inputs={"reason": reason},
        expected_version=expected_version,
        reason=reason,
        now=now,
    )
    return project


async def advance_project(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    to_phase: Phase | str,
    reason: str = "",
    expected_version: int | None = None,
) -> Project:
    """Move a project to its next phase (development, production or delivered) through that phase's gate."""
    try:
        target = Phase(to_phase)
    except ValueError:
        target = None
    action = ADVANCE_ACTIONS.get(target) if target is not None else None
    if action is None:
        raise ValidationFailed(
            _(
                "A project advances to development, production or delivered; use hold, resume or cancel otherwise."
            ),
            field="to_phase",
        )
    return await _act(
        session, action, actor=actor, project_id=project_id, reason=reason, expected_version=expected_version
    )


async def hold_project(
    session: AsyncSession, *, actor: User, project_id: int, reason: str, expected_version: int | None = None
) -> Project:
    return await _act(
        session, "hold", actor=actor, project_id=project_id, reason=reason, expected_version=expected_version
    )


async def resume_project(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> Project:
    return await _act(
        session,
        "resume",
        actor=actor,
        project_id=project_id,
        reason=reason,
        expected_version=expected_version,
    )


async def cancel_project(
    session: AsyncSession, *, actor: User, project_id: int, reason: str, expected_version: int | None = None
) -> Project:
    return await _act(
        session,
        "cancel",
        actor=actor,
        project_id=project_id,
        reason=reason,
        expected_version=expected_version,
    )


async def give_go_ahead(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> Project:
    """The brand's go-ahead for development, after reading the completed feasibility review."""
    return await _act(
        session,
        "give_go_ahead",
        actor=actor,
        project_id=project_id,
        reason=reason,
        expected_version=expected_version,
    )


async def gate_report(session: AsyncSession, *, project_id: int, to_phase: Phase) -> list[str]:
    """What is still missing before the project may enter `to_phase` (translated); [] when nothing is."""
    project = await load_project(session, project_id)
    return await gates.missing_for(session, project, to_phase)
