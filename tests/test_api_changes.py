"""The change request and decision log API: GET/POST /api/v1/projects/{id}/change-requests and
GET /api/v1/projects/{id}/decisions, with their refusals as problem documents."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.changes.lifecycle import decide_change_request
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from tests.conftest import World
from tests.sample_data import add_image, arrange, development_project
from tests.test_api_samples import _problem, bearer

HOSTILE = '<script>alert("x")</script>'


async def _project(engine: AsyncEngine, world: World, *, org: str = "a") -> tuple[int, int]:
    owner, org_id = (world.owner_a, world.org_a.id) if org == "a" else (world.owner_b, world.org_b.id)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await development_project(
                session, owner=owner, coordinator=world.coordinator, org_id=org_id, name=f"Lamp {org}"
            )
            attachment = await add_image(session, project=project, uploader=owner, name="drawing.jpg")
    return project.id, attachment.id


async def test_raise_and_list_change_requests(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, file_id = await _project(engine, world)
    headers = await bearer(engine, world.member_a)
    created = await client.post(
        f"/api/v1/projects/{project_id}/change-requests",
        json={
            "title": "Thicker lid",
            "description": "2.5 mm instead of 2 mm.",
            "reason": "The lid flexes.",
            "attachment_ids": [file_id],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"] == 1
    assert body["status"] == "open"
    assert body["attachment_ids"] == [file_id]
    assert body["files"] == [{"id": file_id, "original_name": "drawing.jpg"}]
    assert body["raised_by_id"] == world.member_a.id
    assert body["raised_by_name"] == "member_a"

    second = await client.post(
        f"/api/v1/projects/{project_id}/change-requests",
        json={"title": "Matte", "description": "Matte finish.", "reason": "Glare."},
        headers=headers,
    )
    assert second.json()["number"] == 2

    listing = await client.get(
        f"/api/v1/projects/{project_id}/change-requests", headers=await bearer(engine, world.viewer_a)
    )
    assert listing.status_code == 200
    assert listing.json()["total"] == 2
    assert [item["number"] for item in listing.json()["items"]] == [2, 1]
    page = await client.get(
        f"/api/v1/projects/{project_id}/change-requests", params={"limit": 1, "offset": 1}, headers=headers
    )
    assert [item["title"] for item in page.json()["items"]] == ["Thicker lid"]
    assert page.json()["total"] == 2

    # the coordinator decides in the back office; the outcome shows here
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await decide_change_request(
                session, actor=world.coordinator, change_id=body["id"], decision="approve", note="Agreed."
            )
    decided = (await client.get(f"/api/v1/projects/{project_id}/change-requests", headers=headers)).json()
    outcome = next(item for item in decided["items"] if item["id"] == body["id"])
    assert outcome["status"] == "approved"
    assert outcome["decision_note"] == "Agreed."
    assert outcome["decided_by_id"] == world.coordinator.id
    assert outcome["decided_by_name"] == "Chen Coordinator"


async def test_change_request_refusals(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, _file_id = await _project(engine, world)
    _other_project, other_file = await _project(engine, world, org="b")
    url = f"/api/v1/projects/{project_id}/change-requests"
    valid = {"title": "t", "description": "d", "reason": "r"}
    owner = await bearer(engine, world.owner_a)

    _problem(await client.get(url), 401)
    _problem(await client.post(url, json=valid), 401)

    viewer = _problem(await client.post(url, json=valid, headers=await bearer(engine, world.viewer_a)), 403)
    assert viewer["detail"] == "Viewers can look but not change anything. Ask an owner for a member role."

    other = await bearer(engine, world.owner_b)
    for method in ("get", "post"):
        kwargs = {"json": valid} if method == "post" else {}
        theirs = _problem(await getattr(client, method)(url, headers=other, **kwargs), 404)
        missing = _problem(
            await getattr(client, method)("/api/v1/projects/987654/change-requests", headers=other, **kwargs),
            404,
        )
        assert theirs == missing

    assert (
        _problem(await client.post(url, json={**valid, "reason": " "}, headers=owner), 422)["field"]
        == "reason"
    )
    assert (
        _problem(await client.post(url, json={**valid, "title": ""}, headers=owner), 422)["field"] == "title"
    )
    assert (
        _problem(await client.post(url, json={**valid, "title": "x" * 201}, headers=owner), 422)["field"]
        == "title"
    )
    foreign = _problem(
        await client.post(url, json={**valid, "attachment_ids": [other_file]}, headers=owner), 422
    )
    assert foreign["field"] == "attachment_ids"
    _problem(await client.post(url, json={"title": "t"}, headers=owner), 400)
    _problem(await client.post(url, json={**valid, "status": "approved"}, headers=owner), 400)

    db.expire_all()
    assert (await db.scalars(select(ChangeRequest).where(ChangeRequest.project_id == project_id))).all() == []


async def test_decision_log_records_samples_and_changes_with_before_after_and_reason(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=2
    )
    headers = await bearer(engine, world.owner_a)
    decided = await client.post(
        f"/api/v1/samples/{arranged.round_ids[1]}/decision",
        json={"decision": "reject", "comment": f"Seam open {HOSTILE}"},
        headers=headers,
    )
    assert decided.status_code == 200
    raised = await client.post(
        f"/api/v1/projects/{arranged.project_id}/change-requests",
        json={"title": f"Seam {HOSTILE}", "description": "Weld it.", "reason": "Open seam."},
        headers=headers,
    )
    change_id = raised.json()["id"]
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await decide_change_request(
                session, actor=world.coordinator, change_id=change_id, decision="reject", note="Use a clip."
            )

    response = await client.get(f"/api/v1/projects/{arranged.project_id}/decisions", headers=headers)
    assert response.status_code == 200
    log = response.json()
    items = log["items"]
    assert log["total"] == len(items)  # fewer than a page
    newest = items[0]
    assert newest["action"] == "change_request.rejected"
    assert newest["actor_id"] == world.coordinator.id
    assert newest["actor_name"] == "Chen Coordinator"
    assert newest["before"] == {"status": "open"}
    assert newest["after"]["status"] == "rejected"
    assert newest["after"]["note"] == "Use a clip."
    assert newest["reason"] == "Use a clip."
    assert newest["sentence"] == f"Chen Coordinator rejected change request 1: Seam {HOSTILE}"
    assert newest["at"]

    rejection = next(
        i
        for i in items
        if i["action"] == "sample_round.rejected" and i["subject_id"] == arranged.round_ids[1]
    )
    assert rejection["actor_name"] == "owner_a"
    assert rejection["before"] == {"status": "received"}
    assert rejection["after"]["status"] == "rejected"
    assert (
        rejection["reason"] == f"Seam open {HOSTILE}"
    )  # data, exactly as typed: escaping is the reader's job
    assert rejection["sentence"] == "owner_a rejected sample round 2."
    assert any(i["action"] == "change_request.raised" for i in items)

    page = await client.get(
        f"/api/v1/projects/{arranged.project_id}/decisions", params={"limit": 2, "offset": 1}, headers=headers
    )
    assert [i["id"] for i in page.json()["items"]] == [i["id"] for i in items[1:3]]
    assert page.json()["total"] == log["total"]


async def test_decision_log_in_chinese_and_refusals(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=2
    )
    url = f"/api/v1/projects/{arranged.project_id}/decisions"
    _problem(await client.get(url), 401)
    other = await bearer(engine, world.owner_b)
    assert _problem(await client.get(url, headers=other), 404) == _problem(
        await client.get("/api/v1/projects/987654/decisions", headers=other), 404
    )
    zh = await client.get(url, headers={**await bearer(engine, world.viewer_a), "accept-language": "zh-CN"})
    rejected = next(i for i in zh.json()["items"] if i["action"] == "sample_round.rejected")
    assert "驳回" in rejected["sentence"] or "拒绝" in rejected["sentence"]


async def test_openapi_documents_the_change_and_decision_endpoints(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    raise_op = schema["paths"]["/api/v1/projects/{project_id}/change-requests"]["post"]
    assert set(raise_op["responses"]) == {"201", "400", "401", "403", "404", "409", "422"}
    list_op = schema["paths"]["/api/v1/projects/{project_id}/change-requests"]["get"]
    assert set(list_op["responses"]) == {"200", "400", "401", "404"}
    decisions = schema["paths"]["/api/v1/projects/{project_id}/decisions"]["get"]
    assert set(decisions["responses"]) == {"200", "400", "401", "404"}
    assert {p["name"] for p in decisions["parameters"]} >= {"limit", "offset"}
    assert ChangeStatus.open.value in str(schema["components"]["schemas"])
