"""Background jobs: the embedded worker (run, retry, give up, time out, lifespan) and SAQ on a real Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, get, post
from litestar.testing import AsyncTestClient

from makeready import jobs
from makeready.settings import EmailSettings, JobSettings, Settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def make_settings(*, redis_url: str = "", in_process: bool = True, outbox: Path | None = None) -> Settings:
    s = Settings()
    s.jobs = JobSettings().model_copy(update={"redis_url": redis_url, "in_process": in_process})
    if outbox is not None:
        s.email = EmailSettings().model_copy(update={"smtp_url": "", "outbox_dir": outbox})
    return s


@pytest.fixture
def register() -> Iterator[Callable[..., Callable[[jobs.JobFunction], jobs.JobFunction]]]:
    """Register throwaway jobs under unique names; forget them afterwards."""
    names: list[str] = []

    def _register(name: str, **options: Any) -> Callable[[jobs.JobFunction], jobs.JobFunction]:
        names.append(name)
        return jobs.job(name, **options)

    yield _register
    for name in names:
        jobs.unregister(name)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def drained() -> jobs.EmbeddedWorker:
    worker = jobs.embedded_worker()
    assert worker is not None
    async with asyncio.timeout(20):
        await worker.drain()
    return worker


async def test_enqueue_runs_the_job_in_process(register: Any) -> None:
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []
    name = unique("record")

    @register(name)
    async def record(ctx: dict[str, Any], **kwargs: Any) -> None:
        seen.append((ctx, kwargs))

    settings = make_settings()
    async with jobs.running(settings):
        job_id = await jobs.enqueue(name, when=dt.date(2026, 11, 2), tags={"a"}, n=3)
        worker = await drained()
        assert worker.completed == 1
    [(ctx, kwargs)] = seen
    # arguments arrive as JSON, as they would through Redis
    assert kwargs == {"when": "2026-11-02", "tags": ["a"], "n": 3}
    assert ctx["job_id"] == job_id
    assert (ctx["job_name"], ctx["attempt"], ctx["attempts"]) == (name, 1, 3)
    assert ctx["settings"] is settings


async def test_a_failing_job_is_retried_then_logged(register: Any, caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []
    name = unique("flaky")

    @register(name, attempts=3, retry_delay=0.01)
    async def always_fails(ctx: dict[str, Any], *, order: str) -> None:
        attempts.append(ctx["attempt"])
        raise ConnectionError(f"factory portal down for {order}")

    caplog.set_level(logging.WARNING, logger="makeready.jobs")
    async with jobs.running(make_settings()):
        job_id = await jobs.enqueue(name, order="PO-1")
        worker = await drained()
        assert attempts == [1, 2, 3]
        [failure] = worker.failures
        assert (failure.job_id, failure.name, failure.attempts) == (job_id, name, 3)
        assert failure.error == "ConnectionError: factory portal down for PO-1"
    retries = [r for r in caplog.records if r.levelno == logging.WARNING and "will retry" in r.getMessage()]
    final = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(retries) == 2
    assert len(final) == 1
    assert f"job {name} ({job_id}) failed for good after 3 of 3 attempts" in final[0].getMessage()
    assert final[0].exc_info is not None  # the traceback goes to the log


async def test_a_job_that_fails_once_succeeds_on_retry(register: Any) -> None:
    attempts: list[int] = []
    name = unique("once")

    @register(name, attempts=2, retry_delay=0)
    async def fails_once(ctx: dict[str, Any]) -> None:
        attempts.append(ctx["attempt"])
        if ctx["attempt"] == 1:
            raise RuntimeError("first try fails")

    async with jobs.running(make_settings()):
        await jobs.enqueue(name)
        worker = await drained()
        assert (worker.completed, worker.failures, attempts) == (1, [], [1, 2])


async def test_permanent_errors_and_timeouts(register: Any) -> None:
    calls: list[str] = []
    never = asyncio.Event()
    permanent, slow = unique("permanent"), unique("slow")

    @register(permanent, attempts=5, retry_delay=0)
    async def refuses(ctx: dict[str, Any]) -> None:
        calls.append("permanent")
        raise jobs.PermanentJobError("the recipient does not exist")

    @register(slow, attempts=2, retry_delay=0, timeout=0.05)
    async def hangs(ctx: dict[str, Any]) -> None:
        calls.append("slow")
        await never.wait()

    async with jobs.running(make_settings()):
        await jobs.enqueue(permanent)
        await jobs.enqueue(slow)
        worker = await drained()
        assert sorted((f.name, f.attempts) for f in worker.failures) == sorted([(permanent, 1), (slow, 2)])
    assert sorted(calls) == ["permanent", "slow", "slow"]


async def test_unknown_jobs_and_non_json_arguments_are_refused(register: Any) -> None:
    name = unique("noop")

    @register(name)
    async def noop(ctx: dict[str, Any], **kwargs: Any) -> None:
        return None

    async with jobs.running(make_settings()):
        with pytest.raises(KeyError, match="no job named 'no_such_job'"):
            await jobs.enqueue("no_such_job")
        with pytest.raises(TypeError, match="JSON"):
            await jobs.enqueue(name, blob=object())


async def test_the_lifespan_runs_jobs_for_a_litestar_app(register: Any) -> None:
    seen: list[int] = []
    workers: list[jobs.EmbeddedWorker] = []
    name = unique("lifespan")

    @register(name)
    async def mark(ctx: dict[str, Any], *, value: int) -> None:
        seen.append(value)

    @post("/work")
    async def work() -> dict[str, str]:
        return {"job": await jobs.enqueue(name, value=42)}

    @get("/drain")
    async def drain() -> dict[str, int]:
        # the test client runs the app on its own event loop: look at the worker from inside it
        worker = jobs.embedded_worker()
        assert worker is not None
        workers.append(worker)
        async with asyncio.timeout(10):
            await worker.drain()
        return {"completed": worker.completed}

    app = Litestar([work, drain], lifespan=[jobs.lifespan])
    app.state.settings = make_settings()
    async with AsyncTestClient(app=app) as client:
        assert (await client.post("/work")).status_code == 201
        response = await client.get("/drain")
        assert response.json() == {"completed": 1}
    assert seen == [42]
    assert workers[0].settings is app.state.settings
    assert not workers[0].running  # stopped with the app


# ---------------------------------------------------------------------------------------------------------------
# SAQ on Redis


@pytest.fixture
async def queue_name() -> AsyncIterator[str]:
    """A queue of our own in the test Redis database, removed afterwards."""
    from redis import asyncio as aioredis

    name = unique("test")
    yield name
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(f"saq:*{name}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_a_job_enqueued_through_saq_runs_on_a_worker(register: Any, queue_name: str) -> None:
    from saq import Status

    seen: list[dict[str, Any]] = []
    done = asyncio.Event()
    name = unique("saq")

    @register(name, attempts=2, retry_delay=0)
    async def via_redis(ctx: dict[str, Any], *, order: str, due: str) -> str:
        seen.append({"attempt": ctx["attempt"], "order": order, "due": due, "job_id": ctx["job_id"]})
        if ctx["attempt"] == 1:
            raise RuntimeError("first try fails; SAQ retries it")
        done.set()
        return f"shipped {order}"

    settings = make_settings(redis_url=REDIS_URL)
    # JOBS_IN_PROCESS: the SAQ worker runs inside this process, taking jobs from Redis
    async with jobs.running(settings, queue_name=queue_name):
        job_id = await jobs.enqueue(name, order="PO-7", due=dt.date(2026, 12, 1))
        async with asyncio.timeout(20):
            await done.wait()
        queue = jobs.saq_queue(REDIS_URL, queue_name)
        await queue.connect()
        try:
            stored = await queue.job(job_id)
            assert stored is not None
            await stored.refresh(until_complete=10)
            assert stored.status == Status.COMPLETE
            assert stored.result == "shipped PO-7"
        finally:
            await queue.disconnect()
    assert [s["attempt"] for s in seen] == [1, 2]
    assert seen[1] == {"attempt": 2, "order": "PO-7", "due": "2026-12-01", "job_id": job_id}


async def test_makeready_worker_process_sends_email_from_redis(tmp_path: Path, queue_name: str) -> None:
    """`makeready worker` in its own process runs a send_email job that this process enqueued through Redis."""
    from saq import Status

    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "OUTBOX_DIR": str(outbox),
        "SMTP_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    executable = Path(sys.executable).parent / "makeready"
    process = await asyncio.create_subprocess_exec(
        str(executable),
        "worker",
        "--queue",
        queue_name,
        "--concurrency",
        "2",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            while not any("Worker on" in line for line in output):
                line = await process.stdout.readline()
                assert line, "the worker exited early:\n" + "".join(output)
                output.append(line.decode())
        # this process only enqueues (JOBS_IN_PROCESS=false): the job can only run in the worker process
        async with jobs.running(make_settings(redis_url=REDIS_URL, in_process=False), queue_name=queue_name):
            job_id = await jobs.enqueue(
                "send_email",
                to="lena@kestreloutdoor.example",
                template="welcome",
                context={"name": "Lena", "org": "Kestrel Outdoor", "email": "lena@kestreloutdoor.example"},
            )
        queue = jobs.saq_queue(REDIS_URL, queue_name)
        await queue.connect()
        try:
            stored = await queue.job(job_id)
            assert stored is not None
            await stored.refresh(until_complete=30)  # waits on Redis pub/sub for the job to finish
            assert stored.status == Status.COMPLETE, stored.error
        finally:
            await queue.disconnect()
        [eml] = list(outbox.glob("*.eml"))
        assert b"Subject: Your Makeready account is ready" in eml.read_bytes()
        assert str(eml) in str(stored.result)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            rest = await _read_rest(process.stdout)
            code = await process.wait()
    assert code == 0, "".join(output) + rest
    assert "Worker stopped." in rest


async def _read_rest(stream: asyncio.StreamReader | None) -> str:
    return (await stream.read()).decode() if stream is not None else ""


async def test_enqueue_without_a_started_worker_still_runs_the_job(
    register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that never started a worker: enqueue starts an embedded one instead of dropping the job."""
    done = asyncio.Event()
    name = unique("adhoc")

    @register(name)
    async def mark(ctx: dict[str, Any]) -> None:
        done.set()

    monkeypatch.setattr(jobs.runner, "get_settings", make_settings)
    await jobs.stop()  # nothing left over from another test in this loop
    try:
        await jobs.enqueue(name)
        async with asyncio.timeout(10):
            await done.wait()
    finally:
        await jobs.stop()
