"""Valid-looking input that used to end in a 500: optional text cleared through the API, offsets and ids beyond
what the database can hold, on every route. Each is a 4xx problem detail (a 404 page on pages), or a success where
clearing is meant."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.projects.models import Project
from tests.conftest import World, login
from tests.test_portal import _token

HUGE = 10**20
INT_PARAM = re.compile(r"\{(\w+):int\}")


async def _project(client: AsyncTestClient[Litestar], headers: dict[str, str]) -> dict[str, object]:
    created = await client.post(
        "/api/v1/projects",
        json={
            "name": "Desk lamp",
            "category": "Lighting",
            "description": "Brass",
            "materials_notes": "Oak",
            "target_quantity": 500,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_clearing_an_optional_text_field_through_the_api_leaves_it_empty(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, db: AsyncSession
) -> None:
    headers = await _token(engine, world.member_a)
    body = await _project(client, headers)

    cleared = await client.patch(
        f"/api/v1/projects/{body['id']}",
        json={"version": 1, "category": "", "description": "  ", "materials_notes": ""},
        headers=headers,
    )

    assert cleared.status_code == 200, cleared.text
    assert {k: cleared.json()[k] for k in ("category", "description", "materials_notes")} == {
        "category": "",
        "description": "",
        "materials_notes": "",
    }
    project = await db.get(Project, body["id"])
    assert project is not None
    assert (project.category, project.description, project.materials_notes) == ("", "", "")
    # a cleared optional number is cleared too; the name stays required
    cleared_number = await client.patch(
        f"/api/v1/projects/{body['id']}", json={"version": 2, "target_quantity": None}, headers=headers
    )
    assert cleared_number.status_code == 200, cleared_number.text
    assert cleared_number.json()["target_quantity"] is None
    no_name = await client.patch(
        f"/api/v1/projects/{body['id']}", json={"version": 3, "name": ""}, headers=headers
    )
    assert no_name.status_code == 422
    assert no_name.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("offset", [2**63, 2**64 + 1, HUGE])
async def test_an_offset_beyond_any_table_is_a_problem_detail(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, offset: int
) -> None:
    headers = await _token(engine, world.member_a)
    body = await _project(client, headers)
    for path in (
        "/api/v1/projects",
        f"/api/v1/projects/{body['id']}/changes",
        f"/api/v1/projects/{body['id']}/samples",
    ):
        response = await client.get(path, params={"offset": offset}, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), path
        assert response.json()["detail"]


async def test_a_huge_id_in_an_api_path_is_404(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    headers = await _token(engine, world.member_a)
    for huge in (HUGE, 2**63, 2**31):
        response = await client.get(f"/api/v1/projects/{huge}", headers=headers)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        patched = await client.patch(
            f"/api/v1/projects/{huge}", json={"version": 1, "name": "x"}, headers=headers
        )
        assert patched.status_code == 404, patched.text


async def test_a_huge_id_on_a_portal_page_is_a_404_page(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await login(client, world.owner_a.email)
    for path in (f"/projects/{HUGE}", f"/projects/{HUGE}/changes", "/projects?page=" + str(HUGE)):
        response = await client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert response.headers["content-type"].startswith("text/html")


def _int_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every route with an int path parameter, with every such parameter set to HUGE."""
    found = []
    for route in app.routes:
        if not INT_PARAM.search(route.path):
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            found.append((method, INT_PARAM.sub(str(HUGE), route.path)))
    return found


async def test_every_route_answers_a_huge_id_without_a_server_error(
    app: Litestar, client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    """One bound for all routes: any int in any path beyond what an id column holds is a 404."""
    routes = _int_routes(app)
    assert len(routes) > 40  # the app's routes were found
    brand = await _token(engine, world.owner_a)
    await login(client, world.coordinator.email)  # staff reach the back office routes; cookies ride along
    for method, path in routes:
        headers = brand if path.startswith("/api/") else {}
        response = await client.request(method, path, headers=headers, follow_redirects=False)
        assert response.status_code < 500, (method, path, response.text[:300])
        if method == "GET":
            assert response.status_code in (303, 400, 401, 403, 404), (method, path, response.status_code)


async def test_huge_ids_and_versions_in_json_bodies_are_refused_as_problems(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    headers = await _token(engine, world.member_a)
    body = await _project(client, headers)
    project = body["id"]
    for method, path, payload in [
        ("POST", "/api/v1/projects", {"name": "x", "org_id": HUGE}),
        ("PATCH", f"/api/v1/projects/{project}", {"version": HUGE, "name": "y"}),
        (
            "POST",
            f"/api/v1/projects/{project}/changes",
            {"title": "t", "description": "d", "reason": "r", "attachment_ids": [HUGE]},
        ),
    ]:
        response = await client.request(method, path, json=payload, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_nul_character_in_project_text_is_refused_not_a_server_error(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    """PostgreSQL cannot store NUL in text: the write used to fail there with a 500."""
    headers = await _token(engine, world.member_a)
    created = await client.post("/api/v1/projects", json={"name": "Desk\u0000lamp"}, headers=headers)
    assert created.status_code == 422, created.text
    assert created.headers["content-type"].startswith("application/problem+json")
    body = await _project(client, headers)
    patched = await client.patch(
        f"/api/v1/projects/{body['id']}", json={"version": 1, "description": "\u0000"}, headers=headers
    )
    assert patched.status_code == 422, patched.text
