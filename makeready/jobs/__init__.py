"""Background jobs: `registry` declares them (no queue client), `runner` enqueues and runs them.

The names most callers need are re-exported here; domain modules import `makeready.jobs.registry` to declare jobs.
"""

from makeready.jobs.registry import PermanentJobError, job, periodic, unregister
from makeready.jobs.runner import (
    EmbeddedWorker,
    embedded_worker,
    enqueue,
    enqueue_after_commit,
    lifespan,
    run_worker,
    running,
    saq_queue,
    saq_worker,
    start,
    stop,
    tick_forever,
)

__all__ = [
    "EmbeddedWorker",
    "PermanentJobError",
    "embedded_worker",
    "enqueue",
    "enqueue_after_commit",
    "job",
    "lifespan",
    "periodic",
    "run_worker",
    "running",
    "saq_queue",
    "saq_worker",
    "start",
    "stop",
    "tick_forever",
    "unregister",
]
