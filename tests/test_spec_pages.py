"""The spec revision pages through HTTP: the coordinator's workspace (editor, lifecycle, diff) and the brand's pages.

One client, one cookie jar per identity (`as_`); rows are arranged through the services in system scope.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.projects.models import Phase
from makeready.specs import service as specs
from makeready.specs.models import RevisionStatus, SpecRevision
from tests.conftest import World, csrf, login

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


class Browser:
    """The shared test client with a cookie jar per identity."""

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client
        self.jars: dict[str, httpx.Cookies] = {}
        self.current = ""

    async def as_(self, email: str) -> None:
        if self.current:
            self.jars[self.current] = httpx.Cookies(self.client.cookies)
        self.current = email
        if email in self.jars:
            self.client.cookies = httpx.Cookies(self.jars[email])
        else:
            self.client.cookies = httpx.Cookies()
            await login(self.client, email)

    async def get(self, url: str) -> httpx.Response:
        return await self.client.get(url, headers={"accept": "text/html"})

    async def post(self, url: str, data: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            url, data={**data, "_csrf_token": csrf(self.client)}, follow_redirects=False
        )


@pytest.fixture
async def browser(client: AsyncTestClient[Litestar]) -> Browser:
    return Browser(client)


@pytest.fixture
async def project_id(engine: AsyncEngine, world: World) -> int:
    """Org A's project, moved to development (arranged directly: the phase gate is tested elsewhere)."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session,
                actor=world.owner_a,
                org_id=world.org_a.id,
                data={"name": "Arc Lamp", "description": "A floor lamp"},
            )
            project.phase = Phase.development
            project.coordinator_id = world.coordinator.id
    return project.id


async def load(engine: AsyncEngine, project_id: int, number: int = 1) -> SpecRevision:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        revision = await session.scalar(
            select(SpecRevision).where(SpecRevision.project_id == project_id, SpecRevision.number == number)
        )
        assert revision is not None
        return revision


def text(prefix: str, en: str, zh: str = "", reviewed: bool = False) -> dict[str, str]:
    out = {f"{prefix}.en": en, f"{prefix}.zh": zh}
    if reviewed:
        out[f"{prefix}.reviewed"] = "1"
    return out


def overview(version: int, **fields: str) -> dict[str, Any]:
    data: dict[str, Any] = {"section": "overview", "version": str(version), "overview.model_number": "AL-1"}
    data.update(
        text("overview.product_name", fields.get("name", "Arc Lamp"), fields.get("name_zh", "弧形灯"), True)
    )
    data.update(text("overview.summary", fields.get("summary", "A floor lamp"), fields.get("summary_zh", "")))
    data.update(text("overview.intended_use", ""))
    return data


async def start(browser: Browser, project_id: int) -> None:
    await browser.as_("coord@agency.test")
    response = await browser.post(f"/coordinator/projects/{project_id}/spec/start", {})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/coordinator/projects/{project_id}/spec/1?done=started"


async def test_coordinator_edits_a_draft(browser: Browser, engine: AsyncEngine, project_id: int) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    page = await browser.get(f"{base}/1")
    assert page.status_code == 200
    assert 'name="overview.product_name.en"' in page.text
    assert "Arc Lamp" in page.text

    response = await browser.post(f"{base}/1/save", overview(1, summary="A floor lamp", summary_zh=""))
    assert response.status_code == 303, response.text
    revision = await load(engine, project_id)
    assert revision.version == 2
    content = revision.content["overview"]
    assert content["product_name"] == {"en": "Arc Lamp", "zh": "弧形灯", "status": "reviewed"}
    assert content["summary"]["status"] == "missing"
    assert content["model_number"] == "AL-1"

    # add a dimension row, then fill it in and save it with both languages and data
    response = await browser.post(
        f"{base}/1/save", {"section": "dimensions", "version": "2", "_add": "dimensions"}
    )
    assert response.status_code == 303
    revision = await load(engine, project_id)
    [row] = revision.content["dimensions"]
    prefix = f"dimensions.{row['id']}"
    data = {
        "section": "dimensions",
        "version": str(revision.version),
        "dimensions[]": row["id"],
        f"{prefix}.value": "1650",
        f"{prefix}.unit": "mm",
        f"{prefix}.tolerance_plus": "2",
        f"{prefix}.tolerance_minus": "1.5",
        **text(f"{prefix}.feature", "Overall height", "总高度"),
    }
    assert (await browser.post(f"{base}/1/save", data)).status_code == 303
    revision = await load(engine, project_id)
    [row] = revision.content["dimensions"]
    assert row["feature"] == {"en": "Overall height", "zh": "总高度", "status": "suggested"}
    assert (row["value"], row["tolerance_minus"]) == ("1650", "1.5")

    page = await browser.get(f"{base}/1")
    assert 'data-status="suggested"' in page.text
    assert 'data-blocker="overview.summary"' in page.text  # English without Chinese blocks issuing

    # remove the row
    data = {
        "section": "dimensions",
        "version": str(revision.version),
        "dimensions[]": row["id"],
        "_remove": prefix,
    }
    assert (await browser.post(f"{base}/1/save", data)).status_code == 303
    assert (await load(engine, project_id)).content["dimensions"] == []


async def test_assembly_steps_are_added_and_moved_and_an_empty_save_says_so(
    browser: Browser, engine: AsyncEngine, project_id: int
) -> None:
    """An assembly step is only a text: an added one is empty, and a move changes no field. Both used to be
    dropped while the page said "The section was saved"."""
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"

    for expected in (1, 2):
        revision = await load(engine, project_id)
        ids = [row["id"] for row in revision.content["assembly"]]
        added = await browser.post(
            f"{base}/1/save",
            {"section": "assembly", "version": str(revision.version), "assembly[]": ids, "_add": "assembly"},
        )
        assert added.status_code == 303
        assert added.headers["location"] == f"{base}/1?done=saved#section-assembly"
        assert len((await load(engine, project_id)).content["assembly"]) == expected

    revision = await load(engine, project_id)
    first, second = (row["id"] for row in revision.content["assembly"])
    fields = {**text(f"assembly.{first}.text", "Press the stem in"), **text(f"assembly.{second}.text", "")}
    data = {"section": "assembly", "version": str(revision.version), "assembly[]": [first, second], **fields}
    moved = await browser.post(f"{base}/1/save", {**data, "_up": f"assembly.{second}"})
    assert moved.headers["location"] == f"{base}/1?done=saved#section-assembly"
    revision = await load(engine, project_id)
    assert [row["id"] for row in revision.content["assembly"]] == [second, first]
    assert revision.content["assembly"][1]["text"]["en"] == "Press the stem in"

    data = {**data, "version": str(revision.version), "assembly[]": [second, first]}
    unchanged = await browser.post(f"{base}/1/save", data)
    assert unchanged.headers["location"] == f"{base}/1?done=unchanged#section-assembly"
    assert (await load(engine, project_id)).version == revision.version
    page = await browser.get(unchanged.headers["location"])
    assert "Nothing was changed in this section." in page.text
    assert "The section was saved." not in page.text


async def test_concurrent_save_is_a_conflict_and_keeps_the_typing(
    browser: Browser, engine: AsyncEngine, project_id: int
) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    first = await browser.post(f"{base}/1/save", overview(1, summary="First save"))
    assert first.status_code == 303
    second = await browser.post(f"{base}/1/save", overview(1, summary="Second typing, not lost"))
    assert second.status_code == 409
    assert "Someone else changed this spec revision" in second.text
    assert "Second typing, not lost" in second.text  # the typed value is in the form again
    assert 'data-form="overview"' in second.text
    revision = await load(engine, project_id)
    assert revision.content["overview"]["summary"]["en"] == "First save"
    assert revision.version == 2


async def test_invalid_values_show_next_to_fields_and_save_nothing(
    browser: Browser, engine: AsyncEngine, project_id: int
) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    data = {
        "section": "finishes",
        "version": "1",
        "finishes[]": "fin1",
        "finishes.fin1.colour_system": "pantone",
        "finishes.fin1.colour_code": "not a code!",
        "finishes.fin1.gloss": "30 GU",
        **text("finishes.fin1.part", "Shade", "灯罩"),
        **text("finishes.fin1.finish", "Powder coat", "x" * 4001),
    }
    response = await browser.post(f"{base}/1/save", data)
    assert response.status_code == 422
    assert 'data-error-for="finishes.fin1.colour_code"' in response.text
    assert "Not a Pantone" in response.text
    assert 'data-error-for="finishes.fin1.finish"' in response.text
    assert "not a code!" in response.text  # typed values are kept

    dims = {
        "section": "dimensions",
        "version": "1",
        "dimensions[]": "d1",
        "dimensions.d1.value": "abc",
        "dimensions.d1.unit": "mm",
        "dimensions.d1.tolerance_plus": "-1",
        "dimensions.d1.tolerance_minus": "0",
        **text("dimensions.d1.feature", "Height"),
    }
    response = await browser.post(f"{base}/1/save", dims)
    assert response.status_code == 422
    assert 'data-error-for="dimensions.d1.tolerance_plus"' in response.text
    assert 'data-error-for="dimensions.d1.value"' in response.text

    quality = {
        "section": "quality",
        "version": "1",
        "quality.inspection_level": "II",
        "quality.aql_critical": "0",
        "quality.aql_major": "3.3",
        "quality.aql_minor": "4.0",
    }
    response = await browser.post(f"{base}/1/save", quality)
    assert response.status_code == 422
    assert 'data-error-for="quality.aql_major"' in response.text

    revision = await load(engine, project_id)
    assert revision.version == 1
    assert revision.content["finishes"] == []
    assert revision.content["dimensions"] == []


async def test_hostile_text_is_shown_as_text(browser: Browser, engine: AsyncEngine, project_id: int) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    response = await browser.post(f"{base}/1/save", overview(1, summary=HOSTILE, summary_zh=HOSTILE))
    assert response.status_code == 303
    page = await browser.get(f"{base}/1")
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    preview = await browser.get(f"{base}/1/preview")
    if preview.status_code == 200:
        assert HOSTILE not in preview.text
        assert "&lt;script&gt;" in preview.text


def fill_all(content: dict[str, Any]) -> dict[str, str]:
    """Form fields that give every English text a reviewed Chinese (the overview section only)."""
    data: dict[str, str] = {}
    for name, value in content["overview"].items():
        if isinstance(value, dict):
            data.update(text(f"overview.{name}", value["en"], value["en"] and "中文" + value["en"], True))
        else:
            data[f"overview.{name}"] = value
    return data


async def test_issue_refused_with_fields_then_issued(
    browser: Browser, engine: AsyncEngine, project_id: int, world: World
) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    assert (
        await browser.post(f"{base}/1/save", overview(1, summary="Lamp", summary_zh=""))
    ).status_code == 303
    assert (await browser.post(f"{base}/1/action", {"action": "submit", "version": "2"})).status_code == 303

    # in review: English is frozen on the page, the Chinese still editable
    page = await browser.get(f"{base}/1")
    assert 'name="overview.summary.en"' not in page.text
    assert 'name="overview.summary.zh"' in page.text

    await browser.as_("owner@acme.test")
    response = await browser.post(
        f"/projects/{project_id}/spec/1/decision", {"decision": "approve", "version": "3"}
    )
    assert response.status_code == 303, response.text

    await browser.as_("coord@agency.test")
    response = await browser.post(f"{base}/1/action", {"action": "issue", "version": "4"})
    assert response.status_code == 409
    assert "Fix these fields before issuing" in response.text
    assert re.search(r"Product overview: Summary: the Chinese is Missing", response.text)
    assert (await load(engine, project_id)).status == RevisionStatus.approved

    revision = await load(engine, project_id)
    data = {"section": "overview", "version": str(revision.version), **fill_all(revision.content)}
    assert (await browser.post(f"{base}/1/save", data)).status_code == 303
    revision = await load(engine, project_id)
    response = await browser.post(f"{base}/1/action", {"action": "issue", "version": str(revision.version)})
    assert response.status_code == 303, response.text
    assert (await load(engine, project_id)).status == RevisionStatus.issued
    page = await browser.get(f"{base}/1")
    assert "<fieldset disabled>" in page.text
    assert "Save Product overview" not in page.text


async def test_english_change_after_review_makes_chinese_stale(
    browser: Browser, engine: AsyncEngine, project_id: int
) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    assert (
        await browser.post(f"{base}/1/save", overview(1, summary="Lamp", summary_zh="灯"))
    ).status_code == 303
    data = overview(2, summary="Lamp", summary_zh="灯")
    data["overview.summary.reviewed"] = "1"
    assert (await browser.post(f"{base}/1/save", data)).status_code == 303
    assert (await load(engine, project_id)).content["overview"]["summary"]["status"] == "reviewed"
    data = overview(3, summary="Floor lamp", summary_zh="灯")
    data["overview.summary.reviewed"] = (
        "1"  # the box was ticked on the page: English changed, so it is stale anyway
    )
    assert (await browser.post(f"{base}/1/save", data)).status_code == 303
    assert (await load(engine, project_id)).content["overview"]["summary"]["status"] == "stale"
    page = await browser.get(f"{base}/1")
    assert 'data-blocker="overview.summary"' in page.text
    assert re.search(r'id="f-overview.summary".*?data-status="stale"', page.text, re.S)


# -- the brand's pages -------------------------------------------------------------------------------------------


def translated(content: dict[str, Any], **overview_en: str) -> dict[str, Any]:
    """A copy of `content` with the overview's English replaced and every text given a reviewed Chinese."""
    content = copy.deepcopy(content)
    for name, value in overview_en.items():
        content["overview"][name]["en"] = value
    for value in content["overview"].values():
        if isinstance(value, dict):
            value["zh"] = "中文" + value["en"] if value["en"] else ""
            value["status"] = "reviewed"
    return content


async def arrange(
    engine: AsyncEngine, world: World, project_id: int, *, to: str, summary: str = "A floor lamp"
) -> int:
    """Revision A issued (summary "Lamp"), and revision B in state `to` with the given summary. Returns B's id."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            a = await specs.start_revision(session, actor=world.coordinator, project_id=project_id)
            await specs.save_content(
                session,
                actor=world.coordinator,
                revision_id=a.id,
                content=translated(a.content, summary="Lamp"),
                expected_version=None,
            )
            for action, actor in (
                ("submit", world.coordinator),
                ("approve", world.owner_a),
                ("issue", world.coordinator),
            ):
                await specs.act(session, action, actor=actor, revision_id=a.id)
            b = await specs.start_revision(session, actor=world.coordinator, project_id=project_id)
            await specs.save_content(
                session,
                actor=world.coordinator,
                revision_id=b.id,
                content=translated(b.content, summary=summary),
                expected_version=None,
            )
            if to != "draft":
                await specs.act(session, "submit", actor=world.coordinator, revision_id=b.id)
    return b.id


async def test_brand_approves_and_viewer_is_refused(
    browser: Browser, engine: AsyncEngine, world: World, project_id: int
) -> None:
    await arrange(engine, world, project_id, to="in_review", summary=HOSTILE)
    base = f"/projects/{project_id}/spec"

    await browser.as_("viewer@acme.test")
    page = await browser.get(f"{base}/2")
    assert page.status_code == 200
    assert 'name="decision"' not in page.text
    assert "Viewers can look but not decide" in page.text
    response = await browser.post(f"{base}/2/decision", {"decision": "approve", "version": "3"})
    assert response.status_code == 403
    assert (await load(engine, project_id, 2)).status == RevisionStatus.in_review

    await browser.as_("member@acme.test")
    page = await browser.get(f"{base}")
    assert page.status_code == 200
    assert 'value="approve"' in page.text
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    # the diff against the issued revision A, in both languages
    assert 'data-path="overview.summary"' in page.text
    assert "中文Lamp" in page.text

    # a comment is required to send it back; the page keeps what was typed
    response = await browser.post(
        f"{base}/2/decision", {"decision": "request_changes", "comment": " ", "version": "3"}
    )
    assert response.status_code == 422
    response = await browser.post(f"{base}/2/decision", {"decision": "approve", "version": "3"})
    assert response.status_code == 303
    revision = await load(engine, project_id, 2)
    assert revision.status == RevisionStatus.approved
    assert revision.approved_by_id == world.member_a.id


async def test_brand_requests_changes(
    browser: Browser, engine: AsyncEngine, world: World, project_id: int
) -> None:
    await arrange(engine, world, project_id, to="in_review")
    await browser.as_("owner@acme.test")
    base = f"/projects/{project_id}/spec"
    response = await browser.post(
        f"{base}/2/decision", {"decision": "request_changes", "comment": "Make it taller", "version": "3"}
    )
    assert response.status_code == 303
    revision = await load(engine, project_id, 2)
    assert (revision.status, revision.review_comment) == (RevisionStatus.draft, "Make it taller")
    # now a draft again: the brand no longer sees it
    assert (await browser.get(f"{base}/2")).status_code == 404
    await browser.as_("coord@agency.test")
    page = await browser.get(f"/coordinator/projects/{project_id}/spec/2")
    assert "Make it taller" in page.text


async def test_drafts_are_invisible_to_brands_and_other_orgs_get_404(
    browser: Browser, engine: AsyncEngine, world: World, project_id: int
) -> None:
    await arrange(engine, world, project_id, to="draft", summary="Secret draft text")
    base = f"/projects/{project_id}/spec"
    await browser.as_("owner@acme.test")
    draft = await browser.get(f"{base}/2")
    missing = await browser.get(f"{base}/99")
    assert draft.status_code == missing.status_code == 404
    page = await browser.get(base)
    assert "Secret draft text" not in page.text
    assert page.status_code == 200
    assert "Revision A" in page.text
    assert (await browser.get(f"{base}/diff?from=A&to=B")).status_code == 404

    await browser.as_("owner@borealis.test")
    for url in (base, f"{base}/1", f"{base}/diff?from=A&to=A"):
        theirs = await browser.get(url)
        assert theirs.status_code == 404, url
        assert "Lamp" not in theirs.text
    response = await browser.post(f"{base}/1/decision", {"decision": "approve"})
    assert response.status_code == 404


async def test_diff_page_shows_changed_fields_in_both_languages(
    browser: Browser, engine: AsyncEngine, world: World, project_id: int
) -> None:
    await arrange(engine, world, project_id, to="in_review", summary="A taller floor lamp")
    await browser.as_("coord@agency.test")
    page = await browser.get(f"/coordinator/projects/{project_id}/spec/diff?from=A&to=B")
    assert page.status_code == 200
    row = re.search(r'<tr class="sf-changed" data-path="overview.summary".*?</tr>', page.text, re.S)
    assert row is not None
    assert "Product overview: Summary" in row.group(0)
    for value in ("Lamp", "中文Lamp", "A taller floor lamp", "中文A taller floor lamp"):
        assert f">{value}<" in row.group(0)
    assert (await browser.get(f"/coordinator/projects/{project_id}/spec/diff?from=A&to=Z")).status_code == 404

    await browser.as_("owner@acme.test")
    page = await browser.get(f"/projects/{project_id}/spec/diff?from=A&to=B")
    assert page.status_code == 200
    assert 'data-path="overview.summary"' in page.text
