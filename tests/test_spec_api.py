"""The spec revision API: coordinators write and issue, brands approve or send back, other organizations see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.accounts import service as accounts
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from tests.conftest import World
from tests.test_spec_pages import project_id  # noqa: F401 - the fixture

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
async def tokens(engine: AsyncEngine, world: World) -> dict[str, str]:
    out = {}
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            for key in ("coordinator", "owner_a", "viewer_a", "owner_b"):
                out[key] = (await accounts.issue_api_token(session, user=getattr(world, key))).token
    return out


class Api:
    def __init__(self, client: AsyncTestClient[Litestar], tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    async def call(self, who: str, method: str, url: str, body: Any = None) -> Any:
        headers = {"authorization": f"Bearer {self.tokens[who]}", "accept": "application/json"}
        return await self.client.request(method, "/api/v1" + url, headers=headers, json=body)


async def test_lifecycle_through_the_api(
    client: AsyncTestClient[Litestar],
    tokens: dict[str, str],
    project_id: int,  # noqa: F811 - the fixture
) -> None:
    api = Api(client, tokens)
    # brands cannot start a revision; another organization cannot even see the project
    assert (await api.call("owner_a", "POST", f"/projects/{project_id}/spec-revisions")).status_code == 403
    assert (await api.call("owner_b", "POST", f"/projects/{project_id}/spec-revisions")).status_code == 404

    created = await api.call("coordinator", "POST", f"/projects/{project_id}/spec-revisions")
    assert created.status_code == 201, created.text
    revision = created.json()
    rid = revision["id"]
    assert (revision["label"], revision["status"]) == ("A", "draft")
    # the brand does not see the draft: a missing id answers the same
    assert (await api.call("owner_a", "GET", f"/spec-revisions/{rid}")).status_code == 404
    assert (await api.call("owner_a", "GET", f"/projects/{project_id}/spec-revisions")).json() == []

    content = revision["content"]
    content["overview"]["product_name"] = {"en": "Arc Lamp", "zh": "弧形灯", "status": "reviewed"}
    content["overview"]["summary"] = {"en": HOSTILE, "zh": "", "status": "reviewed"}
    saved = await api.call(
        "coordinator", "PUT", f"/spec-revisions/{rid}/content", {"version": 1, "content": content}
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["content"]["overview"]["product_name"]["status"] == "reviewed"
    assert body["content"]["overview"]["summary"]["status"] == "missing"  # no Chinese: the server decides
    assert [b["path"] for b in body["blockers"]] == ["overview.summary"]

    stale = await api.call(
        "coordinator", "PUT", f"/spec-revisions/{rid}/content", {"version": 1, "content": content}
    )
    assert stale.status_code == 409
    bad = dict(content, finishes=[{"id": "f1", "colour_code": "not a code!"}])
    invalid = await api.call(
        "coordinator", "PUT", f"/spec-revisions/{rid}/content", {"version": 2, "content": bad}
    )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/problem+json")

    submitted = await api.call(
        "coordinator", "POST", f"/spec-revisions/{rid}/actions", {"action": "submit", "version": 2}
    )
    assert submitted.status_code == 200, submitted.text
    assert (await api.call("owner_b", "GET", f"/spec-revisions/{rid}")).status_code == 404
    assert (await api.call("owner_b", "GET", "/spec-revisions/987654")).status_code == 404
    seen = await api.call("owner_a", "GET", f"/spec-revisions/{rid}")
    assert seen.status_code == 200
    assert seen.json()["content"]["overview"]["summary"]["en"] == HOSTILE

    viewer = await api.call("viewer_a", "POST", f"/spec-revisions/{rid}/actions", {"action": "approve"})
    assert viewer.status_code == 403
    staff = await api.call("coordinator", "POST", f"/spec-revisions/{rid}/actions", {"action": "approve"})
    assert staff.status_code == 403
    no_comment = await api.call(
        "owner_a", "POST", f"/spec-revisions/{rid}/actions", {"action": "request_changes"}
    )
    assert no_comment.status_code == 422
    approved = await api.call(
        "owner_a", "POST", f"/spec-revisions/{rid}/actions", {"action": "approve", "version": 3}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    refused = await api.call("coordinator", "POST", f"/spec-revisions/{rid}/actions", {"action": "issue"})
    assert refused.status_code == 409
    problem = refused.json()
    assert any("Summary" in line for line in problem["missing"])

    content["overview"]["summary"]["zh"] = "脚本"
    version = approved.json()["version"]
    fixed = await api.call(
        "coordinator", "PUT", f"/spec-revisions/{rid}/content", {"version": version, "content": content}
    )
    assert fixed.status_code == 200, fixed.text
    issued = await api.call("coordinator", "POST", f"/spec-revisions/{rid}/actions", {"action": "issue"})
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued"
    assert len(issued.json()["content_hash"]) == 64
    listed = await api.call("owner_a", "GET", f"/projects/{project_id}/spec-revisions")
    assert [r["label"] for r in listed.json()] == ["A"]
    assert (await api.call("owner_b", "GET", f"/projects/{project_id}/spec-revisions")).status_code == 404
