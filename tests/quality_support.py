"""Arrangements for the quality tests: a produced lot of an accepted order, built to a revision with a quality
section (AQLs, inspection points, dimensions), and an inspection taken through the services to a given state."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.types import utcnow
from makeready.production import lots as lot_service
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.models import Phase
from makeready.quality import inspections as qc
from makeready.quality.models import Inspection
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.models import Quote, QuoteStatus, Supplier
from tests.production_support import BOM, Arranged, in_days, make_order
from tests.workflow_support import People, call_as, make_project, session_as, system

QUALITY = {
    "inspection_level": "II",
    "aql_critical": "0",
    "aql_major": "2.5",
    "aql_minor": "4.0",
    "points": [
        {
            "id": "p1",
            "point": {"en": "Shade finish even, no scratches", "zh": "灯罩表面均匀无划痕"},
            "method": {"en": "Visual at 1 m", "zh": "一米目视"},
            "defect_class": "major",
        },
        {
            "id": "p2",
            "point": {"en": "Cable strain relief holds 5 kg", "zh": "电缆拉力 5 公斤"},
            "method": {"en": "Pull test", "zh": "拉力测试"},
            "defect_class": "critical",
        },
    ],
}
DIMENSIONS = [
    {
        "id": "d1",
        "feature": {"en": "Shade diameter", "zh": "灯罩直径"},
        "value": "300",
        "unit": "mm",
        "tolerance_plus": "1.5",
        "tolerance_minus": "1.5",
    }
]


async def arrange_quality_project(engine: AsyncEngine, people: People, *, org: str = "a") -> Arranged:
    project = await make_project(engine, people, phase=Phase.development, org=org, name="Arc Pendant")
    async with system(engine) as session:
        supplier = Supplier(
            name_en="Dongguan Bright Lighting", name_zh="东莞明亮照明", city="Dongguan", weekly_capacity=1500
        )
        session.add(supplier)
        await session.flush()
        spec = SpecRevision(
            org_id=project.org_id,
            project_id=project.id,
            number=1,
            status=RevisionStatus.issued,
            content={"bom": BOM, "quality": QUALITY, "dimensions": DIMENSIONS},
            issued_at=utcnow(),
        )
        selected = Quote(
            org_id=project.org_id,
            project_id=project.id,
            supplier_id=supplier.id,
            status=QuoteStatus.selected,
            currency="USD",
            price_breaks=[{"quantity": 1000, "unit_price": "4.80"}, {"quantity": 3000, "unit_price": "4.20"}],
            lead_time_days=45,
        )
        session.add_all([spec, selected])
        project.supplier_id = supplier.id
        project.coordinator_id = people.coordinator.id
        await session.flush()
    return Arranged(project, spec, supplier, selected)


@dataclass
class Produced:
    arranged: Arranged
    order: ProductionOrder
    lot: Lot
    token: str


async def produced_lot(
    engine: AsyncEngine, people: People, *, quantity: int = 3000, org: str = "a"
) -> Produced:
    """An accepted order of one lot of `quantity`, started and reported finished (the lot is produced)."""
    arranged = await arrange_quality_project(engine, people, org=org)
    order, lots, token = await make_order(
        engine, people, arranged, quantity=quantity, lots=[quantity], state="accepted"
    )
    assert token is not None
    lot = await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lots[0].id)
    async with session_as(engine, people, people.coordinator) as session:
        loaded = await lot_service.load_lot(session, lot.id)
        await lot_service.report_progress(
            session,
            lot=loaded,
            counts={step: quantity for step in ("cut", "assembled", "finished", "packed")},
            actor=people.coordinator,
        )
        lot = loaded
    return Produced(arranged, order, lot, token)


async def inspection_in_progress(
    engine: AsyncEngine, people: People, produced: Produced, *, kind: str = "final"
) -> Inspection:
    coordinator = people.coordinator
    inspection = await call_as(
        engine, people, coordinator, qc.request_inspection, lot_id=produced.lot.id, kind=kind
    )
    await call_as(
        engine,
        people,
        coordinator,
        qc.schedule_inspection,
        inspection_id=inspection.id,
        scheduled_for=in_days(1).isoformat(),
        inspector_id=coordinator.id,
    )
    return await call_as(engine, people, coordinator, qc.start_inspection, inspection_id=inspection.id)


async def add_defects(
    engine: AsyncEngine, people: People, inspection_id: int, defect_class: str, count: int, **kwargs: Any
) -> None:
    for _ in range(count):
        await call_as(
            engine,
            people,
            people.coordinator,
            qc.record_defect,
            inspection_id=inspection_id,
            defect_class=defect_class,
            defect_type=kwargs.get("defect_type", "appearance"),
            note=kwargs.get("note", ""),
        )


async def submitted(
    engine: AsyncEngine, people: People, produced: Produced, *, majors: int = 0, review: bool = True
) -> Inspection:
    """A final inspection with `majors` major defects, submitted (and sent to the brand unless review=False)."""
    inspection = await inspection_in_progress(engine, people, produced)
    await add_defects(engine, people, inspection.id, "major", majors)
    inspection = await call_as(
        engine, people, people.coordinator, qc.submit_inspection, inspection_id=inspection.id, submit_key="k1"
    )
    if review:
        inspection = await call_as(
            engine, people, people.coordinator, qc.send_for_review, inspection_id=inspection.id
        )
    return inspection


def jpeg(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()
