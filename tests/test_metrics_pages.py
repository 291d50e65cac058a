"""The figures where people read them: the agency dashboard (staff only, filters, CSV with formula cells
escaped, a fixed number of statements) and a project's figures for its brand (another organization's: 404)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pypdf
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.types import frozen_clock
from makeready.projects.models import Project
from makeready.samples.models import SampleRound
from makeready.specs import pdf
from makeready.suppliers.models import Supplier
from tests.conftest import World, login
from tests.test_backoffice_forms import people_of
from tests.test_metrics import day, event, sample_story
from tests.test_query_counts import count_statements
from tests.workflow_support import People, make_project, system

Client = AsyncTestClient[Litestar]
PERIOD = "start=2026-01&end=2026-03"


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


async def story(engine: AsyncEngine, people: People) -> tuple[Project, Project]:
    with frozen_clock(day(-1)):  # the projects began before their story
        p = await make_project(engine, people, name="Arc Pendant")
        q = await make_project(engine, people, name="Tote", org="b")
    await sample_story(engine, p, q)
    return p, q


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_the_dashboard_shows_the_figures_and_filters_by_client(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    _p, _q = await story(engine, people)
    await login(client, world.coordinator.email)
    page = await client.get(f"/coordinator/metrics?{PERIOD}")
    assert page.status_code == 200
    html = page.text
    assert "Sample approval" in html
    assert "Arc Pendant" in html
    assert "Tote" in html
    assert "2 projects" in html
    got = await client.get(f"/coordinator/metrics/export.csv?table=latency&{PERIOD}")
    assert got.status_code == 200, got.text[-3000:]
    latency = rows_of(got.text)
    assert latency[0][:4] == ["Decision", "Waits on", "Decisions made", "Median (days)"]
    assert ["Sample approval", "The brand", "3", "1.0", "2.0", "0"] in latency
    only_b = await client.get(f"/coordinator/metrics?{PERIOD}&client={people.org_b.id}")
    assert "Tote" in only_b.text
    assert "Arc Pendant" not in only_b.text
    first = rows_of(
        (
            await client.get(
                f"/coordinator/metrics/export.csv?table=first_pass&{PERIOD}&client={people.org_b.id}"
            )
        ).text
    )
    assert first[1] == ["Sample approval", "1", "1", "100.0"]


async def test_a_period_without_data_says_so(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    await story(engine, people)
    await login(client, world.coordinator.email)
    html = (await client.get("/coordinator/metrics?start=2024-01&end=2024-06")).text
    assert "No figures for this period" in html
    assert "No decisions were asked for or made in this period." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-13", "Write months as YYYY-MM"),
        ("start=junk", "Write months as YYYY-MM"),
        ("start=2026-05&end=2026-01", "The period ends before it starts"),
        ("start=2020-01&end=2026-01", "at most 36 months"),
    ],
)
async def test_bad_filters_are_refused_clearly(
    client: Client, world: World, query: str, message: str
) -> None:
    await login(client, world.coordinator.email)
    response = await client.get(f"/coordinator/metrics?{query}")
    assert response.status_code == 422
    assert message in response.text


@pytest.mark.parametrize(
    "query", ["client=99999999999", "client=-1", "factory=0", "page=0", "start=2026-011111"]
)
async def test_out_of_range_ids_are_refused(client: Client, world: World, query: str) -> None:
    await login(client, world.coordinator.email)
    assert (await client.get(f"/coordinator/metrics?{query}")).status_code == 400


async def test_csv_escapes_formula_cells(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    p, _q = await story(engine, people)
    async with system(engine) as session:
        project = await session.scalar(select(Project).where(Project.id == p.id))
        assert project is not None
        project.name = '=HYPERLINK("http://evil.test","x")'
    for name in ("+1", "-2", "@SUM(A1)"):
        other = await make_project(engine, people, name=name)
        await event(engine, other, day(1), "question.asked", "question", other.id + 1000)
    await login(client, world.coordinator.email)
    response = await client.get(f"/coordinator/metrics/export.csv?table=projects&{PERIOD}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    names = [row[0] for row in rows_of(response.text)[1:]]
    assert '\'=HYPERLINK("http://evil.test","x")' in names
    assert {"'+1", "'-2", "'@SUM(A1)"} <= set(names)
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
    assert (await client.get(f"/coordinator/metrics/export.csv?table=secrets&{PERIOD}")).status_code == 404


async def test_brands_cannot_open_the_dashboard(client: Client, engine: AsyncEngine, world: World) -> None:
    await login(client, world.owner_a.email)
    for path in ("/coordinator/metrics", "/coordinator/metrics/export.csv?table=projects"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303, 401, 403, 404), path
        assert "Arc Pendant" not in response.text


async def test_the_dashboard_reads_a_fixed_number_of_statements(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    await story(engine, people)
    await login(client, world.coordinator.email)
    await client.get(f"/coordinator/metrics?{PERIOD}")
    with count_statements(engine) as small:
        await client.get(f"/coordinator/metrics?{PERIOD}")
    for n in range(12):
        extra = await make_project(engine, people, name=f"More {n}")
        await event(engine, extra, day(n), "question.asked", "question", 5000 + n)
        await event(engine, extra, day(n + 1), "question.answered", "question", 5000 + n)
        await event(engine, extra, day(n), "sample_round.received", "sample_round", 6000 + n)
    with count_statements(engine) as large:
        await client.get(f"/coordinator/metrics?{PERIOD}")
    assert len(large) == len(small), large


async def test_the_brand_reads_its_own_project_figures_only(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    p, q = await story(engine, people)
    await login(client, world.owner_a.email)
    page = await client.get(f"/projects/{p.id}/figures")
    assert page.status_code == 200
    assert "Sample approval" in page.text
    assert "Arc Pendant" in page.text
    latency = rows_of((await client.get(f"/projects/{p.id}/figures.csv?table=latency")).text)
    # P's two rounds only: 2 days and 1 day (Q's half day is another client's)
    assert ["Sample approval", "The brand", "2", "1.0", "2.0", "0"] in latency
    project_page = await client.get(f"/projects/{p.id}")
    assert f'href="/projects/{p.id}/figures"' in project_page.text
    for path in (f"/projects/{q.id}/figures", f"/projects/{q.id}/figures.csv?table=latency"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Tote" not in response.text
    assert (await client.get(f"/projects/{p.id}/figures.csv?table=other")).status_code == 404


async def test_the_supplier_page_shows_its_scorecard_and_the_dashboard_filters_by_factory(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    with frozen_clock(day(-1)):
        p = await make_project(engine, people, name="Arc Pendant")
        q = await make_project(engine, people, name="Tote", org="b")
    async with system(engine) as session:
        maker, idle = Supplier(name_en="Foshan Metalworks"), Supplier(name_en="Idle Works")
        session.add_all([maker, idle])
        await session.flush()
        sample = SampleRound(
            org_id=p.org_id, project_id=p.id, number=1, supplier_id=maker.id, pinned_photo_ids=[]
        )
        session.add(sample)
        await session.flush()
        maker_id, idle_id, sample_id = maker.id, idle.id, sample.id
    await event(engine, p, day(0), "sample_round.requested", "sample_round", sample_id)
    await event(engine, p, day(3), "sample_round.received", "sample_round", sample_id)
    await event(engine, p, day(4), "sample_round.approved", "sample_round", sample_id)
    await event(engine, q, day(1), "question.asked", "question", 1)
    await login(client, world.coordinator.email)
    html = (await client.get(f"/coordinator/suppliers/{maker_id}")).text
    card = html.split("<h2>Scorecard</h2>", 1)[1].split("</section>", 1)[0]
    assert "Sample making and shipping" in card
    assert '<td class="num">3.0</td>' in card
    assert "Samples approved in the first round" in card
    assert "100%" in card
    idle_html = (await client.get(f"/coordinator/suppliers/{idle_id}")).text
    assert "No figures yet" in idle_html
    filtered = (await client.get(f"/coordinator/metrics?{PERIOD}&factory={maker_id}")).text
    assert "Arc Pendant" in filtered
    assert "Tote" not in filtered


@pytest.fixture
def _pdf_pool() -> Iterator[None]:
    yield
    pdf.shutdown_pool()


@pytest.mark.usefixtures("_pdf_pool")
async def test_the_dashboard_as_a_pdf_report_in_english_and_chinese(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    await story(engine, people)
    await login(client, world.coordinator.email)
    english = await client.get(f"/coordinator/metrics/pdf?{PERIOD}&client={people.org_b.id}&lang=en")
    assert english.status_code == 200
    assert english.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(english.content)).pages)
    assert "Coordination figures" in text
    assert "Sample approval" in text
    assert "Tote" in text
    assert "Arc Pendant" not in text  # another client, filtered out
    chinese = await client.get(f"/coordinator/metrics/pdf?{PERIOD}&lang=zh_Hans")
    assert chinese.status_code == 200
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(chinese.content)).pages)
    assert "协调数据" in text
    assert "样品审批" in text
    refused = await client.get(f"/coordinator/metrics/pdf?{PERIOD}&lang=fr")
    assert refused.status_code == 422
    assert "Choose the report" in refused.text


async def test_the_project_figures_read_a_fixed_number_of_statements(
    client: Client, engine: AsyncEngine, world: World, people: People
) -> None:
    p, _q = await story(engine, people)
    await login(client, world.owner_a.email)
    await client.get(f"/projects/{p.id}/figures")
    with count_statements(engine) as small:
        assert (await client.get(f"/projects/{p.id}/figures")).status_code == 200
    for n in range(10):
        await event(engine, p, day(20 + n), "question.asked", "question", 7000 + n)
        await event(engine, p, day(21 + n), "question.answered", "question", 7000 + n)
        await event(engine, p, day(20 + n), "spec_revision.submitted", "spec_revision", 8000 + n)
    with count_statements(engine) as large:
        assert (await client.get(f"/projects/{p.id}/figures")).status_code == 200
    assert len(large) == len(small), large
