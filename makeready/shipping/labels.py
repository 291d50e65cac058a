"""How the decision log names shipping's subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.production.labels import where_labels
from makeready.shipping.models import FloorDeviation, PackingList, RevisionChange, Shipment


async def shipment_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(Shipment.id, Shipment.project_id, Shipment.number).where(Shipment.id.in_(ids))
    )
    return {shipment_id: f"SH-{project_id}-{number}" for shipment_id, project_id, number in rows.all()}


async def packing_list_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(PackingList.id, PackingList.order_id, PackingList.lot_id).where(PackingList.id.in_(ids))
    )
    return await where_labels(session, rows.all())


async def floor_deviation_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(FloorDeviation.id, FloorDeviation.order_id, FloorDeviation.lot_id).where(
            FloorDeviation.id.in_(ids)
        )
    )
    return await where_labels(session, rows.all())


async def revision_change_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    """A revision change is named by the order it changes."""
    rows = await session.execute(
        select(RevisionChange.id, RevisionChange.order_id).where(RevisionChange.id.in_(ids))
    )
    return await where_labels(session, [(change_id, order_id, None) for change_id, order_id in rows.all()])
