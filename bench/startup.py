"""Start-up cost: CPU seconds of a cold `create_app()`, and of `makeready serve` until its first /healthz answer.

Run `.venv/bin/python bench/startup.py [--runs 3] [--baseline ../main]`. Each run is a new process (cold imports, bytecode cached as
usual). It prints the CPU time (user + system, all threads) and the wall time of

1. `python -c "from portal.app import create_app; create_app()"`;
2. `makeready serve` on a migrated temporary SQLite database, until GET /healthz answers 200 (the server's CPU
   read from /proc at that moment);

and the best of the runs (the least disturbed by other processes). The target is 1.5 s of CPU. With `--baseline`
another checkout (e.g. `main`) is measured in the same runs, alternating with this one, so that both see the same
load.

Each checkout's code (and its migrations) is byte-compiled first, as the image does (infra/Dockerfile): the runs set
PYTHONDONTWRITEBYTECODE=1 like the image, so a checkout without `__pycache__` would compile its ~300 modules in every
run, about 0.25 s of CPU more, and measure the compiler instead of the start-up.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for entry in (str(ROOT), str(BENCH)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from portal_throughput import HOST, app_env, free_port  # noqa: E402  (bench/ is put on the path above)

TARGET_CPU = 1.5
SERVE = "from portal.cli import main; main()"
PACKAGES = ("makeready", "portal", "backoffice")


def byte_compile(root: Path) -> None:
    for package in PACKAGES:
        if not compileall.compile_dir(root / package, quiet=1):
            raise RuntimeError(f"{root / package} does not compile")


def cold_create_app(env: dict[str, str], root: Path = ROOT) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from portal.app import create_app; create_app()"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def serve_until_healthy(env: dict[str, str], root: Path = ROOT) -> tuple[float, float]:
    import httpx

    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--host", HOST, "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"makeready serve exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                    wall = time.perf_counter() - started
                    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                    return cpu, wall
            time.sleep(0.02)  # a poll interval, not a deadline: the loop ends on the first 200
        raise RuntimeError("makeready serve did not answer /healthz within 120 s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (e.g. ../main) measured in the same runs, alternating"
    )
    args = parser.parse_args(argv)
    roots = {"": ROOT}
    if args.baseline:
        roots = {"baseline ": args.baseline.resolve(), "this ": ROOT}
    workdir = Path(tempfile.mkdtemp(prefix="makeready-startup-"))
    try:
        envs = {}
        for root in roots.values():
            byte_compile(root)
        for label, root in roots.items():  # a database per checkout: each migrates it to its own head
            data = workdir / (label.strip() or "this")
            data.mkdir()
            envs[label] = app_env(f"sqlite+aiosqlite:///{data / 'startup.db'}", data)
            envs[label]["JOBS_PERIODIC"] = "false"
            subprocess.run(
                [sys.executable, "-c", SERVE, "db", "upgrade"],
                cwd=root,
                env=envs[label],
                check=True,
                capture_output=True,
            )
        results: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for label, root in roots.items():
                results.setdefault(f"{label}create_app()", []).append(cold_create_app(envs[label], root))
                results.setdefault(f"{label}serve to /healthz", []).append(
                    serve_until_healthy(envs[label], root)
                )
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for name, runs in results.items():
            cpu = min(c for c, _ in runs)
            wall = min(w for _, w in runs)
            listed = ", ".join(f"{c:.2f}" for c, _ in runs)
            verdict = "ok" if cpu <= TARGET_CPU else f"over the {TARGET_CPU:g} s target"
            print(f"{name:<29} CPU best {cpu:.2f} s (runs: {listed}), wall best {wall:.2f} s: {verdict}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
