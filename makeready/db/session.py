"""Engine and session factories, shared by the web app, the CLI and background jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from makeready.db.tenancy import Scope, set_scope
from makeready.settings import get_settings, to_async_url


def make_engine(url: str, *, echo: bool = False, null_pool: bool = False) -> AsyncEngine:
    url = to_async_url(url)
    pool: dict[str, Any] = {"poolclass": NullPool} if null_pool else {}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **pool)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if not null_pool:
        pool = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    return create_async_engine(url, echo=echo, **pool)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> AsyncEngine:
    settings = get_settings()
    return make_engine(url or settings.db.url, echo=settings.db.echo, null_pool=settings.db.pool == "null")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(scope: Scope, *, engine: AsyncEngine | None = None) -> AsyncIterator[AsyncSession]:
    """One transaction for CLI commands and jobs: commits on success, rolls back on any error."""
    maker = make_sessionmaker(engine or get_engine())
    async with maker() as session:
        set_scope(session, scope)
        async with session.begin():
            yield session
