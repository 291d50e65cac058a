"""The test suite's own PostgreSQL databases: a run drops the database it made when it ends, and the next run drops
the ones whose run is gone (killed), never one a running session may still use."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_CLEANUP_LOCK, PG_PREFIX, _drop_stale_pg_databases, _pg_connect_args

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ADMIN_URL, reason="needs TEST_DATABASE_URL"),
]


def _gone_pid() -> int:
    """A pid no process has any more: a child that has exited and been waited for."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def _names(conn: asyncpg.Connection) -> set[str]:
    return {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}


async def test_only_the_databases_of_runs_that_are_gone_are_dropped() -> None:
    admin = make_url(ADMIN_URL)
    conn = await asyncpg.connect(**_pg_connect_args(admin))
    gone = f"{PG_PREFIX}p{_gone_pid()}_0000aaaa"
    running = f"{PG_PREFIX}p{os.getpid()}_0000bbbb"  # this very process: alive
    gone_but_used = f"{PG_PREFIX}p{_gone_pid()}_0000cccc"
    recent_unnamed = f"{PG_PREFIX}0000dddd00"  # an older conftest's name, created just now
    other = "makeready_testing_0000eeee"  # not the suite's
    made = [gone, running, gone_but_used, recent_unnamed, other]
    user = None
    # the cleanup's lock, held from the first CREATE to the last DROP: another test process starting beside this
    # one (an xdist worker, the child run below) would otherwise drop `gone` before the call under test could
    await conn.execute("SELECT pg_advisory_lock($1)", PG_CLEANUP_LOCK)
    try:
        for name in made:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        user = await asyncpg.connect(**(_pg_connect_args(admin) | {"database": gone_but_used}))

        dropped = await _drop_stale_pg_databases(conn)

        assert gone in dropped
        left = await _names(conn)
        assert gone not in left
        assert {running, gone_but_used, recent_unnamed, other} <= left
        assert not {running, gone_but_used, recent_unnamed, other} & set(dropped)
    finally:
        if user is not None:
            await user.close()
        for name in made:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()  # and with it the lock


def test_a_run_drops_its_database_when_it_ends(tmp_path: Path) -> None:
    """A whole pytest run (one quick database test) in a child process: its database exists during the run and
    is gone after it."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import os\n"
        "def test_probe(db_url):\n"
        "    if 'postgresql' in db_url:\n"
        "        open(os.environ['PROBE_OUT'], 'w').write(db_url.rsplit('/', 1)[1])\n"
    )
    out = tmp_path / "name.txt"
    pytest_args = [
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        ".",
        "-c",
        "pyproject.toml",
        "--confcutdir",
        ".",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args, "-p", "tests.conftest", str(probe)],
        env=os.environ | {"PROBE_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    name = out.read_text()
    assert name.startswith(f"{PG_PREFIX}p")

    async def exists() -> bool:
        conn = await asyncpg.connect(**_pg_connect_args(make_url(ADMIN_URL)))
        try:
            return name in await _names(conn)
        finally:
            await conn.close()

    assert not asyncio.run(exists())
