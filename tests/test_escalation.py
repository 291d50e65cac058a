"""The escalation pass with a controlled clock: at risk, late, escalation after the delay, each said once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import jobs
from makeready.conditions.models import Condition, ConditionStatus
from makeready.conditions.service import unresolved_for
from makeready.projects.milestones import assign_milestone, complete_milestone, start_milestone
from makeready.projects.models import MilestoneStatus, Phase
from makeready.settings import Settings
from makeready.workflow.escalation import ESCALATION_DELAY_DAYS, EscalationReport, run_escalation
from makeready.workflow.triggers import ESCALATION_TASK
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_milestone,
    make_people,
    make_project,
    notifications,
    outbox,
    system,
    tasks,
)

DAY0 = date(2027, 5, 10)


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def run(engine: AsyncEngine, today: date, **kwargs: Any) -> EscalationReport:
    async with system(engine) as session:
        return await run_escalation(
            session, today=today, now=datetime.combine(today, time(6, 0), tzinfo=UTC), **kwargs
        )


async def conditions_on(engine: AsyncEngine, milestone_id: int) -> list[Condition]:
    """The unresolved conditions on a milestone."""
    async with system(engine) as session:
        return await unresolved_for(session, subject_type="milestone", subject_ids=[milestone_id])


def told(notes: list[Any]) -> list[tuple[int, str, str]]:
    return [(n.user_id, n.kind, n.params["milestone"]) for n in notes]


async def test_at_risk_late_and_escalated_each_once(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development, name="Arc Pendant")
    soon = await make_milestone(
        engine,
        project,
        title="First sample",
        owner_id=people.member_a.id,
        due_date=DAY0 + timedelta(days=2),
        position=0,
    )
    overdue = await make_milestone(
        engine,
        project,
        title="Supplier selection",
        owner_id=people.owner_a.id,
        due_date=DAY0 - timedelta(days=1),
        status=MilestoneStatus.in_progress,
        position=1,
    )
    started_soon = await make_milestone(
        engine,
        project,
        title="Tooling",
        owner_id=people.member_a.id,
        due_date=DAY0 + timedelta(days=1),
        status=MilestoneStatus.in_progress,
        position=2,
    )
    far = await make_milestone(
        engine, project, title="Shipment", due_date=DAY0 + timedelta(days=30), position=3
    )
    await make_milestone(
        engine,
        project,
        title="Done late",
        due_date=DAY0 - timedelta(days=9),
        status=MilestoneStatus.done,
        position=4,
    )

    # day 0: one at risk (not started, due in 2 days), one late; the started one and the far one are fine
    report = await run(engine, DAY0)
    assert (report.at_risk, report.late, report.escalated) == ([soon.id], [overdue.id], [])
    assert sorted(told(await notifications(engine))) == sorted(
        [
            (people.member_a.id, "milestone_at_risk", "First sample"),
            (people.owner_a.id, "milestone_late", "Supplier selection"),
        ]
    )
    (at_risk,) = await conditions_on(engine, soon.id)
    assert (at_risk.kind, at_risk.owner_id) == ("milestone.at_risk", people.member_a.id)
    assert at_risk.raised_at == datetime.combine(DAY0, time(6, 0), tzinfo=UTC)
    assert [c.kind for c in await conditions_on(engine, overdue.id)] == ["milestone.late"]
    for untouched in (started_soon, far):
        assert await conditions_on(engine, untouched.id) == []
    assert [e.action for e in await events(engine)] == ["milestone.late", "milestone.at_risk"]
    emails = await outbox(engine)
    assert sorted((e.to_email, e.template, e.locale) for e in emails) == [
        ("member@acme.test", "milestone_at_risk", "zh_Hans"),
        ("owner@acme.test", "milestone_late", "en"),
    ]

    # the same day again, and the next: nothing new (the escalation waits ESCALATION_DELAY_DAYS)
    assert await run(engine, DAY0) == EscalationReport()
    assert ESCALATION_DELAY_DAYS == 2
    assert await run(engine, DAY0 + timedelta(days=1)) == EscalationReport()
    assert len(await notifications(engine)) == 2

    # day 2: still late, so the coordinator is told and gets a task; the started one is now late (told once);
    # the at-risk one is due today: still at risk, already said
    report = await run(engine, DAY0 + timedelta(days=2))
    assert (report.at_risk, report.late, report.escalated) == ([], [started_soon.id], [overdue.id])
    coordinator_notes = await notifications(engine, people.coordinator)
    assert told(coordinator_notes) == [(people.coordinator.id, "milestone_escalated", "Supplier selection")]
    assert coordinator_notes[0].params["owner"] == "Owner A"
    (task,) = await tasks(engine)
    assert (task.kind, task.title, task.owner_id, task.source_type, task.source_id) == (
        "escalation",
        ESCALATION_TASK,
        people.coordinator.id,
        "milestone",
        overdue.id,
    )
    (late,) = await conditions_on(engine, overdue.id)
    assert (late.status, late.level, late.next_step_at) == (ConditionStatus.escalated, 1, None)

    # day 3: the at-risk milestone is now late: its owner is told that once; nothing else repeats
    report = await run(engine, DAY0 + timedelta(days=3))
    assert (report.at_risk, report.late, report.escalated) == ([], [soon.id], [])
    assert await run(engine, DAY0 + timedelta(days=3)) == EscalationReport()
    # day 5 (no run on day 4): both are escalated, earliest due first
    report = await run(engine, DAY0 + timedelta(days=5))
    assert (report.at_risk, report.late, report.escalated) == ([], [], [started_soon.id, soon.id])
    # day 40: the far one went from on track to late between two runs: only "late" is said, to the coordinator
    # (it has no owner)
    report = await run(engine, DAY0 + timedelta(days=40))
    assert (report.at_risk, report.late, report.escalated) == ([], [far.id], [])
    kinds = [n.kind for n in await notifications(engine)]
    assert (
        kinds.count("milestone_at_risk"),
        kinds.count("milestone_late"),
        kinds.count("milestone_escalated"),
    ) == (
        1,
        4,
        3,
    )
    assert sorted(t.source_id for t in await tasks(engine)) == sorted([overdue.id, started_soon.id, soon.id])
    assert len(await events(engine, "milestone.escalated")) == 3


async def test_far_milestone_becomes_at_risk_then_late(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.production)
    milestone = await make_milestone(
        engine,
        project,
        title="Final inspection",
        owner_id=people.coordinator2.id,
        due_date=DAY0 + timedelta(days=10),
    )
    days = [DAY0 + timedelta(days=n) for n in range(0, 14)]
    reports = {day: await run(engine, day) for day in days}
    at_risk_days = [day for day, r in reports.items() if r.at_risk]
    late_days = [day for day, r in reports.items() if r.late]
    escalated_days = [day for day, r in reports.items() if r.escalated]
    assert at_risk_days == [DAY0 + timedelta(days=7)]  # due within 3 days and not started
    assert late_days == [DAY0 + timedelta(days=11)]
    assert escalated_days == [DAY0 + timedelta(days=13)]
    assert [n.kind for n in await notifications(engine, people.coordinator2)] == [
        "milestone_at_risk",
        "milestone_late",
    ]
    assert [n.kind for n in await notifications(engine, people.coordinator)] == ["milestone_escalated"]
    assert milestone.id in reports[DAY0 + timedelta(days=13)].escalated


async def test_window_and_delay_are_parameters(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(
        engine, project, owner_id=people.member_a.id, due_date=DAY0 + timedelta(days=6)
    )
    assert await run(engine, DAY0) == EscalationReport()
    assert (await run(engine, DAY0, risk_window_days=7)).at_risk == [milestone.id]
    assert (await run(engine, DAY0 + timedelta(days=7))).late == [milestone.id]
    # the delay is the late condition's ladder: escalated ESCALATION_DELAY_DAYS after the owner was told
    assert (await run(engine, DAY0 + timedelta(days=8))).escalated == []
    assert (await run(engine, DAY0 + timedelta(days=7 + ESCALATION_DELAY_DAYS))).escalated == [milestone.id]


async def test_no_owner_the_coordinator_is_told(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    await make_milestone(engine, project, owner_id=None, due_date=DAY0 - timedelta(days=1))
    await run(engine, DAY0)
    (note,) = await notifications(engine)
    assert (note.user_id, note.kind, note.params["owner"]) == (people.coordinator.id, "milestone_late", "")


@pytest.mark.parametrize("phase", [Phase.on_hold, Phase.cancelled, Phase.delivered])
async def test_inactive_projects_are_left_alone(engine: AsyncEngine, people: People, phase: Phase) -> None:
    project = await make_project(engine, people, phase=phase, held_from=Phase.development)
    await make_milestone(engine, project, owner_id=people.member_a.id, due_date=DAY0 - timedelta(days=5))
    assert await run(engine, DAY0 + timedelta(days=10)) == EscalationReport()
    assert await notifications(engine) == []


async def test_a_new_owner_or_date_restarts_the_reminders(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(
        engine, project, owner_id=people.member_a.id, due_date=DAY0 - timedelta(days=1)
    )
    assert (await run(engine, DAY0)).late == [milestone.id]
    await call_as(
        engine,
        people,
        people.coordinator,
        assign_milestone,
        milestone_id=milestone.id,
        owner_id=people.owner_a.id,
        due_date=DAY0 - timedelta(days=1),
    )
    assert (await run(engine, DAY0)).late == [milestone.id]
    assert [n.user_id for n in await notifications(engine)] == [people.member_a.id, people.owner_a.id]
    # the same owner and date again changes nothing: no new reminder
    await call_as(
        engine,
        people,
        people.coordinator,
        assign_milestone,
        milestone_id=milestone.id,
        owner_id=people.owner_a.id,
        due_date=DAY0 - timedelta(days=1),
    )
    assert await run(engine, DAY0) == EscalationReport()
    # completing it ends the story
    await call_as(engine, people, people.coordinator, start_milestone, milestone_id=milestone.id)
    await call_as(engine, people, people.coordinator, complete_milestone, milestone_id=milestone.id)
    assert await run(engine, DAY0 + timedelta(days=9)) == EscalationReport()


async def test_the_escalation_job_runs_the_pass(
    engine: AsyncEngine, people: People, settings: Settings
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(
        engine, project, owner_id=people.member_a.id, due_date=DAY0 - timedelta(days=1)
    )
    assert "run_escalation" in jobs.registry.REGISTRY
    async with jobs.running(settings):
        await jobs.enqueue("run_escalation", today=DAY0)
        await jobs.enqueue("run_escalation", today=DAY0)
        worker = jobs.embedded_worker()
        assert worker is not None
        async with asyncio.timeout(30):
            await worker.drain()
        assert worker.failures == []
    assert [c.kind for c in await conditions_on(engine, milestone.id)] == ["milestone.late"]
    assert [n.kind for n in await notifications(engine)] == ["milestone_late"]
