"""Portal throughput against a bare Litestar + Jinja2 page: how much do sessions, tenancy and SQL cost us?

Run `.venv/bin/python bench/portal_throughput.py` (or `make bench`). It

1. creates a temporary database (SQLite by default; `--database-url postgresql://postgres@127.0.0.1:5432/NAME`
   creates the database NAME, or a fresh `makeready_bench_*` one when NAME is empty or `postgres`, and drops it
   at the end), migrates it and seeds one organization with `--projects` projects and `--milestones` milestones
   (org and users through the account services, projects and milestones by bulk insert);
2. starts the real app (`uvicorn --factory portal.app:create_app`) and the bare app (bench/bare_app.py) as two
   uvicorn subprocesses on 127.0.0.1, one worker each, no access log, log level warning;
3. logs in through the real login form (GET /login for the CSRF cookie, POST /login);
4. for each target, warms up, then drives `--concurrency` workers for `--duration` seconds with one pooled
   httpx.AsyncClient (or wrk with `--tool wrk`), and reports requests/s, p50/p95 latency, errors, the server's CPU
   time per request, and the ratio to the bare page.

The exit status is 1 when any request failed (a non-200 answer or a transport error), 0 otherwise; missing the
throughput target is reported, not failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-0123456789"  # noqa: S105  (a throwaway user in a throwaway database)
OWNER_EMAIL = "owner@bench.test"
TARGET_RATIO = 0.50
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------------------------------------------
# database: create, migrate, seed


@dataclass
class Database:
    url: str
    """The async SQLAlchemy URL the app gets as DATABASE_URL."""
    drop: Callable[[], None] = lambda: None
    label: str = ""


def _pg_admin(url: Any) -> dict[str, Any]:
    return {
        "user": url.username,
        "password": url.password,
        "host": url.host or HOST,
        "port": url.port or 5432,
        "database": "postgres",
    }


def prepare_database(database_url: str | None, workdir: Path) -> Database:
    """A new, empty database: a SQLite file in `workdir`, or a PostgreSQL database this run creates and drops."""
    if not database_url:
        path = workdir / "bench.db"
        return Database(url=f"sqlite+aiosqlite:///{path}", label=f"SQLite (temporary file {path.name})")

    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("postgres"):
        raise SystemExit(f"--database-url must be a postgresql:// URL, not {url.drivername}")
    if url.host not in (HOST, "localhost", None):
        raise SystemExit(f"--database-url must point at 127.0.0.1 (got {url.host})")
    name = (
        url.database
        if url.database and url.database != "postgres"
        else f"makeready_bench_{uuid.uuid4().hex[:8]}"
    )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise SystemExit(f"database name {name!r}: use letters, digits and underscores")
    admin = _pg_admin(url)

    async def create() -> None:
        conn = await asyncpg.connect(**admin)
        try:
            if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                raise SystemExit(
                    f"database {name} already exists; the bench creates (and drops) its own database, so name a new one"
                )
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(**admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    async_url = url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    return Database(
        url=async_url, drop=lambda: asyncio.run(drop()), label=f"PostgreSQL (database {name}, dropped after)"
    )


@dataclass
class Seeded:
    project_ids: list[int]
    seconds: float


async def seed(url: str, n_projects: int, n_milestones: int) -> Seeded:
    """One org with a brand owner and a coordinator (through the services), then projects and milestones in bulk."""
    from sqlalchemy import insert

    from makeready.accounts import service as accounts
    from makeready.accounts.models import OrgRole
    from makeready.db.session import make_engine, unit_of_work
    from makeready.db.tenancy import Scope
    from makeready.db.types import utcnow
    from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
    from makeready.projects.service import STANDARD_MILESTONES

    started = time.perf_counter()
    engine = make_engine(url)
    try:
        async with unit_of_work(Scope.system(), engine=engine) as session:
            org = await accounts.get_or_create_org(session, name="Bench Brand")
            owner = await accounts.create_user(
                session, email=OWNER_EMAIL, password=PASSWORD, name="Bench Owner"
            )
            await accounts.add_member(session, org=org, user=owner, role=OrgRole.owner)
            coordinator = await accounts.create_user(
                session,
                email="coordinator@bench.test",
                password=PASSWORD,
                name="Bench Coordinator",
                is_staff=True,
            )
            now = utcnow()
            today = now.date()
            phases = [Phase.feasibility, Phase.development, Phase.production]
            project_rows = [
                {
                    "org_id": org.id,
                    "name": f"Bench product {n:04d}",
                    "category": ["lighting", "bags", "furniture", "ceramics"][n % 4],
                    "description": "A product seeded by the benchmark. " * 4,
                    "target_quantity": 500 + 10 * n,
                    "target_unit_price": Decimal(12) + Decimal(n) / 4,
                    "currency": "USD",
                    "target_date": today + timedelta(days=90 + n),
                    "phase": phases[n % len(phases)],
                    "coordinator_id": coordinator.id,
                    "created_at": now - timedelta(minutes=n_projects - n),
                    "updated_at": now - timedelta(minutes=n_projects - n),
                }
                for n in range(1, n_projects + 1)
            ]
            project_ids = list(
                (
                    await session.scalars(
                        insert(Project).returning(Project.id, sort_by_parameter_order=True), project_rows
                    )
                ).all()
            )
            milestone_rows = []
            per, extra = divmod(n_milestones, max(1, n_projects))
            for i, project_id in enumerate(project_ids):
                count = per + (1 if i < extra else 0)
                done = i % (count + 1)  # 0..count milestones done: some projects have none left
                for pos in range(count):
                    phase, title, _days = STANDARD_MILESTONES[pos % len(STANDARD_MILESTONES)]
                    if pos >= len(STANDARD_MILESTONES):
                        title = f"Check-in {pos - len(STANDARD_MILESTONES) + 1}"
                    status = (
                        MilestoneStatus.done
                        if pos < done
                        else (MilestoneStatus.in_progress if pos == done else MilestoneStatus.planned)
                    )
                    milestone_rows.append(
                        {
                            "org_id": org.id,
                            "project_id": project_id,
                            "phase": phase,
                            "title": title,
                            "position": pos,
                            "owner_id": coordinator.id if pos % 2 else None,
                            "due_date": today + timedelta(days=14 * pos - 20 + i % 7),
                            "status": status,
                            "started_at": now if status != MilestoneStatus.planned else None,
                            "completed_at": now if status == MilestoneStatus.done else None,
                        }
                    )
            if milestone_rows:
                await session.execute(insert(Milestone), milestone_rows)
    finally:
        await engine.dispose()
    return Seeded(project_ids=project_ids, seconds=time.perf_counter() - started)


# ----------------------------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(
    name: str, app_args: list[str], env: dict[str, str], workdir: Path, ready_path: str
) -> Server:
    """uvicorn in a subprocess on a free port of 127.0.0.1; returns once `ready_path` answers 200."""
    import httpx

    port = free_port()
    log = workdir / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        *app_args,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name=name, proc=proc, port=port, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} server exited with {proc.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.base_url + ready_path, timeout=2).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} server did not answer {ready_path} within 60 s:\n{server.log_tail()}")


def app_env(db_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "development",  # production sets Secure cookies, which a plain-HTTP client does not send back
            "SECRET_KEY": "bench-secret-key-" + uuid.uuid4().hex,
            "DATABASE_URL": db_url,
            "DATABASE_POOL": "queue",
            "DATABASE_ECHO": "false",
            "MEDIA_ROOT": str(workdir / "media"),
            "OUTBOX_DIR": str(workdir / "outbox"),
            "S3_BUCKET": "",
            "SMTP_URL": "",
            "REDIS_URL": "",
            "STRIPE_SECRET_KEY": "",
            "STRIPE_WEBHOOK_SECRET": "",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


# ----------------------------------------------------------------------------------------------------------------
# load


@dataclass
class Target:
    key: str
    label: str
    server: Server
    paths: list[str]
    cookies: dict[str, str] = field(default_factory=dict)
    expect: str = ""
    """A string the first response must contain (proof that we are logged in and see the seeded data)."""


@dataclass
class Result:
    target: Target
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    server_cpu: float
    client_cpu: float
    error_samples: list[str] = field(default_factory=list)
    p50_ms: float | None = None
    p95_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu / self.requests if self.requests else float("nan")

    def percentile(self, q: float) -> float:
        if q == 50 and self.p50_ms is not None:
            return self.p50_ms
        if q == 95 and self.p95_ms is not None:
            return self.p95_ms
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


def merge(parts: list[Result]) -> Result:
    """One result from the rounds of a target."""
    first = parts[0]
    latencies = [ms for p in parts for ms in p.latencies_ms]
    seconds = sum(p.seconds for p in parts)
    result = Result(
        target=first.target,
        requests=sum(p.requests for p in parts),
        errors=sum(p.errors for p in parts),
        seconds=seconds,
        latencies_ms=latencies,
        server_cpu=sum(p.server_cpu for p in parts),
        client_cpu=sum(p.client_cpu * p.seconds for p in parts) / seconds if seconds else float("nan"),
        error_samples=[e for p in parts for e in p.error_samples][:5],
    )
    if not latencies:  # wrk reports percentiles per run only: take the request-weighted mean of the rounds
        weight = sum(p.requests for p in parts) or 1
        result.p50_ms = sum(p.percentile(50) * p.requests for p in parts) / weight
        result.p95_ms = sum(p.percentile(95) * p.requests for p in parts) / weight
    return result


def new_client(base_url: str, concurrency: int, cookies: dict[str, str] | None = None) -> Any:
    import httpx

    return httpx.AsyncClient(
        base_url=base_url,
        cookies=cookies,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=httpx.Timeout(30.0),
        follow_redirects=False,
    )


async def login(server: Server) -> dict[str, str]:
    """Log in through the real form; returns the cookies (session and CSRF) of the logged-in browser."""
    async with new_client(server.base_url, 1) as client:
        page = await client.get("/login")
        page.raise_for_status()
        token = client.cookies.get("csrftoken", "")
        if not token:
            raise RuntimeError("GET /login set no csrftoken cookie")
        response = await client.post(
            "/login", data={"email": OWNER_EMAIL, "password": PASSWORD, "next": "/", "_csrf_token": token}
        )
        if response.status_code != 303:
            raise RuntimeError(
                f"POST /login answered {response.status_code}, expected 303:\n{response.text[:500]}"
            )
        return {cookie.name: cookie.value for cookie in client.cookies.jar if cookie.value is not None}


async def run_httpx(target: Target, concurrency: int, duration: float, warmup: float) -> Result:
    async with new_client(target.server.base_url, concurrency, target.cookies) as client:
        first = await client.get(target.paths[0])
        if first.status_code != 200 or target.expect not in first.text:
            raise RuntimeError(
                f"{target.label}: first GET {target.paths[0]} answered {first.status_code} "
                f"without {target.expect!r}:\n{first.text[:500]}"
            )
        await _load(client, target, concurrency, warmup)
        return await _load(client, target, concurrency, duration)


async def _load(client: Any, target: Target, concurrency: int, duration: float) -> Result:
    import httpx

    paths: Iterator[str] = itertools.cycle(target.paths)
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        while True:
            started = time.perf_counter()
            if started >= deadline:
                return
            path = next(paths)
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    errors.append(f"GET {path}: {response.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"GET {path}: {type(exc).__name__}: {exc}")
            latencies.append((time.perf_counter() - started) * 1000)

    cpu0, client0, t0 = target.server.cpu_seconds(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - t0
    return Result(
        target=target,
        requests=len(latencies),
        errors=len(errors),
        seconds=seconds,
        latencies_ms=latencies,
        server_cpu=target.server.cpu_seconds() - cpu0,
        client_cpu=(time.process_time() - client0) / seconds,
        error_samples=errors[:5],
    )


WRK_SCRIPT = """
local paths = {%(paths)s}
local threads = {}
local i = 0
setup = function(thread)
  table.insert(threads, thread)
end
init = function(args)
  not_ok = 0
end
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
response = function(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end  -- wrk itself counts only >= 400, not a redirect to /login
end
done = function(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("not_ok") end
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d %%d %%.1f %%.1f\\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, bad, e.timeout, latency:percentile(50), latency:percentile(95)))
end
"""


def run_wrk(target: Target, concurrency: int, duration: float, warmup: float, workdir: Path) -> Result:
    """The same measurement with wrk (a C load generator): less client CPU, so the server gets more of the cores."""
    script = workdir / f"{target.key}.lua"
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in target.paths)})
    cookie = "; ".join(f"{k}={v}" for k, v in target.cookies.items())

    def wrk(seconds: float) -> tuple[str, float]:
        cmd = [
            "wrk",
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{max(1, round(seconds))}s",
            "-s",
            str(script),
        ]
        if cookie:
            cmd += ["-H", f"Cookie: {cookie}"]
        cpu0 = target.server.cpu_seconds()
        out = subprocess.run([*cmd, target.server.base_url + "/"], capture_output=True, text=True, check=True)
        return out.stdout, target.server.cpu_seconds() - cpu0

    if warmup > 0:
        wrk(warmup)
    stdout, cpu = wrk(duration)
    match = re.search(r"^BENCH (.*)$", stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{stdout}")
    fields = match.group(1).split()
    requests, micros = int(fields[0]), int(fields[1])
    errors = sum(int(x) for x in fields[2:7])
    return Result(
        target=target,
        requests=requests,
        errors=errors,
        seconds=micros / 1e6,
        latencies_ms=[],
        server_cpu=cpu,
        client_cpu=float("nan"),
        error_samples=[f"wrk: {errors} errors (connect/read/write/not-200/timeout = {' '.join(fields[2:7])})"]
        if errors
        else [],
        p50_ms=float(fields[7]) / 1000,
        p95_ms=float(fields[8]) / 1000,
    )


# ----------------------------------------------------------------------------------------------------------------
# report


def report(results: list[Result], tool: str, concurrency: int, loadavg: tuple[float, float]) -> float:
    bare = next(r for r in results if r.target.key == "bare")
    header = (
        f"{'target':<44} {'reqs':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6} "
        f"{'vs bare':>7} {'srv CPU ms/req':>14}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r.rps / bare.rps if bare.rps else float("nan")
        print(
            f"{r.target.label:<44} {r.requests:>7} {r.rps:>8.0f} {r.percentile(50):>8.1f} {r.percentile(95):>8.1f} "
            f"{r.errors:>6} {ratio:>7.2f} {r.cpu_ms_per_request:>14.2f}"
        )
    print()
    cores = os.cpu_count()
    if tool == "httpx":
        busy = max(r.client_cpu for r in results)
        print(
            f"note: the load generator (this process, httpx, {concurrency} workers) shares the machine's {cores} "
            f"cores with the servers and used up to {busy:.0%} of one core. The cheaper the page, the more the "
            "client limits it, so the bare page's req/s is a floor and the ratios flatter the portal."
        )
    else:
        print(
            f"note: wrk (2 threads, {concurrency} connections) shares the machine's {cores} cores with the servers."
        )
    print(
        "note: 'srv CPU ms/req' is the server process's own CPU time (all its threads) per request: it does not "
        "depend on the client and is the steadier figure on a busy machine."
    )
    # the run itself keeps about two processes busy (client and server), which the load average shows afterwards
    if loadavg[0] > 0.5 * (cores or 1) or loadavg[1] > (cores or 1) + 1:
        print(
            f"note: load average {loadavg[0]:.1f} before and {loadavg[1]:.1f} after the run (this run accounts for "
            "about 2): other processes competed for the CPU, so req/s and latencies are noisy; rerun on a quiet "
            "machine to compare runs."
        )
    for r in results:
        for sample in r.error_samples:
            print(f"error ({r.target.label}): {sample}")
    project_list = next(r for r in results if r.target.key == "project_list")
    return project_list.rps / bare.rps if bare.rps else 0.0


# ----------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server to use, e.g. postgresql://postgres@127.0.0.1:5432/bench_db (the database is created "
        "and dropped by the run); default: a temporary SQLite file",
    )
    parser.add_argument(
        "--projects", type=int, default=200, help="projects in the organization (default 200)"
    )
    parser.add_argument(
        "--milestones", type=int, default=2000, help="milestones, spread over the projects (default 2000)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent client workers/connections (default 16)"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per target (default 8)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds per target before measuring (default 2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved rounds over the targets (default 2)"
    )
    parser.add_argument(
        "--tool", choices=["httpx", "wrk"], default="httpx", help="load generator (default httpx)"
    )
    parser.add_argument(
        "--app",
        default="portal.app:create_app",
        help="the app factory uvicorn serves (default portal.app:create_app; another one for A/B comparisons)",
    )
    args = parser.parse_args(argv)
    if args.projects < 1 or args.milestones < 0 or args.concurrency < 1 or not 1 <= args.rounds <= 5:
        parser.error(
            "--projects and --concurrency must be at least 1, --milestones at least 0, --rounds 1 to 5"
        )
    if not 0 < args.duration <= 20 or not 0 <= args.warmup <= 10:
        parser.error(
            "keep --duration within (0, 20] and --warmup within [0, 10] seconds so the run stays short"
        )
    if args.tool == "wrk" and not shutil.which("wrk"):
        parser.error(
            "--tool wrk: wrk is not installed (apt-get install wrk), or use the default httpx driver"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="makeready-bench-"))
    os.environ.update(app_env("sqlite+aiosqlite:///" + str(workdir / "unused.db"), workdir))
    database: Database | None = None
    servers: list[Server] = []
    try:
        database = prepare_database(args.database_url, workdir)
        os.environ["DATABASE_URL"] = database.url
        from makeready.db.migrate import upgrade

        started = time.perf_counter()
        upgrade(database.url)
        migrated = time.perf_counter() - started
        seeded = asyncio.run(seed(database.url, args.projects, args.milestones))
        print(
            f"database: {database.label}; migrated in {migrated:.1f} s; seeded 1 org, {len(seeded.project_ids)} "
            f"projects, {args.milestones} milestones in {seeded.seconds:.1f} s"
        )

        env = app_env(database.url, workdir)
        portal = start_server("portal", ["--factory", args.app], env, workdir, "/healthz")
        servers.append(portal)
        bare = start_server("bare", ["--app-dir", str(BENCH), "bare_app:app"], env, workdir, "/")
        servers.append(bare)
        print(
            f"servers: portal {portal.base_url} (pid {portal.proc.pid}), bare {bare.base_url} (pid {bare.proc.pid})"
        )

        cookies = asyncio.run(login(portal))
        first_page_ids = seeded.project_ids[::-1][:25]  # the dashboard's first page: newest first
        targets = [
            Target("bare", "bare page  GET / (no database)", bare, ["/"], expect="Bench product"),
            Target(
                "project_list",
                "dashboard  GET / (project list)",
                portal,
                ["/"],
                cookies,
                expect="Bench product",
            ),
            Target(
                "api",
                "API        GET /api/v1/projects?limit=25",
                portal,
                ["/api/v1/projects?limit=25"],
                cookies,
                expect='"total":',
            ),
            Target(
                "project",
                "project    GET /projects/<id>",
                portal,
                [f"/projects/{i}" for i in first_page_ids],
                cookies,
                expect="Milestones",
            ),
        ]
        print(
            f"load: {args.tool}, {args.concurrency} concurrent, {args.warmup:g} s warm-up + {args.duration:g} s "
            f"measured per target in {args.rounds} interleaved rounds, on {os.cpu_count()} cores"
        )
        per_round = args.duration / args.rounds
        rounds: dict[str, list[Result]] = {t.key: [] for t in targets}
        for n in range(args.rounds):
            for target in targets:
                warmup = args.warmup if n == 0 else min(args.warmup, 0.5)
                if args.tool == "wrk":
                    asyncio.run(run_httpx(target, 1, 0.01, 0))  # checks the first answer
                    result = run_wrk(target, args.concurrency, per_round, warmup, workdir)
                else:
                    result = asyncio.run(run_httpx(target, args.concurrency, per_round, warmup))
                rounds[target.key].append(result)
                print(f"  round {n + 1}/{args.rounds}  {target.label}: {result.rps:.0f} req/s", flush=True)
        results = [merge(rounds[t.key]) for t in targets]
        for server in servers:
            if server.proc.poll() is not None:
                print(f"{server.name} server died during the run:\n{server.log_tail()}")
                return 1
        ratio = report(results, args.tool, args.concurrency, (load_before, os.getloadavg()[0]))
        if args.database_url:
            print(
                "note: PostgreSQL's own CPU time is not in 'srv CPU ms/req' (only the app server process is)."
            )
        print(f"ratio project_list/bare = {ratio:.2f} (target >= {TARGET_RATIO:.2f})")
        failed = sum(r.errors for r in results)
        if failed:
            print(f"FAILED: {failed} request(s) did not answer 200")
            return 1
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"FAILED: {exc}")
        return 1
    finally:
        for server in servers:
            server.stop()
        if database is not None:
            with contextlib.suppress(Exception):
                database.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
