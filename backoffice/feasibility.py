"""The feasibility workspace: the coordinator page at /coordinator/projects/{project_id}/feasibility.

A CRUD form cannot run a feasibility review well: the checklist, the cost comparison and the risk register are read
together and decided together. The page is server-rendered (the chart is an inline SVG drawn here, no JavaScript
library); every form posts to one small handler that calls a `makeready.feasibility.service` function in the
request's transaction and redirects back (post/redirect/get). A refused write (bad input, a stale version, a
completion with something missing) rolls the transaction back and shows the page again with the message next to the
form, the submitted values kept when they were merely invalid, the current state shown when they were stale.

Staff only, like every coordinator page (backoffice.access): the portal mounts it behind its coordinator guard.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_decimal
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import Failed, Staff, provide_staff, refused_page, typed_values
from makeready import i18n, urls
from makeready.accounts.models import User
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.feasibility import service as feasibility
from makeready.feasibility.models import CheckArea, FeasibilityReview, ProductionApproach, Verdict
from makeready.i18n import _
from makeready.projects import service as projects

BASE = "/coordinator/projects/{project_id:int}/feasibility"
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def workspace_url(project_id: int, anchor: str = "") -> str:
    return urls.coordinator_project(project_id) + "/feasibility" + (f"#{anchor}" if anchor else "")


# -- the cost chart ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    index: int
    name: str
    points: str
    recommended: bool


@dataclass(frozen=True)
class Chart:
    """Cost per unit against quantity (log scale), one line per approach, in SVG user units."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    series: tuple[Series, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    target: tuple[float, str] | None
    crossings: tuple[tuple[float, float], ...]
    currency: str

    @property
    def right(self) -> int:
        return self.left + self.plot_width

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def _nice(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at least `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value - 1e-12:
            return step * magnitude
    return 10 * magnitude


def _number(value: float, digits: int = 0) -> str:
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=i18n.babel_locale())


def build_chart(
    approaches: Sequence[ProductionApproach],
    *,
    target: int | None,
    recommended_id: int | None,
    width: int = 680,
    height: int = 300,
) -> Chart | None:
    """The chart's geometry; None without approaches. The y axis is cut a little above the dearest approach at the
    smallest compared quantity: below that tooling dominates and the lines leave the plot (clipped)."""
    if not approaches:
        return None
    left, top, right_pad, bottom_pad = 64, 16, 28, 40
    plot_w, plot_h = width - left - right_pad, height - top - bottom_pad
    quantities = feasibility.comparison_quantities(target)
    q_min, q_max = max(1.0, min(quantities) / 5), max(quantities) * 2.0
    y_max = _nice(max(float(feasibility.cost_per_unit(a, min(quantities))) for a in approaches) * 1.1)
    log_min, log_span = math.log(q_min), math.log(q_max) - math.log(q_min)

    def x(q: float) -> float:
        return round(left + (math.log(q) - log_min) / log_span * plot_w, 1)

    def y(cost: float) -> float:
        # far above the plot is clipped anyway; bounded so the numbers stay small
        return round(top + (1 - min(cost, y_max * 4) / y_max) * plot_h, 1)

    def curve(a: ProductionApproach) -> str:
        unit, tooling = float(a.unit_cost), float(a.tooling_cost)
        return " ".join(f"{x(q)},{y(unit + tooling / q)}" for q in feasibility.log_space(q_min, q_max, 48))

    series = tuple(
        Series(index=i % 6, name=a.name, points=curve(a), recommended=a.id == recommended_id)
        for i, a in enumerate(approaches)
    )
    x_ticks = []
    for exponent in range(math.floor(math.log10(q_min)), math.ceil(math.log10(q_max)) + 1):
        for mantissa in (1, 2, 5):
            q = mantissa * 10.0**exponent
            if q_min <= q <= q_max:
                x_ticks.append((x(q), _number(q)))
    step = _nice(y_max / 5)
    y_ticks = [(y(k * step), _number(k * step, 2)) for k in range(round(y_max / step) + 1)]
    crossings = []
    for a, b in feasibility.pairs(approaches):
        point = feasibility.break_even(a, b)
        if point is not None and q_min <= float(point.exact) <= q_max:
            q = float(point.exact)
            crossings.append((x(q), y(float(a.unit_cost) + float(a.tooling_cost) / q)))
    marker = (
        (x(target), _("Target: %(quantity)s") % {"quantity": _number(target)})
        if target and q_min <= target <= q_max
        else None
    )
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_w,
        plot_height=plot_h,
        series=series,
        x_ticks=tuple(x_ticks),
        y_ticks=tuple(y_ticks),
        target=marker,
        crossings=tuple(crossings),
        currency=approaches[0].currency,
    )


@dataclass(frozen=True)
class Pair:
    """Two approaches compared: where they break even, or which costs no more everywhere when they never do."""

    a: ProductionApproach
    b: ProductionApproach
    point: feasibility.BreakEven | None
    cheaper: ProductionApproach | None
    same_currency: bool


def compare(a: ProductionApproach, b: ProductionApproach) -> Pair:
    point = feasibility.break_even(a, b)
    cheaper = None
    differ = (a.tooling_cost, a.unit_cost) != (b.tooling_cost, b.unit_cost)
    if point is None and a.currency == b.currency and differ:
        a_wins = a.tooling_cost <= b.tooling_cost and a.unit_cost <= b.unit_cost
        cheaper = a if a_wins else b
    return Pair(a=a, b=b, point=point, cheaper=cheaper, same_currency=a.currency == b.currency)


# -- the page ------------------------------------------------------------------------------------------------------


async def render(
    db: AsyncSession, staff: Staff, project_id: int, *, failed: Failed | None = None, status_code: int = 200
) -> Template:
    project = await projects.get_project(db, project_id)
    review = await feasibility.get_review(db, project_id=project_id)
    context: dict[str, Any] = {
        "user": staff,
        "project": project,
        "review": review,
        "failed": failed,
        "base_url": workspace_url(project_id),
        "areas": list(CheckArea),
        "verdicts": list(Verdict),
        "high_risk": feasibility.HIGH_RISK,
        "number": _number,
        "money_input": money_input,
    }
    if review is not None:
        context.update(await _review_context(db, project.target_quantity, review))
    return Template("backoffice/feasibility/page.html", context=context, status_code=status_code)


async def _review_context(db: AsyncSession, target: int | None, review: FeasibilityReview) -> dict[str, Any]:
    approaches = list(review.approaches)
    quantities = feasibility.comparison_quantities(target)
    completed_by = await db.get(User, review.completed_by_id) if review.completed_by_id else None
    return {
        "checks": feasibility.ordered_checks(review),
        "approaches": approaches,
        "recommended": next((a for a in approaches if a.id == review.recommended_approach_id), None),
        "table": feasibility.cost_table(approaches, quantities),
        "target": target,
        "comparisons": [compare(a, b) for a, b in feasibility.pairs(approaches)],
        "area_verdicts": feasibility.area_verdicts(review.checks),
        "chart": build_chart(approaches, target=target, recommended_id=review.recommended_approach_id),
        "risks": feasibility.ordered_risks(review.risks),
        "staff": await feasibility.staff_users(db),
        "missing": feasibility.missing_for_completion(review),
        "completed_by": completed_by,
        "editable": review.completed_at is None,
    }


async def act(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    key: str,
    anchor: str,
    data: dict[str, str],
    action: Callable[[], Awaitable[Any]],
) -> Template | Redirect:
    """Run one service call; on success back to the page (at `anchor`), else the page again with the message."""
    try:
        await action()
    except (ValidationFailed, Conflict, NotFound) as exc:
        missing = list(exc.extra.get("missing", []))
        failed = Failed(key=key, message=exc.message, values=typed_values(data, exc), missing=missing)

        async def page(staff: Staff) -> Template:
            return await render(db, staff, project_id, failed=failed)

        return await refused_page(db, staff, page, status_code=exc.status_code)
    return Redirect(workspace_url(project_id, anchor), status_code=303)


class FeasibilityWorkspace(Controller):
    """The coordinator's feasibility workspace for one project."""

    path = BASE
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", name="feasibility_workspace")
    async def page(
        self, db: NamedDependency[AsyncSession], staff: NamedDependency[Staff], project_id: FromPath[int]
    ) -> Template:
        """The checklist, the approaches compared, the risk register and the completion."""
        return await render(db, staff, project_id)

    @post("/start")
    async def start(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Start the review with a row per area drawn from the project."""

        async def action() -> Any:
            return await feasibility.get_or_start_review(db, actor=staff.user, project_id=project_id)

        return await act(db, staff, project_id, key="start", anchor="checks", data=data, action=action)

    # -- checklist

    @post("/checks")
    async def add_check(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        area = data.get("area", "")

        async def action() -> Any:
            return await feasibility.save_check(db, actor=staff.user, project_id=project_id, **_check(data))

        return await act(
            db, staff, project_id, key=f"new-check-{area}", anchor=f"area-{area}", data=data, action=action
        )

    @post("/checks/{check_id:int}")
    async def edit_check(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        check_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.save_check(
                db,
                actor=staff.user,
                project_id=project_id,
                check_id=check_id,
                expected_version=data.get("version"),
                **_check(data),
            )

        key = f"check-{check_id}"
        return await act(db, staff, project_id, key=key, anchor=key, data=data, action=action)

    @post("/checks/{check_id:int}/remove")
    async def remove_check(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        check_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            await feasibility.remove_check(
                db,
                actor=staff.user,
                project_id=project_id,
                check_id=check_id,
                expected_version=data.get("version"),
            )

        return await act(
            db, staff, project_id, key=f"check-{check_id}", anchor="checks", data=data, action=action
        )

    @post("/checks/{check_id:int}/move")
    async def move_check(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        check_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            await feasibility.move_check(
                db,
                actor=staff.user,
                project_id=project_id,
                check_id=check_id,
                expected_version=data.get("version"),
                direction=data.get("direction", ""),
            )

        key = f"check-{check_id}"
        return await act(db, staff, project_id, key=key, anchor=key, data=data, action=action)

    # -- approaches

    @post("/approaches")
    async def add_approach(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.save_approach(
                db, actor=staff.user, project_id=project_id, **_approach(data)
            )

        return await act(
            db, staff, project_id, key="new-approach", anchor="approaches", data=data, action=action
        )

    @post("/approaches/{approach_id:int}")
    async def edit_approach(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        approach_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.save_approach(
                db,
                actor=staff.user,
                project_id=project_id,
                approach_id=approach_id,
                expected_version=data.get("version"),
                **_approach(data),
            )

        key = f"approach-{approach_id}"
        return await act(db, staff, project_id, key=key, anchor=key, data=data, action=action)

    @post("/approaches/{approach_id:int}/remove")
    async def remove_approach(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        approach_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            await feasibility.remove_approach(
                db,
                actor=staff.user,
                project_id=project_id,
                approach_id=approach_id,
                expected_version=data.get("version"),
            )

        key = f"approach-{approach_id}"
        return await act(db, staff, project_id, key=key, anchor="approaches", data=data, action=action)

    @post("/approaches/{approach_id:int}/recommend")
    async def recommend_approach(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        approach_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.recommend_approach(
                db,
                actor=staff.user,
                project_id=project_id,
                approach_id=approach_id,
                expected_version=data.get("review_version"),
            )

        key = f"approach-{approach_id}"
        return await act(db, staff, project_id, key=key, anchor="comparison", data=data, action=action)

    # -- risks

    @post("/risks")
    async def add_risk(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.save_risk(db, actor=staff.user, project_id=project_id, **_risk(data))

        return await act(db, staff, project_id, key="new-risk", anchor="risks", data=data, action=action)

    @post("/risks/{risk_id:int}")
    async def edit_risk(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        risk_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.save_risk(
                db,
                actor=staff.user,
                project_id=project_id,
                risk_id=risk_id,
                expected_version=data.get("version"),
                **_risk(data),
            )

        key = f"risk-{risk_id}"
        return await act(db, staff, project_id, key=key, anchor=key, data=data, action=action)

    @post("/risks/{risk_id:int}/close")
    async def close_risk(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        risk_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        return await self._close(db, staff, project_id, risk_id, data, reopen=False)

    @post("/risks/{risk_id:int}/reopen")
    async def reopen_risk(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        risk_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        return await self._close(db, staff, project_id, risk_id, data, reopen=True)

    async def _close(
        self,
        db: AsyncSession,
        staff: Staff,
        project_id: int,
        risk_id: int,
        data: dict[str, str],
        *,
        reopen: bool,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.close_risk(
                db,
                actor=staff.user,
                project_id=project_id,
                risk_id=risk_id,
                expected_version=data.get("version"),
                reopen=reopen,
            )

        key = f"risk-{risk_id}"
        return await act(db, staff, project_id, key=key, anchor="risks", data=data, action=action)

    # -- summary and completion

    @post("/summary")
    async def save_summary(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.save_summary(
                db,
                actor=staff.user,
                project_id=project_id,
                summary=data.get("summary", ""),
                expected_version=data.get("review_version"),
            )

        return await act(db, staff, project_id, key="summary", anchor="completion", data=data, action=action)

    @post("/complete")
    async def complete(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.complete_review(
                db,
                actor=staff.user,
                project_id=project_id,
                summary=data.get("summary"),
                expected_version=data.get("review_version"),
            )

        return await act(db, staff, project_id, key="summary", anchor="completion", data=data, action=action)

    @post("/reopen")
    async def reopen(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        async def action() -> Any:
            return await feasibility.reopen_review(
                db,
                actor=staff.user,
                project_id=project_id,
                reason=data.get("reason", ""),
                expected_version=data.get("review_version"),
            )

        return await act(db, staff, project_id, key="reopen", anchor="completion", data=data, action=action)


def _check(data: dict[str, str]) -> dict[str, Any]:
    return {
        "area": data.get("area", ""),
        "requirement": data.get("requirement", ""),
        "constraint": data.get("constraint", ""),
        "verdict": data.get("verdict") or Verdict.open,
        "note": data.get("note", ""),
    }


def _approach(data: dict[str, str]) -> dict[str, Any]:
    return {
        "name": data.get("name", ""),
        "process": data.get("process", ""),
        "tooling_cost": data.get("tooling_cost", ""),
        "unit_cost": data.get("unit_cost", ""),
        "lead_time_days": data.get("lead_time_days") or None,
        "notes": data.get("notes", ""),
    }


def _risk(data: dict[str, str]) -> dict[str, Any]:
    return {
        "description": data.get("description", ""),
        "likelihood": data.get("likelihood", ""),
        "impact": data.get("impact", ""),
        "owner_id": data.get("owner_id") or None,
        "mitigation": data.get("mitigation", ""),
    }


def money_input(amount: Decimal | None) -> str:
    """A stored amount as a form field shows it (no grouping, two decimals)."""
    return "" if amount is None else f"{amount:.2f}"
