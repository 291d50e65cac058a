"""A factory opens its link in a real browser (Playwright driving Debian's Chromium) against `makeready serve`.

The served demo database gets an issued revision (the demo's own, else one made through the spec services) and a
factory link sent through makeready.factory_links, in a subprocess with the server's settings. The browser asks for
English, yet the page opens in Chinese; no request leaves the server; the PDF link downloads a PDF once the
in-process worker has rendered it (the page refreshes itself until then). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Request, expect

from tests.browser_support import ARTIFACTS, ROOT, DemoTemplate, chromium
from tests.browser_support import served as serving

pytestmark = pytest.mark.browser


# Run with the server's environment: prints the token of a new link to an issued revision as its last line.
SEND_LINK = r"""
import asyncio
from sqlalchemy import select
from makeready.accounts.models import Membership, OrgRole, User
from makeready.composition import wire
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.projects.models import Phase, Project
from makeready import factory_links as factory
from makeready.specs import service as specs
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.models import Supplier


def translated(node):
    if isinstance(node, dict):
        if set(node) == {"en", "zh", "status"}:
            return {"en": node["en"], "zh": node["zh"] or ("中文 " + node["en"] if node["en"] else ""),
                    "status": "reviewed"}
        return {key: translated(value) for key, value in node.items()}
    if isinstance(node, list):
        return [translated(item) for item in node]
    return node


async def main():
    wire()  # a script calls the services as the app and the CLI do: after wiring
    async with unit_of_work(Scope.system()) as session:
        coordinator = await session.scalar(select(User).where(User.is_staff, User.is_active).order_by(User.id))
        revision = await session.scalar(
            select(SpecRevision).where(SpecRevision.status == RevisionStatus.issued).order_by(SpecRevision.id)
        )
        if revision is None:
            project = await session.scalar(
                select(Project).where(Project.phase == Phase.development).order_by(Project.id)
            )
            owner = await session.scalar(
                select(User).join(Membership, Membership.user_id == User.id).where(
                    Membership.org_id == project.org_id, Membership.role == OrgRole.owner
                )
            )
            revision = await specs.start_revision(session, actor=coordinator, project_id=project.id)
            await specs.save_content(
                session, actor=coordinator, revision_id=revision.id,
                content=translated(revision.content), expected_version=None,
            )
            for action, actor in (("submit", coordinator), ("approve", owner), ("issue", coordinator)):
                await specs.act(session, action, actor=actor, revision_id=revision.id)
        supplier = await session.scalar(
            select(Supplier).where(Supplier.archived_at.is_(None)).order_by(Supplier.id)
        )
        if supplier is None:
            supplier = Supplier(name_en="Browser Test Works", name_zh="浏览器测试工厂")
            session.add(supplier)
            await session.flush()
        _link, token = await factory.send_link(
            session, actor=coordinator, revision_id=revision.id, supplier_id=supplier.id
        )
    print(token)


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def served(
    demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The real CLI: the demo agency (seeded by `makeready demo` once per run, copied), a factory link sent, served
    on a free port. Yields (base URL, token)."""
    home = demo_template.copy_to(tmp_path_factory.mktemp("browser-factory"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'demo.db'}",
        "DATABASE_POOL": "queue",
        "MEDIA_ROOT": str(home / "media"),
        "OUTBOX_DIR": str(home / "outbox"),
        "REDIS_URL": "",
        "JOBS_IN_PROCESS": "true",
        "PYTHONPATH": str(ROOT),  # serve this checkout, not wherever the venv's editable install points
    }
    sent = subprocess.run(
        [sys.executable, "-c", SEND_LINK], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    token = sent.stdout.strip().splitlines()[-1]
    with serving(env) as base:
        yield base, token


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


async def test_a_factory_opens_its_link_in_chinese_and_downloads_the_pdf(
    served: tuple[str, str], browser: Browser
) -> None:
    base, token = served
    context = await browser.new_context(locale="en-US", accept_downloads=True)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    response = await page.goto(f"{base}/f/{token}")
    assert response is not None
    assert response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    await expect(page.locator("#ack h2")).to_have_text("确认此修订版")
    await expect(page.locator("#ask h2")).to_have_text("提问")
    await expect(page.locator("a.pdf")).to_have_text("下载 PDF")
    assert await page.locator("h1.project-name").count() == 1
    assert await context.cookies() == []
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "factory-link-zh.png"), full_page=True)

    # the PDF: a page that refreshes itself while the worker renders, then the download
    async with page.expect_download(timeout=120_000) as started:
        await page.click("a.pdf")
    download = await started.value
    assert download.suggested_filename.endswith(".pdf")
    saved = await download.path()
    assert saved is not None
    with open(saved, "rb") as pdf:  # noqa: ASYNC230 - a few bytes of a local file the download just wrote
        assert pdf.read(5) == b"%PDF-"

    english = await page.goto(f"{base}/f/{token}?lang=en")
    assert english is not None
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("a.pdf")).to_have_text("Download the PDF")
    await page.screenshot(path=str(ARTIFACTS / "factory-link-en.png"), full_page=True)

    # nothing was fetched from anywhere but this server
    origin = urlsplit(base).netloc
    assert requested
    assert {urlsplit(url).netloc for url in requested if not url.startswith(("data:", "blob:"))} == {origin}
    await context.close()


async def test_in_chromium_the_factory_acknowledges_and_asks_a_question(
    served: tuple[str, str], browser: Browser
) -> None:
    """The page's `Referrer-Policy: no-referrer` makes Chromium post its forms with `Origin: null`: both forms
    must still land (the server tells our own page from another site by Sec-Fetch-Site)."""
    base, token = served
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    posted: list[Request] = []
    page.on("request", lambda request: posted.append(request) if request.method == "POST" else None)
    await page.goto(f"{base}/f/{token}?lang=en")

    await page.locator("#ack input[name=name]").fill("Chen Jing")
    await page.locator("#ack button[type=submit]").click()
    await page.wait_for_url(lambda url: "done=acknowledged" in url)
    await expect(page.locator("#ack .fl-ack")).to_contain_text("Acknowledged by Chen Jing")
    assert await page.locator("#ack form").count() == 0

    await page.locator("#ask input[name=name]").fill("Chen Jing")
    await page.locator("#ask textarea[name=question]").fill("Which thread pitch do the legs take?")
    await page.locator("#ask button[type=submit]").click()
    await page.wait_for_url(lambda url: "done=asked" in url)
    await expect(page.locator("#questions .fl-q .q")).to_contain_text(
        ["Which thread pitch do the legs take?"]
    )

    assert len(posted) == 2
    for request in posted:  # what made the server refuse them
        headers = await request.all_headers()
        assert headers.get("origin") == "null"
        assert headers.get("sec-fetch-site") == "same-origin"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "factory-link-asked.png"), full_page=True)
    await context.close()
