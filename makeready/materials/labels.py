"""How the decision log names materials' subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.materials.models import FreeIssueShipment, PurchaseOrder
from makeready.production.labels import where_labels


async def purchase_order_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(PurchaseOrder.id, PurchaseOrder.order_id, PurchaseOrder.number).where(
            PurchaseOrder.id.in_(ids)
        )
    )
    return {po_id: f"MPO-{order_id}-{number}" for po_id, order_id, number in rows.all()}


async def free_issue_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    """A free-issue shipment is named by the order it supplies."""
    rows = await session.execute(
        select(FreeIssueShipment.id, FreeIssueShipment.order_id).where(FreeIssueShipment.id.in_(ids))
    )
    return await where_labels(
        session, [(shipment_id, order_id, None) for shipment_id, order_id in rows.all()]
    )
