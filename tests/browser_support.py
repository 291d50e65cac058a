"""What the browser tests share: the demo seeded once per run (a template home each module copies), the served demo
(the real CLI on a free port, waited on until ready) and Chromium."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.async_api import Browser, Playwright, async_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
MAKEREADY = [sys.executable, "-c", "from portal.cli import main; main()"]
"""The CLI of this checkout (not wherever the venv's console script points)."""
READY_WITHIN = 120.0
"""Seconds `makeready serve` may take to answer /readyz on a loaded machine before the test gives up."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a demo served from `home` (its database, files and outbox), running this checkout."""
    import os

    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'demo.db'}",
        "DATABASE_POOL": "queue",
        "MEDIA_ROOT": str(home / "media"),
        "OUTBOX_DIR": str(home / "outbox"),
        **extra,
    }


@dataclass(frozen=True)
class DemoTemplate:
    """A home (demo.db, media/, outbox/) the real `makeready demo --no-serve` seeded, and what it printed."""

    home: Path
    stdout: str

    def copy_to(self, home: Path) -> Path:
        """A home of its own for a module's served demo, as the seeding left it (its factory link still valid)."""
        shutil.copytree(self.home, home, dirs_exist_ok=True)
        return home


class DemoSeeding:
    """The demo seeded once for the run, through the real CLI (`makeready demo --no-serve`) in a process of its own,
    started when the run is collected (tests/conftest.py), so it runs beside the tests before the browser tests
    (about 7 s of CPU, 15 s or more on a loaded machine); `template()` waits for it to exit. Each browser module
    copies the result instead of seeding its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._out = home.with_name(home.name + ".out")
        self._err = home.with_name(home.name + ".err")
        with self._out.open("w") as out, self._err.open("w") as err:
            self._proc = subprocess.Popen(
                [*MAKEREADY, "demo", "--no-serve"], env=demo_env(home), stdout=out, stderr=err, cwd=ROOT
            )

    def template(self) -> DemoTemplate:
        if self._proc.wait() != 0:
            raise RuntimeError(f"makeready demo exited with {self._proc.returncode}: {self._err.read_text()}")
        return DemoTemplate(self.home, self._out.read_text())

    def stop(self) -> None:
        """End it if nobody waited for it (a run that stopped before its browser tests)."""
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=20)


@contextmanager
def served(env: dict[str, str]) -> Iterator[str]:
    """`makeready serve` on a free port, yielded once /readyz answers 200 (a condition, not a fixed wait)."""
    port = free_port()
    proc = subprocess.Popen(
        [*MAKEREADY, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        waited = 0.0
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            try:  # the pause between tries is the server's own exit, if it dies
                proc.wait(timeout=0.2)
                raise RuntimeError("makeready serve exited before it was ready")
            except subprocess.TimeoutExpired:
                waited += 0.2
            if waited > READY_WITHIN:
                raise RuntimeError("makeready serve did not become ready")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class _Shared:
    playwright: Playwright
    browser: Browser
    loop: asyncio.AbstractEventLoop


_SHARED: list[_Shared] = []
"""The run's one Chromium, launched by the first browser test (launching one costs 1 to 2 s a test)."""


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, shared by the browser tests of a run. Each test still starts from nothing: every page it
    opens is in a context of its own (`new_page()` and `new_context()` make a fresh incognito profile: cookies,
    storage, cache), and the contexts it opened are closed when it ends. On another event loop than the shared
    browser's (Playwright's objects belong to their loop), a private Chromium, closed at the end."""
    loop = asyncio.get_running_loop()
    if _SHARED and (_SHARED[0].loop is not loop or not _SHARED[0].browser.is_connected()):
        if _SHARED[0].loop is loop:  # it crashed: launch another
            _SHARED.clear()
        else:
            async with _private_chromium() as browser:
                yield browser
            return
    if not _SHARED:
        pw = await async_playwright().start()
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        _SHARED.append(_Shared(pw, browser, loop))
    browser = _SHARED[0].browser
    before = set(browser.contexts)
    try:
        yield browser
    finally:
        for context in browser.contexts:
            if context not in before:
                await context.close()


async def close_shared_chromium() -> None:
    """Close the run's Chromium (the test session's end, on its loop)."""
    while _SHARED:
        shared = _SHARED.pop()
        if shared.loop is asyncio.get_running_loop():
            await shared.browser.close()
            await shared.playwright.stop()


@asynccontextmanager
async def _private_chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
