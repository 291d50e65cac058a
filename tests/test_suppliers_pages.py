"""Coordinator supplier pages through HTTP: the directory, the supplier form, archive and delete, supplier
selection per project, the generic admin's delete guard, escaping, and who may open them at all.

Logged in as world.coordinator through the real login form; every form posts its `_csrf_token`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit.models import AuditEvent
from makeready.projects.models import Milestone, Project
from makeready.samples.models import SampleRound, SampleStatus
from makeready.suppliers import service as suppliers
from makeready.suppliers.models import Quote, QuoteStatus, Supplier
from tests.conftest import World, csrf, login
from tests.test_backoffice import admin_login, write_headers
from tests.test_query_counts import count_statements
from tests.test_suppliers import DIRECTORY, add_project, add_suppliers

Client = AsyncTestClient[Litestar]
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def rows_of(html: str) -> str:
    """The directory table's body: supplier names appear there and nowhere else on the page."""
    if "<tbody>" not in html:
        return ""
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


async def coordinator(client: Client, world: World) -> Client:
    await login(client, world.coordinator.email)
    return client


# -- the directory ---------------------------------------------------------------------------------------------------


async def test_directory_search_filters_and_both_names(
    client: Client, db: AsyncSession, world: World
) -> None:
    await add_suppliers(db, world)
    await coordinator(client, world)

    page = await client.get("/coordinator/suppliers")
    assert page.status_code == 200
    body = rows_of(page.text)
    for entry in DIRECTORY:
        assert entry["name_en"] in body
        assert entry["name_zh"] in body
    assert "Foshan" in body
    assert "Guangdong" in body
    assert "Die casting" in body
    assert "ISO 9001" in body
    assert "1000" in body
    # no sample rounds yet: no figures, and no made-up 0%
    assert "No history" in body
    assert not re.search(r"<strong>[\d.]+\s?%</strong>", body)

    async def shown(**params: str) -> list[str]:
        response = await client.get("/coordinator/suppliers", params=params)
        assert response.status_code == 200
        return [e["name_en"] for e in DIRECTORY if e["name_en"] in rows_of(response.text)]

    assert await shown(q="明途照明") == ["Foshan Brightway Lighting"]
    assert await shown(q="ningbo") == ["Ningbo Harbor Plastics"]
    assert await shown(province="Guangdong") == [
        "Foshan Brightway Lighting",
        "Shenzhen Quickturn Electronics",
    ]
    assert await shown(capability="Injection molding") == ["Ningbo Harbor Plastics"]
    assert await shown(capability="smt") == ["Shenzhen Quickturn Electronics"]
    assert await shown(certification="BSCI") == ["Ningbo Harbor Plastics"]
    assert await shown(q="xyz") == []

    # the filter menus offer what the directory holds
    assert '<option value="Zhejiang">' in page.text
    assert '<option value="OEKO-TEX">' in page.text


async def test_directory_shows_performance_and_past_projects(
    client: Client, db: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    brightway, *_others = await add_suppliers(db, world)
    project = await add_project(db, world, "Desk lamp")
    async with db.begin():
        due = (
            await db.scalars(
                select(Milestone).where(Milestone.project_id == project.id, Milestone.title == "First sample")
            )
        ).one()
        due_date = due.due_date
        assert due_date is not None
        shipped = datetime.combine(due_date, datetime.min.time(), tzinfo=UTC)
        for number, status, when in [
            (1, SampleStatus.rejected, shipped - timedelta(days=1)),  # on time
            (2, SampleStatus.approved, shipped + timedelta(days=4)),  # late
            (3, SampleStatus.approved, shipped + timedelta(days=9)),  # late
        ]:
            db.add(
                SampleRound(
                    org_id=project.org_id,
                    project_id=project.id,
                    number=number,
                    supplier_id=brightway,
                    status=status,
                    shipped_at=when,
                )
            )
    await coordinator(client, world)
    page = await client.get("/coordinator/suppliers", params={"q": "Brightway"})
    body = rows_of(page.text)
    assert "33%" in body  # 1 of 3 rounds by the due date
    assert "1 of 3 sample rounds" in body
    assert "0%" in body  # the first round was rejected: a measured 0%, 0 of 1 projects
    assert "0 of 1 projects" in body
    assert "Desk lamp" in body
    detail = await client.get(f"/coordinator/suppliers/{brightway}")
    assert detail.status_code == 200
    assert "Desk lamp" in detail.text
    assert "Made samples" in detail.text
    zh = await client.get(f"/coordinator/suppliers/{brightway}", headers={"Accept-Language": "zh-CN"})
    assert "33%" in zh.text

    # a page of the directory costs the same statements with 4 suppliers as with 24 that all have history
    with count_statements(engine) as small:
        assert (await client.get("/coordinator/suppliers")).status_code == 200
    more = await add_suppliers(
        db, world, [{"name_en": f"Factory {i}", "name_zh": f"工厂{i}"} for i in range(20)]
    )
    async with db.begin():
        for number, supplier_id in enumerate(more, start=4):
            db.add(
                SampleRound(
                    org_id=project.org_id,
                    project_id=project.id,
                    number=number,
                    supplier_id=supplier_id,
                    status=SampleStatus.approved,
                    shipped_at=shipped,
                )
            )
    with count_statements(engine) as large:
        assert (await client.get("/coordinator/suppliers")).status_code == 200
    assert len(small) == len(large)


# -- the supplier form ---------------------------------------------------------------------------------------------


async def test_create_with_bad_input_reshows_the_form_and_writes_nothing(
    client: Client, db: AsyncSession, world: World
) -> None:
    await coordinator(client, world)
    good = {**DIRECTORY[0], "contact_email": "sales@brightway.cn"}
    cases = [
        ({**good, "name_en": ""}, "The supplier needs an English name."),
        ({**good, "contact_email": "not-an-email"}, "The contact email is not a valid email address."),
        ({**good, "min_order_quantity": "0"}, "The minimum order quantity must be a positive whole number."),
        ({**good, "min_order_quantity": "-3"}, "The minimum order quantity must be a positive whole number."),
        ({**good, "name_zh": ""}, "Save without a Chinese name"),
    ]
    for data, message in cases:
        response = await client.post("/coordinator/suppliers", data={**data, "_csrf_token": csrf(client)})
        assert response.status_code == 422, data
        assert message in response.text
        # what they typed is still there
        assert 'value="Foshan"' in response.text
        assert 'name="_csrf_token"' in response.text
    assert await db.scalar(select(func.count()).select_from(Supplier)) == 0
    assert await db.scalar(select(func.count()).where(AuditEvent.subject_type == "supplier")) == 0
    await db.commit()

    # without a Chinese name, once they say so
    response = await client.post(
        "/coordinator/suppliers",
        data={**good, "name_zh": "", "allow_missing_zh": "1", "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "The supplier was added to the directory." in page.text
    assert "No Chinese name yet" in page.text
    created = (await db.scalars(select(Supplier))).one()
    assert created.capabilities == ["Die casting", "CNC machining"]
    assert created.min_order_quantity == 500
    assert await db.scalar(select(func.count()).where(AuditEvent.action == "supplier.created")) == 1


async def test_second_coordinator_gets_a_conflict_and_nothing_is_overwritten(
    client: Client, db: AsyncSession, world: World
) -> None:
    [supplier_id] = await add_suppliers(db, world, DIRECTORY[:1])
    url = f"/coordinator/suppliers/{supplier_id}/edit"
    jars: dict[str, httpx.Cookies] = {}
    forms: dict[str, str] = {}
    for who, user in (("first", world.coordinator), ("second", world.admin)):
        client.cookies = httpx.Cookies()
        await login(client, user.email)
        forms[who] = (await client.get(url)).text
        jars[who] = httpx.Cookies(client.cookies)
    version = form_value(forms["first"], "version")
    assert version == form_value(forms["second"], "version") == "1"

    def edit(**changes: str) -> dict[str, str]:
        fields = {k: v for k, v in DIRECTORY[0].items()}
        return {**fields, "version": version, "_csrf_token": csrf(client), **changes}

    client.cookies = jars["first"]
    saved = await client.post(url, data=edit(city="Zhongshan"), follow_redirects=False)
    assert saved.status_code == 303
    client.cookies = jars["second"]
    stale = await client.post(url, data=edit(city="Dongguan", contact_phone="+86 757 1234"))
    assert stale.status_code == 409
    assert "Someone else changed this supplier at the same time." in stale.text
    # the current value is shown next to theirs, and the form keeps what they typed with the current version
    assert "Zhongshan" in stale.text
    assert 'value="Dongguan"' in stale.text
    assert form_value(stale.text, "version") == "2"

    supplier = await db.get(Supplier, supplier_id, populate_existing=True)
    assert supplier is not None
    assert (supplier.city, supplier.contact_phone, supplier.version) == ("Zhongshan", "", 2)
    updates = await db.scalar(select(func.count()).where(AuditEvent.action == "supplier.updated"))
    assert updates == 1
    await db.commit()

    # having seen the current values, they save again on purpose
    again = await client.post(
        url,
        data={**edit(city="Dongguan"), "version": form_value(stale.text, "version")},
        follow_redirects=False,
    )
    assert again.status_code == 303
    await db.refresh(supplier)
    assert supplier.city == "Dongguan"


async def test_archive_restore_and_delete_refused_when_history_depends_on_it(
    client: Client, db: AsyncSession, world: World
) -> None:
    quoted, spare = await add_suppliers(db, world, DIRECTORY[:2])
    project = await add_project(db, world, "Desk lamp")
    async with db.begin():
        await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[quoted]
        )
    await coordinator(client, world)

    refused = await client.post(
        f"/coordinator/suppliers/{quoted}/delete", data={"version": "1", "_csrf_token": csrf(client)}
    )
    assert refused.status_code == 409
    assert "cannot be deleted" in refused.text
    assert "Archive the supplier instead." in refused.text
    assert await db.get(Supplier, quoted) is not None
    await db.commit()

    archived = await client.post(
        f"/coordinator/suppliers/{quoted}/archive",
        data={"version": "1", "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert archived.status_code == 303
    directory = rows_of((await client.get("/coordinator/suppliers")).text)
    assert DIRECTORY[0]["name_en"] not in directory
    assert DIRECTORY[1]["name_en"] in directory
    assert DIRECTORY[0]["name_en"] in rows_of(
        (await client.get("/coordinator/suppliers", params={"archived": "true"})).text
    )
    # a second tab with the old version is told, not obeyed
    stale = await client.post(
        f"/coordinator/suppliers/{quoted}/restore", data={"version": "1", "_csrf_token": csrf(client)}
    )
    assert stale.status_code == 409
    restored = await client.post(
        f"/coordinator/suppliers/{quoted}/restore",
        data={"version": "2", "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert restored.status_code == 303

    deleted = await client.post(
        f"/coordinator/suppliers/{spare}/delete",
        data={"version": "1", "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert "The supplier was deleted." in (await client.get(deleted.headers["location"])).text
    assert await db.get(Supplier, spare) is None
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "supplier"))).all()
    assert [a for a in actions if a != "supplier.created"] == [
        "supplier.archived",
        "supplier.restored",
        "supplier.deleted",
    ]


async def test_the_generic_admin_refuses_to_delete_a_supplier_with_history(
    client: Client, db: AsyncSession, world: World
) -> None:
    quoted, spare = await add_suppliers(db, world, DIRECTORY[:2])
    project = await add_project(db, world, "Desk lamp")
    async with db.begin():
        await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[quoted]
        )
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    refused = await client.delete(f"/admin/api/tables/suppliers/{quoted}/", headers=write_headers(client))
    assert refused.status_code == 409
    assert "archive it instead" in refused.json()["detail"]
    bulk = await client.delete(
        "/admin/api/tables/suppliers/", params={"id": str(spare)}, headers=write_headers(client)
    )
    assert bulk.status_code == 405
    assert await db.scalar(select(func.count()).select_from(Supplier)) == 2
    await db.commit()
    # one nothing refers to may go
    assert (
        await client.delete(f"/admin/api/tables/suppliers/{spare}/", headers=write_headers(client))
    ).status_code == 204
    assert await db.scalar(select(func.count()).select_from(Supplier)) == 1
    # quotes are requested on the selection page, not made up in the generic admin
    new = {
        **(await client.get("/admin/api/tables/quotes/new/")).json(),
        "project_id": project.id,
        "supplier_id": quoted,
        "org_id": world.org_b.id,
    }
    made = await client.post("/admin/api/tables/quotes/", json=new, headers=write_headers(client))
    assert made.status_code == 405
    assert "supplier selection page" in made.json()["detail"]


# -- supplier selection ----------------------------------------------------------------------------------------------


async def test_request_record_compare_and_select_through_the_pages(
    client: Client, db: AsyncSession, world: World
) -> None:
    a, b, c, _d = await add_suppliers(db, world)
    project = await add_project(db, world, "Desk lamp", target_quantity=800)
    url = f"/coordinator/projects/{project.id}/quotes"
    await coordinator(client, world)

    page = await client.get(url)
    assert page.status_code == 200
    assert "Desk lamp" in page.text
    assert "No quotes yet." in page.text
    nobody = await client.post(f"{url}/request", data={"_csrf_token": csrf(client)})
    assert nobody.status_code == 422
    assert "Choose at least one supplier" in nobody.text
    asked = await client.post(
        f"{url}/request",
        data={"supplier_id": [str(a), str(b), str(c)], "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    quotes = {q.supplier_id: q for q in await db.scalars(select(Quote).where(Quote.project_id == project.id))}
    await db.commit()
    assert {q.status for q in quotes.values()} == {QuoteStatus.requested}
    assert set(quotes) == {a, b, c}
    # asking again is refused while their quotes are open
    again = await client.post(f"{url}/request", data={"supplier_id": str(a), "_csrf_token": csrf(client)})
    assert again.status_code == 422
    assert "already have an open quote" in again.text

    async def record(supplier_id: int, breaks: list[tuple[str, str]], **fields: str) -> httpx.Response:
        quote_url = f"{url}/{quotes[supplier_id].id}"
        form = (await client.get(quote_url)).text
        quantities = [q for q, _p in breaks] + [""] * 2
        prices = [p for _q, p in breaks] + [""] * 2
        return await client.post(
            quote_url,
            data={
                "break_quantity": quantities,
                "break_price": prices,
                "currency": "USD",
                "version": form_value(form, "version"),
                "_csrf_token": csrf(client),
                **fields,
            },
            follow_redirects=False,
        )

    bad = await record(a, [("500", "4.20"), ("1000", "")], tooling_cost="1500")
    assert bad.status_code == 422
    assert "Price break 2 needs both a quantity and a unit price." in bad.text
    assert 'value="1500"' in bad.text  # the form keeps what was typed
    stored = await db.get(Quote, quotes[a].id, populate_existing=True)
    assert stored is not None
    assert (stored.status, stored.price_breaks) == (QuoteStatus.requested, [])
    await db.commit()

    ok = await record(
        a, [("100", "5.00"), ("500", "4.20"), ("1000", "3.90")], tooling_cost="1500", lead_time_days="30"
    )
    assert ok.status_code == 303, ok.text
    ok = await record(b, [("500", "4.50")], lead_time_days="12", min_order_quantity="1000")
    assert ok.status_code == 303, ok.text
    ok = await record(c, [("300", "6.10")], tooling_cost="400", lead_time_days="20", currency="USD")
    assert ok.status_code == 303, ok.text

    compare = (await client.get(url)).text
    # landed at 800: a = 4.20 + 1500/800 = 6.075; c = 6.10 + 400/800 = 6.60; b has an MOQ of 1000
    expected_a = Decimal("4.20") + Decimal(1500) / 800
    expected_c = Decimal("6.10") + Decimal(400) / 800
    assert f"${expected_a}" in compare
    assert f"${expected_c:.2f}" in compare
    assert "MOQ above quantity" in compare
    row_a = compare.split(f'id="quote-{quotes[a].id}"', 1)[1].split("</tr>", 1)[0]
    row_c = compare.split(f'id="quote-{quotes[c].id}"', 1)[1].split("</tr>", 1)[0]
    row_b = compare.split(f'id="quote-{quotes[b].id}"', 1)[1].split("</tr>", 1)[0]
    assert "Cheapest" in row_a
    assert "Fastest" in row_c  # 20 days; b's 12 days comes with the MOQ flag
    assert "Cheapest" not in row_b
    assert "Fastest" not in row_b
    # money in the reader's locale, by Babel
    zh = (await client.get(url, headers={"Accept-Language": "zh-CN"})).text
    assert f"US${expected_a}" in zh

    # selection needs a reason; the form comes back with the choice kept
    no_reason = await client.post(
        f"{url}/select", data={"quote_id": str(quotes[a].id), "reason": " ", "_csrf_token": csrf(client)}
    )
    assert no_reason.status_code == 422
    assert "Give the reason for choosing this supplier" in no_reason.text
    assert f'value="{quotes[a].id}" aria-label="Select" checked' in no_reason.text
    assert (await db.get(Project, project.id, populate_existing=True)).supplier_id is None  # type: ignore[union-attr]
    assert await db.scalar(select(func.count()).where(AuditEvent.action == "supplier.selected")) == 0
    await db.commit()

    chosen = await client.post(
        f"{url}/select",
        data={
            "quote_id": str(quotes[a].id),
            "reason": "Best landed cost; samples passed",
            "_csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    after = (await client.get(chosen.headers["location"])).text
    assert "The supplier was selected for this project." in after
    assert "Best landed cost; samples passed" in after
    stored_project = await db.get(Project, project.id, populate_existing=True)
    assert stored_project is not None
    assert stored_project.supplier_id == a
    statuses = {
        q.supplier_id: q.status
        for q in await db.scalars(
            select(Quote).where(Quote.project_id == project.id).execution_options(populate_existing=True)
        )
    }
    assert statuses == {a: QuoteStatus.selected, b: QuoteStatus.received, c: QuoteStatus.received}
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "supplier.selected"))
    assert event is not None
    assert (event.org_id, event.project_id, event.actor_id) == (
        project.org_id,
        project.id,
        world.coordinator.id,
    )
    assert event.reason == "Best landed cost; samples passed"
    await db.commit()

    # declining one of the others
    version = (await db.get(Quote, quotes[c].id, populate_existing=True)).version  # type: ignore[union-attr]
    declined = await client.post(
        f"{url}/{quotes[c].id}/decline",
        data={"version": str(version), "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert declined.status_code == 303
    assert (await db.get(Quote, quotes[c].id, populate_existing=True)).status == QuoteStatus.declined  # type: ignore[union-attr]


async def test_comparison_without_a_target_quantity_asks_for_one(
    client: Client, db: AsyncSession, world: World
) -> None:
    [a] = await add_suppliers(db, world, DIRECTORY[:1])
    project = await add_project(db, world, "Sketch", target_quantity=None)
    async with db.begin():
        [quote] = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[a]
        )
        await suppliers.record_quote(
            db,
            actor=world.coordinator,
            project_id=project.id,
            quote_id=quote.id,
            expected_version=quote.version,
            price_breaks=[("100", "2.00")],
            tooling_cost="100",
        )
    await coordinator(client, world)
    url = f"/coordinator/projects/{project.id}/quotes"
    page = await client.get(url)
    assert "This project has no target quantity yet" in page.text
    assert "Cheapest" not in page.text
    at_200 = await client.get(url, params={"quantity": "200"})
    assert "$2.50" in at_200.text  # 2.00 + 100/200
    assert (await client.get(url, params={"quantity": "0"})).status_code == 400


# -- who may open these pages ----------------------------------------------------------------------------------------


def supplier_routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and (
            route.path.startswith("/coordinator/suppliers") or "/quotes" in route.path
        ):
            found += [(m, route.path) for m in sorted(route.methods - {"OPTIONS", "HEAD"})]
    return found


async def test_brand_users_are_refused_on_every_supplier_and_quote_url(
    app: Litestar, client: Client, db: AsyncSession, world: World
) -> None:
    [supplier_id] = await add_suppliers(db, world, DIRECTORY[:1])
    project = await add_project(db, world, "Desk lamp")
    async with db.begin():
        [quote] = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[supplier_id]
        )
    values = {"supplier_id": supplier_id, "project_id": project.id, "quote_id": quote.id}
    routes = supplier_routes(app)
    assert len(routes) >= 14

    def fill(path: str) -> str:
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), path)

    async def call(method: str, path: str) -> httpx.Response:
        data: dict[str, Any] | None = None
        if method == "POST":
            data = {
                "_csrf_token": csrf(client),
                "version": "1",
                "name_en": "Hijacked",
                "supplier_id": str(supplier_id),
                "quote_id": str(quote.id),
                "reason": "mine",
                "break_quantity": "1",
                "break_price": "1",
            }
        return await client.request(method, fill(path), data=data, follow_redirects=False)

    await client.get("/login")
    for method, path in routes:
        response = await call(method, path)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login")

    for user in (world.owner_a, world.member_a, world.viewer_a, world.owner_b):
        client.cookies = httpx.Cookies()
        await login(client, user.email)
        for method, path in routes:
            response = await call(method, path)
            assert response.status_code in (403, 404), (user.email, method, path, response.status_code)
            assert "Brightway" not in response.text
            assert "Desk lamp" not in response.text

    supplier = await db.get(Supplier, supplier_id, populate_existing=True)
    stored = await db.get(Quote, quote.id, populate_existing=True)
    assert supplier is not None
    assert stored is not None
    assert (supplier.name_en, supplier.version, stored.status, stored.version) == (
        DIRECTORY[0]["name_en"],
        1,
        QuoteStatus.requested,
        1,
    )
    assert await db.scalar(select(func.count()).select_from(Quote)) == 1


async def test_script_in_supplier_data_renders_as_text(
    client: Client, db: AsyncSession, world: World
) -> None:
    [supplier_id] = await add_suppliers(
        db,
        world,
        [
            {
                "name_en": HOSTILE,
                "name_zh": HOSTILE + " 工厂",
                "city": HOSTILE,
                "capabilities": HOSTILE,
                "notes": HOSTILE + " 100% sure",
                "contact_email": "",
            }
        ],
    )
    project = await add_project(db, world, HOSTILE)
    async with db.begin():
        [quote] = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[supplier_id]
        )
        await suppliers.record_quote(
            db,
            actor=world.coordinator,
            project_id=project.id,
            quote_id=quote.id,
            expected_version=quote.version,
            price_breaks=[("100", "1")],
            notes=HOSTILE,
        )
    await coordinator(client, world)
    for url in (
        "/coordinator/suppliers",
        f"/coordinator/suppliers/{supplier_id}",
        f"/coordinator/suppliers/{supplier_id}/edit",
        f"/coordinator/projects/{project.id}/quotes",
        f"/coordinator/projects/{project.id}/quotes/{quote.id}",
    ):
        page = await client.get(url)
        assert page.status_code == 200, url
        assert "<script>" not in page.text, url
        assert "<img src=x" not in page.text, url
        assert "&lt;script&gt;" in page.text, url
    # and a form re-shown with hostile input escapes it too
    response = await client.post(
        "/coordinator/suppliers",
        data={"name_en": HOSTILE, "min_order_quantity": "x", "_csrf_token": csrf(client)},
    )
    assert response.status_code == 422
    assert "<script>" not in response.text
