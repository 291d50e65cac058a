"""A person in a real browser (Playwright driving Debian's Chromium) against `makeready serve` on the demo data.

Screenshots go to test-artifacts/ so a reviewer can look at what the pages showed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser_support import ARTIFACTS, ROOT, chromium
from tests.conftest import ServedDemo

pytestmark = pytest.mark.browser

PASSWORD = "demo-password-1"
BRAND = "maya@lumenandoak.example"
BRAND_MEMBER = "tom@lumenandoak.example"
COORDINATOR = "chen.wei@makeready-agency.example"


@pytest.fixture(scope="module")
def demo_home(shared_demo: ServedDemo) -> Path:
    """The folder of the served demo's database (demo.db) and files (media/)."""
    return shared_demo.home


@pytest.fixture(scope="module")
def server(shared_demo: ServedDemo) -> str:
    """The real CLI: the demo agency seeded by `makeready demo` (once per run), served by `makeready serve`."""
    return shared_demo.base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


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

    # the same drawing again, from the project page: its second version
    await page.set_input_files("#files [data-upload-input]", [str(drawing)])
    await page.click("#files [data-upload-start]")
    await expect(page.locator("#files .upload-item.done")).to_have_count(1, timeout=30_000)
    await page.locator("#files [data-upload-continue]").click()
    await expect(files.get_by_role("link", name=f"Download version 2 of {drawing.name}")).to_be_visible()
    await expect(files.get_by_role("link", name=f"Download version 1 of {drawing.name}")).to_be_visible()

    await page.click("button[name=locale][value=zh_Hans]")
    await expect(page.locator("#milestones-heading")).to_have_text("里程碑")
    await expect(page.locator("#files-heading")).to_have_text("文件")
    await expect(page.locator("#log")).to_contain_text("Tom Okafor 提交了产品。")
    await _shot(page, "portal-project-submitted-zh")


async def _received_rounds(home: Path) -> dict[str, tuple[int, int]]:
    """The demo has no sample rounds: through the services, against the served database and media folder, give
    Tide Table Lamp a rejected round 1 and a received round 2 (photos of both), and Arc Pendant 40 a received
    round 1. Returns (project id, round id) of each round awaiting the brand's decision."""
    from sqlalchemy import select

    from makeready.accounts.models import User
    from makeready.db.session import get_engine, make_sessionmaker
    from makeready.db.tenancy import Scope, set_scope
    from makeready.projects.models import Project
    from makeready.samples.lifecycle import decide_sample_round
    from makeready.settings import StorageSettings
    from makeready.storage.local import LocalStorage
    from tests.sample_data import sample_round

    storage = LocalStorage(StorageSettings(media_root=home / "media"), secret_key="unused-for-writes")
    engine = get_engine(f"sqlite+aiosqlite:///{home / 'demo.db'}")
    out: dict[str, tuple[int, int]] = {}
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            chen = await session.scalar(select(User).where(User.email == COORDINATOR))
            maya = await session.scalar(select(User).where(User.email == BRAND))
            assert chen is not None
            assert maya is not None
            for name, earlier in (("Tide Table Lamp", 1), ("Arc Pendant 40", 0)):
                project = await session.scalar(select(Project).where(Project.name == name))
                assert project is not None
                for _ in range(earlier):
                    old = await sample_round(
                        session,
                        project=project,
                        coordinator=chen,
                        photos=2,
                        notes="Brass tone check.",
                        storage=storage,
                    )
                    await decide_sample_round(
                        session, actor=maya, round_id=old.id, decision="reject", comment="Shade too yellow."
                    )
                sample = await sample_round(
                    session,
                    project=project,
                    coordinator=chen,
                    photos=3,
                    notes="Final finish; the diffuser sits flush now.",
                    storage=storage,
                )
                out[name] = (project.id, sample.id)
    return out


async def test_brand_approves_one_sample_round_and_rejects_another(
    server: str, demo_home: Path, browser: Browser
) -> None:
    """Two received rounds made through the services before the browser starts; the brand's owner looks at the
    newest round beside the one before it on the project page, opens a photo in the viewer (arrow keys, Escape),
    approves it, then rejects the other round from its own page with a comment pinned to a photo."""
    rounds = await _received_rounds(demo_home)
    tide_project, tide_round = rounds["Tide Table Lamp"]
    arc_project, arc_round = rounds["Arc Pendant 40"]

    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/login")
    await page.fill("input[name=email]", BRAND)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.click("button[name=locale][value=en]")  # an earlier test left this user in Chinese
    await expect(page.locator(".bell-count")).to_be_visible()  # the rounds arrived: the brand was told

    # the project page loads its samples section: round 2 beside round 1, with the decision form
    await page.goto(f"{server}/projects/{tide_project}#samples")
    section = page.locator("#samples")
    await expect(section.locator(".decision-form")).to_be_visible()
    await expect(section.locator(".compare.two .sample-round")).to_have_count(2)
    await expect(section).to_contain_text("Previous round")
    await expect(section).to_contain_text("Shade too yellow.")
    thumbs = section.locator(f"#round-{tide_round} .gallery-photo img")
    await expect(thumbs).to_have_count(3)
    for i in range(3):  # really decoded images, made by the server
        await thumbs.nth(i).scroll_into_view_if_needed()
        await expect(thumbs.nth(i)).to_have_js_property("naturalWidth", 480)
    await _shot(page, "portal-samples-compare-en")

    # the viewer: click a thumbnail, move with the arrow keys, close with Escape
    await section.locator(f"#round-{tide_round} a.gallery-open").first.click()
    viewer = page.locator(".viewer")
    await expect(viewer).to_be_visible()
    await expect(viewer.locator(".viewer-count")).to_have_text("1 / 3")
    await expect(viewer.locator("img")).to_have_js_property("naturalWidth", 1200)
    await page.keyboard.press("ArrowRight")
    await expect(viewer.locator(".viewer-count")).to_have_text("2 / 3")
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowLeft")
    await expect(viewer.locator(".viewer-count")).to_have_text("3 / 3")
    await _shot(page, "portal-samples-viewer")
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()

    await section.locator("input[name=decision][value=approve]").check()
    await section.locator("textarea[name=comment]").fill("Brass tone and diffuser are right.")
    await section.locator(".decision-form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(rf"/projects/{tide_project}#samples$"))
    approved = page.locator(f"#samples #round-{tide_round}")
    await expect(approved.locator(".sample-status")).to_have_text("Approved")
    await expect(approved).to_contain_text("Approved by Maya Lindqvist")
    await expect(page.locator("#samples .decision-form")).to_have_count(0)
    await _shot(page, "portal-samples-approved-en")

    # the other round, on its own page: a rejection needs a comment before the form is sent
    await page.goto(f"{server}/projects/{arc_project}/samples/{arc_round}")
    await expect(page.locator("h1")).to_contain_text("Sample round 2 of Arc Pendant 40")
    form = page.locator(f"#decide-{arc_round}")
    await page.locator(f"#round-{arc_round} input[name=pinned_photo_ids]").nth(1).check()
    await form.locator("input[name=decision][value=reject]").check()
    await form.locator("button[type=submit]").click()
    assert await form.locator("textarea[name=comment]").evaluate("t => t.validity.valueMissing")
    await expect(page).to_have_url(re.compile(rf"/samples/{arc_round}$"))  # not sent
    await form.locator("textarea[name=comment]").fill(
        "The canopy screws show <b>scratches</b>; see the second photo."
    )
    await form.locator("button[type=submit]").click()
    rejected = page.locator(f"#round-{arc_round}")
    await expect(rejected.locator(".sample-status")).to_have_text("Rejected")
    await expect(rejected).to_contain_text("Rejected by Maya Lindqvist")
    await expect(rejected.locator(".comment")).to_have_text(
        "The canopy screws show <b>scratches</b>; see the second photo."  # typed markup stays text
    )
    await expect(rejected.locator(".gallery-photo.is-pinned")).to_have_count(1)
    await _shot(page, "portal-samples-rejected-en")

    await page.click("button[name=locale][value=zh_Hans]")
    await expect(rejected.locator(".sample-status")).to_have_text("已驳回")
    await _shot(page, "portal-samples-rejected-zh")
    await page.goto(f"{server}/projects/{arc_project}")
    await expect(page.locator("#log")).to_contain_text("Maya Lindqvist")
    await _shot(page, "portal-project-decision-log-zh")


async def test_coordinator_runs_projects_from_the_board(server: str, browser: Browser) -> None:
    """Signed in at /admin/ only, the demo coordinator opens the board, puts a development project on hold and
    resumes it, then finishes Arc Pendant 40's standard production milestones on its page and finds the delivery
    gate still closed by its running order's time-and-action steps."""
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/admin/")
    await page.locator("input[type=text]").first.fill(COORDINATOR)
    await page.locator("input[type=password]").first.fill(PASSWORD)
    await page.get_by_role("button", name=re.compile("log ?in", re.IGNORECASE)).click()
    await expect(page.get_by_text("projects", exact=False).first).to_be_visible()

    await page.goto(f"{server}/coordinator/board")  # the back-office session is enough
    await expect(page.locator("h1")).to_have_text("Board")
    production = page.locator("section.column[data-phase=production]")
    await expect(production.locator("article.board-card", has_text="Arc Pendant 40")).to_be_visible()
    await expect(page.locator("section.column[data-phase=on_hold]")).to_contain_text("Lantern Mini")
    await _shot(page, "coordinator-board-en")

    # hold and resume: the card moves to "On hold" and back
    await page.locator("section.column[data-phase=development] a", has_text="Stormfront Roll-top 20L").click()
    await expect(page.locator("h1 .phase")).to_have_text("Development")
    hold = page.locator("form[data-action=hold]")
    await hold.locator("textarea[name=reason]").fill("The brand is renegotiating the fabric price.")
    await hold.locator("button[type=submit]").click()
    await expect(page.locator("h1 .phase")).to_have_text("On hold")
    await expect(page.locator("[role=status]")).to_have_text("The project is on hold.")
    await page.goto(f"{server}/coordinator/board")
    await expect(page.locator("section.column[data-phase=on_hold]")).to_contain_text(
        "Stormfront Roll-top 20L"
    )
    await page.locator("section.column[data-phase=on_hold] a", has_text="Stormfront Roll-top 20L").click()
    await page.locator("form[data-action=resume] button[type=submit]").click()
    await expect(page.locator("h1 .phase")).to_have_text("Development")

    # Arc Pendant 40 cannot be delivered while production milestones are open: finishing the standard ones is not
    # enough while its production order's time-and-action steps run (the demo's order is mid-production)
    await page.goto(f"{server}/coordinator/board")
    await production.locator("a", has_text="Arc Pendant 40").click()
    await expect(page.locator("h1 .phase")).to_have_text("Production")
    advance = page.locator("form[data-action=advance]")
    await expect(advance).to_contain_text("These production milestones are not done")
    await _shot(page, "coordinator-project-gate-closed-en")
    for title, steps in (
        ("Production run", ("complete",)),
        ("Final inspection", ("start", "complete")),
        ("Shipment", ("start", "complete")),
    ):
        for step in steps:
            row = page.locator("#milestones tbody tr", has_text=title).filter(
                has_not_text="Final random inspection"
            )
            await row.locator(f"button[name=action][value={step}]").click()
            await expect(page.locator("[role=status]")).to_have_text("The milestone was updated.")
        await expect(
            page.locator("#milestones tbody tr", has_text=title).filter(
                has_not_text="Final random inspection"
            )
        ).to_have_attribute("data-status", "done")
    await expect(advance).to_contain_text("These production milestones are not done")
    await expect(advance).to_contain_text("Final random inspection")
    await expect(page.locator("h1 .phase")).to_have_text("Production")

    # the project stays on the board while its order runs
    await page.goto(f"{server}/coordinator/board")
    await expect(page.locator("h1")).to_have_text("Board")
    await expect(production.locator("article.board-card", has_text="Arc Pendant 40")).to_have_count(1)
    await _shot(page, "coordinator-board-after-en")


async def _coordinator_page(server: str, browser: Browser) -> Page:
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/admin/")
    await page.locator("input[type=text]").first.fill(COORDINATOR)
    await page.locator("input[type=password]").first.fill(PASSWORD)
    await page.get_by_role("button", name=re.compile("log ?in", re.IGNORECASE)).click()
    await expect(page.get_by_text("projects", exact=False).first).to_be_visible()
    return page


async def test_coordinator_moves_and_adds_assembly_steps_in_the_spec_editor(
    server: str, browser: Browser
) -> None:
    """Moving a row and "Add a row" change the draft, and the page says so only when something changed."""
    from makeready.demo import SPEC_DEMO_PROJECT

    page = await _coordinator_page(server, browser)
    await page.goto(f"{server}/coordinator/board")
    await page.locator("article.board-card a", has_text=SPEC_DEMO_PROJECT).first.click()
    await page.locator("a", has_text="Specification").first.click()
    section = page.locator("#section-assembly")
    steps = section.locator(".sf-row textarea[name$='.text.en'], .sf-row input[name$='.text.en']")
    first_three = [await steps.nth(i).input_value() for i in range(3)]
    assert first_three[0].startswith("Press the stem")

    # the second step moves up: it is first now, and the page says the section was saved
    await section.locator(".sf-row").nth(1).locator("button[name=_down], button[name=_up]").first.click()
    await expect(page.locator("[role=status]")).to_have_text("The section was saved.")
    section = page.locator("#section-assembly")
    steps = section.locator(".sf-row textarea[name$='.text.en'], .sf-row input[name$='.text.en']")
    await expect(steps.nth(0)).to_have_value(first_three[1])
    await expect(steps.nth(1)).to_have_value(first_three[0])

    # "Add a row" adds an empty fourth step
    count = await section.locator(".sf-row").count()
    await section.locator("button[name=_add][value=assembly]").click()
    section = page.locator("#section-assembly")
    await expect(section.locator(".sf-row")).to_have_count(count + 1)
    await expect(page.locator("[role=status]")).to_have_text("The section was saved.")
    await _shot(page, "coordinator-spec-assembly-moved")

    # saving without changing anything does not claim a save
    await section.get_by_role("button", name="Save Assembly notes").click()
    await expect(page.locator("[role=status]")).to_have_text("Nothing was changed in this section.")
    await page.close()


# Run with the server's database: the demo's "Halo Wall Sconce" gets a completed feasibility review (arranged
# directly: completing a review is the feasibility workspace's test), so the brand is asked for the go-ahead.
COMPLETE_REVIEW = r"""
import asyncio
from sqlalchemy import select
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.feasibility.models import FeasibilityReview
from makeready.projects.models import Project
from makeready.workflow import waiting_flags


async def main():
    async with unit_of_work(Scope.system()) as session:
        project = await session.scalar(select(Project).where(Project.name == "Halo Wall Sconce"))
        review = await session.scalar(select(FeasibilityReview).where(FeasibilityReview.project_id == project.id))
        if review is None:
            review = FeasibilityReview(org_id=project.org_id, project_id=project.id)
            session.add(review)
        review.summary = "Feasible in spun aluminium; the ring diffuser needs a second supplier."
        review.completed_at = utcnow()
        await session.flush()
        # written directly, past the services and their events: recompute what the project waits on
        await waiting_flags.refresh(session, [project.id])


asyncio.run(main())
"""


@pytest.fixture
def review_completed(server: str, demo_home: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{demo_home / 'demo.db'}",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-c", COMPLETE_REVIEW], env=env, check=True, capture_output=True, cwd=ROOT
    )


@pytest.mark.usefixtures("review_completed")
async def test_brand_gives_the_go_ahead_from_the_dashboard(server: str, browser: Browser) -> None:
    """ "Waiting on you: go-ahead for development" leads to the button; a click lands in the decision log."""
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{server}/login")
    await page.fill("input[name=email]", BRAND)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    if await page.locator("button[name=locale][value=en]").count():  # an earlier test left her in Chinese
        await page.click("button[name=locale][value=en]")
    await expect(page.locator("h1")).to_have_text("Projects")

    await page.locator("a.badge", has_text="Go-ahead for development").first.click()
    await expect(page).to_have_url(re.compile(r"/projects/\d+#feasibility$"))
    await expect(page.locator("h1")).to_contain_text("Halo Wall Sconce")
    section = page.locator("#feasibility")
    await section.locator("textarea[name=reason]").fill("The cost per unit works for us.")
    await section.get_by_role("button", name="Give the go-ahead for development").click()

    await expect(page.locator("#feasibility [role=status]")).to_have_text(
        "You gave the go-ahead for development."
    )
    assert await page.locator("#feasibility form").count() == 0
    log = page.locator("#log")
    await expect(log).to_contain_text("gave the go-ahead for development.")
    await expect(log).to_contain_text("The cost per unit works for us.")
    await _shot(page, "portal-go-ahead-given")
    await page.goto(f"{server}/")
    assert await page.locator("a.badge", has_text="Go-ahead for development").count() == 0
    await page.close()
