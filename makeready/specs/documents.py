"""Rendered spec PDFs, cached by the hash of everything that goes into them: one render per content.

`request_pdf` returns the SpecDocument of a revision in a language order: the ready one when that content was
rendered before, else a pending row (created once, whoever asks at the same time) whose render job is enqueued when
the caller's transaction commits. The `render_spec_pdf` job (`render_pending`) renders in the PDF worker pool,
stores the file and marks the row ready, or failed after a bounded number of tries. `open_pdf` / `pdf_download_url`
read a ready one back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready import i18n
from makeready.db.session import get_engine, unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound
from makeready.i18n import N_
from makeready.jobs.registry import PermanentJobError, job
from makeready.jobs.runner import enqueue_after_commit
from makeready.settings import Settings, get_settings
from makeready.specs import pdf
from makeready.specs.document import (
    Document,
    FigureView,
    build_document,
    check_languages,
    document_data,
    render_html,
    template_fingerprint,
)
from makeready.specs.models import DocumentStatus, SpecDocument, SpecRevision
from makeready.specs.service import canonical_hash
from makeready.storage import get_storage
from makeready.storage.keys import cache_key, safe_name

log = logging.getLogger("makeready.specs")

RENDER_JOB = "render_spec_pdf"
RENDER_ATTEMPTS = 3
PENDING_STALE_AFTER = timedelta(minutes=10)
"""A row pending this long lost its job (an in-process queue dies with its process): asking again re-enqueues it.
A render that fails for good (out of tries, cut off on its last try, or its worker process died) marks the row
failed at once with the error, so nobody waits for this."""
PDF_TYPE = "application/pdf"
MAX_PDF_BYTES = 50 * 1024 * 1024
MAX_IMAGE_BYTES = 64 * 1024 * 1024
NOT_READY = N_("The PDF is not ready yet.")


# --------------------------------------------------------------------------------------------------------------
# Enqueueing once the row is committed (a job started earlier would not find it)


def _render_after_commit(session: AsyncSession, document_id: int) -> None:
    # a failed enqueue leaves the row pending; asking again after PENDING_STALE_AFTER enqueues it again
    enqueue_after_commit(session, RENDER_JOB, document_id=document_id)


# --------------------------------------------------------------------------------------------------------------
# The cache key


@lru_cache(maxsize=4)
def _catalog_digest(files: tuple[tuple[str, float], ...]) -> str:
    digest = hashlib.sha256()
    for name, _mtime in files:
        path = Path(name)
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def catalog_version() -> str:
    """sha256 of the two catalogs (labels print in both languages); recomputed only when a file changes."""
    files = []
    for locale in i18n.SUPPORTED:
        po = i18n.CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
        files.append((str(po), po.stat().st_mtime if po.exists() else 0.0))
    return _catalog_digest(tuple(files))


def pdf_inputs(document: Document, languages: tuple[str, str]) -> dict[str, Any]:
    """Everything that goes into the PDF, as JSON data."""
    return {
        **document_data(document),
        "template": template_fingerprint(),
        "catalogs": catalog_version(),
        "languages": list(languages),
        "renderer": [pdf.PRINT_LONG_SIDE, pdf.PRINT_JPEG_QUALITY, pdf.FONT_FAMILY],
    }


def pdf_inputs_hash(document: Document, languages: tuple[str, str]) -> str:
    """sha256 over the canonical JSON of `pdf_inputs`: the PDF cache key."""
    return canonical_hash(pdf_inputs(document, languages))


def storage_key(document: Document, content_hash: str) -> str:
    """Under the organization's prefix like every object we store; the same key for the same content."""
    name = safe_name(f"spec-{document.project_name}-rev-{document.revision_label}.pdf")
    return f"org/{document.org_id}/document/{content_hash[:32]}/{name}"


async def document_keys_in(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of the keys that are rendered spec PDFs (a key owner for the sweep of abandoned uploads)."""
    rows = await session.scalars(select(SpecDocument.storage_key).where(SpecDocument.storage_key.in_(keys)))
    return {key for key in rows.all() if key}


def download_name(document: SpecDocument, revision: SpecRevision, project_name: str) -> str:
    return f"{project_name} - spec rev {revision.label}.pdf"


# --------------------------------------------------------------------------------------------------------------
# Asking for a PDF


async def request_pdf(
    session: AsyncSession, *, revision: SpecRevision, languages: tuple[str, ...] | str
) -> SpecDocument:
    """The revision's PDF in this language order: ready, or pending with its render enqueued after commit.

    Concurrent callers get the same row (the content hash is unique); a failed or long-pending one is tried again.
    """
    order = check_languages(languages)
    document = await build_document(session, revision, languages=order)
    content_hash = pdf_inputs_hash(document, order)
    existing = await _by_hash(session, content_hash)
    if existing is None:
        row = SpecDocument(
            org_id=revision.org_id,
            revision_id=revision.id,
            content_hash=content_hash,
            languages=",".join(order),
            status=DocumentStatus.pending,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:  # a concurrent request created it first
            existing = await _by_hash(session, content_hash)
            if existing is None:
                raise
        else:
            _render_after_commit(session, row.id)
            return row
    if existing.status == DocumentStatus.ready:
        return existing
    stale = existing.updated_at is not None and utcnow() - existing.updated_at > PENDING_STALE_AFTER
    if existing.status == DocumentStatus.failed or stale:
        existing.status = DocumentStatus.pending
        existing.attempts = 0
        existing.error = ""
        existing.updated_at = utcnow()
        await session.flush()
        _render_after_commit(session, existing.id)
    return existing


async def _by_hash(session: AsyncSession, content_hash: str) -> SpecDocument | None:
    found: SpecDocument | None = await session.scalar(
        select(SpecDocument).where(SpecDocument.content_hash == content_hash)
    )
    return found


async def open_pdf(session: AsyncSession, document: SpecDocument) -> bytes:
    """The bytes of a ready PDF (the session is for symmetry with the readers that check access first)."""
    if document.status != DocumentStatus.ready or not document.storage_key:
        raise Conflict(i18n.gettext(NOT_READY), current_state=document.status.value)
    try:
        return await get_storage().read(document.storage_key, max_bytes=MAX_PDF_BYTES)
    except FileNotFoundError:
        raise NotFound(i18n.gettext(NOT_READY)) from None


def pdf_download_url(document: SpecDocument, *, filename: str, inline: bool = True) -> str:
    """A short-lived URL of a ready PDF (presigned on S3, signed by us on local storage)."""
    if document.status != DocumentStatus.ready or not document.storage_key:
        raise Conflict(i18n.gettext(NOT_READY), current_state=document.status.value)
    return get_storage().download_url(
        document.storage_key, filename=filename, content_type=PDF_TYPE, inline=inline
    )


# --------------------------------------------------------------------------------------------------------------
# Rendering


def print_image_key(document: Document, view: FigureView) -> str:
    """Where the print-sized copy of a figure's picture is cached: derived from the original and the print
    settings, under the organization's prefix."""
    basis = f"{view.storage_key}:{view.checksum}:{pdf.PRINT_LONG_SIDE}:{pdf.PRINT_JPEG_QUALITY}"
    # a derived object: the sweep evicts it when no render has written it for a while, the next render makes it again
    return cache_key(document.org_id, "print", hashlib.sha256(basis.encode()).hexdigest()[:32], "print.jpg")


async def pdf_assets(document: Document) -> dict[str, pdf.Asset]:
    """The pictures of the document as renderer assets: the cached print-sized copy when there is one, else the
    original (the renderer downscales it). Missing pictures are left out (the template says so)."""
    storage = get_storage()
    assets: dict[str, pdf.Asset] = {}
    for view in document.figures:
        if not view.available:
            continue
        try:
            cached = await storage.read(print_image_key(document, view), max_bytes=MAX_IMAGE_BYTES)
        except FileNotFoundError:
            pass
        else:
            assets[view.asset_name] = pdf.Asset(cached, "image/jpeg", print_ready=True)
            continue
        try:
            data = await storage.read(view.storage_key, max_bytes=MAX_IMAGE_BYTES)
        except FileNotFoundError:
            log.warning("spec figure %s: object %s is missing", view.figure.id, view.storage_key)
            continue
        assets[view.asset_name] = pdf.Asset(data, view.content_type)
    return assets


async def _cache_print_images(document: Document, prepared: dict[str, bytes]) -> None:
    storage = get_storage()
    for view in document.figures:
        data = prepared.get(view.asset_name)
        if data is None:
            continue
        try:
            await storage.put(print_image_key(document, view), data, content_type="image/jpeg")
        except Exception:  # a cache: the next render prepares the picture again
            log.warning("could not cache the print copy of %s", view.storage_key, exc_info=True)


def pdf_html(document: Document) -> str:
    """The document's HTML for the PDF (labels of one language follow the first language)."""
    with i18n.use_locale(document.languages[0]):
        return render_html(document, mode="pdf", image_src=lambda view: pdf.asset_url(view.asset_name))


async def render_pending(document_id: int, *, settings: Settings | None = None) -> DocumentStatus:
    """Render one pending SpecDocument (the job's body). Runs in system scope: a job has no caller to scope it to,
    and it touches only the row it was given and the revision that row names."""
    settings = settings or get_settings()
    engine = get_engine(settings.db.url)
    async with unit_of_work(Scope.system(), engine=engine) as session:
        row = await session.get(SpecDocument, document_id)
        if row is None:
            raise PermanentJobError(f"spec document {document_id} does not exist")
        if row.status != DocumentStatus.pending:
            return row.status
        revision = await session.get_one(SpecRevision, row.revision_id)
        order = check_languages(row.languages)
        with i18n.use_locale(order[0]):
            document = await build_document(session, revision, languages=order)
        content_hash = row.content_hash
        row.attempts += 1
        attempt = row.attempts
    try:
        html = pdf_html(document)
        assets = await pdf_assets(document)
        result = await pdf.render_async(html, assets)
        key = storage_key(document, content_hash)
        await get_storage().put(key, result.pdf, content_type=PDF_TYPE)
        await _cache_print_images(document, result.prepared)
    except BaseException as exc:
        # a dead worker process (killed for memory, a crash in a native library) is not worth a retry: the same
        # document would kill the next one too; a cancelled last try (the job's timeout) is the end as well
        died = isinstance(exc, BrokenProcessPool)
        if not isinstance(exc, Exception | asyncio.CancelledError):
            raise
        final = died or attempt >= RENDER_ATTEMPTS
        error = (
            f"the PDF worker process died during the render ({type(exc).__name__}: {exc})"
            if died
            else f"{type(exc).__name__}: {exc}"
        )
        # shielded: a cancelled job must still leave its row telling the truth
        await asyncio.shield(_record_failure(engine, document_id, error, final=final))
        if final and isinstance(exc, Exception):
            raise PermanentJobError(f"spec document {document_id}: {error}") from exc
        raise
    async with unit_of_work(Scope.system(), engine=engine) as session:
        row = await session.get_one(SpecDocument, document_id)
        row.status = DocumentStatus.ready
        row.storage_key = key
        row.size_bytes = len(result.pdf)
        row.pages = result.pages
        row.render_ms = result.render_ms
        row.error = ""
        row.rendered_at = utcnow()
    log.info(
        "spec document %s rendered: %d pages, %d bytes, %d ms",
        document_id,
        result.pages,
        len(result.pdf),
        result.render_ms,
    )
    return DocumentStatus.ready


async def _record_failure(engine: AsyncEngine, document_id: int, error: str, *, final: bool) -> None:
    async with unit_of_work(Scope.system(), engine=engine) as session:
        row = await session.get_one(SpecDocument, document_id)
        row.error = error[:2000]
        if final:
            row.status = DocumentStatus.failed
            row.updated_at = utcnow()


@job(RENDER_JOB, attempts=RENDER_ATTEMPTS, retry_delay=10.0, timeout=300.0)
async def render_spec_pdf(ctx: dict[str, Any], *, document_id: int) -> str:
    """Render a spec revision's PDF (see makeready.specs.documents.render_pending)."""
    status = await render_pending(document_id, settings=ctx["settings"])
    return str(status)
