"""Phase gates on both databases: each lists every missing condition, in the reader's language, and opens when they
are met. The production gate's spec-revision input is the real one here: no approved spec revision exists yet."""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import i18n
from makeready.errors import Conflict, ValidationFailed
from makeready.projects.models import MilestoneStatus, Phase, Project
from makeready.samples.models import SampleStatus
from makeready.workflow import gates
from makeready.workflow.projects import (
    advance_project,
    gate_report,
    give_go_ahead,
    hold_project,
    resume_project,
)
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_milestone,
    make_people,
    make_project,
    make_round,
    reload,
    session_as,
)


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def advance(engine: AsyncEngine, people: People, project: Project, to: Phase) -> Project:
    return await call_as(
        engine, people, people.coordinator, advance_project, project_id=project.id, to_phase=to
    )


async def report(engine: AsyncEngine, people: People, project: Project) -> list[str]:
    async with session_as(engine, people, people.member_a) as session:
        return await gate_report(session, project_id=project.id, to_phase=Phase.development)


async def test_development_gate_lists_the_review_and_the_go_ahead(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people)
    with pytest.raises(Conflict) as refused:
        await advance(engine, people, project, Phase.development)
    assert refused.value.extra["missing"] == [
        "The feasibility review is not complete.",
        "The brand has not given the go-ahead for development.",
    ]
    assert refused.value.message == (
        "The project cannot move to Development yet: The feasibility review is not complete. "
        "The brand has not given the go-ahead for development."
    )
    assert (await reload(engine, Project, project.id)).phase == Phase.feasibility
    assert await events(engine, "project.phase_changed") == []


async def test_the_go_ahead_needs_the_completed_review_and_is_given_once(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people)
    with pytest.raises(
        Conflict, match=r"The feasibility review is not complete yet: the go-ahead follows it\."
    ):
        await call_as(engine, people, people.member_a, give_go_ahead, project_id=project.id)
    project = await make_project(engine, people, name="Lamp 2", review_complete=True)
    assert await report(engine, people, project) == ["The brand has not given the go-ahead for development."]
    await call_as(engine, people, people.member_a, give_go_ahead, project_id=project.id)
    with pytest.raises(Conflict, match="The go-ahead was already given on"):
        await call_as(engine, people, people.owner_a, give_go_ahead, project_id=project.id)
    assert await report(engine, people, project) == []
    done = await advance(engine, people, project, Phase.development)
    assert done.phase == Phase.development
    assert done.phase_changed_at is not None


async def test_production_gate_needs_an_approved_sample_and_an_approved_spec_revision(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    await make_round(engine, project, status=SampleStatus.rejected, number=1)
    await make_round(engine, project, status=SampleStatus.received, number=2)
    with pytest.raises(Conflict) as refused:
        await advance(engine, people, project, Phase.production)
    assert refused.value.extra["missing"] == [
        "No sample round has been approved by the brand.",
        "No approved spec revision exists for this project: a spec revision must be approved before production.",
    ]
    await make_round(engine, project, status=SampleStatus.approved, number=3)
    with pytest.raises(Conflict) as refused:
        await advance(engine, people, project, Phase.production)
    # the spec revision is not faked: until spec revisions exist, no project can enter production
    assert refused.value.extra["missing"] == [
        "No approved spec revision exists for this project: a spec revision must be approved before production."
    ]
    async with session_as(engine, people, people.coordinator) as session:
        assert await gates.approved_spec_revision(session, project.id) is False
    assert (await reload(engine, Project, project.id)).phase == Phase.development


async def test_production_gate_opens_when_its_spec_revision_input_does(
    engine: AsyncEngine, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def approved(session: object, project_id: int) -> bool:
        return project_id == project.id

    project = await make_project(engine, people, phase=Phase.development)
    await make_round(engine, project, status=SampleStatus.approved)
    monkeypatch.setattr(gates, "approved_spec_revision", approved)
    assert (await advance(engine, people, project, Phase.production)).phase == Phase.production


async def test_delivery_gate_lists_the_open_production_milestones(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people, phase=Phase.production)
    await make_milestone(engine, project, phase=Phase.production, title="Production run", position=1)
    await make_milestone(
        engine,
        project,
        phase=Phase.production,
        title="Final inspection",
        status=MilestoneStatus.in_progress,
        position=2,
    )
    await make_milestone(
        engine, project, phase=Phase.production, title="Packing", status=MilestoneStatus.done, position=3
    )
    await make_milestone(engine, project, phase=Phase.development, title="First sample", position=0)
    with pytest.raises(Conflict) as refused:
        await advance(engine, people, project, Phase.delivered)
    assert refused.value.extra["missing"] == [
        "These production milestones are not done: Production run, Final inspection."
    ]
    with i18n.use_locale("zh_Hans"), pytest.raises(Conflict) as refused:
        await advance(engine, people, project, Phase.delivered)
    # translated, standard milestone titles included
    assert refused.value.message == "项目还不能进入已交付：这些生产里程碑尚未完成：大货生产、尾期验货。"


async def test_gate_messages_are_translated(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    with i18n.use_locale("zh_Hans"), pytest.raises(Conflict) as refused:
        await advance(engine, people, project, Phase.production)
    assert refused.value.extra["missing"] == [
        "品牌方尚未批准任何一轮打样的样品。",
        "该项目还没有已批准的规格书修订版：进入生产前必须先批准一个规格书修订版。",
    ]
    assert refused.value.message.startswith("项目还不能进入生产：")


@pytest.mark.parametrize("to", ["feasibility", "on_hold", "cancelled", "shipped", ""])
async def test_advance_only_names_a_next_phase(engine: AsyncEngine, people: People, to: str) -> None:
    project = await make_project(engine, people)
    with pytest.raises(ValidationFailed, match="A project advances to development, production or delivered"):
        await call_as(engine, people, people.coordinator, advance_project, project_id=project.id, to_phase=to)


async def test_a_phase_cannot_be_skipped(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, review_complete=True, go_ahead=True)
    with pytest.raises(
        Conflict, match=r"Only a project in development can move to production; this one is Feasibility\."
    ):
        await advance(engine, people, project, Phase.production)


async def test_resume_needs_a_phase_to_return_to(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.on_hold, held_from=None)
    with pytest.raises(Conflict, match="This project has no phase to return to"):
        await call_as(engine, people, people.coordinator, resume_project, project_id=project.id)


async def test_hold_and_resume_return_to_the_phase_it_was_in(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, phase=Phase.production)
    held = await call_as(
        engine,
        people,
        people.coordinator,
        hold_project,
        project_id=project.id,
        reason="Quality hold",
    )
    assert (held.phase, held.held_from) == (Phase.on_hold, Phase.production)
    resumed = await call_as(engine, people, people.coordinator, resume_project, project_id=project.id)
    assert (resumed.phase, resumed.held_from) == (Phase.production, None)
    phases = [
        (e.before, e.after and e.after["phase"], e.reason)
        for e in await events(engine, "project.phase_changed")
    ]
    assert phases == [
        ({"phase": "production"}, "on_hold", "Quality hold"),
        ({"phase": "on_hold"}, "production", ""),
    ]
