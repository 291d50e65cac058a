"""The coordinator back office: piccolo-admin over the tables SQLAlchemy owns, mounted by the portal at /admin.

`create_backoffice(settings)` builds everything once, at start, for the database in `settings.db.url`: a Piccolo
engine, Piccolo table classes generated from `Base.metadata` (see backoffice.tables), the staff identity and session
tables mapped onto `users` and `admin_sessions` (backoffice.identity), the TableConfigs (backoffice.config) and the
forms (backoffice.forms). Nothing is global, so apps for different databases can live in one process.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from sqlalchemy.engine import make_url

from makeready.db.session import get_engine
from makeready.models import Base
from makeready.settings import ConfigurationError, Settings, to_async_url

if TYPE_CHECKING:
    from piccolo.engine.base import Engine

# piccolo-admin, piccolo_api, FastAPI and the modules built on them (backoffice.config, .forms, .tables, .identity,
# .csrf) are imported inside the functions below, not here: the portal imports this package for its coordinator
# pages (backoffice.board, ...) at start, and those imports cost about half a second of CPU that only the first
# /admin request needs (portal.app builds the back office then).

SITE_NAME = "Makeready back office"
SESSION_EXPIRY = timedelta(hours=1)
INCREASE_EXPIRY = timedelta(minutes=20)
POOL_MAX_SIZE = 5
# piccolo-admin's own login limiter blocks an address for good (until restart) after 20 attempts in 5 minutes;
# behind a proxy that address can be everyone's, so blocks end after 5 minutes here
LOGIN_ATTEMPTS, LOGIN_WINDOW_SECONDS = 20, 300


def piccolo_engine(url: str) -> Engine:
    """The Piccolo engine for the database SQLAlchemy uses (DATABASE_URL)."""
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.engine.sqlite import SQLiteEngine

    parsed = make_url(to_async_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigurationError(
                "the back office needs a SQLite file (an in-memory DATABASE_URL has no tables)"
            )
        # the same lock patience as SQLAlchemy's connections (makeready.db.session)
        return SQLiteEngine(path=parsed.database, timeout=30)
    if backend == "postgresql":
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresEngine(config={"dsn": dsn})
    raise ConfigurationError(f"the back office does not support {backend} databases")


class Backoffice:
    """The ASGI app the portal mounts. Starts a PostgreSQL pool on the first request: a pool belongs to the event
    loop it was made on, and only the server's loop exists by then."""

    def __init__(self, admin: Any, engine: Engine, *, pooled: bool) -> None:
        from piccolo.engine.postgres import PostgresEngine

        self.admin = admin
        self.engine = engine
        self._pool_wanted = pooled and isinstance(engine, PostgresEngine)
        self._pool_lock: asyncio.Lock | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _needs_slash(scope):
            await _redirect_to_slash(scope, send)
            return
        if self._pool_wanted:
            await self._start_pool()
        _forget_claims()
        await self.admin(scope, receive, send)

    async def _start_pool(self) -> None:
        self._pool_lock = self._pool_lock or asyncio.Lock()
        async with self._pool_lock:
            if self._pool_wanted:
                from piccolo.engine.postgres import PostgresEngine

                assert isinstance(self.engine, PostgresEngine)
                await self.engine.start_connection_pool(min_size=1, max_size=POOL_MAX_SIZE)
                self._pool_wanted = False

    async def close(self) -> None:
        from piccolo.engine.postgres import PostgresEngine

        if isinstance(self.engine, PostgresEngine) and self.engine.pool is not None:
            await self.engine.close_connection_pool()


def _forget_claims() -> None:
    from backoffice.tables import forget_claims

    forget_claims()


def _needs_slash(scope: Scope) -> bool:
    # the mount receives "/" for both /admin and /admin/; only the raw path tells them apart
    raw_path: bytes = scope.get("raw_path") or b"/"
    return scope["path"] == "/" and not raw_path.endswith(b"/")


async def _redirect_to_slash(scope: Scope, send: Send) -> None:
    """/admin -> /admin/: the admin page loads its assets and API by relative URLs, which need the slash."""
    location = scope["raw_path"] + b"/"
    if scope.get("query_string"):
        location += b"?" + scope["query_string"]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 301,
        "headers": [(b"location", location), (b"content-length", b"0")],
    }
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(start)
    await send(body)


def create_backoffice(settings: Settings, *, csrf_secret: str | None = None) -> Backoffice:
    """piccolo-admin for `settings.db.url`. `csrf_secret` is the portal's Litestar CSRF secret, so both share one
    CSRF cookie (see backoffice.csrf); without it the back office issues tokens the portal would refuse."""
    from piccolo_admin.endpoints import create_admin
    from piccolo_admin.translations.data import ENGLISH, SIMPLIFIED_CHINESE
    from piccolo_api.rate_limiting.middleware import InMemoryLimitProvider

    from backoffice.config import HIDDEN_COLUMNS, NOT_LISTED, table_configs
    from backoffice.csrf import share_csrf_cookie
    from backoffice.forms import admin_forms
    from backoffice.identity import ADMIN_SESSION_BASES, STAFF_USER_BASES
    from backoffice.tables import generate_table, generate_tables

    engine = piccolo_engine(settings.db.url)
    metadata = Base.metadata
    tables = generate_tables(metadata, engine, exclude_columns=HIDDEN_COLUMNS, skip_tables=NOT_LISTED)
    accounts_engine = get_engine(settings.db.url)
    staff_user = generate_table(
        metadata.tables["users"],
        engine,
        tables,
        bases=STAFF_USER_BASES,
        name="StaffUser",
        extra_members={"_accounts_engine": accounts_engine},
    )
    admin_session = generate_table(
        metadata.tables["admin_sessions"], engine, tables, bases=ADMIN_SESSION_BASES, name="AdminSession"
    )
    production = settings.app.is_production
    host = urlsplit(settings.app.base_url).hostname
    admin = create_admin(
        tables=table_configs(tables, accounts_engine),
        forms=admin_forms(accounts_engine),
        auth_table=staff_user,  # type: ignore[arg-type]
        session_table=admin_session,  # type: ignore[arg-type]
        session_expiry=SESSION_EXPIRY,
        max_session_expiry=timedelta(hours=settings.app.session_hours),
        increase_expiry=INCREASE_EXPIRY,
        production=production,
        allowed_hosts=[host] if production and host else [],
        site_name=SITE_NAME,
        default_language_code="auto",
        translations=[ENGLISH, SIMPLIFIED_CHINESE],
        rate_limit_provider=InMemoryLimitProvider(
            limit=LOGIN_ATTEMPTS, timespan=LOGIN_WINDOW_SECONDS, block_duration=LOGIN_WINDOW_SECONDS
        ),
        auto_include_related=False,  # every table is listed explicitly; related ones are already in
    )
    share_csrf_cookie(admin, csrf_secret)
    return Backoffice(admin, engine, pooled=settings.db.pool == "queue")


__all__ = ["SITE_NAME", "Backoffice", "create_backoffice", "piccolo_engine"]
