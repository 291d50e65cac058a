"""What the kernel needs from the domains above it, installed once by the composition root.

The kernel cannot import `accounts` or `audit` (they are domains built on it), yet a transition must know the
actor's role in the record's organization and must append an audit event. `install()` hands it both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class AuditRecorder(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        *,
        actor_id: int | None,
        action: str,
        subject_type: str,
        subject_id: int | None,
        org_id: int | None,
        project_id: int | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str = "",
    ) -> Any: ...


MembershipLookup = Callable[[AsyncSession, int, int], Awaitable[str | None]]
"""(session, user_id, org_id) -> the member's role name in that organization ("owner", "member", "viewer"), or None."""


@dataclass
class Ports:
    record_audit: AuditRecorder | None = None
    membership_role: MembershipLookup | None = None


PORTS = Ports()


def install(*, record_audit: AuditRecorder, membership_role: MembershipLookup) -> None:
    PORTS.record_audit = record_audit
    PORTS.membership_role = membership_role


def _missing(name: str) -> RuntimeError:
    return RuntimeError(
        f"the kernel's {name} is not installed: call makeready.composition.wire() at start-up"
    )


def record_audit() -> AuditRecorder:
    if PORTS.record_audit is None:
        raise _missing("audit recorder")
    return PORTS.record_audit


def membership_role() -> MembershipLookup:
    if PORTS.membership_role is None:
        raise _missing("membership lookup")
    return PORTS.membership_role
