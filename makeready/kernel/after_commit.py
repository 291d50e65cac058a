"""Work that must wait until a transaction has committed (a job started earlier would not see the new rows).

`after_commit(session, key, item)` collects `item` under `key` on the session; when the transaction commits, the
handler registered for `key` runs once per item as an asyncio task; a rollback drops them. Nothing runs when the
commit happens outside an event loop: the periodic sweeps pick such work up from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("makeready.kernel")

Handler = Callable[[Any], Awaitable[None]]

_PENDING = "makeready_after_commit"
_LISTENING = "makeready_after_commit_listening"
_HANDLERS: dict[str, Handler] = {}
_tasks: set[asyncio.Task[None]] = set()


def handler(key: str) -> Callable[[Handler], Handler]:
    """Register the coroutine function that runs for each item queued under `key`."""

    def register(func: Handler) -> Handler:
        _HANDLERS[key] = func
        return func

    return register


def after_commit(session: AsyncSession, key: str, item: Hashable) -> None:
    """Run `key`'s handler with `item` once the session's transaction commits (each distinct item once)."""
    if key not in _HANDLERS:
        raise KeyError(f"no after-commit handler for {key!r}")
    sync = session.sync_session
    if not sync.info.get(_LISTENING):
        # listeners stay for the session's life (SQLAlchemy forbids removing one while it dispatches)
        event.listen(sync, "after_commit", _committed)
        event.listen(sync, "after_rollback", _rolled_back)
        sync.info[_LISTENING] = True
    pending: dict[tuple[str, Hashable], None] = sync.info.setdefault(_PENDING, {})
    pending[(key, item)] = None


def _committed(sync: Any) -> None:
    pending: dict[tuple[str, Hashable], None] = sync.info.pop(_PENDING, None) or {}
    if not pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # committed outside an event loop: the sweeps find the work in the database
        return
    for key, item in pending:
        task = loop.create_task(_run(key, item))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


def _rolled_back(sync: Any) -> None:
    sync.info.pop(_PENDING, None)


async def _run(key: str, item: Any) -> None:
    try:
        await _HANDLERS[key](item)
    except Exception:  # the database still records the work; a sweep or the next request retries it
        log.exception("after-commit work %s(%r) failed", key, item)


async def drain() -> None:
    """Wait for the after-commit tasks started so far (tests and shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
