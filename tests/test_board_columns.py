"""Each lot's stored board column (lots.board_column) follows every change the board rule reads, in the change's
own transaction, through the services: a status transition, a quality hold placed and lifted, a shortage raised and
resolved, tooling added and approved, the tooling override, the order cancelled; the rebuild repairs a stale
column, and the migration's backfill agrees with the rule."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.conditions.models import Condition
from makeready.conditions.service import raise_condition, resolve_condition
from makeready.materials import shortages
from makeready.production import board_columns
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import tooling as tooling_service
from makeready.production.board_columns import BoardColumn
from makeready.production.models import Lot
from makeready.quality import holds
from tests.conftest import World
from tests.production_support import arrange_project, make_order
from tests.test_backoffice_forms import people_of
from tests.test_cli import cli
from tests.workflow_support import People, call_as, session_as, system

MIGRATION = (
    Path(__file__).resolve().parent.parent
    / "makeready/db/migrations/versions/20261204_a9d3c7e5b1f2_lot_board_column.py"
)


def migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lot_board_column_migration", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def people(engine: AsyncEngine, world: World) -> People:
    return await people_of(engine, world)


async def stored(engine: AsyncEngine, lot_id: int) -> str | None:
    async with system(engine) as session:
        return await session.scalar(select(Lot.board_column).where(Lot.id == lot_id))


async def test_a_status_transition_moves_the_lot(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    _order, lots, _ = await make_order(
        engine, people, arranged, quantity=200, lots=[100, 100], state="accepted"
    )
    assert await stored(engine, lots[0].id) == BoardColumn.planned
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lots[0].id)
    assert await stored(engine, lots[0].id) == BoardColumn.in_production
    assert await stored(engine, lots[1].id) == BoardColumn.planned


async def test_a_hold_placed_and_lifted_moves_the_lot(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(
        engine, people, arranged, quantity=200, lots=[100, 100], state="accepted"
    )
    hold = await call_as(
        engine,
        people,
        people.coordinator,
        holds.place_manual_hold,
        lot_id=lots[0].id,
        order_id=order.id,
        reason="Carton marks wrong",
    )
    assert await stored(engine, lots[0].id) == BoardColumn.on_hold
    assert await stored(engine, lots[1].id) == BoardColumn.planned
    await call_as(engine, people, people.coordinator, holds.lift_hold, hold_id=hold.id, reason="Relabelled")
    assert await stored(engine, lots[0].id) == BoardColumn.planned


async def test_a_shortage_raised_and_resolved_moves_the_lot(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    _order, lots, _ = await make_order(engine, people, arranged, quantity=100, lots=[100], state="accepted")
    lot = lots[0]
    async with session_as(engine, people, None) as session:
        condition = await raise_condition(
            session,
            kind=shortages.LATE,
            subject_id=lot.id,
            org_id=lot.org_id,
            project_id=lot.project_id,
            owner_id=people.coordinator.id,
        )
        assert condition is not None
        # the session's loaded lot has its new column too, before the commit
        loaded = await lot_service.load_lot(session, lot.id)
        assert loaded.board_column == BoardColumn.pending_parts
    assert await stored(engine, lot.id) == BoardColumn.pending_parts
    async with session_as(engine, people, None) as session:
        opened = await session.scalar(select(Condition).where(Condition.id == condition.id))
        assert opened is not None
        await resolve_condition(session, opened, reason="Arrived")
    assert await stored(engine, lot.id) == BoardColumn.planned


async def test_tooling_added_approved_and_overridden_moves_the_lots(
    engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(
        engine, people, arranged, quantity=200, lots=[100, 100], state="accepted"
    )
    item = await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.add_tooling,
        order_id=order.id,
        data={"name": "Mold"},
    )
    assert [await stored(engine, lot.id) for lot in lots] == [BoardColumn.tooling] * 2
    async with session_as(engine, people, None) as session:
        await tooling_service.submit_trial(session, item=await tooling_service.load_tooling(session, item.id))
    assert await stored(engine, lots[0].id) == BoardColumn.tooling
    await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.decide_tooling,
        item_id=item.id,
        decision="approve",
    )
    assert [await stored(engine, lot.id) for lot in lots] == [BoardColumn.planned] * 2

    second = await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.add_tooling,
        order_id=order.id,
        data={"name": "Jig"},
    )
    assert second.id != item.id
    assert await stored(engine, lots[1].id) == BoardColumn.tooling
    await call_as(
        engine,
        people,
        people.coordinator,
        order_service.override_tooling,
        order_id=order.id,
        reason="Old jig",
    )
    assert [await stored(engine, lot.id) for lot in lots] == [BoardColumn.planned] * 2


async def test_a_cancelled_order_takes_its_lots_off_the_board(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(engine, people, arranged, quantity=200, lots=[100, 100], state="sent")
    assert [await stored(engine, lot.id) for lot in lots] == [BoardColumn.planned] * 2
    await call_as(
        engine,
        people,
        people.coordinator,
        order_service.cancel_order,
        order_id=order.id,
        reason="Brand stopped",
    )
    assert [await stored(engine, lot.id) for lot in lots] == [None, None]


async def test_the_rebuild_repairs_a_stale_column(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    _order, lots, _ = await make_order(
        engine, people, arranged, quantity=300, lots=[100] * 3, state="accepted"
    )
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lots[0].id)
    async with system(engine) as session:
        await session.execute(
            update(Lot).where(Lot.id.in_([lots[0].id, lots[1].id])).values(board_column=BoardColumn.shipped)
        )
    assert await stored(engine, lots[0].id) == BoardColumn.shipped
    assert await board_columns.rebuild_in_batches(engine, batch=2) == 2
    assert [await stored(engine, lot.id) for lot in lots] == [
        BoardColumn.in_production,
        BoardColumn.planned,
        BoardColumn.planned,
    ]
    assert await board_columns.rebuild_in_batches(engine) == 0


async def test_the_migrations_backfill_agrees_with_the_rule(engine: AsyncEngine, people: People) -> None:
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(
        engine, people, arranged, quantity=500, lots=[100] * 5, state="accepted"
    )
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lots[0].id)
    await call_as(
        engine,
        people,
        people.coordinator,
        holds.place_manual_hold,
        lot_id=lots[1].id,
        order_id=order.id,
        reason="Carton marks wrong",
    )
    await call_as(
        engine,
        people,
        people.coordinator,
        tooling_service.add_tooling,
        order_id=order.id,
        data={"name": "Mold"},
    )
    other = await arrange_project(engine, people, org="b")
    cancelled, _their_lots, _ = await make_order(engine, people, other, quantity=100, lots=[100])
    await call_as(
        engine,
        people,
        people.coordinator,
        order_service.cancel_order,
        order_id=cancelled.id,
        reason="Stopped",
    )
    async with system(engine) as session:
        kept = dict((await session.execute(select(Lot.id, Lot.board_column))).all())
        await session.execute(update(Lot).values(board_column=BoardColumn.packed))
        await session.execute(text(migration().BACKFILL))
        assert dict((await session.execute(select(Lot.id, Lot.board_column))).all()) == kept
    assert set(kept.values()) >= {BoardColumn.in_production, BoardColumn.on_hold, BoardColumn.tooling, None}
    assert await board_columns.rebuild_in_batches(engine) == 0


async def test_the_rebuild_command_repairs_and_says_how_many(
    db_url: str, engine: AsyncEngine, people: People
) -> None:
    arranged = await arrange_project(engine, people)
    _order, lots, _ = await make_order(engine, people, arranged, quantity=100, lots=[100], state="accepted")
    async with system(engine) as session:
        await session.execute(update(Lot).values(board_column=None))
    repaired = await cli(db_url, "production-board", "rebuild", "--batch", "10")
    assert repaired.exit_code == 0, repaired.output
    assert repaired.stdout.strip() == "board columns rebuilt: 1 lot changed"
    assert await stored(engine, lots[0].id) == BoardColumn.planned


async def test_concurrent_changes_of_one_lot_apply_one_after_the_other(
    engine: AsyncEngine, people: People
) -> None:
    """PostgreSQL: a hold lifted in one transaction while another raises a shortage on the same lot. The second
    waits on the lot's row lock until the first commits, then computes its column with both changes."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    arranged = await arrange_project(engine, people)
    order, lots, _ = await make_order(engine, people, arranged, quantity=100, lots=[100], state="accepted")
    lot = lots[0]
    hold = await call_as(
        engine,
        people,
        people.coordinator,
        holds.place_manual_hold,
        lot_id=lot.id,
        order_id=order.id,
        reason="Carton marks wrong",
    )
    assert await stored(engine, lot.id) == BoardColumn.on_hold

    async def raise_shortage() -> None:
        async with session_as(engine, people, None) as session:
            await raise_condition(
                session,
                kind=shortages.LATE,
                subject_id=lot.id,
                org_id=lot.org_id,
                project_id=lot.project_id,
                owner_id=people.coordinator.id,
            )

    async def someone_waits_on_a_lock() -> bool:
        async with engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(waiting)

    async with session_as(engine, people, people.coordinator) as session:
        await holds.lift_hold(session, actor=people.coordinator, hold_id=hold.id, reason="Relabelled")
        await session.flush()
        second = asyncio.create_task(raise_shortage())
        for _ in range(500):
            if await someone_waits_on_a_lock() or second.done():
                break
            await asyncio.sleep(0.01)
        assert not second.done()  # it waits for this transaction
    await second
    assert await stored(engine, lot.id) == BoardColumn.pending_parts
