"""Where a page's CPU goes: the demo on SQLite (or `--database-url`), the real app in this process, a cProfile.

Run `.venv/bin/python bench/profile_pages.py` (add `--page b_dash` for one page, `--requests 200`, `--top 40`). It
migrates a temporary SQLite database, seeds the demo (`makeready demo --no-serve`), builds `portal.app.create_app()`
in this process, logs in as the demo's brand owner and coordinator through the login form, and for each page warms
up, then times `--requests` sequential requests (CPU of the whole process, so the aiosqlite thread counts) and
profiles them with cProfile (the event loop's thread only). It prints CPU ms per request, the functions with the most
time of their own, and the time of each library (by the file's package), so a change can be judged before the
scale benchmark (bench/scale.py) measures it against the fair baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# PROFILE_ROOT profiles another checkout (e.g. the main one, for a before/after) with this script
ROOT = Path(os.environ.get("PROFILE_ROOT") or Path(__file__).resolve().parent.parent).resolve()
BENCH = ROOT / "bench"
for entry in (str(ROOT), str(BENCH)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from portal_throughput import app_env, prepare_database  # noqa: E402
from scale import BRAND_EMAIL, STAFF_EMAIL, run_demo  # noqa: E402

PAGES = {
    "b_dash": ("brand", "/"),
    "b_proj": ("brand", "{project}"),
    "b_api": ("brand", "/api/v1/projects?limit=25"),
    "s_dash": ("staff", "/"),
    "s_board": ("staff", "/coordinator/board"),
    "s_board1": ("staff", "/coordinator/board?phase=production"),
    "s_work": ("staff", "/coordinator/work"),
    "s_proj": ("staff", "{staff_project}"),
    "factory": ("anonymous", "{factory}"),
    "healthz": ("anonymous", "/healthz"),
    "login": ("anonymous", "/login"),
    "b_notif": ("brand", "/notifications"),
}


def say(*parts: object) -> None:
    """Report lines go to stderr: the app's request log goes to stdout (run with `>/dev/null`)."""
    print(*parts, file=sys.stderr, flush=True)


def _library(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if str(ROOT) in filename:
        return "makeready:" + filename.split(str(ROOT) + "/", 1)[1].split("/", 1)[0]
    if filename.startswith("<"):
        return filename
    return "stdlib"


def print_profile(profile: cProfile.Profile, requests: int, top: int) -> None:
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-9
    by_library: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_library[_library(filename)] += tottime
    say(f"    own time by library (ms/request, share of the profiled {total * 1000 / requests:.1f} ms):")
    for name, seconds in sorted(by_library.items(), key=lambda kv: -kv[1])[:12]:
        say(f"      {seconds * 1000 / requests:7.2f}  {seconds / total:5.1%}  {name}")
    say("    this checkout's functions by cumulative time (ms/request):")
    ours = [kv for kv in raw.items() if str(ROOT) in kv[0][0] and "/bench/" not in kv[0][0]]
    for (filename, line, name), (_cc, calls, _tt, cumtime, _callers) in sorted(
        ours, key=lambda kv: -kv[1][3]
    )[:top]:
        short = filename.replace(str(ROOT) + "/", "")
        say(f"      {cumtime * 1000 / requests:7.2f} cum {calls / requests:7.1f}x  {short}:{line} {name}")
    if os.environ.get("PROFILE_GREP"):
        say("    functions matching PROFILE_GREP by cumulative time:")
        pattern = re.compile(os.environ["PROFILE_GREP"])
        hits = [kv for kv in raw.items() if pattern.search(f"{kv[0][0]}:{kv[0][2]}")]
        for (filename, line, name), (_cc, calls, _tt, cumtime, _callers) in sorted(
            hits, key=lambda kv: -kv[1][3]
        )[:top]:
            short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            say(f"      {cumtime * 1000 / requests:7.2f} cum {calls / requests:7.1f}x  {short}:{line} {name}")
    say("    functions by own time (ms/request, calls/request):")
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in rows:
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        say(
            f"      {tottime * 1000 / requests:7.3f} own {cumtime * 1000 / requests:7.2f} cum "
            f"{calls / requests:7.1f}x  {short}:{line} {name}"
        )


async def login(http: Any, email: str, password: str) -> None:
    (await http.get("/login")).raise_for_status()
    token = http.cookies.get("csrftoken", "")
    response = await http.post(
        "/login", data={"email": email, "password": password, "next": "/", "_csrf_token": token}
    )
    if response.status_code != 303:
        raise RuntimeError(f"login as {email}: {response.status_code} {response.text[:300]}")


async def run(args: argparse.Namespace, factory_link: str) -> None:
    import httpx

    from makeready.demo import DEMO_PASSWORD
    from portal.app import create_app

    app = create_app()
    if os.environ.get("PROFILE_GC_FREEZE"):
        import gc

        gc.freeze()
    if os.environ.get("PROFILE_GC_THRESHOLD"):
        import gc

        gc.set_threshold(*(int(x) for x in os.environ["PROFILE_GC_THRESHOLD"].split(",")))
    async with app.lifespan() if hasattr(app, "lifespan") else _null():
        transport = httpx.ASGITransport(app=app)
        clients = {
            "brand": httpx.AsyncClient(transport=transport, base_url="http://bench"),
            "staff": httpx.AsyncClient(transport=transport, base_url="http://bench"),
            "anonymous": httpx.AsyncClient(transport=transport, base_url="http://bench"),
        }
        await login(clients["brand"], BRAND_EMAIL, DEMO_PASSWORD)
        await login(clients["staff"], STAFF_EMAIL, DEMO_PASSWORD)
        dash = (await clients["brand"].get("/")).text
        project = re.search(r'href="(/projects/\d+)"', dash)
        board = (await clients["staff"].get("/coordinator/board?coordinator=all")).text
        staff_project = re.search(r'href="(/coordinator/projects/\d+)"', board)
        fill = {
            "project": project.group(1) if project else "/",
            "staff_project": staff_project.group(1) if staff_project else "/",
            "factory": factory_link,
        }
        keys = args.page or list(PAGES)
        for key in keys:
            who, path = PAGES[key]
            path = path.format(**fill)
            http = clients[who]
            for _ in range(args.warmup):
                response = await http.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"{key}: GET {path} answered {response.status_code}")
            gc_time = _gc_clock()
            # the best of five rounds: other processes on a shared machine only ever add to a round's CPU
            rounds = []
            per_round = max(1, args.requests // 5)
            for _ in range(5):
                started = time.process_time()
                for _ in range(per_round):
                    await http.get(path)
                rounds.append((time.process_time() - started) * 1000 / per_round)
            say(
                f"{key}  GET {path}: {min(rounds):.2f} ms CPU per request (best of 5 rounds of {per_round}; "
                f"median {sorted(rounds)[2]:.2f}); garbage collection {gc_time() * 1000 / (5 * per_round):.2f} ms "
                "per request"
            )
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                await http.get(path)
            profile.disable()
            calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
            # Python function calls: a measure of work that other processes on the machine cannot disturb
            say(f"{key}  {calls / args.requests:,.0f} Python function calls per request")
            if args.top:
                print_profile(profile, args.requests, args.top)
        for http in clients.values():
            await http.aclose()


def _gc_clock() -> Any:
    """Seconds spent in the cyclic garbage collector from now on (a callable that reads the running total)."""
    import gc

    total = [0.0, 0.0]

    def callback(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            total[1] = time.perf_counter()
        else:
            total[0] += time.perf_counter() - total[1]

    gc.callbacks.append(callback)

    def read() -> float:
        if callback in gc.callbacks:
            gc.callbacks.remove(callback)
        return total[0]

    return read


class _null:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_exc: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--page", action="append", choices=sorted(PAGES), help="a page to profile (repeatable)"
    )
    parser.add_argument("--requests", type=int, default=100, help="requests timed and profiled per page")
    parser.add_argument("--warmup", type=int, default=10, help="requests before timing")
    parser.add_argument("--top", type=int, default=25, help="functions listed per page (0: timing only)")
    parser.add_argument(
        "--database-url",
        default="",
        help="postgresql://postgres@127.0.0.1:5432/NAME: profile on a new PostgreSQL database NAME (dropped after) "
        "instead of a temporary SQLite file",
    )
    parser.add_argument(
        "--existing",
        default="",
        help="postgresql+asyncpg://postgres@127.0.0.1:5432/NAME: profile an existing database with the demo in it "
        "(a scale benchmark's, kept with `bench/scale.py --keep`), left as it is",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="makeready-profile-"))
    if args.existing:
        env = app_env(args.existing, workdir)
        env["JOBS_PERIODIC"] = "false"
        os.environ.update(env)
        try:
            asyncio.run(run(args, "/healthz"))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    database = prepare_database(args.database_url or None, workdir)
    try:
        url = database.url
        env = app_env(url, workdir)
        env["JOBS_PERIODIC"] = "false"
        os.environ.update(env)
        from makeready.db.migrate import upgrade

        upgrade(url)
        link = run_demo(env)
        asyncio.run(run(args, link))
        return 0
    finally:
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
