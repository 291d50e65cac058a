"""The access log: one line per request when its response has been sent, with the method, the path, the query, the
status and the time the app took.

It replaces Litestar's LoggingMiddleware, which wrote two lines per request (the request as it came in, then the
response, once for every body chunk of a streamed one) through its request and response data extractors: about 360
Python calls per request, a sixth of what the API list's whole request costs (bench/profile_pages.py; RESULTS.md,
"Access log"). This writes one line with the same structlog logger, configured by the app's StructlogPlugin.

Never logged: bodies, cookies and headers, which carry passwords, tokens and sessions. A path that is itself a
credential (a factory or production link, an invitation) is logged with the token cut to its first characters,
enough to tell links apart in the log and useless to anyone reading it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from makeready.storage.local import DOWNLOAD_PREFIX

LOGGER_NAME = "makeready.access"
EVENT = "request"
TOKEN_SHOWN = 4
"""How many of a link token's characters the log keeps."""

# the routes whose path segment after the prefix is a bearer credential: portal/factory.py (/f/),
# portal/production_factory.py (/p/), portal/team.py (/invitations/), a local file's signed download link
TOKEN_PREFIXES = ("/f/", "/p/", "/invitations/", DOWNLOAD_PREFIX)
_TOKEN_PATH = re.compile("^(" + "|".join(re.escape(prefix) for prefix in TOKEN_PREFIXES) + ")([^/]+)")


def loggable_path(path: str) -> str:
    """The path as the log shows it: a link token cut to its first TOKEN_SHOWN characters."""
    if not path.startswith(TOKEN_PREFIXES):
        return path
    return _TOKEN_PATH.sub(lambda m: f"{m.group(1)}{m.group(2)[:TOKEN_SHOWN]}…", path, count=1)


class AccessLog:
    """Wraps the app's ASGI handler, outside routing and its exception handling (`create_app`): it logs every
    request, an unknown path's 404 too (app middleware runs only for matched routes), with the status the client
    gets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._logger: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # read before the app runs: a mount cuts its prefix off the scope's path (the back office's /admin)
        method, path, query = scope.get("method", ""), scope["path"], scope.get("query_string", b"")
        status: list[int] = []

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            if self._logger is None:
                self._logger = scope["litestar_app"].get_logger(LOGGER_NAME)
            self._logger.info(
                EVENT,
                method=method,
                path=loggable_path(path),
                query=query.decode("latin-1") if query else "",
                # no response started: the exception goes on to the server, which answers 500
                status=status[0] if status else 500,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
