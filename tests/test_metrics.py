"""The figures from the audit trail, against hand-computed cases built from explicit event sequences: events
stamped out of order, reopened and withdrawn asks, projects on hold; and the rebuild gives the incremental rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.audit import service as audit
from makeready.composition import wire
from makeready.db.types import frozen_clock
from makeready.kernel import bus
from makeready.metrics import facts, figures
from makeready.metrics.models import MetricFact, MetricWait
from makeready.metrics.rules import fold_the_trail
from makeready.projects.models import Project
from makeready.workflow import decisions
from tests.production_support import arrange_project, make_order
from tests.workflow_support import People, call_as, make_people, make_project, session_as, system

DAY = 86400
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PERIOD = figures.Period(date(2026, 1, 1), date(2026, 3, 1))


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def event(
    engine: AsyncEngine,
    project: Project,
    at: datetime,
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    fold: bool = True,
) -> None:
    """One audited event at `at`, in its own transaction, folded as the bus rule folds it."""
    async with system(engine) as session:
        with frozen_clock(at):
            await audit.record(
                session,
                actor_id=None,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                org_id=project.org_id,
                project_id=project.id,
                before=before,
                after=after,
            )
            if fold:
                await facts.catch_up(session)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with system(engine) as session:
        found = (await session.scalars(select(MetricFact).order_by(MetricFact.asked_seq))).all()
        return [
            {c: getattr(f, c) for c in MetricFact.__table__.columns.keys() if c != "id"}  # noqa: SIM118
            for f in found
        ]


async def waits(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with system(engine) as session:
        found = await session.execute(
            select(
                MetricWait.org_id,
                MetricWait.project_id,
                MetricWait.party,
                MetricWait.month,
                MetricWait.seconds,
                MetricWait.open_since,
            )
        )
        return sorted((tuple(row) for row in found), key=repr)


async def sample_story(engine: AsyncEngine, p: Project, q: Project) -> None:
    # project P: round 1 made in 3 days, rejected after 2; round 2 made in 4 days, approved after 1
    await event(engine, p, day(0), "sample_round.requested", "sample_round", 101)
    await event(engine, p, day(3), "sample_round.received", "sample_round", 101)
    await event(engine, p, day(5), "sample_round.rejected", "sample_round", 101)
    await event(engine, p, day(6), "sample_round.requested", "sample_round", 102)
    await event(engine, p, day(10), "sample_round.received", "sample_round", 102)
    await event(engine, p, day(11), "sample_round.approved", "sample_round", 102)
    # project Q: its first round approved half a day after it arrived
    await event(engine, q, day(1), "sample_round.received", "sample_round", 201)
    await event(engine, q, day(1.5), "sample_round.approved", "sample_round", 201)


async def test_sample_latency_and_first_pass_by_hand(engine: AsyncEngine, people: People) -> None:
    p = await make_project(engine, people, name="P")
    q = await make_project(engine, people, name="Q", org="b")
    await sample_story(engine, p, q)
    async with system(engine) as session:
        found = {x.kind: x for x in await figures.latency(session, figures.Filters(PERIOD))}
        making = await figures.latency(session, figures.Filters(PERIOD), kinds=["sample_making"])
        passed = {x.kind: x for x in await figures.first_pass(session, figures.Filters(PERIOD))}
        only_p = await figures.latency(session, figures.Filters(PERIOD, project_id=p.id))
    # latencies 2 d, 1 d, 0.5 d: nearest-rank median is the 2nd (1 d), the 90th percentile the 3rd (2 d)
    approval = found["sample_approval"]
    assert (approval.decided, approval.median_s, approval.p90_s, approval.open) == (3, DAY, 2 * DAY, 0)
    assert (making[0].decided, making[0].median_s, making[0].p90_s) == (2, 3 * DAY, 4 * DAY)
    # P's first round was rejected, Q's approved: one of two projects passed first time
    assert (passed["sample_approval"].first_decided, passed["sample_approval"].passed) == (2, 1)
    assert passed["sample_approval"].rate == 0.5
    assert [(x.kind, x.decided, x.median_s) for x in only_p] == [("sample_approval", 2, DAY)]


async def test_out_of_order_withdrawn_and_reopened_by_hand(engine: AsyncEngine, people: People) -> None:
    p = await make_project(engine, people, name="P")
    # revision 301: changes requested with a stamp a day *before* its submission (a clock step): latency 0;
    # resubmitted and approved a day later: a second attempt, so not a first pass
    await event(engine, p, day(10), "spec_revision.submitted", "spec_revision", 301)
    await event(engine, p, day(9), "spec_revision.changes_requested", "spec_revision", 301)
    await event(engine, p, day(12), "spec_revision.submitted", "spec_revision", 301)
    await event(engine, p, day(13), "spec_revision.approved", "spec_revision", 301)
    # revision 302: withdrawn before the brand looked (no attempt), submitted again and approved in 3 days
    await event(engine, p, day(20), "spec_revision.submitted", "spec_revision", 302)
    await event(engine, p, day(21), "spec_revision.withdrawn", "spec_revision", 302)
    await event(engine, p, day(22), "spec_revision.submitted", "spec_revision", 302)
    await event(engine, p, day(25), "spec_revision.approved", "spec_revision", 302)
    # the go-ahead: asked, taken back by reopening the review, asked again and given two days later
    await event(engine, p, day(1), "feasibility.completed", "feasibility_review", 7)
    await event(engine, p, day(2), "feasibility.reopened", "feasibility_review", 7)
    await event(engine, p, day(4), "feasibility.completed", "feasibility_review", 7)
    await event(engine, p, day(6), "project.go_ahead_given", "project", p.id)
    # a second go-ahead event with nothing asked is ignored
    await event(engine, p, day(7), "project.go_ahead_given", "project", p.id)
    async with system(engine) as session:
        found = {x.kind: x for x in await figures.latency(session, figures.Filters(PERIOD))}
        passed = {x.kind: x for x in await figures.first_pass(session, figures.Filters(PERIOD))}
    spec = found["spec_review"]
    # latencies 0, 1 d, 3 d
    assert (spec.decided, spec.median_s, spec.p90_s) == (3, DAY, 3 * DAY)
    assert (passed["spec_review"].first_decided, passed["spec_review"].passed) == (2, 1)
    go = found["go_ahead"]
    assert (go.decided, go.median_s, go.open) == (1, 2 * DAY, 0)
    facts_ = await rows(engine)
    withdrawn = [f for f in facts_ if f["outcome"] == "withdrawn"]
    assert sorted(f["kind"] for f in withdrawn) == ["go_ahead", "spec_review"]
    assert all(f["latency_s"] is None and f["passed"] is None for f in withdrawn)
    attempts = [f["attempt"] for f in facts_ if f["kind"] == "spec_review" and f["subject_id"] == 301]
    assert attempts == [1, 2]


async def test_waiting_by_party_per_month_leaves_out_holds(engine: AsyncEngine, people: People) -> None:
    p = await make_project(engine, people, name="P")
    jan30 = datetime(2026, 1, 30, tzinfo=UTC)
    # the brand: one question Jan 30 -> Feb 3, another inside it Jan 31 -> Feb 1 (counted once)
    await event(engine, p, jan30, "question.asked", "question", 1)
    await event(engine, p, jan30 + timedelta(days=1), "question.asked", "question", 2)
    await event(engine, p, jan30 + timedelta(days=2), "question.answered", "question", 2)
    # on hold Feb 1 12:00 -> Feb 2 12:00: that day waits on nobody
    await event(
        engine,
        p,
        jan30 + timedelta(days=2.5),
        "project.phase_changed",
        "project",
        p.id,
        after={"phase": "on_hold"},
    )
    await event(
        engine,
        p,
        jan30 + timedelta(days=3.5),
        "project.phase_changed",
        "project",
        p.id,
        before={"phase": "on_hold"},
        after={"phase": "development"},
    )
    await event(engine, p, jan30 + timedelta(days=4), "question.answered", "question", 1)
    # the factory: a sample round Jan 31 -> Feb 1
    await event(engine, p, jan30 + timedelta(days=1), "sample_round.requested", "sample_round", 9)
    await event(engine, p, jan30 + timedelta(days=2), "sample_round.received", "sample_round", 9)
    # the brand again: that sample is still undecided at "now" (Feb 10)
    now = datetime(2026, 2, 10, tzinfo=UTC)
    async with system(engine) as session:
        report = await figures.waiting(session, figures.Filters(PERIOD), now=now, project_ids=[p.id])
        reference = await figures.waiting_from_facts(session, figures.Filters(PERIOD), now=now)
    # the rolled-up rows give what walking every ask gives
    assert report.by_month == reference.by_month
    assert report.by_project == reference.by_project
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    assert report.by_month[jan] == {"brand": 2 * DAY, "agency": 0, "factory": DAY}
    # brand in February: questions Feb 1 -> Feb 3 minus the held day (1 d), plus the sample since Feb 1 00:00
    # (overlapping the questions, union: Feb 1 -> Feb 10 minus the hold = 8 d)
    assert report.by_month[feb] == {"brand": 8 * DAY, "agency": 0, "factory": 0}
    assert report.by_month[mar] == {"brand": 0, "agency": 0, "factory": 0}
    assert report.by_project[p.id] == {"brand": 10 * DAY, "agency": 0, "factory": DAY}


async def test_a_period_without_data_is_empty(engine: AsyncEngine, people: People) -> None:
    p = await make_project(engine, people, name="P")
    await event(engine, p, day(0), "question.asked", "question", 1)
    await event(engine, p, day(1), "question.answered", "question", 1)
    empty = figures.Period(date(2025, 1, 1), date(2025, 6, 1))
    async with system(engine) as session:
        assert await figures.latency(session, figures.Filters(empty)) == []
        assert await figures.first_pass(session, figures.Filters(empty)) == []
        assert (await figures.waiting(session, figures.Filters(empty), now=day(30))).empty


async def test_rebuild_gives_the_incremental_rows(engine: AsyncEngine, people: People) -> None:
    p = await make_project(engine, people, name="P")
    q = await make_project(engine, people, name="Q", org="b")
    await sample_story(engine, p, q)
    # a factory question is audited without a bus event: folded by the next rule or the job
    await event(engine, p, day(2), "factory_question.asked", "factory_question", 5, fold=False)
    await event(engine, p, day(3), "factory_question.answered", "factory_question", 5, fold=False)
    await event(engine, q, day(4), "change_request.raised", "change_request", 8)
    await event(engine, q, day(4.25), "change_request.withdrawn", "change_request", 8)
    await event(engine, q, day(5), "change_request.raised", "change_request", 9)
    async with system(engine) as session:
        await facts.catch_up(session, lock=True)
    incremental, incremental_waits = await rows(engine), await waits(engine)
    assert {f["kind"] for f in incremental} >= {"factory_question", "change_request", "sample_approval"}
    assert incremental_waits
    async with system(engine) as session:
        count = await facts.rebuild(session, batch=3)  # small batches: facts span batches
    assert count == len(incremental)
    assert await rows(engine) == incremental
    assert await waits(engine) == incremental_waits


async def test_the_rules_fold_the_real_services(engine: AsyncEngine, people: People) -> None:
    """Through the services: a question asked and answered is a decided fact without any explicit catch-up."""
    wire()
    assert fold_the_trail in bus.rules_for("question.answered")
    p = await make_project(engine, people, name="P")
    with frozen_clock(day(0)):
        question = await call_as(
            engine, people, people.coordinator, decisions.ask_question, project_id=p.id, body="Hue?"
        )
    with frozen_clock(day(0.5)):
        await call_as(
            engine, people, people.owner_a, decisions.answer_question, question_id=question.id, answer="Warm."
        )
    [fact] = await rows(engine)
    assert (fact["kind"], fact["party"], fact["latency_s"], fact["outcome"]) == (
        "brand_question",
        "brand",
        DAY // 2,
        "question.answered",
    )
    assert fact["org_id"] == people.org_a.id


async def test_the_rebuild_command(engine: AsyncEngine, people: People, db_url: str) -> None:
    from tests.test_cli import cli

    p = await make_project(engine, people, name="P")
    q = await make_project(engine, people, name="Q", org="b")
    await sample_story(engine, p, q)
    before, waits_before = await rows(engine), await waits(engine)
    async with system(engine) as session:
        await session.execute(delete(MetricFact))
        await session.execute(delete(MetricWait))
    assert await rows(engine) == []
    result = await cli(db_url, "metrics", "rebuild", "--batch", "100")
    assert result.exit_code == 0, result.output
    assert f"metrics rebuilt: {len(before)} facts" in result.output
    assert await rows(engine) == before
    assert await waits(engine) == waits_before


async def test_a_brand_transaction_folds_other_organizations_events_without_seeing_them(
    engine: AsyncEngine, people: People
) -> None:
    """The cursor is global: a rule running in a brand's scoped transaction folds what is pending, another
    organization's events included, and the rows keep their own organization (the brand still cannot read them)."""
    wire()
    a = await make_project(engine, people, name="A")
    b = await make_project(engine, people, name="B", org="b")
    # org B's factory question is audited without a bus event: nothing folds it yet
    await event(engine, b, day(0), "factory_question.asked", "factory_question", 77, fold=False)
    with frozen_clock(day(1)):
        question = await call_as(
            engine, people, people.coordinator, decisions.ask_question, project_id=a.id, body="?"
        )
    with frozen_clock(day(2)):
        # org A's owner answers, in a transaction scoped to org A: its rule folds org B's pending question too
        await call_as(
            engine, people, people.owner_a, decisions.answer_question, question_id=question.id, answer="!"
        )
    found = {(f["kind"], f["org_id"]) for f in await rows(engine)}
    assert ("factory_question", people.org_b.id) in found
    assert ("brand_question", people.org_a.id) in found
    async with session_as(engine, people, people.owner_a) as session:
        kinds = {x.kind for x in await figures.latency(session, figures.Filters(PERIOD))}
        opened = await figures.latency(session, figures.Filters(PERIOD), kinds=["factory_question"])
    assert kinds == {"brand_question"}
    assert opened == []  # org B's open question is not org A's to see


async def test_a_production_order_waits_on_its_factory_until_accepted(
    engine: AsyncEngine, people: People
) -> None:
    """The production stage's kinds are folded like the others: sent -> accepted is the factory's decision,
    named with the order's factory."""
    wire()
    arranged = await arrange_project(engine, people)
    order, _lots, _token = await make_order(engine, people, arranged, state="accepted")
    async with system(engine) as session:
        await facts.catch_up(session)
    [fact] = [f for f in await rows(engine) if f["kind"] == "order_acceptance"]
    assert (fact["party"], fact["outcome"], fact["supplier_id"]) == (
        "factory",
        "production_order.accepted",
        arranged.supplier.id,
    )
    assert fact["subject_id"] == order.id
