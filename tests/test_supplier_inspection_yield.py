"""The staff supplier page shows the factory's first-pass inspection yield (issue #13 item 6): the share of its
lots whose first final inspection passed, hand-computed here; "no inspections yet" rather than 0% without data."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.production import lots as lot_service
from makeready.quality import inspections as qc
from tests.conftest import World, login
from tests.production_support import make_order
from tests.quality_support import Produced, add_defects, arrange_quality_project, inspection_in_progress
from tests.test_quality_pages import people_of
from tests.workflow_support import People, call_as, session_as


def yield_cell(html: str) -> str:
    match = re.search(r'<dd class="inspection-yield">(.*?)</dd>', html, flags=re.S)
    assert match, "no inspection yield on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


async def inspect(engine: AsyncEngine, people: People, produced: Produced, *, majors: int, key: str) -> None:
    inspection = await inspection_in_progress(engine, people, produced)
    await add_defects(engine, people, inspection.id, "major", majors)
    await call_as(
        engine, people, people.coordinator, qc.submit_inspection, inspection_id=inspection.id, submit_key=key
    )


async def test_the_supplier_page_shows_the_first_pass_inspection_yield_or_none_yet(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    arranged = await arrange_quality_project(engine, people)
    order, lots, token = await make_order(
        engine, people, arranged, quantity=3000, lots=[1000, 1000, 1000], state="accepted"
    )
    assert token is not None
    await login(client, world.coordinator.email)
    url = f"/coordinator/suppliers/{arranged.supplier.id}"
    # an order but no inspection: no figure, not 0%
    assert yield_cell((await client.get(url)).text) == "No inspections yet"
    produced = []
    for lot in lots:
        await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lot.id)
        async with session_as(engine, people, people.coordinator) as session:
            loaded = await lot_service.load_lot(session, lot.id)
            await lot_service.report_progress(
                session,
                lot=loaded,
                counts={step: 1000 for step in ("cut", "assembled", "finished", "packed")},
                actor=people.coordinator,
            )
        produced.append(Produced(arranged, order, loaded, token))
    # lot 1 passes, lot 2 fails (8 majors), lot 3 is being inspected: a started inspection has no verdict yet
    await inspect(engine, people, produced[0], majors=0, key="l1")
    await inspect(engine, people, produced[1], majors=8, key="l2")
    third = await inspection_in_progress(engine, people, produced[2])
    assert yield_cell((await client.get(url)).text) == "50% 1 of 2 lots passed their first final inspection"
    # lot 3 passes: 2 of 3
    await call_as(
        engine, people, people.coordinator, qc.submit_inspection, inspection_id=third.id, submit_key="l3"
    )
    page = await client.get(url)
    assert page.status_code == 200
    assert yield_cell(page.text) == "67% 2 of 3 lots passed their first final inspection"
    # another factory with no inspections shows none, and a brand cannot open the page
    other = await arrange_quality_project(engine, people)
    assert yield_cell((await client.get(f"/coordinator/suppliers/{other.supplier.id}")).text) == (
        "No inspections yet"
    )
    await login(client, world.owner_a.email)
    refused = await client.get(url, follow_redirects=False)
    assert refused.status_code in (302, 303, 403, 404)
    assert "lots passed their first final inspection" not in refused.text
