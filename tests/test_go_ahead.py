"""The brand's go-ahead for development, where the dashboard sends them: a button in the project page's
feasibility section (owners and members; viewers are told who can) and POST /api/v1/projects/{id}/go-ahead, both
through makeready.workflow.give_go_ahead, landing in the decision log."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.feasibility.models import FeasibilityReview
from makeready.projects import service as projects
from makeready.projects.models import Project
from makeready.workflow import waiting_flags
from tests.conftest import World, csrf, login
from tests.test_portal import _token

BUTTON = "Give the go-ahead for development"


async def _project(
    engine: AsyncEngine, world: World, *, review_complete: bool = True, name: str = "Arc"
) -> int:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": name}
            )
            session.add(
                FeasibilityReview(
                    org_id=project.org_id,
                    project_id=project.id,
                    summary="Feasible in die-cast aluminium.",
                    completed_at=utcnow() if review_complete else None,
                )
            )
            await session.flush()
            # the review written directly, past the services and their events: recompute what it waits on
            await waiting_flags.refresh(session, [project.id])
            return project.id


def _section(html: str) -> str:
    return html.split('id="feasibility"', 1)[1].split("</section>", 1)[0]


async def test_the_dashboard_link_leads_to_a_go_ahead_button_that_lands_in_the_decision_log(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    project_id = await _project(engine, world)
    await login(client, world.member_a.email)
    dashboard = await client.get("/")
    assert f'href="/projects/{project_id}#feasibility"' in dashboard.text  # "Waiting on you: go-ahead"

    page = await client.get(f"/projects/{project_id}")
    section = _section(page.text)
    assert BUTTON in section
    assert f'action="/projects/{project_id}/go-ahead"' in section

    given = await client.post(
        f"/projects/{project_id}/go-ahead",
        data={"_csrf_token": csrf(client), "reason": "The cost works for us."},
        follow_redirects=False,
    )
    assert given.status_code == 303, given.text
    assert given.headers["location"] == f"/projects/{project_id}?go_ahead=1#feasibility"
    after = await client.get(given.headers["location"])
    assert BUTTON not in _section(after.text)
    assert "You gave the go-ahead for development." in after.text
    log = after.text.split('id="log"', 1)[1]
    assert "member_a gave the go-ahead for development." in log
    assert "The cost works for us." in log
    project = await db.get(Project, project_id)
    assert project is not None
    assert project.go_ahead_at is not None
    assert project.go_ahead_by_id == world.member_a.id
    assert f'href="/projects/{project_id}#feasibility"' not in (await client.get("/")).text

    again = await client.post(f"/projects/{project_id}/go-ahead", data={"_csrf_token": csrf(client)})
    assert again.status_code == 409
    assert "The go-ahead was already given on" in again.text


async def test_viewers_are_told_who_can_and_cannot_give_it(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    project_id = await _project(engine, world)
    await login(client, world.viewer_a.email)
    section = _section((await client.get(f"/projects/{project_id}")).text)
    assert BUTTON not in section
    assert "Owners and members of your organization give the go-ahead for development." in section

    forced = await client.post(f"/projects/{project_id}/go-ahead", data={"_csrf_token": csrf(client)})
    assert forced.status_code == 403
    project = await db.get(Project, project_id)
    assert project is not None
    assert project.go_ahead_at is None


async def test_no_button_before_the_review_is_complete(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    project_id = await _project(engine, world, review_complete=False)
    await login(client, world.owner_a.email)
    section = _section((await client.get(f"/projects/{project_id}")).text)
    assert BUTTON not in section
    early = await client.post(f"/projects/{project_id}/go-ahead", data={"_csrf_token": csrf(client)})
    assert early.status_code == 409
    assert "The feasibility review is not complete yet" in early.text


async def test_the_api_gives_the_go_ahead_and_refuses_with_problem_details(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    project_id = await _project(engine, world)
    not_ready = await _project(engine, world, review_complete=False, name="Later")
    member = await _token(engine, world.member_a)
    viewer = await _token(engine, world.viewer_a)
    other = await _token(engine, world.owner_b)
    url = f"/api/v1/projects/{project_id}/go-ahead"

    for headers, status in ((viewer, 403), (other, 404)):
        refused = await client.post(url, json={}, headers=headers)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    early = await client.post(f"/api/v1/projects/{not_ready}/go-ahead", json={}, headers=member)
    assert early.status_code == 409
    assert "feasibility review is not complete" in early.json()["detail"]
    stale = await client.post(url, json={"version": 99}, headers=member)
    assert stale.status_code == 409

    given = await client.post(url, json={"reason": "Go.", "version": 1}, headers=member)
    assert given.status_code == 200, given.text
    assert given.json()["go_ahead_at"] is not None
    assert given.json()["id"] == project_id
    again = await client.post(url, json={}, headers=member)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")

    decisions = await client.get(f"/api/v1/projects/{project_id}/decisions", headers=member)
    assert decisions.status_code == 200, decisions.text
    summaries = [item for item in decisions.json()["items"] if item["action"] == "project.go_ahead_given"]
    assert len(summaries) == 1
    assert summaries[0]["reason"] == "Go."
