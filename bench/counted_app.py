"""The portal as served by bench/scale.py: the real app, plus a count of the SQL statements each request sends.

`uvicorn --factory --app-dir bench counted_app:create_app` serves `portal.app.create_app()` wrapped in a tiny ASGI
layer. Every statement any engine sends is counted (a `before_cursor_execute` listener on the Engine class, as
tests/test_query_counts.py does on the test engine); the count since the request began is returned in the
`x-bench-statements` response header. With the request header `x-bench-record: 1`, the statements and their
parameters are also appended (pickled) to the file BENCH_SQL_LOG, so the benchmark can EXPLAIN them. The count is
exact only when one request is in flight at a time, which is how the benchmark asks for it.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_statements: list[tuple[str, Any]] = []
_recording = False


@event.listens_for(Engine, "before_cursor_execute")
def _count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
    _statements.append((statement, parameters) if _recording else ("", None))


def _append(log_path: str, path: str) -> None:
    """A few kilobytes, once per recorded request: not worth a thread."""
    with open(log_path, "ab") as out:
        pickle.dump((path, list(_statements)), out)


def create_app() -> Any:
    from portal.app import create_app as real

    app = real()
    log_path = os.environ.get("BENCH_SQL_LOG", "")

    async def counted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        global _recording
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        _statements.clear()
        _recording = bool(log_path) and (b"x-bench-record", b"1") in scope.get("headers", [])

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-bench-statements", str(len(_statements)).encode()))
                message = {**message, "headers": headers}
                if _recording:
                    _append(log_path, scope["path"])
            await send(message)

        await app(scope, receive, counting_send)

    return counted
