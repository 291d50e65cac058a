"""A person in a real browser (Playwright driving Debian's Chromium) against `makeready serve` on the demo data.

Screenshots go to test-artifacts/ so a reviewer can look at what the pages showed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
MAKEREADY = str(Path(sys.executable).parent / "makeready")
PASSWORD = "demo-password-1"
BRAND = "maya@lumenandoak.example"
BRAND_MEMBER = "tom@lumenandoak.example"
COORDINATOR = "chen.wei@makeready-agency.example"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real CLI: seed the demo agency, then serve it on a free port."""
    home = tmp_path_factory.mktemp("browser")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'demo.db'}",
        "DATABASE_POOL": "queue",
        "MEDIA_ROOT": str(home / "media"),
        "OUTBOX_DIR": str(home / "outbox"),
    }
    subprocess.run([MAKEREADY, "demo", "--no-serve"], env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(
        [MAKEREADY, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # wait until the server answers, not a fixed time
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("makeready serve did not become ready")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_brand_logs_in_and_switches_to_chinese(server: str, browser: Browser) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/")
    await expect(page).to_have_url(f"{server}/login?next=/")
    await page.fill("input[name=email]", BRAND)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Projects")
    rows = page.locator("table.list tbody tr")
    assert await rows.count() >= 3
    await _shot(page, "portal-dashboard-en")

    await rows.first.locator("a").first.click()
    await expect(page.locator("#milestones-heading")).to_have_text("Milestones")
    await _shot(page, "portal-project-en")

    await page.click("button[name=locale][value=zh_Hans]")
    await expect(page.locator("#milestones-heading")).to_have_text("里程碑")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    await _shot(page, "portal-project-zh")
    await page.goto(f"{server}/")
    await expect(page.locator("h1")).to_have_text("项目")  # the choice persists across pages
    await _shot(page, "portal-dashboard-zh")


async def test_wrong_password_shows_the_message_in_chinese(server: str, browser: Browser) -> None:
    page = await browser.new_page(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    await page.goto(f"{server}/login")
    await page.fill("input[name=email]", BRAND)
    await page.fill("input[name=password]", "wrong-password")
    await page.click("form[action='/login'] button[type=submit]")
    alert = page.locator("[role=alert]")
    await expect(alert).to_be_visible()
    assert "邮箱" in (await alert.inner_text()) or "密码" in (await alert.inner_text())
    await _shot(page, "portal-login-error-zh")


async def test_coordinator_logs_in_to_the_back_office(server: str, browser: Browser) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/admin")
    await expect(page).to_have_url(re.compile(r"/admin/#/login"))
    await page.locator("input[type=text]").first.fill(COORDINATOR)
    await page.locator("input[type=password]").first.fill(PASSWORD)
    await page.get_by_role("button", name=re.compile("log ?in", re.IGNORECASE)).click()
    await expect(page.get_by_text("projects", exact=False).first).to_be_visible()
    await _shot(page, "admin-home")


async def test_brand_user_cannot_enter_the_back_office(server: str, browser: Browser) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/admin/")
    await page.locator("input[type=text]").first.fill(BRAND)
    await page.locator("input[type=password]").first.fill(PASSWORD)
    await page.get_by_role("button", name=re.compile("log ?in", re.IGNORECASE)).click()
    await expect(page).to_have_url(re.compile(r"/admin/#/login"))
    async with httpx.AsyncClient(base_url=server) as client:
        assert (await client.get("/admin/api/tables/projects/")).status_code in (401, 403)


async def test_brand_submits_a_product_with_two_files_and_follows_it(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """The submit form with the real upload.js against the local storage backend: two files at once, a progress
    bar each, both verified and listed on the project page with the timeline; then the page in Chinese. (A member,
    not the owner: the owner's language preference is Chinese once the first test switched it.)"""
    from tests.s3server import pdf_bytes, png_bytes

    drawing = tmp_path / "arc-lamp drawing.pdf"
    drawing.write_bytes(pdf_bytes("Arc lamp, front view"))
    photo = tmp_path / "reference photo.png"
    photo.write_bytes(png_bytes(640, 480))

    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/login")
    await page.fill("input[name=email]", BRAND_MEMBER)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Projects")
    await page.get_by_role("link", name="Submit a product").click()
    await expect(page.locator("h1")).to_have_text("Submit a product")

    await page.fill("#name", "Arc floor lamp")
    await page.fill("#category", "Lighting")
    await page.fill("#description", "A brass arc lamp with an opal glass shade.")
    await page.fill("#target_quantity", "1200")
    await page.fill("#target_unit_price", "48.50")
    await page.select_option("#currency", "EUR")
    await page.fill("#target_date", "2031-03-01")
    await page.fill("#materials_notes", "Brushed brass, opal glass")
    await page.set_input_files("[data-upload-input]", [str(drawing), str(photo)])
    await page.click("[data-submit-button]")

    items = page.locator(".upload-item")
    await expect(items).to_have_count(2)
    for name in (drawing.name, photo.name):
        item = page.locator(f".upload-item[data-file-name='{name}']")
        await expect(item).to_have_class(re.compile(r"\bdone\b"), timeout=30_000)
        await expect(item.locator("progress")).to_have_attribute("value", "100")
    await expect(page.locator("[data-upload-summary]")).to_contain_text("All files were added.")
    await _shot(page, "portal-submit-uploaded-en")

    await page.locator("[data-upload-continue]").click()
    await expect(page.locator("h1")).to_contain_text("Arc floor lamp")
    files = page.locator("#files")
    await expect(files.get_by_role("link", name=drawing.name, exact=True)).to_be_visible()
    await expect(files.get_by_role("link", name=photo.name, exact=True)).to_be_visible()
    timeline = page.locator("svg.timeline-svg")
    await expect(timeline).to_be_visible()
    assert await timeline.locator("g.tl-row").count() >= 8  # the standard milestones
    await expect(page.locator("#log")).to_contain_text("Tom Okafor added the file reference photo.png.")
    await _shot(page, "portal-project-submitted-en")

    await page.click("button[name=locale][value=zh_Hans]")
    await expect(page.locator("#milestones-heading")).to_have_text("里程碑")
    await expect(page.locator("#files-heading")).to_have_text("文件")
    await expect(page.locator("#log")).to_contain_text("Tom Okafor 提交了产品。")
    await _shot(page, "portal-project-submitted-zh")
