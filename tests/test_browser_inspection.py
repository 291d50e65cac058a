"""An inspector fills an inspection on a phone-sized screen (390 px wide) in a real browser against `makeready serve`.

The served demo database gets, through the services in a subprocess with the server's settings, an accepted order
of one produced lot of 3,000 units built to an issued revision with a quality section, and a final inspection of it
in progress. The inspector logs in, fills the checklist, a reading out of tolerance, the carton checks, records a
defective unit with a photo taken "with the camera" (a file chooser), and submits; the page shows the computed
verdict, and nothing on it is wider than the screen. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.browser_support import ARTIFACTS, ROOT, DemoTemplate, chromium
from tests.browser_support import served as serving

pytestmark = pytest.mark.browser

PASSWORD = "demo-password-1"
COORDINATOR = "chen.wei@makeready-agency.example"

ARRANGE = r"""
import asyncio
from datetime import timedelta
from sqlalchemy import select
from makeready.accounts.models import Membership, OrgRole, Organization, User
from makeready.composition import wire
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.production import lots, orders
from makeready.projects.models import Phase, Project
from makeready.quality import inspections as qc
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.models import Quote, QuoteStatus, Supplier

QUALITY = {
    "inspection_level": "II", "aql_critical": "0", "aql_major": "2.5", "aql_minor": "4.0",
    "points": [
        {"id": "p1", "point": {"en": "Shade finish even, no scratches", "zh": "灯罩表面均匀"},
         "method": {"en": "Visual at 1 m", "zh": "一米目视"}, "defect_class": "major"},
        {"id": "p2", "point": {"en": "Cable holds 5 kg", "zh": "电缆拉力五公斤"},
         "method": {"en": "Pull test", "zh": "拉力测试"}, "defect_class": "critical"},
    ],
}
DIMENSIONS = [{"id": "d1", "feature": {"en": "Shade diameter", "zh": "灯罩直径"}, "value": "300", "unit": "mm",
               "tolerance_plus": "1.5", "tolerance_minus": "1.5"}]


async def main():
    wire()
    async with unit_of_work(Scope.system()) as session:
        coordinator = await session.scalar(select(User).where(User.email == "COORDINATOR_EMAIL"))
        org = await session.scalar(select(Organization).order_by(Organization.id))
        owner = await session.scalar(
            select(User).join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org.id, Membership.role == OrgRole.owner).order_by(User.id)
        )
        project = Project(org_id=org.id, name="QC Pendant", phase=Phase.development, coordinator_id=coordinator.id)
        supplier = Supplier(name_en="Ningbo QC Lighting", name_zh="宁波质检照明", city="Ningbo", weekly_capacity=2000)
        session.add_all([project, supplier])
        await session.flush()
        session.add(SpecRevision(
            org_id=org.id, project_id=project.id, number=1, status=RevisionStatus.issued,
            content={"quality": QUALITY, "dimensions": DIMENSIONS}, issued_at=utcnow(),
        ))
        session.add(Quote(
            org_id=org.id, project_id=project.id, supplier_id=supplier.id, status=QuoteStatus.selected,
            currency="USD", price_breaks=[{"quantity": 1000, "unit_price": "4.20"}], lead_time_days=40,
        ))
        project.supplier_id = supplier.id
        await session.flush()
        day = utcnow().date()
        order = await orders.create_order(session, actor=coordinator, project_id=project.id,
                                          data={"quantity": 3000, "ex_factory_date": (day + timedelta(days=60)).isoformat()})
        lot = await lots.add_lot(session, actor=coordinator, order_id=order.id,
                                 data={"quantity": 3000, "planned_start": day + timedelta(days=1),
                                       "planned_end": day + timedelta(days=9)})
        await orders.confirm_order(session, actor=owner, order_id=order.id)
        await orders.send_order(session, actor=coordinator, order_id=order.id)
        await orders.accept_order(session, order=order, name="Wang Lei")
        await lots.start_lot(session, actor=coordinator, lot_id=lot.id)
        await lots.report_progress(session, lot=lot, actor=coordinator,
                                   counts={step: 3000 for step in ("cut", "assembled", "finished", "packed")})
        inspection = await qc.request_inspection(session, actor=coordinator, lot_id=lot.id, kind="final")
        await qc.schedule_inspection(session, actor=coordinator, inspection_id=inspection.id,
                                     scheduled_for=day.isoformat(), inspector_id=coordinator.id)
        await qc.start_inspection(session, actor=coordinator, inspection_id=inspection.id)
        print(inspection.id)


asyncio.run(main())
""".replace("COORDINATOR_EMAIL", COORDINATOR)


@pytest.fixture(scope="module")
def served(
    demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The demo (seeded by `makeready demo` once per run, copied), an inspection in progress, served on a free port.
    Yields (base URL, inspection id)."""
    home = demo_template.copy_to(tmp_path_factory.mktemp("browser-inspection"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'demo.db'}",
        "DATABASE_POOL": "queue",
        "MEDIA_ROOT": str(home / "media"),
        "OUTBOX_DIR": str(home / "outbox"),
        "REDIS_URL": "",
        "JOBS_IN_PROCESS": "true",
        "PYTHONPATH": str(ROOT),
    }
    arranged = subprocess.run(
        [sys.executable, "-c", ARRANGE], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    inspection_id = arranged.stdout.strip().splitlines()[-1]
    with serving(env) as base:
        yield base, inspection_id


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


async def _no_overflow(page: Page) -> None:
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def test_an_inspector_fills_an_inspection_on_a_phone(served: tuple[str, str], browser: Browser) -> None:
    base, inspection_id = served
    # no is_mobile: with it Chromium widens innerWidth to fit the content, hiding overflow (docs/ARCHITECTURE.md)
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="en-US")
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", COORDINATOR)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.goto(f"{base}/coordinator/inspections/{inspection_id}")
    await expect(page.locator("h1")).to_contain_text("Final inspection")
    await expect(page.locator("#plan")).to_contain_text("125")
    await _no_overflow(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "inspection-phone-start.png"), full_page=True)

    await page.select_option("select[name='check.p1']", "pass")
    await page.select_option("select[name='check.p2']", "pass")
    await page.fill("input[name='reading.d1']", "300.2 302.1")
    await page.fill("#quantity_found", "3000")
    await page.fill("#cartons_counted", "250")
    await page.select_option("#carton_marks", "pass")
    await page.click("#findings button[type=submit]")
    await expect(page.locator(".notice")).to_be_visible()
    await expect(page.locator("#findings")).to_contain_text("1 readings out of tolerance")

    await page.select_option("#defect_class", "major")
    await page.select_option("#defect_type", "dimension")
    await page.fill("#note", "Shade 302.1 mm")
    await page.set_input_files(
        "#photos", files=[{"name": "shade.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    await page.click("#defects button[type=submit]:has-text('Record')")
    await expect(page.locator("ul.defects li")).to_have_count(1)
    await expect(page.locator("ul.defects img")).to_have_count(1)
    await _no_overflow(page)

    await page.click("#submit button[type=submit]")
    await expect(page.locator("h1 + p")).to_contain_text("Submitted")
    await expect(page.locator("#plan")).to_contain_text("Accept")
    await _no_overflow(page)
    await page.screenshot(path=str(ARTIFACTS / "inspection-phone-submitted.png"), full_page=True)
