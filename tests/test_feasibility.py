# The expected Chinese text uses full-width punctuation on purpose, as Chinese is written.
# ruff: noqa: RUF001
"""Feasibility services: the cost arithmetic, starting a review, completion and its preconditions, the audit trail,
the gate's input, stale writes, and what the brand is shown. Pages through HTTP: tests/test_feasibility_pages.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit import service as audit
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.errors import Conflict, PermissionDenied, ValidationFailed
from makeready.feasibility import service as feasibility
from makeready.feasibility.models import (
    CheckArea,
    FeasibilityCheck,
    FeasibilityReview,
    ProductionApproach,
    Risk,
    Verdict,
)
from makeready.i18n import use_locale
from makeready.projects import service as projects
from tests.conftest import World

CENT = Decimal("0.01")


@asynccontextmanager
async def tx(db: AsyncSession) -> AsyncIterator[None]:
    """One transaction on the test's session; reads before it have opened one already, so end that first."""
    if db.in_transaction():
        await db.commit()
    async with db.begin():
        yield


@dataclass(frozen=True)
class Approach:
    name: str
    tooling_cost: Decimal
    unit_cost: Decimal
    currency: str = "USD"


CNC = Approach("CNC aluminium", Decimal("0"), Decimal("12.40"))
DIE_CAST = Approach("Die-cast zinc + CNC finish", Decimal("8000"), Decimal("3.10"))
MOULDED = Approach("Injection-moulded PC", Decimal("30000"), Decimal("0.85"))


def expected_cost(a: Approach, q: int) -> Decimal:
    return (a.unit_cost + a.tooling_cost / q).quantize(CENT)


# -- the arithmetic -------------------------------------------------------------------------------------------------


def test_cost_per_unit_spreads_the_tooling_over_the_quantity() -> None:
    for approach in (CNC, DIE_CAST, MOULDED):
        for q in (1, 7, 500, 1_000, 2_500, 5_000, 10_000, 123_457):
            assert feasibility.cost_per_unit(approach, q) == expected_cost(approach, q)
    # the model's own method agrees
    model = ProductionApproach(
        name="m", tooling_cost=Decimal("8000"), unit_cost=Decimal("3.10"), currency="USD"
    )
    assert (
        model.cost_per_unit(3_000)
        == feasibility.cost_per_unit(model, 3_000)
        == expected_cost(DIE_CAST, 3_000)
    )
    with pytest.raises(ValueError, match="positive"):
        feasibility.cost_per_unit(CNC, 0)


def test_cost_table_at_the_target_and_standard_quantities() -> None:
    target = 2_500
    quantities = feasibility.comparison_quantities(target)
    assert quantities == (500, 1_000, 2_500, 5_000, 10_000)
    assert feasibility.comparison_quantities(1_000) == (
        500,
        1_000,
        5_000,
        10_000,
    )  # the target is listed once
    assert feasibility.comparison_quantities(None) == feasibility.STANDARD_QUANTITIES

    table = feasibility.cost_table([CNC, DIE_CAST, MOULDED], quantities)
    assert table.quantities == quantities
    assert [row.approach for row in table.rows] == [CNC, DIE_CAST, MOULDED]
    for row in table.rows:
        assert row.costs == tuple(expected_cost(row.approach, q) for q in quantities)
    for column, q in enumerate(quantities):
        costs = [expected_cost(a, q) for a in (CNC, DIE_CAST, MOULDED)]
        assert table.cheapest[column] == {i for i, c in enumerate(costs) if c == min(costs)}
    # small runs favour no tooling, large runs the mould
    assert table.cheapest[0] == {0}
    assert table.cheapest[-1] == {2}
    assert feasibility.cost_table([], quantities).cheapest == tuple(frozenset() for _ in quantities)


def test_break_even_is_where_the_lines_cross() -> None:
    point = feasibility.break_even(CNC, DIE_CAST)
    assert point is not None
    exact = (DIE_CAST.tooling_cost - CNC.tooling_cost) / (CNC.unit_cost - DIE_CAST.unit_cost)
    assert point.exact == exact.quantize(CENT)
    assert point.quantity == int(exact.to_integral_value(rounding=ROUND_CEILING))
    assert (point.low_tooling, point.high_tooling) == (CNC, DIE_CAST)

    # unrounded, the high-tooling approach is dearer one unit before and no dearer from the break-even on
    def raw(a: Approach, q: int) -> Decimal:
        return a.unit_cost + a.tooling_cost / q

    assert raw(DIE_CAST, point.quantity - 1) > raw(CNC, point.quantity - 1)
    assert raw(DIE_CAST, point.quantity) <= raw(CNC, point.quantity)
    # the order of the arguments does not matter
    assert feasibility.break_even(DIE_CAST, CNC) == point

    between = feasibility.break_even(DIE_CAST, MOULDED)
    assert between is not None
    exact = (MOULDED.tooling_cost - DIE_CAST.tooling_cost) / (DIE_CAST.unit_cost - MOULDED.unit_cost)
    assert between.quantity == int(exact.to_integral_value(rounding=ROUND_CEILING))
    assert (between.low_tooling, between.high_tooling) == (DIE_CAST, MOULDED)


def test_break_even_on_a_whole_quantity() -> None:
    a = Approach("a", Decimal("0"), Decimal("3"))
    b = Approach("b", Decimal("1000"), Decimal("2"))
    point = feasibility.break_even(a, b)
    assert point is not None
    assert (point.exact, point.quantity) == (Decimal("1000.00"), 1000)
    assert feasibility.cost_per_unit(a, 1000) == feasibility.cost_per_unit(b, 1000)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # more tooling and a dearer unit: dominated everywhere
        (Approach("cheap", Decimal("100"), Decimal("2")), Approach("dear", Decimal("900"), Decimal("2.50"))),
        # same unit cost: parallel lines
        (Approach("a", Decimal("100"), Decimal("2")), Approach("b", Decimal("900"), Decimal("2"))),
        # same tooling: the unit cost decides at every quantity
        (Approach("a", Decimal("500"), Decimal("2")), Approach("b", Decimal("500"), Decimal("1"))),
        # identical
        (Approach("a", Decimal("500"), Decimal("2")), Approach("b", Decimal("500"), Decimal("2"))),
        # different currencies: no rate to compare by
        (Approach("a", Decimal("0"), Decimal("3")), Approach("b", Decimal("1000"), Decimal("2"), "CNY")),
    ],
)
def test_no_break_even_when_the_lines_do_not_cross(a: Approach, b: Approach) -> None:
    assert feasibility.break_even(a, b) is None
    assert feasibility.break_even(b, a) is None


# -- the review -----------------------------------------------------------------------------------------------------


async def make_project(db: AsyncSession, world: World, **data: object) -> int:
    async with tx(db):
        project = await projects.create_project(
            db,
            actor=world.owner_a,
            org_id=world.org_a.id,
            data={"name": "Desk lamp", "category": "Lighting", **data},
        )
    return project.id


async def events(db: AsyncSession, prefix: str = "feasibility.") -> list[AuditEvent]:
    rows = await db.scalars(
        select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.seq)
    )
    return list(rows.all())


async def test_a_new_review_starts_with_a_row_per_area_drawn_from_the_project(
    db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world, target_quantity=2500, target_unit_price="18.50")
    with use_locale("en"):
        async with tx(db):
            review = await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    grouped = feasibility.ordered_checks(review)
    assert [len(grouped[area]) for area in CheckArea] == [1, 1, 1, 1, 1]
    assert all(c.verdict == Verdict.open for c in review.checks)
    assert "Lighting" in grouped[CheckArea.process][0].requirement
    assert grouped[CheckArea.volume][0].requirement == "2,500 units at a target price of $18.50 per unit"
    assert [c.position for c in sorted(review.checks, key=lambda c: c.position)] == [0, 1, 2, 3, 4]
    started = await events(db)
    assert [(e.action, e.actor_id, e.project_id) for e in started] == [
        ("feasibility.started", world.coordinator.id, project_id)
    ]

    # starting again returns the same review, unchanged
    async with tx(db):
        again = await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    assert again.id == review.id
    assert await db.scalar(select(func.count(FeasibilityCheck.id))) == 5
    assert len(await events(db)) == 1


async def test_the_starting_rows_are_written_in_the_coordinators_language(
    db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    with use_locale("zh_Hans"):
        async with tx(db):
            review = await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    volume = feasibility.ordered_checks(review)[CheckArea.volume][0]
    assert volume.requirement == "尚未设定目标数量：请与品牌方确认"


async def test_brand_users_cannot_write(db: AsyncSession, world: World) -> None:
    project_id = await make_project(db, world)
    for user in (world.owner_a, world.member_a):
        with pytest.raises(PermissionDenied):
            async with tx(db):
                await feasibility.get_or_start_review(db, actor=user, project_id=project_id)
    assert await db.scalar(select(func.count(FeasibilityReview.id))) == 0


async def test_bad_input_is_refused_and_writes_nothing(db: AsyncSession, world: World) -> None:
    project_id = await make_project(db, world)
    async with tx(db):
        await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    before = len(await events(db))
    cases = [
        (feasibility.save_check, {"area": "colour", "requirement": "x"}, "area"),
        (feasibility.save_check, {"area": "finish", "requirement": "   "}, "requirement"),
        (feasibility.save_check, {"area": "finish", "requirement": "x", "verdict": "maybe"}, "verdict"),
        (feasibility.save_check, {"area": "finish", "requirement": "x" * 2001}, "requirement"),
        (feasibility.save_approach, {"name": "", "tooling_cost": "1", "unit_cost": "1"}, "name"),
        (feasibility.save_approach, {"name": "a", "tooling_cost": "abc", "unit_cost": "1"}, "tooling_cost"),
        (feasibility.save_approach, {"name": "a", "tooling_cost": "-5", "unit_cost": "1"}, "tooling_cost"),
        (feasibility.save_approach, {"name": "a", "tooling_cost": "NaN", "unit_cost": "1"}, "tooling_cost"),
        (feasibility.save_approach, {"name": "a", "tooling_cost": "1", "unit_cost": ""}, "unit_cost"),
        (feasibility.save_approach, {"name": "a", "tooling_cost": "1e12", "unit_cost": "1"}, "tooling_cost"),
        (
            feasibility.save_approach,
            {"name": "a", "tooling_cost": "1", "unit_cost": "1", "lead_time_days": "soon"},
            "lead_time_days",
        ),
        (feasibility.save_risk, {"description": "x", "likelihood": 0, "impact": 3}, "likelihood"),
        (feasibility.save_risk, {"description": "x", "likelihood": 3, "impact": "6"}, "impact"),
        (feasibility.save_risk, {"description": "x", "likelihood": "a", "impact": 3}, "likelihood"),
        (feasibility.save_risk, {"description": "", "likelihood": 3, "impact": 3}, "description"),
        (
            feasibility.save_risk,
            {"description": "x", "likelihood": 3, "impact": 3, "owner_id": world.owner_a.id},
            "owner_id",
        ),
    ]
    for function, values, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            async with tx(db):
                await function(db, actor=world.coordinator, project_id=project_id, **values)  # type: ignore[operator]
        assert refused.value.extra.get("field") == field, (function.__name__, values)
    assert await db.scalar(select(func.count(ProductionApproach.id))) == 0
    assert await db.scalar(select(func.count(Risk.id))) == 0
    assert await db.scalar(select(func.count(FeasibilityCheck.id))) == 5
    assert len(await events(db)) == before


async def setup_review(db: AsyncSession, world: World, project_id: int) -> FeasibilityReview:
    async with tx(db):
        return await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)


async def test_completion_lists_everything_missing_then_completes(db: AsyncSession, world: World) -> None:
    project_id = await make_project(db, world, target_quantity=2500)
    review = await setup_review(db, world, project_id)
    coordinator = world.coordinator

    async def refused() -> list[str]:
        current = await feasibility.get_review(db, project_id=project_id)
        assert current is not None
        with pytest.raises(ValidationFailed) as caught:
            async with tx(db):
                await feasibility.complete_review(
                    db, actor=coordinator, project_id=project_id, expected_version=current.version
                )
        return list(caught.value.extra["missing"])

    async def change(function: object, **kwargs: object) -> object:
        async with tx(db):
            return await function(db, actor=coordinator, project_id=project_id, **kwargs)  # type: ignore[operator]

    async with tx(db):
        await feasibility.save_risk(
            db, actor=coordinator, project_id=project_id, description="Zinc porosity", likelihood=4, impact=4
        )
    with use_locale("en"):
        missing = await refused()
    assert missing[0] == "Write a summary for the brand."
    assert sum(m.startswith("Give a verdict on") for m in missing) == 5
    assert "Give a verdict on Volume: 2,500 units per order" in missing
    assert "Add at least one production approach." in missing
    assert "Recommend one of the production approaches." in missing
    assert "Write a mitigation for the high risk (score 16): Zinc porosity" in missing
    assert len(missing) == 9

    # a refused transaction expired what the session had loaded: read the review again
    review = await feasibility.get_review(db, project_id=project_id)
    assert review is not None
    for check in review.checks:
        await change(
            feasibility.save_check,
            check_id=check.id,
            expected_version=check.version,
            area=check.area,
            requirement=check.requirement,
            verdict=Verdict.feasible if check.area != CheckArea.finish else Verdict.with_changes,
        )
    with use_locale("en"):
        missing = await refused()
    assert not any(m.startswith("Give a verdict") for m in missing)
    assert len(missing) == 4

    approach = await change(
        feasibility.save_approach,
        name="Die-cast zinc",
        tooling_cost="8000",
        unit_cost="3.10",
        lead_time_days="35",
    )
    with use_locale("en"):
        missing = await refused()
    assert "Add at least one production approach." not in missing
    assert "Recommend one of the production approaches." in missing

    current = await feasibility.get_review(db, project_id=project_id)
    assert current is not None
    await change(
        feasibility.recommend_approach,
        approach_id=approach.id,  # type: ignore[attr-defined]
        expected_version=current.version,
    )
    risk = (await db.scalars(select(Risk))).one()
    await change(
        feasibility.save_risk,
        risk_id=risk.id,
        expected_version=risk.version,
        description=risk.description,
        likelihood=4,
        impact=4,
        mitigation="Vacuum die casting; X-ray the first batch",
        owner_id=coordinator.id,
    )
    with use_locale("en"):
        assert await refused() == ["Write a summary for the brand."]
    assert not await feasibility.review_complete(db, project_id)

    current = await feasibility.get_review(db, project_id=project_id)
    assert current is not None
    async with tx(db):
        done = await feasibility.complete_review(
            db,
            actor=coordinator,
            project_id=project_id,
            expected_version=current.version,
            summary="Feasible as die-cast zinc.",
        )
    assert done.completed_at is not None
    assert done.completed_by_id == coordinator.id
    assert await feasibility.review_complete(db, project_id)

    completed = (await events(db, "feasibility.completed")).pop()
    assert completed.actor_id == coordinator.id
    assert completed.project_id == project_id
    assert completed.org_id == world.org_a.id
    assert completed.after is not None
    assert completed.after["summary"] == "Feasible as die-cast zinc."
    assert completed.after["recommended_approach"] == "Die-cast zinc"
    assert completed.after["verdicts"]["finish"] == "with_changes"
    # every edit on the way is in the record, and the chain still verifies
    actions = [e.action for e in await events(db)]
    assert actions.count("feasibility.check_updated") == 5
    assert {
        "feasibility.approach_added",
        "feasibility.approach_recommended",
        "feasibility.risk_added",
    } <= set(actions)
    assert (await audit.verify(db)).ok


async def completed_review(db: AsyncSession, world: World, project_id: int) -> FeasibilityReview:
    """A review that meets every precondition, completed."""
    review = await setup_review(db, world, project_id)
    async with tx(db):
        for check in review.checks:
            await feasibility.save_check(
                db,
                actor=world.coordinator,
                project_id=project_id,
                check_id=check.id,
                expected_version=check.version,
                area=check.area,
                requirement=check.requirement,
                verdict=Verdict.feasible,
            )
        approach = await feasibility.save_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            name="CNC",
            tooling_cost="0",
            unit_cost="12.40",
        )
        current = await feasibility.get_review(db, project_id=project_id)
        assert current is not None
        await feasibility.recommend_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            approach_id=approach.id,
            expected_version=current.version,
        )
        current = await feasibility.get_review(db, project_id=project_id)
        assert current is not None
        return await feasibility.complete_review(
            db,
            actor=world.coordinator,
            project_id=project_id,
            expected_version=current.version,
            summary="Feasible.",
        )


async def test_a_completed_review_is_read_only_until_reopened_with_a_reason(
    db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    review = await completed_review(db, world, project_id)
    version = review.version  # refused transactions below expire the loaded objects
    with pytest.raises(Conflict, match="Reopen"):
        async with tx(db):
            await feasibility.save_check(
                db, actor=world.coordinator, project_id=project_id, area="finish", requirement="Anodised"
            )
    with pytest.raises(ValidationFailed, match="why"):
        async with tx(db):
            await feasibility.reopen_review(
                db,
                actor=world.coordinator,
                project_id=project_id,
                expected_version=version,
                reason=" ",
            )
    with pytest.raises(Conflict):
        async with tx(db):
            await feasibility.reopen_review(
                db,
                actor=world.coordinator,
                project_id=project_id,
                expected_version=version - 1,
                reason="x",
            )
    with pytest.raises(PermissionDenied):
        async with tx(db):
            await feasibility.reopen_review(
                db, actor=world.owner_a, project_id=project_id, expected_version=version, reason="x"
            )
    assert await feasibility.review_complete(db, project_id)

    async with tx(db):
        reopened = await feasibility.reopen_review(
            db,
            actor=world.coordinator,
            project_id=project_id,
            expected_version=version,
            reason="The brand changed the material to brass",
        )
    assert (reopened.completed_at, reopened.completed_by_id) == (None, None)
    assert not await feasibility.review_complete(db, project_id)
    event = (await events(db, "feasibility.reopened")).pop()
    assert event.reason == "The brand changed the material to brass"
    assert event.actor_id == world.coordinator.id
    # editable again
    async with tx(db):
        await feasibility.save_check(
            db, actor=world.coordinator, project_id=project_id, area="finish", requirement="Brushed brass"
        )


async def test_a_stale_version_is_a_conflict_and_overwrites_nothing(db: AsyncSession, world: World) -> None:
    project_id = await make_project(db, world)
    review = await setup_review(db, world, project_id)
    check = review.checks[0]
    # refused transactions below expire the loaded objects: keep what the page was loaded with
    check_id, area, seen, seen_review = check.id, check.area, check.version, review.version
    async with tx(db):  # the first coordinator saves
        await feasibility.save_check(
            db,
            actor=world.coordinator,
            project_id=project_id,
            check_id=check_id,
            expected_version=seen,
            area=area,
            requirement="First coordinator's words",
        )
    for function, kwargs in [
        (feasibility.save_check, {"area": area, "requirement": "Second coordinator's words"}),
        (feasibility.remove_check, {}),
        (feasibility.move_check, {"direction": "down"}),
    ]:
        with pytest.raises(Conflict, match="Someone else changed this feasibility review"):
            async with tx(db):
                await function(  # type: ignore[operator]
                    db,
                    actor=world.coordinator,
                    project_id=project_id,
                    check_id=check_id,
                    expected_version=seen,
                    **kwargs,
                )
    stored = await db.get(FeasibilityCheck, check_id, populate_existing=True)
    assert stored is not None
    assert stored.requirement == "First coordinator's words"
    # a summary or a completion from a page loaded before that edit is stale too
    with pytest.raises(Conflict):
        async with tx(db):
            await feasibility.save_summary(
                db,
                actor=world.coordinator,
                project_id=project_id,
                summary="x",
                expected_version=seen_review,
            )
    with pytest.raises(ValidationFailed):
        async with tx(db):
            await feasibility.save_check(
                db,
                actor=world.coordinator,
                project_id=project_id,
                check_id=check_id,
                expected_version="",
                area=area,
                requirement="x",
            )


async def test_two_writers_racing_on_one_review_cannot_both_commit(
    engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    """Each has seen the current row versions, so only the review's version, bumped by every write, stops the
    second: its flush matches no row."""
    project_id = await make_project(db, world)
    await setup_review(db, world, project_id)
    maker = make_sessionmaker(engine)
    async with maker() as first, maker() as second:
        for session in (first, second):
            set_scope(session, Scope.staff(world.coordinator.id))
        await first.begin()
        await second.begin()
        one = await feasibility.get_review(first, project_id=project_id)
        two = await feasibility.get_review(second, project_id=project_id)
        assert one is not None
        assert two is not None
        await feasibility.save_summary(
            first, actor=world.coordinator, project_id=project_id, summary="one", expected_version=one.version
        )
        await first.commit()
        # the second writer read the review before the first committed, and writes now
        two.summary = "two"
        with pytest.raises(Conflict):
            await feasibility._touch(second, two)
        await second.rollback()
    stored = await feasibility.get_review(db, project_id=project_id)
    assert stored is not None
    assert stored.summary == "one"


async def test_reordering_moves_a_row_within_its_area(db: AsyncSession, world: World) -> None:
    project_id = await make_project(db, world)
    await setup_review(db, world, project_id)
    async with tx(db):
        for text in ("Anodised black", "No visible parting lines"):
            await feasibility.save_check(
                db, actor=world.coordinator, project_id=project_id, area="finish", requirement=text
            )

    async def finish_rows() -> list[FeasibilityCheck]:
        review = await feasibility.get_review(db, project_id=project_id)
        assert review is not None
        return feasibility.ordered_checks(review)[CheckArea.finish]

    rows = await finish_rows()
    last = rows[-1]
    async with tx(db):
        await feasibility.move_check(
            db,
            actor=world.coordinator,
            project_id=project_id,
            check_id=last.id,
            expected_version=last.version,
            direction="up",
        )
    assert [r.requirement for r in await finish_rows()][1:] == ["No visible parting lines", "Anodised black"]
    first = (await finish_rows())[0]
    async with tx(db):  # already first: nothing moves
        await feasibility.move_check(
            db,
            actor=world.coordinator,
            project_id=project_id,
            check_id=first.id,
            expected_version=first.version,
            direction="up",
        )
    assert (await finish_rows())[0].id == first.id
    with pytest.raises(ValidationFailed):
        async with tx(db):
            await feasibility.move_check(
                db,
                actor=world.coordinator,
                project_id=project_id,
                check_id=first.id,
                expected_version=first.version,
                direction="sideways",
            )
    # other areas are untouched
    review = await feasibility.get_review(db, project_id=project_id)
    assert review is not None
    assert len(feasibility.ordered_checks(review)[CheckArea.process]) == 1


async def test_removing_the_recommended_approach_clears_the_recommendation(
    db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    await setup_review(db, world, project_id)
    async with tx(db):
        approach = await feasibility.save_approach(
            db, actor=world.coordinator, project_id=project_id, name="CNC", tooling_cost="0", unit_cost="9"
        )
    review = await feasibility.get_review(db, project_id=project_id)
    assert review is not None
    async with tx(db):
        await feasibility.recommend_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            approach_id=approach.id,
            expected_version=review.version,
        )
    async with tx(db):
        await feasibility.remove_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            approach_id=approach.id,
            expected_version=approach.version,
        )
    review = await feasibility.get_review(db, project_id=project_id)
    assert review is not None
    assert review.recommended_approach_id is None
    assert review.approaches == []
    removed = (await events(db, "feasibility.approach_removed")).pop()
    assert removed.before is not None
    assert removed.before["recommended"] is True


async def test_risks_close_reopen_and_sort_by_score(db: AsyncSession, world: World) -> None:
    project_id = await make_project(db, world)
    await setup_review(db, world, project_id)
    async with tx(db):
        for description, likelihood, impact in [
            ("low", 1, 2),
            ("high", 5, 4),
            ("middle", 3, 3),
            ("top", 5, 5),
        ]:
            await feasibility.save_risk(
                db,
                actor=world.coordinator,
                project_id=project_id,
                description=description,
                likelihood=likelihood,
                impact=impact,
            )
    review = await feasibility.get_review(db, project_id=project_id)
    assert review is not None
    assert [r.description for r in feasibility.ordered_risks(review.risks)] == [
        "top",
        "high",
        "middle",
        "low",
    ]
    top = next(r for r in review.risks if r.description == "top")
    async with tx(db):
        await feasibility.close_risk(
            db, actor=world.coordinator, project_id=project_id, risk_id=top.id, expected_version=top.version
        )
    review = await feasibility.get_review(db, project_id=project_id)
    assert review is not None
    ordered = feasibility.ordered_risks(review.risks)
    assert [r.description for r in ordered] == ["high", "middle", "low", "top"]  # closed ones last
    assert ordered[-1].closed_at is not None
    async with tx(db):
        await feasibility.close_risk(
            db,
            actor=world.coordinator,
            project_id=project_id,
            risk_id=top.id,
            expected_version=ordered[-1].version,
            reopen=True,
        )
    reopened = await db.get(Risk, top.id, populate_existing=True)
    assert reopened is not None
    assert reopened.closed_at is None
    assert [e.action for e in await events(db, "feasibility.risk_")][-2:] == [
        "feasibility.risk_closed",
        "feasibility.risk_reopened",
    ]


async def test_the_brand_summary_appears_only_once_completed(
    engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world, target_quantity=2500)
    none_yet = await feasibility.brand_summary(db, project_id)
    assert (none_yet.started, none_yet.completed) == (False, False)
    review = await setup_review(db, world, project_id)
    in_progress = await feasibility.brand_summary(db, project_id)
    assert (in_progress.started, in_progress.completed) == (True, False)
    assert in_progress.summary == ""

    async with tx(db):
        cnc = await feasibility.save_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            name="CNC aluminium",
            tooling_cost="0",
            unit_cost="12.40",
        )
        cast = await feasibility.save_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            name="Die-cast zinc",
            process="Die casting",
            tooling_cost="8000",
            unit_cost="3.10",
            lead_time_days=35,
        )
        for description, likelihood, impact in [
            ("open high", 5, 3),
            ("closed high", 5, 5),
            ("open low", 2, 2),
        ]:
            await feasibility.save_risk(
                db,
                actor=world.coordinator,
                project_id=project_id,
                description=description,
                likelihood=likelihood,
                impact=impact,
                mitigation="Plan B",
            )
        for check in review.checks:
            verdict = {CheckArea.finish: Verdict.with_changes}.get(check.area, Verdict.feasible)
            await feasibility.save_check(
                db,
                actor=world.coordinator,
                project_id=project_id,
                check_id=check.id,
                expected_version=check.version,
                area=check.area,
                requirement=check.requirement,
                verdict=verdict,
            )
        await feasibility.save_check(
            db,
            actor=world.coordinator,
            project_id=project_id,
            area="finish",
            requirement="b",
            verdict="feasible",
        )
    closing = (await db.scalars(select(Risk).where(Risk.description == "closed high"))).one()
    async with tx(db):
        await feasibility.close_risk(
            db,
            actor=world.coordinator,
            project_id=project_id,
            risk_id=closing.id,
            expected_version=closing.version,
        )
        current = await feasibility.get_review(db, project_id=project_id)
        assert current is not None
        await feasibility.recommend_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            approach_id=cast.id,
            expected_version=current.version,
        )
        current = await feasibility.get_review(db, project_id=project_id)
        assert current is not None
        await feasibility.complete_review(
            db,
            actor=world.coordinator,
            project_id=project_id,
            expected_version=current.version,
            summary="Go.",
        )
    assert cnc.id != cast.id

    # the brand's own scoped session sees it
    async with make_sessionmaker(engine)() as brand:
        set_scope(brand, Scope.member(world.owner_a.id, {world.org_a.id}))
        summary = await feasibility.brand_summary(brand, project_id)
    assert summary.completed
    assert summary.summary == "Go."
    assert [(v.area, v.verdict) for v in summary.verdicts] == [
        (CheckArea.process, Verdict.feasible),
        (CheckArea.tolerance, Verdict.feasible),
        (CheckArea.material, Verdict.feasible),
        (CheckArea.finish, Verdict.with_changes),  # the worst of its two checks
        (CheckArea.volume, Verdict.feasible),
    ]
    assert (summary.approach_name, summary.approach_process, summary.lead_time_days) == (
        "Die-cast zinc",
        "Die casting",
        35,
    )
    assert summary.cost_per_unit == (Decimal("3.10") + Decimal("8000") / 2500).quantize(CENT)
    assert (summary.currency, summary.target_quantity) == ("USD", 2500)
    assert summary.approaches_compared == 2
    assert summary.open_high_risks == 1

    # another brand sees nothing of it
    async with make_sessionmaker(engine)() as other:
        set_scope(other, Scope.member(world.owner_b.id, {world.org_b.id}))
        assert not (await feasibility.brand_summary(other, project_id)).started


async def test_two_coordinators_starting_at_once_get_one_review(
    engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    maker = make_sessionmaker(engine)

    async def start() -> str:
        async with maker() as session:
            set_scope(session, Scope.staff(world.coordinator.id))
            try:
                async with session.begin():
                    await feasibility.get_or_start_review(
                        session, actor=world.coordinator, project_id=project_id
                    )
            except Conflict:
                return "conflict"
        return "ok"

    results = await asyncio.gather(start(), start())
    assert "ok" in results
    assert await db.scalar(select(func.count(FeasibilityReview.id))) == 1
    assert await db.scalar(select(func.count(FeasibilityCheck.id))) == 5
