"""What each project waits on, kept on the project by the bus (makeready.workflow.waiting_flags): after every kind
of event the stored flags equal the ones `waiting_for` computes, for every project; the rebuild restores them a
batch at a time; the dashboard orders and counts by the stored columns."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready import demo
from makeready.accounts.models import Membership, OrgRole, User
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.feasibility.common import get_review
from makeready.projects import milestones as milestone_service
from makeready.projects import tasks as task_service
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from makeready.samples import lifecycle as samples
from makeready.suppliers.models import Supplier
from makeready.workflow import decisions, overview, waiting_flags
from makeready.workflow.projects import give_go_ahead
from makeready.workflow.waiting_flags import Flags
from tests.conftest import SeededDemo

TODAY = date(2026, 3, 16)


async def stored_and_computed(session: AsyncSession) -> tuple[dict[int, Flags], dict[int, Flags]]:
    projects = list(
        (
            await session.scalars(
                select(Project).order_by(Project.id).execution_options(populate_existing=True)
            )
        ).all()
    )
    assert projects
    stored = {p.id: Flags.stored(p) for p in projects}
    return stored, await waiting_flags.computed(session, projects)


async def assert_kept(session: AsyncSession) -> dict[int, Flags]:
    await session.flush()
    stored, computed = await stored_and_computed(session)
    wrong = {pid: (stored[pid], computed[pid]) for pid in stored if stored[pid] != computed[pid]}
    assert wrong == {}
    return stored


async def staff_and_owner(session: AsyncSession, project: Project) -> tuple[User, User]:
    coordinator = await session.scalar(select(User).where(User.is_staff.is_(True)).order_by(User.id))
    owner = await session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == project.org_id, Membership.role == OrgRole.owner)
    )
    assert coordinator is not None
    assert owner is not None
    return coordinator, owner


async def test_every_kind_of_event_keeps_the_stored_flags_equal_to_the_rule(
    db: AsyncSession, seeded_demo: SeededDemo
) -> None:
    await seeded_demo(TODAY)
    flags = await assert_kept(db)  # the demo, built through the services, is kept as it goes
    assert any(f.on_agency for f in flags.values())

    feasible = await db.scalar(
        select(Project).where(Project.phase == Phase.feasibility, Project.go_ahead_at.is_(None)).limit(1)
    )
    assert feasible is not None
    coordinator, owner = await staff_and_owner(db, feasible)

    # a question asked, then answered
    question = await decisions.ask_question(
        db, actor=coordinator, project_id=feasible.id, body="Which finish?"
    )
    after = await assert_kept(db)
    assert after[feasible.id].questions == flags[feasible.id].questions + 1
    assert after[feasible.id].on_brand
    await decisions.answer_question(db, actor=owner, question_id=question.id, answer="Matte.")
    assert (await assert_kept(db))[feasible.id].questions == flags[feasible.id].questions

    # the feasibility review completed, then the go-ahead
    review = await get_review(db, project_id=feasible.id)
    if review is None or review.completed_at is None:
        await demo._complete_review(db, feasible, coordinator=coordinator)  # verdicts, an approach, completed
        assert (await assert_kept(db))[feasible.id].go_ahead
    await give_go_ahead(db, actor=owner, project_id=feasible.id)
    assert not (await assert_kept(db))[feasible.id].go_ahead

    # a sample round requested, made, shipped, received (waits on the brand), then decided
    developing = await db.scalar(
        select(Project).where(Project.phase == Phase.development).order_by(Project.id).limit(1)
    )
    supplier_id = await db.scalar(select(Supplier.id).order_by(Supplier.id).limit(1))
    assert developing is not None
    assert supplier_id is not None
    coordinator, owner = await staff_and_owner(db, developing)
    sample = await samples.request_sample_round(
        db, actor=coordinator, project_id=developing.id, supplier_id=supplier_id
    )
    await assert_kept(db)
    await samples.mark_sample_in_production(db, actor=coordinator, round_id=sample.id)
    await samples.mark_sample_shipped(db, actor=coordinator, round_id=sample.id)
    await samples.mark_sample_received(db, actor=coordinator, round_id=sample.id)
    received = await assert_kept(db)
    assert received[developing.id].sample_decisions >= 1
    assert received[developing.id].on_brand
    await samples.decide_sample_round(db, actor=owner, round_id=sample.id, decision="approve")
    decided = await assert_kept(db)
    assert decided[developing.id].sample_decisions == received[developing.id].sample_decisions - 1

    # a task opened and completed; a milestone completed and reopened
    task = await task_service.open_task(
        db, project=developing, kind="follow_up", title="Call the factory", owner_id=coordinator.id
    )
    opened = await assert_kept(db)
    assert opened[developing.id].on_agency == decided[developing.id].on_agency + 1
    await task_service.complete_task(db, actor=coordinator, task_id=task.id)
    await assert_kept(db)
    milestone = await db.scalar(
        select(Milestone)
        .where(Milestone.project_id == developing.id, Milestone.status != MilestoneStatus.done)
        .order_by(Milestone.position)
        .limit(1)
    )
    assert milestone is not None
    before = (await assert_kept(db))[developing.id].on_agency
    await milestone_service.complete_milestone(db, actor=coordinator, milestone_id=milestone.id)
    assert (await assert_kept(db))[developing.id].on_agency == before - 1
    await milestone_service.reopen_milestone(db, actor=coordinator, milestone_id=milestone.id, reason="Redo.")
    assert (await assert_kept(db))[developing.id].on_agency == before

    # milestones planned from a template
    await milestone_service.create_milestones_from_template(
        db, actor=coordinator, project_id=developing.id, template="development_round", start=TODAY
    )
    planned = await assert_kept(db)
    assert planned[developing.id].on_agency > before


async def test_the_rebuild_restores_every_project_a_batch_at_a_time(
    engine: AsyncEngine, db: AsyncSession, seeded_demo: SeededDemo
) -> None:
    await seeded_demo(TODAY)
    async with db.begin():
        truth, _computed = await stored_and_computed(db)
        await db.execute(
            update(Project.__table__).values(
                waiting_on_brand=True, waiting_questions=7, waiting_on_agency=0, waiting_since=None
            )
        )
    changed = await waiting_flags.rebuild_in_batches(engine, batch=2)
    assert changed == len(truth)
    async with db.begin():
        assert await assert_kept(db) == truth
    assert await waiting_flags.rebuild_in_batches(engine, batch=2) == 0  # nothing left to change


async def test_the_dashboard_orders_and_counts_by_the_stored_flags(
    engine: AsyncEngine, db: AsyncSession, seeded_demo: SeededDemo
) -> None:
    await seeded_demo(TODAY)
    async with db.begin():
        quiet = await db.scalar(
            select(Project)
            .where(Project.waiting_on_brand.is_(False), Project.archived_at.is_(None))
            .order_by(Project.updated_at)
            .limit(1)
        )
        assert quiet is not None
        org_id, quiet_id = quiet.org_id, quiet.id
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(None, {org_id}))  # type: ignore[arg-type]
        rows, _total, waiting = await overview.dashboard(session, limit=100)
    assert [r.project.id for r in rows].index(
        quiet_id
    ) >= waiting  # the oldest quiet project: after the waiting
    async with db.begin():
        # the stored flag alone (no question in the tables) moves it into the waiting ones: the page reads it
        await db.execute(
            update(Project.__table__)
            .where(Project.__table__.c.id == quiet_id)
            .values(waiting_on_brand=True, waiting_questions=3)
        )
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(None, {org_id}))  # type: ignore[arg-type]
        rows_after, _total, waiting_after = await overview.dashboard(session, limit=100)
    assert waiting_after == waiting + 1
    position = [r.project.id for r in rows_after].index(quiet_id)
    assert position < waiting_after
    assert rows_after[position].open_questions == 3
