"""piccolo-admin's lists at a million rows: no page starts deeper than MAX_LIST_OFFSET rows (OFFSET walks every row
before it), and the row count it asks for before each page comes from PostgreSQL's estimate when the table is big
(an exact count(*) of a million audit events took 0.9 s). Filtered counts stay exact."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice import tables
from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.audit.models import AuditEvent
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from tests.conftest import World

Client = AsyncTestClient[Litestar]


async def sign_in(client: Client, engine: AsyncEngine, user: User) -> None:
    """A back-office session row, as piccolo-admin's login leaves it (its login form is rate-limited per run)."""
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
    client.cookies = httpx.Cookies()
    client.cookies.set("id", token)


async def test_no_list_page_starts_past_the_cap(client: Client, engine: AsyncEngine, world: World) -> None:
    await sign_in(client, engine, world.coordinator)
    size = 25
    last_allowed = tables.MAX_LIST_OFFSET // size + 1  # starts at row MAX_LIST_OFFSET exactly
    ok = await client.get(
        "/admin/api/tables/audit_events/", params={"__page": last_allowed, "__page_size": size}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["rows"] == []  # the test database is small; the page is simply empty
    for table in ("audit_events", "milestones", "projects"):
        deep = await client.get(
            f"/admin/api/tables/{table}/", params={"__page": last_allowed + 1, "__page_size": size}
        )
        assert deep.status_code == 400, deep.text
        assert "Pages past row 10,000 are not shown" in deep.text
    # the default page size counts too
    default = await client.get("/admin/api/tables/audit_events/", params={"__page": 100_000})
    assert default.status_code == 400
    # a malformed page is still refused by the admin's own parameter check (FastAPI's 422), not a 500
    assert (await client.get("/admin/api/tables/audit_events/", params={"__page": "x"})).status_code == 422


async def test_the_count_of_a_big_table_is_the_planners_estimate(
    client: Client, engine: AsyncEngine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, engine, world.coordinator)
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE audit_events"))
    async with unit_of_work(Scope.system(), engine=engine) as session:
        analyzed = await session.scalar(select(func.count()).select_from(AuditEvent))
        # rows written after ANALYZE: the exact count moves, the estimate does not
        for n in range(3):
            await audit.record(
                session, actor_id=None, action=f"probe.{n}", subject_type="probe", subject_id=n
            )
    async with unit_of_work(Scope.system(), engine=engine) as session:
        exact = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert analyzed is not None
    assert exact == analyzed + 3

    monkeypatch.setattr(tables, "ESTIMATE_ABOVE", 1)  # "big" from one row up
    count = (await client.get("/admin/api/tables/audit_events/count/")).json()["count"]
    if postgres:
        async with engine.connect() as conn:
            reltuples = await conn.scalar(
                text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'audit_events'::regclass")
            )
        assert count == reltuples == analyzed
    else:
        assert count == exact  # SQLite keeps no estimate: the count is exact
    # a filtered count is exact whatever the size
    filtered = await client.get("/admin/api/tables/audit_events/count/", params={"subject_type": "probe"})
    assert filtered.json()["count"] == 3

    monkeypatch.setattr(tables, "ESTIMATE_ABOVE", 10**9)  # small tables are counted exactly
    assert (await client.get("/admin/api/tables/audit_events/count/")).json()["count"] == exact
