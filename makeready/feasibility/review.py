"""The review's lifecycle, a workflow machine over its `status`: open -> completed (a coordinator, once every
precondition holds; the development gate's input, and the brand sees its summary from then on) -> open again when a
coordinator reopens it with a reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.errors import Conflict, ValidationFailed
from makeready.feasibility.common import (
    MAX_NOTE,
    MAX_TEXT,
    _check_version,
    _project,
    _require_staff,
    _text,
    get_review,
    missing_for_completion,
)
from makeready.feasibility.models import FeasibilityReview, ReviewStatus
from makeready.feasibility.summary import area_verdicts
from makeready.feasibility.workspace import _editable, _row
from makeready.i18n import N_, _
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states

STAFF_ONLY = N_("Only coordinators can do this.")


async def _ready(ctx: Context[FeasibilityReview]) -> list[str]:
    """Every precondition of a completion; refused as a ValidationFailed listing them all (the form shows them)."""
    missing = missing_for_completion(ctx.obj)
    if missing:
        raise ValidationFailed(
            _("The review cannot be completed yet:") + " " + " ".join(missing), missing=missing
        )
    return []


async def _completed(ctx: Context[FeasibilityReview]) -> None:
    assert ctx.actor is not None
    review = ctx.obj
    review.completed_by_id = ctx.actor.id
    before_summary = ctx.inputs["before_summary"]
    if before_summary != review.summary:
        ctx.before["summary"] = before_summary
    recommended = _row(review.approaches, review.recommended_approach_id)
    ctx.after.update(
        summary=review.summary,
        verdicts={area.value: verdict.value for area, verdict in area_verdicts(review.checks).items()},
        recommended_approach_id=recommended.id,
        recommended_approach=recommended.name,
    )


async def _reopened(ctx: Context[FeasibilityReview]) -> None:
    review = ctx.obj
    ctx.before.update(completed_at=review.completed_at, completed_by_id=review.completed_by_id)
    review.completed_at = None
    review.completed_by_id = None
    ctx.after["completed_at"] = None


FEASIBILITY_REVIEW: Machine[ReviewStatus] = Machine(
    name="feasibility_review",
    subject=N_("feasibility review"),
    states=ReviewStatus,
    column="status",
    transitions=(
        Transition(
            "complete",
            states(ReviewStatus.open),
            ReviewStatus.completed,
            frozenset({Role.STAFF}),
            "feasibility.completed",
            wrong_state=N_("The review is completed. Reopen it (with a reason) to change it."),
            forbidden=STAFF_ONLY,
            stamp="completed_at",
            precondition=_ready,
            effect=_completed,
        ),
        Transition(
            "reopen",
            states(ReviewStatus.completed),
            ReviewStatus.open,
            frozenset({Role.STAFF}),
            "feasibility.reopened",
            wrong_state=N_("The review is not completed, so there is nothing to reopen."),
            forbidden=STAFF_ONLY,
            requires=("reason",),
            effect=_reopened,
        ),
    ),
)


async def _perform(
    session: AsyncSession, review: FeasibilityReview, action: str, *, actor: User, inputs: dict[str, Any]
) -> None:
    await perform(
        session,
        FEASIBILITY_REVIEW,
        review,
        action,
        actor=actor,
        org_id=review.org_id,
        project_id=review.project_id,
        inputs=inputs,
    )


async def complete_review(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    expected_version: Any,
    summary: Any = None,
) -> FeasibilityReview:
    """Complete the review (the development gate's input; the brand sees its summary from now on).

    Refused with ValidationFailed, whose `missing` lists every reason, unless: the summary is written, every check
    has a verdict other than open, there is at least one approach and one of them is recommended, and every risk
    scoring HIGH_RISK or more has a mitigation. `summary`, when given, is saved first (the form sends both).
    """
    review = await _editable(session, actor, project_id)
    _check_version(review, expected_version)
    before_summary = review.summary
    if summary is not None:
        review.summary = _text(summary, field="summary", limit=MAX_NOTE)
    try:
        await _perform(session, review, "complete", actor=actor, inputs={"before_summary": before_summary})
    except ValidationFailed:
        review.summary = before_summary  # nothing is written when completion is refused
        raise
    return review


async def reopen_review(
    session: AsyncSession, *, actor: User, project_id: int, expected_version: Any, reason: Any
) -> FeasibilityReview:
    """Undo a completion, for a reason that goes into the record; the gate sees an incomplete review again."""
    _require_staff(actor)
    review = await get_review(session, project_id=project_id)
    if review is None:
        await _project(session, project_id)  # a missing project is a 404, not a state error
        raise Conflict(_("The review has not been started."))
    _check_version(review, expected_version)
    if review.status != ReviewStatus.completed:
        raise Conflict(_("The review is not completed, so there is nothing to reopen."))
    why = _text(reason, field="reason", limit=MAX_TEXT, required=_("Say why the review is reopened."))
    await _perform(session, review, "reopen", actor=actor, inputs={"reason": why})
    return review
