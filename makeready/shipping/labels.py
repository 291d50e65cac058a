"""How the decision log names shipping's subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.shipping.models import Shipment


async def shipment_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(Shipment.id, Shipment.project_id, Shipment.number).where(Shipment.id.in_(ids))
    )
    return {shipment_id: f"SH-{project_id}-{number}" for shipment_id, project_id, number in rows.all()}
