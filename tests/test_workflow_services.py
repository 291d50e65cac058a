"""The workflow services around the machines: required inputs, stale versions, creations (sample rounds, change
requests, questions, decisions, milestone plans), derived health and what a project is waiting on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.changes.lifecycle import decide_change_request, raise_change_request
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.projects.milestones import (
    Health,
    assign_milestone,
    create_milestones_from_template,
    milestone_health,
    reopen_milestone,
    start_milestone,
)
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Question, TaskStatus
from makeready.projects.service import STANDARD_MILESTONES
from makeready.projects.tasks import complete_task
from makeready.samples.lifecycle import decide_sample_round, request_sample_round
from makeready.samples.models import SampleRound, SampleStatus
from makeready.suppliers.models import Supplier
from makeready.workflow.decisions import answer_question, ask_question, record_decision
from makeready.workflow.projects import cancel_project, hold_project
from makeready.workflow.waiting import Party, by_person, waiting_on
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_attachment,
    make_change,
    make_milestone,
    make_people,
    make_project,
    make_round,
    make_task,
    notifications,
    reload,
    session_as,
    system,
)


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


# -- derived health (no database) ------------------------------------------------------------------------------

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("status", "due", "health"),
    [
        (MilestoneStatus.planned, None, Health.unscheduled),
        (MilestoneStatus.planned, TODAY + timedelta(days=10), Health.on_track),
        (MilestoneStatus.planned, TODAY + timedelta(days=4), Health.on_track),
        (MilestoneStatus.planned, TODAY + timedelta(days=3), Health.at_risk),
        (MilestoneStatus.planned, TODAY, Health.at_risk),
        (MilestoneStatus.planned, TODAY - timedelta(days=1), Health.late),
        (MilestoneStatus.in_progress, TODAY + timedelta(days=1), Health.on_track),  # started: not at risk
        (MilestoneStatus.in_progress, TODAY, Health.on_track),
        (MilestoneStatus.in_progress, TODAY - timedelta(days=1), Health.late),
        (MilestoneStatus.done, TODAY - timedelta(days=30), Health.done),
        (MilestoneStatus.done, None, Health.done),
    ],
)
def test_health_is_derived_from_dates_and_status(
    status: MilestoneStatus, due: date | None, health: Health
) -> None:
    milestone = Milestone(status=status, due_date=due)
    assert milestone_health(milestone, TODAY) == health


def test_the_risk_window_is_a_parameter() -> None:
    milestone = Milestone(status=MilestoneStatus.planned, due_date=TODAY + timedelta(days=6))
    assert milestone_health(milestone, TODAY) == Health.on_track
    assert milestone_health(milestone, TODAY, window_days=7) == Health.at_risk


# -- required inputs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "])
async def test_hold_cancel_and_reopen_need_a_reason(engine: AsyncEngine, people: People, blank: str) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project, status=MilestoneStatus.done)
    for service, kwargs in [
        (hold_project, {"project_id": project.id}),
        (cancel_project, {"project_id": project.id}),
        (reopen_milestone, {"milestone_id": milestone.id}),
    ]:
        with pytest.raises(
            ValidationFailed, match=r"Give a reason: it is recorded with the decision\."
        ) as refused:
            await call_as(engine, people, people.coordinator, service, reason=blank, **kwargs)
        assert refused.value.extra == {"field": "reason"}
        assert refused.value.status_code == 422
    assert (await reload(engine, Milestone, milestone.id)).status == MilestoneStatus.done
    assert await events(engine) == []


async def test_a_rejection_needs_a_comment_and_a_change_decision_a_note(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    sample, _photos = await make_round(engine, project, status=SampleStatus.received)
    with pytest.raises(ValidationFailed, match="Write a comment that says what is wrong"):
        await call_as(
            engine,
            people,
            people.owner_a,
            decide_sample_round,
            round_id=sample.id,
            decision="reject",
            comment=" ",
        )
    # approval needs no comment
    approved = await call_as(
        engine, people, people.owner_a, decide_sample_round, round_id=sample.id, decision="approve"
    )
    assert approved.status == SampleStatus.approved
    change = await make_change(engine, project, status=ChangeStatus.open, raised_by=people.owner_a)
    for decision in ("approve", "reject"):
        with pytest.raises(ValidationFailed, match="Write a note that explains the decision"):
            await call_as(
                engine,
                people,
                people.coordinator,
                decide_change_request,
                change_id=change.id,
                decision=decision,
                note="",
            )
    with pytest.raises(ValidationFailed, match="Choose approve or reject"):
        await call_as(
            engine,
            people,
            people.coordinator,
            decide_change_request,
            change_id=change.id,
            decision="maybe",
            note="x",
        )
    assert (await reload(engine, ChangeRequest, change.id)).status == ChangeStatus.open


async def test_pinned_photos_must_belong_to_the_round(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    sample, photos = await make_round(engine, project, status=SampleStatus.received, number=1, photos=2)
    _other, other_photos = await make_round(engine, project, status=SampleStatus.rejected, number=2, photos=1)
    for pins in ([other_photos[0].id], [photos[0].id, other_photos[0].id], [999_999]):
        with pytest.raises(ValidationFailed, match=r"Pinned photos must be photos of this sample round\."):
            await call_as(
                engine,
                people,
                people.member_a,
                decide_sample_round,
                round_id=sample.id,
                decision="reject",
                comment="Wrong colour",
                pinned_photo_ids=pins,
            )
    assert (await reload(engine, SampleRound, sample.id)).status == SampleStatus.received
    decided = await call_as(
        engine,
        people,
        people.member_a,
        decide_sample_round,
        round_id=sample.id,
        decision="reject",
        comment="Wrong colour",
        pinned_photo_ids=[photos[1].id, photos[1].id],
    )
    assert decided.pinned_photo_ids == [photos[1].id]


async def test_closed_projects_do_not_move(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.cancelled)
    milestone = await make_milestone(engine, project)
    with pytest.raises(Conflict, match=r"This project is Cancelled, so nothing on it can change any more\."):
        await call_as(engine, people, people.coordinator, start_milestone, milestone_id=milestone.id)
    with pytest.raises(Conflict, match="This project is Cancelled"):
        await call_as(
            engine,
            people,
            people.owner_a,
            raise_change_request,
            project_id=project.id,
            title="T",
            description="D",
            reason="R",
        )


# -- stale versions --------------------------------------------------------------------------------------------


async def test_a_stale_expected_version_is_a_conflict_with_the_current_state(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project)
    seen = milestone.version
    await call_as(engine, people, people.coordinator2, start_milestone, milestone_id=milestone.id)
    with pytest.raises(Conflict) as refused:
        await call_as(
            engine,
            people,
            people.coordinator,
            start_milestone,
            milestone_id=milestone.id,
            expected_version=seen,
        )
    assert refused.value.message == (
        "Someone else changed this milestone while you were looking at it: it is now In progress. "
        "Reload it and try again."
    )
    assert refused.value.extra == {"current_version": seen + 1, "current_state": "in_progress"}
    assert len(await events(engine, "milestone.started")) == 1


async def test_two_coordinators_at_once_the_second_write_is_a_conflict(
    engine: AsyncEngine, people: People
) -> None:
    """Both read the milestone as planned; the first start commits; the second's write finds a newer version."""
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project)
    async with session_as(engine, people, people.coordinator) as first:
        stale = await first.scalar(select(Milestone).where(Milestone.id == milestone.id))
        assert stale is not None
        assert stale.status == MilestoneStatus.planned
        await call_as(engine, people, people.coordinator2, start_milestone, milestone_id=milestone.id)
        with pytest.raises(Conflict, match=r"Someone else changed this milestone at the same time\."):
            await start_milestone(first, actor=people.coordinator, milestone_id=milestone.id)
        await first.rollback()
    after = await reload(engine, Milestone, milestone.id)
    assert (after.status, after.version) == (MilestoneStatus.in_progress, milestone.version + 1)
    started = await events(engine, "milestone.started")
    assert [e.actor_id for e in started] == [people.coordinator2.id]


# -- sample rounds ---------------------------------------------------------------------------------------------


async def test_sample_rounds_are_numbered_per_project_one_open_at_a_time(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    other = await make_project(engine, people, phase=Phase.development, name="Other")
    async with system(engine) as session:
        supplier = Supplier(name_en="Foshan Metalworks", name_zh="佛山五金")
        session.add(supplier)
        await session.flush()
        row = await session.get(type(project), project.id)
        assert row is not None
        row.supplier_id = supplier.id
    first = await call_as(
        engine,
        people,
        people.coordinator,
        request_sample_round,
        project_id=project.id,
        notes="Brass, brushed",
    )
    assert (first.number, first.status, first.supplier_id) == (1, SampleStatus.requested, supplier.id)
    assert first.requested_at is not None
    with pytest.raises(Conflict, match="Sample round 1 is still Requested: it needs the brand's decision"):
        await call_as(engine, people, people.coordinator, request_sample_round, project_id=project.id)
    async with system(engine) as session:
        row = await session.get(SampleRound, first.id)
        assert row is not None
        row.status = SampleStatus.rejected
    second = await call_as(engine, people, people.coordinator, request_sample_round, project_id=project.id)
    assert second.number == 2
    with pytest.raises(ValidationFailed, match=r"This supplier does not exist\."):
        await call_as(
            engine,
            people,
            people.coordinator,
            request_sample_round,
            project_id=other.id,
            supplier_id=424242,
        )
    assert (
        await call_as(engine, people, people.coordinator, request_sample_round, project_id=other.id)
    ).number == 1
    (event, *_rest) = await events(engine, "sample_round.requested")
    assert (event.reason, event.after and event.after["number"]) == ("Brass, brushed", 1)


@pytest.mark.parametrize("phase", [Phase.feasibility, Phase.on_hold])
async def test_sample_rounds_belong_to_development(engine: AsyncEngine, people: People, phase: Phase) -> None:
    project = await make_project(engine, people, phase=phase)
    with pytest.raises(Conflict, match="Sample rounds are made in development"):
        await call_as(engine, people, people.coordinator, request_sample_round, project_id=project.id)


async def test_only_coordinators_request_sample_rounds(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    with pytest.raises(PermissionDenied, match=r"Only a coordinator can request a sample round\."):
        await call_as(engine, people, people.owner_a, request_sample_round, project_id=project.id)
    with pytest.raises(PermissionDenied, match="Viewers can look but not change anything"):
        await call_as(engine, people, people.viewer_a, request_sample_round, project_id=project.id)
    with pytest.raises(NotFound):
        await call_as(engine, people, people.owner_b, request_sample_round, project_id=project.id)


# -- change requests -------------------------------------------------------------------------------------------


async def test_a_brand_raises_a_change_request_and_the_coordinator_is_told(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development, name="Arc <b>Pendant</b>")
    drawing = await make_attachment(engine, project, "drawing")
    change = await call_as(
        engine,
        people,
        people.member_a,
        raise_change_request,
        project_id=project.id,
        title="  Thicker lid ",
        description="2 mm instead of 1.5 mm",
        reason="It flexes when opened",
        attachment_ids=[drawing.id],
    )
    assert (change.number, change.title, change.status, change.raised_by_id, change.attachment_ids) == (
        1,
        "Thicker lid",
        ChangeStatus.open,
        people.member_a.id,
        [drawing.id],
    )
    (note,) = await notifications(engine)
    assert (note.user_id, note.kind, note.params) == (
        people.coordinator.id,
        "change_request_raised",
        {"project": "Arc <b>Pendant</b>", "number": 1, "title": "Thicker lid", "actor": "Member A"},
    )
    (event,) = await events(engine, "change_request.raised")
    assert (event.reason, event.after and event.after["attachment_ids"]) == (
        "It flexes when opened",
        [drawing.id],
    )
    # raised by the coordinator: nobody is told what they did themselves
    second = await call_as(
        engine,
        people,
        people.coordinator,
        raise_change_request,
        project_id=project.id,
        title="T",
        description="D",
        reason="R",
    )
    assert second.number == 2
    assert len(await notifications(engine)) == 1


async def test_change_request_input_is_checked(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    elsewhere = await make_project(engine, people, phase=Phase.development, name="Elsewhere")
    foreign = await make_attachment(engine, elsewhere, "foreign")
    base = {"project_id": project.id, "title": "T", "description": "D", "reason": "R"}
    for changes, message in [
        ({"title": " "}, "Give the change a title of at most 200 characters."),
        ({"title": "x" * 201}, "Give the change a title of at most 200 characters."),
        ({"description": ""}, "Describe the change in at most 10000 characters."),
        ({"reason": ""}, "Give a reason: it is recorded with the decision."),
        ({"attachment_ids": [foreign.id]}, "The attached files must belong to this project."),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            await call_as(engine, people, people.owner_a, raise_change_request, **{**base, **changes})
        assert refused.value.message == message
    with pytest.raises(PermissionDenied):
        await call_as(engine, people, people.viewer_a, raise_change_request, **base)
    with pytest.raises(NotFound):
        await call_as(engine, people, people.owner_b, raise_change_request, **base)
    async with system(engine) as session:
        assert (await session.scalars(select(ChangeRequest))).all() == []


# -- decisions and questions -----------------------------------------------------------------------------------


async def test_a_free_decision_is_an_audit_event_with_its_attachments(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    photo = await make_attachment(engine, project, "lid")
    event = await call_as(
        engine,
        people,
        people.coordinator,
        record_decision,
        project_id=project.id,
        text="Agreed with factory: 0.2 mm tolerance on lid",
        attachment_ids=[photo.id],
    )
    (stored,) = await events(engine, "decision.recorded")
    assert stored.id == event.id
    assert (stored.reason, stored.after, stored.actor_id, stored.project_id, stored.org_id) == (
        "Agreed with factory: 0.2 mm tolerance on lid",
        {"attachment_ids": [photo.id]},
        people.coordinator.id,
        project.id,
        people.org_a.id,
    )
    with pytest.raises(PermissionDenied, match=r"Only a coordinator can record a decision\."):
        await call_as(engine, people, people.owner_a, record_decision, project_id=project.id, text="x")
    with pytest.raises(ValidationFailed, match="Write the decision"):
        await call_as(engine, people, people.coordinator, record_decision, project_id=project.id, text=" ")


async def test_questions_go_to_the_brand_and_answers_to_the_asker(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    question = await call_as(
        engine,
        people,
        people.coordinator,
        ask_question,
        project_id=project.id,
        body="Matte or gloss?",
    )
    told = sorted((n.user_id, n.kind, n.params["question"]) for n in await notifications(engine))
    assert told == sorted(
        [
            (people.owner_a.id, "question_asked", "Matte or gloss?"),
            (people.member_a.id, "question_asked", "Matte or gloss?"),
        ]
    )
    with pytest.raises(PermissionDenied, match="Only the brand's owners and members answer"):
        await call_as(
            engine,
            people,
            people.coordinator,
            answer_question,
            question_id=question.id,
            answer="Matte",
        )
    with pytest.raises(PermissionDenied, match="Viewers can look"):
        await call_as(
            engine, people, people.viewer_a, answer_question, question_id=question.id, answer="Matte"
        )
    answered = await call_as(
        engine, people, people.member_a, answer_question, question_id=question.id, answer="Matte"
    )
    assert (answered.answer, answered.answered_by_id) == ("Matte", people.member_a.id)
    assert answered.answered_at is not None
    with pytest.raises(Conflict, match=r"This question has already been answered\."):
        await call_as(
            engine, people, people.owner_a, answer_question, question_id=question.id, answer="Gloss"
        )
    assert (await reload(engine, Question, question.id)).answer == "Matte"
    last = (await notifications(engine))[-1]
    assert (last.user_id, last.kind, last.params["answer"]) == (
        people.coordinator.id,
        "question_answered",
        "Matte",
    )
    assert [e.action for e in await events(engine)] == ["question.asked", "question.answered"]


async def test_tasks_are_completed_by_their_owner_or_a_coordinator(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    task = await make_task(engine, project, status=TaskStatus.open, owner=people.member_a)
    with pytest.raises(PermissionDenied, match="Only a coordinator or the task's owner can complete it"):
        await call_as(engine, people, people.owner_a, complete_task, task_id=task.id)
    done = await call_as(engine, people, people.member_a, complete_task, task_id=task.id, note="Called them")
    assert (done.status, done.completed_at is not None) == (TaskStatus.done, True)
    (event,) = await events(engine, "task.completed")
    assert event.reason == "Called them"


# -- milestone plans -------------------------------------------------------------------------------------------


async def test_milestones_from_a_template_once(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people)
    start = date(2027, 1, 4)
    created = await call_as(
        engine,
        people,
        people.coordinator,
        create_milestones_from_template,
        project_id=project.id,
        start=start,
        owner_id=people.coordinator.id,
    )
    assert [(m.phase, m.title, m.due_date, m.position, m.owner_id) for m in created] == [
        (phase, title, start + timedelta(days=days), index, people.coordinator.id)
        for index, (phase, title, days) in enumerate(STANDARD_MILESTONES)
    ]
    again = await call_as(
        engine,
        people,
        people.coordinator,
        create_milestones_from_template,
        project_id=project.id,
        start=start,
    )
    assert again == []
    extra = await call_as(
        engine,
        people,
        people.coordinator,
        create_milestones_from_template,
        project_id=project.id,
        template="development_round",
        start=start,
    )
    assert [m.position for m in extra] == [8, 9, 10]
    (event, _second) = await events(engine, "milestone.planned")
    assert event.after is not None
    assert len(event.after["milestones"]) == 8
    with pytest.raises(
        ValidationFailed,
        match=r"There is no milestone template named fast\. Choose one of: development_round, standard\.",
    ):
        await call_as(
            engine,
            people,
            people.coordinator,
            create_milestones_from_template,
            project_id=project.id,
            template="fast",
            start=start,
        )
    with pytest.raises(PermissionDenied, match="Only a coordinator can plan"):
        await call_as(
            engine,
            people,
            people.owner_a,
            create_milestones_from_template,
            project_id=project.id,
            start=start,
        )


@pytest.mark.parametrize("owner", ["viewer_a", "owner_b"])
async def test_a_milestone_owner_is_staff_or_a_brand_writer(
    engine: AsyncEngine, people: People, owner: str
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project)
    with pytest.raises(
        ValidationFailed, match="A milestone's owner must be a coordinator or an owner or member"
    ):
        await call_as(
            engine,
            people,
            people.coordinator,
            assign_milestone,
            milestone_id=milestone.id,
            owner_id=people.named(owner).id,
            due_date=date(2027, 1, 1),
        )


# -- what is waiting on whom -----------------------------------------------------------------------------------


async def test_waiting_on_names_who_each_thing_waits_for(engine: AsyncEngine, people: People) -> None:
    today = date(2027, 3, 1)
    project = await make_project(engine, people, phase=Phase.feasibility, review_complete=True)
    await make_milestone(
        engine,
        project,
        title="Cost estimate and approach",
        owner_id=people.member_a.id,
        due_date=today + timedelta(days=20),
        position=1,
    )
    await make_milestone(
        engine,
        project,
        title="Feasibility review",
        owner_id=people.coordinator.id,
        due_date=today - timedelta(days=2),
        position=0,
    )
    await make_milestone(engine, project, title="Shipment", status=MilestoneStatus.done, position=2)
    await make_round(engine, project, status=SampleStatus.received, number=1)
    await make_round(engine, project, status=SampleStatus.in_production, number=2)
    await make_change(engine, project, status=ChangeStatus.open, raised_by=people.owner_a)
    await make_task(engine, project, status=TaskStatus.open, owner=people.coordinator2)
    await call_as(
        engine, people, people.coordinator, ask_question, project_id=project.id, body="Which white?"
    )
    async with session_as(engine, people, people.owner_a) as session:
        items = await waiting_on(session, project_id=project.id, today=today)
    assert [(i.kind, i.party, i.user_id, i.text, i.health) for i in items] == [
        (
            "go_ahead",
            Party.brand,
            None,
            "Give the go-ahead for development after reading the feasibility summary.",
            None,
        ),
        ("sample_decision", Party.brand, None, "Approve or reject sample round 1.", None),
        (
            "sample_round",
            Party.person,
            people.coordinator.id,
            "Get sample round 2 made, shipped and received.",
            None,
        ),
        ("question", Party.brand, None, "Answer the question: Which white?", None),
        ("change_request", Party.person, people.coordinator.id, "Decide change request 1: Thicker lid", None),
        ("task", Party.person, people.coordinator2.id, "Call the factory", None),
        ("milestone", Party.person, people.coordinator.id, "Feasibility review", Health.late),
        ("milestone", Party.person, people.member_a.id, "Cost estimate and approach", Health.on_track),
    ]
    grouped = by_person(items)
    assert [i.kind for i in grouped[people.member_a.id]] == ["milestone"]
    assert len(grouped[None]) == 3
    # another organization cannot ask
    async with session_as(engine, people, people.owner_b) as session:
        with pytest.raises(NotFound):
            await waiting_on(session, project_id=project.id)


async def test_waiting_on_the_coordinator_for_the_review(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, coordinator=False)
    async with session_as(engine, people, people.coordinator) as session:
        items = await waiting_on(session, project_id=project.id)
    assert [(i.kind, i.party, i.user_id) for i in items] == [("feasibility_review", Party.coordinator, None)]
