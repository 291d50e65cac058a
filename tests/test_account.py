"""The account page through HTTP: password change, language preference and personal API tokens, audited."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts import service as accounts
from makeready.accounts.models import ApiToken, User
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from tests.conftest import PASSWORD, World, csrf, login

NEW_PASSWORD = "another-long-passphrase"
HOSTILE = '<script>alert("x")</script><b>bold</b>'
TOKEN = re.compile(r"mr_[A-Za-z0-9_\-]{40,}")


async def post(client: AsyncTestClient[Litestar], url: str, **fields: str) -> httpx.Response:
    return await client.post(url, data={**fields, "_csrf_token": csrf(client)}, follow_redirects=False)


async def events(db: AsyncSession, action: str) -> list[AuditEvent]:
    rows = await db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.seq)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def fresh_user(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id, populate_existing=True)
    assert user is not None
    return user


async def test_anonymous_callers_are_sent_to_log_in(client: AsyncTestClient[Litestar], world: World) -> None:
    response = await client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_page_shows_the_account_and_its_organizations(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await login(client, world.member_a.email)
    page = await client.get("/account")
    assert page.status_code == 200
    assert world.member_a.email in page.text
    assert "Acme Lamps" in page.text
    assert "(member)" in page.text
    assert 'href="/account"' in page.text  # the navigation links here, and to the team
    assert 'href="/team"' in page.text


# -- password --------------------------------------------------------------------------------------------------


async def test_wrong_current_password_shows_the_form_again_with_the_message(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    before = (await fresh_user(db, world.owner_a.id)).password_hash
    response = await post(
        client,
        "/account/password",
        current_password="not-my-password",
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
    )
    assert response.status_code == 422
    assert "The current password is not correct." in response.text
    assert 'name="current_password"' in response.text
    weak = await post(
        client,
        "/account/password",
        current_password=PASSWORD,
        new_password="short",
        new_password_confirm="short",
    )
    assert weak.status_code == 422
    assert "at least 10 characters" in weak.text
    mismatch = await post(
        client,
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD + "!",
    )
    assert mismatch.status_code == 422
    assert "The two new passwords do not match." in mismatch.text
    assert (await fresh_user(db, world.owner_a.id)).password_hash == before
    assert await events(db, "user.password_changed") == []


async def test_password_change_ends_the_other_browsers_sessions(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    other_browser = httpx.Cookies(client.cookies)
    client.cookies = httpx.Cookies()
    await login(client, world.owner_a.email)
    changed = await post(
        client,
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
    )
    assert changed.status_code == 303
    assert (await client.get("/account")).status_code == 200  # this browser stays signed in

    client.cookies = other_browser
    page = await client.get("/account", follow_redirects=True)
    assert "Your password was changed. Please log in again." in page.text
    assert (await client.get("/api/v1/projects")).status_code == 401


async def test_password_change_keeps_api_tokens_working(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            issued = await accounts.issue_api_token(session, user=world.owner_a, name="ERP")
    await login(client, world.owner_a.email)
    response = await post(
        client,
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
    )
    assert response.status_code == 303
    assert "Your password has been changed." in (await client.get(response.headers["location"])).text
    # still logged in on this session; the new password works, the old one does not
    assert (await client.get("/account")).status_code == 200
    client.cookies = httpx.Cookies()
    await client.get("/login")
    old = await client.post(
        "/login",
        data={"email": world.owner_a.email, "password": PASSWORD, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert old.status_code == 400
    await login(client, world.owner_a.email, NEW_PASSWORD)
    # the token issued before the change still authenticates
    client.cookies = httpx.Cookies()
    api = await client.get("/api/v1/projects", headers={"authorization": f"Bearer {issued.token}"})
    assert api.status_code == 200
    [event] = await events(db, "user.password_changed")
    assert event.actor_id == world.owner_a.id


# -- language --------------------------------------------------------------------------------------------------


async def test_language_preference_applies_now_and_at_the_next_login(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.member_a.email)
    response = await post(client, "/account/language", locale="zh_Hans")
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert page.headers["content-language"] == "zh-Hans"
    assert "账户" in page.text
    assert (await fresh_user(db, world.member_a.id)).locale == "zh_Hans"
    [event] = await events(db, "user.locale_changed")
    assert event.before == {"locale": None}
    assert event.after == {"locale": "zh_Hans"}

    # a new session (another browser) opens in Chinese after logging in
    client.cookies = httpx.Cookies()
    await login(client, world.member_a.email)
    page = await client.get("/account")
    assert page.headers["content-language"] == "zh-Hans"

    refused = await post(client, "/account/language", locale="klingon")
    assert refused.status_code == 422
    assert (await fresh_user(db, world.member_a.id)).locale == "zh_Hans"
    back = await post(client, "/account/language", locale="en")
    assert back.status_code == 303
    assert (await client.get("/account")).headers["content-language"] == "en"


# -- API tokens ------------------------------------------------------------------------------------------------


async def test_token_is_shown_once_works_and_stops_when_revoked(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    created = await post(client, "/account/tokens", name="Our ERP")
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    assert "it is shown only this once" in created.text
    [token] = TOKEN.findall(created.text)
    record = await db.scalar(select(ApiToken).where(ApiToken.user_id == world.owner_a.id))
    assert record is not None
    assert record.name == "Our ERP"
    assert token not in record.token_hash
    assert token.startswith(record.prefix)

    # the page lists it by name and prefix only, never the value again
    page = await client.get("/account")
    assert token not in page.text
    assert "Our ERP" in page.text
    assert record.prefix in page.text
    assert "Active" in page.text

    headers = {"authorization": f"Bearer {token}"}
    cookies = httpx.Cookies(client.cookies)
    client.cookies = httpx.Cookies()
    assert record.last_used_at is None
    assert (await client.get("/api/v1/projects", headers=headers)).status_code == 200
    used = await db.scalar(
        select(ApiToken.last_used_at)
        .where(ApiToken.id == record.id)
        .execution_options(populate_existing=True)
    )
    assert used is not None  # the account page shows when the token was last used

    client.cookies = cookies
    page = await client.get("/account")
    assert "never" not in page.text
    revoked = await post(client, f"/account/tokens/{record.id}/revoke")
    assert revoked.status_code == 303
    page = await client.get(revoked.headers["location"])
    assert "The token has been revoked" in page.text
    assert "Revoked on" in page.text
    client.cookies = httpx.Cookies()
    refused = await client.get("/api/v1/projects", headers=headers)
    assert refused.status_code == 401
    assert [e.subject_id for e in await events(db, "api_token.issued")] == [record.id]
    assert [e.subject_id for e in await events(db, "api_token.revoked")] == [record.id]


async def test_token_needs_a_name_and_names_are_text(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    nameless = await post(client, "/account/tokens", name="   ")
    assert nameless.status_code == 422
    assert "Give the token a name" in nameless.text
    assert TOKEN.findall(nameless.text) == []
    hostile = await post(client, "/account/tokens", name=HOSTILE)
    assert hostile.status_code == 201
    page = await client.get("/account")
    assert "<script>alert" not in page.text
    assert "<b>bold</b>" not in page.text
    assert "&lt;script&gt;" in page.text


async def test_another_users_token_cannot_be_revoked(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            theirs = await accounts.issue_api_token(session, user=world.owner_b, name="B's")
    await login(client, world.owner_a.email)
    response = await post(client, f"/account/tokens/{theirs.record.id}/revoke")
    assert response.status_code == 404
    assert "B&#39;s" not in response.text
    client.cookies = httpx.Cookies()
    still = await client.get("/api/v1/projects", headers={"authorization": f"Bearer {theirs.token}"})
    assert still.status_code == 200
