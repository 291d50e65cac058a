"""Spec PDF: how long a cold render takes, how fast a cached one comes back, how big it is, what it costs.

Run `.venv/bin/python bench/spec_pdf.py` (or `make bench`). It

1. creates a temporary SQLite database and media folder, migrates, and arranges the reference document: an issued
   revision with every section filled in English and Chinese (`--rows` rows per table, 5 by default: 11 pages) and `--photos` photos of
   1600x1200 (gradients, shapes and noise, so the JPEGs weigh what real ones do) stored in local storage;
2. renders it `--runs` times, each as the first render of a fresh Python process that started like a pool worker
   (import WeasyPrint, `pdf.warm_up()`): the cold render time is the median, with its CPU time, peak memory
   (ru_maxrss of that process), page count and size; the same with pictures never downscaled before, and in a
   process that skipped the warm-up;
3. renders it once more through the worker pool (`render_async`) while a ticker coroutine measures how late the
   event loop wakes up: the loop's longest stall during a render;
4. renders and stores it through `request_pdf` + the render job, then times `request_pdf` + `open_pdf` of the ready
   document (the cached fetch), median of `--fetches`.

Targets: cold render < 2.5 s, cached fetch < 50 ms, PDF < 3 MB, and the event loop never stalls 100 ms. Missing
one is reported (exit status 1), so `make bench` shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_COLD_S = 2.5
TARGET_CACHED_MS = 50.0
TARGET_SIZE_MB = 3.0
TARGET_STALL_MS = 100.0

# one fresh process: import WeasyPrint (timed), render the pickled inputs, report as JSON
CHILD = """
import json, pickle, resource, sys, time
started = time.perf_counter()
import weasyprint  # noqa: F401
imported = time.perf_counter() - started
from makeready.specs import pdf
html, assets = pickle.load(open(sys.argv[1], "rb"))
warm_up = 0.0
if sys.argv[3] == "warm":  # what a pool worker does when it starts, before it takes a job
    started = time.perf_counter()
    pdf.warm_up()
    warm_up = time.perf_counter() - started
started, cpu = time.perf_counter(), time.process_time()
result = pdf.render_pdf(html, assets)
rendered, cpu = time.perf_counter() - started, time.process_time() - cpu
open(sys.argv[2], "wb").write(result.pdf)
print(json.dumps({"import_s": imported, "warm_up_s": warm_up, "render_s": rendered, "cpu_s": cpu, "prepare_s": result.prepare_ms / 1000,
                  "pages": result.pages, "size": len(result.pdf),
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "fetched": result.fetched}))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=5, help="cold renders, each in a fresh process (default 5)"
    )
    parser.add_argument("--photos", type=int, default=12, help="photos in the document (default 12)")
    parser.add_argument("--rows", type=int, default=5, help="rows in each table (default 5)")
    parser.add_argument("--fetches", type=int, default=20, help="cached fetches timed (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (the PDF is in it)")
    return parser.parse_args(argv)


def environment(workdir: Path) -> dict[str, str]:
    return {
        "APP_ENV": "development",
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "OUTBOX_DIR": str(workdir / "outbox"),
        "S3_BUCKET": "",
        "REDIS_URL": "",
        "JOBS_PERIODIC": "false",
        "ARGON2_PROFILE": "fast",
        "DATABASE_POOL": "null",
    }


async def arrange(url: str, photos: int, rows: int) -> tuple[int, dict[str, Any]]:
    """The reference revision; returns its id and the pickled-to-be render inputs."""
    from makeready.db.session import get_engine
    from makeready.specs.document import build_document
    from makeready.specs.documents import pdf_assets, pdf_html
    from tests.spec_support import arrange_revision  # the same arrangement the tests check
    from tests.workflow_support import make_people, system

    engine = get_engine(url)
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, photos=photos, rows=rows, photo_size=(1600, 1200))
    async with system(engine) as session:
        document = await build_document(session, arranged.revision, languages=("zh_Hans", "en"))
    html = pdf_html(document)
    assets = await pdf_assets(document)
    return arranged.revision.id, {"html": html, "assets": assets}


def cold_renders(inputs_path: Path, workdir: Path, runs: int, mode: str) -> list[dict[str, Any]]:
    """`runs` renders, each the first one of a fresh process; `mode` "warm" warms the process up first as a pool
    worker does, "cold" does not."""
    results = []
    for run in range(runs):
        out = workdir / f"{mode}-{run}.pdf"
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(inputs_path), str(out), mode],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


async def stall_during_render(html: str, assets: dict[str, Any]) -> tuple[float, float, float]:
    """(longest event-loop stall in ms, first render through the pool in s incl. worker start, warm render s)."""
    from makeready.specs import pdf

    interval = 0.005
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(interval)
            worst = max(worst, loop.time() - before - interval)

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await pdf.render_async(html, assets)
    first = time.perf_counter() - started
    started = time.perf_counter()
    await pdf.render_async(html, assets)
    warm = time.perf_counter() - started
    stop.set()
    await task
    pdf.shutdown_pool()
    return worst * 1000, first, warm


async def cached_fetches(url: str, revision_id: int, fetches: int) -> tuple[list[float], int]:
    """Times of request_pdf + open_pdf of a ready document, in ms; and the renders it took (must be 1)."""
    from makeready import jobs
    from makeready.db.session import get_engine
    from makeready.settings import get_settings
    from makeready.specs import documents, pdf
    from makeready.specs.models import DocumentStatus, SpecRevision
    from tests.workflow_support import system

    engine = get_engine(url)
    renders = 0
    real = pdf.render_async

    async def counting(html: str, assets: dict[str, Any]) -> Any:
        nonlocal renders
        renders += 1
        return await real(html, assets)

    pdf.render_async = counting
    async with jobs.running(get_settings()):
        # the first request creates the pending row and enqueues the render job once committed
        async with system(engine) as session:
            revision = await session.get_one(SpecRevision, revision_id)
            await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
        await asyncio.sleep(0.05)
        worker = jobs.embedded_worker()
        assert worker is not None
        await worker.drain()
    times = []
    for _ in range(fetches):
        started = time.perf_counter()
        async with system(engine) as session:
            revision = await session.get_one(SpecRevision, revision_id)
            row = await documents.request_pdf(session, revision=revision, languages=("zh_Hans", "en"))
            assert row.status == DocumentStatus.ready, row.status
            data = await documents.open_pdf(session, row)
        times.append((time.perf_counter() - started) * 1000)
        assert data.startswith(b"%PDF")
    pdf.render_async = real
    pdf.shutdown_pool()
    return times, renders


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="makeready-bench-pdf-"))
    os.environ.update(environment(workdir))
    url = os.environ["DATABASE_URL"]
    from makeready.db.migrate import upgrade

    upgrade(url)
    started = time.perf_counter()
    revision_id, inputs = asyncio.run(arrange(url, args.photos, args.rows))
    from makeready.specs import pdf

    inputs_path = workdir / "inputs.pickle"
    inputs_path.write_bytes(pickle.dumps((inputs["html"], inputs["assets"])))
    # the same with the print-sized pictures cached (what every render after a photo's first one gets)
    ready = {
        name: pdf.Asset(pdf.print_image(asset.data), "image/jpeg", print_ready=True)
        for name, asset in inputs["assets"].items()
    }
    ready_path = workdir / "inputs-ready.pickle"
    ready_path.write_bytes(pickle.dumps((inputs["html"], ready)))
    photo_bytes = sum(len(a.data) for a in inputs["assets"].values())
    print(
        f"reference document: {args.photos} photos 1600x1200 ({photo_bytes / 1e6:.1f} MB of JPEG), {args.rows} rows "
        f"per table, HTML {len(inputs['html']) / 1e3:.0f} kB; arranged in {time.perf_counter() - started:.1f} s"
    )

    # interleaved, so that the load of a shared machine falls on the three alike
    cold_ready, cold, unwarmed = [], [], []
    for _run in range(args.runs):
        cold_ready += cold_renders(ready_path, workdir, 1, "warm")
        cold += cold_renders(inputs_path, workdir, 1, "warm")
        unwarmed += cold_renders(ready_path, workdir, 1, "cold")
    render_s = statistics.median(r["render_s"] for r in cold_ready)
    render_cpu_s = statistics.median(r["cpu_s"] for r in cold_ready)
    render_new_s = statistics.median(r["render_s"] for r in cold)
    prepare_s = statistics.median(r["prepare_s"] for r in cold)
    unwarmed_s = statistics.median(r["render_s"] for r in unwarmed)
    import_s = statistics.median(r["import_s"] for r in cold + cold_ready + unwarmed)
    warm_up_s = statistics.median(r["warm_up_s"] for r in cold + cold_ready)
    first = cold_ready[0]
    size_mb = first["size"] / 1e6
    max_rss_mb = max(r["max_rss_kb"] for r in cold) / 1024
    stall_ms, pool_first_s, pool_warm_s = asyncio.run(stall_during_render(inputs["html"], inputs["assets"]))
    fetch_ms, renders = asyncio.run(cached_fetches(url, revision_id, args.fetches))
    cached_ms = statistics.median(fetch_ms)
    unexpected = [u for u in first["fetched"] if not u.startswith("asset:")]

    rows = [
        (
            "cold render (median, fresh worker process)",
            f"{render_s:.2f} s",
            f"< {TARGET_COLD_S} s",
            render_s < TARGET_COLD_S,
        ),
        ("  its CPU time", f"{render_cpu_s:.2f} s", "", None),
        ("  pictures never printed before (downscaled too)", f"{render_new_s:.2f} s", "", None),
        (f"    of which downscaling {args.photos} pictures", f"{prepare_s:.2f} s", "", None),
        ("  same, in a process that skipped the warm-up", f"{unwarmed_s:.2f} s", "", None),
        ("  worker start: WeasyPrint import", f"{import_s:.2f} s", "", None),
        ("  worker start: warm-up render", f"{warm_up_s:.2f} s", "", None),
        ("  through a new pool (its start, pictures downscaled)", f"{pool_first_s:.2f} s", "", None),
        ("  through the running pool (pictures downscaled)", f"{pool_warm_s:.2f} s", "", None),
        (
            "cached fetch (request_pdf + open_pdf, median)",
            f"{cached_ms:.1f} ms",
            f"< {TARGET_CACHED_MS:.0f} ms",
            cached_ms < TARGET_CACHED_MS,
        ),
        ("renders for a render + fetches", str(renders), "1", renders == 1),
        ("PDF size", f"{size_mb:.2f} MB", f"< {TARGET_SIZE_MB} MB", size_mb < TARGET_SIZE_MB),
        ("pages", str(first["pages"]), ">= 10", first["pages"] >= 10),
        ("peak memory of the render process", f"{max_rss_mb:.0f} MB", "", None),
        (
            "event loop: longest stall during a render",
            f"{stall_ms:.1f} ms",
            f"< {TARGET_STALL_MS:.0f} ms",
            stall_ms < TARGET_STALL_MS,
        ),
        ("fetches outside our assets", str(len(unexpected)), "0", not unexpected),
    ]
    print()
    for name, value, target, ok in rows:
        mark = "" if ok is None else verdict(ok)
        print(f"{name:<48} {value:>10}  {target:<10} {mark}")
    print()
    each = ", ".join(f"{r['render_s']:.2f}" for r in cold_ready)
    print(
        f"cold renders (pictures cached): {each} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if args.keep:
        print(f"work folder kept: {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(ok for *_rest, ok in rows if ok is not None) else 1


if __name__ == "__main__":
    sys.exit(main())
