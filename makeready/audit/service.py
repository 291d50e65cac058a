"""Write and verify the audit chain.

`record()` runs inside the caller's transaction, so the event commits or rolls back with the change it
describes. Each event's hash covers its content and the previous event's hash; `verify()` recomputes the
chain and names the first event that was altered or removed.

The chain alone cannot show that its newest events were removed, or that its tail was rewritten with every hash
recomputed. So its head is anchored outside the table: `write_checkpoint()` (a periodic job, and `makeready audit
checkpoint` before each backup) stores the head's seq and hash with an HMAC under a key derived from SECRET_KEY,
and logs the same line; `verify()` fails when the newest checkpoint's event is missing, its hash differs, or a
checkpoint's HMAC does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit.models import AuditCheckpoint, AuditEvent
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow

GENESIS = "0" * 64

log = logging.getLogger("makeready.audit")


def jsonable(value: Any) -> Any:
    """Turn model values into JSON that hashes the same on every database."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "prev": event.prev_hash,
        "org": event.org_id,
        "actor": event.actor_id,
        "action": event.action,
        "subject": [event.subject_type, event.subject_id],
        "project": event.project_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "at": event.created_at.isoformat(timespec="microseconds"),
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    org_id: int | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # serialise appenders so two transactions cannot read the same chain head
        await session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
    # the chain head is read outside tenancy filtering: the chain spans every organization
    head = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1),
            execution_options={"tenancy_bypass": True},
        )
    ).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        prev_hash=head.hash if head else GENESIS,
        org_id=org_id,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        project_id=project_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        reason=reason,
        created_at=utcnow(),
    )
    event.hash = _digest(event)
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""
    first_bad_seq: int | None = None


async def verify(session: AsyncSession, *, batch: int = 1000, secret_key: str | None = None) -> ChainReport:
    """Walk the whole chain in order; report the first event altered, removed or out of place. With the secret
    key, also check the checkpoints: their HMACs, and that the newest one's event is still there, unchanged."""
    report = await _verify_chain(session, batch=batch)
    if not report.ok or secret_key is None:
        return report
    problem = await _verify_checkpoints(session, secret_key)
    if problem is not None:
        return ChainReport(False, report.checked, problem[0], problem[1])
    return report


async def _verify_chain(session: AsyncSession, *, batch: int) -> ChainReport:
    set_scope(session, Scope.system())
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
            )
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(
                    False,
                    checked,
                    f"event #{expected_seq} is missing (next found is #{event.seq})",
                    expected_seq,
                )
            if event.prev_hash != expected_prev:
                return ChainReport(
                    False, checked, f"event #{event.seq} does not link to the event before it", event.seq
                )
            if _digest(event) != event.hash:
                return ChainReport(
                    False,
                    checked,
                    f"event #{event.seq} ({event.action}) was altered after it was written",
                    event.seq,
                )
            expected_prev, expected_seq = event.hash, event.seq + 1
            checked += 1
            last_seq = event.seq
        session.expunge_all()


# --------------------------------------------------------------------------------------------------------------
# Checkpoints: the head anchored outside the table


def _checkpoint_key(secret_key: str) -> bytes:
    return hashlib.sha256(f"audit-checkpoint:{secret_key}".encode()).digest()


def checkpoint_mac(secret_key: str, seq: int, head_hash: str, created_at: datetime) -> str:
    message = f"{seq}\n{head_hash}\n{created_at.isoformat(timespec='microseconds')}".encode()
    return hmac.new(_checkpoint_key(secret_key), message, hashlib.sha256).hexdigest()


def checkpoint_line(checkpoint: AuditCheckpoint) -> str:
    """The checkpoint as one log line (also what `makeready audit checkpoint` prints for the backup)."""
    return (
        f"audit checkpoint seq={checkpoint.seq} head={checkpoint.head_hash} "
        f"at={checkpoint.created_at.isoformat(timespec='microseconds')} hmac={checkpoint.mac}"
    )


async def write_checkpoint(session: AsyncSession, *, secret_key: str) -> AuditCheckpoint | None:
    """Sign the chain's current head (nothing when the chain is empty; the newest checkpoint again when the head
    has not moved). Logged too, so a copy lives outside the database."""
    set_scope(session, Scope.system())
    head = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        )
    ).first()
    if head is None:
        return None
    newest = await session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
    if newest is not None and newest.seq == head.seq and newest.head_hash == head.hash:
        return newest
    at = utcnow()
    checkpoint = AuditCheckpoint(
        seq=head.seq,
        head_hash=head.hash,
        created_at=at,
        mac=checkpoint_mac(secret_key, head.seq, head.hash, at),
    )
    session.add(checkpoint)
    await session.flush()
    log.info(checkpoint_line(checkpoint))
    return checkpoint


async def _verify_checkpoints(session: AsyncSession, secret_key: str) -> tuple[str, int] | None:
    """(problem, seq) for the first checkpoint that is forged or whose event is gone or different, else None."""
    rows = (
        await session.scalars(
            select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
        )
    ).all()
    for checkpoint in rows:
        expected = checkpoint_mac(secret_key, checkpoint.seq, checkpoint.head_hash, checkpoint.created_at)
        if not hmac.compare_digest(expected, checkpoint.mac):
            return (
                f"the checkpoint of event #{checkpoint.seq} ({checkpoint.created_at:%Y-%m-%d %H:%M} UTC) "
                "does not carry a valid HMAC: it was forged or altered, or SECRET_KEY changed",
                checkpoint.seq,
            )
    if not rows:
        return None
    newest = rows[0]
    when = f"{newest.created_at:%Y-%m-%d %H:%M} UTC"
    event_hash = await session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == newest.seq))
    if event_hash is None:
        return (
            f"event #{newest.seq}, the chain's head at the checkpoint of {when}, is missing: "
            "the newest events were removed",
            newest.seq,
        )
    if event_hash != newest.head_hash:
        return (
            f"event #{newest.seq} differs from the checkpoint of {when}: the chain's tail was rewritten",
            newest.seq,
        )
    return None
