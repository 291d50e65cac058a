"""Each lot's column on the live production board, kept on the lot (`lots.board_column`), so that the board reads
a page per column and counts per column on an index instead of computing every lot's column per request.

The rule is `column_of_lot()`, the only one: Planned / Pending parts / Tooling / In production / Inspection / On
hold / Packed / Shipped. The column is the lot's status, unless something stops it: an open condition on the lot
whose kind starts with "hold" puts it On hold, one whose kind starts with "shortage" in Pending parts (materials and
quality raise those), and a planned lot whose order still waits for tooling (not every item approved, no recorded
override) is in Tooling. A cancelled or delivered lot, or a lot of a closed or cancelled order, is off the board
(NULL).

It is stored by an ORM flush hook (`install()`, from the composition root), not by bus rules: the inputs change
through the lot, condition, tooling and order machines, but also through plain ORM writes that fire no event (a
condition added as a row), the conditions' events are named per kind (each new kind of hold or shortage would have
to be listed), and the hook sees every flushed change of the columns the rule reads, whoever wrote it. After each
flush it recomputes, in the flush's transaction, the lots whose status changed, the lots a condition was added to,
changed on or removed from, and every lot of an order whose status, tooling override or tooling items changed (on
PostgreSQL after locking those lots, so that concurrent changes of one lot's inputs apply one after the other).
Core statements (bulk INSERTs, UPDATEs) bypass it: call `refresh()` after them, or `rebuild_in_batches()`
(`makeready production-board rebuild`) to repair every lot.
"""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    case,
    event,
    exists,
    inspect,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from makeready.conditions.models import Condition
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.i18n import N_
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ToolingItem,
    ToolingStatus,
)

HOLD_PREFIX = "hold"
SHORTAGE_PREFIX = "shortage"
INSPECTION = (
    LotStatus.produced,
    LotStatus.inspecting,
    LotStatus.passed,
    LotStatus.failed,
    LotStatus.rework,
    LotStatus.reinspecting,
    LotStatus.released,
)
SHIPPED = (LotStatus.shipped,)
OFF_BOARD_LOTS = (LotStatus.cancelled, LotStatus.delivered)
OFF_BOARD_ORDERS = (OrderStatus.closed, OrderStatus.cancelled)


class BoardColumn(enum.StrEnum):
    planned = "planned"
    pending_parts = "pending_parts"
    tooling = "tooling"
    in_production = "in_production"
    inspection = "inspection"
    on_hold = "on_hold"
    packed = "packed"
    shipped = "shipped"

    @staticmethod
    def labels() -> dict[BoardColumn, str]:
        return {
            BoardColumn.planned: N_("Planned"),
            BoardColumn.pending_parts: N_("Pending parts"),
            BoardColumn.tooling: N_("Tooling"),
            BoardColumn.in_production: N_("In production"),
            BoardColumn.inspection: N_("Inspection"),
            BoardColumn.on_hold: N_("On hold"),
            BoardColumn.packed: N_("Packed"),
            BoardColumn.shipped: N_("Shipped"),
        }


def _open_condition(prefix: str) -> Any:
    """The lot has an open condition whose kind starts with `prefix`, with the prefix as a range on `kind` so the
    unresolved conditions' index serves it."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return exists().where(
        Condition.subject_type == "lot",
        Condition.subject_id == Lot.id,
        Condition.resolved_at.is_(None),
        Condition.kind >= prefix,
        Condition.kind < upper,
    )


def column_of_lot() -> Any:
    """The board column of a lot (NULL: off the board), in SQL over `lots` joined to its `production_orders`."""
    waiting_tooling = and_(
        Lot.status == LotStatus.planned,
        ProductionOrder.tooling_override_reason == "",
        exists().where(ToolingItem.order_id == Lot.order_id, ToolingItem.status != ToolingStatus.approved),
    )
    return case(
        (or_(Lot.status.in_(OFF_BOARD_LOTS), ProductionOrder.status.in_(OFF_BOARD_ORDERS)), null()),
        (_open_condition(HOLD_PREFIX), literal(BoardColumn.on_hold.value)),
        (_open_condition(SHORTAGE_PREFIX), literal(BoardColumn.pending_parts.value)),
        (waiting_tooling, literal(BoardColumn.tooling.value)),
        (Lot.status == LotStatus.planned, literal(BoardColumn.planned.value)),
        (Lot.status == LotStatus.in_production, literal(BoardColumn.in_production.value)),
        (Lot.status.in_(INSPECTION), literal(BoardColumn.inspection.value)),
        (Lot.status == LotStatus.packed, literal(BoardColumn.packed.value)),
        else_=literal(BoardColumn.shipped.value),
    )


CHUNK = 500
"""Ids per statement (SQLite's bound-parameter limit, and short statements)."""


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _lots_in(by_order: bool) -> Any:
    return (Lot.order_id if by_order else Lot.id).in_(bindparam("ids", expanding=True))


@functools.cache
def _lock(by_order: bool) -> Any:
    return select(Lot.id).where(_lots_in(by_order)).order_by(Lot.id).with_for_update()


@functools.cache
def _computed(by_order: bool) -> Any:
    """The stored and the computed column of the lots `ids` (or of the orders `ids`): built once, bound per call."""
    return (
        select(Lot.id, Lot.board_column, column_of_lot())
        .join(ProductionOrder, ProductionOrder.id == Lot.order_id)
        .where(_lots_in(by_order))
    )


def store(session: Session, *, lot_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> int:
    """Recompute and store the column of these lots and of every lot of these orders, in the session's
    transaction; returns how many changed. Core statements on the session's connection: no autoflush (it runs
    inside a flush), no tenancy criteria (it derives data of rows the caller already wrote), no `version` or
    `updated_at` bump (a form open on the lot stays valid); the session's loaded lots get the new values."""
    connection: Connection = session.connection()
    table: Table = Lot.__table__  # type: ignore[assignment]
    rows: list[tuple[int, str | None, str | None]] = []
    wanted = [(False, chunk) for chunk in _chunks(lot_ids)] + [(True, chunk) for chunk in _chunks(order_ids)]
    for by_order, chunk in wanted:
        if connection.dialect.name != "sqlite":
            # lock the lots first, in id order: a concurrent transaction changing another input of one of them
            # waits here until this one commits, then reads its inputs afresh (READ COMMITTED takes a new snapshot
            # per statement), so two changes of one lot's inputs cannot each store a column computed without the
            # other's (SQLite has one writer at a time)
            connection.execute(_lock(by_order), {"ids": chunk})
        rows += [(row[0], row[1], row[2]) for row in connection.execute(_computed(by_order), {"ids": chunk})]
    moved: dict[str | None, set[int]] = defaultdict(set)
    for lot_id, stored, computed in rows:
        if stored != computed:
            moved[computed].add(lot_id)
    for value, ids in moved.items():
        for chunk in _chunks(ids):
            connection.execute(
                update(table)
                .where(table.c.id.in_(chunk))
                .values(board_column=value, updated_at=table.c.updated_at, version=table.c.version)
            )
        for lot_id in ids:
            loaded = session.identity_map.get(session.identity_key(Lot, lot_id))
            if loaded is not None:
                set_committed_value(loaded, "board_column", value)
    return sum(len(ids) for ids in moved.values())


async def refresh(session: AsyncSession, lot_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> int:
    """`store` from async code (after core writes the flush hook does not see, and in the rebuild)."""
    lots, orders = list(lot_ids), list(order_ids)
    if not lots and not orders:
        return 0
    return await session.run_sync(lambda sync: store(sync, lot_ids=lots, order_ids=orders))


_PENDING = "board_columns.pending"


def _changed(obj: Any, *keys: str) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[key].history.has_changes() for key in keys)


def _touched(obj: Any, new: Any, deleted: Any) -> tuple[int | None, int | None]:
    """(lot id, order id) whose column this flushed object may have changed."""
    created_or_gone = obj in new or obj in deleted
    if isinstance(obj, Lot):
        return (
            obj.id if obj not in deleted and (obj in new or _changed(obj, "status", "order_id")) else None
        ), None
    if isinstance(obj, Condition) and obj.subject_type == "lot":
        return (
            obj.subject_id if created_or_gone or _changed(obj, "resolved_at", "kind", "subject_id") else None
        ), None
    if isinstance(obj, ToolingItem) and (created_or_gone or _changed(obj, "status", "order_id")):
        return None, obj.order_id
    if (
        isinstance(obj, ProductionOrder)
        and not created_or_gone
        and _changed(obj, "status", "tooling_override_reason")
    ):
        return None, obj.id
    return None, None


def _collect(session: Session, _flush_context: Any) -> None:
    """after_flush: note the lots and orders whose board inputs this flush changed (the history is still there)."""
    lots: set[int] = set()
    orders: set[int] = set()
    new, deleted = session.new, session.deleted
    for obj in chain(new, session.dirty, deleted):
        lot_id, order_id = _touched(obj, new, deleted)
        if lot_id is not None:
            lots.add(lot_id)
        if order_id is not None:
            orders.add(order_id)
    if lots or orders:
        pending = session.info.setdefault(_PENDING, (set(), set()))
        pending[0].update(lots)
        pending[1].update(orders)


def _store_pending(session: Session, _flush_context: Any) -> None:
    """after_flush_postexec: store the noted lots' columns (the flushed rows are in the transaction by now)."""
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        store(session, lot_ids=pending[0], order_ids=pending[1])


def install() -> None:
    """Keep the stored columns on every flush of every session (idempotent; the composition root calls it)."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_flush_postexec", _store_pending)


REBUILD_BATCH = 500


async def rebuild_in_batches(engine: AsyncEngine, *, batch: int = REBUILD_BATCH) -> int:
    """Recompute every lot's column, `batch` lots per transaction in id order (keyset), so writers wait for one
    batch at a time. Returns how many lots changed."""
    changed = 0
    after = 0
    while True:
        async with unit_of_work(Scope.system(), engine=engine) as session:
            ids = list(
                (
                    await session.scalars(select(Lot.id).where(Lot.id > after).order_by(Lot.id).limit(batch))
                ).all()
            )
            if not ids:
                return changed
            changed += await refresh(session, ids)
        after = ids[-1]
