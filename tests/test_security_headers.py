"""Security headers on every response, through HTTP: the policy, no framing, nosniff, the Referer policy, HSTS in
production only, and the factory pages' own stricter headers kept."""

from __future__ import annotations

import copy
import re

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.types import Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.projects import service as projects
from makeready.settings import Settings
from portal.security import SecurityHeaders, script_hashes
from tests.conftest import World, login

Client = AsyncTestClient[Litestar]


def assert_protected(response: httpx.Response) -> str:
    policy = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # development
    return policy


async def test_pages_api_errors_and_back_office_carry_the_headers(client: Client, world: World) -> None:
    for path in (
        "/login",
        "/no-such-page",
        "/api/v1/projects",
        "/static/app.css",
        "/admin/",
        "/admin/api/tables/",
    ):
        response = await client.get(path, follow_redirects=False)
        policy = assert_protected(response)
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], path
    await login(client, world.owner_a.email)
    assert_protected(await client.get("/"))


async def test_an_inline_script_is_allowed_by_its_hash_only(
    client: Client, world: World, db: AsyncSession
) -> None:
    async with db.begin():
        project = await projects.create_project(
            db, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Desk lamp", "category": "lighting"}
        )
    await login(client, world.coordinator.email)
    page = await client.get(f"/coordinator/projects/{project.id}")
    assert page.status_code == 200
    hashes = script_hashes(page.text)
    assert hashes  # the page has an inline script
    script_src = page.headers["content-security-policy"].split("script-src ")[1].split(";")[0].split()
    assert sorted(script_src) == sorted(["'self'", *hashes])


async def test_factory_pages_keep_their_own_stricter_headers(client: Client) -> None:
    response = await client.get("/f/" + "x" * 43)
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_script_hashes_skip_external_and_json_blocks() -> None:
    html = (
        '<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>'
        "<script>alert(1)</script>"
    )
    (only,) = script_hashes(html)
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/=]{44}'", only)


async def test_hsts_only_in_production(settings: Settings) -> None:
    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})

    production = copy.copy(settings)
    production.app = settings.app.model_copy(update={"env": "production"})
    for conf, expected in ((settings, None), (production, "max-age=63072000; includeSubDomains")):
        transport = httpx.ASGITransport(app=SecurityHeaders(page, conf))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="https://example.test") as c:
            response = await c.get("/")
        assert response.headers.get("strict-transport-security") == expected
