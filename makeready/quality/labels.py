"""How the decision log names quality's subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.quality.models import Inspection


async def inspection_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(Inspection.id, Inspection.lot_id, Inspection.number).where(Inspection.id.in_(ids))
    )
    return {inspection_id: f"QC-{lot_id}-{number}" for inspection_id, lot_id, number in rows.all()}
