"""What the feasibility modules share: reading a review, cleaning form input, and writing with its guards.

Writes are for staff only, validate their input before touching a row, write their audit event in the caller's
transaction and guard against lost updates twice: the caller states the version of the row it saw
(`expected_version`), and every write also bumps the review's own version, so two coordinators racing on one review
cannot both commit (the second flush matches no row and becomes a Conflict).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.feasibility.costs import CENT
from makeready.feasibility.models import (
    CheckArea,
    FeasibilityCheck,
    FeasibilityReview,
    ReviewStatus,
    Risk,
    Verdict,
)
from makeready.i18n import N_, _
from makeready.kernel.stale import CONCURRENT_MESSAGE
from makeready.projects.models import Project

# A risk scoring at least this (likelihood x impact, out of 25) is high: it needs a mitigation before completion,
# and the brand is told how many are still open.
HIGH_RISK = 15
# Verdicts from best to worst: an area's verdict for the brand is the worst of its checks.
VERDICT_ORDER = (Verdict.feasible, Verdict.with_changes, Verdict.not_feasible, Verdict.open)

MAX_TEXT = 2_000
MAX_NOTE = 5_000
MAX_NAME = 200
MAX_MONEY = Decimal("10000000000")  # Numeric(12, 2)
MAX_LEAD_DAYS = 3_650

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
    return Conflict(_(CONCURRENT_MESSAGE) % {"subject": _(N_("feasibility review"))})


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


async def review_complete(session: AsyncSession, project_id: int) -> bool:
    """Whether the project's feasibility review has been completed (an input of the development gate).

    Here, not with the review's machine, so the workflow's gates can import it without importing the engine.
    """
    status = await session.scalar(
        select(FeasibilityReview.status).where(FeasibilityReview.project_id == project_id)
    )
    return status == ReviewStatus.completed
