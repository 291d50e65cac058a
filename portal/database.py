"""The request's database session: one AsyncSession per request, committed or rolled back when the response starts.

This is what advanced-alchemy's Litestar plugin did for us (`SQLAlchemyPlugin` with the
"autocommit_include_redirects" handler), in the few lines we used: importing advanced-alchemy cost about a second of
CPU at every start (its models, types, Alembic commands), a third of the time before the app could serve.

- `db_session`: the request's session, made on first use and kept in the ASGI scope, so a guard (which runs before
  dependencies, see portal.guards) and the handler share it: `request_session(connection)`;
- `db_engine`: the engine (portal.health's readiness check);
- before the response starts: commit when its status is 2xx or 3xx, roll back otherwise, then close the session;
- at shutdown the engine's pool is disposed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.types import Message, Scope
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.db.session import make_sessionmaker

log = logging.getLogger(__name__)

SESSION_KEY = "_makeready_db_session"
"""Where the request's session lives in the ASGI scope."""
COMMIT_STATUSES = range(200, 400)
"""A response in this range commits the request's transaction (redirects too: a form's POST answers 303)."""


class DatabasePlugin(InitPluginProtocol):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = make_sessionmaker(engine)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.dependencies.update(
            {
                "db_session": Provide(self.provide_session, sync_to_thread=False),
                "db_engine": Provide(self.provide_engine, sync_to_thread=False),
            }
        )
        app_config.before_send.append(self.before_send)
        app_config.lifespan.append(self.lifespan)
        app_config.signature_namespace.update({"AsyncSession": AsyncSession, "AsyncEngine": AsyncEngine})
        return app_config

    def provide_engine(self) -> AsyncEngine:
        return self.engine

    def provide_session(self, state: State, scope: Scope) -> AsyncSession:
        session: AsyncSession | None = scope.get(SESSION_KEY)  # type: ignore[assignment]
        if session is None:
            session = self.sessionmaker()
            scope[SESSION_KEY] = session  # type: ignore[literal-required]
        return session

    async def before_send(self, message: Message, scope: Scope) -> None:
        session: AsyncSession | None = scope.get(SESSION_KEY)  # type: ignore[assignment]
        if session is None or message["type"] not in ("http.response.start", "http.disconnect"):
            return
        try:
            if message["type"] == "http.response.start" and message["status"] in COMMIT_STATUSES:
                await session.commit()
            else:
                await session.rollback()
        except (
            Exception
        ):  # the response is already decided; its handler saw its writes succeed up to the flush
            log.warning("the request's database commit or rollback failed", exc_info=True)
        finally:
            scope.pop(SESSION_KEY, None)  # type: ignore[misc]
            try:
                await session.close()
            except Exception:
                log.warning("closing the request's database session failed", exc_info=True)

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.engine.dispose()


def request_session(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncSession:
    """The request's database session, the one the `db_session` dependency gives handlers later."""
    plugin = connection.app.plugins.get(DatabasePlugin)
    return plugin.provide_session(connection.app.state, connection.scope)
