"""Every page of a brand's journey, and the factory's link page, fit a 390 px wide phone (Playwright driving
Debian's Chromium against `makeready serve` on the demo data).

"Fits" means the page itself never scrolls sideways: `document.documentElement.scrollWidth` is at most the
viewport's width (a wide table may scroll inside its own `overflow-x:auto` box). A failure names the widest
elements that stick out. Full-page screenshots go to test-artifacts/phone-*.png.

Before serving, a script run with the server's settings gives the demo's Tide Table Lamp (Lumen & Oak) what a brand
sees in the middle of development: its draft revision B submitted for the brand's review, a second sample round
received with photos, and a change request raised by the brand's owner.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser_support import ARTIFACTS, ROOT, DemoTemplate, chromium
from tests.browser_support import served as serving

pytestmark = pytest.mark.browser

# the CLI of this checkout (the venv's `makeready` script imports whichever tree the venv was installed from)
PASSWORD = "demo-password-1"
BRAND = "maya@lumenandoak.example"
PHONE = {"width": 390, "height": 844}

# Run with the server's environment before it starts; prints "<project id> <round id> <change id> <revision no>".
ARRANGE = r"""
import asyncio
from sqlalchemy import select
from makeready.accounts.models import User
from makeready.changes.lifecycle import raise_change_request
from makeready.composition import wire
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.projects.models import Project
from makeready.specs import service as specs
from makeready.specs.models import RevisionStatus, SpecRevision
from tests.sample_data import sample_round


async def main():
    wire()
    async with unit_of_work(Scope.system()) as session:
        chen = await session.scalar(select(User).where(User.email == "chen.wei@makeready-agency.example"))
        maya = await session.scalar(select(User).where(User.email == "maya@lumenandoak.example"))
        project = await session.scalar(select(Project).where(Project.name == "Tide Table Lamp"))
        draft = await session.scalar(
            select(SpecRevision).where(
                SpecRevision.project_id == project.id, SpecRevision.status == RevisionStatus.draft
            )
        )
        await specs.act(session, "submit", actor=chen, revision_id=draft.id)
        sample = await sample_round(
            session, project=project, coordinator=chen, photos=3,
            notes="Second finish sample: the brass is brushed along the stem now, and the dimmer ring is knurled.",
        )
        change = await raise_change_request(
            session, actor=maya, project_id=project.id,
            title="Switch the shade to opal glass",
            description="Clear glass shows the bulb from the side; opal glass diffuses it. Same shape and size.",
            reason="Retail buyers asked for a softer light at the launch preview.",
        )
    print(project.id, sample.id, change.id, draft.number)


asyncio.run(main())
"""

# The page's width and the outermost elements whose right edge passes the viewport, widest first (not those inside
# a box that scrolls or clips sideways: they do not widen the page).
OVERFLOW = """() => {
  const limit = window.innerWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
    }
    return false;
  };
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const cls = (el.getAttribute("class") || "").trim().split(/\\s+/).filter(Boolean).slice(0, 3);
    if (cls.length) s += "." + cls.join(".");
    return s;
  };
  const sticking = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > limit + 0.5 && !clipped(el)) sticking.add(el);
  }
  const offenders = [];
  for (const el of sticking) {
    if (sticking.has(el.parentElement)) continue;  // name the table, not each of its rows
    const r = el.getBoundingClientRect();
    offenders.push({what: describe(el), right: Math.round(r.right), width: Math.round(r.width)});
  }
  offenders.sort((a, b) => b.width - a.width);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: limit, offenders: offenders.slice(0, 5)};
}"""


@dataclass(frozen=True)
class Served:
    base: str
    project_id: int
    round_id: int
    change_id: int
    revision_number: int
    factory_path: str


@pytest.fixture(scope="module")
def served(demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real CLI: the demo agency seeded by `makeready demo` (once per run, copied; its output names a factory
    link), the brand's project arranged, served."""
    home = demo_template.copy_to(tmp_path_factory.mktemp("phone"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'demo.db'}",
        "DATABASE_POOL": "queue",
        "MEDIA_ROOT": str(home / "media"),
        "OUTBOX_DIR": str(home / "outbox"),
        "REDIS_URL": "",
        "JOBS_IN_PROCESS": "true",
        # billing on, so the billing and pricing pages show plans, a subscription and fees (nothing calls Stripe)
        "STRIPE_SECRET_KEY": "sk_test_phone_layout",
        "STRIPE_WEBHOOK_SECRET": "whsec_phone_layout",
    }
    found = re.search(r"(/f/[A-Za-z0-9_-]+)\s*$", demo_template.stdout, re.MULTILINE)
    assert found, demo_template.stdout
    arranged = subprocess.run(
        [sys.executable, "-c", ARRANGE], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    project_id, round_id, change_id, number = map(int, arranged.stdout.split()[-4:])
    with serving(env) as base:
        yield Served(base, project_id, round_id, change_id, number, found.group(1))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


async def _fits(page: Page, name: str, problems: list[str]) -> None:
    """Screenshot the page and note it in `problems` when it is wider than the phone."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    measured = await page.evaluate(OVERFLOW)
    assert measured["innerWidth"] == PHONE["width"]
    if measured["scrollWidth"] > measured["innerWidth"]:
        widest = ", ".join(
            f"{o['what']} ({o['width']} px wide, right edge at {o['right']})" for o in measured["offenders"]
        )
        problems.append(
            f"{name} ({page.url}): the page is {measured['scrollWidth']} px wide on a "
            f"{measured['innerWidth']} px screen; widest offenders: {widest or 'none found'}"
        )


async def test_every_brand_page_and_the_factory_page_fit_a_phone(served: Served, browser: Browser) -> None:
    context = await browser.new_context(locale="en-US", viewport=PHONE, device_scale_factor=1)
    page = await context.new_page()
    problems: list[str] = []

    await page.goto(f"{served.base}/login")
    await _fits(page, "login", problems)
    await page.fill("input[name=email]", BRAND)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Projects")
    await _fits(page, "dashboard", problems)

    project = f"{served.base}/projects/{served.project_id}"
    await page.goto(project)
    await expect(page.locator("svg.timeline-svg")).to_be_visible()
    await expect(page.locator("#files")).to_be_visible()
    # the samples and changes sections load after the page: wait for their content
    await expect(page.locator(f"#samples #round-{served.round_id}")).to_be_visible()
    await expect(page.locator("#changes")).to_contain_text("Switch the shade to opal glass")
    await _fits(page, "project", problems)
    # the timeline stays legible: its SVG is drawn at least at 3/4 of its design scale (scrolling in its frame)
    scale = await page.locator("svg.timeline-svg").evaluate(
        "svg => svg.getBoundingClientRect().width / svg.viewBox.baseVal.width"
    )
    if scale < 0.75:
        problems.append(f"project: the timeline is drawn at {scale:.2f} of its size, too small to read")

    pages = [
        ("samples", f"{project}/samples"),
        ("sample-round", f"{project}/samples/{served.round_id}"),
        ("changes", f"{project}/changes"),
        ("change", f"{project}/changes/{served.change_id}"),
        ("spec", f"{project}/spec"),
        ("spec-review", f"{project}/spec/{served.revision_number}"),
        ("spec-diff", f"{project}/spec/diff"),
        ("submit", f"{served.base}/projects/new"),
        ("account", f"{served.base}/account"),
        ("team", f"{served.base}/team"),
        ("notifications", f"{served.base}/notifications"),
        ("billing", f"{served.base}/billing"),
        ("pricing", f"{served.base}/pricing"),
    ]
    for name, url in pages:
        response = await page.goto(url)
        assert response is not None
        assert response.status == 200, f"{name}: {url} answered {response.status}"
        await _fits(page, name, problems)
    # the revision in review: the brand's approve / request-changes form is there to use
    await page.goto(f"{project}/spec/{served.revision_number}")
    await expect(page.locator("form button[type=submit]").first).to_be_visible()

    factory = await context.new_page()
    for name, path in (("factory-zh", served.factory_path), ("factory-en", f"{served.factory_path}?lang=en")):
        response = await factory.goto(served.base + path)
        assert response is not None
        assert response.status == 200
        await _fits(factory, name, problems)
    await context.close()
    assert not problems, "pages that do not fit a 390 px phone:\n" + "\n".join(problems)
