"""The event bus: rules registered for an event's name run after it happens, in the same transaction.

A transition fires its audit action as an event (`makeready.kernel.machine.perform`); a service that creates a
record the workflow tracks (a project submitted, a question asked) fires one itself and declares it with
`emits()`. Rules are registered by the composition root (`makeready.composition`), never imported by the code that
fires the event, so a domain low in the core can announce what happened to domains above it. A rule that raises
fails the whole transaction: nothing is half-done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Event:
    """One thing that happened: its audit action name, who did it (None: the system) and to what."""

    name: str
    actor: Any
    """The acting user, or None for the system."""
    subject: Any
    org_id: int
    project_id: int | None
    now: datetime | None = None
    after: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[AsyncSession, Event], Awaitable[None]]

_RULES: dict[str, list[Rule]] = {}
_EMITTED: set[str] = set()


def register(event_name: str, rule: Rule) -> None:
    """Run `rule` whenever `event_name` is fired; registering the same rule twice is a no-op."""
    rules = _RULES.setdefault(event_name, [])
    if rule not in rules:
        rules.append(rule)


def emits(*event_names: str) -> None:
    """Declare events fired outside a machine transition (creations), so the wiring check knows they exist."""
    _EMITTED.update(event_names)


def declared_events() -> frozenset[str]:
    return frozenset(_EMITTED)


def registered() -> dict[str, list[Rule]]:
    """Every event name with its rules, in registration order."""
    return {name: list(rules) for name, rules in _RULES.items()}


def rules_for(event_name: str) -> list[Rule]:
    return list(_RULES.get(event_name, ()))


async def fire(session: AsyncSession, event: Event) -> None:
    """Run every rule registered for `event.name`, in order, in the caller's transaction."""
    for rule in _RULES.get(event.name, ()):
        await rule(session, event)
