"""The decision log: a project's audit events as sentences people read (who decided what, when, why).

The log is the audit chain itself, never a second record. Each action the brand may read has a sentence (a catalog
message with named placeholders, translated for the reader when the page is rendered); values taken from the
event (names, titles, answers, reasons) are plain text, so markup in them is shown as text wherever the sentence is
escaped, which the templates always do.

Brands see only the actions listed in SENTENCES: the coordinators' working steps (quotes with prices, feasibility
checklist edits, tasks) stay in the back office. Staff see every event of the project; an action without a
sentence is shown by its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeRequest
from makeready.i18n import N_, _, get_locale, label
from makeready.projects.models import Phase
from makeready.samples.models import SampleRound, SampleStatus

PAGE_SIZE = 20

SENTENCES: Mapping[str, str] = {
    "project.created": N_("%(actor)s submitted the product."),
    "project.updated": N_("%(actor)s changed %(fields)s."),
    "project.phase_changed": N_("%(actor)s moved the project from %(before)s to %(after)s."),
    "project.go_ahead_given": N_("%(actor)s gave the go-ahead for development."),
    "project.coordinator_assigned": N_("%(actor)s assigned the project's coordinator."),
    "attachment.added": N_("%(actor)s added the file %(name)s."),
    "question.asked": N_("%(actor)s asked: %(question)s"),
    "question.answered": N_("%(actor)s answered: %(answer)s"),
    "decision.recorded": N_("%(actor)s recorded a decision."),
    "milestone.planned": N_("%(actor)s planned the milestones."),
    "milestone.started": N_("%(actor)s started the milestone %(milestone)s."),
    "milestone.completed": N_("%(actor)s completed the milestone %(milestone)s."),
    "milestone.reopened": N_("%(actor)s reopened the milestone %(milestone)s."),
    "milestone.assigned": N_("%(actor)s changed the owner or due date of the milestone %(milestone)s."),
    "sample_round.requested": N_("%(actor)s requested sample round %(round)s."),
    "sample_round.in_production": N_("%(actor)s marked sample round %(round)s as %(state)s."),
    "sample_round.shipped": N_("%(actor)s marked sample round %(round)s as %(state)s."),
    "sample_round.received": N_("%(actor)s marked sample round %(round)s as %(state)s."),
    "sample_round.approved": N_("%(actor)s approved sample round %(round)s."),
    "sample_round.rejected": N_("%(actor)s rejected sample round %(round)s."),
    "change_request.raised": N_("%(actor)s raised change request %(number)s: %(title)s"),
    "change_request.approved": N_("%(actor)s approved change request %(number)s: %(title)s"),
    "change_request.rejected": N_("%(actor)s rejected change request %(number)s: %(title)s"),
    "change_request.implemented": N_("%(actor)s marked change request %(number)s as implemented: %(title)s"),
    "change_request.withdrawn": N_("%(actor)s withdrew change request %(number)s: %(title)s"),
    "feasibility.completed": N_("%(actor)s completed the feasibility review."),
    "feasibility.reopened": N_("%(actor)s reopened the feasibility review."),
    "supplier.selected": N_("%(actor)s chose the supplier %(supplier)s."),
    "spec_revision.submitted": N_(
        "%(actor)s submitted revision %(revision)s of the specification for review."
    ),
    "spec_revision.approved": N_("%(actor)s approved revision %(revision)s of the specification."),
    "spec_revision.changes_requested": N_(
        "%(actor)s asked for changes to revision %(revision)s of the specification."
    ),
    "spec_revision.issued": N_("%(actor)s issued revision %(revision)s of the specification to the factory."),
    "spec_revision.superseded": N_(
        "Revision %(revision)s of the specification was superseded by revision %(by)s."
    ),
    "factory_link.sent": N_("%(actor)s sent revision %(revision)s of the specification to %(supplier)s."),
    "factory.acknowledged": N_(
        "%(name)s of %(supplier)s acknowledged revision %(revision)s of the specification (received and understood)."
    ),
    "factory_question.asked": N_("%(name)s of %(supplier)s asked about %(field)s: %(question)s"),
    "factory_question.answered": N_("%(actor)s answered %(supplier)s about %(field)s: %(answer)s"),
    "inspection.sent_for_review": N_(
        "%(actor)s sent the report of inspection %(inspection)s for your decision."
    ),
    "inspection.accepted": N_("%(actor)s accepted the lot of inspection %(inspection)s."),
    "inspection.rejected": N_("%(actor)s rejected the lot of inspection %(inspection)s."),
    "inspection.accepted_with_concession": N_(
        "%(actor)s accepted the lot of inspection %(inspection)s with a concession: %(concession)s (%(remedy)s)"
    ),
}
"""The actions brands read, each with its sentence."""

OTHER_ACTION = N_("%(actor)s: %(action)s")

FIELD_LABELS: Mapping[str, str] = {
    "name": N_("Product name"),
    "category": N_("Category"),
    "description": N_("Description"),
    "materials_notes": N_("Materials and finish"),
    "target_quantity": N_("Target quantity"),
    "target_unit_price": N_("Target price"),
    "currency": N_("Currency"),
    "target_date": N_("Target date"),
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Entry:
    """One event as the log shows it."""

    id: int
    at: datetime
    action: str
    actor: str
    sentence: str
    reason: str = ""
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class LogPage:
    entries: list[Entry]
    page: int
    pages: int
    total: int


def _text(value: Any) -> str:
    if value is None:
        return "—"
    return str(value)


def _phase(value: Any) -> str:
    try:
        return label(Phase(value))
    except ValueError:
        return _text(value)


def _sample_state(action: str) -> str:
    try:
        return label(SampleStatus(action.split(".", 1)[1]))
    except ValueError:
        return action


def describe(
    event: AuditEvent,
    *,
    actor: str,
    milestones: Mapping[int, str],
    round_number: int | None = None,
    change_number: int | None = None,
    change_title: str | None = None,
) -> Entry:
    """The event as a sentence in the current language; `milestones` maps milestone ids to their titles."""
    before, after = event.before or {}, event.after or {}
    params: dict[str, Any] = {"actor": actor}
    changes: list[Change] = []
    action = event.action
    if action == "project.updated":
        names = [k for k in after if k in FIELD_LABELS] or list(after)
        params["fields"] = ", ".join(_(FIELD_LABELS[k]) if k in FIELD_LABELS else k for k in names)
        changes = [
            Change(_(FIELD_LABELS[k]) if k in FIELD_LABELS else k, _text(before.get(k)), _text(after.get(k)))
            for k in names
        ]
    elif action == "project.phase_changed":
        params.update(before=_phase(before.get("phase")), after=_phase(after.get("phase")))
    elif action == "attachment.added":
        params["name"] = _text(after.get("name"))
    elif action == "question.asked":
        params["question"] = _text(after.get("body"))
    elif action == "question.answered":
        params["answer"] = _text(after.get("answer"))
    elif action.startswith("milestone."):
        title = milestones.get(event.subject_id or 0)
        params["milestone"] = _(title) if title else "—"
    elif action.startswith("sample_round."):
        params.update(round=_text(round_number), state=_sample_state(action))
    elif action.startswith("change_request."):
        params.update(
            number=_text(change_number if change_number is not None else after.get("number")),
            title=_text(change_title if change_title is not None else after.get("title")),
        )
    elif action.startswith("spec_revision."):
        params.update(revision=_text(after.get("label")), by=_text(after.get("by")))
    elif action.startswith(("factory_link.", "factory.", "factory_question.")):
        # the factory has no account: the person's name and the supplier come from the event
        in_chinese = get_locale() == "zh_Hans"
        supplier = (
            after.get("supplier_zh") if in_chinese and after.get("supplier_zh") else after.get("supplier")
        )
        params.update(
            revision=_text(after.get("label")),
            supplier=_text(supplier),
            name=_text(after.get("name")),
            field=after.get("field_zh" if in_chinese else "field_en") or _("the whole specification"),
            question=_text(after.get("question")),
            answer=_text(after.get("answer")),
        )
    elif action.startswith("inspection."):
        params.update(
            inspection=_text(after.get("reference")),
            concession=_text(after.get("concession")),
            remedy=_text(after.get("remedy")),
        )
    elif action == "supplier.selected":
        chinese = get_locale() == "zh_Hans" and after.get("supplier_zh")
        params["supplier"] = _text(after.get("supplier_zh") if chinese else after.get("supplier"))
    message = SENTENCES.get(action)
    if message is None:
        sentence = _(OTHER_ACTION) % {"actor": actor, "action": action}
    else:
        sentence = _(message) % params
    return Entry(
        id=event.id,
        at=event.created_at,
        action=action,
        actor=actor,
        sentence=sentence,
        reason=event.reason or "",
        changes=changes,
    )


async def page_of(
    session: AsyncSession,
    project_id: int,
    *,
    milestones: Mapping[int, str],
    page: int = 1,
    staff: bool = False,
    page_size: int = PAGE_SIZE,
) -> LogPage:
    """One page of the project's decision log, newest first (one statement; the total rides along with the rows).

    The caller has loaded the project through its scope; brands see the actions in SENTENCES only.
    """
    page = max(page, 1)
    actor = aliased(User)
    query = (
        select(
            AuditEvent,
            actor,
            SampleRound.number,
            ChangeRequest.number,
            ChangeRequest.title,
            func.count().over().label("total"),
        )
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(
            SampleRound,
            and_(AuditEvent.subject_type == "sample_round", SampleRound.id == AuditEvent.subject_id),
        )
        .outerjoin(
            ChangeRequest,
            and_(AuditEvent.subject_type == "change_request", ChangeRequest.id == AuditEvent.subject_id),
        )
        .where(AuditEvent.project_id == project_id)
    )
    if not staff:
        query = query.where(AuditEvent.action.in_(sorted(SENTENCES)))
    rows = (
        await session.execute(
            query.order_by(AuditEvent.seq.desc()).offset((page - 1) * page_size).limit(page_size)
        )
    ).all()
    total = int(rows[0][-1]) if rows else 0
    entries = [
        describe(
            event,
            actor=user.display_name if user is not None else _("Makeready"),
            milestones=milestones,
            round_number=round_number,
            change_number=change_number,
            change_title=change_title,
        )
        for event, user, round_number, change_number, change_title, _total in rows
    ]
    return LogPage(entries=entries, page=page, pages=max(1, -(-total // page_size)), total=total)
