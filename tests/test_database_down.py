"""With the database down, people are told so: a 503 page (or problem detail) that names the database and says to
try again shortly, in both languages, instead of a bare "Something went wrong"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from makeready.settings import DatabaseSettings, JobSettings, Settings

UNREACHABLE = {
    # nothing listens on port 1: the connection is refused (asyncpg raises ConnectionRefusedError)
    "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:1/makeready",
    # a folder that does not exist: "unable to open database file" (sqlite3.OperationalError)
    "sqlite": "sqlite+aiosqlite:///{tmp}/no-such-folder/makeready.db",
}


@pytest.fixture(params=sorted(UNREACHABLE))
async def down(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    from portal.app import create_app

    settings = Settings()
    settings.db = DatabaseSettings().model_copy(
        update={"url": UNREACHABLE[request.param].format(tmp=tmp_path)}
    )
    settings.jobs = JobSettings().model_copy(update={"periodic": False})
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


async def test_the_api_answers_503_naming_the_database(down: AsyncTestClient[Litestar]) -> None:
    response = await down.get("/api/v1/projects", headers={"Authorization": "Bearer mr_not_checked_yet"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"]
    body = response.json()
    assert body["status"] == 503
    assert "database cannot be reached" in body["detail"]
    assert "try again in a few minutes" in body["detail"]
    assert "Something went wrong" not in body["detail"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "database cannot be reached"), ("zh-CN,zh;q=0.9", "数据库")],
)
async def test_a_page_answers_503_in_the_readers_language(
    down: AsyncTestClient[Litestar], language: str, expected: str
) -> None:
    headers = {"Accept-Language": language, "Accept": "text/html"}
    await down.get("/login", headers=headers)  # drawn without the database
    response = await down.post(
        "/login",
        data={
            "email": "someone@example.com",
            "password": "whatever-it-is",
            "_csrf_token": down.cookies.get("csrftoken", ""),
        },
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert expected in response.text
    assert "Something went wrong" not in response.text
