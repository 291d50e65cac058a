"""What the browser tests share: the served demo (the real CLI on a free port, waited on until ready) and Chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright

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


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
