"""Gates: checks a domain low in the core runs before a write, supplied by domains above it.

A project is created and a file uploaded in `projects`, but whether the organization may still write (its billing
standing, its plan's project allowance) is billing's to say, and billing builds on projects. So `projects` asks
`await gates.check("project.create", session, org_id=..., actor=...)` and the composition root registers billing's
check under that name. A gate refuses by raising (PaymentRequired, Conflict...); with nothing registered, it passes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Gate = Callable[..., Awaitable[Any]]
"""`gate(session, *, org_id, actor)`: raises to refuse (or, for a collecting gate, returns what is missing)."""

_GATES: dict[str, list[Gate]] = {}

PROJECT_CREATE = "project.create"
"""Before a project is created in an organization."""
ORG_WRITE = "org.write"
"""Before an organization's data grows (uploads)."""

LOT_START = "lot.start"
"""Before a lot goes into production: `gate(session, *, lot, order)` returns what is missing (materials not in
house...). Production owns lots and tooling; the domains above it (materials) answer."""
LOT_RELEASE = "lot.release"
"""Before a lot is released for packing: returns what is missing (an active quality hold...)."""

KNOWN = frozenset({PROJECT_CREATE, ORG_WRITE, LOT_START, LOT_RELEASE})


def register(name: str, gate: Gate) -> None:
    if name not in KNOWN:
        raise KeyError(f"no gate named {name!r}; gates: {', '.join(sorted(KNOWN))}")
    gates = _GATES.setdefault(name, [])
    if gate not in gates:
        gates.append(gate)


def registered() -> dict[str, list[Gate]]:
    return {name: list(gates) for name, gates in _GATES.items()}


async def check(name: str, session: AsyncSession, **kwargs: Any) -> None:
    """Run every gate registered under `name`; the first that refuses raises."""
    for gate in _GATES.get(name, ()):
        await gate(session, **kwargs)


async def missing(name: str, session: AsyncSession, **kwargs: Any) -> list[str]:
    """Every registered gate's list of what is missing (translated sentences), in registration order: a
    precondition shows them all in one refusal rather than the first."""
    found: list[str] = []
    for gate in _GATES.get(name, ()):
        found.extend(await gate(session, **kwargs) or ())
    return found
