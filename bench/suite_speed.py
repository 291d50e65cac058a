"""Suite speed (#10): the baseline suite (commit de5711e, before the issue's work) and the current one, in the SAME run.

The machine has 2 shared cores and other work loads it, so the two suites run side by side, started together, on
SQLite, and are compared by ratios:

- the common tests (same node id in both): setup + call + teardown summed per suite, baseline / current;
- per test overall: each suite's summed test time / its test count;
- whole suite: wall time and CPU time (user + sys) of each pytest process, with its test count.

The current suite runs the baseline's test files first, in the baseline's order, then its newer files, so both
spend the start of the run (where the load is the same) on the same tests.

Usage (from the worktree root):
    /work/main/.venv/bin/python bench/suite_speed.py [--base de5711e] [--out /tmp/suite-speed] [-k EXPR]
    /work/main/.venv/bin/python bench/suite_speed.py --report /tmp/suite-speed     # figures of a finished run

`--sequential` instead runs whole suites ONE AFTER THE OTHER (the parallel suite uses every core, so nothing may run
beside it), each as its README runs it, SQLite and PostgreSQL (`--postgres URL`, as .ci/run sets it; empty: SQLite
only): the baseline (`pytest`), the current suite serial (`pytest -n 0`), the current suite on `--workers N` xdist
workers (`make test`'s `-n N --dist loadgroup`), and the current parallel suite restricted to the baseline's node
ids ("parallel-common"; `baseline-common` runs the baseline restricted to the same ids). `--runs` picks and orders
them, `--rounds 2` repeats the order (A B A B). Each run's wall time, CPU time (user + sys of pytest and every
process it waited for: xdist workers, served apps, the CLI) and the load average during it:
    /work/main/.venv/bin/python bench/suite_speed.py --sequential --workers 2 \
        --postgres postgresql://postgres@127.0.0.1:5432/postgres [--runs baseline,serial,parallel,parallel-common]
    /work/main/.venv/bin/python bench/suite_speed.py --sequential --report /tmp/suite-speed-seq

The baseline imported advanced-alchemy's Litestar plugin, which is no longer installed (and not in the local package
index): the baseline runs with a stand-in module (written into OUT/shim) that does what the baseline used of it,
with the same code as today's portal/database.py, and so can only make the baseline faster.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

PLUGIN = '''
"""Writes each test phase's duration as it ends (a run cut short still has every finished test). Under xdist only
the controller writes (it gets every worker's reports). With SUITE_ONLY (a file of node ids, one a line) the tests
not in it are deselected."""
import json, os, time

import pytest

_OUT = None if os.environ.get("PYTEST_XDIST_WORKER") else open(os.environ["SUITE_TIMING_OUT"], "a", buffering=1)


def _write(row):
    if _OUT is not None:
        _OUT.write(json.dumps(row) + "\\n")


def pytest_sessionstart(session):
    _write({"event": "start", "t": time.time()})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    only = os.environ.get("SUITE_ONLY")
    if not only:
        return
    keep = set(open(only).read().splitlines())
    deselected = [item for item in items if item.nodeid not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.nodeid in keep]


def pytest_runtest_logreport(report):
    _write({"id": report.nodeid, "when": report.when, "d": report.duration, "outcome": report.outcome,
            "t": time.time()})


def pytest_sessionfinish(session, exitstatus):
    _write({"event": "finish", "t": time.time(), "exit": int(exitstatus)})
'''

SHIM = '''
"""A stand-in for advanced-alchemy's Litestar plugin (bench/suite_speed.py, for the baseline suite only): the three
names the baseline's portal/app.py imports, doing what it used, with today's portal/database.py code: one
AsyncSession per request (`db_session`), the engine (`db_engine`), commit on 2xx/3xx before the response starts
("autocommit_include_redirects"), rollback otherwise, engine disposed at shutdown."""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

SESSION_KEY = "_advanced_alchemy_shim_session"


@dataclass
class AsyncSessionConfig:
    expire_on_commit: bool = True


@dataclass
class SQLAlchemyAsyncConfig:
    engine_instance: AsyncEngine
    session_config: AsyncSessionConfig = field(default_factory=AsyncSessionConfig)
    before_send_handler: str = "autocommit_include_redirects"


class SQLAlchemyPlugin(InitPluginProtocol):
    def __init__(self, config):
        assert config.before_send_handler == "autocommit_include_redirects"
        self.engine = config.engine_instance
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=config.session_config.expire_on_commit)

    def on_app_init(self, app_config):
        app_config.dependencies.update({
            "db_session": Provide(self.provide_session, sync_to_thread=False),
            "db_engine": Provide(self.provide_engine, sync_to_thread=False),
        })
        app_config.before_send.append(self.before_send)
        app_config.lifespan.append(self.lifespan)
        app_config.signature_namespace.update({"AsyncSession": AsyncSession, "AsyncEngine": AsyncEngine})
        return app_config

    def provide_engine(self) -> AsyncEngine:
        return self.engine

    def provide_session(self, state: State, scope: Scope) -> AsyncSession:
        session = scope.get(SESSION_KEY)
        if session is None:
            session = scope[SESSION_KEY] = self.sessionmaker()
        return session

    async def before_send(self, message, scope):
        session = scope.get(SESSION_KEY)
        if session is None or message["type"] not in ("http.response.start", "http.disconnect"):
            return
        try:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 400:
                await session.commit()
            else:
                await session.rollback()
        finally:
            scope.pop(SESSION_KEY, None)
            await session.close()

    @asynccontextmanager
    async def lifespan(self, _app):
        try:
            yield
        finally:
            await self.engine.dispose()
'''


def _write_support(out: Path) -> tuple[Path, Path]:
    plugin_dir = out / "plugin"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (plugin_dir / "suite_timing.py").write_text(PLUGIN)
    shim = out / "shim" / "advanced_alchemy" / "extensions"
    shim.mkdir(parents=True, exist_ok=True)
    (out / "shim" / "advanced_alchemy" / "__init__.py").write_text("")
    (shim / "__init__.py").write_text("")
    (shim / "litestar.py").write_text(SHIM)
    return plugin_dir, out / "shim"


def _baseline_worktree(commit: str, path: Path) -> Path:
    """The baseline's files, exported with `git archive` (no worktree registered in the repository)."""
    if not (path / "tests").is_dir():
        path.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive.stdout, check=True)
    return path


def _needs_shim(base: Path) -> bool:
    probe = subprocess.run([PYTHON, "-c", "import advanced_alchemy"], cwd=base, capture_output=True)
    return probe.returncode != 0


def _test_files(tree: Path) -> list[str]:
    return sorted(str(p.relative_to(tree)) for p in (tree / "tests").glob("test_*.py"))


def run(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plugin_dir, shim = _write_support(out)
    base = _baseline_worktree(args.base, Path(args.base_tree))
    base_files = _test_files(base)
    current_files = _test_files(ROOT)
    ordered = [f for f in base_files if f in current_files] + [
        f for f in current_files if f not in base_files
    ]
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}  # SQLite only
    suites = {"baseline": (base, base_files), "current": (ROOT, ordered)}
    procs = {}
    meta: dict[str, dict[str, object]] = {"base_commit": {"commit": args.base}}
    for name, (tree, files) in suites.items():
        timing = out / f"{name}.jsonl"
        timing.unlink(missing_ok=True)
        paths = [str(plugin_dir)] + ([str(shim)] if name == "baseline" and _needs_shim(tree) else [])
        run_env = env | {"SUITE_TIMING_OUT": str(timing), "PYTHONPATH": os.pathsep.join(paths)}
        cmd = [
            PYTHON,
            "-m",
            "pytest",
            "-p",
            "no:warnings",
            "-p",
            "no:cacheprovider",
            "-p",
            "suite_timing",
            "-q",
        ]
        cmd += [*(["-k", args.k] if args.k else []), *files]
        log = open(out / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        procs[name] = (
            subprocess.Popen(cmd, cwd=tree, env=run_env, stdout=log, stderr=subprocess.STDOUT),
            log,
        )
        meta[name] = {"tree": str(tree), "shim": len(paths) > 1, "files": len(files), "started": time.time()}
    load: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(10):
            load.append(float(Path("/proc/loadavg").read_text().split()[0]))

    threading.Thread(target=sample, daemon=True).start()
    pending = {p.pid: name for name, (p, _) in procs.items()}
    while pending:
        pid, status, usage = os.wait4(-1, 0)
        if pid in pending:
            name = pending.pop(pid)
            meta[name] |= {
                "wall": time.time() - float(meta[name]["started"]),  # type: ignore[arg-type]
                "cpu": usage.ru_utime + usage.ru_stime,
                "exit": os.waitstatus_to_exitcode(status),
            }
            procs[name][1].close()
    stop.set()
    meta["load"] = {"samples": load, "mean": sum(load) / len(load) if load else None, "cores": os.cpu_count()}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return out


def _plain(nodeid: str) -> str:
    """The node id without the `@group` xdist's loadgroup appends (its own rule: an `@` after the last `]`)."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def _tests(path: Path) -> tuple[dict[str, float], dict[str, str]]:
    """Each test's setup + call + teardown, and its outcome (of the call, else of the setup)."""
    total: dict[str, float] = {}
    outcome: dict[str, str] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if "id" not in row:
            continue
        nodeid = _plain(row["id"])
        total[nodeid] = total.get(nodeid, 0.0) + row["d"]
        if row["when"] == "call" or (row["when"] == "setup" and row["outcome"] != "passed"):
            outcome[nodeid] = row["outcome"]
    return total, outcome


def _kind(nodeid: str) -> str:
    """browser (a served demo and Chromium), CLI (tests/test_cli.py, the `makeready` command) or in-process."""
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    if name.startswith("test_browser") or name == "test_phone.py":
        return "browser"
    return "CLI" if name == "test_cli.py" else "in-process"


def report(out: Path) -> str:
    base, base_outcome = _tests(out / "baseline.jsonl")
    cur, cur_outcome = _tests(out / "current.jsonl")
    meta = json.loads((out / "meta.json").read_text()) if (out / "meta.json").exists() else {}
    common = sorted(set(base) & set(cur))
    ran = [t for t in common if base_outcome.get(t) == "passed" and cur_outcome.get(t) == "passed"]
    b_common, c_common = sum(base[t] for t in ran), sum(cur[t] for t in ran) or float("nan")
    lines = [
        f"baseline {meta.get('base_commit', {}).get('commit', '?')} vs current, same run, SQLite",
        f"tests: baseline {len(base)}, current {len(cur)}, common (same node id) {len(common)}, "
        f"passed in both {len(ran)}",
        "",
        f"common tests, setup+call+teardown summed: baseline {b_common:8.1f} s, current {c_common:8.1f} s, "
        f"ratio {b_common / c_common:.2f}x",
        f"per test, all tests of each suite:       baseline {sum(base.values()) / len(base):8.3f} s, "
        f"current {sum(cur.values()) / len(cur):8.3f} s, "
        f"ratio {(sum(base.values()) / len(base)) / (sum(cur.values()) / len(cur)):.2f}x",
        f"summed test time, whole suite:           baseline {sum(base.values()):8.1f} s, "
        f"current {sum(cur.values()):8.1f} s",
    ]
    for name in ("baseline", "current"):
        m = meta.get(name, {})
        if "wall" in m:
            lines.append(
                f"{name} process: wall {m['wall'] / 60:.1f} min, CPU {m['cpu'] / 60:.1f} min, exit {m['exit']}, "
                f"{m['files']} files{' (advanced-alchemy stand-in)' if m.get('shim') else ''}"
            )
    if meta.get("load", {}).get("mean") is not None:
        samples = meta["load"]["samples"]
        lines.append(
            f"load average during the run: mean {meta['load']['mean']:.1f} (min {min(samples):.1f}, "
            f"max {max(samples):.1f}) on {meta['load']['cores']} cores"
        )
    groups: dict[str, list[str]] = {}
    for t in ran:
        groups.setdefault(_kind(t), []).append(t)
    for kind in ("in-process", "browser", "CLI"):
        tests = groups.get(kind, [])
        if tests:
            b, c = sum(base[t] for t in tests), sum(cur[t] for t in tests)
            lines.append(
                f"  {kind} common ({len(tests)}): baseline {b:7.1f} s, current {c:7.1f} s, ratio {b / c:.2f}x"
            )
    failed = [t for t in common if t not in ran]
    if failed:
        lines.append(f"common tests not passed in both (left out of the ratio): {len(failed)}")
        lines += [f"  {t}: baseline {base_outcome.get(t)}, current {cur_outcome.get(t)}" for t in failed[:20]]
    slow = sorted(ran, key=lambda t: cur[t], reverse=True)[:10]
    lines.append("current's slowest common tests (baseline -> current):")
    lines += [f"  {base[t]:6.2f} -> {cur[t]:6.2f} s  {t}" for t in slow]
    return "\n".join(lines)


SEQUENTIAL_RUNS = ("baseline", "serial", "parallel", "parallel-common", "baseline-common")


def _collect(tree: Path, env: dict[str, str]) -> list[str]:
    """The node ids pytest collects in `tree` (`--collect-only`, in this environment)."""
    listed = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:warnings", "--collect-only", "-q"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in listed.stdout.splitlines() if "::" in line]


def _load_sampler(samples: list[float]) -> threading.Event:
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(5):
            samples.append(float(Path("/proc/loadavg").read_text().split()[0]))

    threading.Thread(target=sample, daemon=True).start()
    return stop


def _pg_databases(admin_url: str, drop: set[str] | None = None) -> set[str]:
    """The `makeready_test_...` databases on the server; with `drop`, those are dropped first (the baseline's
    conftest never dropped the database it made)."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)

    async def go() -> set[str]:
        conn = await asyncpg.connect(
            user=url.username,
            password=url.password,
            host=url.host,
            port=url.port or 5432,
            database=url.database,
        )
        try:
            for name in sorted(drop or ()):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE 'makeready\\_test\\_%'"
            )
            return {r["datname"] for r in rows}
        finally:
            await conn.close()

    return asyncio.run(go())


def run_sequential(args: argparse.Namespace) -> Path:
    """The chosen suites one after the other, each alone on the machine; see the module's docstring."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plugin_dir, shim = _write_support(out)
    base = _baseline_worktree(args.base, Path(args.base_tree))
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    if args.postgres:
        env["TEST_DATABASE_URL"] = args.postgres
    base_paths = [str(plugin_dir)] + ([str(shim)] if _needs_shim(base) else [])
    base_env = env | {"PYTHONPATH": os.pathsep.join(base_paths)}
    cur_env = env | {"PYTHONPATH": str(plugin_dir)}
    base_ids = _collect(base, base_env)
    cur_ids = _collect(ROOT, cur_env)
    common = sorted(set(base_ids) & set(cur_ids))
    (out / "common.txt").write_text("\n".join(common) + "\n")
    meta_path = out / "meta.json"
    meta: dict[str, object] = json.loads(meta_path.read_text()) if meta_path.exists() else {"runs": []}
    meta |= {
        "base_commit": args.base,
        "postgres": bool(args.postgres),
        "workers": args.workers,
        "collected": {"baseline": len(base_ids), "current": len(cur_ids), "common": len(common)},
        "cores": os.cpu_count(),
    }
    runs: list[dict[str, object]] = meta["runs"]  # type: ignore[assignment]
    pytest_cmd = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p", "suite_timing", "-q"]
    xdist = ["-n", str(args.workers), "--dist", "loadgroup"]
    plans = {
        "baseline": (base, base_env, pytest_cmd, False),
        "baseline-common": (base, base_env, pytest_cmd, True),
        "serial": (ROOT, cur_env, [*pytest_cmd, "-n", "0"], False),
        "parallel": (ROOT, cur_env, [*pytest_cmd, *xdist], False),
        "parallel-common": (ROOT, cur_env, [*pytest_cmd, *xdist], True),
    }
    for _round in range(args.rounds):
        for name in args.runs.split(","):
            tree, run_env, cmd, only_common = plans[name]
            index = len(runs) + 1
            timing = out / f"{index:02d}-{name}.jsonl"
            timing.unlink(missing_ok=True)
            run_env = run_env | {"SUITE_TIMING_OUT": str(timing)}
            if only_common:
                run_env["SUITE_ONLY"] = str(out / "common.txt")
            databases_before = _pg_databases(args.postgres) if args.postgres and tree == base else set()
            load: list[float] = [float(Path("/proc/loadavg").read_text().split()[0])]
            stop = _load_sampler(load)
            started = time.time()
            with open(out / f"{index:02d}-{name}.log", "w") as log:
                proc = subprocess.Popen(cmd, cwd=tree, env=run_env, stdout=log, stderr=subprocess.STDOUT)
                _pid, status, usage = os.wait4(proc.pid, 0)
            stop.set()
            if args.postgres and tree == base:
                # only the baseline's own naming (`makeready_test_<10 hex>`): a current run's `..._p<pid>_...`
                # databases belong to live test processes (other runs on this machine)
                made = {
                    name
                    for name in _pg_databases(args.postgres) - databases_before
                    if re.fullmatch(r"makeready_test_[0-9a-f]{10}", name)
                }
                _pg_databases(args.postgres, drop=made)
            runs.append(
                {
                    "name": name,
                    "timing": timing.name,
                    "wall": time.time() - started,
                    "cpu": usage.ru_utime + usage.ru_stime,
                    "exit": os.waitstatus_to_exitcode(status),
                    "load": load,
                    "started": started,
                }
            )
            meta_path.write_text(json.dumps(meta, indent=1))
            print(f"{name}: wall {runs[-1]['wall']:.0f} s, exit {runs[-1]['exit']}", flush=True)
    return out


def report_sequential(out: Path) -> str:
    meta = json.loads((out / "meta.json").read_text())
    common = set((out / "common.txt").read_text().splitlines())
    collected = meta["collected"]
    lines = [
        f"baseline {meta['base_commit']} and current, one run after the other, "
        f"{'SQLite + PostgreSQL' if meta['postgres'] else 'SQLite'}, {meta['workers']} xdist workers, "
        f"{meta['cores']} cores",
        f"collected: baseline {collected['baseline']}, current {collected['current']}, "
        f"common (same node id) {collected['common']}",
        "",
        "| # | run | tests: passed / failed / skipped | wall | CPU | CPU / wall | summed test time | load average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    measured: dict[tuple[str, str], list[float]] = {}
    for i, run in enumerate(meta["runs"], 1):
        times, outcome = _tests(out / run["timing"])
        counts = {k: sum(1 for o in outcome.values() if o == k) for k in ("passed", "failed", "skipped")}
        load = run["load"]
        lines.append(
            f"| {i} | {run['name']} | {counts['passed']} / {counts['failed']} / {counts['skipped']} "
            f"(exit {run['exit']}) | {run['wall'] / 60:.1f} min | {run['cpu'] / 60:.1f} min | "
            f"{run['cpu'] / run['wall']:.2f} | "
            f"{sum(times.values()) / 60:.1f} min | {sum(load) / len(load):.1f} "
            f"({min(load):.1f}-{max(load):.1f}) |"
        )
        measured.setdefault((run["name"], "wall"), []).append(run["wall"])
        measured.setdefault((run["name"], "CPU"), []).append(run["cpu"])
    lines.append("")
    for a, b in [
        ("baseline", "serial"),
        ("baseline", "parallel"),
        ("serial", "parallel"),
        ("baseline", "parallel-common"),
        ("baseline-common", "parallel-common"),
    ]:
        for what in ("wall", "CPU"):
            xs, ys = measured.get((a, what)), measured.get((b, what))
            if xs and ys:
                x, y = sum(xs) / len(xs), sum(ys) / len(ys)
                lines.append(
                    f"{what} {a} / {b}: {x / 60:.1f} / {y / 60:.1f} min = {x / y:.2f}x "
                    f"(mean of {len(xs)} and {len(ys)} runs)"
                )
    not_common = collected["baseline"] - len(common)
    lines.append(f"baseline tests that are not common: {not_common} (the baseline run includes them)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="de5711e", help="the baseline commit")
    parser.add_argument(
        "--base-tree",
        default=str(Path(tempfile.gettempdir()) / "makeready-suite-base"),
        help="its worktree (made if missing)",
    )
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "suite-speed"))
    parser.add_argument("-k", help="pytest -k expression for both suites (a quick check of the script)")
    parser.add_argument("--report", metavar="OUT", help="only print the figures of a finished run")
    parser.add_argument("--sequential", action="store_true", help="whole suites one after the other (above)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="xdist workers (--sequential)"
    )
    parser.add_argument("--postgres", default="", help="TEST_DATABASE_URL for every suite (--sequential)")
    parser.add_argument(
        "--runs",
        default="baseline,serial,parallel,parallel-common",
        help=f"comma-separated, in order, of {', '.join(SEQUENTIAL_RUNS)} (--sequential)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat --runs this many times (--sequential)")
    args = parser.parse_args()
    if args.sequential:
        if args.out == parser.get_default("out"):
            args.out += "-seq"
        out = Path(args.report) if args.report else run_sequential(args)
        print(report_sequential(out))
        return
    out = Path(args.report) if args.report else run(args)
    print(report(out))


if __name__ == "__main__":
    main()
