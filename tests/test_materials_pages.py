"""Materials pages through HTTP: the coordinator's order page and agency overview, the brand's page (no agency
costs, another organization's order is a 404) with its free-issue form, the factory's in-house form under its
production link; who may open them."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.materials.explosion import requirements_of
from makeready.materials.readiness import Readiness, lines_of
from tests import production_support
from tests.conftest import World, csrf, login
from tests.production_support import arrange_project, in_days, make_order
from tests.test_spec_pages import Browser, browser, load, project_id, start, text  # noqa: F401  (fixtures)
from tests.workflow_support import People, session_as, system

Client = AsyncTestClient[Litestar]

BOM: list[dict[str, Any]] = [
    {
        "part": {"en": "Shade"},
        "material": {"en": "Screw M3", "zh": "M3螺丝"},
        "material_code": "SCR-M3",
        "quantity": "4",
        "unit": "pcs",
        "supplied_by": "agency",
        "material_supplier": "Ningbo Fasteners",
    },
    {
        "part": {"en": "Cord"},
        "material": {"en": "Power cord", "zh": "电源线"},
        "quantity": "1",
        "unit": "pcs",
        "supplied_by": "brand",
    },
    {
        "part": {"en": "Base"},
        "material": {"en": "Oak", "zh": "橡木"},
        "quantity": "1",
        "unit": "pcs",
        "supplied_by": "factory",
    },
]


def people_of(world: World) -> People:
    return People(
        org_a=world.org_a,
        org_b=world.org_b,
        owner_a=world.owner_a,
        member_a=world.member_a,
        viewer_a=world.viewer_a,
        owner_b=world.owner_b,
        coordinator=world.coordinator,
        coordinator2=world.coordinator,
        admin=world.admin,
    )


@pytest.fixture
async def arranged_order(engine: AsyncEngine, world: World) -> tuple[People, Any, str]:
    people = people_of(world)
    saved = production_support.BOM
    production_support.BOM = BOM
    try:
        arranged = await arrange_project(engine, people)
    finally:
        production_support.BOM = saved
    order, _lots, token = await make_order(
        engine, people, arranged, state="accepted", materials_in_house=False
    )
    assert token is not None
    return people, order, token


async def requirement_ids(engine: AsyncEngine, order_id: int) -> dict[str, int]:
    async with system(engine) as session:
        return {r.description_en: r.id for r in await requirements_of(session, order_id)}


async def test_the_coordinator_sees_readiness_filters_and_buys(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    people, order, _token = arranged_order
    await login(client, world.coordinator.email)
    page = await client.get(f"/coordinator/orders/{order.id}/materials")
    assert page.status_code == 200
    assert "Screw M3" in page.text
    assert 'data-readiness="not_ordered"' in page.text
    ids = await requirement_ids(engine, order.id)
    created = await client.post(
        f"/coordinator/orders/{order.id}/materials/purchase-orders",
        data={
            "requirement_id": str(ids["Screw M3"]),
            f"quantity_{ids['Screw M3']}": "12000",
            f"cost_{ids['Screw M3']}": "0.0123",
            "supplier_name": "Ningbo Fasteners",
            "eta": in_days(1).isoformat(),
            "_csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert created.status_code in (302, 303), created.text
    page = await client.get(f"/coordinator/orders/{order.id}/materials")
    assert "MPO-" in page.text
    assert "0.0123" in page.text
    # an absurd quantity is refused with its message, nothing written
    refused = await client.post(
        f"/coordinator/orders/{order.id}/materials/purchase-orders",
        data={
            "requirement_id": str(ids["Screw M3"]),
            f"quantity_{ids['Screw M3']}": "-4",
            "supplier_name": "X",
            "_csrf_token": csrf(client),
        },
    )
    assert refused.status_code == 422
    # the filter "not ready" hides what is in house
    async with session_as(engine, people, None) as session:
        from makeready.materials.supply import confirm_in_house
        from makeready.production.common import load_order

        await confirm_in_house(
            session, order=await load_order(session, order.id), requirement_id=ids["Oak"], quantity="3000"
        )
    everything = await client.get(f"/coordinator/orders/{order.id}/materials")
    assert 'data-readiness="in_house"' in everything.text
    not_ready = await client.get(f"/coordinator/orders/{order.id}/materials?not_ready=true")
    assert 'data-readiness="in_house"' not in not_ready.text
    overview = await client.get("/coordinator/materials")
    assert overview.status_code == 200
    assert 'data-kind="shortage.not_ordered"' in overview.text
    assert "MPO-" in overview.text  # its ETA is within 14 days


async def test_the_brand_sees_readiness_and_owners_without_costs_and_records_free_issue(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    people, order, _token = arranged_order
    await login(client, world.owner_a.email)
    page = await client.get(f"/orders/{order.id}/materials")
    assert page.status_code == 200
    assert "Power cord" in page.text
    assert "Ningbo Fasteners" not in page.text  # the agency's supplier and costs stay internal
    assert 'data-kind="shortage.not_ordered"' in page.text
    ids = await requirement_ids(engine, order.id)
    recorded = await client.post(
        f"/orders/{order.id}/materials/free-issue",
        data={
            "requirement_id": str(ids["Power cord"]),
            "quantity": "3000",
            "eta": in_days(1).isoformat(),
            "tracking": "SF1234",
            "_csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert recorded.status_code in (302, 303), recorded.text
    async with session_as(engine, people, people.owner_a) as session:
        states = {line.requirement.description_en: line.state for line in await lines_of(session, order.id)}
    assert states["Power cord"] == Readiness.in_transit
    # a lot started without its materials, with the coordinator's reason: the brand sees why
    from makeready.production import lots as lot_service
    from tests.workflow_support import call_as

    async with system(engine) as session:
        first = (await lot_service.lots_of(session, order.id))[0]
    await call_as(
        engine,
        people,
        people.coordinator,
        lot_service.start_lot,
        lot_id=first.id,
        override_reason="Screws arrive tomorrow, the line starts with the shades",
    )
    page = await client.get(f"/orders/{order.id}/materials")
    assert "Screws arrive tomorrow, the line starts with the shades" in page.text
    # the coordinator pages are not the brand's
    assert (await client.get(f"/coordinator/orders/{order.id}/materials")).status_code in (403, 404)


async def test_another_organization_and_viewers_are_kept_out(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    _people, order, _token = arranged_order
    await login(client, world.owner_b.email)
    assert (await client.get(f"/orders/{order.id}/materials")).status_code == 404
    posted = await client.post(
        f"/orders/{order.id}/materials/free-issue",
        data={
            "requirement_id": "1",
            "quantity": "1",
            "eta": in_days(1).isoformat(),
            "_csrf_token": csrf(client),
        },
    )
    assert posted.status_code == 404
    client.cookies.clear()
    await login(client, world.viewer_a.email)
    ids = await requirement_ids(engine, order.id)
    posted = await client.post(
        f"/orders/{order.id}/materials/free-issue",
        data={
            "requirement_id": str(ids["Power cord"]),
            "quantity": "1",
            "eta": in_days(1).isoformat(),
            "_csrf_token": csrf(client),
        },
    )
    assert posted.status_code == 403


async def test_the_factory_confirms_its_materials_in_house_through_its_link(
    client: Client, engine: AsyncEngine, arranged_order: tuple[People, Any, str]
) -> None:
    _people, order, token = arranged_order
    page = await client.get(f"/p/{token}/materials")
    assert page.status_code == 200
    assert "橡木" in page.text
    assert "Screw" not in page.text
    ids = await requirement_ids(engine, order.id)
    foreign = await client.post(
        f"/p/{token}/materials",
        data={"requirement_id": str(ids["Oak"]), "quantity": "3000"},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    bad = await client.post(
        f"/p/{token}/materials",
        data={"requirement_id": str(ids["Oak"]), "quantity": "-1"},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},
    )
    assert bad.status_code == 422
    done = await client.post(
        f"/p/{token}/materials",
        data={"requirement_id": str(ids["Oak"]), "quantity": "3000", "note": "已到货"},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},
    )
    assert done.status_code == 200
    async with system(engine) as session:
        states = {line.requirement.description_en: line.state for line in await lines_of(session, order.id)}
    assert states["Oak"] == Readiness.in_house
    # a material of the agency cannot be confirmed by the factory; an unknown link is a 404
    other = await client.post(
        f"/p/{token}/materials",
        data={"requirement_id": str(ids["Screw M3"]), "quantity": "1"},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},
    )
    assert other.status_code == 422
    assert (await client.get(f"/p/{'x' * len(token)}/materials")).status_code == 404


async def test_the_shortages_page_sends_the_same_statements_for_3_or_60_shortages(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    from datetime import timedelta

    from makeready.conditions.models import Condition, ConditionStatus
    from makeready.db.types import utcnow
    from tests.test_query_counts import count_statements

    _people, order, _token = arranged_order
    await login(client, world.coordinator.email)

    async def add(count: int, first: int) -> None:
        async with system(engine) as session:
            for n in range(first, first + count):
                session.add(
                    Condition(
                        org_id=order.org_id,
                        project_id=order.project_id,
                        kind="shortage.late",
                        subject_type="lot",
                        subject_id=900_000 + n,
                        owner_id=world.coordinator.id,
                        status=ConditionStatus.open,
                        raised_at=utcnow() - timedelta(minutes=n),
                    )
                )

    async def statements() -> int:
        with count_statements(engine) as seen:
            response = await client.get("/coordinator/materials")
        assert response.status_code == 200
        return len(seen)

    await add(3, 0)
    few = await statements()
    await add(57, 3)
    many = await statements()
    assert many == few
    page = await client.get("/coordinator/materials?page=2")
    assert page.status_code == 200
    assert "shortage.late" in page.text


async def test_the_spec_editor_edits_the_bom_planning_columns(
    browser: Browser,  # noqa: F811  (the spec pages' fixture)
    engine: AsyncEngine,
    project_id: int,  # noqa: F811  (the spec pages' fixture)
) -> None:
    await start(browser, project_id)
    base = f"/coordinator/projects/{project_id}/spec"
    revision = await load(engine, project_id)
    assert (
        await browser.post(
            f"{base}/1/save", {"section": "bom", "version": str(revision.version), "_add": "bom"}
        )
    ).status_code == 303
    revision = await load(engine, project_id)
    [row] = revision.content["bom"]
    page = await browser.get(f"{base}/1")
    for name in (
        "material_code",
        "scrap_percent",
        "setup_quantity",
        "pack_size",
        "supplied_by",
        "material_supplier",
        "lead_time_days",
    ):
        assert f'name="bom.{row["id"]}.{name}"' in page.text, name
    prefix = f"bom.{row['id']}"
    data = {
        "section": "bom",
        "version": str(revision.version),
        "bom[]": row["id"],
        f"{prefix}.quantity": "4",
        f"{prefix}.unit": "pcs",
        f"{prefix}.material_code": "SCR-M3",
        f"{prefix}.scrap_percent": "2",
        f"{prefix}.setup_quantity": "10",
        f"{prefix}.pack_size": "500",
        f"{prefix}.supplied_by": "agency",
        f"{prefix}.material_supplier": "Ningbo Fasteners",
        f"{prefix}.lead_time_days": "21",
        **text(f"{prefix}.part", "Shade", "灯罩"),
        **text(f"{prefix}.material", "Screw M3", "M3螺丝"),
    }
    assert (await browser.post(f"{base}/1/save", data)).status_code == 303
    [row] = (await load(engine, project_id)).content["bom"]
    assert (row["material_code"], row["supplied_by"], row["lead_time_days"], row["pack_size"]) == (
        "SCR-M3",
        "agency",
        21,
        "500",
    )
    # a scrap rate over 100 % is refused, nothing saved
    revision = await load(engine, project_id)
    refused = await browser.post(
        f"{base}/1/save", {**data, "version": str(revision.version), f"{prefix}.scrap_percent": "250"}
    )
    assert refused.status_code == 422
    [row] = (await load(engine, project_id)).content["bom"]
    assert row["scrap_percent"] == "2"


async def test_the_api_gives_readiness_and_shortages_without_costs_and_404s_another_organization(
    client: Client, engine: AsyncEngine, world: World, arranged_order: tuple[People, Any, str]
) -> None:
    from makeready.accounts import service as accounts
    from makeready.db.session import make_sessionmaker
    from makeready.db.tenancy import Scope, set_scope

    _people, order, _token = arranged_order
    tokens = {}
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            for key in ("owner_a", "owner_b"):
                tokens[key] = (await accounts.issue_api_token(session, user=getattr(world, key))).token

    async def call(who: str) -> Any:
        headers = {"authorization": f"Bearer {tokens[who]}", "accept": "application/json"}
        return await client.get(f"/api/v1/orders/{order.id}/materials", headers=headers)

    mine = await call("owner_a")
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["readiness"] == "not_ordered"
    assert {m["material"]: m["readiness"] for m in body["materials"]}["Power cord"] == "not_ordered"
    assert body["shortages"][0]["kind"] == "shortage.not_ordered"
    assert "Ningbo" not in mine.text
    assert "unit_cost" not in mine.text
    assert (await call("owner_b")).status_code == 404
