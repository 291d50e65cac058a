"""How the decision log names quality's subjects (the composition root registers these)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.production.labels import where_labels
from makeready.quality.models import CorrectiveAction, Inspection, QualityHold


async def inspection_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(Inspection.id, Inspection.lot_id, Inspection.number).where(Inspection.id.in_(ids))
    )
    return {inspection_id: f"QC-{lot_id}-{number}" for inspection_id, lot_id, number in rows.all()}


async def hold_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    """A hold is named by what it holds: its lot, or the whole order."""
    rows = await session.execute(
        select(QualityHold.id, QualityHold.order_id, QualityHold.lot_id).where(QualityHold.id.in_(ids))
    )
    return await where_labels(session, rows.all())


async def corrective_action_labels(session: AsyncSession, ids: list[int]) -> Mapping[int, str]:
    rows = await session.execute(
        select(CorrectiveAction.id, CorrectiveAction.order_id, CorrectiveAction.lot_id).where(
            CorrectiveAction.id.in_(ids)
        )
    )
    return await where_labels(session, rows.all())
