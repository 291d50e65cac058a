"""The samples API: GET /api/v1/projects/{id}/samples and POST /api/v1/samples/{id}/decision, with bearer tokens
and session cookies; every refusal a problem document; and their OpenAPI description."""

from __future__ import annotations

import io
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts import service as accounts
from makeready.accounts.models import User
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.notify.models import EmailOutbox, Notification
from makeready.samples.models import SampleRound, SampleStatus
from tests.conftest import World, csrf, login
from tests.sample_data import Arranged, arrange

PROBLEM = "application/problem+json"


async def bearer(engine: AsyncEngine, user: User) -> dict[str, str]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            issued = await accounts.issue_api_token(session, user=user)
    return {"authorization": f"Bearer {issued.token}"}


async def _arranged(engine: AsyncEngine, world: World, rounds: int = 2) -> Arranged:
    return await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=rounds
    )


async def _status(db: AsyncSession, round_id: int) -> SampleStatus:
    db.expire_all()
    sample = await db.scalar(select(SampleRound).where(SampleRound.id == round_id))
    assert sample is not None
    return sample.status


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a refusal, checked to be one."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


# --- GET /projects/{id}/samples --------------------------------------------------------------------------------


async def test_list_samples_with_photos_newest_first_and_paginated(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=3)
    headers = await bearer(engine, world.viewer_a)  # viewers can read
    response = await client.get(f"/api/v1/projects/{arranged.project_id}/samples", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert [item["number"] for item in body["items"]] == [3, 2, 1]
    latest = body["items"][0]
    assert latest["status"] == "received"
    assert latest["awaiting_decision"] is True
    assert latest["coordinator_notes"] == "Lid fits; check the seam."
    assert [p["id"] for p in latest["photos"]] == arranged.photo_ids[arranged.round_ids[2]]
    photo = latest["photos"][0]
    assert photo["thumbnail_url"] == f"/samples/photos/{photo['id']}/thumbnail"
    assert photo["image_url"] == f"/samples/photos/{photo['id']}/image"
    assert body["items"][1]["status"] == "rejected"
    assert body["items"][1]["decision_comment"] == "Too dark."

    # the photo links accept the same bearer token
    thumb = await client.get(photo["thumbnail_url"], headers=headers)
    assert thumb.status_code == 200
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 480

    page = await client.get(
        f"/api/v1/projects/{arranged.project_id}/samples", params={"limit": 1, "offset": 1}, headers=headers
    )
    assert page.json()["total"] == 3
    assert [item["number"] for item in page.json()["items"]] == [2]
    assert page.json()["limit"] == 1
    assert page.json()["offset"] == 1


async def test_list_samples_refusals(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    _problem(await client.get(f"/api/v1/projects/{arranged.project_id}/samples"), 401)
    other = await bearer(engine, world.owner_b)
    theirs = _problem(await client.get(f"/api/v1/projects/{arranged.project_id}/samples", headers=other), 404)
    missing = _problem(await client.get("/api/v1/projects/987654/samples", headers=other), 404)
    assert theirs == missing
    assert "Arc Pendant" not in str(theirs)
    _problem(
        await client.get(
            f"/api/v1/projects/{arranged.project_id}/samples", params={"limit": 0}, headers=other
        ),
        400,
    )


# --- POST /samples/{id}/decision -------------------------------------------------------------------------------


async def test_approve_with_pins_records_and_notifies(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world)
    round_id = arranged.round_ids[-1]
    pins = arranged.photo_ids[round_id]
    response = await client.post(
        f"/api/v1/samples/{round_id}/decision",
        json={"decision": "approve", "comment": "Good to go.", "pinned_photo_ids": pins},
        headers=await bearer(engine, world.member_a),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved"
    assert body["awaiting_decision"] is False
    assert body["decided_by_id"] == world.member_a.id
    assert body["decision_comment"] == "Good to go."
    assert body["pinned_photo_ids"] == pins
    assert all(photo["pinned"] for photo in body["photos"])
    assert await _status(db, round_id) == SampleStatus.approved
    notification = await db.scalar(
        select(Notification).where(
            Notification.user_id == world.coordinator.id, Notification.kind == "sample_approved"
        )
    )
    assert notification is not None
    assert await db.scalar(select(EmailOutbox).where(EmailOutbox.to_email == world.coordinator.email))


async def test_reject_with_a_session_cookie_needs_the_csrf_header(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    round_id = arranged.round_ids[0]
    await login(client, world.owner_a.email)
    body = {"decision": "reject", "comment": "Hinge squeaks."}
    _problem(await client.post(f"/api/v1/samples/{round_id}/decision", json=body), 403)
    response = await client.post(
        f"/api/v1/samples/{round_id}/decision", json=body, headers={"x-csrftoken": csrf(client)}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert await _status(db, round_id) == SampleStatus.rejected


async def test_decision_refusals(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world)
    first, second = arranged.round_ids
    url = f"/api/v1/samples/{second}/decision"
    owner = await bearer(engine, world.owner_a)

    _problem(await client.post(url, json={"decision": "approve"}), 401)

    viewer = _problem(
        await client.post(url, json={"decision": "approve"}, headers=await bearer(engine, world.viewer_a)),
        403,
    )
    assert viewer["detail"] == "Viewers can look but not change anything. Ask an owner for a member role."

    coordinator = _problem(
        await client.post(url, json={"decision": "approve"}, headers=await bearer(engine, world.coordinator)),
        403,
    )
    assert "coordinator cannot decide" in str(coordinator["detail"])

    other = await bearer(engine, world.owner_b)
    theirs = _problem(await client.post(url, json={"decision": "approve"}, headers=other), 404)
    missing = _problem(
        await client.post("/api/v1/samples/987654/decision", json={"decision": "approve"}, headers=other), 404
    )
    assert theirs == missing

    no_comment = _problem(await client.post(url, json={"decision": "reject"}, headers=owner), 422)
    assert no_comment["field"] == "comment"
    blank = _problem(
        await client.post(url, json={"decision": "reject", "comment": " \n "}, headers=owner), 422
    )
    assert blank["field"] == "comment"

    foreign_pin = _problem(
        await client.post(
            url,
            json={"decision": "approve", "pinned_photo_ids": [arranged.photo_ids[first][0]]},
            headers=owner,
        ),
        422,
    )
    assert foreign_pin["field"] == "pinned_photo_ids"

    bad_value = _problem(await client.post(url, json={"decision": "maybe"}, headers=owner), 400)
    assert bad_value["errors"]
    _problem(await client.post(url, json={"decision": "approve", "extra": 1}, headers=owner), 400)

    stale = _problem(await client.post(url, json={"decision": "approve", "version": 1}, headers=owner), 409)
    assert stale["current_version"] > 1

    decided = _problem(
        await client.post(f"/api/v1/samples/{first}/decision", json={"decision": "approve"}, headers=owner),
        409,
    )
    assert decided["current_state"] == "rejected"
    assert "once it is received" in str(decided["detail"])

    assert await _status(db, second) == SampleStatus.received  # nothing of the refusals was kept


async def test_a_requested_round_is_not_awaiting_a_decision(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    from makeready.samples.lifecycle import mark_sample_in_production
    from tests.sample_data import development_project, sample_round

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await development_project(
                session, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id
            )
            sample = await sample_round(
                session, project=project, coordinator=world.coordinator, received=False
            )
            await mark_sample_in_production(session, actor=world.coordinator, round_id=sample.id)
    body = _problem(
        await client.post(
            f"/api/v1/samples/{sample.id}/decision",
            json={"decision": "approve"},
            headers=await bearer(engine, world.owner_a),
        ),
        409,
    )
    assert body["current_state"] == "in_production"


async def test_openapi_documents_the_samples_endpoints(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    listing = schema["paths"]["/api/v1/projects/{project_id}/samples"]["get"]
    assert set(listing["responses"]) >= {"200", "401", "404"}
    decision = schema["paths"]["/api/v1/samples/{round_id}/decision"]["post"]
    assert set(decision["responses"]) == {"200", "400", "401", "403", "404", "409", "422"}
    for code in ("403", "409", "422"):
        assert "application/problem+json" in decision["responses"][code]["content"]
    assert decision["requestBody"]
    thumb = schema["paths"]["/samples/photos/{photo_id}/thumbnail"]["get"]
    assert set(thumb["responses"]) >= {"200", "401", "404"}
