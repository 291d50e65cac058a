"""Feasibility services: the review a coordinator completes before development, and what the brand sees of it.

Every function takes a session whose tenancy scope is already set and keyword-only arguments. Writes are for staff
only, validate their input before touching a row, write their audit event in the caller's transaction and guard
against lost updates twice: the caller states the version of the row it saw (`expected_version`), and every write
also bumps the review's own version, so two coordinators racing on one review cannot both commit (the second
flush matches no row and becomes a Conflict). A completed review is read-only until it is reopened.

The cost model of a production approach is linear in the tooling: cost per unit at quantity q is
`unit_cost + tooling_cost / q`. Two approaches cost the same per unit where
`u_a + t_a / q = u_b + t_b / q`, i.e. at `q = (t_b - t_a) / (u_a - u_b)`; below that the one with less tooling is
cheaper, from it on the one with the lower unit cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.feasibility.models import (
    CheckArea,
    FeasibilityCheck,
    FeasibilityReview,
    ProductionApproach,
    Risk,
    Verdict,
)
from makeready.i18n import _, format_money
from makeready.projects.models import Project

# A risk scoring at least this (likelihood x impact, out of 25) is high: it needs a mitigation before completion,
# and the brand is told how many are still open.
HIGH_RISK = 15
# The quantities every comparison shows besides the project's own target.
STANDARD_QUANTITIES: tuple[int, ...] = (500, 1_000, 5_000, 10_000)
# Verdicts from best to worst: an area's verdict for the brand is the worst of its checks.
VERDICT_ORDER = (Verdict.feasible, Verdict.with_changes, Verdict.not_feasible, Verdict.open)

MAX_TEXT = 2_000
MAX_NOTE = 5_000
MAX_NAME = 200
MAX_MONEY = Decimal("10000000000")  # Numeric(12, 2)
MAX_LEAD_DAYS = 3_650
CENT = Decimal("0.01")


# -- cost arithmetic (pure) --------------------------------------------------------------------------------------


class Costed(Protocol):
    """What the cost arithmetic needs of an approach (a ProductionApproach, or anything shaped like one)."""

    @property
    def tooling_cost(self) -> Decimal: ...

    @property
    def unit_cost(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


def cost_per_unit(approach: Costed, quantity: int) -> Decimal:
    """Unit cost with the tooling spread over `quantity` units, to the cent (as ProductionApproach.cost_per_unit)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    return (Decimal(approach.unit_cost) + Decimal(approach.tooling_cost) / quantity).quantize(CENT)


@dataclass(frozen=True)
class CostRow:
    approach: Any
    costs: tuple[Decimal, ...]
    """Cost per unit at each of the table's quantities, in the same order."""


@dataclass(frozen=True)
class CostTable:
    quantities: tuple[int, ...]
    rows: tuple[CostRow, ...]
    cheapest: tuple[frozenset[int], ...]
    """For each quantity, the indexes of the rows that cost least per unit there (ties share it)."""


def cost_table(approaches: Iterable[Costed], quantities: Iterable[int]) -> CostTable:
    """Cost per unit of every approach at every quantity (ascending, each once), and the cheapest per quantity."""
    qs = tuple(sorted(set(quantities)))
    if any(q <= 0 for q in qs):
        raise ValueError("quantities must be positive")
    rows = tuple(CostRow(a, tuple(cost_per_unit(a, q) for q in qs)) for a in approaches)
    cheapest = []
    for column in range(len(qs)):
        if not rows:
            cheapest.append(frozenset[int]())
            continue
        least = min(row.costs[column] for row in rows)
        cheapest.append(frozenset(i for i, row in enumerate(rows) if row.costs[column] == least))
    return CostTable(qs, rows, tuple(cheapest))


@dataclass(frozen=True)
class BreakEven:
    """Where two approaches' cost-per-unit lines cross."""

    exact: Decimal
    """The crossing quantity, (t_high - t_low) / (u_low_tooling - u_high_tooling), to 2 decimals."""
    quantity: int
    """The first whole quantity at which `high_tooling` costs no more per unit than `low_tooling`."""
    low_tooling: Any
    """Cheaper below `quantity`: the approach with less tooling."""
    high_tooling: Any
    """Cheaper from `quantity` on: the approach with the lower unit cost."""


def break_even(a: Costed, b: Costed) -> BreakEven | None:
    """The quantity where `a` and `b` cost the same per unit, or None when their lines never cross at a positive
    quantity: one costs no more in both tooling and unit cost (it is cheaper or equal everywhere), or they are
    priced in different currencies (no rate to compare them by)."""
    if a.currency != b.currency:
        return None
    ta, tb = Decimal(a.tooling_cost), Decimal(b.tooling_cost)
    ua, ub = Decimal(a.unit_cost), Decimal(b.unit_cost)
    if ta == tb or ua == ub:
        return None  # parallel lines, or equal at infinite volume: one is never worse
    low, high = (a, b) if ta < tb else (b, a)
    t_low, t_high = min(ta, tb), max(ta, tb)
    u_low, u_high = (ua, ub) if low is a else (ub, ua)
    if u_high >= u_low:
        return None  # more tooling and no cheaper per unit: dominated at every quantity
    exact = (t_high - t_low) / (u_low - u_high)
    return BreakEven(
        exact=exact.quantize(CENT),
        quantity=int(exact.to_integral_value(rounding=ROUND_CEILING)),
        low_tooling=low,
        high_tooling=high,
    )


def comparison_quantities(target: int | None) -> tuple[int, ...]:
    """The standard quantities plus the project's target, ascending."""
    return tuple(sorted({*STANDARD_QUANTITIES, *([target] if target else [])}))


# -- reading -------------------------------------------------------------------------------------------------------


def _require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise PermissionDenied(_("Only coordinators can do this."))


async def _project(session: AsyncSession, project_id: int) -> Project:
    project = await session.scalar(select(Project).where(Project.id == project_id))
    if project is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))
    return project


async def get_review(session: AsyncSession, *, project_id: int) -> FeasibilityReview | None:
    """The project's review with its checks, approaches and risks (and their owners), or None before it starts."""
    return await session.scalar(
        select(FeasibilityReview)
        .where(FeasibilityReview.project_id == project_id)
        .options(
            selectinload(FeasibilityReview.checks),
            selectinload(FeasibilityReview.approaches),
            selectinload(FeasibilityReview.risks).selectinload(Risk.owner),
        )
        .execution_options(populate_existing=True)
    )


def ordered_checks(review: FeasibilityReview) -> dict[CheckArea, list[FeasibilityCheck]]:
    """The checklist grouped by area, every area present (empty ones too), each in position order."""
    grouped: dict[CheckArea, list[FeasibilityCheck]] = {area: [] for area in CheckArea}
    for check in sorted(review.checks, key=lambda c: (c.position, c.id)):
        grouped[check.area].append(check)
    return grouped


def ordered_risks(risks: Iterable[Risk]) -> list[Risk]:
    """Open risks first, each group by score (highest first), then likelihood, then age."""
    return sorted(risks, key=lambda r: (r.closed_at is not None, -r.score, -r.likelihood, r.id))


def missing_for_completion(review: FeasibilityReview) -> list[str]:
    """What still stands between the review and its completion, in words for the coordinator (empty when none)."""
    missing: list[str] = []
    if not review.summary.strip():
        missing.append(_("Write a summary for the brand."))
    if not review.checks:
        missing.append(_("Add at least one requirement to the checklist."))
    labels = CheckArea.labels()
    for check in sorted(review.checks, key=lambda c: (c.position, c.id)):
        if check.verdict == Verdict.open:
            missing.append(
                _("Give a verdict on %(area)s: %(requirement)s")
                % {"area": _(labels[check.area]), "requirement": _shorten(check.requirement)}
            )
    if not review.approaches:
        missing.append(_("Add at least one production approach."))
    if review.recommended_approach_id is None or not any(
        a.id == review.recommended_approach_id for a in review.approaches
    ):
        missing.append(_("Recommend one of the production approaches."))
    for risk in ordered_risks(review.risks):
        if risk.score >= HIGH_RISK and not risk.mitigation.strip():
            missing.append(
                _("Write a mitigation for the high risk (score %(score)d): %(risk)s")
                % {"score": risk.score, "risk": _shorten(risk.description)}
            )
    return missing


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def staff_users(session: AsyncSession) -> list[User]:
    """The people a risk can be given to: active agency staff."""
    rows = await session.scalars(
        select(User).where(User.is_staff, User.is_active).order_by(User.name, User.email)
    )
    return list(rows.all())


# -- input cleaning ------------------------------------------------------------------------------------------------


def _text(value: Any, *, field: str, limit: int, required: str | None = None) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise ValidationFailed(required, field=field)
    if len(text) > limit:
        raise ValidationFailed(
            _("This text is too long: at most %(limit)d characters.") % {"limit": limit}, field=field
        )
    return text


def _version(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("The form is missing the version it was loaded with. Reload the page.")
        ) from None


def _money(value: Any, *, field: str) -> Decimal:
    raw = str(value if value is not None else "").strip().replace(",", "")
    if not raw:
        raise ValidationFailed(_("Enter an amount (0 when there is none)."), field=field)
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed(_("The amount must be a number, such as 12.50."), field=field) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        raise ValidationFailed(_("The amount must be zero or more."), field=field)
    return amount.quantize(CENT)


def _score_part(value: Any, *, field: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 5:
        raise ValidationFailed(_("Likelihood and impact are whole numbers from 1 to 5."), field=field)
    return number


def _choice(enum_cls: type[CheckArea] | type[Verdict], value: Any, *, field: str) -> Any:
    try:
        return enum_cls(str(value))
    except ValueError:
        raise ValidationFailed(_("Choose one of the options offered."), field=field) from None


# -- writing -------------------------------------------------------------------------------------------------------


def _stale() -> Conflict:
    return Conflict(
        _(
            "This was changed by someone else since you loaded the page. Nothing was saved: check the "
            "current state and make your change again."
        )
    )


def _check_version(row: Any, expected_version: Any) -> None:
    if row.version != _version(expected_version):
        raise _stale()


async def _flush(session: AsyncSession) -> None:
    """Flush, turning a lost race on a version column into the same Conflict a stale form gets."""
    try:
        await session.flush()
    except StaleDataError:
        raise _stale() from None


async def _touch(session: AsyncSession, review: FeasibilityReview) -> None:
    """Bump the review's version with this change, so concurrent writers to one review cannot both commit."""
    review.updated_at = utcnow()
    await _flush(session)


async def _record(
    session: AsyncSession,
    *,
    actor: User,
    review: FeasibilityReview,
    action: str,
    subject_type: str,
    subject_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    await audit.record(
        session,
        actor_id=actor.id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        org_id=review.org_id,
        project_id=review.project_id,
        before=before,
        after=after,
        reason=reason,
    )


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
    if review.completed_at is not None:
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
    missing = missing_for_completion(review)
    if missing:
        review.summary = before_summary  # nothing is written when completion is refused
        raise ValidationFailed(
            _("The review cannot be completed yet:") + " " + " ".join(missing), missing=missing
        )
    recommended = _row(review.approaches, review.recommended_approach_id)
    review.completed_at = utcnow()
    review.completed_by_id = actor.id
    await _touch(session, review)
    verdicts = {area.value: verdict.value for area, verdict in area_verdicts(review.checks).items()}
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.completed",
        subject_type="feasibility_review",
        subject_id=review.id,
        before={"summary": before_summary} if before_summary != review.summary else None,
        after={
            "summary": review.summary,
            "verdicts": verdicts,
            "recommended_approach_id": recommended.id,
            "recommended_approach": recommended.name,
            "completed_at": review.completed_at,
        },
    )
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
    if review.completed_at is None:
        raise Conflict(_("The review is not completed, so there is nothing to reopen."))
    why = _text(reason, field="reason", limit=MAX_TEXT, required=_("Say why the review is reopened."))
    before = {"completed_at": review.completed_at, "completed_by_id": review.completed_by_id}
    review.completed_at = None
    review.completed_by_id = None
    await _touch(session, review)
    await _record(
        session,
        actor=actor,
        review=review,
        action="feasibility.reopened",
        subject_type="feasibility_review",
        subject_id=review.id,
        before=before,
        after={"completed_at": None},
        reason=why,
    )
    return review


# -- the gate and the brand ----------------------------------------------------------------------------------------


async def review_complete(session: AsyncSession, project_id: int) -> bool:
    """Whether the project's feasibility review has been completed (an input of the development gate)."""
    completed = await session.scalar(
        select(FeasibilityReview.completed_at).where(FeasibilityReview.project_id == project_id)
    )
    return completed is not None


def area_verdicts(checks: Iterable[Any]) -> dict[CheckArea, Verdict]:
    """Each area's verdict: the worst of its checks' (areas without checks left out), in area order."""
    worst: dict[CheckArea, Verdict] = {}
    for check in checks:
        area, verdict = CheckArea(check.area), Verdict(check.verdict)
        if area not in worst or VERDICT_ORDER.index(verdict) > VERDICT_ORDER.index(worst[area]):
            worst[area] = verdict
    return {area: worst[area] for area in CheckArea if area in worst}


@dataclass(frozen=True)
class AreaVerdict:
    area: CheckArea
    verdict: Verdict


@dataclass(frozen=True)
class BrandSummary:
    """What a brand sees of a review. Deliberately little: the verdict per area, the recommended approach with
    its cost per unit at the brand's own target quantity (no tooling/unit breakdown, no other approach's costs,
    nothing from supplier quotes), the lead time, how many approaches were compared, and the open high risks."""

    completed: bool
    started: bool = True
    completed_at: datetime | None = None
    summary: str = ""
    verdicts: tuple[AreaVerdict, ...] = field(default_factory=tuple)
    approach_name: str = ""
    approach_process: str = ""
    lead_time_days: int | None = None
    cost_per_unit: Decimal | None = None
    currency: str = "USD"
    target_quantity: int | None = None
    approaches_compared: int = 0
    open_high_risks: int = 0


async def brand_summary(session: AsyncSession, project_id: int) -> BrandSummary:
    """The review as the brand's project page shows it: only whether it is under way until it is completed.

    One statement while the review is not completed (what the project page's query count depends on), four once
    it is, whatever the size of the review.
    """
    review = await session.scalar(select(FeasibilityReview).where(FeasibilityReview.project_id == project_id))
    if review is None:
        return BrandSummary(completed=False, started=False)
    if review.completed_at is None:
        return BrandSummary(completed=False)
    rows = (
        await session.execute(
            select(FeasibilityCheck.area, FeasibilityCheck.verdict)
            .where(FeasibilityCheck.review_id == review.id)
            .distinct()
        )
    ).all()
    verdicts = tuple(
        AreaVerdict(area, verdict) for area, verdict in area_verdicts(_AreaRow(a, v) for a, v in rows).items()
    )
    approach = await session.scalar(
        select(ProductionApproach).where(
            ProductionApproach.review_id == review.id,
            ProductionApproach.id == review.recommended_approach_id,
        )
    )
    counts = (
        await session.execute(
            select(
                select(func.count(ProductionApproach.id))
                .where(ProductionApproach.review_id == review.id)
                .scalar_subquery(),
                select(func.count(Risk.id))
                .where(
                    Risk.review_id == review.id,
                    Risk.closed_at.is_(None),
                    Risk.likelihood * Risk.impact >= HIGH_RISK,
                )
                .scalar_subquery(),
            )
        )
    ).one()
    project = await session.get(Project, project_id)  # already loaded by the page: no statement
    target = project.target_quantity if project else None
    return BrandSummary(
        completed=True,
        completed_at=review.completed_at,
        summary=review.summary,
        verdicts=verdicts,
        approach_name=approach.name if approach else "",
        approach_process=approach.process if approach else "",
        lead_time_days=approach.lead_time_days if approach else None,
        cost_per_unit=cost_per_unit(approach, target) if approach and target else None,
        currency=approach.currency if approach else (project.currency if project else "USD"),
        target_quantity=target,
        approaches_compared=int(counts[0] or 0),
        open_high_risks=int(counts[1] or 0),
    )


@dataclass(frozen=True)
class _AreaRow:
    area: CheckArea
    verdict: Verdict


def pairs(items: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Every unordered pair, in order: (0, 1), (0, 2), (1, 2), ..."""
    return [(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))]


def log_space(low: float, high: float, count: int) -> list[float]:
    """`count` numbers from low to high, evenly spaced on a log scale (for cost curves)."""
    if count < 2 or low <= 0 or high <= low:
        raise ValueError("need 2 or more points over a positive, increasing range")
    step = (math.log(high) - math.log(low)) / (count - 1)
    return [math.exp(math.log(low) + i * step) for i in range(count)]
