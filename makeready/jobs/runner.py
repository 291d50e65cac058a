"""Running background jobs: `enqueue()` and the workers that run the jobs of `makeready.jobs.registry`.

Callers never run a job themselves: `await enqueue("name", **kwargs)` hands it to a worker, so a web request or a CLI command returns
without waiting for an SMTP server or a PDF render.

Two ways to run them, chosen by `REDIS_URL`:

- empty (the embedded default): an in-process asyncio worker, started by the web app's lifespan (`lifespan`, or
  `start`/`stop`, or `async with running(settings)`). Jobs live in memory: a job still queued when the process
  stops is lost (logged), so nothing that must survive a restart should depend on it yet.
- set: SAQ on Redis. `enqueue` stores the job in Redis; `makeready worker` processes on any machine run it.
  With `JOBS_IN_PROCESS=true` (the default) the web process runs a SAQ worker as well, so one process is enough.

Either way a job gets the same `ctx` (`job_id`, `job_name`, `attempt`, `attempts`, `settings`), is retried a
bounded number of times with a growing delay, is cut off after its timeout, and every failure is logged.
Keyword arguments travel as JSON (dates as ISO strings), on both paths, so a job that works in-process works
through Redis too.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.jobs.registry import (
    PERIODIC,
    QUEUE_NAME,
    REGISTRY,
    JobFunction,
    JobSpec,
    PermanentJobError,
    _spec,
    to_payload,
)
from makeready.kernel.after_commit import after_commit
from makeready.kernel.after_commit import handler as after_commit_handler
from makeready.settings import Settings, get_settings

if TYPE_CHECKING:
    from saq import Queue, Worker

log = logging.getLogger("makeready.jobs")


def _context(spec: JobSpec, job_id: str, attempt: int, settings: Settings, **extra: Any) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "job_name": spec.name,
        "attempt": attempt,
        "attempts": spec.attempts,
        "settings": settings,
        **extra,
    }


def _log_failure(spec: JobSpec, job_id: str, attempt: int, exc: BaseException, *, final: bool) -> None:
    if final:
        # the last word on a job: with the traceback, so an operator can act on it
        log.error(
            "job %s (%s) failed for good after %d of %d attempts: %s: %s",
            spec.name,
            job_id,
            attempt,
            spec.attempts,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
    else:
        log.warning(
            "job %s (%s) attempt %d of %d failed, will retry: %s: %s",
            spec.name,
            job_id,
            attempt,
            spec.attempts,
            type(exc).__name__,
            exc,
        )


# --------------------------------------------------------------------------------------------------------------
# The embedded worker


@dataclass
class _Pending:
    id: str
    name: str
    kwargs: dict[str, Any]
    attempt: int = 0


@dataclass
class JobFailure:
    """A job that ran out of attempts (kept in memory for `makeready` status pages and tests)."""

    job_id: str
    name: str
    attempts: int
    error: str


class EmbeddedWorker:
    """Runs jobs on asyncio tasks in the current process and event loop."""

    def __init__(self, settings: Settings, *, concurrency: int = 2) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.completed = 0
        self.failures: list[JobFailure] = []
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._workers: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.Task[None]] = set()
        self._unfinished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return bool(self._workers)

    @property
    def pending(self) -> int:
        """Jobs queued, running or waiting for a retry."""
        return self._unfinished

    def start(self) -> None:
        if self._workers:
            return
        self._loop = asyncio.get_running_loop()
        for index in range(self.concurrency):
            task = asyncio.create_task(self._work(), name=f"makeready-job-worker-{index}")
            self._workers.add(task)

    def submit(self, name: str, kwargs: dict[str, Any]) -> str:
        _spec(name)
        item = _Pending(id=uuid.uuid4().hex, name=name, kwargs=kwargs)
        self._unfinished += 1
        self._idle.clear()
        self._queue.put_nowait(item)
        return item.id

    async def drain(self) -> None:
        """Wait until every submitted job has finished (succeeded or given up); bound it with asyncio.timeout."""
        await self._idle.wait()

    async def stop(self, grace: float = 10.0) -> None:
        """Let running and queued jobs finish for up to `grace` seconds, then cancel the rest (logged)."""
        if not self._workers:
            return
        if self._unfinished:
            try:
                async with asyncio.timeout(grace):
                    await self.drain()
            except TimeoutError:
                log.warning(
                    "stopping the job worker with %d job(s) unfinished; they are lost", self._unfinished
                )
        tasks = [*self._workers, *self._timers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._timers.clear()

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._run(item)
            finally:
                self._queue.task_done()

    async def _run(self, item: _Pending) -> None:
        spec = _spec(item.name)
        item.attempt += 1
        ctx = _context(spec, item.id, item.attempt, self.settings)
        try:
            await asyncio.wait_for(spec.func(ctx, **item.kwargs), spec.timeout)
        except asyncio.CancelledError:
            raise
        except PermanentJobError as exc:
            _log_failure(spec, item.id, item.attempt, exc, final=True)
            self._give_up(item, exc)
        except Exception as exc:  # any failure of a job is retried or logged, never crashes the worker
            final = item.attempt >= spec.attempts
            _log_failure(spec, item.id, item.attempt, exc, final=final)
            if final:
                self._give_up(item, exc)
            else:
                # the retry waits on its own task so this worker slot goes on with other jobs meanwhile
                timer = asyncio.create_task(self._retry_later(item, spec.delay_before(item.attempt + 1)))
                self._timers.add(timer)
                timer.add_done_callback(self._timers.discard)
        else:
            self.completed += 1
            self._finished()

    async def _retry_later(self, item: _Pending, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait(item)

    def _give_up(self, item: _Pending, exc: BaseException) -> None:
        self.failures.append(JobFailure(item.id, item.name, item.attempt, f"{type(exc).__name__}: {exc}"))
        del self.failures[:-100]  # a bounded memory of failures, not a log
        self._finished()

    def _finished(self) -> None:
        self._unfinished -= 1
        if self._unfinished == 0:
            self._idle.set()


# --------------------------------------------------------------------------------------------------------------
# SAQ on Redis


def saq_queue(url: str, name: str = QUEUE_NAME) -> Queue:
    from saq import Queue

    return Queue.from_url(url, name=name)


def saq_worker(
    settings: Settings,
    queue: Queue,
    *,
    concurrency: int = 10,
    handle_signals: bool = True,
    dequeue_timeout: float = 0.0,
) -> Worker:
    """A SAQ worker running every registered job with the same ctx, retries and logging as the embedded one."""
    from saq import Worker

    class _Worker(Worker):
        # inside the web process the server owns SIGINT/SIGTERM; SAQ would otherwise take them over
        SIGNALS = Worker.SIGNALS if handle_signals else []

    functions = [(spec.name, _saq_adapter(spec, settings)) for spec in REGISTRY.values()]
    worker: Worker = _Worker(queue, functions, concurrency=concurrency, dequeue_timeout=dequeue_timeout)
    return worker


def _saq_adapter(spec: JobSpec, settings: Settings) -> JobFunction:
    async def run(saq_ctx: dict[str, Any], **kwargs: Any) -> Any:
        saq_job = saq_ctx["job"]
        ctx = _context(spec, saq_job.key, saq_job.attempts, settings, saq=saq_ctx)
        try:
            return await spec.func(ctx, **kwargs)
        except PermanentJobError as exc:
            saq_job.retries = saq_job.attempts  # SAQ retries while retries > attempts: stop here
            _log_failure(spec, saq_job.key, saq_job.attempts, exc, final=True)
            raise
        except Exception as exc:  # logged in our words, then SAQ retries or fails it
            _log_failure(spec, saq_job.key, saq_job.attempts, exc, final=saq_job.attempts >= spec.attempts)
            raise

    run.__qualname__ = run.__name__ = spec.name
    return run


async def _saq_enqueue(queue: Queue, spec: JobSpec, payload: dict[str, Any]) -> str:
    from saq import Job

    # a Job built by hand, so job arguments named like Job fields (key, timeout...) stay arguments
    saq_job = Job(
        function=spec.name,
        kwargs=payload,
        retries=spec.attempts,
        retry_delay=spec.retry_delay,
        retry_backoff=True,
        timeout=max(int(spec.timeout), 1),
    )
    await queue.enqueue(saq_job)
    return str(saq_job.key)


# --------------------------------------------------------------------------------------------------------------
# Which backend this process uses


@dataclass
class _Runtime:
    """What `running()` started in one event loop."""

    settings: Settings
    queue_name: str = QUEUE_NAME
    embedded: EmbeddedWorker | None = None
    queue: Queue | None = None
    worker: Worker | None = None
    worker_task: asyncio.Task[None] | None = None
    ticker: asyncio.Task[None] | None = None


# one runtime per event loop: queues and workers hold connections and tasks bound to the loop that made them
_runtimes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Runtime] = weakref.WeakKeyDictionary()


def _runtime() -> _Runtime:
    loop = asyncio.get_running_loop()
    runtime = _runtimes.get(loop)
    if runtime is None:
        runtime = _Runtime(settings=get_settings())
        _runtimes[loop] = runtime
    return runtime


@after_commit_handler("enqueue_job")
async def _enqueue_committed(item: tuple[str, tuple[tuple[str, Any], ...]]) -> None:
    name, kwargs = item
    await enqueue(name, **dict(kwargs))


def enqueue_after_commit(session: AsyncSession, name: str, **kwargs: Any) -> None:
    """Enqueue the job `name` once the session's transaction commits (the job would not see uncommitted rows);
    nothing if it rolls back. Each distinct (name, arguments) once per transaction."""
    _spec(name)
    after_commit(session, "enqueue_job", (name, tuple(sorted(kwargs.items()))))


async def enqueue(name: str, **kwargs: Any) -> str:
    """Hand the job `name` to a worker and return its id; raises KeyError for an unknown job, TypeError for
    arguments that are not JSON."""
    spec = _spec(name)
    payload = to_payload(kwargs)
    runtime = _runtime()
    if runtime.settings.jobs.redis_url:
        if runtime.queue is None:
            runtime.queue = saq_queue(runtime.settings.jobs.redis_url, runtime.queue_name)
            await runtime.queue.connect()
        return await _saq_enqueue(runtime.queue, spec, payload)
    if runtime.embedded is None or not runtime.embedded.running:
        # nobody started a worker in this loop (a script, a test): start one rather than drop the job;
        # it lives as long as the loop does
        log.warning("no job worker running in this event loop; starting an embedded one for job %s", name)
        runtime.embedded = EmbeddedWorker(runtime.settings)
        runtime.embedded.start()
    return runtime.embedded.submit(name, payload)


def embedded_worker() -> EmbeddedWorker | None:
    """The embedded worker of the running event loop, if any."""
    runtime = _runtimes.get(asyncio.get_running_loop())
    return runtime.embedded if runtime else None


async def start(settings: Settings | None = None, *, queue_name: str = QUEUE_NAME) -> None:
    """Start job processing for this event loop (the web app's on_startup)."""
    settings = settings or get_settings()
    loop = asyncio.get_running_loop()
    previous = _runtimes.pop(loop, None)
    if previous is not None:  # e.g. an embedded worker that enqueue() started before the app did
        await _stop_runtime(previous, grace=10.0)
    runtime = _Runtime(settings=settings, queue_name=queue_name)
    _runtimes[loop] = runtime
    if not settings.jobs.redis_url:
        if not settings.jobs.in_process:
            log.warning("JOBS_IN_PROCESS is off but REDIS_URL is empty: jobs run in-process anyway")
        runtime.embedded = EmbeddedWorker(settings)
        runtime.embedded.start()
        runtime.ticker = _start_ticker(settings)
        return
    runtime.queue = saq_queue(settings.jobs.redis_url, queue_name)
    await runtime.queue.connect()
    if settings.jobs.in_process:
        runtime.worker = saq_worker(settings, runtime.queue, handle_signals=False)
        runtime.worker_task = asyncio.create_task(runtime.worker.start(), name="makeready-saq-worker")
        runtime.ticker = _start_ticker(settings)


def _start_ticker(settings: Settings) -> asyncio.Task[None] | None:
    """Enqueue the periodic jobs (`registry.PERIODIC`) unless JOBS_PERIODIC is off."""
    if not settings.jobs.periodic:
        return None
    return asyncio.create_task(tick_forever(), name="makeready-job-ticker")


async def tick_forever(periodic: list[tuple[str, float]] | None = None) -> None:
    """Enqueue each periodic job at its interval, the first time right away; run it as a task and cancel it to stop."""
    schedule = periodic if periodic is not None else list(PERIODIC.items())
    if not schedule:
        return
    loop = asyncio.get_running_loop()
    due = {name: loop.time() for name, _every in schedule}
    while True:
        now = loop.time()
        for name, every in schedule:
            if now >= due[name]:
                due[name] = now + every
                try:
                    await enqueue(name)
                except Exception:  # a queue that is down now may be up at the next tick
                    log.exception("could not enqueue the periodic job %s", name)
        await asyncio.sleep(max(min(due.values()) - loop.time(), 0.5))


async def stop(grace: float = 10.0) -> None:
    """Stop what `start()` started in this event loop (the web app's on_shutdown)."""
    runtime = _runtimes.pop(asyncio.get_running_loop(), None)
    if runtime is not None:
        await _stop_runtime(runtime, grace)


async def _stop_runtime(runtime: _Runtime, grace: float) -> None:
    if runtime.ticker is not None:
        runtime.ticker.cancel()
        await asyncio.gather(runtime.ticker, return_exceptions=True)
    if runtime.embedded is not None:
        await runtime.embedded.stop(grace)
    if runtime.worker is not None:
        await runtime.worker.stop()
    if runtime.worker_task is not None:
        await asyncio.gather(runtime.worker_task, return_exceptions=True)
    if runtime.queue is not None:
        await runtime.queue.disconnect()


@asynccontextmanager
async def running(settings: Settings | None = None, *, queue_name: str = QUEUE_NAME) -> AsyncIterator[None]:
    """Job processing for the duration of the block (CLI commands, scripts, tests)."""
    await start(settings, queue_name=queue_name)
    try:
        yield
    finally:
        await stop()


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Litestar lifespan hook: `Litestar(..., lifespan=[jobs.lifespan])`. Uses the app's `state.settings`."""
    state = getattr(app, "state", None)
    settings = getattr(state, "settings", None) if state is not None else None
    async with running(settings if isinstance(settings, Settings) else None):
        yield


async def run_worker(settings: Settings, *, concurrency: int = 10, queue_name: str = QUEUE_NAME) -> None:
    """`makeready worker`: process jobs until SIGINT/SIGTERM."""
    if settings.jobs.redis_url:
        queue = saq_queue(settings.jobs.redis_url, queue_name)
        await queue.connect()
        worker = saq_worker(settings, queue, concurrency=concurrency)
        log.info("worker on queue %r, jobs: %s", queue_name, ", ".join(sorted(REGISTRY)))
        runtime = _Runtime(settings=settings, queue_name=queue_name, queue=queue)
        _runtimes[asyncio.get_running_loop()] = runtime  # enqueue() from the ticker uses this queue
        ticker = _start_ticker(settings)
        try:
            await worker.start()  # returns after SIGINT/SIGTERM, once running jobs are wound down
        finally:
            if ticker is not None:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
            _runtimes.pop(asyncio.get_running_loop(), None)
            await queue.disconnect()
        return
    import signal

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    async with running(settings, queue_name=queue_name):
        await stopped.wait()


# --------------------------------------------------------------------------------------------------------------
# The jobs
