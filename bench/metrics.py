"""Metrics benchmark: the agency's coordination figures at 1,000 projects and a million audit events, against the
board and the fair baseline in the same run.

Run `.venv/bin/python bench/metrics.py` (`--events 100000` for a quick run). It

1. creates a database on the local PostgreSQL server (`--server`), migrates it, seeds the demo agency and, with
   bench/scale.py's bulk loader, 1,000 projects in 10 organizations with their milestones; then COPYs `--events`
   audit events spread over the last twelve months, `--relevant` of them the asks and decisions the figures read
   (questions, sample rounds, spec reviews, change requests, holds), the rest other activity;
2. runs `makeready metrics rebuild` (the same fold the bus rules run a transaction at a time) and reports how
   long it took and how many facts and waiting rows it wrote;
3. serves the real app (bench/counted_app.py) and the fair baseline (bench/fair_app.py) and measures, as the demo
   coordinator, the board (all coordinators), the dashboard over twelve months (all clients, and one client), a
   dashboard CSV, and as the demo brand one project's figures: SQL statements per request, p50/p95 latency and the
   server's CPU time per request, each against the fair baseline (bench/scale.py's report).

Statements per page are constant by construction (tests/test_metrics_pages.py asserts it); the printed SQL column
shows it at this size. The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for entry in (str(ROOT), str(BENCH)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from portal_throughput import Database, Server, Target, app_env, prepare_database, start_server  # noqa: E402
from scale import (  # noqa: E402
    BRAND_EMAIL,
    STAFF_EMAIL,
    Measured,
    copy_rows,
    fair_login,
    login,
    measure,
    report,
    run_demo,
    seed_bulk,
)

PROJECT_SCALE = 0.01  # of bench/scale.py's 100,000 projects: 1,000 projects, 10 organizations
DAYS = 365

# one project's story, repeated: each line is (action, subject type, before, after)
STORY: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ("question.asked", "question", None, None),
    ("question.answered", "question", None, None),
    ("sample_round.requested", "sample_round", None, None),
    ("sample_round.received", "sample_round", None, None),
    ("sample_round.rejected", "sample_round", None, None),
    ("spec_revision.submitted", "spec_revision", None, None),
    ("spec_revision.changes_requested", "spec_revision", None, None),
    ("spec_revision.submitted", "spec_revision", None, None),
    ("spec_revision.approved", "spec_revision", None, None),
    ("change_request.raised", "change_request", None, None),
    ("change_request.approved", "change_request", None, None),
    ("project.phase_changed", "project", {"phase": "development"}, {"phase": "on_hold"}),
    ("project.phase_changed", "project", {"phase": "on_hold"}, {"phase": "development"}),
    ("sample_round.requested", "sample_round", None, None),
    ("sample_round.received", "sample_round", None, None),
    ("sample_round.approved", "sample_round", None, None),
]
OTHER = ["milestone.started", "milestone.completed", "project.updated", "attachment.added"]


async def load_events(dsn: str, n_events: int, relevant: float) -> dict[str, int]:
    """COPY `n_events` audit events over the last DAYS days across the scale projects."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        projects = await conn.fetch(
            "SELECT id, org_id FROM projects WHERE name LIKE 'Scale product %' ORDER BY id"
        )
        seq0 = await conn.fetchval("SELECT coalesce(max(seq), 0) + 1 FROM audit_events")
        now = datetime.now(UTC)
        start = now - timedelta(days=DAYS)
        step = timedelta(days=DAYS) / max(1, n_events)
        every = max(1, round(1 / relevant)) if relevant > 0 else 0
        position = [0] * len(projects)
        counts = {"relevant": 0, "other": 0}

        def events() -> Iterator[dict[str, Any]]:
            for n in range(n_events):
                i = (n * 7919) % len(projects)  # a prime stride: each project's events spread over the year
                project = projects[i]
                is_relevant = every and n % every == 0
                if is_relevant:
                    k = position[i]
                    position[i] += 1
                    action, subject_type, before, after = STORY[k % len(STORY)]
                    cycle = k // len(STORY)
                    subject_id = (
                        project["id"] if subject_type == "project" else project["id"] * 10_000 + cycle
                    )
                    counts["relevant"] += 1
                else:
                    action, subject_type, before, after = OTHER[n % len(OTHER)], "project", None, None
                    subject_id = project["id"]
                    counts["other"] += 1
                digest = hashlib.sha256(str(seq0 + n).encode()).hexdigest()
                yield {
                    "seq": seq0 + n,
                    "org_id": project["org_id"],
                    "actor_id": None,
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "project_id": project["id"],
                    "before": json.dumps(before) if before is not None else None,
                    "after": json.dumps(after) if after is not None else None,
                    "reason": "",
                    "created_at": start + step * n,
                    "prev_hash": digest,
                    "hash": digest,
                }

        await copy_rows(conn, "audit_events", events(), now)
        await conn.execute("ANALYZE audit_events")
        return counts
    finally:
        await conn.close()


def rebuild(env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", "from portal.cli import main; main()", "metrics", "rebuild"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"makeready metrics rebuild failed:\n{out.stdout}\n{out.stderr}")
    return time.perf_counter() - started, out.stdout.strip()


async def table_sizes(dsn: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE metric_facts; ANALYZE metric_waits")
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ("metric_facts", "metric_waits")}  # noqa: S608
    finally:
        await conn.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="audit events to load (default 1,000,000)"
    )
    parser.add_argument(
        "--relevant", type=float, default=0.3, help="the share of them the figures read (default 0.3)"
    )
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if not 1_000 <= args.events <= 5_000_000 or not 0 <= args.relevant <= 1:
        parser.error("--events within [1000, 5000000], --relevant within [0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="makeready-metrics-"))
    os.environ.update(app_env("sqlite+aiosqlite:///" + str(workdir / "unused.db"), workdir))
    database: Database | None = None
    servers: list[Server] = []
    try:
        from sqlalchemy.engine import make_url

        from makeready.db.migrate import upgrade
        from makeready.demo import DEMO_PASSWORD

        database = prepare_database(args.server, workdir)
        dsn = make_url(database.url).set(drivername="postgresql").render_as_string(hide_password=False)
        env = app_env(database.url, workdir)
        os.environ["DATABASE_URL"] = database.url
        upgrade(database.url)
        link = run_demo(env)
        seeded = asyncio.run(seed_bulk(dsn, PROJECT_SCALE, link))
        started = time.perf_counter()
        counts = asyncio.run(load_events(dsn, args.events, args.relevant))
        print(f"database: {database.label}")
        print(
            f"seeded {seeded.counts['projects']:,} projects in {seeded.counts['organizations']} organizations; "
            f"loaded {args.events:,} audit events ({counts['relevant']:,} asks and decisions) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        seconds, said = rebuild(env)
        sizes = asyncio.run(table_sizes(dsn))
        print(
            f"makeready metrics rebuild: {seconds:.1f} s ({said}); "
            f"{sizes['metric_facts']:,} facts, {sizes['metric_waits']:,} waiting rows"
        )

        sql_log = workdir / "statements.pickle"
        portal_env = {**env, "BENCH_SQL_LOG": str(sql_log), "JOBS_PERIODIC": "false"}
        portal = start_server(
            "portal",
            ["--factory", "--app-dir", str(BENCH), "counted_app:create_app"],
            portal_env,
            workdir,
            "/healthz",
        )
        servers.append(portal)
        fair = start_server(
            "fair",
            ["--app-dir", str(BENCH), "fair_app:app"],
            {**env, "FAIR_ORG_ID": str(seeded.brand_org_id)},
            workdir,
            "/",
        )
        servers.append(fair)
        staff = asyncio.run(login(portal, STAFF_EMAIL, DEMO_PASSWORD))
        brand = asyncio.run(login(portal, BRAND_EMAIL, DEMO_PASSWORD))
        fair_cookies = asyncio.run(fair_login(fair))
        today = datetime.now(UTC).date()
        first = (today.replace(day=1) - timedelta(days=330)).replace(day=1)
        period = f"start={first:%Y-%m}&end={today:%Y-%m}"
        client = f"&client={seeded.brand_org_id}"
        brand_figures = [f"/projects/{i}/figures" for i in seeded.brand_project_ids]
        targets = [
            (
                "fair baseline (25 ORM rows, session, Jinja)",
                Target("fair", "fair", fair, ["/page"], fair_cookies, "Scale product"),
            ),
            (
                "staff  GET /coordinator/board?coordinator=all",
                Target("board", "board", portal, ["/coordinator/board?coordinator=all"], staff, ""),
            ),
            (
                "staff  GET /coordinator/metrics (12 months)",
                Target(
                    "dash", "dashboard", portal, [f"/coordinator/metrics?{period}"], staff, "Decision latency"
                ),
            ),
            (
                "staff  GET /coordinator/metrics (one client)",
                Target(
                    "dash1",
                    "dashboard 1",
                    portal,
                    [f"/coordinator/metrics?{period}{client}"],
                    staff,
                    "Decision latency",
                ),
            ),
            (
                "staff  GET /coordinator/metrics/export.csv (latency)",
                Target(
                    "csv",
                    "csv",
                    portal,
                    [f"/coordinator/metrics/export.csv?table=latency&{period}"],
                    staff,
                    "Decision",
                ),
            ),
            (
                "brand  GET /projects/<id>/figures",
                Target("pfig", "project figures", portal, brand_figures, brand, "Decision latency"),
            ),
        ]
        print(
            f"load: {args.concurrency} concurrent clients, {args.duration:g} s per page, {os.cpu_count()} cores"
        )
        measured: list[tuple[str, Measured]] = []
        for label, target in targets:
            log = sql_log if target.server is portal else None
            m = asyncio.run(measure(target, args.concurrency, args.duration, log, dsn))
            print(
                f"  {label}: {m.result.requests} requests, p50 {m.result.percentile(50):.1f} ms", flush=True
            )
            measured.append((label, m))
        for server in servers:
            if server.proc.poll() is not None:
                print(f"{server.name} server died during the run:\n{server.log_tail()}")
                return 1
        report(measured[1:], measured[0][1])
        board = measured[1][1].result.cpu_ms_per_request
        for label, m in measured[2:]:
            print(f"{label}: CPU {m.result.cpu_ms_per_request / board:.1f} x the board's")
        print(f"total run time {time.perf_counter() - began:.0f} s")
        if args.keep:
            print(f"kept database: {dsn}")
        failed = sum(m.result.errors for _, m in measured)
        return 1 if failed else 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"FAILED: {exc}")
        for server in servers:
            print(f"--- {server.name} server log (last lines):\n{server.log_tail()}")
        return 1
    finally:
        for server in servers:
            server.stop()
        if database is not None and not args.keep:
            with contextlib.suppress(Exception):
                database.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
