"""HTML to PDF with WeasyPrint, fenced in: a URL fetcher that serves only the assets we hand it, in a worker process.

The fetcher answers `asset:<name>` from an in-memory dict and refuses everything else (file:, http(s) to anywhere,
data:, redirects): the template autoescapes stored text, and this is the second fence should markup ever slip
through. Attachments (`<a rel=attachment>`, `<link rel=attachment>`) would make WeasyPrint fetch and embed files:
the fetcher refuses them and `render_pdf` also drops any that the document asks for.

Why a process pool: a render is 1-2 s of pure-Python CPU (layout, font subsetting) that holds the GIL, so a thread
would still stall every request of the event loop; a separate process does not. Workers start lazily through a
forkserver (never a fork of a process that runs threads and an event loop), warm up before their first job
(`warm_up`), and are replaced after a number of renders, since WeasyPrint's caches grow; a replacement warms up
in the background as soon as its predecessor exits. The worker function takes plain data (HTML string, assets dict) and returns
plain data, so nothing of the app's state crosses the process boundary.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import resource
import shutil
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ASSET_SCHEME = "asset:"
FONT_ASSET = "font"
FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_FALLBACK = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PRINT_LONG_SIDE = 1200
"""Pictures are downscaled to at most this many pixels on their long side (200 dpi across a 150 mm figure)."""
PRINT_JPEG_QUALITY = 80
POOL_WORKERS = max(1, min(2, os.cpu_count() or 1))
RENDERS_PER_WORKER = 50


class AssetRefused(ValueError):
    """The renderer asked for something that is not one of our assets."""


@dataclass(frozen=True)
class Asset:
    data: bytes
    mime: str
    print_ready: bool = False
    """An image already downscaled for print (from the print-image cache): used as it is."""


def asset_url(name: str) -> str:
    return f"{ASSET_SCHEME}{name}"


def _make_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """Serves `asset:<name>` from `assets`; refuses anything else and records every request."""

        def __init__(self, assets: dict[str, Asset]) -> None:
            # no protocols the stock opener would handle, no redirects; fetch() below never calls the opener
            super().__init__(allowed_protocols=("asset",), allow_redirects=False, fail_on_errors=False)
            self.assets = assets
            self.requested: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.requested.append(url)
            if not url.startswith(ASSET_SCHEME):
                raise AssetRefused(f"refused: only our own assets are served ({url[:80]!r})")
            asset = self.assets.get(url[len(ASSET_SCHEME) :])
            if asset is None:
                raise AssetRefused(f"refused: no such asset ({url[:80]!r})")
            return URLFetcherResponse(url, body=asset.data, headers={"Content-Type": asset.mime}, status=200)

        def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
            raise AssetRefused("refused: the opener is not used")

    return AssetFetcher


@lru_cache(maxsize=1)
def fetcher_class() -> type:
    """The AssetFetcher class (built on first use, so importing this module does not import WeasyPrint)."""
    return _make_fetcher_class()


def make_fetcher(assets: dict[str, Asset]) -> Any:
    return fetcher_class()(assets)


@lru_cache(maxsize=1)
def font_path() -> Path:
    """The CJK face's file: fontconfig's answer for FONT_FAMILY, else Debian's path (fonts-wqy-microhei)."""
    fc_match = shutil.which("fc-match")
    if fc_match:
        try:
            found = subprocess.run(  # noqa: S603 - a fixed command line, no outside input
                [fc_match, "-f", "%{file}", FONT_FAMILY],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and "wqy" in found.lower() and Path(found).is_file():
            return Path(found)
    return FONT_FALLBACK


@lru_cache(maxsize=1)
def font_asset() -> Asset:
    return Asset(font_path().read_bytes(), "font/collection")


def print_image(data: bytes) -> bytes:
    """A JPEG at most PRINT_LONG_SIDE on its long side, EXIF orientation applied, transparency on white."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        picture = ImageOps.exif_transpose(image)
        if picture.mode in ("RGBA", "LA", "P"):
            rgba = picture.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            picture = background
        elif picture.mode != "RGB":
            picture = picture.convert("RGB")
        # bicubic with a reducing gap: indistinguishable in print from Lanczos, and half the time
        picture.thumbnail((PRINT_LONG_SIDE, PRINT_LONG_SIDE), Image.Resampling.BICUBIC, reducing_gap=2.0)
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=PRINT_JPEG_QUALITY)
    return out.getvalue()


@dataclass
class RenderResult:
    pdf: bytes
    pages: int
    render_ms: int
    fetched: list[str] = field(default_factory=list)
    """Every URL the renderer asked the fetcher for, refused ones included."""
    max_rss_kb: int = 0
    """Peak resident memory of the process that rendered (ru_maxrss)."""
    prepared: dict[str, bytes] = field(default_factory=dict)
    """Images this render downscaled for print, by asset name (the caller caches them for the next render)."""
    prepare_ms: int = 0


def render_pdf(html: str, assets: dict[str, Asset], *, prepare_images: bool = True) -> RenderResult:
    """Render `html` with only `assets` reachable. CPU-bound and blocking: call it through `render_async`.

    Image assets are downscaled for print first (unless already done); the font asset is added when missing.
    """
    import weasyprint

    started = time.perf_counter()
    assets = dict(assets)
    prepared: dict[str, bytes] = {}
    if prepare_images:
        todo = [
            name
            for name, asset in assets.items()
            if asset.mime.startswith("image/") and not asset.print_ready
        ]
        if todo:
            # Pillow lets go of the GIL while it decodes, resizes and encodes: two threads use both cores
            with ThreadPoolExecutor(max_workers=2) as threads:
                for name, data in zip(
                    todo, threads.map(print_image, [assets[n].data for n in todo]), strict=True
                ):
                    prepared[name] = data
                    assets[name] = Asset(data, "image/jpeg", print_ready=True)
    prepare_ms = int((time.perf_counter() - started) * 1000)
    assets.setdefault(FONT_ASSET, font_asset())
    fetcher = make_fetcher(assets)
    # base_url is a name of ours, so a relative reference resolves to an `asset:` URL or nothing
    document = weasyprint.HTML(string=html, base_url=asset_url(""), url_fetcher=fetcher).render()
    document.metadata.attachments = []  # a <link rel=attachment> never embeds a file
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]
    pdf = document.write_pdf(attachments=[], pdf_forms=False)
    assert isinstance(pdf, bytes)
    return RenderResult(
        pdf=pdf,
        pages=len(document.pages),
        render_ms=int((time.perf_counter() - started) * 1000),
        fetched=list(fetcher.requested),
        max_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        prepared=prepared,
        prepare_ms=prepare_ms,
    )


# --------------------------------------------------------------------------------------------------------------
# The process pool

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


WARM_UP_HTML = (
    '<html><head><style>@font-face { font-family: "MR Sans"; src: url("asset:font"); }'
    ' html { font-family: "MR Sans"; } @page { @bottom-right { content: counter(page) " / " counter(pages); } }'
    " a::after { content: target-counter(attr(href), page); }</style></head><body>"
    '<h1 id="t">规格书 Specification</h1><table><tr><th>部件 Part</th><td>灯罩 Shade <b>1</b></td></tr></table>'
    '<a href="#t">目录</a></body></html>'
)


def warm_up() -> None:
    """Import WeasyPrint and render a small bilingual page with our face, before the worker takes its first job
    (fontconfig, Pango's font map and lazily imported modules are ready). It costs about 0.2 s at worker start;
    bench/spec_pdf.py shows what it saves the first render (little on the reference document)."""
    render_pdf(WARM_UP_HTML, {})


def pool() -> ProcessPoolExecutor:
    """The render pool, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            _pool = ProcessPoolExecutor(
                max_workers=POOL_WORKERS,
                mp_context=context,
                initializer=warm_up,
                max_tasks_per_child=RENDERS_PER_WORKER,
            )
        return _pool


def shutdown_pool() -> None:
    """Stop the render workers (app shutdown, tests)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


async def render_async(html: str, assets: dict[str, Asset]) -> RenderResult:
    """`render_pdf` in the worker pool: the event loop goes on serving while it runs."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool(), render_pdf, html, assets)
    except BrokenProcessPool:
        # a worker died (killed for memory, a crash in a native library): the next render gets a fresh pool
        with _pool_lock:
            _pool = None
        raise
