"""Write and verify the audit chain.

`record()` runs inside the caller's transaction, so the event commits or rolls back with the change it
describes. Each event's hash covers its content and the previous event's hash; `verify()` recomputes the
chain and names the first event that was altered or removed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit.models import AuditEvent
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow

GENESIS = "0" * 64


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


async def verify(session: AsyncSession, *, batch: int = 1000) -> ChainReport:
    """Walk the whole chain in order; report the first event altered, removed or out of place."""
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
