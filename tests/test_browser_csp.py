"""The Content-Security-Policy in a real browser: Chromium reports every script, style, image, font or connection a
page tried and the policy refused. The portal's main pages (brand and coordinator) and the back office's first
page must load with none refused, with the policy actually sent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Response, expect

from tests.browser_support import chromium
from tests.conftest import ServedDemo
from tests.test_browser import BRAND, COORDINATOR, PASSWORD

pytestmark = pytest.mark.browser

# Chromium fires `securitypolicyviolation` on the document for each refusal; collected before any page script runs.
COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture(scope="module")
def server(shared_demo: ServedDemo) -> str:
    """`makeready serve` on the demo data, running this checkout's code: the served demo test_browser.py also uses
    (these tests only read pages, whatever its tests changed)."""
    return shared_demo.base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


class Watched:
    """A page whose CSP refusals (from the document's events and the console) are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self._console)

    def _console(self, message: object) -> None:
        text = getattr(message, "text", "")
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    async def visit(self, url: str) -> Response:
        response = await self.page.goto(url)
        assert response is not None
        await self.page.wait_for_load_state("networkidle")
        return response

    async def refused(self) -> list[str]:
        seen: list[str] = await self.page.evaluate("window.__csp || []")
        return seen + self.console


async def watched(browser: Browser) -> Watched:
    page = await browser.new_page(locale="en-US")
    await page.add_init_script(COLLECT)
    return Watched(page)


async def log_in(w: Watched, server: str, email: str) -> None:
    await w.visit(f"{server}/login")
    await w.page.fill("input[name=email]", email)
    await w.page.fill("input[name=password]", PASSWORD)
    await w.page.click("form[action='/login'] button[type=submit]")
    await w.page.wait_for_load_state("networkidle")


async def check(w: Watched, url: str) -> None:
    response = await w.visit(url)
    assert response.status < 400, (url, response.status)
    policy = (await response.all_headers()).get("content-security-policy", "")
    assert "default-src 'self'" in policy, url
    assert "frame-ancestors 'none'" in policy, url
    assert await w.refused() == [], url


async def test_the_brand_s_main_pages_pass_their_policy(server: str, browser: Browser) -> None:
    w = await watched(browser)
    await check(w, f"{server}/login")
    await log_in(w, server, BRAND)
    await check(w, f"{server}/")
    project = await w.page.locator("table.list tbody tr a").first.get_attribute("href")
    assert project
    for path in (project, "/projects/new", "/account", "/team", "/notifications", f"{project}/samples"):
        await check(w, f"{server}{path}")


async def test_the_coordinator_s_pages_pass_their_policy(server: str, browser: Browser) -> None:
    w = await watched(browser)
    await log_in(w, server, COORDINATOR)
    await check(w, f"{server}/coordinator/board")
    project = await w.page.locator("a[href^='/coordinator/projects/']").first.get_attribute("href")
    assert project
    # this page has an inline script: its hash is in the policy, so it runs
    await check(w, f"{server}{project}")


async def test_the_back_office_passes_its_policy(server: str, browser: Browser) -> None:
    w = await watched(browser)
    await check(w, f"{server}/admin/")
    await w.page.locator("input[type=text]").first.fill(COORDINATOR)
    await w.page.locator("input[type=password]").first.fill(PASSWORD)
    await w.page.get_by_role("button", name=re.compile("log ?in", re.IGNORECASE)).click()
    await expect(w.page.get_by_text("projects", exact=False).first).to_be_visible()
    await w.page.wait_for_load_state("networkidle")
    assert await w.refused() == []
    # a table's rows, through the admin's own navigation (a hash route: no new document)
    await w.page.get_by_text("projects", exact=False).first.click()
    await w.page.wait_for_load_state("networkidle")
    assert await w.refused() == []
