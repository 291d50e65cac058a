"""The back office cannot be used to get around the rules: security columns refuse raw edits at the API itself,
what stays editable goes through a service with its audit event, and two edits racing on one row never both win.

Hostile requests are sent as they would be by hand: PATCH /admin/api/tables/<table>/<id>/ with a JSON body."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts import profile
from makeready.accounts import service as accounts
from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import ApiToken, Membership, OrgRole, User
from makeready.audit.models import AuditEvent
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.projects import service as projects
from makeready.projects.models import Project
from tests.conftest import World, login

Client = AsyncTestClient[Litestar]


async def back_office_cookies(engine: AsyncEngine, user: User) -> str:
    """A back-office session token for `user`, as piccolo-admin's login leaves it."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with unit_of_work(Scope.system(), engine=engine) as session:
        session.add(
            AdminSession(
                token=token,
                user_id=user.id,
                expiry_date=now + timedelta(hours=1),
                max_expiry_date=now + timedelta(hours=2),
            )
        )
    return token


async def sign_in(client: Any, engine: AsyncEngine, user: User) -> dict[str, str]:
    """Sign `client` in to the back office; the headers a write needs."""
    client.cookies = httpx.Cookies()
    client.cookies.set("id", await back_office_cookies(engine, user))
    await client.get("/admin/")
    return {"X-CSRFToken": client.cookies.get("csrftoken", "")}


async def events(engine: AsyncEngine, action: str) -> list[AuditEvent]:
    async with unit_of_work(Scope.system(), engine=engine) as session:
        return list((await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


async def test_a_revoked_token_cannot_be_revived(client: Client, world: World, engine: AsyncEngine) -> None:
    async with unit_of_work(Scope.system(), engine=engine) as session:
        owner = await session.get(User, world.owner_a.id)
        assert owner is not None
        issued = await accounts.issue_api_token(session, user=owner, name="ci")
        await profile.revoke_api_token(session, user=owner, token_id=issued.record.id)
    url = f"/admin/api/tables/api_tokens/{issued.record.id}/"
    for staff in (world.coordinator, world.admin):
        headers = await sign_in(client, engine, staff)
        revived = await client.patch(url, json={"revoked_at": None}, headers=headers)
        assert revived.status_code == 422, revived.text
        form = (await client.get(url)).json()
        revived = await client.patch(url, json={**form, "revoked_at": None}, headers=headers)
        assert revived.status_code == 422, revived.text
        renamed = await client.patch(url, json={"name": "mine now"}, headers=headers)
        assert renamed.status_code == 422
        assert (await client.delete(url, headers=headers)).status_code == 405
    async with unit_of_work(Scope.system(), engine=engine) as session:
        assert await accounts.user_for_token(session, issued.token) is None
        token = await session.get(ApiToken, issued.record.id)
        assert token is not None
        assert (token.name, token.revoked_at is not None) == ("ci", True)


async def test_revoking_a_token_in_the_back_office_is_audited(
    client: Client, world: World, engine: AsyncEngine
) -> None:
    async with unit_of_work(Scope.system(), engine=engine) as session:
        owner = await session.get(User, world.owner_a.id)
        assert owner is not None
        issued = await accounts.issue_api_token(session, user=owner, name="leaked")
    headers = await sign_in(client, engine, world.coordinator)
    url = f"/admin/api/tables/api_tokens/{issued.record.id}/"
    form = (await client.get(url)).json()
    done = await client.patch(
        url, json={**form, "revoked_at": datetime.now(UTC).isoformat()}, headers=headers
    )
    assert done.status_code == 200, done.text
    (event,) = await events(engine, "api_token.revoked")
    assert (event.actor_id, event.subject_id, event.reason) == (
        world.coordinator.id,
        issued.record.id,
        "back office",
    )


async def test_memberships_and_invitations_are_not_raw_editable(
    client: Client, world: World, engine: AsyncEngine, db: AsyncSession
) -> None:
    viewer = await db.scalar(select(Membership).where(Membership.user_id == world.viewer_a.id))
    await db.commit()
    assert viewer is not None
    for staff in (world.coordinator, world.admin):
        headers = await sign_in(client, engine, staff)
        url = f"/admin/api/tables/memberships/{viewer.id}/"
        promoted = await client.patch(url, json={"role": "owner"}, headers=headers)
        assert promoted.status_code == 405, promoted.text
        added = await client.post(
            "/admin/api/tables/memberships/",
            json={"org_id": world.org_b.id, "user_id": world.viewer_a.id, "role": "owner"},
            headers=headers,
        )
        assert added.status_code == 405
        assert (await client.delete(url, headers=headers)).status_code == 405
    async with unit_of_work(Scope.system(), engine=engine) as session:
        roles = (
            await session.scalars(select(Membership.role).where(Membership.user_id == world.viewer_a.id))
        ).all()
    assert list(roles) == [OrgRole.viewer]


async def test_user_security_columns_refuse_raw_edits_and_access_changes_are_audited(
    client: Client, world: World, engine: AsyncEngine
) -> None:
    # the member is signed in to the portal in some browser
    await login(client, world.member_a.email)
    portal = httpx.Cookies(client.cookies)
    url = f"/admin/api/tables/users/{world.member_a.id}/"

    headers = await sign_in(client, engine, world.coordinator)
    assert (await client.patch(url, json={"is_staff": True}, headers=headers)).status_code == 403
    headers = await sign_in(client, engine, world.admin)
    # dates the system keeps: a back-dated password change (which would revive ended sessions) is refused
    rewound = await client.patch(
        url,
        json={
            "password_changed_at": "2020-01-01T00:00:00+00:00",
            "last_login_at": "2020-01-01T00:00:00+00:00",
        },
        headers=headers,
    )
    assert rewound.status_code == 422, rewound.text
    assert (await client.delete(url, headers=headers)).status_code == 405

    # deactivating goes through the accounts service: audited, and the user's sessions end at once
    form = (await client.get(url)).json()
    off = await client.patch(url, json={**form, "is_active": False}, headers=headers)
    assert off.status_code == 200, off.text
    (event,) = await events(engine, "user.updated")
    assert (event.actor_id, event.subject_id, event.before, event.after) == (
        world.admin.id,
        world.member_a.id,
        {"is_active": True},
        {"is_active": False},
    )
    client.cookies = portal
    assert (await client.get("/account", follow_redirects=False)).status_code == 303


async def test_two_simultaneous_edits_of_one_row_one_wins_one_is_told(
    app: Litestar, world: World, engine: AsyncEngine
) -> None:
    async with unit_of_work(Scope.system(), engine=engine) as session:
        actor = await session.get(User, world.owner_a.id)
        assert actor is not None
        project = await projects.create_project(
            session, actor=actor, org_id=world.org_a.id, data={"name": "Race", "category": "lighting"}
        )
    url = f"/admin/api/tables/projects/{project.id}/"
    transport = httpx.ASGITransport(app=app)
    base = "http://testserver.local"
    async with (
        httpx.AsyncClient(transport=transport, base_url=base) as first,
        httpx.AsyncClient(transport=transport, base_url=base) as second,
    ):
        first_headers = await sign_in(first, engine, world.coordinator)
        second_headers = await sign_in(second, engine, world.admin)
        for round_ in range(8):
            form = (await first.get(url)).json()
            both = await asyncio.gather(
                first.patch(url, json={**form, "name": f"First {round_}"}, headers=first_headers),
                second.patch(url, json={**form, "name": f"Second {round_}"}, headers=second_headers),
            )
            assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
            winner = next(r for r in both if r.status_code == 200).json()
            async with unit_of_work(Scope.system(), engine=engine) as session:
                row = await session.get(Project, project.id)
                assert row is not None
                # the winner's edit is what is stored, and the version moved by exactly one
                assert (row.name, row.version) == (winner["name"], form["version"] + 1)


async def test_every_other_raw_write_is_in_the_audit_trail(
    client: Client, world: World, engine: AsyncEngine
) -> None:
    async with unit_of_work(Scope.system(), engine=engine) as session:
        actor = await session.get(User, world.owner_a.id)
        assert actor is not None
        project = await projects.create_project(
            session, actor=actor, org_id=world.org_a.id, data={"name": "Desk lamp", "category": "lighting"}
        )
    headers = await sign_in(client, engine, world.coordinator)
    url = f"/admin/api/tables/projects/{project.id}/"
    form = (await client.get(url)).json()
    edited = await client.patch(url, json={**form, "name": "Desk lamp II"}, headers=headers)
    assert edited.status_code == 200, edited.text
    (event,) = await events(engine, "backoffice.edited")
    assert (event.actor_id, event.subject_type, event.subject_id, event.project_id, event.org_id) == (
        world.coordinator.id,
        "projects",
        project.id,
        project.id,
        world.org_a.id,
    )
    assert (event.before, event.after) == ({"name": "Desk lamp"}, {"name": "Desk lamp II"})

    new = {**(await client.get("/admin/api/tables/organizations/new/")).json(), "name": "Cobalt Cups"}
    created = await client.post("/admin/api/tables/organizations/", json=new, headers=headers)
    assert created.status_code == 201, created.text
    (made,) = await events(engine, "backoffice.created")
    assert (made.subject_type, made.after is not None and made.after["name"]) == (
        "organizations",
        "Cobalt Cups",
    )
    org_id = created.json()[0]["id"]
    gone = await client.delete(f"/admin/api/tables/organizations/{org_id}/", headers=headers)
    assert gone.status_code == 204, gone.text
    (deleted,) = await events(engine, "backoffice.deleted")
    assert (
        deleted.subject_type,
        deleted.subject_id,
        deleted.before is not None and deleted.before["name"],
    ) == (
        "organizations",
        org_id,
        "Cobalt Cups",
    )
    async with unit_of_work(Scope.system(), engine=engine) as session:
        from makeready.audit import service as audit

        assert (await audit.verify(session)).ok
