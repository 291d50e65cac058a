"""Shared fixtures: every database-backed test runs on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.

The schema comes from the Alembic migrations (never `create_all`), once per backend; rows are removed after
each test. The environment is set before any Makeready module reads its settings.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="makeready-tests-"))
os.environ.update(
    {
        "APP_ENV": "development",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": f"sqlite+aiosqlite:///{_TMP / 'default.db'}",
        "MEDIA_ROOT": str(_TMP / "media"),
        "OUTBOX_DIR": str(_TMP / "outbox"),
        "ARGON2_PROFILE": "fast",  # cheap argon2 parameters; production refuses them
        "DATABASE_POOL": "null",  # the test client runs the app on its own event loop
        "S3_BUCKET": "",
        "SMTP_URL": "",
        "REDIS_URL": "",
        "JOBS_PERIODIC": "false",  # tests run the periodic jobs themselves, with a controlled clock
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
    }
)

import pytest  # noqa: E402
from litestar import Litestar  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import delete, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from makeready.accounts import service as accounts  # noqa: E402
from makeready.accounts.models import Organization, OrgRole, User  # noqa: E402
from makeready.composition import wire  # noqa: E402
from makeready.db.migrate import upgrade  # noqa: E402
from makeready.db.session import get_engine, make_sessionmaker  # noqa: E402
from makeready.db.tenancy import Scope, set_scope  # noqa: E402
from makeready.models import Base  # noqa: E402
from makeready.settings import DatabaseSettings, Settings  # noqa: E402

wire()  # tests call the core services directly, as the app, the CLI and the worker do after wiring

PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _create_pg_database(admin_url: str) -> str:
    """A fresh database per test run, so runs never see each other's rows."""
    import asyncio

    import asyncpg

    url = make_url(admin_url)
    name = f"makeready_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(
            user=url.username,
            password=url.password,
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            database=url.database or "postgres",
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{_TMP / f'test-{uuid.uuid4().hex[:8]}.db'}"
    else:
        url = _create_pg_database(os.environ["TEST_DATABASE_URL"])
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> AsyncEngine:
    return get_engine(db_url)


@pytest.fixture(scope="session")
def settings(db_url: str) -> Settings:
    s = Settings()
    s.db = DatabaseSettings().model_copy(update={"url": db_url})
    return s


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    from portal.app import create_app

    return create_app(settings)


@pytest.fixture(autouse=True)
async def _clean_rows(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Remove every row after a database test, children first."""
    yield
    if "db_url" not in request.fixturenames:
        return
    engine = get_engine(request.getfixturevalue("db_url"))
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(delete(table))


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A system-scoped session for arranging and checking rows directly."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        yield session


@dataclass
class World:
    """Two brand organizations, their users, and agency staff."""

    org_a: Organization
    org_b: Organization
    owner_a: User
    member_a: User
    viewer_a: User
    owner_b: User
    coordinator: User
    admin: User


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            org_a = await accounts.get_or_create_org(session, name="Acme Lamps")
            org_b = await accounts.get_or_create_org(session, name="Borealis Bags")
            users: dict[str, User] = {}
            for key, email, org, role in [
                ("owner_a", "owner@acme.test", org_a, OrgRole.owner),
                ("member_a", "member@acme.test", org_a, OrgRole.member),
                ("viewer_a", "viewer@acme.test", org_a, OrgRole.viewer),
                ("owner_b", "owner@borealis.test", org_b, OrgRole.owner),
            ]:
                users[key] = await accounts.create_user(session, email=email, password=PASSWORD, name=key)
                await accounts.add_member(session, org=org, user=users[key], role=role)
            users["coordinator"] = await accounts.create_user(
                session, email="coord@agency.test", password=PASSWORD, name="Chen Coordinator", is_staff=True
            )
            users["admin"] = await accounts.create_user(
                session, email="admin@agency.test", password=PASSWORD, name="Ada Admin", is_admin=True
            )
    return World(org_a=org_a, org_b=org_b, **users)


async def login(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> None:
    """Log in through the real form, with its CSRF token."""
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf(client: AsyncTestClient[Litestar]) -> str:
    return client.cookies.get("csrftoken", "")
