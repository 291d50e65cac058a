"""Kinds of condition: what each is called, which events it fires, and its escalation ladder.

A domain defines its kinds at import (`define(...)`), next to the code that raises them, and each kind declares its
events on the bus, so rules can listen for "milestone.late" rather than for every condition. A kind's ladder is a
list of steps, each taken a while after the previous one while the condition stays unresolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from makeready.kernel import bus


@dataclass(frozen=True)
class Step:
    """One rung of a ladder: taken `after` the previous step (or the raising), firing `event`."""

    after: timedelta
    event: str


@dataclass(frozen=True)
class Kind:
    name: str
    """Also the event fired when it is raised (e.g. "milestone.late")."""
    subject_type: str
    """The audit subject type of the rows it is raised on ("milestone", "lot"...)."""
    title: str
    """N_ msgid: what people see on the board and in "my work"."""
    ladder: tuple[Step, ...] = ()

    @property
    def resolved_event(self) -> str:
        return f"{self.name}.resolved"

    def step(self, level: int) -> Step | None:
        """The step taken to go from `level` to `level + 1`, or None at the top."""
        return self.ladder[level] if level < len(self.ladder) else None


KINDS: dict[str, Kind] = {}


def define(kind: Kind) -> Kind:
    """Register a kind and declare its events (raised, each step, resolved) on the bus."""
    existing = KINDS.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"a condition kind named {kind.name!r} is already defined differently")
    KINDS[kind.name] = kind
    bus.emits(kind.name, kind.resolved_event, *(step.event for step in kind.ladder))
    return kind


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"no condition kind {name!r}; defined: {', '.join(sorted(KINDS)) or 'none'}") from None
