"""Portal pages and the projects API through HTTP: sessions, CSRF, escaping, roles, stale writes."""

from __future__ import annotations

import time

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import portal.auth
from makeready.accounts import service as accounts
from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.projects.models import Milestone, Project
from tests.conftest import World, csrf, login

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _token(engine: AsyncEngine, user: User) -> dict[str, str]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            issued = await accounts.issue_api_token(session, user=user)
    return {"authorization": f"Bearer {issued.token}"}


async def test_hostile_text_is_shown_as_text(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session,
                actor=world.owner_a,
                org_id=world.org_a.id,
                data={"name": HOSTILE, "description": HOSTILE},
            )
            milestone = (
                await session.scalars(select(Milestone).where(Milestone.project_id == project.id))
            ).first()
            assert milestone is not None
            milestone.title = HOSTILE + " 50% done"
    await login(client, world.owner_a.email)
    for url in ("/", f"/projects/{project.id}"):
        page = await client.get(url)
        assert page.status_code == 200
        assert "<script>" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;" in page.text


async def test_expired_session_sends_back_to_login_with_message(
    client: AsyncTestClient[Litestar], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await login(client, world.owner_a.email)
    assert (await client.get("/", follow_redirects=False)).status_code == 200
    thirteen_hours_later = time.time() + 13 * 3600
    monkeypatch.setattr(portal.auth, "clock", lambda: thirteen_hours_later)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    page = await client.get(response.headers["location"])
    assert "Your session has expired" in page.text


async def test_form_without_csrf_token_is_refused_with_message(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"email": world.owner_a.email, "password": "x"})
    assert response.status_code == 403
    assert "Reload the page" in response.text


async def test_login_next_cannot_leave_the_site(client: AsyncTestClient[Litestar], world: World) -> None:
    await client.get("/login")
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = await client.post(
            "/login",
            data={
                "email": world.owner_a.email,
                "password": "correct-horse-battery",
                "next": target,
                "_csrf_token": csrf(client),
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


async def test_logout_ends_the_session(client: AsyncTestClient[Litestar], world: World) -> None:
    await login(client, world.owner_a.email)
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_api_create_update_and_stale_write(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    headers = await _token(engine, world.member_a)
    created = await client.post(
        "/api/v1/projects",
        json={"name": "Desk lamp", "target_quantity": 500, "target_unit_price": "12.40"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phase"] == "feasibility"
    assert body["version"] == 1
    milestones = await client.get(f"/api/v1/projects/{body['id']}/milestones", headers=headers)
    assert len(milestones.json()) == len(projects.STANDARD_MILESTONES)

    first = await client.patch(
        f"/api/v1/projects/{body['id']}", json={"version": 1, "name": "Desk lamp v2"}, headers=headers
    )
    assert first.status_code == 200
    assert first.json()["version"] == 2
    stale = await client.patch(
        f"/api/v1/projects/{body['id']}", json={"version": 1, "name": "Overwrite"}, headers=headers
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["current_version"] == 2
    project = await db.get(Project, body["id"])
    assert project is not None
    assert project.name == "Desk lamp v2"
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.project_id == body["id"]))).all()
    assert list(actions) == ["project.created", "project.updated"]


async def test_api_rejects_bad_input_with_problem_details(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    headers = await _token(engine, world.member_a)
    for payload, status in [
        ({"name": ""}, 422),
        ({"name": "x", "target_quantity": -3}, 422),
        ({"name": "x", "currency": "dollars"}, 422),
        ({"name": "x", "unknown": 1}, 400),
        ({"target_quantity": 3}, 400),
    ]:
        response = await client.post("/api/v1/projects", json=payload, headers=headers)
        assert response.status_code == status, (payload, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]
    assert (await db.scalars(select(Project))).all() == []


async def test_viewer_cannot_change_anything(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    headers = await _token(engine, world.viewer_a)
    response = await client.post("/api/v1/projects", json={"name": "Nope"}, headers=headers)
    assert response.status_code == 403
    assert "Viewers" in response.json()["detail"]


async def test_api_auth_errors(client: AsyncTestClient[Litestar], world: World) -> None:
    assert (await client.get("/api/v1/projects")).status_code == 401
    bad = await client.get("/api/v1/projects", headers={"authorization": "Bearer mr_not-a-token"})
    assert bad.status_code == 401
    assert "not valid" in bad.json()["detail"]
    basic = await client.get("/api/v1/projects", headers={"authorization": "Basic abc"})
    assert basic.status_code == 401


async def test_cookie_api_writes_need_the_csrf_header(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await login(client, world.member_a.email)
    refused = await client.post("/api/v1/projects", json={"name": "No header"})
    assert refused.status_code == 403
    accepted = await client.post(
        "/api/v1/projects", json={"name": "With header"}, headers={"x-csrftoken": csrf(client)}
    )
    assert accepted.status_code == 201


async def test_healthz_and_readyz(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok"}


async def test_openapi_documents_the_api(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    patch = schema["paths"]["/api/v1/projects/{project_id}"]["patch"]
    assert "409" in patch["responses"]
    assert "application/problem+json" in patch["responses"]["409"]["content"]


async def test_every_api_operation_documents_its_errors(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        if not {"401", "404"} <= set(operation.get("responses", {}))
    ]
    assert undocumented == []


async def test_new_product_notifies_the_agency_staff(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    from makeready.notify.models import EmailOutbox, Notification

    headers = await _token(engine, world.member_a)
    created = await client.post("/api/v1/projects", json={"name": "<b>Trail mug</b>"}, headers=headers)
    assert created.status_code == 201
    told = (
        await db.scalars(select(Notification.user_id).where(Notification.kind == "project_submitted"))
    ).all()
    assert sorted(told) == sorted([world.coordinator.id, world.admin.id])  # no coordinator yet: all staff
    emails = (await db.scalars(select(EmailOutbox).where(EmailOutbox.template == "project_submitted"))).all()
    assert sorted(e.to_email for e in emails) == sorted([world.coordinator.email, world.admin.email])
