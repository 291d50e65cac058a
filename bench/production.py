"""Production benchmark: the live production board and the master production schedule at 200 orders and 1,000 lots,
then at ten times that.

Run `.venv/bin/python bench/production.py` (SQLite in a temporary file; `--database-url postgresql://...` for a
PostgreSQL database the run creates and drops; `make bench` runs it on SQLite). It migrates a new database, creates
a coordinator and two brands, bulk-inserts 200 production orders of 5 lots each (tests/production_seed.py: lots in
every column, reports, plans, holds and shortages, at 10 factories), serves the real app (bench/counted_app.py,
which counts the SQL statements of each request) and the fair baseline (bench/fair_app.py: one indexed query, 25
ORM rows, a session and a Jinja table) with uvicorn, and prints, for the board and the schedule, the statements per
page and the server's CPU time per request against the same run's fair baseline. Then it grows the data to 2,000
orders and 10,000 lots and measures again: the statements per page must not change (exit status 1 if they do, or
if a request failed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for entry in (str(ROOT), str(BENCH)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from portal_throughput import Server, Target, app_env, prepare_database, start_server  # noqa: E402
from scale import Measured, fair_login, login, measure  # noqa: E402

ORDERS, LOTS_PER_ORDER, GROWTH = 200, 5, 10
STAFF_EMAIL = "production.bench@makeready-agency.example"
PASSWORD = "production-bench-password-1"  # noqa: S105  (a throwaway user in a throwaway database)
PAGES = (
    ("staff GET /coordinator/production/board", "/coordinator/production/board?coordinator=all"),
    ("staff GET /coordinator/production/schedule", "/coordinator/production/schedule?coordinator=all"),
)


async def create_people(url: str) -> tuple[int, list[int]]:
    """The coordinator (with a password, to log in through the form) and two brand organizations."""
    from makeready.accounts import service as accounts
    from makeready.db.session import get_engine, make_sessionmaker
    from makeready.db.tenancy import Scope, set_scope

    engine = get_engine(url)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            staff = await accounts.create_user(
                session, email=STAFF_EMAIL, password=PASSWORD, name="Bench Coordinator", is_staff=True
            )
            orgs = [
                await accounts.get_or_create_org(session, name=name) for name in ("Lumen Bench", "Oak Bench")
            ]
            ids = staff.id, [org.id for org in orgs]
    await engine.dispose()
    return ids


async def seed(url: str, coordinator_id: int, org_ids: list[int], orders: int, first: int) -> float:
    from makeready.db.session import get_engine, make_sessionmaker
    from makeready.db.tenancy import Scope, set_scope
    from tests.production_seed import seed_production

    began = time.perf_counter()
    engine = get_engine(url)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await seed_production(
                session,
                org_ids=org_ids,
                coordinator_id=coordinator_id,
                orders=orders,
                lots_per_order=LOTS_PER_ORDER,
                factories=10,
                first=first,
            )
    await engine.dispose()
    return time.perf_counter() - began


def run_pages(
    portal: Server,
    fair: Server,
    staff: dict[str, str],
    fair_cookies: dict[str, str],
    args: argparse.Namespace,
) -> list[tuple[str, Measured]]:
    targets = [
        ("fair baseline (25 ORM rows, session, Jinja)", Target("fair", "fair", fair, ["/page"], fair_cookies))
    ]
    targets += [(label, Target(label, label, portal, [path], staff, "")) for label, path in PAGES]
    measured = []
    for label, target in targets:
        m = asyncio.run(measure(target, args.concurrency, args.duration, None, ""))
        print(f"  {label}: {m.result.requests} requests, p50 {m.result.percentile(50):.1f} ms", flush=True)
        measured.append((label, m))
    return measured


def print_table(runs: list[tuple[str, list[tuple[str, Measured]]]]) -> bool:
    """The figures of each data size; True when every page's statements stayed the same as data grew."""
    header = f"{'data':<24} {'page':<46} {'reqs':>5} {'p50 ms':>8} {'CPU ms/req':>10} {'CPU x fair':>10} {'SQL':>4}"
    print()
    print(header)
    print("-" * len(header))
    statements: dict[str, set[int]] = {}
    for data, measured in runs:
        fair = measured[0][1].result
        for label, m in measured:
            r = m.result
            sql = "" if label.startswith("fair") else str(m.statements)
            if sql:
                statements.setdefault(label, set()).add(m.statements)
            print(
                f"{data:<24} {label:<46} {r.requests:>5} {r.percentile(50):>8.1f} {r.cpu_ms_per_request:>10.2f} "
                f"{r.cpu_ms_per_request / fair.cpu_ms_per_request:>10.1f} {sql:>4}"
            )
    print()
    print(
        "note: CPU ms/req is the app server process's own CPU time per request (from /proc), the database's is not "
        "in it on PostgreSQL; CPU x fair divides it by the fair baseline's in the same run; SQL is the statements "
        "one request sends."
    )
    constant = all(len(counts) == 1 for counts in statements.values())
    print("statements per page constant as data grew 10x:", "yes" if constant else f"NO {statements}")
    return constant


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--database-url", default="", help="a postgresql:// URL on 127.0.0.1 (default: SQLite)"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="concurrent clients per page (default 2)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per page (default 5)")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or not 0 < args.duration <= 60:
        parser.error("--concurrency at least 1, --duration within (0, 60]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="makeready-production-"))
    database = prepare_database(args.database_url or None, workdir)
    servers: list[Server] = []
    try:
        env = app_env(database.url, workdir)
        os.environ.update(env)
        from makeready.db.migrate import upgrade

        upgrade(database.url)
        coordinator_id, org_ids = asyncio.run(create_people(database.url))
        seconds = asyncio.run(seed(database.url, coordinator_id, org_ids, ORDERS, 1))
        print(f"database: {database.label}")
        print(f"seeded {ORDERS} orders, {ORDERS * LOTS_PER_ORDER} lots in {seconds:.1f} s")
        portal_env = {**env, "JOBS_PERIODIC": "false"}
        portal = start_server(
            "portal",
            ["--factory", "--app-dir", str(BENCH), "counted_app:create_app"],
            portal_env,
            workdir,
            "/healthz",
        )
        servers.append(portal)
        fair_env = {**env, "FAIR_ORG_ID": str(org_ids[0])}
        fair = start_server("fair", ["--app-dir", str(BENCH), "fair_app:app"], fair_env, workdir, "/")
        servers.append(fair)
        staff = asyncio.run(login(portal, STAFF_EMAIL, PASSWORD))
        fair_cookies = asyncio.run(fair_login(fair))
        print(
            f"load: {args.concurrency} concurrent clients, {args.duration:g} s per page, {os.cpu_count()} cores"
        )
        runs = [
            (
                f"{ORDERS} orders, {ORDERS * LOTS_PER_ORDER} lots",
                run_pages(portal, fair, staff, fair_cookies, args),
            )
        ]
        more = ORDERS * (GROWTH - 1)
        seconds = asyncio.run(seed(database.url, coordinator_id, org_ids, more, ORDERS + 1))
        total = ORDERS * GROWTH
        print(f"seeded {more} more orders in {seconds:.1f} s")
        runs.append(
            (
                f"{total} orders, {total * LOTS_PER_ORDER} lots",
                run_pages(portal, fair, staff, fair_cookies, args),
            )
        )
        for server in servers:
            if server.proc.poll() is not None:
                print(f"{server.name} server died during the run:\n{server.log_tail()}")
                return 1
        constant = print_table(runs)
        failed = sum(m.result.errors for _data, measured in runs for _label, m in measured)
        return 0 if constant and not failed else 1
    finally:
        for server in servers:
            server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
