"""The back office at /admin: piccolo-admin over our tables, signing in the same people as the portal.

Everything goes through HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL. piccolo-admin's login counts
attempts per client address (20 per 5 minutes, see backoffice.LOGIN_ATTEMPTS); the app is shared by the whole
session, so these tests keep their logins few.
"""

from __future__ import annotations

import copy
import json
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from piccolo.engine.postgres import PostgresEngine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import create_backoffice
from backoffice.config import HIDDEN_COLUMNS, NOT_LISTED, SPECS
from makeready.accounts import service as accounts
from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import User
from makeready.accounts.passwords import verify_password
from makeready.audit.models import AuditEvent
from makeready.models import Base
from makeready.projects import service as projects
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from makeready.settings import Settings
from tests.conftest import PASSWORD, World, csrf, login

Client = AsyncTestClient[Litestar]


async def admin_login(client: Client, email: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in the way the admin's login page does: JSON body, CSRF cookie echoed in X-CSRFToken."""
    await client.get("/admin/")  # issues the CSRF cookie if the browser has none
    return await client.post(
        "/admin/public/login/",
        json={"username": email, "password": password},
        headers={"X-CSRFToken": csrf(client)},
    )


def write_headers(client: Client) -> dict[str, str]:
    return {"X-CSRFToken": csrf(client)}


async def make_project(db: AsyncSession, world: World, name: str = "Desk lamp") -> Project:
    async with db.begin():
        project = await projects.create_project(
            db, actor=world.owner_a, org_id=world.org_a.id, data={"name": name, "category": "lighting"}
        )
    return project


async def reload(db: AsyncSession, obj: object) -> None:
    await db.refresh(obj)
    await db.commit()


# URLs a signed-in coordinator can read; a brand user must get none of them.
ADMIN_API_URLS = [
    "/admin/api/tables/",
    "/admin/api/tables/grouped/",
    "/admin/api/tables/projects/",
    "/admin/api/tables/projects/schema/",
    "/admin/api/tables/users/",
    "/admin/api/tables/users/1/",
    "/admin/api/tables/audit_events/",
    "/admin/api/user/",
    "/admin/api/forms/",
]


async def test_admin_redirects_to_trailing_slash(client: Client) -> None:
    response = await client.get("/admin", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "/admin/"
    page = await client.get("/admin/")
    assert page.status_code == 200
    assert "<html" in page.text.lower()


async def test_coordinator_signs_in_with_portal_password_and_lists_projects(
    client: Client, world: World, db: AsyncSession
) -> None:
    project = await make_project(db, world)
    response = await admin_login(client, world.coordinator.email)
    assert response.status_code == 200, response.text
    assert client.cookies.get("id")

    listing = await client.get("/admin/api/tables/projects/", params={"__readable": "true"})
    assert listing.status_code == 200, listing.text
    rows = listing.json()["rows"]
    assert [(r["id"], r["name"], r["phase"], r["org_id_readable"]) for r in rows] == [
        (project.id, "Desk lamp", "feasibility", "Acme Lamps")
    ]
    me = await client.get("/admin/api/user/")
    assert me.json() == {"username": "coord@agency.test", "user_id": str(world.coordinator.id)}

    # the session lives in our admin_sessions table, with UTC-aware times SQLAlchemy reads back
    session_row = (await db.scalars(select(AdminSession))).one()
    assert session_row.user_id == world.coordinator.id
    now = datetime.now(UTC)
    assert now < session_row.expiry_date <= session_row.max_expiry_date <= now + timedelta(hours=13)
    # the login touched last_login_at but kept the argon2 hash the portal wrote
    coordinator = await db.get(User, world.coordinator.id)
    assert coordinator is not None
    await reload(db, coordinator)
    assert coordinator.last_login_at is not None
    assert coordinator.last_login_at.tzinfo is not None
    assert coordinator.password_hash.startswith("$argon2id$")
    assert verify_password(coordinator.password_hash, PASSWORD)


async def test_brand_user_is_refused_at_login_and_every_admin_url(
    client: Client, world: World, db: AsyncSession
) -> None:
    response = await admin_login(client, world.owner_a.email)
    assert response.status_code == 401
    assert not client.cookies.get("id")
    for url in ADMIN_API_URLS:
        assert (await client.get(url)).status_code == 401, url

    # a portal session is no back-office session
    await login(client, world.owner_a.email)
    for url in ADMIN_API_URLS:
        assert (await client.get(url)).status_code == 401, url

    # even a session row for a brand user (say, a coordinator who lost staff rights) opens nothing
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with db.begin():
        db.add(
            AdminSession(
                token=token,
                user_id=world.owner_a.id,
                expiry_date=now + timedelta(hours=1),
                max_expiry_date=now + timedelta(hours=2),
            )
        )
    client.cookies.set("id", token)
    for url in ADMIN_API_URLS:
        assert (await client.get(url)).status_code == 401, url
    project = await make_project(db, world)
    edit = await client.patch(
        f"/admin/api/tables/projects/{project.id}/", json={"name": "Mine now"}, headers=write_headers(client)
    )
    assert edit.status_code == 401
    await reload(db, project)
    assert project.name == "Desk lamp"


async def test_wrong_password_and_inactive_staff_are_refused(
    client: Client, world: World, db: AsyncSession
) -> None:
    assert (await admin_login(client, world.coordinator.email, "not-the-password")).status_code == 401
    assert (await admin_login(client, "nobody@agency.test")).status_code == 401
    async with db.begin():
        coordinator = await db.get(User, world.coordinator.id)
        assert coordinator is not None
        coordinator.is_active = False
    assert (await admin_login(client, world.coordinator.email)).status_code == 401
    assert not client.cookies.get("id")
    assert (await client.get("/admin/api/tables/")).status_code == 401


async def test_password_and_token_hashes_never_leave_the_admin_api(
    client: Client, world: World, db: AsyncSession
) -> None:
    async with db.begin():
        issued = await accounts.issue_api_token(db, user=world.owner_a, name="ci")
    await db.refresh(issued.record)
    token_hash = issued.record.token_hash
    await db.commit()
    assert (await admin_login(client, world.admin.email)).status_code == 200

    urls = [
        "/admin/api/tables/users/",
        f"/admin/api/tables/users/{world.owner_a.id}/",
        "/admin/api/tables/users/schema/",
        "/admin/api/tables/users/new/",
        "/admin/api/tables/users/?__visible_fields=id,email",
        "/admin/api/tables/users/references/",
        "/admin/api/tables/memberships/?__readable=true",
        "/admin/api/tables/api_tokens/",
        f"/admin/api/tables/api_tokens/{issued.record.id}/",
        "/admin/api/tables/api_tokens/schema/",
        "/admin/api/tables/api_tokens/new/",
        "/admin/api/user/",
    ]
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text)
        for secret in ("password_hash", "$argon2", "token_hash", token_hash):
            assert secret not in response.text, (url, secret)

    # nor can they be asked for, filtered on or sorted by
    for query in ("__visible_fields=password_hash", "password_hash=x", "__order=password_hash"):
        response = await client.get(f"/admin/api/tables/users/?{query}")
        assert response.status_code == 400, (query, response.text)
        assert "$argon2" not in response.text
    response = await client.get("/admin/api/tables/api_tokens/?__visible_fields=token_hash")
    assert response.status_code == 400
    assert token_hash not in response.text


async def test_raw_edits_of_workflow_columns_are_refused(
    client: Client, world: World, db: AsyncSession
) -> None:
    project = await make_project(db, world)
    milestone = (await db.scalars(select(Milestone).where(Milestone.project_id == project.id))).first()
    await db.commit()
    assert milestone is not None
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    url = f"/admin/api/tables/projects/{project.id}/"

    response = await client.patch(url, json={"phase": "production"}, headers=write_headers(client))
    assert response.status_code == 422
    assert "workflow" in response.json()["detail"]
    # PUT skips piccolo_api's hooks and the admin never sends it: refused outright
    response = await client.put(
        url, json={**(await client.get(url)).json(), "phase": "delivered"}, headers=write_headers(client)
    )
    assert response.status_code == 405
    response = await client.patch(
        f"/admin/api/tables/milestones/{milestone.id}/",
        json={"status": "done"},
        headers=write_headers(client),
    )
    assert response.status_code == 422
    assert "workflow" in response.json()["detail"]
    new = {
        **(await client.get("/admin/api/tables/projects/new/")).json(),
        "name": "Skip ahead",
        "org_id": world.org_a.id,
        "phase": "production",
    }
    assert (
        await client.post("/admin/api/tables/projects/", json=new, headers=write_headers(client))
    ).status_code == 422
    await reload(db, project)
    await reload(db, milestone)
    assert (project.phase, milestone.status) == (Phase.feasibility, MilestoneStatus.planned)
    assert await db.scalar(select(func.count()).select_from(Project)) == 1
    await db.commit()

    # the admin's form sends every field back, unchanged workflow state included: that edit goes through
    form = (await client.get(url)).json()
    response = await client.patch(url, json={**form, "name": "Desk lamp II"}, headers=write_headers(client))
    assert response.status_code == 200, response.text
    await reload(db, project)
    assert (project.name, project.phase, project.version) == ("Desk lamp II", Phase.feasibility, 2)
    # the same form again carries a version that is no longer current
    response = await client.patch(url, json={**form, "name": "Desk lamp III"}, headers=write_headers(client))
    assert response.status_code == 409
    await reload(db, project)
    assert project.name == "Desk lamp II"


async def test_audit_events_cannot_be_added_edited_or_deleted(
    client: Client, world: World, db: AsyncSession
) -> None:
    before = [(e.id, e.hash, e.action) for e in await db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    await db.commit()
    event_id = before[0][0]
    assert (await admin_login(client, world.admin.email)).status_code == 200
    url = f"/admin/api/tables/audit_events/{event_id}/"
    row = (await client.get(url)).json()
    headers = write_headers(client)
    attempts = [
        await client.patch(url, json={"action": "nothing.happened"}, headers=headers),
        await client.put(url, json={**row, "reason": "rewritten"}, headers=headers),
        await client.delete(url, headers=headers),
        await client.post("/admin/api/tables/audit_events/", json={**row, "seq": 999}, headers=headers),
    ]
    for response in attempts:
        assert response.status_code == 405, response.text
        assert "append-only" in response.json()["detail"]
    after = [(e.id, e.hash, e.action) for e in await db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert after == before


async def test_back_office_csrf_cookie_does_not_break_portal_forms(client: Client, world: World) -> None:
    # a browser that opens /admin/ first gets its CSRF cookie from the back office; the portal accepts it
    await client.get("/admin/")
    assert csrf(client)
    await login(client, world.coordinator.email)
    # and the back office accepts the portal's
    response = await client.post(
        "/admin/public/login/",
        json={"username": world.coordinator.email, "password": PASSWORD},
        headers={"X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 200
    missing = await client.post("/admin/public/logout/", headers={"X-CSRFToken": "forged"})
    assert missing.status_code == 403


async def test_admin_creates_users_through_the_accounts_service(
    client: Client, world: World, db: AsyncSession
) -> None:
    data = {
        "email": " New.Coordinator@Agency.test ",
        "name": "Nina",
        "password": "a-long-new-password",
        "is_staff": True,
        "is_admin": False,
    }
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    refused = await client.post("/admin/api/forms/create-a-user/", json=data, headers=write_headers(client))
    assert refused.status_code == 422
    assert "Only agency admins" in refused.json()["custom_form_error"]
    raw = await client.post(
        "/admin/api/tables/users/", json={"email": "raw@agency.test"}, headers=write_headers(client)
    )
    assert raw.status_code in (403, 405)

    client.cookies.clear()
    assert (await admin_login(client, world.admin.email)).status_code == 200
    created = await client.post("/admin/api/forms/create-a-user/", json=data, headers=write_headers(client))
    assert created.status_code == 200, created.text
    raw = await client.post(
        "/admin/api/tables/users/", json={"email": "raw@agency.test"}, headers=write_headers(client)
    )
    assert raw.status_code == 405
    assert "Create a user" in raw.json()["detail"]

    user = await db.scalar(select(User).where(User.email == "new.coordinator@agency.test"))
    assert user is not None
    assert user.is_staff
    assert user.password_hash.startswith("$argon2id$")
    event = await db.scalar(
        select(AuditEvent).where(AuditEvent.action == "user.created", AuditEvent.subject_id == user.id)
    )
    assert event is not None
    assert event.actor_id == world.admin.id
    await db.commit()
    duplicate = await client.post("/admin/api/forms/create-a-user/", json=data, headers=write_headers(client))
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.json()["custom_form_error"]


async def test_changing_the_password_in_the_back_office_changes_it_for_the_portal(
    client: Client, world: World, db: AsyncSession
) -> None:
    await login(client, world.coordinator.email)
    portal_browser = httpx.Cookies(client.cookies)
    client.cookies = httpx.Cookies()
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    new_password = "a-brand-new-password"
    response = await client.post(
        "/admin/api/change-password/",
        json={
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm_new_password": new_password,
        },
        headers=write_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    # every back-office session of the user ends with the change
    assert (await client.get("/admin/api/user/")).status_code == 401
    coordinator = await db.get(User, world.coordinator.id)
    assert coordinator is not None
    await reload(db, coordinator)
    assert coordinator.password_hash.startswith("$argon2id$")
    assert verify_password(coordinator.password_hash, new_password)
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
    assert event is not None
    assert (event.actor_id, event.subject_id) == (world.coordinator.id, world.coordinator.id)
    await db.commit()
    # the portal session the coordinator had before ends too
    client.cookies = portal_browser
    assert (await client.get("/coordinator/board", follow_redirects=False)).status_code in (302, 303, 401)
    client.cookies.clear()
    await login(client, world.coordinator.email, new_password)


async def test_users_are_changed_by_admins_only_and_emails_stay_normalised(
    client: Client, world: World, db: AsyncSession
) -> None:
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    url = f"/admin/api/tables/users/{world.coordinator.id}/"
    promote = await client.patch(url, json={"is_admin": True}, headers=write_headers(client))
    assert promote.status_code == 403
    client.cookies.clear()
    assert (await admin_login(client, world.admin.email)).status_code == 200
    bad = await client.patch(url, json={"email": "not an email"}, headers=write_headers(client))
    assert bad.status_code == 422
    ok = await client.patch(url, json={"email": " Chen@Agency.TEST "}, headers=write_headers(client))
    assert ok.status_code == 200, ok.text
    brand_url = f"/admin/api/tables/users/{world.owner_a.id}/"
    promoted = await client.patch(brand_url, json={"is_admin": True}, headers=write_headers(client))
    assert promoted.status_code == 200, promoted.text
    coordinator, owner = await db.get(User, world.coordinator.id), await db.get(User, world.owner_a.id)
    assert coordinator is not None
    assert owner is not None
    await reload(db, coordinator)
    await reload(db, owner)
    assert coordinator.email == "chen@agency.test"
    # an agency admin is always staff too, as accounts.create_user makes them
    assert (owner.is_admin, owner.is_staff) == (True, True)


async def test_an_api_token_cannot_be_moved_to_another_user(
    client: Client, world: World, db: AsyncSession
) -> None:
    async with db.begin():
        issued = await accounts.issue_api_token(db, user=world.coordinator, name="mine")
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    url = f"/admin/api/tables/api_tokens/{issued.record.id}/"
    form = (await client.get(url)).json()
    moved = await client.patch(url, json={**form, "user_id": world.admin.id}, headers=write_headers(client))
    assert moved.status_code == 422
    assert "revoke" in moved.json()["detail"]
    revoked_at = datetime.now(UTC).isoformat()
    revoked = await client.patch(url, json={**form, "revoked_at": revoked_at}, headers=write_headers(client))
    assert revoked.status_code == 200, revoked.text
    assert await accounts.user_for_token(db, issued.token) is None
    await db.commit()


async def test_every_table_is_configured_grouped_and_translated(client: Client, world: World) -> None:
    expected = {t.name for t in Base.metadata.sorted_tables} - NOT_LISTED
    assert set(SPECS) == expected, "add a TableSpec in backoffice/config.py for each new table"
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    grouped = (await client.get("/admin/api/tables/grouped/")).json()
    assert grouped["ungrouped"] == []
    configured: dict[str, list[str]] = {}
    for name, spec in SPECS.items():
        configured.setdefault(spec.group, []).append(name)
    assert {g: sorted(t) for g, t in grouped["grouped"].items()} == {
        g: sorted(t) for g, t in configured.items()
    }
    assert set(configured) == {
        "Clients",
        "Projects",
        "Suppliers",
        "Specifications",
        "Billing",
        "Production",
        "System",
    }
    assert "projects" in configured["Projects"]
    assert "audit_events" in configured["System"]
    for name in expected:
        schema = (await client.get(f"/admin/api/tables/{name}/schema/")).json()
        columns = set(Base.metadata.tables[name].c.keys()) - HIDDEN_COLUMNS.get(name, frozenset())
        assert set(schema["extra"]["visible_fields_options"]) == columns, name
        assert schema["extra"]["visible_column_names"] == list(SPECS[name].visible), name
    meta = (await client.get("/admin/public/meta/")).json()
    assert meta["site_name"] == "Makeready back office"
    languages = (await client.get("/admin/public/translations/")).json()["translations"]
    assert {t["language_code"] for t in languages} == {"en", "zh-CN"}
    chinese = (await client.get("/admin/public/translations/zh-CN/")).json()
    assert chinese["language_name"] == "Simplified Chinese"
    assert json.dumps(chinese["translations"], ensure_ascii=False) != json.dumps({})


async def test_production_back_office_checks_the_origin_and_secures_the_session(
    settings: Settings, world: World
) -> None:
    production = copy.copy(settings)
    production.app = settings.app.model_copy(
        update={"env": "production", "base_url": "https://ops.example.com"}
    )
    # a pooled engine, as in production (PostgreSQL only; SQLite has no pool)
    production.db = settings.db.model_copy(update={"pool": "queue"})
    backoffice = create_backoffice(production)
    transport = httpx.ASGITransport(app=backoffice)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://ops.example.com") as browser:
            assert (await browser.get("/")).status_code == 200
            body = {"username": world.coordinator.email, "password": PASSWORD}
            headers = {"X-CSRFToken": browser.cookies["csrftoken"]}
            # over HTTPS the CSRF check also wants our own origin (from BASE_URL)
            for origin in ({}, {"Origin": "https://evil.example"}):
                refused = await browser.post("/public/login/", json=body, headers={**headers, **origin})
                assert refused.status_code == 403, refused.text
            response = await browser.post(
                "/public/login/", json=body, headers={**headers, "Origin": "https://ops.example.com"}
            )
            assert response.status_code == 200, response.text
            session_cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("id="))
            assert "Secure" in session_cookie
            assert "HttpOnly" in session_cookie
            assert (await browser.get("/api/tables/projects/")).status_code == 200
        if isinstance(backoffice.engine, PostgresEngine):
            assert backoffice.engine.pool is not None
    finally:
        await backoffice.close()
