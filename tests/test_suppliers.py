"""Supplier services: the directory's search and filters, performance from constructed history (in a constant
number of queries), validation, stale edits, archive versus delete, quote comparison math and the selection.

Every test runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL. Pages and HTTP are in test_suppliers_pages.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.errors import Conflict, PermissionDenied, ValidationFailed
from makeready.projects import service as projects
from makeready.projects.models import Milestone, Phase, Project
from makeready.samples import supplier_record
from makeready.samples.models import SampleRound, SampleStatus
from makeready.suppliers import service as suppliers
from makeready.suppliers.models import Quote, QuoteStatus, Supplier
from tests.conftest import World
from tests.test_query_counts import count_statements

TODAY = date(2026, 6, 15)

DIRECTORY: list[dict[str, Any]] = [
    {
        "name_en": "Foshan Brightway Lighting",
        "name_zh": "佛山明途照明有限公司",
        "city": "Foshan",
        "province": "Guangdong",
        "capabilities": "Die casting, CNC machining",
        "processes": "Powder coating",
        "certifications": "ISO 9001",
        "min_order_quantity": "500",
    },
    {
        "name_en": "Ningbo Harbor Plastics",
        "name_zh": "宁波海港塑料制品厂",
        "city": "Ningbo",
        "province": "Zhejiang",
        "capabilities": "Injection molding",
        "processes": "Pad printing\nUltrasonic welding",
        "certifications": "ISO 9001, BSCI",
        "min_order_quantity": "1000",
    },
    {
        "name_en": "Shenzhen Quickturn Electronics",
        "name_zh": "深圳快转电子",
        "city": "Shenzhen",
        "province": "Guangdong",
        "capabilities": "PCB assembly",
        "processes": "SMT\uff0cWave soldering",  # a full-width comma
        "certifications": "",
        "min_order_quantity": "",
    },
    {
        "name_en": "Xiamen 100% Textiles",
        "name_zh": "厦门百分百纺织",
        "city": "Xiamen",
        "province": "Fujian",
        "capabilities": "Cut and sew",
        "processes": "",
        "certifications": "OEKO-TEX",
        "min_order_quantity": "300",
    },
]


async def add_suppliers(
    db: AsyncSession, world: World, entries: list[dict[str, Any]] = DIRECTORY
) -> list[int]:
    async with db.begin():
        made = [
            await suppliers.create_supplier(db, actor=world.coordinator, data=entry, allow_missing_zh=True)
            for entry in entries
        ]
    return [s.id for s in made]


async def add_project(
    db: AsyncSession,
    world: World,
    name: str,
    *,
    org_id: int | None = None,
    target_quantity: int | None = 800,
    currency: str = "USD",
) -> Project:
    async with db.begin():
        project = await projects.create_project(
            db,
            actor=world.coordinator,
            org_id=org_id or world.org_a.id,
            data={"name": name, "target_quantity": target_quantity, "currency": currency},
        )
    return project


def names(rows: list[Supplier]) -> list[str]:
    return [s.name_en for s in rows]


# -- the directory -------------------------------------------------------------------------------------------------


async def test_directory_search_and_filters(db: AsyncSession, world: World) -> None:
    await add_suppliers(db, world)
    F = suppliers.SupplierFilters

    async def find(**kwargs: Any) -> list[str]:
        rows, total = await suppliers.list_suppliers(db, filters=F(**kwargs))
        assert total == len(rows)
        return names(rows)

    everyone = [e["name_en"] for e in sorted(DIRECTORY, key=lambda e: e["name_en"].lower())]
    assert await find() == everyone
    # Chinese names, in part; English names and cities ignoring case
    assert await find(q="明途") == ["Foshan Brightway Lighting"]
    assert await find(q="海港") == ["Ningbo Harbor Plastics"]
    assert await find(q="harbor") == ["Ningbo Harbor Plastics"]
    assert await find(q="  SHENZHEN ") == ["Shenzhen Quickturn Electronics"]
    # LIKE wildcards in the search are literal characters
    assert await find(q="100%") == ["Xiamen 100% Textiles"]
    assert await find(q="%") == ["Xiamen 100% Textiles"]
    assert await find(q="_") == []
    # province; capability or process as one tag, any case; certification
    assert await find(province="guangdong") == ["Foshan Brightway Lighting", "Shenzhen Quickturn Electronics"]
    assert await find(capability="cnc machining") == ["Foshan Brightway Lighting"]
    assert await find(capability="CNC") == []  # a whole tag, not a part of one
    assert await find(capability="smt") == ["Shenzhen Quickturn Electronics"]  # split at the full-width comma
    assert await find(capability="Ultrasonic welding") == ["Ningbo Harbor Plastics"]
    assert await find(certification="iso 9001") == ["Foshan Brightway Lighting", "Ningbo Harbor Plastics"]
    assert await find(certification="BSCI", province="Zhejiang") == ["Ningbo Harbor Plastics"]
    assert await find(certification="BSCI", province="Guangdong") == []

    facets = await suppliers.directory_facets(db)
    assert facets.provinces == ["Fujian", "Guangdong", "Zhejiang"]
    assert "SMT" in facets.capabilities
    assert "Wave soldering" in facets.capabilities
    assert facets.certifications == ["BSCI", "ISO 9001", "OEKO-TEX"]

    rows, total = await suppliers.list_suppliers(db, filters=F(), offset=1, limit=2)
    assert (names(rows), total) == (everyone[1:3], 4)


async def test_brand_sessions_cannot_read_the_directory(engine: AsyncEngine, world: World) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(world.owner_a.id, {world.org_a.id}))
        with pytest.raises(PermissionDenied):
            await suppliers.list_suppliers(session)
        with pytest.raises(PermissionDenied):
            await supplier_record.supplier_performance(session, [1])


async def test_create_validates_and_writes_nothing_on_bad_input(db: AsyncSession, world: World) -> None:
    good = dict(DIRECTORY[0])
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "name_en": "   "}, "name_en"),
        ({**good, "contact_email": "sales at brightway"}, "contact_email"),
        ({**good, "min_order_quantity": "0"}, "min_order_quantity"),
        ({**good, "min_order_quantity": "-5"}, "min_order_quantity"),
        ({**good, "min_order_quantity": "many"}, "min_order_quantity"),
        ({**good, "name_en": "x" * 201}, "name_en"),
        ({**good, "capabilities": ",".join(f"tag {i}" for i in range(60))}, "capabilities"),
    ]
    for data, field_name in cases:
        with pytest.raises(ValidationFailed) as caught:
            async with db.begin():
                await suppliers.create_supplier(db, actor=world.coordinator, data=data)
        assert caught.value.extra["field"] == field_name
    # no Chinese name: refused unless the caller says so
    with pytest.raises(suppliers.ChineseNameMissing):
        async with db.begin():
            await suppliers.create_supplier(db, actor=world.coordinator, data={**good, "name_zh": ""})
    with pytest.raises(PermissionDenied):
        async with db.begin():
            await suppliers.create_supplier(db, actor=world.owner_a, data=good)
    assert await db.scalar(select(func.count()).select_from(Supplier)) == 0
    assert await db.scalar(select(func.count()).where(AuditEvent.subject_type == "supplier")) == 0
    await db.commit()

    async with db.begin():
        supplier = await suppliers.create_supplier(
            db,
            actor=world.coordinator,
            data={
                **good,
                "name_zh": "",
                "contact_email": " Sales@Brightway.CN ",
                "capabilities": "CNC machining\n die   casting \uff0ccnc MACHINING\u3001Anodizing",
            },
            allow_missing_zh=True,
        )
    assert supplier.capabilities == ["CNC machining", "die casting", "Anodizing"]
    assert supplier.contact_email == "sales@brightway.cn"
    assert supplier.min_order_quantity == 500
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "supplier.created"))
    assert event is not None
    assert (event.subject_id, event.actor_id, event.org_id) == (supplier.id, world.coordinator.id, None)
    await db.commit()
    # the English name is the directory's key
    with pytest.raises(ValidationFailed) as caught:
        async with db.begin():
            await suppliers.create_supplier(
                db, actor=world.coordinator, data={**good, "name_en": good["name_en"].upper()}
            )
    assert caught.value.extra["field"] == "name_en"


async def test_stale_update_is_a_conflict_with_the_current_values(db: AsyncSession, world: World) -> None:
    [supplier_id] = await add_suppliers(db, world, DIRECTORY[:1])
    async with db.begin():
        updated = await suppliers.update_supplier(
            db,
            actor=world.coordinator,
            supplier_id=supplier_id,
            expected_version=1,
            changes={"city": "Zhongshan", "certifications": "ISO 9001\nISO 14001"},
        )
    assert (updated.version, updated.certifications) == (2, ["ISO 9001", "ISO 14001"])
    with pytest.raises(Conflict) as caught:
        async with db.begin():
            await suppliers.update_supplier(
                db,
                actor=world.admin,
                supplier_id=supplier_id,
                expected_version=1,
                changes={"city": "Dongguan"},
            )
    assert caught.value.extra["current_version"] == 2
    assert caught.value.extra["current"]["city"] == "Zhongshan"
    supplier = await db.get(Supplier, supplier_id, populate_existing=True)
    assert supplier is not None
    assert (supplier.city, supplier.version) == ("Zhongshan", 2)
    events = (
        await db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.subject_type == "supplier", AuditEvent.subject_id == supplier_id
            )
        )
    ).all()
    assert list(events) == ["supplier.created", "supplier.updated"]


async def test_archive_restore_and_delete_refusal(db: AsyncSession, world: World) -> None:
    quoted, spare = await add_suppliers(db, world, DIRECTORY[:2])
    project_id = (await add_project(db, world, "Desk lamp")).id
    async with db.begin():
        await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project_id, supplier_ids=[quoted]
        )

    with pytest.raises(Conflict) as caught:
        async with db.begin():
            await suppliers.delete_supplier(
                db, actor=world.coordinator, supplier_id=quoted, expected_version=1
            )
    assert "Archive" in caught.value.message
    assert await db.get(Supplier, quoted) is not None
    await db.commit()

    async with db.begin():
        archived = await suppliers.archive_supplier(
            db, actor=world.coordinator, supplier_id=quoted, expected_version=1, reason="closed its plant"
        )
    assert archived.archived_at is not None
    rows, _total = await suppliers.list_suppliers(db)
    assert names(rows) == ["Ningbo Harbor Plastics"]
    rows, _total = await suppliers.list_suppliers(db, filters=suppliers.SupplierFilters(archived=True))
    assert names(rows) == ["Foshan Brightway Lighting"]
    # an archived supplier is not asked for quotes
    assert [s.id for s in await suppliers.requestable_suppliers(db, project_id)] == [spare]
    await db.commit()
    other_id = (await add_project(db, world, "Floor lamp")).id
    with pytest.raises(ValidationFailed):
        async with db.begin():
            await suppliers.request_quotes(
                db, actor=world.coordinator, project_id=other_id, supplier_ids=[quoted]
            )
    async with db.begin():
        restored = await suppliers.restore_supplier(
            db, actor=world.coordinator, supplier_id=quoted, expected_version=2
        )
    assert restored.archived_at is None

    async with db.begin():
        await suppliers.delete_supplier(db, actor=world.coordinator, supplier_id=spare, expected_version=1)
    assert await db.get(Supplier, spare) is None
    actions = (
        await db.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "supplier").order_by(AuditEvent.seq)
        )
    ).all()
    assert actions[-3:] == ["supplier.archived", "supplier.restored", "supplier.deleted"]


# -- performance -----------------------------------------------------------------------------------------------------


@dataclass
class Round:
    """A sample round to construct, with the due date of the milestone it relates to (None: no such milestone)."""

    project: str
    number: int
    supplier: str
    status: SampleStatus
    due: date | None
    shipped: date | None = None
    received: date | None = None


def at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(15, 30), tzinfo=UTC) if day else None


def expected_on_time(rounds: list[Round], supplier: str) -> tuple[int, int]:
    """(judged, on time) as the definition in supplier_performance says, from the constructed rows."""
    judged = on_time = 0
    for r in rounds:
        if r.supplier != supplier or r.due is None:
            continue
        delivered = r.shipped or r.received
        if delivered is not None:
            judged += 1
            on_time += delivered <= r.due
        elif r.status in (SampleStatus.requested, SampleStatus.in_production, SampleStatus.shipped) and (
            r.due < TODAY
        ):
            judged += 1
    return judged, on_time


def expected_first_pass(rounds: list[Round], supplier: str) -> tuple[int, int]:
    firsts: dict[str, Round] = {}
    for r in sorted(rounds, key=lambda r: r.number):
        if r.supplier == supplier:
            firsts.setdefault(r.project, r)
    decided = [r for r in firsts.values() if r.status in (SampleStatus.approved, SampleStatus.rejected)]
    return len(decided), sum(r.status == SampleStatus.approved for r in decided)


async def test_performance_from_constructed_history(
    db: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    brightway, harbor, quickturn, _textiles = await add_suppliers(db, world)
    ids = {"brightway": brightway, "harbor": harbor, "quickturn": quickturn}
    first_due = {
        "P1": TODAY - timedelta(days=30),
        "P2": TODAY - timedelta(days=20),
        "P3": TODAY - timedelta(days=5),
        "P4": TODAY + timedelta(days=10),
        "P5": TODAY - timedelta(days=40),
        "P6": TODAY - timedelta(days=40),
    }
    second_due_p2 = TODAY - timedelta(days=2)
    d = first_due
    rounds = [
        # P1: shipped two days early but rejected; round 2 shipped three days late, approved
        Round("P1", 1, "brightway", SampleStatus.rejected, d["P1"], shipped=d["P1"] - timedelta(days=2)),
        Round("P1", 2, "brightway", SampleStatus.approved, d["P1"], shipped=d["P1"] + timedelta(days=3)),
        # P2 plans a second sample milestone: round 2 is due by it. Round 1 handed over in person (no shipment)
        Round("P2", 1, "brightway", SampleStatus.approved, d["P2"], received=d["P2"]),
        Round("P2", 2, "brightway", SampleStatus.received, second_due_p2, shipped=second_due_p2),
        # P3: still in production after its due date: late, and undecided
        Round("P3", 1, "brightway", SampleStatus.in_production, d["P3"]),
        # P4: requested, not due yet: not judged
        Round("P4", 1, "brightway", SampleStatus.requested, d["P4"]),
        # P5: another supplier's rejected round 1; brightway's first round there is round 2, approved
        Round("P5", 1, "harbor", SampleStatus.rejected, d["P5"], shipped=d["P5"] + timedelta(days=1)),
        Round("P5", 2, "brightway", SampleStatus.approved, d["P5"], shipped=d["P5"]),
        # P6 has no sample milestone (removed from its plan): nothing to be on time for
        Round("P6", 1, "quickturn", SampleStatus.approved, None, shipped=d["P6"]),
        # received without any timestamp: the day is unknown, not judged either way
        Round("P6", 2, "harbor", SampleStatus.received, None),
    ]
    made: dict[str, Project] = {}
    for name in first_due:
        made[name] = await add_project(db, world, name)
    async with db.begin():
        for name, project in made.items():
            plan = (await db.scalars(select(Milestone).where(Milestone.project_id == project.id))).all()
            sample = next(m for m in plan if m.title == "First sample")
            if name == "P6":
                await db.delete(sample)
                continue
            sample.due_date = first_due[name]
            if name == "P2":
                db.add(
                    Milestone(
                        org_id=project.org_id,
                        project_id=project.id,
                        phase=Phase.development,
                        title="Second sample",
                        position=sample.position + 1,
                        due_date=second_due_p2,
                    )
                )
        for r in rounds:
            project = made[r.project]
            db.add(
                SampleRound(
                    org_id=project.org_id,
                    project_id=project.id,
                    number=r.number,
                    supplier_id=ids[r.supplier],
                    status=r.status,
                    shipped_at=at(r.shipped),
                    received_at=at(r.received),
                )
            )
        # selected for P4 (besides its samples) and for a project where it made no samples
        made["P4"].supplier_id = brightway
        db.add(Project(org_id=world.org_b.id, name="Selected only", supplier_id=brightway))

    with count_statements(engine) as statements:
        perf = await supplier_record.supplier_performance(db, [*ids.values(), _textiles], today=TODAY)
    assert len(statements) == 3

    for key, supplier_id in ids.items():
        judged, on_time = expected_on_time(rounds, key)
        decided, passed = expected_first_pass(rounds, key)
        p = perf[supplier_id]
        assert (p.rounds_counted, p.rounds_on_time) == (judged, on_time), key
        assert (p.projects_decided, p.projects_first_pass) == (decided, passed), key
        assert p.on_time_rate == (on_time / judged if judged else None), key
        assert p.first_pass_rate == (passed / decided if decided else None), key
    # the figures above, spelled out for brightway: rounds P1.1, P2.1, P2.2, P5.2 on time; P1.2, P3.1 late
    assert (perf[brightway].rounds_on_time, perf[brightway].rounds_counted) == (4, 6)
    # first rounds decided on P1 (rejected), P2 (approved), P5 (approved)
    assert (perf[brightway].projects_first_pass, perf[brightway].projects_decided) == (2, 3)
    assert (perf[harbor].rounds_on_time, perf[harbor].rounds_counted) == (0, 1)
    assert perf[quickturn].on_time_rate is None  # its only round had no sample milestone
    assert perf[quickturn].first_pass_rate == 1.0
    # no history at all: no rates, never 0%
    assert perf[_textiles].on_time_rate is None
    assert perf[_textiles].first_pass_rate is None
    assert perf[_textiles].past_projects == []

    past = {p.name: (p.selected, p.made_samples) for p in perf[brightway].past_projects}
    assert past == {
        "P1": (False, True),
        "P2": (False, True),
        "P3": (False, True),
        "P4": (True, True),
        "P5": (False, True),
        "Selected only": (True, False),
    }
    assert {p.name for p in perf[harbor].past_projects} == {"P5", "P6"}


async def test_performance_queries_do_not_grow_with_the_page(
    db: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    few = await add_suppliers(db, world, DIRECTORY[:1])
    many = await add_suppliers(
        db, world, [{"name_en": f"Factory {i}", "name_zh": f"工厂{i}"} for i in range(15)]
    )
    project = await add_project(db, world, "Desk lamp")
    async with db.begin():
        for number, supplier_id in enumerate([*few, *many], start=1):
            db.add(
                SampleRound(
                    org_id=project.org_id,
                    project_id=project.id,
                    number=number,
                    supplier_id=supplier_id,
                    status=SampleStatus.approved,
                    shipped_at=at(TODAY),
                )
            )
    counts = []
    for ids in (few, [*few, *many]):
        with count_statements(engine) as statements:
            perf = await supplier_record.supplier_performance(db, ids, today=TODAY)
        counts.append(len(statements))
        assert all(p.past_projects for p in perf.values())
    assert counts == [3, 3]


# -- quotes ------------------------------------------------------------------------------------------------------


async def record(db: AsyncSession, world: World, quote: Quote, **values: Any) -> Quote:
    async with db.begin():
        return await suppliers.record_quote(
            db,
            actor=world.coordinator,
            project_id=quote.project_id,
            quote_id=quote.id,
            expected_version=quote.version,
            **values,
        )


async def test_quote_comparison_math(db: AsyncSession, world: World) -> None:
    a, b, c, d = await add_suppliers(db, world)
    project = await add_project(db, world, "Desk lamp", target_quantity=800)
    async with db.begin():
        quotes = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[a, b, c, d]
        )
    qa, qb, qc, qd = quotes
    assert {q.status for q in quotes} == {QuoteStatus.requested}
    breaks_a = [("1000", "3.90"), ("100", "5.00"), ("500", "4.2")]
    await record(
        db, world, qa, price_breaks=breaks_a, tooling_cost="1500", lead_time_days="30", currency="usd"
    )
    # MOQ above the target: flagged, never highlighted, even though its landed cost is lowest
    await record(
        db,
        world,
        qb,
        price_breaks=[("500", "4.50"), ("2000", "3.00")],
        lead_time_days="12",
        min_order_quantity="1000",
    )
    # prices only from 1000 pieces: no landed cost at 800
    await record(db, world, qc, price_breaks=[("1000", "3.00")], tooling_cost="200", lead_time_days="25")
    # still requested (qd): no figures

    def expected(tooling: str, breaks: list[tuple[str, str]], quantity: int) -> Decimal | None:
        applicable = [Decimal(p) for q, p in sorted(breaks, key=lambda x: int(x[0])) if int(q) <= quantity]
        return applicable[-1] + Decimal(tooling) / quantity if applicable else None

    comparison = await suppliers.compare_quotes(db, project_id=project.id)
    assert comparison.quantity == 800
    rows = {r.quote.id: r for r in comparison.rows}
    assert rows[qa.id].break_quantity == 500
    assert rows[qa.id].unit_price == Decimal("4.2")
    assert rows[qa.id].landed_unit_cost == expected("1500", breaks_a, 800) == Decimal("6.075")
    assert rows[qa.id].landed_total == Decimal("6.075") * 800
    assert rows[qb.id].landed_unit_cost == Decimal("4.50")
    assert rows[qb.id].moq_exceeds
    assert not rows[qb.id].cheapest
    assert not rows[qb.id].fastest
    assert rows[qc.id].below_first_break
    assert rows[qc.id].landed_unit_cost is None
    assert rows[qd.id].landed_unit_cost is None
    # the supplier's directory MOQ stands in for a quote without one
    assert rows[qa.id].moq == 500
    assert not rows[qa.id].moq_exceeds
    assert [r.quote.id for r in comparison.rows if r.cheapest] == [qa.id]
    assert [r.quote.id for r in comparison.rows if r.fastest] == [qc.id]  # 25 days; qb's 12 has the MOQ flag
    assert [r.quote.id for r in comparison.rows][-1] == qd.id

    # at 1000 pieces qb's MOQ is met and qc's break applies
    at_1000 = {
        r.quote.id: r for r in (await suppliers.compare_quotes(db, project_id=project.id, quantity=1000)).rows
    }
    assert at_1000[qa.id].landed_unit_cost == expected("1500", breaks_a, 1000) == Decimal("5.40")
    assert at_1000[qc.id].landed_unit_cost == Decimal("3.00") + Decimal(200) / 1000
    assert not at_1000[qb.id].moq_exceeds
    assert [q for q, r in at_1000.items() if r.cheapest] == [qc.id]
    assert [q for q, r in at_1000.items() if r.fastest] == [qb.id]

    stored = await db.get(Quote, qa.id, populate_existing=True)
    assert stored is not None
    assert stored.price_breaks == [
        {"quantity": 100, "unit_price": "5.00"},
        {"quantity": 500, "unit_price": "4.20"},
        {"quantity": 1000, "unit_price": "3.90"},
    ]
    assert (stored.currency, stored.tooling_cost, stored.status) == (
        "USD",
        Decimal("1500.00"),
        QuoteStatus.received,
    )
    # recording a quote is agency-internal: its events carry no organization, so no brand reads prices
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.subject_type == "quote"))).all()
    assert {e.action for e in events} == {"quote.requested", "quote.recorded"}
    assert {e.org_id for e in events} == {None}
    assert {e.project_id for e in events} == {project.id}


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        ([("500", "")], "needs both"),
        ([("", "4.20")], "needs both"),
        ([("500", "-1")], "greater than zero"),
        ([("500", "0")], "greater than zero"),
        ([("500", "abc")], "greater than zero"),
        ([("0", "4.20")], "positive whole number"),
        ([("1.5", "4.20")], "positive whole number"),
        ([("500", "4.12345")], "four decimals"),
        ([("500", "4.2"), ("500", "4.1")], "give each quantity once"),
        ([("", "")], "at least one price break"),
        ([("500", "NaN")], "greater than zero"),
    ],
)
async def test_bad_price_breaks_are_refused(
    db: AsyncSession, world: World, breaks: list[tuple[str, str]], message: str
) -> None:
    [supplier_id] = await add_suppliers(db, world, DIRECTORY[:1])
    project = await add_project(db, world, "Desk lamp")
    async with db.begin():
        [quote] = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project.id, supplier_ids=[supplier_id]
        )
    quote_id = quote.id
    with pytest.raises(ValidationFailed) as caught:
        await record(db, world, quote, price_breaks=breaks)
    assert message in caught.value.message
    stored = await db.get(Quote, quote_id, populate_existing=True)
    assert stored is not None
    assert (stored.status, stored.price_breaks, stored.version) == (QuoteStatus.requested, [], 1)


async def test_selection_needs_a_reason_and_is_recorded_for_the_brand(
    db: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    a, b, c, _d = await add_suppliers(db, world)
    project_id = (await add_project(db, world, "Desk lamp")).id
    async with db.begin():
        quotes = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project_id, supplier_ids=[a, b, c]
        )
    for quote in quotes[:2]:
        await record(db, world, quote, price_breaks=[("100", "5")], lead_time_days="30")
    qa, qb, qc = (q.id for q in quotes)

    for reason in ("", "   "):
        with pytest.raises(ValidationFailed) as caught:
            async with db.begin():
                await suppliers.select_supplier(
                    db, actor=world.coordinator, project_id=project_id, quote_id=qa, reason=reason
                )
        assert caught.value.extra["field"] == "reason"
    # a quote without prices cannot be chosen
    with pytest.raises(Conflict):
        async with db.begin():
            await suppliers.select_supplier(
                db, actor=world.coordinator, project_id=project_id, quote_id=qc, reason="cheap"
            )
    stored = await db.get(Project, project_id, populate_existing=True)
    assert stored is not None
    assert stored.supplier_id is None
    assert await db.scalar(select(func.count()).where(AuditEvent.action == "supplier.selected")) == 0
    await db.commit()

    async with db.begin():
        await suppliers.select_supplier(
            db,
            actor=world.coordinator,
            project_id=project_id,
            quote_id=qa,
            reason="Best finish on the samples",
        )
    statuses = {q.id: q.status for q in await suppliers.list_quotes(db, project_id)}
    assert statuses == {qa: QuoteStatus.selected, qb: QuoteStatus.received, qc: QuoteStatus.requested}
    await db.commit()
    # changing one's mind: the earlier choice goes back to received; with decline_others the rest are declined
    async with db.begin():
        await suppliers.select_supplier(
            db,
            actor=world.coordinator,
            project_id=project_id,
            quote_id=qb,
            reason="Brightway cannot meet the date",
            decline_others=True,
        )
    statuses = {q.id: q.status for q in await suppliers.list_quotes(db, project_id)}
    assert statuses == {qa: QuoteStatus.declined, qb: QuoteStatus.selected, qc: QuoteStatus.declined}
    # the selected and declined quotes are the record of the decision: their prices no longer change
    versions = {q.id: q.version for q in await suppliers.list_quotes(db, project_id)}
    await db.commit()
    for quote_id, message in ((qb, "was selected"), (qa, "was declined")):
        with pytest.raises(Conflict) as refused:
            async with db.begin():
                await suppliers.record_quote(
                    db,
                    actor=world.coordinator,
                    project_id=project_id,
                    quote_id=quote_id,
                    expected_version=versions[quote_id],
                    price_breaks=[("100", "1")],
                )
        assert message in refused.value.message
    stored = await db.get(Project, project_id, populate_existing=True)
    assert stored is not None
    assert stored.supplier_id == b
    await db.commit()

    # the brand reads the selections (supplier and reason, no prices) and none of the quote events
    async with make_sessionmaker(engine)() as brand:
        set_scope(brand, Scope.member(world.owner_a.id, {world.org_a.id}))
        seen = (
            await brand.scalars(
                select(AuditEvent).where(AuditEvent.project_id == project_id).order_by(AuditEvent.seq)
            )
        ).all()
    selections = [e for e in seen if e.action == "supplier.selected"]
    assert [e.reason for e in selections] == ["Best finish on the samples", "Brightway cannot meet the date"]
    assert selections[-1].after == {
        "supplier_id": b,
        "supplier": "Ningbo Harbor Plastics",
        "supplier_zh": "宁波海港塑料制品厂",
    }
    assert selections[-1].before is not None
    assert selections[-1].before["supplier_id"] == a
    assert not [e for e in seen if e.subject_type == "quote"]
    assert "price" not in str([e.after for e in seen])


async def test_an_archived_supplier_cannot_be_selected(db: AsyncSession, world: World) -> None:
    [supplier_id] = await add_suppliers(db, world, DIRECTORY[:1])
    project_id = (await add_project(db, world, "Desk lamp")).id
    async with db.begin():
        [quote] = await suppliers.request_quotes(
            db, actor=world.coordinator, project_id=project_id, supplier_ids=[supplier_id]
        )
    await record(db, world, quote, price_breaks=[("100", "5")])
    async with db.begin():
        await suppliers.archive_supplier(
            db, actor=world.coordinator, supplier_id=supplier_id, expected_version=1
        )
    quote_id = quote.id
    with pytest.raises(Conflict) as caught:
        async with db.begin():
            await suppliers.select_supplier(
                db, actor=world.coordinator, project_id=project_id, quote_id=quote_id, reason="cheapest"
            )
    assert "archived" in caught.value.message
    stored = await db.get(Project, project_id, populate_existing=True)
    assert stored is not None
    assert stored.supplier_id is None
