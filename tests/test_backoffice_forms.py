"""The back office's workflow forms (backoffice.forms), through HTTP with piccolo-admin's CSRF, on both databases.

A signed-in coordinator posts each form as the admin's page does (JSON, X-CSRFToken); a success writes the change and
its audit event, a failed precondition answers 422 with the service's message and writes nothing. Most tests sign
in with a back-office session row rather than the login form: piccolo-admin limits logins per address for the whole
(shared) app, and the login itself is tested in tests/test_backoffice.py.
"""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backoffice.config import SPECS
from makeready.accounts import service as accounts
from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import Invitation, OrgRole, User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.notify.models import EmailOutbox
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project, Question, Task, TaskStatus
from makeready.samples.models import SampleRound, SampleStatus
from makeready.suppliers.models import Quote, Supplier
from tests.conftest import PASSWORD, World, csrf
from tests.workflow_support import (
    People,
    make_attachment,
    make_change,
    make_milestone,
    make_project,
    reload,
    system,
)

Client = AsyncTestClient[Litestar]

FORMS = [
    "advance-a-project",
    "put-a-project-on-hold",
    "resume-a-project",
    "cancel-a-project",
    "plan-milestones-from-a-template",
    "assign-a-milestone",
    "start,-complete-or-reopen-a-milestone",
    "record-a-sample-round",
    "mark-a-sample-round-in-production,-shipped-or-received",
    "decide-a-change-request",
    "record-a-decision",
    "ask-the-brand-a-question",
    "attach-a-milestone-fee",
    "cancel-a-milestone-fee",
    "retry-invoicing-a-fee",
    "re-process-a-stripe-event",
    "create-a-user",
    "invite-a-brand-user",
    "sign-a-user-out-everywhere",
]


async def people_of(engine: AsyncEngine, world: World) -> People:
    """The conftest world as workflow_support's People, with a second coordinator who can sign in."""
    async with system(engine) as session:
        second = await accounts.create_user(
            session, email="coord2@agency.test", password=PASSWORD, name="Wang Coordinator", is_staff=True
        )
    return People(
        org_a=world.org_a,
        org_b=world.org_b,
        owner_a=world.owner_a,
        member_a=world.member_a,
        viewer_a=world.viewer_a,
        owner_b=world.owner_b,
        coordinator=world.coordinator,
        coordinator2=second,
        admin=world.admin,
    )


async def sign_in(client: Client, engine: AsyncEngine, user: User) -> None:
    """A back-office session for `user`, as the login leaves it (token cookie `id`), and the CSRF cookie."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with system(engine) as session:
        session.add(
            AdminSession(
                token=token,
                user_id=user.id,
                expiry_date=now + timedelta(hours=1),
                max_expiry_date=now + timedelta(hours=2),
            )
        )
    client.cookies = httpx.Cookies()
    client.cookies.set("id", token)
    await client.get("/admin/")  # the CSRF cookie


async def submit(client: Client, slug: str, data: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post(
        f"/admin/api/forms/{slug}/", json=data, headers={"X-CSRFToken": csrf(client), **headers}
    )


def refused(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    message: str = response.json()["custom_form_error"]
    return message


def succeeded(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    message: str = response.json()["custom_form_success"]
    return message


async def audit(engine: AsyncEngine, action: str) -> list[AuditEvent]:
    async with system(engine) as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return list(rows.all())


async def count(engine: AsyncEngine, model: Any) -> int:
    async with system(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# -- the forms exist, in the reader's language ---------------------------------------------------------------------


async def test_forms_are_listed_grouped_and_translated(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    await sign_in(client, engine, world.coordinator)
    listed = (await client.get("/admin/api/forms/")).json()
    assert [form["slug"] for form in listed] == FORMS
    grouped = (await client.get("/admin/api/forms/grouped/")).json()["grouped"]
    assert set(grouped) == {
        "Project workflow",
        "Milestones",
        "Samples and changes",
        "Decisions and questions",
        "Billing",
        "Users",
    }
    schema = (await client.get("/admin/api/forms/advance-a-project/schema/")).json()
    assert schema["properties"]["project"]["title"] == "Project (name or number)"

    zh = {"Accept-Language": "zh-CN"}
    grouped = (await client.get("/admin/api/forms/grouped/", headers=zh)).json()["grouped"]
    assert "用户" in grouped
    names = [form["name"] for form in (await client.get("/admin/api/forms/", headers=zh)).json()]
    assert "推进项目阶段" in names
    schema = (await client.get("/admin/api/forms/advance-a-project/schema/", headers=zh)).json()
    assert schema["properties"]["project"]["title"] == "项目（名称或编号）"
    # the slug never changes with the language
    assert [form["slug"] for form in (await client.get("/admin/api/forms/", headers=zh)).json()] == FORMS


async def test_forms_need_the_csrf_header_and_a_coordinator(
    client: Client, engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    await sign_in(client, engine, world.coordinator)
    forged = await client.post(
        "/admin/api/forms/put-a-project-on-hold/",
        json={"project": project.name, "reason": "Budget"},
        headers={"X-CSRFToken": "forged"},
    )
    assert forged.status_code == 403
    # a brand user's session opens nothing: no table, no row, no form
    await sign_in(client, engine, world.owner_a)
    for table in SPECS:
        for url in (
            f"/admin/api/tables/{table}/",
            f"/admin/api/tables/{table}/schema/",
            f"/admin/api/tables/{table}/1/",
        ):
            assert (await client.get(url)).status_code == 401, url
        response = await client.post(
            f"/admin/api/tables/{table}/", json={}, headers={"X-CSRFToken": csrf(client)}
        )
        assert response.status_code == 401, table
    for url in ("/admin/api/forms/", "/admin/api/forms/grouped/", "/admin/api/tables/", "/admin/api/user/"):
        assert (await client.get(url)).status_code == 401, url
    for slug in FORMS:
        assert (await client.get(f"/admin/api/forms/{slug}/schema/")).status_code == 401, slug
        response = await submit(client, slug, {"project": project.name, "reason": "Mine"})
        assert response.status_code == 401, slug
    assert (await reload(engine, Project, project.id)).phase == Phase.development
    assert await audit(engine, "project.phase_changed") == []


# -- the project's phase ---------------------------------------------------------------------------------------------


async def test_advance_passes_the_gate_and_records_who_and_why(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = await people_of(engine, world)
    ready = await make_project(engine, people, phase=Phase.production, name="Arc Pendant")
    await make_milestone(engine, ready, phase=Phase.production, title="Shipment", status=MilestoneStatus.done)
    blocked = await make_project(engine, people, phase=Phase.production, name="Tide Lamp")
    await make_milestone(engine, blocked, phase=Phase.production, title="Final inspection")
    await sign_in(client, engine, world.coordinator)

    message = refused(
        await submit(
            client, "advance-a-project", {"project": "tide lamp", "to_phase": "delivered", "reason": "x"}
        )
    )
    assert (
        message
        == "The project cannot move to Delivered yet: These production milestones are not done: Final inspection."
    )
    assert (await reload(engine, Project, blocked.id)).phase == Phase.production
    assert await audit(engine, "project.phase_changed") == []

    # the phase may be named by its label in either language, the project by its number
    message = succeeded(
        await submit(
            client,
            "advance-a-project",
            {"project": f"#{ready.id}", "to_phase": "已交付", "reason": "All shipped."},
        )
    )
    assert message == "Arc Pendant is now in Delivered."
    assert (await reload(engine, Project, ready.id)).phase == Phase.delivered
    [event] = await audit(engine, "project.phase_changed")
    assert (event.actor_id, event.subject_id, event.reason) == (
        world.coordinator.id,
        ready.id,
        "All shipped.",
    )
    assert (event.before, event.after["phase"]) == ({"phase": "production"}, "delivered")

    message = refused(
        await submit(client, "advance-a-project", {"project": "Tide Lamp", "to_phase": "on hold"})
    )
    assert message == "Choose the phase: Development, Production, Delivered."


async def test_hold_resume_and_cancel(client: Client, engine: AsyncEngine, world: World) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    await sign_in(client, engine, world.coordinator)

    assert refused(
        await submit(client, "put-a-project-on-hold", {"project": project.name, "reason": " "})
    ) == ("Give a reason: it is recorded with the decision.")
    succeeded(
        await submit(client, "put-a-project-on-hold", {"project": project.name, "reason": "Budget review"})
    )
    held = await reload(engine, Project, project.id)
    assert (held.phase, held.held_from) == (Phase.on_hold, Phase.development)
    assert succeeded(await submit(client, "resume-a-project", {"project": project.name})) == (
        "Arc Pendant is back in Development."
    )
    assert (await reload(engine, Project, project.id)).phase == Phase.development
    succeeded(
        await submit(client, "cancel-a-project", {"project": project.name, "reason": "The brand stopped."})
    )
    assert (await reload(engine, Project, project.id)).phase == Phase.cancelled
    assert [e.reason for e in await audit(engine, "project.phase_changed")] == [
        "Budget review",
        "",
        "The brand stopped.",
    ]
    # a cancelled project no longer moves; nor can it be found among the projects to act on... it still can: by name
    message = refused(await submit(client, "resume-a-project", {"project": project.name}))
    assert message == "Only a project on hold can be resumed; this one is Cancelled."


async def test_two_coordinators_acting_on_the_same_record(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    """The second of two coordinators gets a conflict message and overwrites nothing: by state (a transition
    already made) or by version (an edit made since they looked)."""
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project, title="First sample")
    first, second = world.coordinator, people.coordinator2

    await sign_in(client, engine, first)
    first_cookies = httpx.Cookies(client.cookies)
    await sign_in(client, engine, second)
    second_cookies = httpx.Cookies(client.cookies)

    client.cookies = first_cookies
    succeeded(
        await submit(
            client, "put-a-project-on-hold", {"project": project.name, "reason": "Budget", "version": 1}
        )
    )
    client.cookies = second_cookies
    message = refused(
        await submit(
            client, "put-a-project-on-hold", {"project": project.name, "reason": "Tooling", "version": 1}
        )
    )
    assert message == (
        "Someone else changed this project while you were looking at it: it is now On hold. Reload it and try again."
    )
    message = refused(
        await submit(client, "put-a-project-on-hold", {"project": project.name, "reason": "Tooling"})
    )
    assert message.startswith("Only a project in feasibility, development or production can be put on hold")
    held = await reload(engine, Project, project.id)
    assert (held.phase, held.held_from, held.version) == (Phase.on_hold, Phase.development, 2)
    assert [e.reason for e in await audit(engine, "project.phase_changed")] == ["Budget"]

    # both assign the milestone they looked at (version 1): the second is refused, the first's owner stays
    due = (date.today() + timedelta(days=20)).isoformat()
    client.cookies = first_cookies
    data = {"project": project.name, "milestone": "first sample", "due_date": due, "version": 1}
    succeeded(await submit(client, "assign-a-milestone", {**data, "owner": "coord@agency.test"}))
    client.cookies = second_cookies
    message = refused(await submit(client, "assign-a-milestone", {**data, "owner": "coord2@agency.test"}))
    assert message.startswith("Someone else changed this milestone while you were looking at it")
    assert (await reload(engine, Milestone, milestone.id)).owner_id == first.id
    assert len(await audit(engine, "milestone.assigned")) == 1


# -- naming things -------------------------------------------------------------------------------------------------


async def test_projects_are_named_not_numbered(client: Client, engine: AsyncEngine, world: World) -> None:
    people = await people_of(engine, world)
    lamp = await make_project(engine, people, phase=Phase.development, name="Desk lamp")
    lamp_b = await make_project(engine, people, phase=Phase.development, name="Desk lamp", org="b")
    await make_project(engine, people, phase=Phase.development, name="Floor lamp")
    await sign_in(client, engine, world.coordinator)

    message = refused(
        await submit(client, "ask-the-brand-a-question", {"project": "Desk lamp", "question": "?"})
    )
    assert message == (
        f"Several match “Desk lamp”: Desk lamp (#{lamp.id}, Acme Lamps); "
        f"Desk lamp (#{lamp_b.id}, Borealis Bags). Write the number (#) of the one you mean."
    )
    message = refused(await submit(client, "ask-the-brand-a-question", {"project": "lamp", "question": "?"}))
    assert message.startswith("Several match “lamp”:")
    message = refused(await submit(client, "ask-the-brand-a-question", {"project": "Sofa", "question": "?"}))
    assert message.startswith("No project matches “Sofa”. There are: Desk lamp")
    assert refused(
        await submit(client, "ask-the-brand-a-question", {"project": "#987654", "question": "?"})
    ) == ("There is no project number 987654.")
    # a unique part of a name is enough
    assert (
        succeeded(
            await submit(
                client, "ask-the-brand-a-question", {"project": "floor", "question": "Which plug type?"}
            )
        )
        == "The question was sent to Acme Lamps; they answer it on the project page."
    )
    assert await count(engine, Question) == 1


# -- milestones ----------------------------------------------------------------------------------------------------


async def test_plan_assign_start_and_complete_milestones(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    await sign_in(client, engine, world.coordinator)
    start = date.today()

    message = refused(
        await submit(
            client,
            "plan-milestones-from-a-template",
            {"project": project.name, "template": "sprint", "start": str(start)},
        )
    )
    assert message == "Choose the template: Standard plan: feasibility to shipment, Another sample round."
    message = succeeded(
        await submit(
            client,
            "plan-milestones-from-a-template",
            {"project": project.name, "template": "development_round", "start": str(start), "owner": "Chen"},
        )
    )
    assert message == (
        "Added 3 milestones to Arc Pendant: Sample round requested, Sample received, Sample decision."
    )
    async with system(engine) as session:
        planned = list(
            (
                await session.scalars(
                    select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.position)
                )
            ).all()
        )
    assert [(m.title, m.owner_id, m.due_date) for m in planned] == [
        ("Sample round requested", world.coordinator.id, start + timedelta(days=7)),
        ("Sample received", world.coordinator.id, start + timedelta(days=28)),
        ("Sample decision", world.coordinator.id, start + timedelta(days=35)),
    ]
    assert len(await audit(engine, "milestone.planned")) == 1
    assert (
        succeeded(
            await submit(
                client,
                "plan-milestones-from-a-template",
                {"project": project.name, "template": "development_round", "start": str(start)},
            )
        )
        == "Arc Pendant already has every milestone of this template; nothing was added."
    )

    # a brand viewer cannot own a milestone; a brand member can
    data = {"project": project.name, "milestone": "received", "due_date": str(start + timedelta(days=30))}
    assert refused(await submit(client, "assign-a-milestone", {**data, "owner": "viewer@acme.test"})) == (
        "A milestone's owner must be a coordinator or an owner or member of the brand."
    )
    assert refused(
        await submit(client, "assign-a-milestone", {**data, "milestone": "Sample", "owner": "x"})
    ).startswith("Several match “Sample”")
    succeeded(await submit(client, "assign-a-milestone", {**data, "owner": "member@acme.test"}))
    received = await reload(engine, Milestone, planned[1].id)
    assert (received.owner_id, received.due_date) == (world.member_a.id, start + timedelta(days=30))

    step = {"project": project.name, "milestone": "Sample round requested"}
    assert refused(
        await submit(client, "start,-complete-or-reopen-a-milestone", {**step, "step": "complete"})
    ) == ("Only a milestone in progress can be completed; this one is Planned. Start it first.")
    succeeded(await submit(client, "start,-complete-or-reopen-a-milestone", {**step, "step": "start"}))
    assert succeeded(
        await submit(client, "start,-complete-or-reopen-a-milestone", {**step, "step": "Complete"})
    ) == ("Sample round requested of Arc Pendant is now Done.")
    assert refused(
        await submit(client, "start,-complete-or-reopen-a-milestone", {**step, "step": "reopen"})
    ) == ("Give a reason: it is recorded with the decision.")
    assert (await reload(engine, Milestone, planned[0].id)).status == MilestoneStatus.done
    assert [
        len(await audit(engine, a))
        for a in ("milestone.started", "milestone.completed", "milestone.reopened")
    ] == [1, 1, 0]


# -- samples and change requests -----------------------------------------------------------------------------------


async def test_record_and_progress_a_sample_round(client: Client, engine: AsyncEngine, world: World) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    early = await make_project(engine, people, phase=Phase.feasibility, name="Halo Sconce")
    async with system(engine) as session:
        supplier = Supplier(name_en="Foshan Bright Metalworks", name_zh="佛山明亮五金")
        session.add(supplier)
    await sign_in(client, engine, world.coordinator)

    assert refused(await submit(client, "record-a-sample-round", {"project": early.name})) == (
        "Sample rounds are made in development; this project is Feasibility."
    )
    message = succeeded(
        await submit(
            client, "record-a-sample-round", {"project": project.name, "supplier": "明亮", "notes": "Brass"}
        )
    )
    assert message == (
        f"Sample round 1 of Arc Pendant is requested. Upload its photos on /coordinator/projects/{project.id}."
    )
    async with system(engine) as session:
        sample = (await session.scalars(select(SampleRound))).one()
    assert (sample.number, sample.supplier_id, sample.coordinator_notes) == (1, supplier.id, "Brass")
    assert len(await audit(engine, "sample_round.requested")) == 1
    assert refused(await submit(client, "record-a-sample-round", {"project": project.name})) == (
        "Sample round 1 is still Requested: it needs the brand's decision before a new round."
    )

    move = "mark-a-sample-round-in-production,-shipped-or-received"
    assert refused(await submit(client, move, {"project": project.name, "step": "shipped"})) == (
        "Only a sample round in production can be shipped; this one is Requested."
    )
    assert refused(
        await submit(client, move, {"project": project.name, "round_number": 7, "step": "shipped"})
    ) == ("Arc Pendant has no sample round 7.")
    for step in ("in production", "shipped", "received"):
        succeeded(await submit(client, move, {"project": project.name, "round_number": 1, "step": step}))
    assert (await reload(engine, SampleRound, sample.id)).status == SampleStatus.received
    assert [
        len(await audit(engine, f"sample_round.{s}")) for s in ("in_production", "shipped", "received")
    ] == [1, 1, 1]


async def test_decide_a_change_request(client: Client, engine: AsyncEngine, world: World) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    change = await make_change(engine, project, status=ChangeStatus.open, raised_by=world.owner_a)
    await sign_in(client, engine, world.coordinator)
    data = {"project": project.name, "decision": "approve"}

    assert refused(await submit(client, "decide-a-change-request", {**data, "note": ""})) == (
        "Write a note that explains the decision: it is recorded with it."
    )
    assert (await reload(engine, ChangeRequest, change.id)).status == ChangeStatus.open
    assert succeeded(
        await submit(client, "decide-a-change-request", {**data, "note": "Agreed with the factory."})
    ) == ("Change request 1 of Arc Pendant is Approved.")
    decided = await reload(engine, ChangeRequest, change.id)
    assert (decided.status, decided.decided_by_id, decided.decision_note) == (
        ChangeStatus.approved,
        world.coordinator.id,
        "Agreed with the factory.",
    )
    [event] = await audit(engine, "change_request.approved")
    assert event.reason == "Agreed with the factory."
    # the approval's trigger opened a spec revision task in the same transaction
    async with system(engine) as session:
        opened = (await session.scalars(select(Task).where(Task.project_id == project.id))).all()
    assert [t.status for t in opened] == [TaskStatus.open]
    assert refused(await submit(client, "decide-a-change-request", {**data, "note": "Again"})) == (
        f"{project.name} has no open change request."
    )


# -- decisions and questions -----------------------------------------------------------------------------------------


async def test_record_a_decision_with_its_files(client: Client, engine: AsyncEngine, world: World) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    drawing = await make_attachment(engine, project, "lid-drawing")
    other = await make_project(engine, people, phase=Phase.development, name="Tide Lamp")
    foreign = await make_attachment(engine, other, "tide")
    await sign_in(client, engine, world.coordinator)
    data = {"project": project.name, "text": "Agreed with the factory: 0.2 mm tolerance on the lid."}

    assert refused(
        await submit(client, "record-a-decision", {**data, "attachments": f"#{foreign.id}"})
    ).startswith("No file matches")
    assert refused(await submit(client, "record-a-decision", {**data, "text": "  "})) == (
        "Write the decision in at most 5000 characters."
    )
    assert await audit(engine, "decision.recorded") == []
    assert succeeded(
        await submit(client, "record-a-decision", {**data, "attachments": "lid-drawing.jpg"})
    ) == ("The decision is recorded on Arc Pendant.")
    [event] = await audit(engine, "decision.recorded")
    assert (event.actor_id, event.project_id, event.reason) == (
        world.coordinator.id,
        project.id,
        data["text"],
    )
    assert event.after == {"attachment_ids": [drawing.id]}


# -- people --------------------------------------------------------------------------------------------------------


async def test_invite_a_brand_user(client: Client, engine: AsyncEngine, world: World) -> None:
    await sign_in(client, engine, world.coordinator)
    data = {"organization": "Acme", "email": "New.Person@Acme.test", "role": "member"}
    assert refused(await submit(client, "invite-a-brand-user", {**data, "role": "boss"})) == (
        "Choose the role: owner, member, viewer."
    )
    assert refused(await submit(client, "invite-a-brand-user", {**data, "email": "member@acme.test"})) == (
        "member@acme.test is already a member of this organization."
    )
    assert await count(engine, Invitation) == 0
    assert succeeded(await submit(client, "invite-a-brand-user", data)) == (
        "Invited new.person@acme.test to Acme Lamps as member; the invitation link was emailed to them."
    )
    async with system(engine) as session:
        invitation = (await session.scalars(select(Invitation))).one()
        emails = (await session.scalars(select(EmailOutbox))).all()
    assert (invitation.org_id, invitation.email, invitation.role, invitation.invited_by_id) == (
        world.org_a.id,
        "new.person@acme.test",
        OrgRole.member,
        world.coordinator.id,
    )
    assert [e.to_email for e in emails] == ["new.person@acme.test"]
    assert len(await audit(engine, "invitation.sent")) == 1


# -- deleting what history depends on ------------------------------------------------------------------------------


async def test_records_with_a_history_are_archived_not_deleted(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = await people_of(engine, world)
    decided = await make_project(engine, people, phase=Phase.development, name="Decided")
    mistake = await make_project(engine, people, phase=Phase.feasibility, name="Typo")
    async with system(engine) as session:
        supplier = Supplier(name_en="Ningbo Mould Co")
        unused = Supplier(name_en="Never used")
        session.add_all([supplier, unused])
        await session.flush()
        session.add(
            Quote(org_id=decided.org_id, project_id=decided.id, supplier_id=supplier.id, price_breaks=[])
        )
    await sign_in(client, engine, world.coordinator)
    succeeded(
        await submit(client, "record-a-decision", {"project": "Decided", "text": "Use the brass finish."})
    )
    headers = {"X-CSRFToken": csrf(client)}

    response = await client.delete(f"/admin/api/tables/projects/{decided.id}/", headers=headers)
    assert response.status_code == 409
    assert "archive it instead" in response.json()["detail"]
    response = await client.delete(f"/admin/api/tables/suppliers/{supplier.id}/", headers=headers)
    assert response.status_code == 409
    assert "archive it instead" in response.json()["detail"]
    assert (await client.delete("/admin/api/tables/projects/", headers=headers)).status_code == 405
    assert await count(engine, Project) == 2
    assert await count(engine, Supplier) == 2

    # archiving is the way: the project leaves the board, its history stays
    row = (await client.get(f"/admin/api/tables/projects/{decided.id}/")).json()
    archived = await client.patch(
        f"/admin/api/tables/projects/{decided.id}/",
        json={**row, "archived_at": datetime.now(UTC).isoformat()},
        headers=headers,
    )
    assert archived.status_code == 200, archived.text
    assert (await reload(engine, Project, decided.id)).archived_at is not None
    assert len(await audit(engine, "decision.recorded")) == 1

    # a row with no history (entered by mistake) can go
    assert (
        await client.delete(f"/admin/api/tables/projects/{mistake.id}/", headers=headers)
    ).status_code < 300
    assert (
        await client.delete(f"/admin/api/tables/suppliers/{unused.id}/", headers=headers)
    ).status_code < 300
    assert await count(engine, Project) == 1


async def test_a_raw_edit_of_a_workflow_column_points_at_its_form(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    people = await people_of(engine, world)
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(engine, project)
    await sign_in(client, engine, world.coordinator)
    headers = {"X-CSRFToken": csrf(client)}
    response = await client.patch(
        f"/admin/api/tables/projects/{project.id}/", json={"phase": "production"}, headers=headers
    )
    assert response.status_code == 422
    assert "“Advance a project”" in response.json()["detail"]
    response = await client.patch(
        f"/admin/api/tables/milestones/{milestone.id}/", json={"status": "done"}, headers=headers
    )
    assert response.status_code == 422
    assert "“Start, complete or reopen a milestone”" in response.json()["detail"]
    assert (await reload(engine, Project, project.id)).phase == Phase.development
