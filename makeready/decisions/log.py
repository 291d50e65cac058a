"""The decision log: a project's audit events as sentences people read (who decided what, when, why).

The log is the audit chain itself, never a second record. Every action something in the core records has a sentence
(a catalog message with named placeholders, translated for the reader when the page is rendered); values taken
from the event (names, titles, answers, reasons) are plain text, so markup in them is shown as text wherever the
sentence is escaped, which the templates always do.

Brands read the actions in SENTENCES (their decisions and those that concern them) and the raising and clearing of
the conditions listed in BRAND_CONDITIONS; the agency's working steps (quotes with prices, purchasing, tasks, fees,
inspections in progress) are in STAFF_SENTENCES, read by staff only. A condition's events (its kind's name, its
ladder's steps, its resolution) are worded from the kind's title. An action without a sentence (none should exist:
tests/test_decision_log.py walks every machine and declared event) is shown to staff by its name.

Events name their subject by id; the domains above this package register how to name theirs
(`register_subject_labels`, filled by the composition root): one statement per subject type on a page.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, cached_property, lru_cache
from typing import Any, Protocol

from sqlalchemy import Integer, and_, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeRequest
from makeready.conditions import kinds
from makeready.i18n import N_, _, format_date, get_locale, label
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
    # production: orders (the brand reads its decisions and the order's milestones, never prices or the
    # agency's working steps)
    "production_order.confirmed": N_("%(actor)s confirmed production order %(subject)s."),
    "production_order.revised": N_(
        "%(actor)s changed production order %(subject)s after it was confirmed: it needs confirming again."
    ),
    "production_order.sent": N_("%(actor)s sent production order %(subject)s to the factory."),
    "production_order.accepted": N_("The factory's acceptance of production order %(subject)s was recorded."),
    "production_order.rescheduled": N_(
        "%(actor)s moved the ex-factory date of production order %(subject)s to %(date)s."
    ),
    "production_order.in_production": N_("Production order %(subject)s is in production."),
    "production_order.shipped": N_("Production order %(subject)s has shipped."),
    "production_order.closed": N_("%(actor)s closed production order %(subject)s."),
    "production_order.cancelled": N_("%(actor)s cancelled production order %(subject)s."),
    "lot.released": N_("%(actor)s released %(subject)s for shipment."),
    "lot.delivered": N_("%(subject)s was delivered."),
    "quality_hold.placed": N_("A quality hold was placed on production order %(order)s."),
    "quality_hold.lifted": N_("%(actor)s lifted the quality hold on %(subject)s."),
    "shipment.released": N_("%(actor)s released shipment %(subject)s."),
    "shipment.shipped": N_("%(actor)s marked shipment %(subject)s as shipped."),
    "shipment.delivered": N_("%(actor)s confirmed the receipt of shipment %(subject)s."),
    "shipment.problem_reported": N_("%(actor)s reported a problem with shipment %(subject)s."),
    "shipment.cancelled": N_("%(actor)s cancelled shipment %(subject)s."),
    "revision_change.effective": N_(
        "%(actor)s decided from which lot the new revision of the specification applies to this order."
    ),
    "revision_change.not_applied": N_(
        "%(actor)s decided that the new revision of the specification does not apply to this order."
    ),
    "floor_deviation.reported": N_(
        "A deviation on the production floor of %(subject)s was reported for your decision."
    ),
    "floor_deviation.approved": N_("%(actor)s approved a deviation on the production floor of %(subject)s."),
    "floor_deviation.nonconformance": N_(
        "%(actor)s refused a deviation on the production floor of %(subject)s: it is a nonconformance."
    ),
    "free_issue.shipped": N_("%(actor)s shipped free-issue material to the factory for %(subject)s."),
    "free_issue.received": N_(
        "%(actor)s recorded the receipt of free-issue material for %(subject)s at the factory."
    ),
    "spec_revision.withdrawn": N_(
        "%(actor)s withdrew revision %(revision)s of the specification from review."
    ),
}
"""The actions brands read, each with its sentence."""

STAFF_SENTENCES: Mapping[str, str] = {
    # the agency's working steps: staff read them, brands never do (prices, purchasing, tasks, fees)
    "quote.requested": N_("%(actor)s asked %(supplier)s for a quote."),
    "quote.recorded": N_("%(actor)s recorded a quote."),
    "quote.selected": N_("%(actor)s selected a quote."),
    "quote.unselected": N_("%(actor)s unselected a quote."),
    "quote.declined": N_("%(actor)s recorded that a supplier declined to quote."),
    "task.opened": N_("A task was opened: %(title)s"),
    "task.completed": N_("%(actor)s completed a task."),
    "task.cancelled": N_("%(actor)s cancelled a task."),
    "milestone_fee.attached": N_("%(actor)s attached a fee to a milestone."),
    "milestone_fee.due": N_("A milestone fee became due."),
    "milestone_fee.claimed": N_("A milestone fee is being invoiced."),
    "milestone_fee.invoiced": N_("A milestone fee was invoiced."),
    "milestone_fee.attempt_failed": N_("Invoicing a milestone fee failed; it will be retried."),
    "milestone_fee.failed": N_("Invoicing a milestone fee failed."),
    "milestone_fee.retried": N_("%(actor)s retried invoicing a milestone fee."),
    "milestone_fee.canceled": N_("%(actor)s cancelled a milestone fee."),
    "factory_link.revoked": N_("%(actor)s revoked the factory's link to the specification."),
    "factory_link.replaced": N_("%(actor)s replaced the factory's link to the specification."),
    "production_link.revoked": N_("The factory's production link was revoked."),
    "production_order.created": N_("%(actor)s drafted production order %(subject)s."),
    "production_order.updated": N_("%(actor)s changed production order %(subject)s."),
    "production_order.date_proposed": N_(
        "The factory proposed %(date)s as the ex-factory date of production order %(subject)s."
    ),
    "production_order.proposal_declined": N_(
        "%(actor)s declined the factory's proposed date for production order %(subject)s."
    ),
    "production_order.tooling_overridden": N_(
        "%(actor)s let production order %(subject)s start before its tooling was approved."
    ),
    "production_order.produced": N_("Every lot of production order %(subject)s is produced."),
    "lot.created": N_("%(actor)s planned %(subject)s."),
    "lot.resized": N_("%(actor)s changed the quantity of %(subject)s."),
    "lot.rescheduled": N_("%(actor)s moved the dates of %(subject)s."),
    "lot.cancelled": N_("%(actor)s cancelled %(subject)s."),
    "lot.started": N_("%(actor)s started %(subject)s."),
    "lot.progress_reported": N_("Progress was reported on %(subject)s."),
    "lot.produced": N_("%(subject)s is produced."),
    "lot.inspecting": N_("The final inspection of %(subject)s started."),
    "lot.passed": N_("%(subject)s passed its inspection."),
    "lot.failed": N_("%(subject)s failed its inspection."),
    "lot.failed_review": N_("%(subject)s was rejected at the brand's review."),
    "lot.rework": N_("%(subject)s is being reworked."),
    "lot.reinspecting": N_("The re-inspection of %(subject)s started."),
    "lot.packed": N_("%(subject)s is packed."),
    "lot.shipped": N_("%(subject)s has shipped."),
    "production.photos_added": N_("%(actor)s added photos to a progress report."),
    "production_photo.added": N_("%(actor)s added a production photo."),
    "tooling.created": N_("%(actor)s added the tooling %(subject)s."),
    "tooling.in_progress": N_("Work started on the tooling %(subject)s."),
    "tooling.trial": N_("The factory submitted trial %(trial)s of the tooling %(subject)s."),
    "tooling.approved": N_("%(actor)s approved the tooling %(subject)s."),
    "tooling.rejected": N_("%(actor)s rejected the tooling %(subject)s."),
    "material_requirements.recomputed": N_("The material requirements were recomputed."),
    "budget_entry.added": N_("%(actor)s added a budget entry."),
    "budget_entry.updated": N_("%(actor)s changed a budget entry."),
    "budget_entry.voided": N_("%(actor)s voided a budget entry."),
    "budget_rate.set": N_("%(actor)s recorded an exchange rate for the budget."),
    "purchase_order.created": N_("%(actor)s drafted purchase order %(subject)s."),
    "purchase_order.sent": N_("%(actor)s placed purchase order %(subject)s."),
    "purchase_order.confirmed": N_(
        "%(actor)s recorded the supplier's confirmation of purchase order %(subject)s."
    ),
    "purchase_order.shipped": N_("%(actor)s recorded that purchase order %(subject)s has shipped."),
    "purchase_order.eta_changed": N_(
        "%(actor)s changed the expected date of purchase order %(subject)s to %(date)s."
    ),
    "purchase_order.receipt": N_("%(actor)s recorded a receipt of purchase order %(subject)s."),
    "purchase_order.received": N_("Purchase order %(subject)s is received in full."),
    "purchase_order.cancelled": N_("%(actor)s cancelled purchase order %(subject)s."),
    "material.in_house": N_("The factory confirmed its own material is in house."),
    "inspection.requested": N_("%(actor)s requested inspection %(subject)s."),
    "inspection.scheduled": N_("%(actor)s scheduled inspection %(subject)s."),
    "inspection.in_progress": N_("%(actor)s started inspection %(subject)s."),
    "inspection.findings_saved": N_("%(actor)s saved the findings of inspection %(subject)s."),
    "inspection.defect_recorded": N_("%(actor)s recorded a defect in inspection %(subject)s."),
    "inspection.defect_removed": N_("%(actor)s removed a defect from inspection %(subject)s."),
    "inspection.submitted": N_("%(actor)s submitted inspection %(subject)s."),
    "corrective_action.requested": N_("A corrective action was requested from the factory for %(subject)s."),
    "corrective_action.answered": N_("The factory answered the corrective action for %(subject)s."),
    "corrective_action.verified": N_("%(actor)s verified the corrective action for %(subject)s."),
    "corrective_action.closed": N_("The corrective action for %(subject)s was closed."),
    "packing_list.submitted": N_("The factory submitted the packing list of %(subject)s."),
    "packing_list.contents": N_("The factory submitted the contents of the packing list of %(subject)s."),
    "packing_list.accepted": N_("%(actor)s accepted the packing list of %(subject)s."),
    "packing_list.returned": N_("%(actor)s returned the packing list of %(subject)s to the factory."),
    "shipment.created": N_("%(actor)s created shipment %(subject)s."),
    "shipment.updated": N_("%(actor)s changed shipment %(subject)s."),
    "shipment.documents_generated": N_("%(actor)s generated the documents of shipment %(subject)s."),
    "revision_change.opened": N_(
        "A new revision of the specification was issued while production order %(subject)s runs."
    ),
    "revision_change.acknowledged": N_(
        "The factory acknowledged the new revision of the specification for production order %(subject)s."
    ),
    "condition.escalated": N_("A problem is still open and was escalated."),
    "condition.resolved": N_("%(actor)s resolved a problem."),
}
"""Every other action something in the core records, each with the sentence staff read."""


OTHER_ACTION = N_("%(actor)s: %(action)s")

CONDITION_RAISED = N_("A problem was raised: %(problem)s.")
CONDITION_ESCALATED = N_("A problem is still open and was escalated: %(problem)s.")
CONDITION_RESOLVED = N_("%(actor)s resolved a problem: %(problem)s.")
BRAND_CONDITIONS = ("shortage.",)
"""Kinds (by prefix) whose raising and resolution brands read: a shortage may be theirs to fix (free issue)."""

SubjectLabels = Callable[[AsyncSession, list[int]], Awaitable[Mapping[int, str]]]
_SUBJECT_LABELS: dict[str, SubjectLabels] = {}


def register_subject_labels(subject_type: str, labels: SubjectLabels) -> None:
    """How the log names the subjects of a type (a production order's reference, a lot's number...)."""
    _SUBJECT_LABELS[subject_type] = labels


def _condition_event(action: str) -> tuple[str, kinds.Kind] | None:
    """("raised" | "escalated" | "resolved", its kind) when the action is a condition's event."""
    if action in kinds.KINDS:
        return "raised", kinds.KINDS[action]
    for kind in kinds.KINDS.values():
        if action == kind.resolved_event:
            return "resolved", kind
        if any(step.event == action for step in kind.ladder):
            return "escalated", kind
    return None


def sentence_of(action: str) -> str | None:
    """The msgid of the action's sentence, or None when it has none."""
    found = SENTENCES.get(action) or STAFF_SENTENCES.get(action)
    if found is not None:
        return found
    condition = _condition_event(action)
    if condition is None:
        return None
    return {"raised": CONDITION_RAISED, "escalated": CONDITION_ESCALATED, "resolved": CONDITION_RESOLVED}[
        condition[0]
    ]


def brand_actions() -> list[str]:
    """The actions brands read (the conditions' part depends on the kinds the domains defined)."""
    shown = set(SENTENCES)
    for kind in kinds.KINDS.values():
        if kind.name.startswith(BRAND_CONDITIONS):
            shown.update((kind.name, kind.resolved_event))
    return sorted(shown)


async def subject_labels(session: AsyncSession, events: Iterable[EventFacts]) -> dict[tuple[str, int], str]:
    """The registered names of the events' subjects, one statement per subject type present."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.subject_type in _SUBJECT_LABELS and event.subject_id is not None:
            wanted.setdefault(event.subject_type, set()).add(event.subject_id)
    found: dict[tuple[str, int], str] = {}
    for subject_type, ids in wanted.items():
        for subject_id, text in (await _SUBJECT_LABELS[subject_type](session, sorted(ids))).items():
            found[(subject_type, subject_id)] = text
    return found


def _iso_date(value: Any) -> str:
    if not value:
        return "—"
    try:
        return format_date(date.fromisoformat(str(value)[:10]))
    except ValueError:
        return _text(value)


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
    page: int
    pages: int
    total: int
    key: Hashable
    """What the page's entries are written from, for a kept block that shows them (templates/portal/
    _decision_log.html): the events' ids (an event is never changed), the names their sentences quote and the
    milestones' titles. The language is the block's to add."""
    write: Callable[[], list[Entry]] = field(repr=False, compare=False)

    @cached_property
    def entries(self) -> list[Entry]:
        """The events as sentences in the current language, written when first read."""
        return self.write()


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


class EventFacts(Protocol):
    """What a sentence is written from: an AuditEvent, or a row of its columns (`page_of`)."""

    @property
    def id(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def subject_type(self) -> str: ...
    @property
    def subject_id(self) -> int | None: ...
    @property
    def before(self) -> dict[str, Any] | None: ...
    @property
    def after(self) -> dict[str, Any] | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


def describe(
    event: EventFacts,
    *,
    actor: str,
    milestones: Mapping[int, str],
    round_number: int | None = None,
    change_number: int | None = None,
    change_title: str | None = None,
    subject: str | None = None,
) -> Entry:
    """The event as a sentence in the current language; `milestones` maps milestone ids to their titles, `subject`
    is the name of the event's subject where its domain registered one."""
    before, after = event.before or {}, event.after or {}
    params: dict[str, Any] = {
        "actor": actor,
        "subject": _text(subject or after.get("reference")),
        "date": _iso_date(
            after.get("ex_factory_date") or after.get("proposed_ex_factory_date") or after.get("eta")
        ),
        "trial": _text(after.get("trial_number")),
        "order": _text(after.get("order")),
        "title": _text(after.get("title")),
        "supplier": _text(after.get("supplier")),
    }
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
    condition = _condition_event(action)
    if condition is not None:
        params["problem"] = _(condition[1].title)
    message = sentence_of(action)
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


_ACTION_NAME = re.compile(r"[a-z0-9_.]+")
"""What an audit action is named (code constants such as "sample_round.approved"), so it is written into SQL as is."""


@cache
def _actor() -> Any:
    """The events' actor, aliased once: `aliased()` recomputes every column of the alias on each call."""
    return aliased(User)


@lru_cache(maxsize=8)
def _page_statement(actions: tuple[str, ...] | None, page_size: int) -> Any:
    """`page_of`'s statement for these actions (None: every action) and page size, built once and bound per
    request with the project (`log_project_id`) and the page's first row (`first`). It reads the columns a
    sentence is written from (`describe`), not whole events and actors: loading them as ORM objects cost about a
    fifth more CPU."""
    actor = _actor()
    query = (
        select(
            AuditEvent.id,
            AuditEvent.action,
            AuditEvent.subject_type,
            AuditEvent.subject_id,
            AuditEvent.before,
            AuditEvent.after,
            AuditEvent.reason,
            AuditEvent.created_at,
            actor.name.label("actor_name"),
            actor.email.label("actor_email"),
            SampleRound.number.label("round_number"),
            ChangeRequest.number.label("change_number"),
            ChangeRequest.title.label("change_title"),
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
        .where(AuditEvent.project_id == bindparam("log_project_id", type_=Integer))
    )
    if actions is not None:
        # the actions are written into the statement's text once: a bound list (an expanding IN) was rendered
        # again on every execution, one parameter per action (70-odd)
        if not all(_ACTION_NAME.fullmatch(action) for action in actions):
            raise ValueError(f"not an action name: {actions!r}")
        query = query.where(AuditEvent.action.in_([literal_column(f"'{action}'") for action in actions]))
    return query.order_by(AuditEvent.seq.desc()).offset(bindparam("first", type_=Integer)).limit(page_size)


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
    statement = _page_statement(None if staff else tuple(brand_actions()), page_size)
    rows = (
        await session.execute(statement, {"log_project_id": project_id, "first": (page - 1) * page_size})
    ).all()
    total = int(rows[0].total) if rows else 0
    labels = await subject_labels(session, rows)
    written = [
        (
            row,
            None if row.actor_email is None else User.name_to_show(row.actor_name, row.actor_email),
            row.round_number,
            row.change_number,
            row.change_title,
            labels.get((row.subject_type, row.subject_id or 0)),
        )
        for row in rows
    ]

    def write() -> list[Entry]:
        return [
            describe(
                event,
                actor=actor if actor is not None else _("Makeready"),
                milestones=milestones,
                round_number=round_number,
                change_number=change_number,
                change_title=change_title,
                subject=subject,
            )
            for event, actor, round_number, change_number, change_title, subject in written
        ]

    key = (staff, tuple(milestones.items()), tuple((row[0].id, *row[1:]) for row in written))
    return LogPage(page=page, pages=max(1, -(-total // page_size)), total=total, key=key, write=write)
