"""A project's change register: its change requests with who raised them and the files they concern.

Raising, deciding and withdrawing are workflow transitions (makeready.changes.lifecycle); this module only reads,
through the session's tenancy scope, so another organization's change request is NotFound like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from makeready.accounts.models import User
from makeready.changes.models import ChangeRequest
from makeready.errors import NotFound
from makeready.i18n import N_, _
from makeready.projects.models import Attachment, Project

CHANGE_NOT_FOUND = N_("This change request does not exist or you do not have access to it.")


@dataclass(frozen=True)
class ChangeEntry:
    """A change request with the names its page shows."""

    change: ChangeRequest
    files: list[Attachment]
    decided_by: str


async def _project_exists(session: AsyncSession, project_id: int) -> None:
    if await session.scalar(select(Project.id).where(Project.id == project_id)) is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))


async def _entries(session: AsyncSession, changes: list[ChangeRequest]) -> list[ChangeEntry]:
    """Files and deciders for a page of change requests: at most one query each."""
    file_ids = {i for c in changes for i in (c.attachment_ids or [])}
    files: dict[int, Attachment] = {}
    if file_ids:
        files = {
            a.id: a for a in await session.scalars(select(Attachment).where(Attachment.id.in_(file_ids)))
        }
    decider_ids = {c.decided_by_id for c in changes if c.decided_by_id is not None}
    names: dict[int, str] = {}
    if decider_ids:
        rows = await session.execute(select(User.id, User.name, User.email).where(User.id.in_(decider_ids)))
        names = {row.id: row.name or row.email for row in rows}
    return [
        ChangeEntry(
            change=c,
            files=[files[i] for i in (c.attachment_ids or []) if i in files],
            decided_by=names.get(c.decided_by_id or 0, ""),
        )
        for c in changes
    ]


async def list_changes(
    session: AsyncSession, project_id: int, *, offset: int = 0, limit: int = 50
) -> tuple[list[ChangeEntry], int]:
    """The project's change requests, newest first, and how many there are."""
    await _project_exists(session, project_id)
    query = select(ChangeRequest).where(ChangeRequest.project_id == project_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.options(selectinload(ChangeRequest.raised_by))
        .order_by(ChangeRequest.number.desc())
        .offset(offset)
        .limit(limit)
    )
    return await _entries(session, list(rows.all())), total


async def get_change(session: AsyncSession, change_id: int, *, project_id: int | None = None) -> ChangeEntry:
    query = (
        select(ChangeRequest)
        .where(ChangeRequest.id == change_id)
        .options(selectinload(ChangeRequest.raised_by))
    )
    if project_id is not None:
        query = query.where(ChangeRequest.project_id == project_id)
    change = await session.scalar(query)
    if change is None:
        raise NotFound(_(CHANGE_NOT_FOUND))
    return (await _entries(session, [change]))[0]


async def project_files(session: AsyncSession, project_id: int, *, limit: int = 200) -> list[Attachment]:
    """The project's files to choose from when raising a change, newest first."""
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.project_id == project_id)
        .order_by(Attachment.created_at.desc(), Attachment.id.desc())
        .limit(limit)
    )
    return list(rows.all())
