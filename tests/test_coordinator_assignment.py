"""A project's coordinator is assigned and changed by staff on the coordinator project page, through
makeready.projects.service.assign_coordinator (audit event, notification to the new coordinator); the board shows
projects nobody coordinates."""

from __future__ import annotations

import html

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.errors import PermissionDenied, ValidationFailed
from makeready.projects import service as projects
from makeready.projects.models import Project
from tests.conftest import World, login
from tests.test_backoffice_forms import people_of
from tests.test_board import audit, card, post
from tests.workflow_support import People, make_project, notifications, outbox, reload, session_as

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


async def test_staff_assign_and_change_the_coordinator_from_the_project_page(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    project = await make_project(engine, people, name="Orphan Lamp", coordinator=False)
    await login(client, world.coordinator.email)

    board_html = (
        await client.get("/coordinator/board?coordinator=all")
    ).text  # nobody's projects: not "mine"
    orphan = card(board_html, project.id)
    assert 'class="unassigned"' in orphan
    assert "No coordinator" in orphan
    assert "1 project has no coordinator" in board_html
    assert (await client.get("/coordinator/board?coordinator=0")).text.count(
        '<article class="board-card'
    ) == 1

    page = (await client.get(f"/coordinator/projects/{project.id}")).text
    section = page.split('id="coordinator"', 1)[1].split("</section>", 1)[0]
    assert f'action="/coordinator/projects/{project.id}/coordinator"' in section
    assert f'<option value="{people.coordinator2.id}"' in section

    assigned = await post(
        client,
        f"/coordinator/projects/{project.id}/coordinator",
        coordinator_id=str(people.coordinator2.id),
        version=str(project.version),
    )
    assert assigned.status_code == 303, assigned.text
    assert assigned.headers["location"] == f"/coordinator/projects/{project.id}?done=coordinator#coordinator"
    assert (await reload(engine, Project, project.id)).coordinator_id == people.coordinator2.id
    [event] = await audit(engine, "project.coordinator_assigned")
    assert (event.before, event.after) == (
        {"coordinator_id": None},
        {"coordinator_id": people.coordinator2.id},
    )
    assert event.actor_id == world.coordinator.id
    assert [n.kind for n in await notifications(engine, people.coordinator2)] == ["coordinator_assigned"]
    assert any(
        e.template == "coordinator_assigned" and e.to_email == people.coordinator2.email
        for e in await outbox(engine)
    )
    after = (await client.get(assigned.headers["location"])).text
    assert "The coordinator was assigned." in after
    assert 'class="unassigned"' not in card(
        (await client.get("/coordinator/board?coordinator=all")).text, project.id
    )

    # changed to the signed-in coordinator: recorded, and nobody is told what they did themselves
    changed = await post(
        client,
        f"/coordinator/projects/{project.id}/coordinator",
        coordinator_id=str(world.coordinator.id),
        version=str((await reload(engine, Project, project.id)).version),
    )
    assert changed.status_code == 303
    assert (await reload(engine, Project, project.id)).coordinator_id == world.coordinator.id
    assert len(await audit(engine, "project.coordinator_assigned")) == 2
    assert await notifications(engine, world.coordinator) == []

    # a brand user or a non-staff id is refused, a stale page gets a conflict
    stale = await post(
        client,
        f"/coordinator/projects/{project.id}/coordinator",
        coordinator_id=str(people.coordinator2.id),
        version=str(project.version),
    )
    assert stale.status_code == 409
    not_staff = await post(
        client,
        f"/coordinator/projects/{project.id}/coordinator",
        coordinator_id=str(world.owner_a.id),
        version=str((await reload(engine, Project, project.id)).version),
    )
    assert not_staff.status_code == 422
    assert "Choose one of the agency's coordinators." in html.unescape(not_staff.text)
    assert (await reload(engine, Project, project.id)).coordinator_id == world.coordinator.id


async def test_only_staff_may_assign_a_coordinator(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, coordinator=False)
    with pytest.raises(PermissionDenied):
        async with session_as(engine, people, people.owner_a) as session:
            await projects.assign_coordinator(
                session, actor=people.owner_a, project_id=project.id, coordinator_id=people.coordinator.id
            )
    with pytest.raises(ValidationFailed):
        async with session_as(engine, people, people.coordinator) as session:
            await projects.assign_coordinator(
                session, actor=people.coordinator, project_id=project.id, coordinator_id=people.viewer_a.id
            )
    assert (await reload(engine, Project, project.id)).coordinator_id is None
