"""The brand's project pages through HTTP: submitting a product (form, CSRF, every field's message, roles), the project
page (files and their versions, the coordinator's questions answered in place, the decision log in the reader's
language with stored text escaped) and the dashboard (what waits on the brand first)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit import service as audit
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.feasibility.models import FeasibilityReview
from makeready.kernel import bus
from makeready.projects import service as projects
from makeready.projects.models import Attachment, Milestone, Phase, Project, Question
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.settings import StorageSettings
from makeready.storage import reset_storage, set_storage
from makeready.storage.local import LocalStorage
from makeready.workflow import decisions, overview, waiting_flags
from tests.conftest import World, csrf, login
from tests.s3server import pdf_bytes, png_bytes

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FUTURE = (date.today() + timedelta(days=120)).isoformat()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalStorage]:
    settings = StorageSettings().model_copy(update={"media_root": tmp_path / "media"})
    storage = LocalStorage(settings, secret_key="portal-projects-test-secret-0123456789")
    set_storage(storage)
    yield storage
    reset_storage()


def form(client: AsyncTestClient[Litestar], **values: str) -> dict[str, str]:
    return {"_csrf_token": csrf(client), **values}


def valid_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "name": "Arc floor lamp",
        "category": "Lighting",
        "description": "A brass arc lamp with an opal glass shade.",
        "materials_notes": "Brushed brass, opal glass, braided cable",
        "target_quantity": "1200",
        "target_unit_price": "48.5",
        "currency": "eur",
        "target_date": FUTURE,
    }
    fields.update(overrides)
    return fields


async def count(engine: AsyncEngine, model: Any, *where: Any) -> int:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def make_project(engine: AsyncEngine, world: World, name: str = "Desk lamp", *, org: str = "a") -> int:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            owner = world.owner_a if org == "a" else world.owner_b
            org_id = world.org_a.id if org == "a" else world.org_b.id
            project = await projects.create_project(session, actor=owner, org_id=org_id, data={"name": name})
            project.coordinator_id = world.coordinator.id
    return project.id


async def ask(engine: AsyncEngine, world: World, project_id: int, body: str) -> Question:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            return await decisions.ask_question(
                session, actor=world.coordinator, project_id=project_id, body=body
            )


# --- submitting a product ----------------------------------------------------------------------------------------


async def test_submit_a_product_through_the_form(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    await login(client, world.member_a.email)
    dashboard = await client.get("/")
    assert 'href="/projects/new"' in dashboard.text

    page = await client.get("/projects/new")
    assert page.status_code == 200
    assert 'name="materials_notes"' in page.text
    assert "data-upload" in page.text
    assert '<script src="/static/upload.js"' in page.text

    response = await client.post("/projects/new", data=form(client, **valid_fields()), follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/projects/(\d+)\?submitted=1#files", response.headers["location"])
    assert match is not None
    project_id = int(match.group(1))

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        project = await session.get_one(Project, project_id)
        assert project.org_id == world.org_a.id
        assert project.phase == Phase.feasibility
        assert project.name == "Arc floor lamp"
        assert project.materials_notes == "Brushed brass, opal glass, braided cable"
        assert project.target_quantity == 1200
        assert str(project.target_unit_price) == "48.50"
        assert project.currency == "EUR"
        assert project.target_date == date.fromisoformat(FUTURE)
        milestones = await session.scalar(
            select(func.count()).select_from(Milestone).where(Milestone.project_id == project_id)
        )
        assert milestones == len(projects.STANDARD_MILESTONES)
        event = await session.scalar(select(AuditEvent).where(AuditEvent.project_id == project_id))
        assert event is not None
        assert event.action == "project.created"
        assert event.actor_id == world.member_a.id

    shown = await client.get(response.headers["location"])
    assert shown.status_code == 200
    assert "Your product was submitted" in shown.text
    assert "Brushed brass, opal glass, braided cable" in shown.text
    assert "<svg" in shown.text
    assert "member_a submitted the product." in shown.text


async def test_a_submission_fires_the_project_created_trigger(
    client: AsyncTestClient[Litestar], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook where a coordinator is told: a rule registered for "project.created" runs in the submission's
    transaction, with the new project and who submitted it."""
    seen: list[tuple[str, int | None, str]] = []

    async def rule(session: AsyncSession, event: bus.Event) -> None:
        seen.append((event.name, event.project_id, event.actor.email if event.actor else ""))

    monkeypatch.setitem(bus._RULES, "project.created", [*bus.rules_for("project.created"), rule])
    await login(client, world.member_a.email)
    response = await client.post("/projects/new", data=form(client, **valid_fields()), follow_redirects=False)
    assert response.status_code == 303
    project_id = int(response.headers["location"].split("/")[2].split("?")[0])
    assert seen == [("project.created", project_id, world.member_a.email)]


async def test_the_script_gets_json_answers(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    """upload.js posts the form with Accept: application/json: 201 with the id, or 422 with a message per field."""
    await login(client, world.owner_a.email)
    headers = {"accept": "application/json"}
    bad = await client.post("/projects/new", data=form(client, **valid_fields(name="")), headers=headers)
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"name"}
    assert await count(engine, Project) == 0

    good = await client.post("/projects/new", data=form(client, **valid_fields()), headers=headers)
    assert good.status_code == 201, good.text
    body = good.json()
    assert body["url"] == f"/projects/{body['id']}"
    assert await count(engine, Project, Project.id == body["id"]) == 1


async def test_bad_input_shows_the_form_again_with_every_message_and_writes_nothing(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    await login(client, world.owner_a.email)
    events_before = await count(engine, AuditEvent)
    fields = valid_fields(
        name="   ",
        category=HOSTILE * 2,
        description="x" * 10_001,
        target_quantity="-3",
        target_unit_price="cheap",
        currency="DOLLARS",
        target_date=(date.today() - timedelta(days=1)).isoformat(),
    )
    response = await client.post("/projects/new", data=form(client, **fields))
    assert response.status_code == 400
    text = response.text
    for message in (
        "The product needs a name of at most 200 characters.",
        "The category can be at most 100 characters long.",
        "The description can be at most 10000 characters long.",
        "The quantity must be a positive number.",
        "The unit price must be a number.",
        "The currency must be a three-letter code such as USD.",
        "The target date must be in the future.",
    ):
        assert message in text, message
    assert 'aria-invalid="true"' in text
    # what was typed is kept, as text
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert" in text
    assert "cheap" in text
    assert await count(engine, Project) == 0
    assert await count(engine, Milestone) == 0
    assert await count(engine, AuditEvent) == events_before

    bad_date = await client.post("/projects/new", data=form(client, **valid_fields(target_date="31/12/2030")))
    assert bad_date.status_code == 400
    assert "The target date must be a date (YYYY-MM-DD)." in bad_date.text
    assert await count(engine, Project) == 0


async def test_viewers_see_no_button_and_get_403(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    await login(client, world.viewer_a.email)
    dashboard = await client.get("/")
    assert dashboard.status_code == 200
    assert 'href="/projects/new"' not in dashboard.text
    page = await client.get("/projects/new")
    assert page.status_code == 403
    assert "Viewers can look but not submit products" in page.text
    posted = await client.post("/projects/new", data=form(client, **valid_fields()))
    assert posted.status_code == 403
    assert "Viewers can look but not submit products" in posted.text
    assert await count(engine, Project) == 0


async def test_submitting_needs_the_csrf_token(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    await login(client, world.owner_a.email)
    response = await client.post("/projects/new", data=valid_fields())
    assert response.status_code == 403
    assert await count(engine, Project) == 0


async def test_staff_choose_the_client_and_brands_cannot_pick_another(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    await login(client, world.owner_a.email)
    other = await client.post(
        "/projects/new", data=form(client, **valid_fields(), org_id=str(world.org_b.id))
    )
    assert other.status_code == 400
    assert "Choose the organization the product is for." in other.text
    assert await count(engine, Project) == 0

    client.cookies.clear()
    await login(client, world.coordinator.email)
    page = await client.get("/projects/new")
    assert page.status_code == 200
    assert world.org_a.name in page.text
    assert world.org_b.name in page.text
    missing = await client.post("/projects/new", data=form(client, **valid_fields()))
    assert missing.status_code == 400
    assert "Choose the organization the product is for." in missing.text
    made = await client.post(
        "/projects/new",
        data=form(client, **valid_fields(), org_id=str(world.org_b.id)),
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert await count(engine, Project, Project.org_id == world.org_b.id) == 1


# --- files and versions ------------------------------------------------------------------------------------------


async def upload(client: AsyncTestClient[Litestar], project_id: int, name: str, content: bytes) -> int:
    headers = {"x-csrftoken": csrf(client)}
    start = await client.post(
        f"/api/v1/projects/{project_id}/uploads",
        json={"filename": name, "kind": "design", "size": len(content)},
        headers=headers,
    )
    assert start.status_code == 200, start.text
    ticket = start.json()
    posted = await client.post(ticket["url"], data=ticket["fields"], files={"file": (name, content)})
    assert posted.status_code == 204, posted.text
    added = await client.post(
        f"/api/v1/projects/{project_id}/files",
        json={"key": ticket["key"], "original_name": name},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    return int(added.json()["id"])


async def test_files_are_listed_with_their_versions(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, local: LocalStorage
) -> None:
    project_id = await make_project(engine, world)
    await login(client, world.member_a.email)
    first = await upload(client, project_id, "lamp drawing.pdf", pdf_bytes("one"))
    photo = await upload(client, project_id, "reference.png", png_bytes())
    second = await upload(client, project_id, "lamp drawing.pdf", pdf_bytes("two, longer"))
    client.cookies.clear()
    await login(client, world.owner_a.email)
    third = await upload(client, project_id, "lamp drawing.pdf", pdf_bytes("three"))

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            # a sample round's photo is shown with its round, not among the design files
            sample_file = Attachment(
                org_id=world.org_a.id,
                project_id=project_id,
                kind="image",
                object_key=f"org/{world.org_a.id}/image/{'0' * 32}/sample.png",
                original_name="sample photo.png",
                size=10,
                content_type="image/png",
                checksum="0" * 64,
                uploaded_by_id=world.coordinator.id,
            )
            session.add(sample_file)
            sample = SampleRound(org_id=world.org_a.id, project_id=project_id, number=1)
            session.add(sample)
            await session.flush()
            session.add(SamplePhoto(org_id=world.org_a.id, round_id=sample.id, attachment_id=sample_file.id))
        groups, _questions = await overview.files_and_questions(session, project_id)

    assert [g.name for g in groups] == ["lamp drawing.pdf", "reference.png"]
    assert [(v.id, v.number) for v in groups[0].versions] == [(third, 3), (second, 2), (first, 1)]
    assert [v.uploader for v in groups[0].versions] == ["owner_a", "member_a", "member_a"]
    assert [(v.id, v.number) for v in groups[1].versions] == [(photo, 1)]
    # the lists are read through the caller's scope: another organization's reader gets none of them
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_b.id, {world.org_b.id}))
        outsider_files, outsider_questions = await overview.files_and_questions(session, project_id)
    assert outsider_files == []
    assert outsider_questions.open == []
    assert outsider_questions.answered == []

    page = (await client.get(f"/projects/{project_id}")).text
    section = page.split('id="files"', 1)[1].split("</section>", 1)[0]
    assert "sample photo.png" not in section
    assert section.index(f'data-file="{third}"') < section.index(f'data-file="{second}"')
    assert section.index(f'data-file="{second}"') < section.index(f'data-file="{first}"')
    for file_id, version in ((third, 3), (second, 2), (first, 1)):
        assert f'href="/api/v1/files/{file_id}/download"' in section
        assert f">v{version}</a>" in section
    assert "latest" in section
    assert "owner_a" in section
    assert "data-upload" in section  # members and owners may add files here

    download = await client.get(f"/api/v1/files/{third}/download", follow_redirects=False)
    assert download.status_code == 302


async def test_viewers_see_files_but_no_upload(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    project_id = await make_project(engine, world)
    await login(client, world.viewer_a.email)
    page = await client.get(f"/projects/{project_id}")
    assert page.status_code == 200
    section = page.text.split('id="files"', 1)[1].split("</section>", 1)[0]
    assert "data-upload" not in section
    assert "No files yet." in section


# --- questions -----------------------------------------------------------------------------------------------------


async def test_the_brand_answers_a_question_in_place(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    project_id = await make_project(engine, world)
    question = await ask(engine, world, project_id, "Which RAL colour for the base? " + HOSTILE)
    await login(client, world.member_a.email)
    page = (await client.get(f"/projects/{project_id}")).text
    assert f'action="/projects/{project_id}/questions/{question.id}/answer"' in page
    assert "Which RAL colour for the base?" in page
    assert "<script>alert" not in page
    assert f"{world.coordinator.display_name} asked on" in page
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_b.id, {world.org_b.id}))
        assert (await overview.files_and_questions(session, project_id))[1].open == []
        set_scope(session, Scope.member(world.member_a.id, {world.org_a.id}))
        assert [q.id for q in (await overview.files_and_questions(session, project_id))[1].open] == [
            question.id
        ]

    blank = await client.post(
        f"/projects/{project_id}/questions/{question.id}/answer",
        data=form(client, answer="   ", version=str(question.version)),
    )
    assert blank.status_code == 422
    assert "Write the answer in at most 5000 characters." in blank.text

    answered = await client.post(
        f"/projects/{project_id}/questions/{question.id}/answer",
        data=form(client, answer="RAL 9005, matte " + HOSTILE, version=str(question.version)),
        follow_redirects=False,
    )
    assert answered.status_code == 303
    assert answered.headers["location"] == f"/projects/{project_id}?answered=1#questions"

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        stored = await session.get_one(Question, question.id)
        assert stored.answer == "RAL 9005, matte " + HOSTILE
        assert stored.answered_by_id == world.member_a.id
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "question.answered", AuditEvent.subject_id == question.id
            )
        )
        assert event is not None
        assert event.actor_id == world.member_a.id
        assert event.project_id == project_id

    page = (await client.get(answered.headers["location"])).text
    assert "your answer was sent" in page
    assert "No open questions." in page
    assert "member_a answered: RAL 9005, matte &lt;script&gt;" in page
    assert "<script>alert" not in page

    again = await client.post(
        f"/projects/{project_id}/questions/{question.id}/answer", data=form(client, answer="Changed my mind")
    )
    assert again.status_code == 409
    assert "This question has already been answered." in again.text
    stale = await client.post(
        f"/projects/{project_id}/questions/{question.id}/answer",
        data=form(client, answer="Changed my mind", version=str(question.version)),
    )
    assert stale.status_code == 409
    assert "Someone else changed this question at the same time. Reload it and try again." in stale.text
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        assert (await session.get_one(Question, question.id)).answer == "RAL 9005, matte " + HOSTILE


async def test_answers_are_refused_to_viewers_staff_and_other_organizations(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    project_id = await make_project(engine, world)
    question = await ask(engine, world, project_id, "Is the cable length fixed?")
    other_project = await make_project(engine, world, "Borealis tote", org="b")
    url = f"/projects/{project_id}/questions/{question.id}/answer"

    await login(client, world.viewer_a.email)
    assert (
        "Owners and members of your organization answer questions."
        in (await client.get(f"/projects/{project_id}")).text
    )
    viewer = await client.post(url, data=form(client, answer="yes", version="1"))
    assert viewer.status_code == 403

    client.cookies.clear()
    await login(client, world.owner_b.email)
    theirs = await client.post(url, data=form(client, answer="yes", version="1"))
    assert theirs.status_code == 404
    # their own project with org A's question id is no better
    crossed = await client.post(
        f"/projects/{other_project}/questions/{question.id}/answer",
        data=form(client, answer="yes", version="1"),
    )
    assert crossed.status_code == 404

    client.cookies.clear()
    await login(client, world.coordinator.email)
    staff = await client.post(url, data=form(client, answer="yes", version="1"))
    assert staff.status_code == 403

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        assert (await session.get_one(Question, question.id)).answered_at is None
    assert await count(engine, AuditEvent, AuditEvent.action == "question.answered") == 0


# --- the decision log ----------------------------------------------------------------------------------------------


async def test_decision_log_reads_as_sentences_newest_first_and_escapes_stored_text(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    project_id = await make_project(engine, world, name="Lamp " + HOSTILE)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.get_project(session, project_id)
            await projects.update_project(
                session,
                actor=world.owner_a,
                project_id=project_id,
                expected_version=project.version,
                changes={"target_quantity": 500},
                reason="Launch run is smaller " + HOSTILE,
            )
            await decisions.record_decision(
                session, actor=world.coordinator, project_id=project_id, text="Tolerance 0.2 mm " + HOSTILE
            )
            # a coordinator's working step the brand does not read (quotes carry prices)
            await audit.record(
                session,
                actor_id=world.coordinator.id,
                action="quote.recorded",
                subject_type="quote",
                subject_id=1,
                org_id=world.org_a.id,
                project_id=project_id,
                after={"unit_price": "9.99"},
            )

    await login(client, world.owner_a.email)
    page = (await client.get(f"/projects/{project_id}")).text
    log = page.split('id="log"', 1)[1].split("</section>", 1)[0]
    sentences = [
        "Chen Coordinator recorded a decision.",
        "owner_a changed Target quantity.",
        "owner_a submitted the product.",
    ]
    positions = [log.index(s) for s in sentences]
    assert positions == sorted(positions)  # newest first
    assert "Target quantity: — → 500" in log
    assert "Tolerance 0.2 mm &lt;script&gt;" in log
    assert "Launch run is smaller &lt;script&gt;" in log
    assert "<script>" not in page
    assert "<img src=x" not in page
    assert "quote.recorded" not in log
    assert "9.99" not in log

    # staff see every event of the project, the working steps too
    client.cookies.clear()
    await login(client, world.coordinator.email)
    staff_log = (await client.get(f"/projects/{project_id}")).text.split('id="log"', 1)[1]
    assert "Chen Coordinator recorded a quote." in staff_log

    # in Chinese
    client.cookies.clear()
    await login(client, world.owner_a.email)
    await client.post("/locale", data=form(client, locale="zh_Hans", next="/"))
    chinese = (await client.get(f"/projects/{project_id}")).text.split('id="log"', 1)[1]
    assert "决策记录" in chinese
    assert "owner_a 提交了产品。" in chinese
    assert "owner_a submitted the product." not in chinese


async def test_decision_log_is_paginated(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    project_id = await make_project(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            for n in range(24):
                await audit.record(
                    session,
                    actor_id=world.member_a.id,
                    action="attachment.added",
                    subject_type="attachment",
                    subject_id=n,
                    org_id=world.org_a.id,
                    project_id=project_id,
                    after={"name": f"file-{n:02}.pdf"},
                )
    await login(client, world.owner_a.email)
    first = (await client.get(f"/projects/{project_id}")).text
    assert first.count('class="log-entry') == 20
    assert "member_a added the file file-23.pdf." in first
    assert "file-03.pdf" not in first
    assert "Page 1 of 2" in first
    second = (await client.get(f"/projects/{project_id}?log=2")).text
    assert second.count('class="log-entry') == 5  # 4 files and the project's creation
    assert "member_a added the file file-00.pdf." in second
    assert "owner_a submitted the product." in second
    beyond = (await client.get(f"/projects/{project_id}?log=9")).text
    assert "Back to the newest entries" in beyond


# --- the dashboard -------------------------------------------------------------------------------------------------


async def test_dashboard_lists_what_waits_on_the_brand_first(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    questioned = await make_project(engine, world, "Q lamp")
    sampled = await make_project(engine, world, "S lamp")
    reviewed = await make_project(engine, world, "F lamp")
    given = await make_project(engine, world, "G lamp")
    cancelled = await make_project(engine, world, "C lamp")
    quiet = await make_project(engine, world, "N lamp")  # the newest, and nothing waits on it
    await ask(engine, world, questioned, "Which finish?")
    await ask(engine, world, questioned, "Which plug?")
    await ask(engine, world, cancelled, "Still needed?")
    theirs = await make_project(engine, world, "Borealis tote", org="b")
    await ask(engine, world, theirs, "Which strap?")
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            now = utcnow()
            session.add(
                SampleRound(org_id=world.org_a.id, project_id=sampled, number=1, status=SampleStatus.received)
            )
            session.add(
                SampleRound(
                    org_id=world.org_a.id, project_id=sampled, number=2, status=SampleStatus.in_production
                )
            )
            for project_id in (reviewed, given):
                session.add(FeasibilityReview(org_id=world.org_a.id, project_id=project_id, completed_at=now))
            (await session.get_one(Project, given)).go_ahead_at = now
            (await session.get_one(Project, cancelled)).phase = Phase.cancelled
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            # rows written directly, past the services and their events: recompute what those projects wait on
            await waiting_flags.refresh(session, [sampled, reviewed, given, cancelled])

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        rows, total, waiting = await overview.dashboard(session)
    assert total == 6
    assert waiting == 3
    by_id = {r.project.id: r for r in rows}
    # waiting first, then the rest, each newest first (setting the go-ahead and the phase made those two newer)
    assert [r.project.id for r in rows[:3]] == [reviewed, sampled, questioned]
    assert {r.project.id for r in rows[3:]} == {quiet, cancelled, given}
    assert [r.project.updated_at for r in rows[3:]] == sorted(
        (r.project.updated_at for r in rows[3:]), reverse=True
    )
    assert by_id[questioned].open_questions == 2
    assert by_id[sampled].samples_to_decide == 1
    assert by_id[reviewed].go_ahead_pending
    assert not by_id[given].waiting
    assert not by_id[cancelled].waiting

    await login(client, world.owner_a.email)
    page = (await client.get("/")).text
    waiting_section, others = page.split('id="other-heading"', 1)
    assert "Waiting on you" in waiting_section
    for name in ("Q lamp", "S lamp", "F lamp"):
        assert f">{name}</a>" in waiting_section
    for name in ("N lamp", "C lamp", "G lamp"):
        assert f">{name}</a>" in others
    assert "2 questions to answer" in waiting_section
    assert "1 sample round to decide" in waiting_section
    assert "Go-ahead for development" in waiting_section
    assert "Borealis tote" not in page
    assert 'href="/projects/new"' in page

    client.cookies.clear()
    await login(client, world.owner_b.email)
    theirs_page = (await client.get("/")).text
    assert "Borealis tote" in theirs_page
    assert "1 question to answer" in theirs_page
    assert "Q lamp" not in theirs_page


async def test_project_page_of_another_organization_is_404(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, db: AsyncSession
) -> None:
    project_id = await make_project(engine, world, "Acme secret")
    await login(client, world.owner_b.email)
    response = await client.get(f"/projects/{project_id}")
    assert response.status_code == 404
    assert "Acme secret" not in response.text


async def test_the_upload_messages_follow_the_readers_language(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    """The picker's messages (a kept block: the same for every page in one language) are the reader's language's,
    on the project page and on the submit form, whichever language asked first."""
    import json

    from makeready import i18n
    from tests.test_i18n import switch

    project_id = await make_project(engine, world)
    await login(client, world.member_a.email)

    def messages(html: str) -> dict[str, str]:
        found = re.search(r'<script type="application/json" id="upload-messages">(.*?)</script>', html, re.S)
        assert found is not None
        return dict(json.loads(found.group(1)))

    english = messages((await client.get(f"/projects/{project_id}")).text)
    assert english["uploading"] == "Uploading"
    assert english["failed"] == "Not added: %(reason)s"
    await switch(client, "zh_Hans")
    with i18n.use_locale("zh_Hans"):
        uploading = i18n.gettext("Uploading")
    assert uploading != "Uploading"
    for path in (f"/projects/{project_id}", "/projects/new"):
        assert messages((await client.get(path)).text)["uploading"] == uploading
    await switch(client, "en")
    assert messages((await client.get("/projects/new")).text) == english
