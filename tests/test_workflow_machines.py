"""Every state machine, exhaustively: every action from every state, and every action by every kind of person.

The cases are generated from each machine's own table and the full enum of its states, so a new action or a new
state without a case here fails `test_every_action_has_a_case`. From a source state the transition must succeed
with its effects (new state, timestamp, audit event with before/after, triggers); from any other state it must fail
with its Conflict message naming the current state, and change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.changes.lifecycle import (
    CHANGE_REQUEST,
    decide_change_request,
    mark_change_implemented,
    withdraw_change_request,
)
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.conditions.models import Condition
from makeready.conditions.service import unresolved_for
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied
from makeready.i18n import label
from makeready.kernel.machine import VIEWER_MESSAGE, Machine, Role
from makeready.projects.milestones import (
    MILESTONE,
    assign_milestone,
    complete_milestone,
    reopen_milestone,
    start_milestone,
)
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project, Task, TaskStatus
from makeready.projects.tasks import TASK, cancel_task, complete_task
from makeready.samples.lifecycle import (
    SAMPLE_ROUND,
    decide_sample_round,
    mark_sample_in_production,
    mark_sample_received,
    mark_sample_shipped,
)
from makeready.samples.models import SampleRound, SampleStatus
from makeready.specs import content as spec_content
from makeready.specs import service as specs
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.workflow import gates
from makeready.workflow.escalation import AT_RISK
from makeready.workflow.projects import (
    PROJECT,
    advance_project,
    cancel_project,
    give_go_ahead,
    hold_project,
    resume_project,
)
from makeready.workflow.triggers import NEW_SAMPLE_ROUND_TASK, SPEC_REVISION_TASK
from tests.test_spec_revisions import filled
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_change,
    make_milestone,
    make_people,
    make_project,
    make_round,
    make_task,
    notifications,
    reload,
    system,
    tasks,
)

WORKFLOW_MACHINES = (PROJECT, MILESTONE, SAMPLE_ROUND, CHANGE_REQUEST, TASK)
"""The workflow's own lifecycles, which the exhaustive matrix below walks."""


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


@pytest.fixture(autouse=True)
def approved_spec_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production gate's spec-revision input, switched on here so the machine itself can be tested; the gate's
    real answer (no approved revision exists yet) is tested in test_workflow_gates.py."""

    async def yes(session: Any, project_id: int) -> bool:
        return True

    monkeypatch.setattr(gates, "approved_spec_revision", yes)


Call = Callable[[Any, Any, Any, People], Awaitable[Any]]
Arrange = Callable[[AsyncEngine, People, Any, str], Awaitable[Any]]
Check = Callable[[AsyncEngine, People, Any, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Spec:
    """How to test one machine: arrange a subject in a state, call each action, check each action's effects."""

    machine: Machine[Any]
    model: type
    arrange: Arrange
    calls: dict[str, tuple[str, Call]]
    """action -> (who performs it in the state tests, the service call)"""
    effects: dict[str, Check]
    expected_state: Callable[[str, Any], Any]


# -- project ---------------------------------------------------------------------------------------------------


async def arrange_project(engine: AsyncEngine, people: People, state: Phase, action: str) -> Project:
    project = await make_project(
        engine,
        people,
        phase=state,
        review_complete=True,
        go_ahead=action != "give_go_ahead",
        held_from=Phase.development if state == Phase.on_hold else None,
    )
    # every gate open: an approved sample round and the production milestones done
    await make_round(engine, project, status=SampleStatus.approved)
    await make_milestone(
        engine, project, phase=Phase.production, title="Shipment", status=MilestoneStatus.done
    )
    return project


def _advance(phase: Phase) -> Call:
    return lambda s, a, p, _people: advance_project(
        s, actor=a, project_id=p.id, to_phase=phase, reason="gate met"
    )


PROJECT_CALLS: dict[str, tuple[str, Call]] = {
    "give_go_ahead": ("owner_a", lambda s, a, p, _: give_go_ahead(s, actor=a, project_id=p.id)),
    "start_development": ("coordinator", _advance(Phase.development)),
    "start_production": ("coordinator", _advance(Phase.production)),
    "deliver": ("coordinator", _advance(Phase.delivered)),
    "hold": (
        "coordinator",
        lambda s, a, p, _: hold_project(s, actor=a, project_id=p.id, reason="Factory closed for New Year"),
    ),
    "resume": ("coordinator", lambda s, a, p, _: resume_project(s, actor=a, project_id=p.id)),
    "cancel": (
        "coordinator",
        lambda s, a, p, _: cancel_project(s, actor=a, project_id=p.id, reason="The brand stopped the line"),
    ),
}


async def check_go_ahead(
    engine: AsyncEngine, people: People, before: Project, after: Project, _r: Any
) -> None:
    assert after.go_ahead_at is not None
    assert after.go_ahead_by_id == people.owner_a.id
    assert [n.kind for n in await notifications(engine, people.coordinator)] == ["go_ahead_given"]


async def check_hold(engine: AsyncEngine, people: People, before: Project, after: Project, _r: Any) -> None:
    assert after.held_from == before.phase
    (event,) = await events(engine, "project.phase_changed")
    assert event.reason == "Factory closed for New Year"
    assert event.after == {
        "phase": "on_hold",
        "held_from": before.phase.value,
        "phase_changed_at": event.after["phase_changed_at"],
    }


async def check_resume(engine: AsyncEngine, people: People, before: Project, after: Project, _r: Any) -> None:
    assert after.held_from is None


async def check_cancel(engine: AsyncEngine, people: People, before: Project, after: Project, _r: Any) -> None:
    assert after.held_from is None
    (event,) = await events(engine, "project.phase_changed")
    assert event.reason == "The brand stopped the line"


def project_target(action: str, state: Phase) -> Phase:
    if action == "resume":
        return Phase.development  # held_from
    if action == "give_go_ahead":
        return state
    target = PROJECT.transition(action).target
    assert target is not None
    return target


PROJECT_SPEC = Spec(
    machine=PROJECT,
    model=Project,
    arrange=arrange_project,
    calls=PROJECT_CALLS,
    effects={
        "give_go_ahead": check_go_ahead,
        "hold": check_hold,
        "resume": check_resume,
        "cancel": check_cancel,
    },
    expected_state=project_target,
)


# -- milestone -------------------------------------------------------------------------------------------------


async def arrange_milestone(
    engine: AsyncEngine, people: People, state: MilestoneStatus, action: str
) -> Milestone:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(
        engine, project, status=state, owner_id=people.member_a.id, due_date=date.today() + timedelta(days=2)
    )
    async with system(
        engine
    ) as session:  # reminders already sent (the row the pass leaves): assigning clears them
        session.add(
            Condition(
                org_id=project.org_id,
                project_id=project.id,
                kind=AT_RISK.name,
                subject_type="milestone",
                subject_id=milestone.id,
                owner_id=milestone.owner_id,
                raised_at=utcnow(),
            )
        )
    return await reload(engine, Milestone, milestone.id)


NEW_DUE = date.today() + timedelta(days=40)

MILESTONE_CALLS: dict[str, tuple[str, Call]] = {
    "start": ("coordinator", lambda s, a, m, _: start_milestone(s, actor=a, milestone_id=m.id)),
    "complete": (
        "coordinator",
        lambda s, a, m, _: complete_milestone(s, actor=a, milestone_id=m.id),
    ),
    "reopen": (
        "coordinator",
        lambda s, a, m, _: reopen_milestone(s, actor=a, milestone_id=m.id, reason="QC found burrs"),
    ),
    "assign": (
        "coordinator",
        lambda s, a, m, people: assign_milestone(
            s, actor=a, milestone_id=m.id, owner_id=people.owner_a.id, due_date=NEW_DUE
        ),
    ),
}


async def check_reopen(
    engine: AsyncEngine, people: People, before: Milestone, after: Milestone, _r: Any
) -> None:
    assert after.completed_at is None
    (event,) = await events(engine, "milestone.reopened")
    assert event.reason == "QC found burrs"


async def check_assign(
    engine: AsyncEngine, people: People, before: Milestone, after: Milestone, _r: Any
) -> None:
    assert (after.owner_id, after.due_date) == (people.owner_a.id, NEW_DUE)
    async with system(engine) as session:
        assert await unresolved_for(session, subject_type="milestone", subject_ids=[after.id]) == []
    (event,) = await events(engine, "milestone.assigned")
    assert event.before is not None
    assert event.after is not None
    assert (event.before["owner_id"], event.after["owner_id"]) == (people.member_a.id, people.owner_a.id)
    assert event.after["due_date"] == NEW_DUE.isoformat()


def milestone_target(action: str, state: MilestoneStatus) -> MilestoneStatus:
    target = MILESTONE.transition(action).target
    return state if target is None else target


MILESTONE_SPEC = Spec(
    machine=MILESTONE,
    model=Milestone,
    arrange=arrange_milestone,
    calls=MILESTONE_CALLS,
    effects={"reopen": check_reopen, "assign": check_assign},
    expected_state=milestone_target,
)


# -- sample round ----------------------------------------------------------------------------------------------


async def arrange_round(engine: AsyncEngine, people: People, state: SampleStatus, action: str) -> SampleRound:
    project = await make_project(engine, people, phase=Phase.development)
    sample, _photos = await make_round(engine, project, status=state, photos=2)
    return sample


async def _photo_ids(engine: AsyncEngine, round_id: int) -> list[int]:
    from sqlalchemy import select

    from makeready.samples.models import SamplePhoto

    async with system(engine) as session:
        rows = await session.scalars(
            select(SamplePhoto.id).where(SamplePhoto.round_id == round_id).order_by(SamplePhoto.position)
        )
        return list(rows.all())


async def _decide(s: Any, a: Any, r: SampleRound, decision: str, comment: str, pin: int) -> SampleRound:
    from sqlalchemy import select

    from makeready.samples.models import SamplePhoto

    query = select(SamplePhoto.id).where(SamplePhoto.round_id == r.id).order_by(SamplePhoto.position)
    pins = (await s.scalars(query)).all()  # none when the caller cannot see the round: it gets NotFound
    return await decide_sample_round(
        s, actor=a, round_id=r.id, decision=decision, comment=comment, pinned_photo_ids=pins[pin : pin + 1]
    )


SAMPLE_CALLS: dict[str, tuple[str, Call]] = {
    "start_production": (
        "coordinator",
        lambda s, a, r, _: mark_sample_in_production(s, actor=a, round_id=r.id),
    ),
    "ship": ("coordinator", lambda s, a, r, _: mark_sample_shipped(s, actor=a, round_id=r.id)),
    "receive": ("coordinator", lambda s, a, r, _: mark_sample_received(s, actor=a, round_id=r.id)),
    "approve": ("owner_a", lambda s, a, r, _: _decide(s, a, r, "approve", "Looks right", 0)),
    "reject": ("member_a", lambda s, a, r, _: _decide(s, a, r, "reject", "The lid is scratched", 1)),
}


async def check_received(
    engine: AsyncEngine, people: People, before: Any, after: SampleRound, _r: Any
) -> None:
    told = {(n.user_id, n.kind) for n in await notifications(engine)}
    # the brand's owners and members are asked to decide; the viewer and the other brand are not
    assert told == {(people.owner_a.id, "sample_received"), (people.member_a.id, "sample_received")}


async def check_approved(
    engine: AsyncEngine, people: People, before: Any, after: SampleRound, _r: Any
) -> None:
    photos = await _photo_ids(engine, after.id)
    assert (after.decided_by_id, after.decision_comment, after.pinned_photo_ids) == (
        people.owner_a.id,
        "Looks right",
        [photos[0]],
    )
    (note,) = await notifications(engine)
    assert (note.user_id, note.kind, note.params["comment"]) == (
        people.coordinator.id,
        "sample_approved",
        "Looks right",
    )
    assert await tasks(engine) == []


async def check_rejected(
    engine: AsyncEngine, people: People, before: Any, after: SampleRound, _r: Any
) -> None:
    photos = await _photo_ids(engine, after.id)
    assert (after.decided_by_id, after.decision_comment, after.pinned_photo_ids) == (
        people.member_a.id,
        "The lid is scratched",
        [photos[1]],
    )
    (task,) = await tasks(engine)
    assert (task.kind, task.title, task.owner_id, task.status) == (
        "new_sample_round",
        NEW_SAMPLE_ROUND_TASK,
        people.coordinator.id,
        TaskStatus.open,
    )
    assert (task.source_type, task.source_id, task.project_id) == ("sample_round", after.id, after.project_id)
    assert [e.subject_id for e in await events(engine, "task.opened")] == [task.id]
    # one message to the coordinator: the rejection, which says a task is open (not a second "task opened")
    assert [(n.user_id, n.kind) for n in await notifications(engine)] == [
        (people.coordinator.id, "sample_rejected")
    ]
    (event,) = await events(engine, "sample_round.rejected")
    assert event.reason == "The lid is scratched"


def round_target(action: str, state: SampleStatus) -> SampleStatus:
    target = SAMPLE_ROUND.transition(action).target
    assert target is not None
    return target


SAMPLE_SPEC = Spec(
    machine=SAMPLE_ROUND,
    model=SampleRound,
    arrange=arrange_round,
    calls=SAMPLE_CALLS,
    effects={"receive": check_received, "approve": check_approved, "reject": check_rejected},
    expected_state=round_target,
)


# -- change request --------------------------------------------------------------------------------------------


async def arrange_change(
    engine: AsyncEngine, people: People, state: ChangeStatus, action: str
) -> ChangeRequest:
    project = await make_project(engine, people, phase=Phase.development)
    return await make_change(engine, project, status=state, raised_by=people.member_a)


CHANGE_CALLS: dict[str, tuple[str, Call]] = {
    "approve": (
        "coordinator",
        lambda s, a, c, _: decide_change_request(
            s, actor=a, change_id=c.id, decision="approve", note="Agreed with the factory"
        ),
    ),
    "reject": (
        "coordinator",
        lambda s, a, c, _: decide_change_request(
            s, actor=a, change_id=c.id, decision="reject", note="The tooling is cut already"
        ),
    ),
    "implement": (
        "coordinator",
        lambda s, a, c, _: mark_change_implemented(s, actor=a, change_id=c.id),
    ),
    "withdraw": ("member_a", lambda s, a, c, _: withdraw_change_request(s, actor=a, change_id=c.id)),
}


async def check_change_approved(
    engine: AsyncEngine, people: People, before: Any, after: ChangeRequest, _r: Any
) -> None:
    assert (after.decided_by_id, after.decision_note) == (people.coordinator.id, "Agreed with the factory")
    (task,) = await tasks(engine)
    assert (task.kind, task.title, task.owner_id, task.source_type, task.source_id) == (
        "spec_revision",
        SPEC_REVISION_TASK,
        people.coordinator.id,
        "change_request",
        after.id,
    )
    (event,) = await events(engine, "change_request.approved")
    assert event.reason == "Agreed with the factory"
    await check_brand_told(engine, people, "change_request_approved", "Agreed with the factory")


async def check_change_rejected(
    engine: AsyncEngine, people: People, before: Any, after: ChangeRequest, _r: Any
) -> None:
    assert (after.decided_by_id, after.decision_note) == (people.coordinator.id, "The tooling is cut already")
    assert await tasks(engine) == []
    await check_brand_told(engine, people, "change_request_rejected", "The tooling is cut already")


async def check_brand_told(engine: AsyncEngine, people: People, kind: str, note: str) -> None:
    """The brand's owners and members learn the decision with its note (viewers are not told to act)."""
    told = [n for n in await notifications(engine) if n.kind == kind]
    assert sorted(n.user_id for n in told) == sorted([people.owner_a.id, people.member_a.id])
    assert {n.params["note"] for n in told} == {note}


def change_target(action: str, state: ChangeStatus) -> ChangeStatus:
    target = CHANGE_REQUEST.transition(action).target
    assert target is not None
    return target


CHANGE_SPEC = Spec(
    machine=CHANGE_REQUEST,
    model=ChangeRequest,
    arrange=arrange_change,
    calls=CHANGE_CALLS,
    effects={"approve": check_change_approved, "reject": check_change_rejected},
    expected_state=change_target,
)


# -- task ------------------------------------------------------------------------------------------------------


async def arrange_task(engine: AsyncEngine, people: People, state: TaskStatus, action: str) -> Task:
    project = await make_project(engine, people, phase=Phase.development)
    return await make_task(engine, project, status=state, owner=people.member_a)


TASK_CALLS: dict[str, tuple[str, Call]] = {
    "complete": ("coordinator", lambda s, a, t, _: complete_task(s, actor=a, task_id=t.id)),
    "cancel": (
        "coordinator",
        lambda s, a, t, _: cancel_task(s, actor=a, task_id=t.id, reason="Done by phone instead"),
    ),
}


def task_target(action: str, state: TaskStatus) -> TaskStatus:
    target = TASK.transition(action).target
    assert target is not None
    return target


TASK_SPEC = Spec(
    machine=TASK,
    model=Task,
    arrange=arrange_task,
    calls=TASK_CALLS,
    effects={},
    expected_state=task_target,
)

# -- spec revision ---------------------------------------------------------------------------------------------


async def arrange_spec_revision(
    engine: AsyncEngine, people: People, state: RevisionStatus, action: str
) -> SpecRevision:
    project = await make_project(engine, people, phase=Phase.development)
    async with system(engine) as session:
        revision = SpecRevision(
            org_id=project.org_id,
            project_id=project.id,
            number=1,
            status=state,
            content=spec_content.parse(filled()).to_json(),  # every field translated and reviewed
        )
        session.add(revision)
    return revision


def _spec_act(action: str, **inputs: Any) -> Call:
    return lambda s, a, r, _: specs.act(s, action, actor=a, revision_id=r.id, inputs=inputs or None)


SPEC_REVISION_CALLS: dict[str, tuple[str, Call]] = {
    "submit": ("coordinator", _spec_act("submit")),
    "withdraw": ("coordinator", _spec_act("withdraw")),
    "approve": ("owner_a", _spec_act("approve")),
    "request_changes": ("member_a", _spec_act("request_changes", comment="Rounder corners")),
    "issue": ("coordinator", _spec_act("issue")),
    # the system's (issuing the next revision supersedes this one): every person is refused
    "supersede": ("coordinator", _spec_act("supersede")),
}


async def check_spec_issued(
    engine: AsyncEngine, people: People, before: Any, after: SpecRevision, _r: Any
) -> None:
    assert after.issued_by_id == people.coordinator.id
    assert after.content_hash == specs.canonical_hash(after.content)
    assert {n.kind for n in await notifications(engine)} == {"spec_issued"}


async def check_spec_sent_back(
    engine: AsyncEngine, people: People, before: Any, after: SpecRevision, _r: Any
) -> None:
    assert after.review_comment == "Rounder corners"
    assert [(n.user_id, n.kind) for n in await notifications(engine)] == [
        (people.coordinator.id, "spec_changes_requested")
    ]


def spec_revision_target(action: str, state: RevisionStatus) -> RevisionStatus:
    target = specs.SPEC_REVISION.transition(action).target
    assert target is not None
    return target


SPEC_REVISION_SPEC = Spec(
    machine=specs.SPEC_REVISION,
    model=SpecRevision,
    arrange=arrange_spec_revision,
    calls=SPEC_REVISION_CALLS,
    effects={"issue": check_spec_issued, "request_changes": check_spec_sent_back},
    expected_state=spec_revision_target,
)

SPECS = {
    spec.machine.name: spec
    for spec in (PROJECT_SPEC, MILESTONE_SPEC, SAMPLE_SPEC, CHANGE_SPEC, TASK_SPEC, SPEC_REVISION_SPEC)
}


def test_every_action_has_a_case() -> None:
    assert {m.name for m in (*WORKFLOW_MACHINES, specs.SPEC_REVISION)} == set(SPECS)
    for spec in SPECS.values():
        assert set(spec.calls) == set(spec.machine.actions), spec.machine.name


def test_every_state_is_reachable_or_initial_and_finals_are_dead_ends() -> None:
    for machine in WORKFLOW_MACHINES:
        for final in machine.final:
            assert machine.allowed(final) == [], f"{machine.name}: {final} is final but has transitions"


def by_a_person(machine: Machine[Any], action: str) -> bool:
    """Whether a person may ever perform the action (the system's own transitions are tested where they happen)."""
    return machine.transition(action).roles != {Role.SYSTEM}


CASES = [
    pytest.param(name, action, state, id=f"{name}-{action}-from-{state.value}")
    for name, spec in SPECS.items()
    for action in spec.machine.actions
    if by_a_person(spec.machine, action)
    for state in spec.machine.states
]


@pytest.mark.parametrize(("machine", "action", "state"), CASES)
async def test_action_from_state(
    engine: AsyncEngine, people: People, machine: str, action: str, state: Any
) -> None:
    spec = SPECS[machine]
    transition = spec.machine.transition(action)
    subject = await spec.arrange(engine, people, state, action)
    before = await reload(engine, spec.model, subject.id)
    who, call = spec.calls[action]
    actor = people.named(who)
    events_before = len(await events(engine))
    if state in transition.sources:
        result = await call_as(engine, people, actor, lambda s, actor: call(s, actor, subject, people))
        after = await reload(engine, spec.model, subject.id)
        assert getattr(after, spec.machine.column) == spec.expected_state(action, state)
        assert getattr(result, spec.machine.column) == spec.expected_state(action, state)
        assert after.version == before.version + 1
        if transition.stamp:
            assert getattr(after, transition.stamp) is not None
            assert getattr(after, transition.stamp) != getattr(before, transition.stamp)
        matching = [e for e in await events(engine, transition.event) if e.subject_id == subject.id]
        assert len(matching) == 1, f"one {transition.event} audit event"
        event = matching[0]
        assert (event.actor_id, event.subject_type, event.project_id) == (
            actor.id,
            spec.machine.name,
            subject.id if machine == "project" else subject.project_id,
        )
        assert event.before is not None
        assert event.after is not None
        assert event.before[spec.machine.column] == state.value
        assert event.after[spec.machine.column] == spec.expected_state(action, state).value
        if transition.stamp:
            assert transition.stamp in event.after
        check = spec.effects.get(action)
        if check is not None:
            await check(engine, people, before, after, result)
    else:
        with pytest.raises(Conflict) as refused:
            await call_as(engine, people, actor, lambda s, actor: call(s, actor, subject, people))
        assert refused.value.message == transition.wrong_state % {"state": label(state)}
        assert label(state) in refused.value.message
        assert refused.value.status_code == 409
        after = await reload(engine, spec.model, subject.id)
        assert getattr(after, spec.machine.column) == state
        assert after.version == before.version
        assert len(await events(engine)) == events_before, "a refused transition writes no audit event"
        assert await notifications(engine) == []


# -- who may act -----------------------------------------------------------------------------------------------

# The business rules, written out independently of the machines' tables (member_a owns the milestone and the task,
# and raised the change request).
STAFF = {"coordinator", "admin"}
BRAND = {"owner_a", "member_a"}
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("project", "give_go_ahead"): BRAND,
    ("project", "start_development"): STAFF,
    ("project", "start_production"): STAFF,
    ("project", "deliver"): STAFF,
    ("project", "hold"): STAFF,
    ("project", "resume"): STAFF,
    ("project", "cancel"): STAFF | BRAND,
    ("milestone", "start"): STAFF | {"member_a"},
    ("milestone", "complete"): STAFF | {"member_a"},
    ("milestone", "reopen"): STAFF,
    ("milestone", "assign"): STAFF,
    ("sample_round", "start_production"): STAFF,
    ("sample_round", "ship"): STAFF,
    ("sample_round", "receive"): STAFF,
    ("sample_round", "approve"): BRAND,  # a coordinator cannot decide a sample on the brand's behalf
    ("sample_round", "reject"): BRAND,
    ("change_request", "approve"): STAFF,
    ("change_request", "reject"): STAFF,
    ("change_request", "implement"): STAFF,
    ("change_request", "withdraw"): {"member_a"},  # only whoever raised it
    ("task", "complete"): STAFF | {"member_a"},
    ("task", "cancel"): STAFF,
    ("spec_revision", "submit"): STAFF,
    ("spec_revision", "withdraw"): STAFF,
    ("spec_revision", "approve"): BRAND,  # a coordinator cannot approve the brand's specification
    ("spec_revision", "request_changes"): BRAND,
    ("spec_revision", "issue"): STAFF,
    ("spec_revision", "supersede"): set(),  # only the system, when the next revision is issued
}
EVERYONE = ["owner_a", "member_a", "viewer_a", "owner_b", "coordinator", "admin"]


def test_the_rules_cover_every_action() -> None:
    assert set(ALLOWED) == {(name, action) for name, spec in SPECS.items() for action in spec.machine.actions}


async def attempt(engine: AsyncEngine, people: People, spec: Spec, action: str, state: Any, who: str) -> str:
    """Try the action as `who` on a fresh subject: "ok" with the state reached, or the refusal and its message."""
    _who, call = spec.calls[action]
    subject = await spec.arrange(engine, people, state, action)

    async def run(session: Any, actor: Any) -> Any:
        return await call(session, actor, subject, people)

    try:
        await call_as(engine, people, people.named(who), run)
    except PermissionDenied as exc:
        return f"403 {exc.message}"
    except NotFound as exc:
        return f"404 {exc.message}"
    after = await reload(engine, spec.model, subject.id)
    return f"ok {getattr(after, spec.machine.column).value}"


@pytest.mark.parametrize(("machine", "action"), sorted(ALLOWED), ids=[f"{m}-{a}" for m, a in sorted(ALLOWED)])
async def test_who_may_act(engine: AsyncEngine, people: People, machine: str, action: str) -> None:
    spec = SPECS[machine]
    transition = spec.machine.transition(action)
    state = sorted(transition.sources, key=lambda s: list(spec.machine.states).index(s))[0]
    outcomes = {who: await attempt(engine, people, spec, action, state, who) for who in EVERYONE}
    not_found = {
        "project": "This project does not exist or you do not have access to it.",
        "milestone": "This milestone does not exist or you do not have access to it.",
        "sample_round": "This sample round does not exist or you do not have access to it.",
        "change_request": "This change request does not exist or you do not have access to it.",
        "task": "This task does not exist or you do not have access to it.",
        "spec_revision": "This spec revision does not exist or you do not have access to it.",
    }[machine]
    expected = {}
    for who in EVERYONE:
        if who in ALLOWED[(machine, action)]:
            expected[who] = f"ok {spec.expected_state(action, state).value}"
        elif who == "owner_b":  # another organization's record: it does not exist for them
            expected[who] = f"404 {not_found}"
        elif who == "viewer_a":
            expected[who] = f"403 {VIEWER_MESSAGE}"
        else:
            expected[who] = f"403 {transition.forbidden}"
    assert outcomes == expected
