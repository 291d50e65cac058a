"""The files API under /api/v1: start an upload, post the file where the instructions say, add the verified
file, list and download it; tenancy (another org's project or file is a 404), roles (viewers look, not change),
and /readyz when storage is down."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts import service as accounts
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects.models import Attachment
from makeready.settings import StorageSettings
from makeready.storage import reset_storage, set_storage
from makeready.storage.base import content_disposition
from makeready.storage.local import LocalStorage
from makeready.storage.s3 import S3Storage
from tests.conftest import World, csrf, login
from tests.s3server import HTML, closed_port, pdf_bytes, png_bytes, s3_settings

pytest_plugins = ["tests.s3server"]  # the moto server and bucket fixtures

VIEWER_MESSAGE = "Viewers can look but not change anything. Ask an owner for a member role."


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalStorage]:
    settings = StorageSettings().model_copy(update={"media_root": tmp_path / "media"})
    storage = LocalStorage(settings, secret_key="api-test-secret-0123456789abcdef0123")
    set_storage(storage)
    yield storage
    reset_storage()


def writes(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    return {"x-csrftoken": csrf(client)}


async def create_project(client: AsyncTestClient[Litestar], name: str = "Desk lamp") -> int:
    response = await client.post("/api/v1/projects/", json={"name": name}, headers=writes(client))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def start(
    client: AsyncTestClient[Litestar], project_id: int, filename: str, kind: str, size: int | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"filename": filename, "kind": kind}
    if size is not None:
        body["size"] = size
    return await client.post(f"/api/v1/projects/{project_id}/uploads", json=body, headers=writes(client))


async def add(client: AsyncTestClient[Litestar], project_id: int, key: str, name: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/projects/{project_id}/files",
        json={"key": key, "original_name": name},
        headers=writes(client),
    )


async def upload_through_api(
    client: AsyncTestClient[Litestar], project_id: int, name: str, content: bytes, kind: str
) -> dict[str, Any]:
    """The whole browser flow with the local backend: instructions, POST to the app, completion."""
    instructions = await start(client, project_id, name, kind, size=len(content))
    assert instructions.status_code == 200, instructions.text
    ticket = instructions.json()
    posted = await client.post(
        ticket["url"], data=ticket["fields"], files={ticket["file_field"]: (name, content)}
    )
    assert posted.status_code == 204, posted.text
    return ticket


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        attachments = await session.scalar(select(func.count()).select_from(Attachment))
        events = await session.scalar(select(func.count()).where(AuditEvent.action == "attachment.added"))
        return attachments or 0, events or 0


# --- the whole flow -------------------------------------------------------------------------------------------


async def test_upload_add_list_and_download_with_the_local_backend(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, local: LocalStorage
) -> None:
    await login(client, world.member_a.email)
    project_id = await create_project(client)
    name = "Lampenschirm \u2013 Spezifikation 规格.pdf"
    content = pdf_bytes()

    ticket = await upload_through_api(client, project_id, name, content, "document")
    assert ticket["url"] == "/uploads/local"
    assert ticket["method"] == "POST"
    assert ticket["max_size"] == 50 * (1 << 20)
    assert ticket["key"].startswith(f"org/{world.org_a.id}/document/")

    added = await add(client, project_id, ticket["key"], name)
    assert added.status_code == 201, added.text
    file = added.json()
    assert file["original_name"] == name
    assert file["content_type"] == "application/pdf"
    assert file["size"] == len(content)
    assert file["checksum"] == hashlib.sha256(content).hexdigest()
    assert file["uploaded_by_id"] == world.member_a.id
    assert await local.size(ticket["key"]) is None  # moved to a key no upload form reaches
    assert await counts(engine) == (1, 1)

    listing = await client.get(f"/api/v1/projects/{project_id}/files?limit=10")
    assert listing.status_code == 200
    assert listing.json()["total"] == 1
    assert [item["id"] for item in listing.json()["items"]] == [file["id"]]

    redirect = await client.get(file["download_url"], follow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["cache-control"] == "no-store"
    location = redirect.headers["location"]
    assert location.startswith("/files/local/")
    served = await client.get(location)
    assert served.status_code == 200
    assert served.content == content
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"] == content_disposition(name)
    assert unquote(served.headers["content-disposition"].split("filename*=UTF-8''")[1]) == name


async def test_upload_add_and_download_with_s3(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, use_s3: S3Storage
) -> None:
    await login(client, world.owner_a.email)
    project_id = await create_project(client)
    content = png_bytes()

    instructions = await start(client, project_id, "swatch.png", "image", size=len(content))
    assert instructions.status_code == 200, instructions.text
    ticket = instructions.json()
    assert ticket["url"].startswith(use_s3.endpoint_url or "-")
    async with httpx.AsyncClient() as http:  # the browser posts straight to S3, not to us
        posted = await http.post(
            ticket["url"], data=ticket["fields"], files={"file": ("swatch.png", content)}
        )
    assert posted.status_code == 204, posted.text

    added = await add(client, project_id, ticket["key"], "swatch.png")
    assert added.status_code == 201, added.text
    assert added.json()["content_type"] == "image/png"

    redirect = await client.get(added.json()["download_url"], follow_redirects=False)
    assert redirect.status_code == 302
    async with httpx.AsyncClient() as http:
        served = await http.get(redirect.headers["location"])
    assert served.status_code == 200
    assert served.headers["content-disposition"] == content_disposition("swatch.png")
    assert served.headers["content-type"] == "image/png"
    assert hashlib.sha256(served.content).hexdigest() == added.json()["checksum"]


async def test_a_refused_file_is_a_422_naming_it_and_leaves_nothing(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, local: LocalStorage
) -> None:
    await login(client, world.owner_a.email)
    project_id = await create_project(client)
    ticket = await upload_through_api(client, project_id, "photo.png", HTML, "image")

    added = await add(client, project_id, ticket["key"], "photo.png")

    assert added.status_code == 422
    assert added.headers["content-type"].startswith("application/problem+json")
    assert added.json()["detail"] == "photo.png was refused: it is a web page (HTML)."
    assert await local.size(ticket["key"]) is None
    assert [p for p in local.root.rglob("*") if p.is_file()] == []
    assert await counts(engine) == (0, 0)


async def test_bad_requests_for_upload_instructions(
    client: AsyncTestClient[Litestar], world: World, local: LocalStorage
) -> None:
    await login(client, world.owner_a.email)
    project_id = await create_project(client)

    too_big = await start(client, project_id, "scan.pdf", "document", size=60 * (1 << 20))
    assert too_big.status_code == 422
    assert too_big.json()["detail"] == "scan.pdf is larger than 50 MB, the limit for document files."

    svg = await start(client, project_id, "logo.svg", "design")
    assert svg.status_code == 422
    assert (
        svg.json()["detail"]
        == "logo.svg is a .svg file. We do not accept web pages, SVG, scripts or programs."
    )

    unknown_kind = await start(client, project_id, "a.pdf", "secrets")
    assert unknown_kind.status_code == 400

    nameless = await start(client, project_id, "../", "design")
    assert nameless.status_code == 422
    assert nameless.json()["detail"] == "The file needs a name."


# --- tenancy and roles ----------------------------------------------------------------------------------------


async def test_another_orgs_project_and_files_are_404(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, local: LocalStorage
) -> None:
    await login(client, world.owner_a.email)
    project_id = await create_project(client)
    ticket = await upload_through_api(client, project_id, "spec.pdf", pdf_bytes(), "document")
    file_id = (await add(client, project_id, ticket["key"], "spec.pdf")).json()["id"]
    own_ticket = (await start(client, project_id, "next.pdf", "document")).json()
    client.cookies.clear()

    await login(client, world.owner_b.email)
    theirs = await create_project(client, "Tote bag")
    assert (await start(client, project_id, "x.pdf", "document")).status_code == 404
    assert (await add(client, project_id, own_ticket["key"], "x.pdf")).status_code == 404
    assert (await client.get(f"/api/v1/projects/{project_id}/files")).status_code == 404
    download = await client.get(f"/api/v1/files/{file_id}/download", follow_redirects=False)
    assert download.status_code == 404
    assert download.json()["detail"] == "This file does not exist or you do not have access to it."
    # org A's upload key on org B's own project: also a 404, and org A's object is untouched
    posted = await client.post(
        own_ticket["url"], data=own_ticket["fields"], files={"file": ("n.pdf", pdf_bytes())}
    )
    assert posted.status_code == 204
    assert (await add(client, theirs, own_ticket["key"], "n.pdf")).status_code == 404
    assert await local.size(own_ticket["key"]) == len(pdf_bytes())
    assert await counts(engine) == (1, 1)


async def test_viewers_may_list_and_download_but_not_upload(
    client: AsyncTestClient[Litestar], world: World, local: LocalStorage
) -> None:
    await login(client, world.owner_a.email)
    project_id = await create_project(client)
    ticket = await upload_through_api(client, project_id, "spec.pdf", pdf_bytes(), "document")
    file_id = (await add(client, project_id, ticket["key"], "spec.pdf")).json()["id"]
    other = (await start(client, project_id, "more.pdf", "document")).json()
    await client.post(other["url"], data=other["fields"], files={"file": ("more.pdf", pdf_bytes())})
    client.cookies.clear()

    await login(client, world.viewer_a.email)
    refused = await start(client, project_id, "x.pdf", "document")
    assert refused.status_code == 403
    assert refused.json()["detail"] == VIEWER_MESSAGE
    completion = await add(client, project_id, other["key"], "more.pdf")
    assert completion.status_code == 403
    assert completion.json()["detail"] == VIEWER_MESSAGE
    assert await local.size(other["key"]) == len(pdf_bytes())  # a refused caller deletes nothing

    assert (await client.get(f"/api/v1/projects/{project_id}/files")).json()["total"] == 1
    download = await client.get(f"/api/v1/files/{file_id}/download", follow_redirects=False)
    assert download.status_code == 302


async def test_bearer_tokens_need_no_csrf_but_cookies_do(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, local: LocalStorage
) -> None:
    await login(client, world.member_a.email)
    project_id = await create_project(client)
    no_header = await client.post(
        f"/api/v1/projects/{project_id}/uploads", json={"filename": "a.pdf", "kind": "document"}
    )
    assert no_header.status_code == 403

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            token = (await accounts.issue_api_token(session, user=world.member_a, name="cli")).token
    async with AsyncTestClient(app=client.app, base_url="http://testserver.local") as api:
        response = await api.post(
            f"/api/v1/projects/{project_id}/uploads",
            json={"filename": "a.pdf", "kind": "document"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["key"].endswith("/a.pdf")


async def test_anonymous_callers_get_401(
    client: AsyncTestClient[Litestar], world: World, local: LocalStorage
) -> None:
    response = await client.get("/api/v1/files/1/download", follow_redirects=False)
    assert response.status_code == 401


# --- readiness ------------------------------------------------------------------------------------------------


async def test_readyz_reports_storage_down_when_s3_is_unreachable(
    client: AsyncTestClient[Litestar], s3_endpoint: str, db: AsyncSession
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    set_storage(S3Storage(s3_settings(endpoint, "media")))
    try:
        response = await client.get("/readyz")
    finally:
        reset_storage()

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["storage"].startswith(
        f"down: StorageUnavailable: S3 bucket 'media' at {endpoint} is unreachable"
    )


async def test_readyz_is_ok_with_reachable_storage(
    client: AsyncTestClient[Litestar], use_s3: S3Storage, db: AsyncSession
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "storage": "ok"}


async def test_completing_a_stored_files_key_is_refused_and_the_file_stays(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, local: LocalStorage
) -> None:
    # a stored key shows in download URLs; completing it "again" must not move the file away from its record
    await login(client, world.owner_a.email)
    project_id = await create_project(client)
    ticket = await upload_through_api(client, project_id, "drawing.pdf", pdf_bytes(), "document")
    first = await add(client, project_id, ticket["key"], "drawing.pdf")
    assert first.status_code == 201, first.text
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        stored = await session.scalar(select(Attachment.object_key))
    assert stored is not None
    before = await counts(engine)
    again = await add(client, project_id, stored, "drawing.pdf")
    assert again.status_code == 404
    assert await counts(engine) == before
    assert await local.size(stored) is not None
