"""A project's budget: hand-computed figures (conversion at the recorded rate, half-up rounding to the project
currency's minor unit, mixed currencies, voided entries excluded), the entry rules (a foreign amount without a
rate, negative and absurd amounts, stale edits, voiding), and the pages: the coordinator's with its CSV (formula
cells escaped) and the brand's, which shows its fees and never the agency's costs or margin."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.billing.models import FeeStatus, MilestoneFee
from makeready.budget import entries, summary
from makeready.budget.models import BudgetCategory, BudgetEntry, EntryStatus
from makeready.errors import Conflict, PermissionDenied, ValidationFailed
from makeready.materials.models import MaterialRequirement, PurchaseOrder, PurchaseOrderLine, PurchaseStatus
from makeready.production.models import OrderStatus, ProductionOrder
from makeready.projects.access import load_project
from makeready.projects.models import Project
from tests.conftest import World, csrf, login
from tests.production_support import Arranged, arrange_project, in_days
from tests.test_materials_pages import people_of
from tests.test_portal import _token
from tests.test_query_counts import count_statements
from tests.workflow_support import People, call_as, events, make_milestone, make_project, session_as, system

Client = AsyncTestClient[Litestar]
NOTE = '=HYPERLINK("http://evil")'
SECRET_NOTE = "Agency-only freight note"


@dataclass
class Setup:
    people: People
    arranged: Arranged
    project: Project
    voided: int
    freight: int


async def add(engine: AsyncEngine, people: People, project_id: int, **data: str) -> BudgetEntry:
    return await call_as(
        engine, people, people.coordinator, entries.add_entry, project_id=project_id, data=data
    )


@pytest.fixture
async def setup(engine: AsyncEngine, world: World) -> Setup:
    """Project in USD; selected quote 3000 @ 4.20 USD; a confirmed order of 3000 @ CNY 29.50; a sent purchase
    order of 200 @ CNY 1.25 (+ a draft one that does not count); fees: 5,000.00 invoiced, 3,000.00 planned,
    1,000.00 cancelled; entries: inspection quoted 300, inspection actual 280, freight actual EUR 850.35 @ 1.0843,
    other actual EUR 0.25 @ 0.5 (0.125 -> 0.13 half up), other actual 999 voided."""
    people = people_of(world)
    arranged = await arrange_project(engine, people)
    project = arranged.project
    async with system(engine) as session:
        order = ProductionOrder(
            org_id=project.org_id,
            project_id=project.id,
            number=1,
            supplier_id=arranged.supplier.id,
            revision_id=arranged.revision.id,
            status=OrderStatus.confirmed,
            quantity=3000,
            unit_price=Decimal("29.50"),
            currency="CNY",
            ex_factory_date=in_days(60),
        )
        session.add(order)
        await session.flush()
        requirement = MaterialRequirement(
            org_id=project.org_id,
            order_id=order.id,
            project_id=project.id,
            material_key="scr-m3",
            need_date=in_days(20),
            order_by_date=in_days(5),
        )
        session.add(requirement)
        await session.flush()
        for number, status in ((1, PurchaseStatus.sent), (2, PurchaseStatus.draft)):
            po = PurchaseOrder(
                org_id=project.org_id,
                order_id=order.id,
                project_id=project.id,
                number=number,
                supplier_name="Ningbo Fasteners",
                status=status,
                currency="CNY",
            )
            session.add(po)
            await session.flush()
            session.add(
                PurchaseOrderLine(
                    org_id=project.org_id,
                    purchase_order_id=po.id,
                    requirement_id=requirement.id,
                    quantity=Decimal(200),
                    unit_cost=Decimal("1.25"),
                )
            )
    milestone = await make_milestone(engine, project)
    async with system(engine) as session:
        for description, minor, status in (
            ("Development fee", 500000, FeeStatus.invoiced),
            ("Shipment balance", 300000, FeeStatus.planned),
            ("Dropped extra", 100000, FeeStatus.canceled),
        ):
            session.add(
                MilestoneFee(
                    org_id=project.org_id,
                    project_id=project.id,
                    milestone_id=milestone.id,
                    description=description,
                    amount_minor=minor,
                    currency="USD",
                    status=status,
                )
            )
    await add(engine, people, project.id, category="inspection", kind="quoted", amount="300")
    await add(engine, people, project.id, category="inspection", kind="actual", amount="280.00")
    freight = await add(
        engine,
        people,
        project.id,
        category="freight",
        kind="actual",
        amount="850.35",
        currency="EUR",
        rate="1.0843",
        note=SECRET_NOTE,
    )
    await add(
        engine,
        people,
        project.id,
        category="other",
        kind="actual",
        amount="0.25",
        currency="EUR",
        rate="0.5",
        note=NOTE,
    )
    wrong = await add(engine, people, project.id, category="other", kind="actual", amount="999")
    await call_as(
        engine, people, people.coordinator, entries.void_entry, entry_id=wrong.id, reason="typed twice"
    )
    return Setup(people, arranged, project, wrong.id, freight.id)


async def budget(engine: AsyncEngine, people: People, project_id: int) -> summary.Budget:
    async with session_as(engine, people, people.coordinator) as session:
        return await summary.budget_of(session, await load_project(session, project_id))


async def test_figures_by_hand(engine: AsyncEngine, setup: Setup) -> None:
    people, project = setup.people, setup.project
    before = await budget(engine, people, project.id)
    # no CNY rate yet: the order and the purchase order are listed unconverted, out of the totals
    assert before.missing_rates == ["CNY"]
    rows = {r.category: r for r in before.rows}
    assert rows[BudgetCategory.product].quoted == Decimal("12600.00")  # 3000 x 4.20 USD
    assert rows[BudgetCategory.product].actual == 0
    await call_as(
        engine,
        people,
        people.coordinator,
        entries.set_rate,
        project_id=project.id,
        currency="cny",
        rate="0.1385",
    )
    b = await budget(engine, people, project.id)
    assert b.missing_rates == []
    rows = {r.category: r for r in b.rows}
    assert rows[BudgetCategory.product].actual == Decimal("12257.25")  # 88,500 CNY x 0.1385
    assert rows[BudgetCategory.materials].actual == Decimal("34.63")  # 250 CNY x 0.1385 = 34.625, half up
    assert rows[BudgetCategory.inspection].quoted == Decimal("300.00")
    assert rows[BudgetCategory.inspection].actual == Decimal("280.00")
    assert rows[BudgetCategory.inspection].variance == Decimal("-20.00")
    assert rows[BudgetCategory.freight].actual == Decimal("922.03")  # 850.35 x 1.0843 = 922.034505
    assert rows[BudgetCategory.other].actual == Decimal("0.13")  # 0.125 half up; the voided 999 is out
    assert b.actual_costs == Decimal("13494.04")
    assert b.quoted_costs == Decimal("12900.00")
    assert b.fees_quoted == Decimal("8000.00")  # the cancelled fee is out
    assert b.fees_invoiced == Decimal("5000.00")
    assert b.margin == Decimal("-8494.04")
    assert b.quoted_margin == Decimal("-4900.00")


async def test_rounding_to_a_zero_decimal_currency(engine: AsyncEngine, world: World) -> None:
    people = people_of(world)
    project = await make_project(engine, people, name="Yen lamp")
    async with system(engine) as session:
        (await session.get(Project, project.id)).currency = "JPY"  # type: ignore[union-attr]
    await add(
        engine,
        people,
        project.id,
        category="other",
        kind="actual",
        amount="10.01",
        currency="USD",
        rate="149.5",
    )
    b = await budget(engine, people, project.id)
    assert {r.category: r.actual for r in b.rows}[BudgetCategory.other] == Decimal("1496")  # 1496.495
    # a yen amount has no decimals
    with pytest.raises(ValidationFailed):
        await add(engine, people, project.id, category="other", kind="actual", amount="10.5")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "100", "currency": "CNY"}, "rate"),
        ({"amount": "100", "currency": "CNY", "rate": "0"}, "rate"),
        ({"amount": "100", "currency": "CNY", "rate": "-1"}, "rate"),
        ({"amount": "100", "currency": "CNY", "rate": "1e9"}, "rate"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "100000000"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "10", "currency": "XXX"}, "currency"),
        ({"amount": "10", "category": "bribes"}, "category"),
    ],
)
async def test_bad_entries_are_refused(
    engine: AsyncEngine, world: World, data: dict[str, str], field: str
) -> None:
    people = people_of(world)
    project = await make_project(engine, people)
    with pytest.raises(ValidationFailed) as refused:
        await add(engine, people, project.id, **{"category": "freight", "kind": "actual", **data})
    assert refused.value.extra.get("field") == field
    async with system(engine) as session:
        assert await session.scalar(select(func.count()).select_from(BudgetEntry)) == 0


async def test_edit_void_and_audit(engine: AsyncEngine, setup: Setup) -> None:
    people = setup.people
    async with system(engine) as session:
        entry = await session.get(BudgetEntry, setup.freight)
        assert entry is not None
        version = entry.version
    data = {"category": "freight", "kind": "actual", "amount": "900", "currency": "EUR", "rate": "1.1"}
    await call_as(
        engine,
        people,
        people.coordinator,
        entries.update_entry,
        entry_id=setup.freight,
        data=data,
        expected_version=version,
    )
    with pytest.raises(Conflict):  # the page saw the old version
        await call_as(
            engine,
            people,
            people.coordinator,
            entries.update_entry,
            entry_id=setup.freight,
            data=data,
            expected_version=version,
        )
    with pytest.raises(Conflict):  # a voided entry never changes again
        await call_as(
            engine, people, people.coordinator, entries.update_entry, entry_id=setup.voided, data=data
        )
    with pytest.raises(ValidationFailed):  # voiding needs a reason
        await call_as(
            engine, people, people.coordinator, entries.void_entry, entry_id=setup.freight, reason=" "
        )
    with pytest.raises(PermissionDenied):  # brands never write the agency's budget
        await call_as(
            engine, people, people.owner_a, entries.add_entry, project_id=setup.project.id, data=data
        )
    assert [e.action for e in await events(engine, "budget_entry.added")]
    [updated] = await events(engine, "budget_entry.updated")
    assert updated.after["amount"] == "900.00"
    assert updated.before["amount"] == "850.35"
    [voided] = await events(engine, "budget_entry.voided")
    assert voided.reason == "typed twice"


# -- pages -------------------------------------------------------------------------------------------------------


async def test_coordinator_page_and_csv(
    client: Client, engine: AsyncEngine, world: World, setup: Setup
) -> None:
    await login(client, world.coordinator.email)
    url = f"/coordinator/projects/{setup.project.id}/budget"
    page = await client.get(url + "/")
    assert page.status_code == 200
    assert "Margin" in page.text
    assert "CNY" in page.text
    assert "$12,600.00" in page.text
    response = await client.get(url + "/export.csv", params={"table": "summary"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Category", "Quoted", "Actual", "Variance", "Currency"]
    assert ["Inspection", "300.00", "280.00", "-20.00", "USD"] in rows  # numbers stay numbers
    lines = list(
        csv.reader(io.StringIO((await client.get(url + "/export.csv", params={"table": "lines"})).text))
    )
    notes = [r[3] for r in lines]
    assert "'" + NOTE in notes
    assert NOTE not in notes
    assert (await client.get(url + "/export.csv", params={"table": "secrets"})).status_code == 422


async def test_page_forms(client: Client, engine: AsyncEngine, world: World, setup: Setup) -> None:
    await login(client, world.coordinator.email)
    url = f"/coordinator/projects/{setup.project.id}/budget"
    await client.get(url + "/")
    async with system(engine) as session:
        count = await session.scalar(select(func.count()).select_from(BudgetEntry))
    refused = await client.post(
        url + "/entries",
        data={
            "_csrf_token": csrf(client),
            "category": "freight",
            "kind": "actual",
            "amount": "100",
            "currency": "CNY",
        },
    )
    assert refused.status_code == 422
    assert "enter the rate" in refused.text
    assert 'value="100"' in refused.text
    negative = await client.post(
        url + "/entries",
        data={"_csrf_token": csrf(client), "category": "freight", "kind": "actual", "amount": "-100"},
    )
    assert negative.status_code == 422
    async with system(engine) as session:
        assert await session.scalar(select(func.count()).select_from(BudgetEntry)) == count
    added = await client.post(
        url + "/entries",
        data={"_csrf_token": csrf(client), "category": "freight", "kind": "quoted", "amount": "700"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    stale = await client.post(
        f"{url}/entries/{setup.freight}/edit",
        data={
            "_csrf_token": csrf(client),
            "version": "0",
            "category": "freight",
            "kind": "actual",
            "amount": "1",
        },
    )
    assert stale.status_code == 409
    assert "Someone else changed" in stale.text
    voided = await client.post(
        f"{url}/entries/{setup.freight}/void",
        data={"_csrf_token": csrf(client), "version": "1", "reason": "duplicate invoice"},
        follow_redirects=False,
    )
    assert voided.status_code == 303
    async with system(engine) as session:
        entry = await session.get(BudgetEntry, setup.freight)
        assert entry is not None
        assert entry.status == EntryStatus.void
    rate = await client.post(
        url + "/rates", data={"_csrf_token": csrf(client), "currency": "CNY", "rate": "abc"}
    )
    assert rate.status_code == 422
    # another project's entry through this project's URL is a 404
    other = await make_project(engine, setup.people, name="Other")
    assert (
        await client.post(
            f"/coordinator/projects/{other.id}/budget/entries/{setup.freight}/void",
            data={"_csrf_token": csrf(client), "reason": "x"},
        )
    ).status_code == 404


async def test_brand_sees_only_its_fees(
    client: Client, engine: AsyncEngine, world: World, setup: Setup
) -> None:
    await call_as(
        engine,
        setup.people,
        setup.people.coordinator,
        entries.set_rate,
        project_id=setup.project.id,
        currency="CNY",
        rate="0.1385",
    )
    await login(client, world.owner_a.email)
    page = await client.get(f"/projects/{setup.project.id}/budget")
    assert page.status_code == 200
    assert "Development fee" in page.text
    assert "$5,000.00" in page.text
    assert "$8,000.00" in page.text
    for secret in (
        "Margin",
        "margin",
        "Agency costs",
        SECRET_NOTE,
        "HYPERLINK",
        "4.20",
        "29.50",
        "12,257.25",
        "12,600.00",
        "0.1385",
        "Ningbo",
        "Dongguan",
        "Variance",
        "Freight",
        "Inspection",
        "Dropped extra",
    ):
        assert secret not in page.text, secret
    # the coordinator's page and export refuse the brand
    for path in ("/", "/export.csv"):
        response = await client.get(f"/coordinator/projects/{setup.project.id}/budget{path}")
        assert response.status_code in (403, 404)
        assert SECRET_NOTE not in response.text


async def test_another_org_gets_404(client: Client, world: World, setup: Setup) -> None:
    await login(client, world.owner_b.email)
    response = await client.get(f"/projects/{setup.project.id}/budget")
    assert response.status_code == 404
    assert "Development fee" not in response.text


async def test_statements_do_not_grow_with_entries(engine: AsyncEngine, setup: Setup) -> None:
    people, project = setup.people, setup.project
    async with session_as(engine, people, people.coordinator) as session:
        loaded = await load_project(session, project.id)
        with count_statements(engine) as before:
            await summary.budget_of(session, loaded)
    for n in range(5):
        await add(engine, people, project.id, category="freight", kind="actual", amount=f"{n + 1}0")
    async with session_as(engine, people, people.coordinator) as session:
        loaded = await load_project(session, project.id)
        with count_statements(engine) as after:
            await summary.budget_of(session, loaded)
    assert len(after) == len(before) <= 7


# -- the JSON API ------------------------------------------------------------------------------------------------


async def test_api(client: Client, engine: AsyncEngine, world: World, setup: Setup) -> None:
    staff = await _token(engine, world.coordinator)
    brand = await _token(engine, world.owner_a)
    other = await _token(engine, world.owner_b)
    url = f"/api/v1/projects/{setup.project.id}/budget"

    mine = await client.get(url, headers=brand)
    assert mine.status_code == 200
    body = mine.json()
    assert body["fees_invoiced"] == {"USD": "5000.00"}
    assert {"margin", "categories", "entries", "actual_costs", "quoted_costs", "currency"}.isdisjoint(body)
    assert SECRET_NOTE not in mine.text
    assert "29.5" not in mine.text

    full = (await client.get(url, headers=staff)).json()
    assert full["missing_rates"] == ["CNY"]
    assert full["margin"] == "3797.84"  # 5,000.00 - (280 + 922.03 + 0.13); the CNY lines wait for a rate

    assert (await client.get(url, headers=other)).status_code == 404

    no_rate = await client.post(
        url + "/entries",
        headers=staff,
        json={"category": "freight", "kind": "actual", "amount": "10", "currency": "CNY"},
    )
    assert no_rate.status_code == 422
    assert "enter the rate" in no_rate.json()["detail"]
    negative = await client.post(
        url + "/entries", headers=staff, json={"category": "freight", "kind": "actual", "amount": "-1"}
    )
    assert negative.status_code == 422
    assert (
        await client.post(
            url + "/entries", headers=brand, json={"category": "freight", "kind": "actual", "amount": "1"}
        )
    ).status_code == 403
    assert (
        await client.post(
            url + "/entries", headers=other, json={"category": "freight", "kind": "actual", "amount": "1"}
        )
    ).status_code == 404

    added = await client.post(
        url + "/entries",
        headers=staff,
        json={"category": "freight", "kind": "quoted", "amount": "100.5", "currency": "EUR", "rate": "1.1"},
    )
    assert added.status_code == 201
    entry = added.json()
    assert entry["amount"] == "100.50"
    edit = f"/api/v1/budget-entries/{entry['id']}"
    patch_body = {"category": "freight", "kind": "quoted", "amount": "90", "version": entry["version"]}
    assert (await client.patch(edit, headers=staff, json=patch_body)).status_code == 200
    assert (await client.patch(edit, headers=staff, json=patch_body)).status_code == 409  # stale
    # another organization cannot tell the entry from a missing one; the brand's own is refused
    missing = await client.patch("/api/v1/budget-entries/987654", headers=other, json=patch_body)
    theirs = await client.patch(edit, headers=other, json=patch_body)
    assert theirs.status_code == missing.status_code == 404
    assert (await client.patch(edit, headers=brand, json=patch_body)).status_code == 403
    voided = await client.post(edit + "/void", headers=staff, json={"reason": "estimate replaced"})
    assert voided.json()["status"] == "void"


async def test_rates(engine: AsyncEngine, setup: Setup) -> None:
    people, project = setup.people, setup.project
    first = await call_as(
        engine,
        people,
        people.coordinator,
        entries.set_rate,
        project_id=project.id,
        currency="CNY",
        rate="0.14",
    )
    await call_as(
        engine,
        people,
        people.coordinator,
        entries.set_rate,
        project_id=project.id,
        currency="CNY",
        rate="0.1385",
        expected_version=first.version,
    )
    with pytest.raises(Conflict):  # the form saw the first rate
        await call_as(
            engine,
            people,
            people.coordinator,
            entries.set_rate,
            project_id=project.id,
            currency="CNY",
            rate="0.2",
            expected_version=first.version,
        )
    with pytest.raises(ValidationFailed):  # the project's own currency needs no rate
        await call_as(
            engine,
            people,
            people.coordinator,
            entries.set_rate,
            project_id=project.id,
            currency="USD",
            rate="1",
        )
    changes = await events(engine, "budget_rate.set")
    assert [(e.before.get("rate"), e.after["rate"]) for e in changes] == [(None, "0.14"), ("0.14", "0.1385")]
