"""A factory reports production progress through its production link in a real browser (Playwright driving Debian's
Chromium) against `makeready serve`, in Chinese, with a photo.

A fresh database is migrated and given, through the services and in a subprocess with the server's settings, a
brand, a coordinator, a project with an issued revision and a factory's selected quote, and an order of three lots
that was confirmed, sent (which opens the production link), accepted by the factory, with its first lot started.
The browser asks for English, yet the page opens in Chinese; a contradicting report is refused in Chinese first
with nothing kept; the corrected report with a photo lands, and its thumbnail shows. No cookie is ever set and no
request leaves the server. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.async_api import Browser, Request, expect

from makeready import i18n
from tests.browser_support import ARTIFACTS, MAKEREADY, ROOT, chromium, demo_env
from tests.browser_support import served as serving

pytestmark = pytest.mark.browser

ZH_REPORTED = i18n.translations("zh_Hans").gettext("Thank you: your progress report was recorded.")

# Run with the server's environment: prints "<token> <lot id>" of a sent and accepted order as its last line.
ARRANGE = r"""
import asyncio
from datetime import timedelta
from makeready.accounts import service as accounts
from makeready.accounts.models import OrgRole
from makeready.composition import wire
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.production import lots, orders
from makeready.projects.models import Phase, Project
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.models import Quote, QuoteStatus, Supplier


async def main():
    wire()
    today = utcnow().date()
    async with unit_of_work(Scope.system()) as session:
        org = await accounts.get_or_create_org(session, name="Browser Lamps")
        owner = await accounts.create_user(session, email="owner@browser.test", password="pw-browser-0123", name="Owner")
        await accounts.add_member(session, org=org, user=owner, role=OrgRole.owner)
        coordinator = await accounts.create_user(
            session, email="coord@browser.test", password="pw-browser-0123", name="Coordinator", is_staff=True
        )
        project = Project(org_id=org.id, name="Arc Pendant", phase=Phase.development, coordinator_id=coordinator.id)
        session.add(project)
        supplier = Supplier(name_en="Dongguan Bright Lighting", name_zh="东莞明亮照明", city="Dongguan")
        session.add(supplier)
        await session.flush()
        session.add(SpecRevision(
            org_id=org.id, project_id=project.id, number=1, status=RevisionStatus.issued,
            content={"bom": []}, issued_at=utcnow(),
        ))
        session.add(Quote(
            org_id=org.id, project_id=project.id, supplier_id=supplier.id, status=QuoteStatus.selected,
            currency="USD", price_breaks=[{"quantity": 1000, "unit_price": "4.20"}], lead_time_days=45,
        ))
        project.supplier_id = supplier.id
    async with unit_of_work(Scope.staff(coordinator.id)) as session:
        order = await orders.create_order(
            session, actor=coordinator, project_id=project.id,
            data={"quantity": 3000, "ex_factory_date": (today + timedelta(days=60)).isoformat()},
        )
        made = [
            await lots.add_lot(session, actor=coordinator, order_id=order.id, data={
                "quantity": 1000,
                "planned_start": today + timedelta(days=5 + 10 * i),
                "planned_end": today + timedelta(days=14 + 10 * i),
            })
            for i in range(3)
        ]
    async with unit_of_work(Scope.member(owner.id, frozenset({org.id}))) as session:
        await orders.confirm_order(session, actor=owner, order_id=order.id)
    async with unit_of_work(Scope.staff(coordinator.id)) as session:
        order, token = await orders.send_order(session, actor=coordinator, order_id=order.id)
    async with unit_of_work(Scope.system()) as session:
        loaded = await orders.load_order(session, order.id)
        await orders.accept_order(session, order=loaded, name="王磊")
    async with unit_of_work(Scope.staff(coordinator.id)) as session:
        await lots.start_lot(session, actor=coordinator, lot_id=made[0].id)
    print(token, made[0].id)


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """The real CLI on a migrated database with a sent, accepted order. Yields (base URL, token, lot id)."""
    home = tmp_path_factory.mktemp("browser-production")
    env = demo_env(home, REDIS_URL="", JOBS_IN_PROCESS="true")
    subprocess.run([*MAKEREADY, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    arranged = subprocess.run(
        [sys.executable, "-c", ARRANGE], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    token, lot_id = arranged.stdout.strip().splitlines()[-1].split()
    with serving(env) as base:
        yield base, token, int(lot_id)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


def photo(path: Path) -> Path:
    image = Image.new("RGB", (640, 480), (180, 120, 60))
    out = io.BytesIO()
    image.save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


async def test_a_factory_reports_progress_in_chinese_with_a_photo(
    served: tuple[str, str, int], browser: Browser, tmp_path: Path
) -> None:
    base, token, lot_id = served
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    requested: list[str] = []
    posted: list[Request] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("request", lambda request: posted.append(request) if request.method == "POST" else None)

    response = await page.goto(f"{base}/p/{token}")
    assert response is not None
    assert response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    await expect(page.locator("#lots h2")).to_have_text("批次")
    await expect(page.locator("a.spec")).to_contain_text("规格书")
    lot = page.locator(f"#lot-{lot_id}")
    await lot.locator("summary").click()
    form = lot.locator("form")

    # a report that contradicts itself: refused in Chinese first, the form shown again with what was typed
    await form.locator("input[name=count_cut]").fill("400")
    await form.locator("input[name=count_assembled]").fill("300")
    await form.locator("input[name=count_finished]").fill("200")
    await form.locator("input[name=count_packed]").fill("250")
    await form.locator("input[name=name]").fill("王磊")
    await form.locator("button[type=submit]").click()
    error = page.locator(".pl-error")
    await expect(error.locator("p[lang=zh-Hans]")).to_contain_text("后一道工序的数量不能多于前一道工序")
    await expect(error.locator("p[lang=en]")).to_contain_text("a step cannot count more units")
    await expect(page.locator(f"#lot-{lot_id} input[name=count_packed]")).to_have_value("250")
    assert await page.locator(f"#lot-{lot_id} .photos img").count() == 0

    # corrected, with a photo
    form = page.locator(f"#lot-{lot_id} form")
    await form.locator("input[name=count_packed]").fill("0")
    await form.locator("textarea[name=note]").fill("二号线开工")
    await form.locator("input[name=photos]").set_input_files(str(photo(tmp_path / "line.jpg")))
    await form.locator("button[type=submit]").click()
    await page.wait_for_url(lambda url: "done=reported" in url)
    await expect(page.locator(".pl-notice p[lang=zh-Hans]")).to_have_text(ZH_REPORTED)
    lot = page.locator(f"#lot-{lot_id}")
    await expect(lot.locator(".produced")).to_contain_text("200")
    await expect(lot.locator(".note")).to_have_text("二号线开工")
    thumbnail = lot.locator(".photos img")
    await expect(thumbnail).to_have_count(1)
    width = await thumbnail.evaluate("img => img.complete && img.naturalWidth")
    assert width == 480  # the server's thumbnail of the 640 px photo

    assert len(posted) == 2
    for request in posted:  # Chromium from our no-referrer page: Origin null, marked same-origin
        headers = await request.all_headers()
        assert headers.get("origin") == "null"
        assert headers.get("sec-fetch-site") == "same-origin"
    assert await context.cookies() == []
    origin = urlsplit(base).netloc
    assert {urlsplit(url).netloc for url in requested if not url.startswith(("data:", "blob:"))} == {origin}
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "production-link-reported.png"), full_page=True)
    await context.close()
