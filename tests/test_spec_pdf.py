"""The spec PDF for real: WeasyPrint output read back with pypdf and poppler; the fetcher's fence; the cache.

One filled revision (with hostile text in its fields) is rendered once through the worker pool and shared by the
module's checks, to keep them fast.
"""

from __future__ import annotations

import asyncio
import http.server
import re
import subprocess
import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pypdf
import pytest
from pypdf.generic import DictionaryObject
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import jobs
from makeready.kernel import after_commit
from makeready.settings import Settings
from makeready.specs import documents, pdf
from makeready.specs.content import parse, texts
from makeready.specs.document import build_document
from makeready.specs.models import DocumentStatus, SpecDocument
from makeready.storage import get_storage
from makeready.storage.keys import is_cache_key
from tests.spec_support import arrange_revision
from tests.workflow_support import make_people, system


class _Hits(http.server.BaseHTTPRequestHandler):
    """A local server that counts requests and answers each with a redirect: nothing may ever reach it."""

    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def trap() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def hostile_values(trap: str) -> list[str]:
    return [
        "<script>alert(1)</script>",
        '<img src="file:///etc/passwd">',
        '<link rel=attachment href="file:///etc/passwd">',
        '<a rel="attachment" href="/etc/passwd">x</a>',
        "<style>@import url(http://169.254.169.254/)</style>",
        "url(http://127.0.0.1:1/)",
        f'<img src="{trap}/redirect">',
    ]


@pytest.fixture(scope="module", autouse=True)
def _stop_pool() -> Iterator[None]:
    yield
    pdf.shutdown_pool()


_rendered: dict[str, Any] = {}


async def rendered(engine: AsyncEngine, trap: str) -> dict[str, Any]:
    """The filled revision (3 photos, hostile text in some fields) rendered once for the module."""
    if "result" in _rendered:
        return _rendered
    people = await make_people(engine)
    hostile = hostile_values(trap)

    def add_hostile(content: dict[str, Any]) -> None:
        content["materials"][0]["notes"] = {
            "en": hostile[0] + hostile[1],
            "zh": hostile[2],
            "status": "reviewed",
        }
        content["assembly"][0]["text"] = {"en": hostile[3], "zh": hostile[4], "status": "reviewed"}
        content["quality"]["points"][0]["method"] = {"en": hostile[5], "zh": hostile[6], "status": "reviewed"}

    arranged = await arrange_revision(engine, people, photos=3, rows=2, adjust=add_hostile)
    async with system(engine) as session:
        document = await build_document(session, arranged.revision, languages=("zh_Hans", "en"))
    html = documents.pdf_html(document)
    assets = await documents.pdf_assets(document)
    result = await pdf.render_async(html, assets)
    _rendered.update(result=result, document=document, assets=assets, hostile=hostile, html=html)
    return _rendered


def _text(pdf_bytes: bytes, tmp: Path) -> list[str]:
    """pdftotext of each page."""
    path = tmp / "doc.pdf"
    path.write_bytes(pdf_bytes)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout
    return out.decode().split("\f")[:-1]


def _root(reader: pypdf.PdfReader) -> DictionaryObject:
    root = reader.trailer["/Root"].get_object()
    assert isinstance(root, DictionaryObject)
    return root


def _pdffonts(path: Path) -> list[str]:
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_the_pdf_holds_every_field_in_both_languages(
    engine: AsyncEngine, trap: str, tmp_path: Path
) -> None:
    data = await rendered(engine, trap)
    result, document = data["result"], data["document"]
    pages = _text(result.pdf, tmp_path)
    assert len(pages) == result.pages
    everything = _squash("".join(pages))
    for ref in texts(document.content):
        for value in (ref.value.en, ref.value.zh):
            assert _squash(value) in everything, (ref.path, value)
    # labels in both languages, the factory's first
    assert _squash("材料 Materials") in everything or ("材料" in everything and "Materials" in everything)
    assert "Rev B" in pages[0]
    assert document.project_name in pages[0]


async def test_every_page_has_its_number_and_the_revision_stamp(
    engine: AsyncEngine, trap: str, tmp_path: Path
) -> None:
    data = await rendered(engine, trap)
    result, document = data["result"], data["document"]
    pages = _text(result.pdf, tmp_path)
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页\uff0c共{result.pages}页" in _squash(page), number  # "page 1 of 5"
        assert "Rev B" in page
        assert "2026-11-20" in page
        assert document.project_name in page


async def test_the_cjk_font_is_embedded_as_a_subset(engine: AsyncEngine, trap: str, tmp_path: Path) -> None:
    data = await rendered(engine, trap)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data["result"].pdf)
    lines = _pdffonts(path)
    fonts = [line.split() for line in lines[2:]]
    assert fonts
    for row in fonts:
        name, emb, sub = row[0], row[-5], row[-4]
        assert re.match(r"^[A-Z]{6}\+", name), name
        assert (emb, sub) == ("yes", "yes"), row
    assert all("MR-Sans" in row[0] for row in fonts)


async def test_the_photos_are_in_it(engine: AsyncEngine, trap: str) -> None:
    data = await rendered(engine, trap)
    reader = pypdf.PdfReader(BytesIO(data["result"].pdf))
    images = set()
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        xobjects = resources.get("/XObject") or {}
        for ref in xobjects.values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                images.add(ref.idnum if hasattr(ref, "idnum") else id(obj))
                assert max(obj["/Width"], obj["/Height"]) <= pdf.PRINT_LONG_SIDE
    assert len(images) == 3


async def test_hostile_text_prints_as_text_and_fetches_nothing(
    engine: AsyncEngine, trap: str, tmp_path: Path
) -> None:
    data = await rendered(engine, trap)
    result = data["result"]
    everything = _squash("".join(_text(result.pdf, tmp_path)))
    for value in data["hostile"]:
        assert _squash(value) in everything, value
    assert set(result.fetched) <= {pdf.asset_url(name) for name in [*data["assets"], pdf.FONT_ASSET]}
    assert _Hits.hits == []
    reader = pypdf.PdfReader(BytesIO(result.pdf))
    names = _root(reader).get("/Names") or {}
    assert "/EmbeddedFiles" not in names
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object()["/Subtype"] != "/FileAttachment"
    assert b"root:x:0:0" not in result.pdf


def test_raw_hostile_html_gets_nothing_from_the_fetcher(trap: str, tmp_path: Path) -> None:
    """Even markup that skipped the template's escaping gets no file, no network, no attachment."""
    html = (
        "<html><head>"
        '<link rel="attachment" href="file:///etc/passwd">'
        f'<link rel="stylesheet" href="{trap}/style.css">'
        "<style>@import url(http://169.254.169.254/latest/meta-data/);"
        f" body {{ background: url({trap}/bg.png) }}</style></head><body>"
        '<img src="file:///etc/passwd"><img src="http://169.254.169.254/x.png">'
        f'<img src="{trap}/redirect"><img src="data:image/png;base64,iVBORw0KGgo=">'
        '<a rel="attachment" href="/etc/passwd">attached</a>'
        '<a rel="attachment" href="file:///etc/hostname">attached too</a>'
        '<img src="relative.png"><p>plain</p></body></html>'
    )
    result = pdf.render_pdf(html, {})
    assert _Hits.hits == []
    asked = set(result.fetched)
    assert "file:///etc/passwd" in asked
    assert any(url.startswith("http://169.254.169.254") for url in asked)
    reader = pypdf.PdfReader(BytesIO(result.pdf))
    assert "/EmbeddedFiles" not in (_root(reader).get("/Names") or {})
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object()["/Subtype"] != "/FileAttachment"
    assert b"root:" not in result.pdf


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/x.png",
        "data:text/plain,hello",
        "asset:nope",
        "ftp://127.0.0.1/x",
        "relative.png",
    ],
)
def test_the_fetcher_refuses_everything_but_our_assets(url: str) -> None:
    fetcher = pdf.make_fetcher({"photo": pdf.Asset(b"x", "image/jpeg")})
    with pytest.raises(pdf.AssetRefused):
        fetcher.fetch(url)
    assert fetcher.requested == [url]
    response = fetcher.fetch("asset:photo")
    assert response.read() == b"x"
    assert response.content_type == "image/jpeg"


def test_the_fetcher_never_follows_a_redirect(trap: str) -> None:
    fetcher = pdf.make_fetcher({})
    with pytest.raises(pdf.AssetRefused):
        fetcher.fetch(f"{trap}/redirect")
    with pytest.raises(pdf.AssetRefused):
        fetcher.open(f"{trap}/redirect")
    assert _Hits.hits == []


# --------------------------------------------------------------------------------------------------------------
# The cache


async def test_opening_a_revision_twice_renders_once(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, photos=1)
    renders: list[int] = []

    async def fake_render(html: str, assets: dict[str, pdf.Asset]) -> pdf.RenderResult:
        renders.append(len(html))
        return pdf.RenderResult(pdf=b"%PDF-1.7 fake", pages=11, render_ms=5, prepared={"figure-1": b"jpeg"})

    monkeypatch.setattr(pdf, "render_async", fake_render)
    async with jobs.running(settings):
        rows = []
        for _ in range(2):
            async with system(engine) as session:
                revision = await session.get_one(type(arranged.revision), arranged.revision.id)
                rows.append(
                    await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
                )
        await after_commit.drain()  # the after-commit enqueue runs on its own task: wait for it
        worker = jobs.embedded_worker()
        assert worker is not None
        async with asyncio.timeout(10):
            await worker.drain()
        async with system(engine) as session:
            revision = await session.get_one(type(arranged.revision), arranged.revision.id)
            again = await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
            assert again.status == DocumentStatus.ready
            data = await documents.open_pdf(session, again)
            count = await session.scalar(select(func.count()).select_from(SpecDocument))
    assert rows[0].id == rows[1].id == again.id
    assert count == 1
    assert len(renders) == 1
    assert data == b"%PDF-1.7 fake"
    assert (again.pages, again.size_bytes) == (11, len(b"%PDF-1.7 fake"))
    assert again.storage_key.startswith(f"org/{arranged.project.org_id}/document/")
    assert documents.pdf_download_url(again, filename="spec.pdf")
    # the figure's print-size copy is cached as a derived object, which the sweep may evict and a render make again
    stored = [
        item.key
        async for page in get_storage().list_objects(f"org/{arranged.project.org_id}/")
        for item in page
    ]
    prints = [key for key in stored if "/print/" in key]
    assert len(prints) == 1
    assert is_cache_key(prints[0])
    assert await get_storage().read(prints[0]) == b"jpeg"
    # another language order is another document
    async with system(engine) as session:
        revision = await session.get_one(type(arranged.revision), arranged.revision.id)
        other = await documents.request_pdf(session, revision=revision, languages=("en", "zh_Hans"))
        assert other.id != again.id
        assert other.status == DocumentStatus.pending


async def test_concurrent_requests_create_one_row(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, photos=0)
    monkeypatch.setattr(documents, "_render_after_commit", lambda session, document_id: None)

    async def ask() -> int:
        async with system(engine) as session:
            revision = await session.get_one(type(arranged.revision), arranged.revision.id)
            row = await documents.request_pdf(session, revision=revision, languages="zh_Hans,en")
            return row.id

    ids = await asyncio.gather(*(ask() for _ in range(4)), return_exceptions=True)
    good = [i for i in ids if isinstance(i, int)]
    assert good
    assert len(set(good)) == 1
    async with system(engine) as session:
        assert await session.scalar(select(func.count()).select_from(SpecDocument)) == 1


async def test_a_failing_render_is_retried_a_bounded_number_of_times(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, photos=0)
    monkeypatch.setattr(documents, "_render_after_commit", lambda session, document_id: None)

    async def broken(html: str, assets: dict[str, pdf.Asset]) -> pdf.RenderResult:
        raise RuntimeError("the renderer fell over")

    monkeypatch.setattr(pdf, "render_async", broken)
    async with system(engine) as session:
        revision = await session.get_one(type(arranged.revision), arranged.revision.id)
        row = await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
    for attempt in range(1, documents.RENDER_ATTEMPTS + 1):
        error: type[Exception] = (
            RuntimeError if attempt < documents.RENDER_ATTEMPTS else jobs.PermanentJobError
        )
        with pytest.raises(error):
            await documents.render_pending(row.id, settings=settings)
    async with system(engine) as session:
        failed = await session.get_one(SpecDocument, row.id)
        assert failed.status == DocumentStatus.failed
        assert failed.attempts == documents.RENDER_ATTEMPTS
        assert "fell over" in failed.error
        with pytest.raises(Exception, match="not ready"):
            await documents.open_pdf(session, failed)
        # asking again starts over
        revision = await session.get_one(type(arranged.revision), arranged.revision.id)
        retried = await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
        assert retried.id == row.id
        assert retried.status == DocumentStatus.pending
        assert retried.attempts == 0


async def test_the_hash_changes_with_what_the_pdf_shows(engine: AsyncEngine) -> None:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, photos=1)
    async with system(engine) as session:
        document = await build_document(session, arranged.revision, languages=("zh_Hans", "en"))
    base = documents.pdf_inputs_hash(document, ("zh_Hans", "en"))
    assert base == documents.pdf_inputs_hash(document, ("zh_Hans", "en"))
    assert base != documents.pdf_inputs_hash(document, ("en", "zh_Hans"))
    changed = parse(document.content.to_json())
    changed.overview.summary.zh = "改了"
    assert base != documents.pdf_inputs_hash(
        type(document)(**{**document.__dict__, "content": changed}), ("zh_Hans", "en")
    )
    renamed = type(document)(**{**document.__dict__, "project_name": "Other"})
    assert base != documents.pdf_inputs_hash(renamed, ("zh_Hans", "en"))
    view = document.figures[0]
    moved = type(document)(
        **{**document.__dict__, "figures": [type(view)(**{**view.__dict__, "checksum": "1" * 64})]}
    )
    assert base != documents.pdf_inputs_hash(moved, ("zh_Hans", "en"))


async def test_the_app_stops_its_render_workers_when_it_stops(settings: Settings) -> None:
    """A stopped server left the render pool's forkserver and a worker running (found by the parallel suite)."""
    from portal.app import create_app

    app = create_app(settings)
    async with app.lifespan():
        workers = pdf.pool()
        assert await asyncio.wrap_future(workers.submit(len, "ready")) == len("ready")
    with pytest.raises(RuntimeError, match="shutdown"):
        workers.submit(len, "after")  # the app's shutdown stopped this pool
    assert pdf.pool() is not workers  # and the next use starts a new one
    pdf.shutdown_pool()
