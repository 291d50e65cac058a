"""Signed-in sessions, portal and back office, revocable on the server.

A portal session is a row of `portal_sessions`; the (signed, client-side) session cookie carries a random id whose
SHA-256 names the row. Every request checks that the row still exists, so deleting it ends the session wherever
the cookie is replayed from. Back-office sessions are rows of `admin_sessions` (piccolo-admin's store, see
makeready.accounts.admin_sessions), checked by piccolo on every request in the same way.

Everything is in the database, never in process memory: app servers are stateless replicas, and a database restored
from a snapshot restores its sessions with it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, String, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.selectable import ScalarSelect

from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import ApiToken, PortalSession, User
from makeready.audit import service as audit
from makeready.db.types import utcnow

T = TypeVar("T")


def _count(result: Any) -> int:
    """Rows a DELETE or UPDATE touched."""
    return int(getattr(result, "rowcount", 0) or 0)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(db: AsyncSession, *, user_id: int) -> str:
    """A new portal session for `user_id`: its id (for the cookie). The row commits with the caller's transaction."""
    session_id = secrets.token_urlsafe(32)
    db.add(PortalSession(user_id=user_id, token_hash=_digest(session_id), created_at=utcnow()))
    return session_id


async def forget_expired(db: AsyncSession, *, user_id: int, older_than: datetime) -> None:
    await db.execute(
        delete(PortalSession)
        .where(PortalSession.user_id == user_id, PortalSession.created_at < older_than)
        .execution_options(synchronize_session=False)
    )


@cache
def _live_user() -> Select[Any]:
    """The user of a live session, with its memberships: built once, bound per request with the session's token
    hash and the user's id (building it was a tenth of a small page's CPU)."""
    return (
        select(User)
        .join(PortalSession, PortalSession.user_id == User.id)
        .where(
            PortalSession.token_hash == bindparam("token_hash", type_=String),
            User.id == bindparam("user_id", type_=Integer),
            User.is_active,
        )
        .options(joinedload(User.memberships))
    )


@lru_cache(maxsize=8)
def _live_user_with(column: ScalarSelect[Any]) -> Select[Any]:
    return _live_user().add_columns(column)


def _bound(session_id: str, user_id: int) -> dict[str, Any]:
    return {"token_hash": _digest(session_id), "user_id": user_id}


async def user_for(db: AsyncSession, *, session_id: str, user_id: int) -> User | None:
    """The active user whose live portal session this is, else None (ended, or never existed), with
    `user.memberships` loaded by the same statement (every request needs them for its tenancy scope)."""
    result = await db.execute(_live_user(), _bound(session_id, user_id))
    return result.unique().scalars().first()


async def user_for_with(
    db: AsyncSession, *, session_id: str, user_id: int, column: ScalarSelect[T]
) -> tuple[User, T] | None:
    """`user_for`, plus `column` (a scalar subquery that may refer to `User`, e.g. a count of the user's unread
    notifications) read by the same statement. Pass the same `column` object every time (build it once): the
    statement is built once per column."""
    result = await db.execute(_live_user_with(column), _bound(session_id, user_id))
    row = result.unique().first()
    return None if row is None else (row[0], row[1])


async def end(db: AsyncSession, *, session_id: str) -> None:
    """End one portal session (logout)."""
    await db.execute(
        delete(PortalSession)
        .where(PortalSession.token_hash == _digest(session_id))
        .execution_options(synchronize_session=False)
    )


async def end_all(
    db: AsyncSession,
    *,
    user_id: int,
    keep_session_id: str | None = None,
    back_office: bool = True,
) -> int:
    """End every portal session of the user (but `keep_session_id`, the browser that asked) and, with
    `back_office`, every back-office session. The number of sessions ended."""
    query = delete(PortalSession).where(PortalSession.user_id == user_id)
    if keep_session_id:
        query = query.where(PortalSession.token_hash != _digest(keep_session_id))
    ended = _count(await db.execute(query.execution_options(synchronize_session=False)))
    if back_office:
        result = await db.execute(
            delete(AdminSession)
            .where(AdminSession.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
        ended += _count(result)
    return ended


async def sign_out_everywhere(
    db: AsyncSession, *, user: User, actor_id: int | None, revoke_tokens: bool = False, reason: str = ""
) -> tuple[int, int]:
    """An admin's "end all sessions": every portal and back-office session of `user` ends at once and, with
    `revoke_tokens`, their API tokens are revoked too. Audited. Returns (sessions ended, tokens revoked)."""
    ended = await end_all(db, user_id=user.id)
    revoked = 0
    if revoke_tokens:
        result = await db.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        revoked = _count(result)
    await audit.record(
        db,
        actor_id=actor_id,
        action="user.sessions_ended",
        subject_type="user",
        subject_id=user.id,
        after={"sessions": ended, "tokens_revoked": revoked},
        reason=reason,
    )
    return ended, revoked
