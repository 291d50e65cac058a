"""The access log (portal/access_log.py): one line per request, with the status the client got, and no credential
in it: no cookie, no header, no link token. Read with structlog's capture_logs, which swaps the processors of the
loggers the app already holds."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from portal.access_log import EVENT, TOKEN_SHOWN, loggable_path
from tests.conftest import SESSION_COOKIE, World, login


def request_lines(entries: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in entries if entry.get("event") == EVENT]


async def test_a_request_is_one_line_with_its_status_and_time(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await login(client, world.owner_a.email)
    session = client.cookies.get(SESSION_COOKIE)
    assert session
    with capture_logs() as entries:
        response = await client.get("/api/v1/projects", params={"limit": "5"})
    assert response.status_code == 200

    lines = request_lines(entries)
    assert len(lines) == 1, entries
    line = lines[0]
    assert (line["method"], line["path"], line["query"], line["status"]) == (
        "GET",
        "/api/v1/projects",
        "limit=5",
        200,
    )
    assert isinstance(line["ms"], float)
    assert line["ms"] >= 0
    assert line["log_level"] == "info"
    assert session not in repr(entries)  # no cookie is logged


async def test_the_status_logged_is_the_one_the_client_got(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await login(client, world.owner_a.email)
    with capture_logs() as entries:
        missing = await client.get("/projects/2147483000")
        unknown = await client.get("/no-such-page")
        refused = await client.post("/api/v1/projects", json={})
        # the back office is a mount, which cuts its prefix off the scope's path as it routes
        admin = await client.get("/admin/api/tables/")

    lines = request_lines(entries)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/projects/2147483000", missing.status_code),
        ("GET", "/no-such-page", unknown.status_code),
        ("POST", "/api/v1/projects", refused.status_code),
        ("GET", "/admin/api/tables/", admin.status_code),
    ]
    assert missing.status_code == unknown.status_code == 404
    assert refused.status_code >= 400


async def test_a_link_token_is_cut_in_the_log(client: AsyncTestClient[Litestar]) -> None:
    token = "Zq9x" + "S3cr3tT0k3nThatMustNotBeLogged0123456789ab"
    with capture_logs() as entries:
        await client.get(f"/f/{token}", params={"lang": "zh"})
        await client.get(f"/invitations/{token}")

    assert token[TOKEN_SHOWN:] not in repr(entries)
    paths = [line["path"] for line in request_lines(entries)]
    assert paths == ["/f/Zq9x…", "/invitations/Zq9x…"]


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/f/abcdefgh", "/f/abcd…"),
        ("/f/abcdefgh/en", "/f/abcd…/en"),
        ("/p/abcdefgh/spec.pdf", "/p/abcd…/spec.pdf"),
        ("/invitations/abcdefgh", "/invitations/abcd…"),
        ("/files/local/abcdefgh", "/files/local/abcd…"),
        ("/projects/12", "/projects/12"),
        ("/factory/abcdefgh", "/factory/abcdefgh"),
    ],
)
def test_loggable_path(path: str, logged: str) -> None:
    assert loggable_path(path) == logged
