"""Free decisions a coordinator records on a project, and the questions coordinators ask brands."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.audit.models import AuditEvent
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.i18n import N_, _
from makeready.kernel import bus
from makeready.kernel.machine import Role, flush, load, require_role, roles_of
from makeready.projects.access import check_attachments, clean_text, load_project, require_open
from makeready.projects.models import Question

bus.emits("decision.recorded", "question.asked", "question.answered")

QUESTION_NOT_FOUND = N_("This question does not exist or you do not have access to it.")


async def record_decision(
    session: AsyncSession, *, actor: User, project_id: int, text: str, attachment_ids: Iterable[int] = ()
) -> AuditEvent:
    """A decision made outside any transition ("agreed with the factory: 0.2 mm tolerance on the lid"), recorded
    as the AuditEvent "decision.recorded" with the text as its reason and the attachments in `after`."""
    project = await load_project(session, project_id)
    roles = await roles_of(session, actor, org_id=project.org_id)
    require_role(roles, {Role.STAFF}, N_("Only a coordinator can record a decision."))
    text = clean_text(
        text, field="text", limit=5_000, message=N_("Write the decision in at most %(limit)s characters.")
    )
    attachments = await check_attachments(session, project, attachment_ids)
    event = await audit.record(
        session,
        actor_id=actor.id,
        action="decision.recorded",
        subject_type="project",
        subject_id=project.id,
        org_id=project.org_id,
        project_id=project.id,
        after={"attachment_ids": attachments},
        reason=text,
    )
    await bus.fire(
        session,
        bus.Event(
            name="decision.recorded", actor=actor, subject=event, org_id=project.org_id, project_id=project.id
        ),
    )
    return event


async def ask_question(session: AsyncSession, *, actor: User, project_id: int, body: str) -> Question:
    """A coordinator asks the brand; its owners and members are notified."""
    project = await load_project(session, project_id)
    roles = await roles_of(session, actor, org_id=project.org_id)
    require_role(roles, {Role.STAFF}, N_("Only a coordinator can ask the brand a question."))
    require_open(project)
    body = clean_text(
        body, field="body", limit=5_000, message=N_("Write the question in at most %(limit)s characters.")
    )
    question = Question(
        org_id=project.org_id, project_id=project.id, asked_by_id=actor.id, body=body, answer=""
    )
    session.add(question)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="question.asked",
        subject_type="question",
        subject_id=question.id,
        org_id=project.org_id,
        project_id=project.id,
        after={"body": body},
    )
    await bus.fire(
        session,
        bus.Event(
            name="question.asked", actor=actor, subject=question, org_id=project.org_id, project_id=project.id
        ),
    )
    return question


async def answer_question(
    session: AsyncSession, *, actor: User, question_id: int, answer: str, expected_version: int | None = None
) -> Question:
    """The brand answers once; the coordinator who asked is notified."""
    question = await load(session, Question, question_id, QUESTION_NOT_FOUND)
    roles = await roles_of(session, actor, org_id=question.org_id)
    require_role(
        roles, {Role.BRAND}, N_("Only the brand's owners and members answer a coordinator's question.")
    )
    if expected_version is not None and question.version != expected_version:
        raise Conflict(
            _("Someone else changed this question while you were looking at it. Reload it and try again."),
            current_version=question.version,
        )
    if question.answered_at is not None:
        raise Conflict(_("This question has already been answered."), current_state="answered")
    require_open(await load_project(session, question.project_id))
    answer = clean_text(
        answer, field="answer", limit=5_000, message=N_("Write the answer in at most %(limit)s characters.")
    )
    now = utcnow()
    question.answer = answer
    question.answered_by_id = actor.id
    question.answered_at = now
    await flush(session, N_("question"))
    await audit.record(
        session,
        actor_id=actor.id,
        action="question.answered",
        subject_type="question",
        subject_id=question.id,
        org_id=question.org_id,
        project_id=question.project_id,
        before={"answered_at": None},
        after={"answer": answer, "answered_at": now},
    )
    await bus.fire(
        session,
        bus.Event(
            name="question.answered",
            actor=actor,
            subject=question,
            org_id=question.org_id,
            project_id=question.project_id,
            now=now,
        ),
    )
    return question
