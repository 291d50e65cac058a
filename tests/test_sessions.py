"""Sessions end on the server: a copy of a cookie is worth nothing after logout, a password change, or an admin
signing the user out everywhere, in the portal and the back office alike."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts import service as accounts
from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import ApiToken, PortalSession, User
from makeready.audit.models import AuditEvent
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from tests.conftest import PASSWORD, World, csrf, login

Client = AsyncTestClient[Litestar]
NEW_PASSWORD = "another-long-password"


async def admin_login(client: Client, engine: AsyncEngine, email: str) -> None:
    """A back-office session, as piccolo-admin's login leaves it (a row of admin_sessions and the `id` cookie).
    The real login is left alone: piccolo's limiter allows an address 20 logins per 5 minutes, suite-wide."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with unit_of_work(Scope.system(), engine=engine) as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        assert user_id is not None
        session.add(
            AdminSession(
                token=token,
                user_id=user_id,
                expiry_date=now + timedelta(hours=1),
                max_expiry_date=now + timedelta(hours=2),
            )
        )
    client.cookies.set("id", token)
    await client.get("/admin/")  # the CSRF cookie
    assert (await client.get("/admin/api/user/")).status_code == 200


async def replay(client: Client, cookies: httpx.Cookies) -> tuple[int, int]:
    """What a stolen copy of the cookies still does: (GET /account, POST /api/v1/projects)."""
    client.cookies = httpx.Cookies(cookies)
    page = await client.get("/account", follow_redirects=False)
    write = await client.post(
        "/api/v1/projects", json={"name": "Planted"}, headers={"x-csrftoken": cookies.get("csrftoken") or ""}
    )
    return page.status_code, write.status_code


async def test_a_cookie_replayed_after_logout_reads_and_writes_nothing(client: Client, world: World) -> None:
    await login(client, world.owner_a.email)
    stolen = httpx.Cookies(client.cookies)
    assert (await client.get("/account")).status_code == 200
    logout = await client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert logout.status_code == 303

    page, write = await replay(client, stolen)
    assert page in (302, 303)
    assert write == 401


async def test_a_password_change_ends_other_portal_and_back_office_sessions(
    client: Client, world: World, engine: AsyncEngine
) -> None:
    # the coordinator is signed in to the back office in one browser and the portal in another
    await admin_login(client, engine, world.coordinator.email)
    back_office = httpx.Cookies(client.cookies)
    assert (await client.get("/admin/api/user/")).status_code == 200
    client.cookies = httpx.Cookies()
    await login(client, world.coordinator.email)
    other_portal = httpx.Cookies(client.cookies)
    client.cookies = httpx.Cookies()
    await login(client, world.coordinator.email)

    changed = await client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
            "_csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    # the browser that changed it stays signed in
    assert (await client.get("/account")).status_code == 200
    mine = httpx.Cookies(client.cookies)

    page, write = await replay(client, other_portal)
    assert (page, write) == (303, 401)
    client.cookies = back_office
    assert (await client.get("/admin/api/user/")).status_code == 401
    client.cookies = mine
    assert (await client.get("/account")).status_code == 200


async def test_an_admin_signs_a_user_out_everywhere(
    client: Client, world: World, db: AsyncSession, engine: AsyncEngine
) -> None:
    async with db.begin():
        issued = await accounts.issue_api_token(db, user=world.coordinator, name="laptop")
    await admin_login(client, engine, world.coordinator.email)
    back_office = httpx.Cookies(client.cookies)
    client.cookies = httpx.Cookies()
    await login(client, world.coordinator.email)
    portal = httpx.Cookies(client.cookies)

    # a coordinator may not sign someone out; an agency admin may
    client.cookies = httpx.Cookies(back_office)
    form = "/admin/api/forms/sign-a-user-out-everywhere/"
    refused = await client.post(
        form, json={"email": world.admin.email, "revoke_tokens": False}, headers={"X-CSRFToken": csrf(client)}
    )
    assert refused.status_code == 422
    client.cookies = httpx.Cookies()
    await admin_login(client, engine, world.admin.email)
    done = await client.post(
        form,
        json={"email": " Coord@Agency.test ", "revoke_tokens": True},
        headers={"X-CSRFToken": csrf(client)},
    )
    assert done.status_code == 200, done.text
    assert "2 sessions ended, 1 API tokens revoked" in done.json()["custom_form_success"]

    page, write = await replay(client, portal)
    assert (page, write) == (303, 401)
    client.cookies = back_office
    assert (await client.get("/admin/api/user/")).status_code == 401
    client.cookies = httpx.Cookies()
    by_token = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {issued.token}"})
    assert by_token.status_code == 401
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "user.sessions_ended"))
    assert event is not None
    assert (event.actor_id, event.subject_id, event.after) == (
        world.admin.id,
        world.coordinator.id,
        {"sessions": 2, "tokens_revoked": 1},
    )
    token = await db.get(ApiToken, issued.record.id)
    assert token is not None
    await db.refresh(token)
    assert token.revoked_at is not None
    # only the admin's own sessions are left
    left = (await db.scalars(select(PortalSession.user_id))).all()
    assert world.coordinator.id not in left
    await db.commit()


async def test_the_cli_signs_a_user_out_everywhere(client: Client, world: World, db_url: str) -> None:
    from click.testing import CliRunner

    from portal.cli import main

    await login(client, world.member_a.email)
    portal = httpx.Cookies(client.cookies)
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["users", "sign-out", "--email", world.member_a.email],
        env={"DATABASE_URL": db_url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "1 sessions ended" in result.output
    page, write = await replay(client, portal)
    assert (page, write) == (303, 401)
