"""The demo agency's production story: Arc Pendant 40 in production at its factory, through the services.

An order of 3,000 units in three lots: lot 1 produced, inspected, released and packed; lot 2 in production with a
report every working day; lot 3 planned and waiting on a tooling trial (a new clip mold the factory has just shot
T1 of). Every step runs inside `frozen_clock(moment)` so the order's history reads as it happened, relative to the
day of seeding. Idempotent: a project that already has an order is left alone.
"""

# ruff: noqa: RUF001 - the factory writes its notes with Chinese punctuation

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.db.types import frozen_clock
from makeready.demo_images import factory_photo
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import photos as production_photos
from makeready.production import tooling as tooling_service
from makeready.production.models import Lot, ProductionOrder, ToolingItem
from makeready.projects import milestones as milestone_service
from makeready.projects.models import Milestone, Project
from makeready.suppliers import quotes as quote_service
from makeready.suppliers.models import Quote, QuoteStatus, Supplier

PRODUCTION_PROJECT = "Arc Pendant 40"
QUANTITY = 3000
LOT_SIZE = 1000


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
        first_end = start + timedelta(days=18)
        windows = [
            (start + timedelta(days=9), first_end),
            (first_end + timedelta(days=3), today + timedelta(days=4)),
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
    first, second, _third = lots
    steps: list[tuple[datetime, Callable[[], Awaitable[object]]]] = [
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
        # lot 1: produced on plan, then inspected, released and packed
        (_at(windows[0][0], 8), lambda: lot_service.start_lot(session, actor=coordinator, lot_id=first.id)),
    ]
    days = _working_days(windows[0][0], windows[0][1])
    for index, day in enumerate(days, start=1):
        steps.append((_at(day, 18), _reporter(session, order, first, round(LOT_SIZE * index / len(days)))))
    for action, offset in (("inspect", 1), ("pass_inspection", 2), ("release", 3), ("pack", 4)):
        steps.append(
            (_at(windows[0][1] + timedelta(days=offset), 14), _mover(session, first, action, coordinator))
        )
    # lot 2: in production, a report every working day up to yesterday, a little behind plan
    steps.append(
        (_at(windows[1][0], 8), lambda: lot_service.start_lot(session, actor=coordinator, lot_id=second.id))
    )
    plan_days = _working_days(windows[1][0], windows[1][1])
    for index, day in enumerate(_working_days(windows[1][0], today - timedelta(days=1)), start=1):
        note = "抛光线今天缺两名工人。Polishing line two workers short today." if index == 3 else ""
        done = round(LOT_SIZE * index / len(plan_days) * 0.95)
        photo = index % 3 == 1
        steps.append(
            (_at(day, 18), _reporter(session, order, second, done, note=note, photo=photo, seed=index))
        )
    # lot 3: waits for the new clip mold, whose first trial the factory has just sent
    mold_holder: list[ToolingItem] = []

    async def add_mold() -> None:
        mold = await tooling_service.add_tooling(
            session,
            actor=coordinator,
            order_id=order.id,
            data={
                "kind": "mold",
                "name": "Diffuser clip mold (revised latch)",
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
