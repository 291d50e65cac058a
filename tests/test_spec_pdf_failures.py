"""A spec PDF whose render fails for good says so at once (no ten-minute "being prepared"), and asking again
renders it again: a render killed with its worker process, a render cut off on its last try."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import jobs
from makeready.settings import Settings
from makeready.specs import documents, pdf
from makeready.specs.models import DocumentStatus, SpecDocument
from tests.spec_support import arrange_revision
from tests.workflow_support import make_people, system


@pytest.fixture(autouse=True)
def _stop_pool() -> Iterator[None]:
    yield
    pdf.shutdown_pool()


async def _pending_row(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, photos=0)
    monkeypatch.setattr(documents, "_render_after_commit", lambda session, document_id: None)
    async with system(engine) as session:
        revision = await session.get_one(type(arranged.revision), arranged.revision.id)
        row = await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
    assert row.status == DocumentStatus.pending
    return row.id, arranged.revision.id


async def test_a_render_whose_worker_process_dies_fails_at_once_and_asking_again_renders(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    document_id, revision_id = await _pending_row(engine, monkeypatch)
    real_render = pdf.render_async
    killed: list[int] = []

    async def render_and_kill_the_worker(html: str, assets: dict[str, pdf.Asset]) -> pdf.RenderResult:
        render = asyncio.ensure_future(real_render(html, assets))
        await asyncio.sleep(0)  # render_async submits to the pool (which starts its workers) before it awaits
        assert pdf._pool is not None
        assert pdf._pool._processes
        for process in list(pdf._pool._processes.values()):
            killed.append(process.pid or 0)
            process.kill()  # SIGKILL: what the kernel's OOM killer does
        return await render

    monkeypatch.setattr(pdf, "render_async", render_and_kill_the_worker)
    with pytest.raises(jobs.PermanentJobError, match="worker process died"):
        await documents.render_pending(document_id, settings=settings)
    assert killed
    async with system(engine) as session:
        row = await session.get_one(SpecDocument, document_id)
        # failed on the first try, with the reason: nobody waits PENDING_STALE_AFTER for it
        assert row.status == DocumentStatus.failed
        assert row.attempts == 1
        assert "worker process died" in row.error
        assert "BrokenProcessPool" in row.error
        revision = await session.get_one(documents.SpecRevision, revision_id)
        again = await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
        assert again.id == document_id
        assert again.status == DocumentStatus.pending
    # the next render gets a fresh pool and succeeds
    monkeypatch.setattr(pdf, "render_async", real_render)
    assert await documents.render_pending(document_id, settings=settings) == DocumentStatus.ready
    async with system(engine) as session:
        row = await session.get_one(SpecDocument, document_id)
        assert row.status == DocumentStatus.ready
        assert row.error == ""


async def test_a_render_cut_off_on_its_last_try_is_failed_not_pending(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    document_id, _revision_id = await _pending_row(engine, monkeypatch)
    started = asyncio.Event()

    async def hangs(html: str, assets: dict[str, pdf.Asset]) -> pdf.RenderResult:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(pdf, "render_async", hangs)
    async with system(engine) as session:
        row = await session.get_one(SpecDocument, document_id)
        row.attempts = documents.RENDER_ATTEMPTS - 1
    task = asyncio.create_task(documents.render_pending(document_id, settings=settings))
    await started.wait()
    task.cancel()  # what the job runner's timeout does
    with pytest.raises(asyncio.CancelledError):
        await task
    async with system(engine) as session:
        row = await session.get_one(SpecDocument, document_id)
        assert row.status == DocumentStatus.failed
        assert "CancelledError" in row.error
