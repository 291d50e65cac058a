"""Engine and session factories, shared by the web app, the CLI and background jobs."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, Pool
from sqlalchemy.util.concurrency import greenlet_spawn

from makeready.db.tenancy import Scope, set_scope
from makeready.settings import get_settings, to_async_url


class LoopBoundPool(Pool):
    """Idle connections kept per event loop, for a process that runs several loops at once (the test suite: the
    test client serves the app on a loop of its own, in another thread). An asyncpg connection belongs to the loop
    that opened it, so a connection is only handed out again on the loop it was returned on. No limit on checked-out
    connections (as NullPool); up to `pool_size` idle ones per loop.

    A loop's idle connections are closed on that loop before it closes: the first one kept arms an async generator,
    which `loop.shutdown_asyncgens()` (asyncio.run, anyio.run and pytest-asyncio call it before `loop.close()`)
    finalizes. `dispose()` closes the running loop's idle connections (a connection closes on its own loop only) and
    forgets those of loops already closed; `recreate()` hands the other loops' idle connections to the new pool. Not
    for forked processes: `Engine.dispose(close=False)` keeps the other loops' connections."""

    def __init__(self, creator: Any, pool_size: int = 5, _idle: _LoopIdle | None = None, **kw: Any) -> None:
        super().__init__(creator, **kw)
        self._size = pool_size
        self._idle = _idle if _idle is not None else _LoopIdle()

    def _do_get(self) -> ConnectionPoolEntry:
        record = self._idle.pop(asyncio.get_running_loop())
        if record is not None:
            return record
        self._idle.forget_closed()  # a new loop may be replacing one that is gone
        return self._create_connection()

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None  # returned outside any loop: the loop that owns it is unknown
        if loop is None or not self._idle.push(loop, record, self._size):
            record.close()

    def dispose(self) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for record in self._idle.take(loop) if loop is not None else []:
            record.close()
        self._idle.forget_closed()

    def recreate(self) -> LoopBoundPool:
        self.logger.info("Pool recreating")
        return self.__class__(
            self._creator,
            pool_size=self._size,
            _idle=self._idle,
            recycle=self._recycle,
            echo=self.echo,
            logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return,
            pre_ping=self._pre_ping,
            _dispatch=self.dispatch,
            dialect=self._dialect,
        )

    def status(self) -> str:
        return f"LoopBoundPool: {self._idle.count()} idle connection(s)"


@dataclass
class _Idle:
    records: list[ConnectionPoolEntry] = field(default_factory=list)
    closer: AsyncGenerator[None] | None = None
    """Suspended until the loop shuts its async generators down; then closes `records`."""
    closing: bool = False


class _LoopIdle:
    """Idle connection records by event loop (weakly: a loop that is gone takes its records with it)."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Idle] = weakref.WeakKeyDictionary()
        # loops run in different threads; re-entrant: the garbage collector may return a connection (SQLAlchemy
        # checks in a collected connection from its finalizer) while this thread holds the lock
        self._lock = threading.RLock()

    def pop(self, loop: asyncio.AbstractEventLoop) -> ConnectionPoolEntry | None:
        with self._lock:
            idle = self._loops.get(loop)
            return idle.records.pop() if idle and idle.records else None

    def push(self, loop: asyncio.AbstractEventLoop, record: ConnectionPoolEntry, limit: int) -> bool:
        """Keep `record` idle for `loop` (the running loop); False when it should be closed instead."""
        with self._lock:
            idle = self._loops.get(loop)
            if idle is None:
                idle = self._loops[loop] = _Idle()
            if idle.closing or loop.is_closed() or len(idle.records) >= limit:
                return False
            if idle.closer is None:
                idle.closer = self._arm(loop, idle)
            idle.records.append(record)
            return True

    def _arm(self, loop: asyncio.AbstractEventLoop, idle: _Idle) -> AsyncGenerator[None]:
        async def closer() -> AsyncGenerator[None]:
            try:
                yield
            finally:
                with self._lock:
                    idle.closing = True
                    records, idle.records = idle.records, []
                await greenlet_spawn(_close_all, records)

        gen = closer()
        # the first step runs the running loop's firstiter hook (the loop now finalizes `gen` at its shutdown) and
        # stops at the yield without awaiting anything
        with suppress(StopIteration):
            gen.asend(None).send(None)
        return gen

    def take(self, loop: asyncio.AbstractEventLoop) -> list[ConnectionPoolEntry]:
        with self._lock:
            idle = self._loops.get(loop)
            if idle is None:
                return []
            records, idle.records = idle.records, []
            return records

    def forget_closed(self) -> None:
        with self._lock:
            for loop in [loop for loop in self._loops if loop.is_closed()]:
                del self._loops[loop]

    def count(self) -> int:
        with self._lock:
            return sum(len(idle.records) for idle in self._loops.values())


def _close_all(records: list[ConnectionPoolEntry]) -> None:
    for record in records:
        record.close()


def make_engine(
    url: str, *, echo: bool = False, null_pool: bool = False, per_loop: bool = False
) -> AsyncEngine:
    """`null_pool`: a connection per checkout; `per_loop`: a LoopBoundPool (several event loops share the engine)."""
    url = to_async_url(url)
    pool: dict[str, Any] = {"poolclass": NullPool} if null_pool else {}
    if per_loop:
        pool = {"poolclass": LoopBoundPool}
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
    if not null_pool and not per_loop:
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
