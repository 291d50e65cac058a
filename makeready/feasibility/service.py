"""Feasibility services: the review a coordinator completes before development, and what the brand sees of it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.feasibility.models import FeasibilityReview


async def review_complete(session: AsyncSession, project_id: int) -> bool:
    """Whether the project's feasibility review has been completed (an input of the development gate)."""
    completed = await session.scalar(
        select(FeasibilityReview.completed_at).where(FeasibilityReview.project_id == project_id)
    )
    return completed is not None
