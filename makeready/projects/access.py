"""Helpers the workflow services share: loading a project, checking it is still open, who to tell."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Membership, OrgRole, User
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel.machine import load
from makeready.projects.models import Attachment, Phase, Project

PROJECT_NOT_FOUND = N_("This project does not exist or you do not have access to it.")
CLOSED_PROJECT = N_("This project is %(phase)s, so nothing on it can change any more.")
FINAL_PHASES = frozenset({Phase.delivered, Phase.cancelled})
ACTIVE_PHASES = frozenset({Phase.feasibility, Phase.development, Phase.production})


async def load_project(session: AsyncSession, project_id: int) -> Project:
    return await load(session, Project, project_id, PROJECT_NOT_FOUND)


def require_open(project: Project) -> None:
    """Cancelled and delivered projects are closed: their milestones, samples and changes no longer move."""
    if project.phase in FINAL_PHASES:
        raise Conflict(_(CLOSED_PROJECT) % {"phase": label(project.phase)}, current_state=project.phase.value)


async def brand_writers(session: AsyncSession, org_id: int) -> list[User]:
    """The organization's active owners and members (viewers are not asked to act)."""
    rows = await session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.org_id == org_id,
            Membership.role.in_([OrgRole.owner, OrgRole.member]),
            User.is_active.is_(True),
        )
        .order_by(User.id)
    )
    return list(rows.all())


async def user_by_id(session: AsyncSession, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return await session.scalar(select(User).where(User.id == user_id))


async def check_attachments(
    session: AsyncSession, project: Project, attachment_ids: Iterable[int]
) -> list[int]:
    """The ids, deduplicated in order, each an attachment of this project; otherwise ValidationFailed."""
    ids = list(dict.fromkeys(int(i) for i in attachment_ids))
    if not ids:
        return []
    found = set(
        (
            await session.scalars(
                select(Attachment.id).where(Attachment.id.in_(ids), Attachment.project_id == project.id)
            )
        ).all()
    )
    if found != set(ids):
        raise ValidationFailed(_("The attached files must belong to this project."), field="attachment_ids")
    return ids


def clean_text(value: str | None, *, field: str, limit: int, message: str) -> str:
    """Stripped text of at most `limit` characters; `message` (an N_ msgid) when blank or too long."""
    text = (value or "").strip()
    if not text or len(text) > limit:
        raise ValidationFailed(_(message) % {"limit": limit}, field=field)
    return text


def project_link(project_id: int) -> str:
    return f"/projects/{project_id}"
