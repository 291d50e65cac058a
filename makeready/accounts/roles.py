"""A user's role in an organization, as the kernel's transitions ask for it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Membership


async def membership_role(session: AsyncSession, user_id: int, org_id: int) -> str | None:
    """The member's role name in the organization ("owner", "member", "viewer"), or None for a non-member."""
    role = await session.scalar(
        select(Membership.role).where(Membership.user_id == user_id, Membership.org_id == org_id)
    )
    return None if role is None else str(role.value)
