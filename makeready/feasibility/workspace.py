"""The coordinator's workspace: the review started with a row per area, then its checks, approaches, risks and
summary edited. A completed review is read-only until it is reopened (makeready.feasibility.review)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.feasibility.common import (
    MAX_LEAD_DAYS,
    MAX_NAME,
    MAX_NOTE,
    MAX_TEXT,
    _check_version,
    _choice,
    _flush,
    _money,
    _project,
    _record,
    _require_staff,
    _score_part,
    _stale,
    _text,
    _touch,
    get_review,
    staff_users,
)
from makeready.feasibility.models import (
    CheckArea,
    FeasibilityCheck,
    FeasibilityReview,
    ProductionApproach,
    ReviewStatus,
    Risk,
    Verdict,
)
from makeready.i18n import _, format_money
from makeready.projects.models import Project


def _starter_checks(project: Project) -> list[tuple[CheckArea, str]]:
    """One row per area, drawn from what the brand told us, written in the coordinator's language (it is data
    from then on)."""
    what = project.category or project.name
    if project.target_quantity and project.target_unit_price is not None:
        volume = _("%(quantity)s units at a target price of %(price)s per unit") % {
            "quantity": f"{project.target_quantity:,}",
            "price": format_money(project.target_unit_price, project.currency),
        }
    elif project.target_quantity:
        volume = _("%(quantity)s units per order") % {"quantity": f"{project.target_quantity:,}"}
    else:
        volume = _("Target quantity not set yet: agree it with the brand")
    return [
        (CheckArea.process, _("A production process suited to the design of %(what)s") % {"what": what}),
        (CheckArea.tolerance, _("Critical dimensions and fits hold the tolerances in the design files")),
        (CheckArea.material, _("The specified materials are available at the quality and volume needed")),
        (CheckArea.finish, _("The surface finish and colours match the design intent")),
        (CheckArea.volume, volume),
    ]


async def get_or_start_review(session: AsyncSession, *, actor: User, project_id: int) -> FeasibilityReview:
    """The project's review, started (with a template row per area) if there is none yet."""
    _require_staff(actor)
    review = await get_review(session, project_id=project_id)
    if review is not None:
        return review
    project = await _project(session, project_id)
    review = FeasibilityReview(org_id=project.org_id, project_id=project.id, summary="")
    session.add(review)
    try:
        await session.flush()
    except IntegrityError:
        raise _stale() from None  # another coordinator started it a moment ago (one review per project)
    starters = _starter_checks(project)
    for position, (area, requirement) in enumerate(starters):
        session.add(
            FeasibilityCheck(
                org_id=project.org_id,
                review_id=review.id,
                area=area,
                requirement=requirement,
                constraint="",
                verdict=Verdict.open,
                note="",
                position=position,
            )
        )
    await _flush(session)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.started",
        subject_type="feasibility_review",
        subject_id=review.id,
        after={"checks": [{"area": area, "requirement": text} for area, text in starters]},
    )
    started = await get_review(session, project_id=project_id)
    assert started is not None
    return started


async def _editable(session: AsyncSession, actor: User, project_id: int) -> FeasibilityReview:
    review = await get_or_start_review(session, actor=actor, project_id=project_id)
    if review.status == ReviewStatus.completed:
        raise Conflict(_("The review is completed. Reopen it (with a reason) to change it."))
    return review


def _row(rows: Iterable[Any], row_id: Any) -> Any:
    for row in rows:
        if str(row.id) == str(row_id):
            return row
    raise NotFound(_("This row does not exist (any more). Reload the page."))


def _changes(row: Any, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    before = {k: getattr(row, k) for k, v in values.items() if getattr(row, k) != v}
    return before, {k: values[k] for k in before}


async def save_check(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    area: Any,
    requirement: Any,
    constraint: Any = "",
    verdict: Any = Verdict.open,
    note: Any = "",
    check_id: int | None = None,
    expected_version: Any = None,
) -> FeasibilityCheck:
    """Add a row to the checklist (no `check_id`: at the end of its area) or change one."""
    review = await _editable(session, actor, project_id)
    values = {
        "area": _choice(CheckArea, area, field="area"),
        "requirement": _text(
            requirement, field="requirement", limit=MAX_TEXT, required=_("Describe the requirement.")
        ),
        "constraint": _text(constraint, field="constraint", limit=MAX_TEXT),
        "verdict": _choice(Verdict, verdict or Verdict.open, field="verdict"),
        "note": _text(note, field="note", limit=MAX_NOTE),
    }
    if check_id is None:
        position = max((c.position for c in review.checks), default=-1) + 1
        check = FeasibilityCheck(org_id=review.org_id, review_id=review.id, position=position, **values)
        session.add(check)
        await _touch(session, review)
        await _record(
            session,
            actor=actor,
            review=review,
            action="feasibility.check_added",
            subject_type="feasibility_check",
            subject_id=check.id,
            after=values,
        )
        return check
    check = _row(review.checks, check_id)
    _check_version(check, expected_version)
    before, after = _changes(check, values)
    if not before:
        return check
    for key, value in after.items():
        setattr(check, key, value)
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.check_updated",
        subject_type="feasibility_check",
        subject_id=check.id,
        before=before,
        after=after,
    )
    return check


async def remove_check(
    session: AsyncSession, *, actor: User, project_id: int, check_id: int, expected_version: Any
) -> None:
    review = await _editable(session, actor, project_id)
    check = _row(review.checks, check_id)
    _check_version(check, expected_version)
    gone = {"area": check.area, "requirement": check.requirement, "verdict": check.verdict}
    await session.delete(check)
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.check_removed",
        subject_type="feasibility_check",
        subject_id=check.id,
        before=gone,
    )


async def move_check(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    check_id: int,
    expected_version: Any,
    direction: str,
) -> None:
    """Move a row one place up or down within its area."""
    if direction not in ("up", "down"):
        raise ValidationFailed(_("Choose one of the options offered."), field="direction")
    review = await _editable(session, actor, project_id)
    check = _row(review.checks, check_id)
    _check_version(check, expected_version)
    ordered = sorted(review.checks, key=lambda c: (c.position, c.id))
    # positions must be distinct for a swap to mean anything (rows written elsewhere may share one)
    for index, row in enumerate(ordered):
        if row.position != index:
            row.position = index
    same_area = [c for c in ordered if c.area == check.area]
    at = same_area.index(check)
    other_at = at - 1 if direction == "up" else at + 1
    if not 0 <= other_at < len(same_area):
        return  # already first or last: nothing to do
    other = same_area[other_at]
    before = check.position
    check.position, other.position = other.position, check.position
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.check_moved",
        subject_type="feasibility_check",
        subject_id=check.id,
        before={"position": before},
        after={"position": check.position, "swapped_with": other.id},
    )


async def save_approach(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    name: Any,
    tooling_cost: Any,
    unit_cost: Any,
    process: Any = "",
    lead_time_days: Any = None,
    notes: Any = "",
    approach_id: int | None = None,
    expected_version: Any = None,
) -> ProductionApproach:
    """Add a production approach or change one. Costs are in the project's currency (no exchange rates here, so
    every approach of a review is comparable)."""
    review = await _editable(session, actor, project_id)
    project = await _project(session, project_id)
    lead: int | None = None
    if lead_time_days not in (None, ""):
        try:
            lead = int(str(lead_time_days).strip())
        except ValueError:
            lead = -1
        if not 0 <= lead <= MAX_LEAD_DAYS:
            raise ValidationFailed(
                _("The lead time is a whole number of days from 0 to %(max)d.") % {"max": MAX_LEAD_DAYS},
                field="lead_time_days",
            )
    values = {
        "name": _text(name, field="name", limit=MAX_NAME, required=_("Give the approach a name.")),
        "process": _text(process, field="process", limit=MAX_NAME),
        "tooling_cost": _money(tooling_cost, field="tooling_cost"),
        "unit_cost": _money(unit_cost, field="unit_cost"),
        "lead_time_days": lead,
        "notes": _text(notes, field="notes", limit=MAX_NOTE),
        "currency": project.currency,
    }
    if approach_id is None:
        approach = ProductionApproach(org_id=review.org_id, review_id=review.id, **values)
        session.add(approach)
        await _touch(session, review)
        await _record(
            session,
            actor=actor,
            review=review,
            action="feasibility.approach_added",
            subject_type="production_approach",
            subject_id=approach.id,
            after=values,
        )
        return approach
    approach = _row(review.approaches, approach_id)
    _check_version(approach, expected_version)
    before, after = _changes(approach, values)
    if not before:
        return approach
    for key, value in after.items():
        setattr(approach, key, value)
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.approach_updated",
        subject_type="production_approach",
        subject_id=approach.id,
        before=before,
        after=after,
    )
    return approach


async def remove_approach(
    session: AsyncSession, *, actor: User, project_id: int, approach_id: int, expected_version: Any
) -> None:
    """Remove an approach; if it was the recommended one, nothing is recommended any more."""
    review = await _editable(session, actor, project_id)
    approach = _row(review.approaches, approach_id)
    _check_version(approach, expected_version)
    gone = {
        "name": approach.name,
        "tooling_cost": approach.tooling_cost,
        "unit_cost": approach.unit_cost,
        "currency": approach.currency,
        "recommended": review.recommended_approach_id == approach.id,
    }
    if review.recommended_approach_id == approach.id:
        review.recommended_approach_id = None
    await session.delete(approach)
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.approach_removed",
        subject_type="production_approach",
        subject_id=approach.id,
        before=gone,
    )


async def recommend_approach(
    session: AsyncSession, *, actor: User, project_id: int, approach_id: int, expected_version: Any
) -> FeasibilityReview:
    """Mark one approach as the recommendation (`expected_version` is the review's)."""
    review = await _editable(session, actor, project_id)
    _check_version(review, expected_version)
    approach = _row(review.approaches, approach_id)
    if review.recommended_approach_id == approach.id:
        return review
    before = {"recommended_approach_id": review.recommended_approach_id}
    review.recommended_approach_id = approach.id
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.approach_recommended",
        subject_type="feasibility_review",
        subject_id=review.id,
        before=before,
        after={"recommended_approach_id": approach.id, "name": approach.name},
    )
    return review


async def save_risk(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    description: Any,
    likelihood: Any,
    impact: Any,
    owner_id: Any = None,
    mitigation: Any = "",
    risk_id: int | None = None,
    expected_version: Any = None,
) -> Risk:
    """Add a risk to the register or change one. The owner, when given, is an active staff member."""
    review = await _editable(session, actor, project_id)
    owner: int | None = None
    if owner_id not in (None, ""):
        staff = {str(u.id): u.id for u in await staff_users(session)}
        if str(owner_id).strip() not in staff:
            raise ValidationFailed(
                _("The owner of a risk is one of the agency's coordinators."), field="owner_id"
            )
        owner = staff[str(owner_id).strip()]
    values = {
        "description": _text(
            description, field="description", limit=MAX_TEXT, required=_("Describe the risk.")
        ),
        "likelihood": _score_part(likelihood, field="likelihood"),
        "impact": _score_part(impact, field="impact"),
        "owner_id": owner,
        "mitigation": _text(mitigation, field="mitigation", limit=MAX_NOTE),
    }
    if risk_id is None:
        risk = Risk(org_id=review.org_id, review_id=review.id, **values)
        session.add(risk)
        await _touch(session, review)
        await _record(
            session,
            actor=actor,
            review=review,
            action="feasibility.risk_added",
            subject_type="risk",
            subject_id=risk.id,
            after=values,
        )
        return risk
    risk = _row(review.risks, risk_id)
    _check_version(risk, expected_version)
    before, after = _changes(risk, values)
    if not before:
        return risk
    for key, value in after.items():
        setattr(risk, key, value)
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.risk_updated",
        subject_type="risk",
        subject_id=risk.id,
        before=before,
        after=after,
    )
    return risk


async def close_risk(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    risk_id: int,
    expected_version: Any,
    reopen: bool = False,
) -> Risk:
    """Close a risk (it no longer threatens the project), or reopen a closed one."""
    review = await _editable(session, actor, project_id)
    risk = _row(review.risks, risk_id)
    _check_version(risk, expected_version)
    if (risk.closed_at is None) == reopen:
        return risk  # already in the state asked for
    before = {"closed_at": risk.closed_at}
    risk.closed_at = None if reopen else utcnow()
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.risk_reopened" if reopen else "feasibility.risk_closed",
        subject_type="risk",
        subject_id=risk.id,
        before=before,
        after={"closed_at": risk.closed_at},
    )
    return risk


async def save_summary(
    session: AsyncSession, *, actor: User, project_id: int, summary: Any, expected_version: Any
) -> FeasibilityReview:
    """Change the summary the brand will read (`expected_version` is the review's)."""
    review = await _editable(session, actor, project_id)
    _check_version(review, expected_version)
    text = _text(summary, field="summary", limit=MAX_NOTE)
    if text == review.summary:
        return review
    before = {"summary": review.summary}
    review.summary = text
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.summary_saved",
        subject_type="feasibility_review",
        subject_id=review.id,
        before=before,
        after={"summary": text},
    )
    return review
