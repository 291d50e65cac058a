"""Shared fixtures: every database-backed test runs on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.

The schema comes from the Alembic migrations (never `create_all`), once per backend. Before each database test the
database is put back into a known state instead of deleting rows afterwards: empty, or holding the `World` cast
(built once per backend and session, the first time a test asks for `world`). The environment is set before any
Makeready module reads its settings.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any


def _fast_tmp() -> str | None:
    """RAM-backed /dev/shm when there is one: SQLite's fsync at every commit then costs nothing."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


_TMP = Path(tempfile.mkdtemp(prefix="makeready-tests-", dir=_fast_tmp()))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
os.environ.update(
    {
        "APP_ENV": "development",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": f"sqlite+aiosqlite:///{_TMP / 'default.db'}",
        "MEDIA_ROOT": str(_TMP / "media"),
        "OUTBOX_DIR": str(_TMP / "outbox"),
        "ARGON2_PROFILE": "fast",  # cheap argon2 parameters; production refuses them
        # the test client runs the app on its own event loop (an anyio portal thread), and an asyncpg connection
        # belongs to the loop that made it; SQLite's test engines are pooled all the same (see _engine_for_tests)
        "DATABASE_POOL": "null",
        "S3_BUCKET": "",
        "SMTP_URL": "",
        "REDIS_URL": "",
        "JOBS_PERIODIC": "false",  # tests run the periodic jobs themselves, with a controlled clock
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
    }
)

import asyncpg  # noqa: E402
import pytest  # noqa: E402
from litestar import Litestar  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import delete, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from makeready import jobs  # noqa: E402
from makeready.accounts import service as accounts  # noqa: E402
from makeready.accounts.models import Organization, OrgRole, User  # noqa: E402
from makeready.composition import wire  # noqa: E402
from makeready.db import session as db_session  # noqa: E402
from makeready.db.migrate import upgrade  # noqa: E402
from makeready.db.session import get_engine, make_sessionmaker  # noqa: E402
from makeready.db.tenancy import Scope, set_scope  # noqa: E402
from makeready.models import Base  # noqa: E402
from makeready.settings import DatabaseSettings, Settings  # noqa: E402

wire()  # tests call the core services directly, as the app, the CLI and the worker do after wiring

PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
BASE_URL = "http://testserver.local"
SESSION_COOKIE = "mr_session"

Rows = dict[str, list[dict[str, Any]]]
"""A database state: each non-empty table's rows, by table name."""


PG_PREFIX = "makeready_test_"
"""A test process's PostgreSQL database is `makeready_test_p<pid>_<hex>` (under pytest-xdist each worker is a process
of its own, with its own database): the process drops it when it ends, and a later one drops it when that pid is
gone (a run that was killed). `makeready_test_<hex>` databases are older runs' (no pid): dropped when unused and older
than any run can be (a session here lasts at most 3 hours, CI 90 minutes)."""
_STALE_UNNAMED_SECONDS = 4 * 3600
PG_CLEANUP_LOCK = 0x6D616B65_72656479
"""The advisory lock `_drop_stale_pg_databases` holds while it looks and drops: the test processes of a run (xdist
workers) and concurrent runs clean up one at a time, and a test of the cleanup holds it while it arranges databases
for it (tests/test_suite_databases.py), so no other process drops them first."""


def _pg_connect_args(url: URL) -> dict[str, Any]:
    return {
        "user": url.username,
        "password": url.password,
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "database": url.database or "postgres",
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


async def _drop_stale_pg_databases(conn: Any) -> list[str]:
    """Drop the test databases of runs that are gone, never one a running test session may be using: a pid-named
    database only when its pid is no longer running and nothing is connected to it; an older unnamed one only when
    nothing is connected to it and it was created over 4 hours ago. Concurrent runs are safe: a database being used
    refuses DROP (without FORCE), and a run's own pid is alive. One process at a time (`PG_CLEANUP_LOCK`)."""
    await conn.execute("SELECT pg_advisory_lock($1)", PG_CLEANUP_LOCK)
    try:
        return await _drop_stale(conn)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", PG_CLEANUP_LOCK)


async def _drop_stale(conn: Any) -> list[str]:
    rows = await conn.fetch(
        "SELECT d.datname, d.oid, EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid) AS used "
        "FROM pg_database d WHERE d.datname LIKE $1",
        PG_PREFIX.replace("_", "\\_") + "%",
    )
    dropped = []
    for row in rows:
        name = row["datname"]
        if row["used"]:
            continue
        match = re.fullmatch(rf"{PG_PREFIX}p(\d+)_[0-9a-f]+", name)
        if match is not None:
            if _pid_alive(int(match[1])):
                continue
        elif re.fullmatch(rf"{PG_PREFIX}[0-9a-f]{{10}}", name):
            try:  # PG_VERSION is written when the database is created (needs a superuser or pg_read_server_files)
                created = await conn.fetchval(
                    "SELECT (pg_stat_file('base/' || $1::oid::text || '/PG_VERSION')).modification",
                    row["oid"],
                )
            except asyncpg.PostgresError:
                continue
            if (datetime.now(UTC) - created).total_seconds() < _STALE_UNNAMED_SECONDS:
                continue
        else:
            continue
        try:
            await conn.execute(f'DROP DATABASE "{name}"')
        except asyncpg.PostgresError:  # someone connected meanwhile, or another run dropped it first
            continue
        dropped.append(name)
    return dropped


def _create_pg_database(admin_url: str) -> str:
    """A fresh database per test run, so runs never see each other's rows; dropped when the run ends."""
    url = make_url(admin_url)
    name = f"{PG_PREFIX}p{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(**_pg_connect_args(url))
        try:
            await _drop_stale_pg_databases(conn)
            await conn.execute(f'CREATE DATABASE "{name}"')
            # a commit need not wait for the WAL to reach the disk: nothing here must survive a crash, and
            # commits are most of what a database test does
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        finally:
            await conn.close()

    asyncio.run(create())
    # at exit: after pytest closed its event loops, and with them the pools' connections
    atexit.register(_drop_pg_database, url, name)
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def _drop_pg_database(admin_url: URL, name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(**_pg_connect_args(admin_url))
        try:
            # FORCE: a connection some test left open (or a pool not yet closed) is this run's own
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@dataclass
class _Cast:
    """The World's rows and ids, and a portal session per cast user, captured through the real login form."""

    rows: Rows
    org_ids: dict[str, int]
    user_ids: dict[str, int]
    users: dict[str, dict[str, Any]]
    """Each cast user's row by email, as the template holds it (what `login()` compares before reusing a session)."""
    cookies: dict[str, list[Cookie]]
    """The cookies a real login left in the client, by email."""
    secret_key: str


@dataclass
class _Database:
    """One backend's migrated database and the states it is restored to before each test."""

    url: str
    cast: _Cast | None = None
    built: dict[Any, _BuiltState] = field(default_factory=dict)
    """States a test arranged through the services, kept by key to be restored instead of built again
    (`built_state`)."""

    @property
    def engine(self) -> AsyncEngine:
        return get_engine(self.url)

    async def restore(self, state: str) -> None:
        """Put the database back into `state` ("empty" or "cast")."""
        await self._restore_rows(self.cast.rows if state == "cast" and self.cast else {})

    async def _restore_rows(self, rows: Rows) -> None:
        """Empty the tables that have rows, children first, then insert the state's rows again.

        Sequences are not reset: new rows get ids above every id of the state, so nothing collides."""
        tables = Base.metadata.sorted_tables
        probe = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"  # noqa: S608 (our own table names)
            for t in tables
        )
        async with self.engine.begin() as conn:
            filled = set(await conn.scalars(text(probe))) | set(rows)
            for table in reversed(tables):
                if table.name in filled:
                    await conn.execute(delete(table))
            for table in tables:
                if rows.get(table.name):
                    await conn.execute(insert(table), rows[table.name])

    async def snapshot(self) -> Rows:
        rows: Rows = {}
        async with self.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                # by primary key: a row that refers to another of its table (a revision based on an earlier one)
                # is inserted after it
                found = (await conn.execute(select(table).order_by(*table.primary_key))).mappings().all()
                if found:
                    rows[table.name] = [{c.key: r[c] for c in table.c} for r in found]
        return rows


@dataclass
class _BuiltState:
    """What one arrangement left: the rows, the files it put in MEDIA_ROOT, and what it returned."""

    rows: Rows
    files: dict[Path, bytes]
    result: Any


def _media_files() -> dict[Path, float]:
    root = Path(os.environ["MEDIA_ROOT"])
    return {p: p.stat().st_mtime for p in root.rglob("*") if p.is_file()} if root.is_dir() else {}


_DATABASES: dict[str, _Database] = {}
_make_engine = db_session.make_engine


def _engine_for_tests(
    url: str, *, echo: bool = False, null_pool: bool = False, per_loop: bool = False
) -> AsyncEngine:
    """`get_engine` for a test database: a pool per event loop (`LoopBoundPool`) even under DATABASE_POOL=null.
    The test client serves the app on a loop of its own and an asyncpg connection belongs to its loop, so each loop
    keeps its own idle connections, closed before the loop closes. A new PostgreSQL connection costs ~17 ms, a new
    SQLite one parses the whole schema first (~2.5 ms of CPU), and a test opens about ten sessions."""
    if url in _DATABASES:
        return _make_engine(url, echo=echo, per_loop=True)
    return _make_engine(url, echo=echo, null_pool=null_pool, per_loop=per_loop)


db_session.make_engine = _engine_for_tests  # get_engine looks make_engine up at each call


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{_TMP / f'test-{uuid.uuid4().hex[:8]}.db'}"
    else:
        url = _create_pg_database(os.environ["TEST_DATABASE_URL"])
    upgrade(url)
    _DATABASES[url] = _Database(url=url)  # before the first get_engine(url)
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
async def _restore_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Before a database test: the empty, migrated database, or the World cast when the test asks for `world`.
    After it: no job it left behind (say a retry waiting in the worker `enqueue` started on the test's loop) runs
    on the next test's rows, or makes the next `jobs.start()` wait for it."""
    if "db_url" not in request.fixturenames:
        yield  # tests without a database pay nothing
        return
    database = _DATABASES[request.getfixturevalue("db_url")]
    if "world" not in request.fixturenames:
        await database.restore("empty")
    elif database.cast is None:
        await database.restore("empty")
        database.cast = await _build_cast(database, request.getfixturevalue("app"))
    else:
        await database.restore("cast")
    yield
    await jobs.stop(grace=0)


@pytest.fixture(autouse=True)
def _fresh_miss_counter() -> None:
    """Each test starts with no unknown-token misses counted against the test client's address: the factory links'
    limiter (`portal.factory.MISSES`) lives in the process, and misses other tests made would otherwise answer a
    later test's link 429 (20 within 10 minutes, suite-wide)."""
    factory = sys.modules.get("portal.factory")
    if factory is not None:
        factory.MISSES.clear()


@pytest.fixture(scope="session", autouse=True)
async def _shared_chromium() -> AsyncIterator[None]:
    """The browser tests share one Chromium (tests/browser_support.py); it is closed at the session's end, on the
    session's event loop, where it was launched."""
    yield
    if "tests.browser_support" in sys.modules:
        await sys.modules["tests.browser_support"].close_shared_chromium()


_DEMO_SEEDING: list[Any] = []

XDIST_GROUPS = {
    # one Chromium, one seeding of the demo (demo_template) and one served copy of it (shared_demo) for the run
    "browser": (
        "tests/test_browser.py",
        "tests/test_browser_csp.py",
        "tests/test_browser_factory.py",
        "tests/test_browser_inspection.py",
        "tests/test_browser_production.py",
        "tests/test_phone.py",
    ),
    # the demo at one day (`seeded_demo(TODAY)`, 4-10 s per backend), built once instead of once per worker
    "seeded_demo": ("tests/test_demo.py", "tests/test_demo_production.py"),
    "waiting_flags": ("tests/test_waiting_flags.py",),
}
"""Test files whose tests `make test` (pytest-xdist, `--dist loadgroup`) runs on one worker, in collection order; every
other test is a unit of its own, handed to whichever worker is free. Declared here by file, not with xdist_group
marks: pytest 9.2 builds node ids as structured values and no longer sees xdist 3.8's `@group` suffix, so loadgroup
silently ignores the marks (pytest-xdist issue #1386); `pytest_xdist_make_scheduler` reads this instead."""
_GROUP_OF = {path: group for group, paths in XDIST_GROUPS.items() for path in paths}


def xdist_group_of(nodeid: str) -> str | None:
    return _GROUP_OF.get(nodeid.split("::", 1)[0])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `--dist loadgroup`: xdist's loadgroup scheduling, its groups being `XDIST_GROUPS` (and any `@group` node
    id an older pytest still gives an xdist_group mark). The largest units (the groups) are handed out first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FileGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            group = xdist_group_of(nodeid)
            return f"group:{group}" if group else super()._split_scope(nodeid)

    return FileGroupScheduling(config, log)


def _uses_demo(item: pytest.Item) -> bool:
    return "demo_template" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test (marked `browser`, or using the seeded demo) is in the browser group: under xdist the demo
    is then seeded, the shared served demo started and Chromium launched on one worker only. A browser module left
    out of `XDIST_GROUPS` stops the run here rather than seed the demo twice."""
    stray = sorted(
        {
            item.nodeid.split("::", 1)[0]
            for item in items
            if (item.get_closest_marker("browser") is not None or _uses_demo(item))
            and xdist_group_of(item.nodeid) != "browser"
        }
    )
    if stray:
        raise pytest.UsageError(f"browser tests outside XDIST_GROUPS['browser'] (tests/conftest.py): {stray}")


def _start_demo_seeding() -> Any:
    from tests.browser_support import DemoSeeding

    home = _TMP / "demo-template"
    home.mkdir()
    seeding = DemoSeeding(home)
    atexit.register(seeding.stop)  # before _TMP is removed (atexit runs last registered first)
    _DEMO_SEEDING.append(seeding)
    return seeding


def pytest_collection_finish(session: pytest.Session) -> None:
    """When a collected test uses the demo template, start seeding it now (tests/browser_support.py's DemoSeeding):
    it runs beside the tests that come before the browser tests. Not in an xdist worker: every worker collects
    every test but only the one given the browser group runs them, so there `demo_template` starts the seeding when
    it is first asked for (the groups are the largest units, handed out first: that is at the worker's start,
    beside the other worker's tests)."""
    if hasattr(session.config, "workerinput"):
        return
    if any(_uses_demo(item) for item in session.items):
        _start_demo_seeding()


@pytest.fixture(scope="session")
def demo_template() -> Any:
    """The demo seeded once per run by the real `makeready demo --no-serve` (tests/browser_support.py's
    DemoTemplate), waited for: a browser module copies its home instead of seeding one of its own."""
    seeding = _DEMO_SEEDING[0] if _DEMO_SEEDING else _start_demo_seeding()
    return seeding.template()


@dataclass(frozen=True)
class ServedDemo:
    home: Path
    """The served demo's home (demo.db, media/, outbox/), for arranging rows or reading what the server wrote."""
    base: str


@pytest.fixture(scope="session")
def shared_demo(demo_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDemo]:
    """One served copy of the demo for the browser modules whose tests can share it (test_browser, whose tests run
    in its file's order, and test_browser_csp, which only reads pages): `makeready serve`, ready on /readyz."""
    from tests.browser_support import demo_env, served

    home = demo_template.copy_to(tmp_path_factory.mktemp("demo-served"))
    with served(demo_env(home)) as base:
        yield ServedDemo(home, base)


BuiltState = Callable[[Any, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""The `built_state` fixture: `await built_state(key, build)`."""


@pytest.fixture
def built_state(db_url: str) -> BuiltState:
    """`await built_state(key, build)`: the database as the async `build()` leaves it (committed), and what `build()`
    returned. The first call of a run with `key` (per backend) runs `build()`; later calls put the same rows back
    (as the `world` cast is restored) and the files `build()` stored in MEDIA_ROOT, and return a copy of what it
    returned, instead of building again. `build` must make the same state whatever test calls it first: `key` names
    everything the state depends on (what the database held before, the arguments). No job `build()` enqueued after
    its commits is left running: the first call stops them before taking the rows, so each caller starts from the
    same state."""
    database = _DATABASES[db_url]

    async def restore_or_build(key: Any, build: Callable[[], Awaitable[Any]]) -> Any:
        state = database.built.get(key)
        if state is None:
            before = _media_files()
            result = await build()
            await jobs.stop(grace=0)
            files = {
                path: path.read_bytes() for path, mtime in _media_files().items() if before.get(path) != mtime
            }
            state = database.built[key] = _BuiltState(await database.snapshot(), files, result)
        else:
            await database._restore_rows(state.rows)
            for path, content in state.files.items():
                if not path.is_file() or path.read_bytes() != content:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(content)
        return copy.deepcopy(state.result)

    return restore_or_build


SeededDemo = Callable[[date], Awaitable[Any]]
"""The `seeded_demo` fixture: `await seeded_demo(today)` returns the `makeready.demo.DemoResult`."""


@pytest.fixture
def seeded_demo(db_url: str, built_state: BuiltState) -> SeededDemo:
    """`await seeded_demo(today)`: the demo agency, as `makeready.demo.seed(session, today=today)` builds it through
    the services into the empty database, committed, and the `DemoResult` it returned; call it first. Seeded once
    per run, backend and day (`built_state`: 6 to 10 s each time it is not). Tests of the seeding's own behaviour
    (idempotence, the CLI) call `demo.seed` themselves."""
    engine = get_engine(db_url)

    async def seed(today: date) -> Any:
        from makeready import demo

        async def build() -> Any:
            async with make_sessionmaker(engine)() as session:
                set_scope(session, Scope.system())
                async with session.begin():
                    return await demo.seed(session, today=today)

        return await built_state(("demo", today), build)

    return seed


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url=BASE_URL) as c:
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


async def _build_cast(database: _Database, app: Litestar) -> _Cast:
    """Create the World's organizations and users (argon2 hashes and all) once, log each user in through the real
    form once, and keep the rows as the template every `world` test starts from."""
    async with make_sessionmaker(database.engine)() as session:
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
    cookies: dict[str, list[Cookie]] = {}
    for user in users.values():
        async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
            await _login_through_form(client, user.email, PASSWORD)
            cookies[user.email] = [copy.copy(c) for c in client.cookies.jar]
    async with database.engine.begin() as conn:
        # a test starts before anyone logged in, as the cast did when it was made per test
        await conn.execute(
            update(User).where(User.id.in_([u.id for u in users.values()])).values(last_login_at=None)
        )
    rows = await database.snapshot()
    return _Cast(
        rows=rows,
        org_ids={"org_a": org_a.id, "org_b": org_b.id},
        user_ids={key: user.id for key, user in users.items()},
        users={row["email"]: row for row in rows[User.__tablename__]},
        cookies=cookies,
        secret_key=app.state["settings"].app.secret_key,
    )


@pytest.fixture
async def world(engine: AsyncEngine, db_url: str) -> World:
    """The cast, as the template restored it before this test (loaded fresh, so a test may change it freely)."""
    cast = _DATABASES[db_url].cast
    assert cast is not None, "_restore_database builds the cast before the first test that asks for it"
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        orgs = {
            o.id: o
            for o in await session.scalars(
                select(Organization).where(Organization.id.in_(cast.org_ids.values()))
            )
        }
        users = {
            u.id: u for u in await session.scalars(select(User).where(User.id.in_(cast.user_ids.values())))
        }
    return World(
        **{key: orgs[i] for key, i in cast.org_ids.items()},
        **{key: users[i] for key, i in cast.user_ids.items()},
    )


async def login(
    client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD, *, form: bool = False
) -> None:
    """Log `email` in. With `form=True`, or whenever a shortcut could differ from it, through the real form (GET then
    POST /login with its CSRF token). Otherwise, for a cast user whose row is still as the template has it, the client
    gets the cookies that user's real login left when the template was built: the same session the form would give,
    without rendering the form and verifying an argon2 hash in every test."""
    if form or not await _reuse_session(client, email, password):
        await _login_through_form(client, email, password)


async def _reuse_session(client: AsyncTestClient[Litestar], email: str, password: str) -> bool:
    settings = client.app.state.get("settings")
    database = _DATABASES.get(settings.db.url) if isinstance(settings, Settings) else None
    cast = database.cast if database is not None else None
    if (
        cast is None
        or database is None
        or email not in cast.users
        or password != PASSWORD
        or settings.app.secret_key != cast.secret_key
        or str(client.base_url).rstrip("/") != BASE_URL
        or SESSION_COOKIE in client.cookies  # the form would carry this session's language into the new one
    ):
        return False
    async with database.engine.connect() as conn:
        row = (await conn.execute(select(User.__table__).where(User.email == email))).mappings().first()
    template = cast.users[email]
    if row is None or any(row[c] != template[c.key] for c in User.__table__.c if c.key != "last_login_at"):
        return False  # password, language, activity or anything else changed since: the form decides
    held = {c.name for c in client.cookies.jar}
    for cookie in cast.cookies[email]:
        if cookie.name == SESSION_COOKIE or cookie.name not in held:
            client.cookies.jar.set_cookie(copy.copy(cookie))
    return True


async def _login_through_form(client: AsyncTestClient[Litestar], email: str, password: str) -> None:
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf(client: AsyncTestClient[Litestar]) -> str:
    return client.cookies.get("csrftoken", "")
