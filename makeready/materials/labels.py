"""How the decision log names materials' subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.materials.models import PurchaseOrder


async def purchase_order_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(PurchaseOrder.id, PurchaseOrder.order_id, PurchaseOrder.number).where(
            PurchaseOrder.id.in_(ids)
        )
    )
    return {po_id: f"MPO-{order_id}-{number}" for po_id, order_id, number in rows.all()}
