"""The job registry: named async jobs, their retry policy and the periodic schedule. Imports no queue client.

A job is an async function `job(ctx, **kwargs)` registered under a name with `@job("name")`; a domain that wants
one run at an interval says `periodic("name", every=seconds)` next to it. The composition root imports every
domain's job module, so every worker knows every job; `makeready.jobs.runner` runs them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

QUEUE_NAME = "makeready"
"""Name of the SAQ queue in Redis; web processes and `makeready worker` must agree on it."""

PERIODIC: dict[str, float] = {}
"""Job name -> seconds between two runs, in the order they were declared."""


def periodic(name: str, *, every: float) -> None:
    """Enqueue the job `name` every `every` seconds from each process that runs a worker (JOBS_PERIODIC)."""
    if every <= 0:
        raise ValueError("a periodic job needs a positive interval")
    PERIODIC[name] = every


JobFunction = Callable[..., Awaitable[Any]]


class PermanentJobError(Exception):
    """Raised by a job when trying again cannot help (a recipient the server refuses): no more retries."""


@dataclass(frozen=True)
class JobSpec:
    """A registered job and how hard to try it."""

    name: str
    func: JobFunction
    attempts: int = 3
    """Total tries, the first included."""
    retry_delay: float = 5.0
    """Seconds before the second try; doubles for each further one."""
    timeout: float = 120.0
    """Seconds one try may take before it is cancelled and counted as failed."""

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt` (2, 3, ...)."""
        return self.retry_delay * (2 ** max(attempt - 2, 0))


REGISTRY: dict[str, JobSpec] = {}


def job(
    name: str, *, attempts: int = 3, retry_delay: float = 5.0, timeout: float = 120.0
) -> Callable[[JobFunction], JobFunction]:
    """Register an async function `func(ctx, **kwargs)` as the job `name`."""
    if attempts < 1:
        raise ValueError("a job needs at least one attempt")

    def register(func: JobFunction) -> JobFunction:
        if name in REGISTRY and REGISTRY[name].func is not func:
            raise ValueError(f"a job named {name!r} is already registered")
        REGISTRY[name] = JobSpec(name, func, attempts=attempts, retry_delay=retry_delay, timeout=timeout)
        return func

    return register


def unregister(name: str) -> None:
    """Forget a job (tests register throwaway jobs)."""
    REGISTRY.pop(name, None)


def _spec(name: str) -> JobSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"no job named {name!r}; registered: {', '.join(sorted(REGISTRY)) or 'none'}"
        ) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"job arguments must be JSON values; got {type(value).__name__}")


def to_payload(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments as they will reach the job: a JSON round trip, identical for both backends."""
    result: dict[str, Any] = json.loads(json.dumps(kwargs, default=_json_default))
    return result
