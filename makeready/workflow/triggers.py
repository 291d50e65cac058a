"""The workflow's rules: what happens because something happened (notifications, follow-up tasks).

After every transition (and every creation the workflow records: a sample round requested, a change request raised,
a question asked, a task opened, a milestone found at risk or late) the kernel's bus runs, in order and in the same
transaction, every rule registered for the event's name. A rule that fails fails the transition: nothing is
half-done. RULES below is registered by the composition root (`makeready.composition`).

To add a reaction, add a function and a line to RULES; nothing else in the workflow changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import Organization, User
from makeready.conditions.models import Condition
from makeready.conditions.service import resolve_on
from makeready.i18n import N_
from makeready.kernel.bus import Event, Rule
from makeready.notify.service import notify
from makeready.projects.access import brand_writers, load_project, user_by_id
from makeready.projects.models import Milestone, Project, Question, Task
from makeready.projects.tasks import open_task

NEW_SAMPLE_ROUND_TASK = N_("Request a new sample round")
SPEC_REVISION_TASK = N_("Issue a spec revision")
ESCALATION_TASK = N_("Resolve a late milestone")
MILESTONE_DONE = N_("The milestone is done.")


def _actor_name(event: Event) -> str:
    return event.actor.display_name if event.actor else "Makeready"


async def _project(session: AsyncSession, event: Event) -> Project:
    assert event.project_id is not None
    return await load_project(session, event.project_id)


async def _coordinator(session: AsyncSession, project: Project, event: Event) -> User | None:
    """The project's coordinator, unless they are the one acting (nobody is told what they just did)."""
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is None or (event.actor is not None and event.actor.id == coordinator.id):
        return None
    return coordinator


# --------------------------------------------------------------------------------------------------------------
# The rules


async def tell_brand_sample_received(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    for user in await brand_writers(session, project.org_id):
        await notify(
            session,
            user=user,
            kind="sample_received",
            params={"project": project.name, "round": event.subject.number},
            project_id=project.id,
            link=urls.project(project.id),
        )


async def tell_coordinator_sample_decided(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    coordinator = await _coordinator(session, project, event)
    if coordinator is None:
        return
    kind = "sample_approved" if event.name == "sample_round.approved" else "sample_rejected"
    await notify(
        session,
        user=coordinator,
        kind=kind,
        params={
            "project": project.name,
            "round": event.subject.number,
            "actor": _actor_name(event),
            "comment": event.subject.decision_comment,
        },
        project_id=project.id,
        link=urls.project(project.id),
    )


async def open_new_sample_round_task(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    await open_task(
        session,
        project=project,
        kind="new_sample_round",
        title=NEW_SAMPLE_ROUND_TASK,
        owner_id=project.coordinator_id,
        source_type="sample_round",
        source_id=event.subject.id,
        actor=event.actor,
        notify_owner=False,  # the sample_rejected notification says the task is open
    )


async def tell_coordinator_change_raised(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    coordinator = await _coordinator(session, project, event)
    if coordinator is None:
        return
    await notify(
        session,
        user=coordinator,
        kind="change_request_raised",
        params={
            "project": project.name,
            "number": event.subject.number,
            "title": event.subject.title,
            "actor": _actor_name(event),
        },
        project_id=project.id,
        link=urls.project(project.id),
    )


async def tell_brand_change_decided(session: AsyncSession, event: Event) -> None:
    """The brand learns the coordinator's decision on its change request, with the note that explains it."""
    project = await _project(session, event)
    change = event.subject
    kind = "change_request_approved" if event.name == "change_request.approved" else "change_request_rejected"
    for user in await brand_writers(session, project.org_id):
        await notify(
            session,
            user=user,
            kind=kind,
            params={
                "project": project.name,
                "number": change.number,
                "title": change.title,
                "actor": _actor_name(event),
                "note": change.decision_note,
            },
            project_id=project.id,
            link=urls.change_request(project.id, change.id),
        )


async def open_spec_revision_task(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    await open_task(
        session,
        project=project,
        kind="spec_revision",
        title=SPEC_REVISION_TASK,
        owner_id=project.coordinator_id,
        source_type="change_request",
        source_id=event.subject.id,
        actor=event.actor,
    )


async def tell_brand_question_asked(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    question: Question = event.subject
    for user in await brand_writers(session, project.org_id):
        await notify(
            session,
            user=user,
            kind="question_asked",
            params={"project": project.name, "question": question.body, "actor": _actor_name(event)},
            project_id=project.id,
            link=urls.project(project.id),
        )


async def tell_asker_question_answered(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    question: Question = event.subject
    asker = await user_by_id(session, question.asked_by_id)
    if asker is None or (event.actor is not None and asker.id == event.actor.id):
        return
    await notify(
        session,
        user=asker,
        kind="question_answered",
        params={
            "project": project.name,
            "question": question.body,
            "answer": question.answer,
            "actor": _actor_name(event),
        },
        project_id=project.id,
        link=urls.project(project.id),
    )


async def tell_coordinators_project_submitted(session: AsyncSession, event: Event) -> None:
    """A new product needs a coordinator: tell its coordinator if one is set, else every active staff user."""
    project = await _project(session, event)
    coordinator = await _coordinator(session, project, event)
    if coordinator is not None:
        recipients = [coordinator]
    else:
        staff = await session.scalars(select(User).where(User.is_staff, User.is_active).order_by(User.id))
        recipients = [u for u in staff if event.actor is None or u.id != event.actor.id]
    org_name = await session.scalar(select(Organization.name).where(Organization.id == project.org_id))
    for user in recipients:
        await notify(
            session,
            user=user,
            kind="project_submitted",
            params={"project": project.name, "org": org_name or "", "actor": _actor_name(event)},
            project_id=project.id,
            link=urls.project(project.id),
        )


async def tell_new_coordinator(session: AsyncSession, event: Event) -> None:
    """A coordinator assigned to a project by someone else is told so."""
    project = await _project(session, event)
    coordinator = await _coordinator(session, project, event)
    if coordinator is None:
        return
    org_name = await session.scalar(select(Organization.name).where(Organization.id == project.org_id))
    await notify(
        session,
        user=coordinator,
        kind="coordinator_assigned",
        params={"project": project.name, "org": org_name or "", "actor": _actor_name(event)},
        project_id=project.id,
        link=urls.coordinator_project(project.id),
    )


async def tell_coordinator_go_ahead(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    coordinator = await _coordinator(session, project, event)
    if coordinator is None:
        return
    await notify(
        session,
        user=coordinator,
        kind="go_ahead_given",
        params={"project": project.name, "actor": _actor_name(event)},
        project_id=project.id,
        link=urls.project(project.id),
    )


async def tell_task_owner(session: AsyncSession, event: Event) -> None:
    task: Task = event.subject
    if not event.after.get("notify_owner", True):
        return
    owner = await user_by_id(session, task.owner_id)
    if owner is None or (event.actor is not None and owner.id == event.actor.id):
        return
    project = await _project(session, event)
    await notify(
        session,
        user=owner,
        kind="task_opened",
        params={"project": project.name, "task": task.title},
        project_id=project.id,
        link=urls.project(project.id),
    )


async def _milestone_of(session: AsyncSession, event: Event) -> Milestone:
    """The milestone a milestone condition (the event's subject) is raised on."""
    condition: Condition = event.subject
    milestone = await session.scalar(select(Milestone).where(Milestone.id == condition.subject_id))
    assert milestone is not None, "a milestone condition outlived its milestone"
    return milestone


def _milestone_params(project: Project, milestone: Milestone, owner: User | None) -> dict[str, Any]:
    return {
        "project": project.name,
        "milestone": milestone.title,
        "due_date": milestone.due_date,
        "owner": owner.display_name if owner else "",
    }


async def tell_owner_milestone_at_risk(session: AsyncSession, event: Event) -> None:
    """At risk: tell the owner (the coordinator when the milestone has none)."""
    project = await _project(session, event)
    milestone = await _milestone_of(session, event)
    owner = await user_by_id(session, milestone.owner_id)
    recipient = owner or await user_by_id(session, project.coordinator_id)
    if recipient is None:
        return
    await notify(
        session,
        user=recipient,
        kind="milestone_at_risk",
        params=_milestone_params(project, milestone, owner),
        project_id=project.id,
        link=urls.project(project.id),
    )


async def tell_owner_milestone_late(session: AsyncSession, event: Event) -> None:
    """Late: tell the owner (the coordinator when the milestone has none)."""
    project = await _project(session, event)
    milestone = await _milestone_of(session, event)
    owner = await user_by_id(session, milestone.owner_id)
    recipient = owner or await user_by_id(session, project.coordinator_id)
    if recipient is None:
        return
    await notify(
        session,
        user=recipient,
        kind="milestone_late",
        params=_milestone_params(project, milestone, owner),
        project_id=project.id,
        link=urls.project(project.id),
    )


async def escalate_late_milestone(session: AsyncSession, event: Event) -> None:
    """Still late after the delay: the coordinator is told and gets a task to resolve it."""
    project = await _project(session, event)
    milestone = await _milestone_of(session, event)
    owner = await user_by_id(session, milestone.owner_id)
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is not None:
        await notify(
            session,
            user=coordinator,
            kind="milestone_escalated",
            params=_milestone_params(project, milestone, owner),
            project_id=project.id,
            link=urls.project(project.id),
        )
    await open_task(
        session,
        project=project,
        kind="escalation",
        title=ESCALATION_TASK,
        owner_id=project.coordinator_id,
        source_type="milestone",
        source_id=milestone.id,
        actor=event.actor,
        notify_owner=coordinator is None,  # milestone_escalated says the task is open
    )


async def tell_brand_spec_revision(session: AsyncSession, event: Event) -> None:
    """The brand reviews a submitted revision and learns when one is issued."""
    project = await _project(session, event)
    kind = "spec_review_requested" if event.name == "spec_revision.submitted" else "spec_issued"
    for user in await brand_writers(session, project.org_id):
        await notify(
            session,
            user=user,
            kind=kind,
            params={"project": project.name, "revision": event.subject.label},
            project_id=project.id,
            link=urls.spec(project.id, staff=False),
        )


async def tell_coordinator_spec_decided(session: AsyncSession, event: Event) -> None:
    project = await _project(session, event)
    coordinator = await _coordinator(session, project, event)
    if coordinator is None:
        return
    approved = event.name == "spec_revision.approved"
    await notify(
        session,
        user=coordinator,
        kind="spec_approved" if approved else "spec_changes_requested",
        params={
            "project": project.name,
            "revision": event.subject.label,
            "actor": _actor_name(event),
            "comment": event.subject.review_comment,
        },
        project_id=project.id,
        link=urls.spec(project.id, staff=True),
    )


async def resolve_done_milestone_conditions(session: AsyncSession, event: Event) -> None:
    """A done milestone is neither at risk nor late any more: its conditions are resolved."""
    await resolve_on(
        session,
        subject_type="milestone",
        subject_id=event.subject.id,
        reason=MILESTONE_DONE,
        actor=event.actor,
        now=event.now,
    )


RULES: list[tuple[str, Rule]] = [
    ("milestone.completed", resolve_done_milestone_conditions),
    ("project.created", tell_coordinators_project_submitted),
    ("sample_round.received", tell_brand_sample_received),
    ("sample_round.approved", tell_coordinator_sample_decided),
    ("sample_round.rejected", tell_coordinator_sample_decided),
    ("sample_round.rejected", open_new_sample_round_task),
    ("change_request.raised", tell_coordinator_change_raised),
    ("change_request.approved", open_spec_revision_task),
    ("change_request.approved", tell_brand_change_decided),
    ("change_request.rejected", tell_brand_change_decided),
    ("question.asked", tell_brand_question_asked),
    ("question.answered", tell_asker_question_answered),
    ("project.go_ahead_given", tell_coordinator_go_ahead),
    ("project.coordinator_assigned", tell_new_coordinator),
    ("task.opened", tell_task_owner),
    ("milestone.at_risk", tell_owner_milestone_at_risk),
    ("milestone.late", tell_owner_milestone_late),
    ("milestone.escalated", escalate_late_milestone),
    ("spec_revision.submitted", tell_brand_spec_revision),
    ("spec_revision.issued", tell_brand_spec_revision),
    ("spec_revision.approved", tell_coordinator_spec_decided),
    ("spec_revision.changes_requested", tell_coordinator_spec_decided),
]
