"""The milestone machine (planned -> in_progress -> done, reopen by a coordinator), plans from templates, and health.

At risk and late are never stored: `milestone_health(milestone, today)` derives them from the due date and the
status, so they are true the moment the date passes, without waiting for a job. The escalation pass raises
conditions (`makeready.conditions`) on them, which say it once to the owner and escalate to the coordinator.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Membership, OrgRole, User
from makeready.audit import service as audit
from makeready.conditions.service import resolve_on
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
from makeready.projects.access import load_project, require_open
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from makeready.projects.service import STANDARD_MILESTONES

bus.emits("milestone.planned")

NEW_PROMISE = N_("A new owner or due date was set.")

RISK_WINDOW_DAYS = 3
"""A milestone not started and due within this many days (today included) is at risk."""


class Health(enum.StrEnum):
    """How a milestone stands on a given day, derived from its due date and status (the one rule: `health`)."""

    done = "done"
    on_track = "on_track"
    in_progress = "in_progress"
    """Only the timeline tells a started milestone apart from an on-track one (`timeline.health`)."""
    at_risk = "at_risk"
    late = "late"
    unscheduled = "unscheduled"

    @staticmethod
    def labels() -> dict[Health, str]:
        return {
            Health.done: N_("Done"),
            Health.on_track: N_("On track"),
            Health.in_progress: N_("In progress"),
            Health.at_risk: N_("At risk"),
            Health.late: N_("Late"),
            Health.unscheduled: N_("No due date"),
        }


def health(
    status: MilestoneStatus, due: date | None, today: date, *, window_days: int = RISK_WINDOW_DAYS
) -> Health:
    """Late: past due and not done. At risk: not started and due within `window_days` from today. Else on track."""
    if status == MilestoneStatus.done:
        return Health.done
    if due is None:
        return Health.unscheduled
    if due < today:
        return Health.late
    if status == MilestoneStatus.planned and due <= today + timedelta(days=window_days):
        return Health.at_risk
    return Health.on_track


def milestone_health(milestone: Milestone, today: date, *, window_days: int = RISK_WINDOW_DAYS) -> Health:
    return health(milestone.status, milestone.due_date, today, window_days=window_days)


async def _project_open(ctx: Context[Milestone]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    return []


async def _reopen(ctx: Context[Milestone]) -> None:
    ctx.obj.completed_at = None


async def _assign(ctx: Context[Milestone]) -> None:
    milestone = ctx.obj
    owner_id, due_date = ctx.inputs["owner_id"], ctx.inputs["due_date"]
    ctx.before.update(owner_id=milestone.owner_id, due_date=milestone.due_date)
    if owner_id != milestone.owner_id or due_date != milestone.due_date:
        # a new owner or a new date is a new promise: its conditions are resolved and the reminders start over
        await resolve_on(
            ctx.session,
            subject_type="milestone",
            subject_id=milestone.id,
            reason=NEW_PROMISE,
            actor=ctx.actor,
            now=ctx.now,
        )
    milestone.owner_id = owner_id
    milestone.due_date = due_date
    ctx.after.update(owner_id=owner_id, due_date=due_date)


WORKERS = frozenset({Role.STAFF, Role.ASSIGNEE})

MILESTONE: Machine[MilestoneStatus] = Machine(
    name="milestone",
    subject=N_("milestone"),
    states=MilestoneStatus,
    column="status",
    transitions=(
        Transition(
            "start",
            states(MilestoneStatus.planned),
            MilestoneStatus.in_progress,
            WORKERS,
            "milestone.started",
            wrong_state=N_("Only a planned milestone can be started; this one is %(state)s."),
            forbidden=N_("Only a coordinator or the milestone's owner can start or complete it."),
            stamp="started_at",
            precondition=_project_open,
        ),
        Transition(
            "complete",
            states(MilestoneStatus.in_progress),
            MilestoneStatus.done,
            WORKERS,
            "milestone.completed",
            wrong_state=N_(
                "Only a milestone in progress can be completed; this one is %(state)s. Start it first."
            ),
            forbidden=N_("Only a coordinator or the milestone's owner can start or complete it."),
            stamp="completed_at",
            precondition=_project_open,
        ),
        Transition(
            "reopen",
            states(MilestoneStatus.done),
            MilestoneStatus.in_progress,
            frozenset({Role.STAFF}),
            "milestone.reopened",
            wrong_state=N_("Only a done milestone can be reopened; this one is %(state)s."),
            forbidden=N_("Only a coordinator can reopen a milestone."),
            requires=("reason",),
            precondition=_project_open,
            effect=_reopen,
        ),
        Transition(
            "assign",
            states(MilestoneStatus.planned, MilestoneStatus.in_progress),
            None,
            frozenset({Role.STAFF}),
            "milestone.assigned",
            wrong_state=N_(
                "A done milestone keeps its owner and date; reopen it to change them. It is %(state)s."
            ),
            forbidden=N_("Only a coordinator can assign a milestone."),
            precondition=_project_open,
            effect=_assign,
        ),
    ),
)

MILESTONE_NOT_FOUND = N_("This milestone does not exist or you do not have access to it.")

TEMPLATES: dict[str, Sequence[tuple[Phase, str, int]]] = {
    "standard": STANDARD_MILESTONES,
    "development_round": [
        (Phase.development, N_("Sample round requested"), 7),
        (Phase.development, N_("Sample received"), 28),
        (Phase.development, N_("Sample decision"), 35),
    ],
}
"""Plans a coordinator can add to a project: (phase, title msgid, days after the start date)."""


async def _act(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    milestone_id: int,
    inputs: dict[str, object] | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Milestone:
    milestone = await load(session, Milestone, milestone_id, MILESTONE_NOT_FOUND)
    await perform(
        session,
        MILESTONE,
        milestone,
        action,
        actor=actor,
        org_id=milestone.org_id,
        project_id=milestone.project_id,
        assignee_id=milestone.owner_id,
        inputs={"reason": reason, **(inputs or {})},
        reason=reason,
        expected_version=expected_version,
    )
    return milestone


async def start_milestone(
    session: AsyncSession, *, actor: User, milestone_id: int, expected_version: int | None = None
) -> Milestone:
    return await _act(
        session, "start", actor=actor, milestone_id=milestone_id, expected_version=expected_version
    )


async def complete_milestone(
    session: AsyncSession, *, actor: User, milestone_id: int, expected_version: int | None = None
) -> Milestone:
    return await _act(
        session, "complete", actor=actor, milestone_id=milestone_id, expected_version=expected_version
    )


async def reopen_milestone(
    session: AsyncSession, *, actor: User, milestone_id: int, reason: str, expected_version: int | None = None
) -> Milestone:
    return await _act(
        session,
        "reopen",
        actor=actor,
        milestone_id=milestone_id,
        reason=reason,
        expected_version=expected_version,
    )


async def _check_owner(session: AsyncSession, project: Project, owner_id: int) -> None:
    owner = await session.scalar(select(User).where(User.id == owner_id))
    ok = owner is not None and owner.is_active
    if ok and owner is not None and not owner.is_staff:
        role = await session.scalar(
            select(Membership.role).where(Membership.user_id == owner.id, Membership.org_id == project.org_id)
        )
        ok = role in (OrgRole.owner, OrgRole.member)
    if not ok:
        raise ValidationFailed(
            _("A milestone's owner must be a coordinator or an owner or member of the brand."),
            field="owner_id",
        )


async def assign_milestone(
    session: AsyncSession,
    *,
    actor: User,
    milestone_id: int,
    owner_id: int,
    due_date: date,
    expected_version: int | None = None,
) -> Milestone:
    """Give a milestone its owner and due date (a change restarts its reminders)."""
    milestone = await load(session, Milestone, milestone_id, MILESTONE_NOT_FOUND)
    roles = await roles_of(session, actor, org_id=milestone.org_id, assignee_id=milestone.owner_id)
    require_role(roles, MILESTONE.transition("assign").roles, MILESTONE.transition("assign").forbidden)
    if not isinstance(due_date, date):
        raise ValidationFailed(_("The due date must be a date (YYYY-MM-DD)."), field="due_date")
    project = await load_project(session, milestone.project_id)
    await _check_owner(session, project, owner_id)
    return await _act(
        session,
        "assign",
        actor=actor,
        milestone_id=milestone_id,
        inputs={"owner_id": owner_id, "due_date": due_date},
        expected_version=expected_version,
    )


async def create_milestones_from_template(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    template: str = "standard",
    start: date,
    owner_id: int | None = None,
) -> list[Milestone]:
    """Add a template's milestones to a project, due `days` after `start`; ones it already has (same phase and
    title) are left alone, so applying a template twice adds nothing."""
    project = await load_project(session, project_id)
    roles = await roles_of(session, actor, org_id=project.org_id)
    require_role(roles, {Role.STAFF}, N_("Only a coordinator can plan a project's milestones."))
    require_open(project)
    plan = TEMPLATES.get(template)
    if plan is None:
        raise ValidationFailed(
            _("There is no milestone template named %(name)s. Choose one of: %(names)s.")
            % {"name": template, "names": ", ".join(sorted(TEMPLATES))},
            field="template",
        )
    if owner_id is not None:
        await _check_owner(session, project, owner_id)
    existing = {
        (row.phase, row.title)
        for row in (
            await session.execute(
                select(Milestone.phase, Milestone.title).where(Milestone.project_id == project.id)
            )
        ).all()
    }
    position = await session.scalar(
        select(func.max(Milestone.position)).where(Milestone.project_id == project.id)
    )
    position = -1 if position is None else position
    created: list[Milestone] = []
    for phase, title, days in plan:
        if (phase, title) in existing:
            continue
        position += 1
        milestone = Milestone(
            org_id=project.org_id,
            project_id=project.id,
            phase=phase,
            title=title,
            position=position,
            owner_id=owner_id,
            due_date=start + timedelta(days=days),
            status=MilestoneStatus.planned,
        )
        session.add(milestone)
        created.append(milestone)
    await session.flush()
    if created:
        await audit.record(
            session,
            actor_id=actor.id,
            action="milestone.planned",
            subject_type="project",
            subject_id=project.id,
            org_id=project.org_id,
            project_id=project.id,
            after={
                "template": template,
                "milestones": [
                    {"id": m.id, "title": m.title, "phase": m.phase, "due_date": m.due_date} for m in created
                ],
            },
        )
        await bus.fire(
            session,
            bus.Event(
                name="milestone.planned",
                actor=actor,
                subject=project,
                org_id=project.org_id,
                project_id=project.id,
            ),
        )
    return created
