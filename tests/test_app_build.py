"""Building the app warns about nothing (each Litestar deprecation breaks on Litestar 3), and every coordinator page
sits behind the one coordinator guard, which lets in staff and admins signed in to the portal or to /admin only."""

from __future__ import annotations

import re
import warnings

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import urls
from makeready.projects.models import Phase
from makeready.settings import Settings
from portal.app import create_app
from portal.guards import coordinators_only
from tests.conftest import World, login
from tests.test_backoffice_forms import people_of, sign_in
from tests.workflow_support import make_project

Client = AsyncTestClient[Litestar]


def test_building_the_app_warns_about_nothing(settings: Settings) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        create_app(settings)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


def coordinator_handlers(app: Litestar) -> list[tuple[str, str, list[object]]]:
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/coordinator"):
            for handler in route.route_handlers:
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    found.append((method, route.path, list(handler.resolve_guards())))
    return found


def test_every_coordinator_route_has_the_coordinator_guard(app: Litestar) -> None:
    handlers = coordinator_handlers(app)
    paths = {path for _m, path, _g in handlers}
    # the board, the project page, feasibility, suppliers, specs and factory links are all here
    for prefix in ("/coordinator/board", "/coordinator/suppliers", "/coordinator/projects/{project_id:int}"):
        assert prefix in paths
    for part in ("/feasibility", "/spec", "/factory-links", "/quotes"):
        assert any(part in path for path in paths), part
    unguarded = [(m, p) for m, p, guards in handlers if coordinators_only not in guards]
    assert unguarded == []


async def test_anonymous_callers_are_sent_to_log_in_and_back(
    app: Litestar, client: Client, engine: AsyncEngine, world: World
) -> None:
    project = await make_project(engine, await people_of(engine, world), phase=Phase.development)
    await client.get("/login")
    for method, path, _guards in coordinator_handlers(app):
        if method != "GET":
            continue
        url = re.sub(r"\{\w+(?::\w+)?\}", str(project.id), path)
        response = await client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"] == f"/login?next={url}"


async def test_a_back_office_login_opens_every_kind_of_coordinator_page_first(
    client: Client, engine: AsyncEngine, world: World
) -> None:
    """Formerly only the board let a /admin-only login in; feasibility and suppliers sent it to /login."""
    project = await make_project(engine, await people_of(engine, world), phase=Phase.development)
    for first in (
        f"/coordinator/projects/{project.id}/feasibility",
        "/coordinator/suppliers",
        f"/coordinator/projects/{project.id}/quotes",
        f"/coordinator/projects/{project.id}/spec",
        f"/coordinator/projects/{project.id}/factory-links",
        "/coordinator/board",
    ):
        await sign_in(client, engine, world.coordinator)  # piccolo-admin's session only, a fresh cookie jar
        assert not client.cookies.get("mr_session")
        response = await client.get(first, follow_redirects=False)
        assert response.status_code == 200, (first, response.status_code)
        assert client.cookies.get("mr_session")  # a portal session started for them
        client.cookies.delete("id")
        assert (await client.get("/coordinator/work", follow_redirects=False)).status_code == 200

    await sign_in(client, engine, world.owner_a)  # a brand user's back-office session opens nothing
    response = await client.get(f"/coordinator/projects/{project.id}/feasibility", follow_redirects=False)
    assert response.status_code == 303
    client.cookies = httpx.Cookies({"id": "not-a-session"})
    assert (await client.get("/coordinator/suppliers", follow_redirects=False)).status_code == 303


async def test_staff_or_admin_may_coordinate_and_brand_users_may_not(client: Client, world: World) -> None:
    await login(client, world.admin.email)
    assert (await client.get("/coordinator/suppliers")).status_code == 200
    await login(client, world.coordinator.email)
    assert (await client.get("/coordinator/suppliers")).status_code == 200
    await login(client, world.member_a.email)
    response = await client.get("/coordinator/suppliers", follow_redirects=False)
    assert response.status_code == 403
    assert "Only coordinators can do this." in response.text


async def test_every_path_the_core_links_to_is_a_route(client: Client, world: World) -> None:
    """makeready.urls is the core's one copy of the routes: each path it builds is answered by a handler (a login
    redirect, a page, or a record's own 404), never by "no such route"."""
    paths = [
        urls.project(1),
        urls.change_request(1, 2),
        urls.spec(1, staff=False),
        urls.spec(1, staff=True),
        urls.coordinator_project(1),
        urls.factory_links(1),
        urls.factory_link("not-a-token"),
        urls.invitation("not-a-token"),
        urls.billing(1, checkout="done"),
        urls.pricing(1, checkout="canceled"),
    ]
    no_route = "This page does not exist or you do not have access to it."
    for path in paths:
        response = await client.get(path, follow_redirects=False)
        assert response.status_code != 405, path
        assert no_route not in response.text, path
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login?next="), path
    await client.get("/login")
    response = await client.get(
        "/projects/1/no-such-page", follow_redirects=False
    )  # the check above can fail
    assert response.status_code == 404
    assert no_route in response.text
