"""The demo agency's production story: Arc Pendant 40 in production at its factory, through the services.

An order of 3,000 units in five lots of 600, each step a service call a person (or the factory, through its link)
would make, so the gates, rules and audit events are the real ones:

- materials: the BOM (frozen at confirmation) explodes into five requirements; the factory confirms its aluminium and
  glass in house, the agency's cables arrive in full, but its LED purchase order forgot the BOM's 2% scrap: 60
  modules were never ordered and the order-by date has passed (an open "not ordered" shortage on lot 5, owned by
  the coordinator); the brand's woven labels came in a first shipment, the second is in transit;
- lot 1: inspected, accepted by the brand, its packing list submitted by the factory and accepted; shipment 1
  carries it, documents generated, released;
- lot 2: failed its final inspection (majors over the acceptance number): on quality hold, rejected by the brand,
  a corrective action request open at the factory; shipment 2 (lots 2 and 3) is planned and its gate refuses;
- lot 3: failed on minor defects, accepted by the brand with a concession (a credit on the balance);
- lot 4: in production with a report every working day; lot 5 planned and waiting on a new clip mold's T1 trial;
- revision B (the clip's latch force) issued while lot 1 runs: effective from lot 2, lots 2 to 5 held until the
  factory acknowledged it through its link the same day; lot 1 was built to revision A, lots 2 to 5 to B.

Every step runs inside `frozen_clock(moment)`, sorted by moment, so each project's history reads as it happened,
relative to the day of seeding. Idempotent: a project that already has an order is left alone.
"""

# ruff: noqa: RUF001 - the factory writes its notes with Chinese punctuation

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.db.types import frozen_clock
from makeready.demo_images import factory_photo
from makeready.materials import supply as supply_service
from makeready.materials.explosion import requirements_of
from makeready.materials.models import MaterialRequirement
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import photos as production_photos
from makeready.production import tooling as tooling_service
from makeready.production.models import Lot, ProductionOrder, ToolingItem
from makeready.projects import milestones as milestone_service
from makeready.projects.models import Milestone, Project
from makeready.quality import inspections as qc
from makeready.quality import photos as quality_photos
from makeready.shipping import changes as change_service
from makeready.shipping import packing as packing_service
from makeready.shipping import shipments as shipment_service
from makeready.shipping.models import RevisionChange, Shipment
from makeready.specs import service as spec_service
from makeready.specs.models import SpecRevision
from makeready.suppliers import quotes as quote_service
from makeready.suppliers.models import Quote, QuoteStatus, Supplier

PRODUCTION_PROJECT = "Arc Pendant 40"
QUANTITY = 3000
LOT_SIZE = 600
LOTS = QUANTITY // LOT_SIZE
UNITS_PER_CARTON = 4


def _tx(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh, "status": "reviewed"}


def _bom(
    line_id: str, part: tuple[str, str], material: tuple[str, str], code: str, supplied_by: str, **more: Any
) -> dict[str, Any]:
    return {
        "id": line_id,
        "part": _tx(*part),
        "material": _tx(*material),
        "quantity": "1",
        "unit": "pcs",
        "material_code": code,
        "supplied_by": supplied_by,
        **more,
    }


PRODUCTION_SPEC: dict[str, dict[str, Any]] = {
    PRODUCTION_PROJECT: {
        "bom": [
            _bom(
                "b1",
                ("Shade", "灯罩"),
                ("Aluminium disc 1050-O, 1.0 mm", "1050-O铝圆片，1.0毫米"),
                "AL-1050-D450",
                "factory",
                scrap_percent="3",
            ),
            _bom(
                "b2",
                ("Diffuser", "扩散罩"),
                ("Opal glass diffuser Ø380", "乳白玻璃扩散罩Ø380"),
                "GL-OPAL-380",
                "factory",
            ),
            _bom(
                "b3",
                ("Light source", "光源"),
                ("LED module 2700 K CRI 95, 24 W", "LED模组 2700K 显色指数95 24瓦"),
                "LED-2795-24",
                "agency",
                scrap_percent="2",
                material_supplier="Shenzhen Lumicore Optoelectronics",
                lead_time_days=21,
            ),
            _bom(
                "b4",
                ("Suspension cable", "吊线"),
                ("Textile cable 3 m, black", "黑色编织线3米"),
                "CBL-TX-3M",
                "agency",
                material_supplier="Ningbo Cordsmith",
                lead_time_days=10,
            ),
            _bom(
                "b5",
                ("Brand label", "品牌标"),
                ("Woven brand label, Lumen Studio", "Lumen Studio织唛"),
                "LBL-LUMEN-W",
                "brand",
                lead_time_days=0,
            ),
        ],
        "packaging": [
            {
                "id": "p1",
                "kind": "packaging",
                "item": _tx("Master carton", "外箱"),
                "details": _tx(
                    "4 units per carton, 5-ply, shade in a moulded pulp cradle.",
                    "每箱4套，五层瓦楞，灯罩置于纸浆模塑托内。",
                ),
                "units_per_carton": UNITS_PER_CARTON,
            }
        ],
        "quality": {
            "inspection_level": "II",
            "aql_critical": "0",
            "aql_major": "2.5",
            "aql_minor": "4.0",
            "points": [
                {
                    "id": "q1",
                    "point": _tx("Shade spinning: no dents, rim rolled evenly", "灯罩旋压：无凹痕，卷边均匀"),
                    "method": _tx("Visual at 50 cm under daylight.", "日光下50厘米目视。"),
                    "defect_class": "major",
                },
                {
                    "id": "q2",
                    "point": _tx("Powder coat: no scuffs or thin spots", "喷粉：无擦痕、无漏喷"),
                    "method": _tx("Visual at 1 m.", "1米目视。"),
                    "defect_class": "minor",
                },
                {
                    "id": "q3",
                    "point": _tx("Hi-pot test", "耐压测试"),
                    "method": _tx("1500 V AC for 1 s, every unit.", "交流1500伏，1秒，每件测试。"),
                    "defect_class": "critical",
                },
            ],
        },
    }
}
"""What the Arc Pendant's revision A says beyond its overview (demo.py issues it): the BOM its order's materials
explode from, the master carton its packing lists are checked against, and the AQLs its inspections sample by."""
CLIP_POINT = {
    "id": "q4",
    "point": _tx("Diffuser clip latch force 15-20 N", "扩散罩卡扣力15-20牛"),
    "method": _tx("Push-pull gauge, 5 clips per carton.", "推拉力计，每箱抽5个卡扣。"),
    "defect_class": "major",
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour=hour, minute=minute), tzinfo=UTC)


@dataclass
class ProductionStory:
    order: ProductionOrder
    lots: list[Lot]
    token: str


def _working_days(start: date, end: date) -> list[date]:
    days = []
    day = start
    while day <= end:
        if day.weekday() < 6:  # the factory works Monday to Saturday
            days.append(day)
        day += timedelta(days=1)
    return days


async def _selected_quote(session: AsyncSession, project: Project, coordinator: User, day: date) -> None:
    if await session.scalar(
        select(Quote.id).where(Quote.project_id == project.id, Quote.status == QuoteStatus.selected)
    ):
        return
    supplier_id = project.supplier_id or await session.scalar(
        select(Supplier.id).where(Supplier.archived_at.is_(None)).order_by(Supplier.id)
    )
    assert supplier_id is not None
    with frozen_clock(_at(day, 9)):
        [quote] = await quote_service.request_quotes(
            session, actor=coordinator, project_id=project.id, supplier_ids=[supplier_id]
        )
    with frozen_clock(_at(day + timedelta(days=2), 10)):
        quote = await quote_service.record_quote(
            session,
            actor=coordinator,
            project_id=project.id,
            quote_id=quote.id,
            expected_version=quote.version,
            price_breaks=[(1000, "31.80"), (3000, "29.40")],
            tooling_cost="2400",
            lead_time_days=45,
            min_order_quantity=500,
            currency="USD",
        )
    with frozen_clock(_at(day + timedelta(days=2), 15)):
        await quote_service.select_supplier(
            session,
            actor=coordinator,
            project_id=project.id,
            quote_id=quote.id,
            reason="Best spinning quality of the samples; lead time fits the launch.",
        )


async def seed_production(
    session: AsyncSession, *, coordinator: User, brand_owner: User, today: date
) -> ProductionStory | None:
    """The story, or None when the project is missing or already has an order. It begins after the project's
    own history (its last audit event) and every step is taken in time order, so the history reads in order."""
    project = await session.scalar(select(Project).where(Project.name == PRODUCTION_PROJECT))
    if project is None or await session.scalar(
        select(ProductionOrder.id).where(ProductionOrder.project_id == project.id)
    ):
        return None
    last = await session.scalar(
        select(func.max(AuditEvent.created_at)).where(AuditEvent.project_id == project.id)
    )
    start = max(today - timedelta(days=42), (last.date() if last else today) + timedelta(days=1))
    await _selected_quote(session, project, coordinator, start)
    with frozen_clock(_at(start + timedelta(days=3), 11)):
        order = await order_service.create_order(
            session,
            actor=coordinator,
            project_id=project.id,
            data={
                "quantity": QUANTITY,
                "ex_factory_date": (today + timedelta(days=26)).isoformat(),
                "incoterm": "FOB",
                "delivery_address": "Lumen Studio warehouse, Kalkbrennerstraße 12, 10243 Berlin, Germany",
                "payment_terms": "30% deposit with the order, 70% balance before shipment",
            },
        )
        windows = [
            (start + timedelta(days=9), start + timedelta(days=15)),
            (start + timedelta(days=11), start + timedelta(days=18)),
            (start + timedelta(days=13), start + timedelta(days=21)),
            (today - timedelta(days=17), today + timedelta(days=4)),
            (today + timedelta(days=6), today + timedelta(days=20)),
        ]
        lots = [
            await lot_service.add_lot(
                session,
                actor=coordinator,
                order_id=order.id,
                data={"quantity": LOT_SIZE, "planned_start": begin, "planned_end": end},
            )
            for begin, end in windows
        ]
        chuck = await tooling_service.add_tooling(
            session,
            actor=coordinator,
            order_id=order.id,
            data={
                "kind": "jig",
                "name": "Shade spinning chuck",
                "owner_id": coordinator.id,
                "due_date": (start + timedelta(days=9)).isoformat(),
            },
        )
    with frozen_clock(_at(start + timedelta(days=4), 10)):
        await order_service.confirm_order(session, actor=brand_owner, order_id=order.id)
    with frozen_clock(_at(start + timedelta(days=4), 15)):
        order, token = await order_service.send_order(session, actor=coordinator, order_id=order.id)
    first, second, third, fourth, _fifth = lots
    steps: Steps = [
        (
            _at(start + timedelta(days=5), 9),
            lambda: order_service.accept_order(session, order=order, name="王磊 Wang Lei"),
        ),
        (
            _at(start + timedelta(days=7), 16),
            lambda: tooling_service.submit_trial(session, item=chuck, note="T1: 20 shades spun, wall 0.8 mm"),
        ),
        (
            _at(start + timedelta(days=8), 11),
            lambda: tooling_service.decide_tooling(
                session, actor=coordinator, item_id=chuck.id, decision="approve"
            ),
        ),
    ]
    steps += _materials(session, order, coordinator, brand_owner, start=start, today=today)
    # lots 1 to 3: produced on plan, reported every other working day, then inspected
    for lot, (begin, end) in zip(lots[:3], windows[:3], strict=True):
        steps.append((_at(begin, 8), _starter(session, lot, coordinator)))
        days = _working_days(begin, end)
        for index, when in enumerate(days, start=1):
            if index % 2 and index != len(days):  # every other day, and the day it finished
                continue
            steps.append((_at(when, 18), _reporter(session, order, lot, round(LOT_SIZE * index / len(days)))))
    quality = _Quality(session, order, coordinator, brand_owner)
    steps += quality.inspection(first, windows[0][1] + timedelta(days=1), minors=2, decision="accept")
    steps += quality.inspection(
        second,
        windows[1][1] + timedelta(days=1),
        majors=6,  # the major plan accepts 5 of its sample of 80, rejects at 6
        decision="reject",
        note="凹痕在灯罩边缘。Dent on the shade's rim, from stacking shades before the rim was rolled.",
    )
    steps += quality.inspection(
        third,
        windows[2][1] + timedelta(days=1),
        majors=2,
        minors=8,  # the minor plan (AQL 4.0) accepts 7 of 80, rejects at 8
        decision="concede",
        note="喷粉擦痕在灯罩内侧。Scuffs in the powder coat inside the shade.",
    )
    shipping = _Shipping(session, order, coordinator)
    steps += shipping.packing(first, windows[0][1] + timedelta(days=2))
    steps += shipping.packing(third, windows[2][1] + timedelta(days=3))
    steps += shipping.released([first], windows[0][1] + timedelta(days=3))
    steps += shipping.planned([second, third], windows[2][1] + timedelta(days=4))
    # lot 4: in production, a report every working day up to yesterday, a little behind plan
    steps.append((_at(windows[3][0], 8), _starter(session, fourth, coordinator)))
    plan_days = _working_days(windows[3][0], windows[3][1])
    for index, when in enumerate(_working_days(windows[3][0], today - timedelta(days=1)), start=1):
        note = "抛光线今天缺两名工人。Polishing line two workers short today." if index == 3 else ""
        done = round(LOT_SIZE * index / len(plan_days) * 0.95)
        photo = index % 4 == 1
        steps.append(
            (_at(when, 18), _reporter(session, order, fourth, done, note=note, photo=photo, seed=index))
        )
    steps += _revision_change(session, order, coordinator, brand_owner, day=windows[0][0])
    # lot 5: waits for the new clip mold, whose first trial the factory has just sent
    mold_holder: list[ToolingItem] = []

    async def add_mold() -> None:
        mold = await tooling_service.add_tooling(
            session,
            actor=coordinator,
            order_id=order.id,
            data={
                "kind": "mold",
                "name": "Diffuser clip mold, second cavity",
                "owner_id": coordinator.id,
                "due_date": (today + timedelta(days=3)).isoformat(),
            },
        )
        await tooling_service.decide_tooling(session, actor=coordinator, item_id=mold.id, decision="start")
        mold_holder.append(mold)

    async def mold_trial() -> None:
        item = await tooling_service.submit_trial(
            session,
            item=mold_holder[0],
            note="T1 打样：50 个卡扣，卡扣力 18 N。T1 shot: 50 clips, latch force 18 N.",
        )
        picture = await anyio.to_thread.run_sync(factory_photo, "clip")
        await production_photos.add_photos(
            session,
            order=order,
            subject_type="tooling_trial",
            subject_id=item.id,
            files=[production_photos.PhotoFile(name="t1-clips.jpg", data=picture, caption="T1")],
        )

    # the time-and-action plan: each step done when the story did it
    plan = {
        m.plan_key: m
        for m in (
            await session.scalars(select(Milestone).where(Milestone.production_order_id == order.id))
        ).all()
    }
    done_at = {
        "pre_production_meeting": _at(start + timedelta(days=5), 10),
        "tooling_approved": _at(start + timedelta(days=8), 11, 30),
        "materials_in_house": _at(windows[0][0] - timedelta(days=1), 15),
        "production_start": _at(windows[0][0], 8, 30),
    }
    during = plan["during_production_inspection"].due_date
    if during is not None and during < today:
        done_at["during_production_inspection"] = _at(during, 16)
    for key, moment in done_at.items():
        steps.append((moment, _milestone_done(session, plan[key].id, coordinator)))
    steps.append((_at(today - timedelta(days=6), 10), add_mold))
    steps.append((_at(today - timedelta(days=1), 17), mold_trial))
    for moment, step in sorted(steps, key=lambda s: s[0]):
        with frozen_clock(moment):
            await step()
    await session.flush()
    return ProductionStory(order=order, lots=lots, token=token)


def _reporter(
    session: AsyncSession,
    order: ProductionOrder,
    lot: Lot,
    done: int,
    *,
    note: str = "",
    photo: bool = False,
    seed: int = 0,
) -> Callable[[], Awaitable[object]]:
    """The factory's report of `done` units finished (cut and assembled run a little ahead), with a photo of the
    rack when `photo`."""

    async def report() -> None:
        made = await lot_service.report_progress(
            session,
            lot=lot,
            counts={
                "cut": min(lot.quantity, done + 120),
                "assembled": min(lot.quantity, done + 60),
                "finished": done,
                "packed": 0,
            },
            note=note,
            reporter_name="王磊",
            via_link=True,
        )
        if photo:
            picture = await anyio.to_thread.run_sync(factory_photo, "shades", seed)
            await production_photos.add_photos(
                session,
                order=order,
                subject_type="progress_report",
                subject_id=made.id,
                files=[production_photos.PhotoFile(name=f"lot-{lot.number}-day-{seed}.jpg", data=picture)],
            )

    return report


def _milestone_done(session: AsyncSession, milestone_id: int, actor: User) -> Callable[[], Awaitable[object]]:
    async def done() -> None:
        await milestone_service.start_milestone(session, actor=actor, milestone_id=milestone_id)
        await milestone_service.complete_milestone(session, actor=actor, milestone_id=milestone_id)

    return done


def _mover(session: AsyncSession, lot: Lot, action: str, actor: User) -> Callable[[], Awaitable[object]]:
    return lambda: lot_service.move_lot(session, lot, action, actor=actor)


Steps = list[tuple[datetime, Callable[[], Awaitable[object]]]]


def _starter(session: AsyncSession, lot: Lot, actor: User) -> Callable[[], Awaitable[object]]:
    return lambda: lot_service.start_lot(session, actor=actor, lot_id=lot.id)


async def _requirement(session: AsyncSession, order: ProductionOrder, code: str) -> MaterialRequirement:
    return next(r for r in await requirements_of(session, order.id) if r.material_code == code)


def _materials(
    session: AsyncSession,
    order: ProductionOrder,
    coordinator: User,
    brand_owner: User,
    *,
    start: date,
    today: date,
) -> Steps:
    """The supply of the order's five materials: in house for lots 1 to 4 before each started, and two loose
    ends a visitor sees on the board: LED modules never ordered (the PO forgot the 2% scrap) and the brand's
    second shipment of labels on its way."""
    ids: dict[str, int] = {}

    async def purchase_orders() -> None:
        for key, code, supplier, quantity, cost in (
            ("led", "LED-2795-24", "Shenzhen Lumicore Optoelectronics", "3000", "3.85"),
            ("cable", "CBL-TX-3M", "Ningbo Cordsmith", "3000", "0.92"),
        ):
            requirement = await _requirement(session, order, code)
            po = await supply_service.create_purchase_order(
                session,
                actor=coordinator,
                order_id=order.id,
                supplier_name=supplier,
                eta=(start + timedelta(days=7)).isoformat(),
                lines=[{"requirement_id": requirement.id, "quantity": quantity, "unit_cost": cost}],
            )
            await supply_service.act_on_purchase_order(
                session, actor=coordinator, purchase_order_id=po.id, action="send"
            )
            ids[key] = po.id

    async def labels_shipped(quantity: str, eta: date, tracking: str, key: str) -> None:
        requirement = await _requirement(session, order, "LBL-LUMEN-W")
        shipment = await supply_service.record_free_issue(
            session,
            actor=brand_owner,
            order_id=order.id,
            requirement_id=requirement.id,
            quantity=quantity,
            eta=eta.isoformat(),
            tracking=tracking,
        )
        ids[key] = shipment.id

    async def confirmed() -> None:
        await supply_service.act_on_purchase_order(
            session, actor=coordinator, purchase_order_id=ids["led"], action="confirm"
        )

    async def received() -> None:
        for key, quantity in (("led", "2460"), ("cable", "3000")):
            [line] = await supply_service.lines_of(session, ids[key])
            await supply_service.receive_purchase_order(
                session, actor=coordinator, purchase_order_id=ids[key], quantities={line.id: quantity}
            )
        await supply_service.receive_free_issue(
            session, actor=coordinator, shipment_id=ids["labels"], quantity="2400"
        )

    async def factory_in_house() -> None:
        for code, note in (
            ("AL-1050-D450", "铝圆片已到厂。Aluminium discs in, mill certificate on file."),
            ("GL-OPAL-380", "玻璃罩已到厂并抽检。Glass in and spot-checked."),
        ):
            requirement = await _requirement(session, order, code)
            await supply_service.confirm_in_house(
                session,
                order=order,
                requirement_id=requirement.id,
                quantity=str(requirement.gross),
                note=note,
            )

    async def rest_expected() -> None:
        await supply_service.act_on_purchase_order(
            session,
            actor=coordinator,
            purchase_order_id=ids["led"],
            action="set_eta",
            eta=(today + timedelta(days=5)).isoformat(),
            reason="The supplier ships the remaining 540 modules with its next batch.",
        )

    return [
        (_at(start + timedelta(days=4), 16), purchase_orders),
        (
            _at(start + timedelta(days=5), 11),
            lambda: labels_shipped("2400", start + timedelta(days=7), "DHL 4821 7730 15", "labels"),
        ),
        (_at(start + timedelta(days=5), 14), confirmed),
        (_at(start + timedelta(days=7), 10), received),
        (_at(start + timedelta(days=7), 16), factory_in_house),
        (_at(today - timedelta(days=4), 11), rest_expected),
        (
            _at(today - timedelta(days=3), 11),
            lambda: labels_shipped("600", today + timedelta(days=4), "DHL 4821 9102 66", "labels_2"),
        ),
    ]


class _Quality:
    """Final inspections as the inspector does them on the phone, and the brand's decision on the report."""

    def __init__(
        self, session: AsyncSession, order: ProductionOrder, inspector: User, brand_owner: User
    ) -> None:
        self.session, self.order, self.inspector, self.brand_owner = session, order, inspector, brand_owner

    def inspection(
        self,
        lot: Lot,
        day: date,
        *,
        decision: str,
        majors: int = 0,
        minors: int = 0,
        note: str = "",
    ) -> Steps:
        session, actor = self.session, self.inspector
        held: list[int] = []

        async def request() -> None:
            inspection = await qc.request_inspection(session, actor=actor, lot_id=lot.id, kind="final")
            await qc.schedule_inspection(
                session, actor=actor, inspection_id=inspection.id, scheduled_for=day, inspector_id=actor.id
            )
            held.append(inspection.id)

        async def defects() -> None:
            for index, defect_class in enumerate(["major"] * majors + ["minor"] * minors):
                files = []
                if index == 0 and note:  # the first defect, photographed
                    picture = await anyio.to_thread.run_sync(factory_photo, "defect", lot.number + index)
                    files = [quality_photos.PhotoFile(data=picture, filename=f"lot-{lot.number}-{index}.jpg")]
                await qc.record_defect(
                    session,
                    actor=actor,
                    inspection_id=held[0],
                    defect_class=defect_class,
                    defect_type="appearance",
                    note=note if index == 0 else "",
                    files=files,
                )

        async def submit() -> None:
            await qc.submit_inspection(
                session, actor=actor, inspection_id=held[0], submit_key=f"demo-lot-{lot.number}"
            )
            await qc.send_for_review(session, actor=actor, inspection_id=held[0])

        async def decide() -> None:
            kwargs: dict[str, Any] = {}
            if decision == "reject":
                kwargs["reasons"] = "Dents on the rim are visible when the pendant hangs: rework every shade."
            elif decision == "concede":
                kwargs.update(
                    concession="Light scuffs inside the shade, not visible once hung: accepted as they are.",
                    remedy="The factory credits USD 1.50 a unit against the balance invoice.",
                    amount="900.00",
                )
            await qc.decide_inspection(
                session, actor=self.brand_owner, inspection_id=held[0], decision=decision, **kwargs
            )

        return [
            (_at(day, 8, 30), request),
            (_at(day, 9, 30), lambda: qc.start_inspection(session, actor=actor, inspection_id=held[0])),
            (_at(day, 11), defects),
            (_at(day, 15), submit),
            (_at(day + timedelta(days=1), 10), decide),
        ]


class _Shipping:
    """The factory's packing lists through its link, and the coordinator's shipments."""

    def __init__(self, session: AsyncSession, order: ProductionOrder, coordinator: User) -> None:
        self.session, self.order, self.coordinator = session, order, coordinator

    def packing(self, lot: Lot, day: date) -> Steps:
        session = self.session
        cartons = lot.quantity // UNITS_PER_CARTON
        held: list[int] = []

        async def submit() -> None:
            carton, mark = [
                await anyio.to_thread.run_sync(factory_photo, view, lot.number)
                for view in ("carton", "label")
            ]
            packing = await packing_service.submit_packing_list(
                session,
                order=self.order,
                lot_id=lot.id,
                rows=[
                    {
                        "first": 1,
                        "last": cartons,
                        "units_per_carton": UNITS_PER_CARTON,
                        "length_cm": "62",
                        "width_cm": "44",
                        "height_cm": "38",
                        "net_kg": "9.6",
                        "gross_kg": "11.2",
                    }
                ],
                marks=f"LUMEN STUDIO / ARC PENDANT 40 / {self.order.reference} LOT {lot.number} / C/NO. 1-{cartons}",
                name="王磊",
                photos=[
                    packing_service.PhotoFile(kind="carton", filename="cartons.jpg", data=carton),
                    packing_service.PhotoFile(kind="label", filename="mark.jpg", data=mark),
                ],
            )
            held.append(packing.id)

        return [
            (_at(day, 17), submit),
            (
                _at(day + timedelta(days=1), 9, 30),
                lambda: packing_service.accept_packing_list(
                    session, actor=self.coordinator, packing_id=held[0]
                ),
            ),
        ]

    async def _create(self, lots: list[Lot], etd: date) -> Shipment:
        return await shipment_service.create_shipment(
            self.session,
            actor=self.coordinator,
            order_id=self.order.id,
            data={
                "lot_ids": [lot.id for lot in lots],
                "transport": "sea",
                "forwarder": "Kuehne+Nagel Ningbo",
                "port_of_loading": "Ningbo",
                "port_of_destination": "Hamburg",
                "etd": etd.isoformat(),
                "eta": (etd + timedelta(days=34)).isoformat(),
                "unit_value": str(self.order.unit_price),  # the shipment takes the order's currency
            },
        )

    def released(self, lots: list[Lot], day: date) -> Steps:
        held: list[Shipment] = []

        async def plan() -> None:
            held.append(await self._create(lots, day + timedelta(days=3)))
            await shipment_service.generate_documents(
                self.session, actor=self.coordinator, shipment_id=held[0].id
            )

        return [
            (_at(day, 10), plan),
            (
                _at(day, 14),
                lambda: shipment_service.release_shipment(
                    self.session, actor=self.coordinator, shipment_id=held[0].id
                ),
            ),
        ]

    def planned(self, lots: list[Lot], day: date) -> Steps:
        return [(_at(day, 10), lambda: self._create(lots, day + timedelta(days=10)))]


def _revision_change(
    session: AsyncSession, order: ProductionOrder, coordinator: User, brand_owner: User, *, day: date
) -> Steps:
    """Revision B (the diffuser clip's latch force) written, approved and issued while lot 1 runs (it started on
    `day`); the coordinator makes it effective from lot 2, and the factory acknowledges it before lot 2 starts."""
    held: list[SpecRevision] = []

    async def write() -> None:
        revision = await spec_service.start_revision(session, actor=coordinator, project_id=order.project_id)
        content = copy.deepcopy(revision.content)
        content["quality"]["points"].append(copy.deepcopy(CLIP_POINT))
        content["change_summary"] = _tx(
            "Diffuser clip latch force 15-20 N, checked at assembly.",
            "扩散罩卡扣力15-20牛，装配时检验。",
        )
        await spec_service.save_content(
            session, actor=coordinator, revision_id=revision.id, content=content, expected_version=None
        )
        await spec_service.act(session, "submit", actor=coordinator, revision_id=revision.id)
        held.append(revision)

    async def change() -> RevisionChange:
        found = await session.scalar(
            select(RevisionChange).where(
                RevisionChange.order_id == order.id, RevisionChange.to_revision_id == held[0].id
            )
        )
        assert found is not None
        return found

    async def effective() -> None:
        await change_service.decide_effectivity(
            session,
            actor=coordinator,
            change_id=(await change()).id,
            from_lot=2,
            reason="Lot 1 is past assembly, where the clips go on: lot 2 on takes revision B.",
        )

    async def acknowledged() -> None:
        await change_service.acknowledge_revision(
            session, order=order, change_id=(await change()).id, name="王磊 Wang Lei"
        )

    return [
        (_at(day, 14), write),
        (
            _at(day + timedelta(days=1), 10),
            lambda: spec_service.act(session, "approve", actor=brand_owner, revision_id=held[0].id),
        ),
        (
            _at(day + timedelta(days=1), 11),
            lambda: spec_service.act(session, "issue", actor=coordinator, revision_id=held[0].id),
        ),
        (_at(day + timedelta(days=1), 14), effective),
        (_at(day + timedelta(days=1), 17), acknowledged),
    ]
