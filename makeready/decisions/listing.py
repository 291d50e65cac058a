"""The decision log for API clients: the same events and sentences as the project page's log
(makeready.decisions.log), with each event's raw before/after, paginated by offset and limit.

The log is read from the append-only audit chain, never kept separately, so it cannot disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.changes.models import ChangeRequest
from makeready.decisions.log import Entry, brand_actions, describe, subject_labels
from makeready.errors import NotFound
from makeready.i18n import _
from makeready.projects.models import Milestone, Project
from makeready.samples.models import SampleRound


@dataclass(frozen=True)
class Decision:
    """One entry: the sentence people read and the event as it was recorded."""

    entry: Entry
    event: AuditEvent

    @property
    def before(self) -> dict[str, Any]:
        return self.event.before or {}

    @property
    def after(self) -> dict[str, Any]:
        return self.event.after or {}


async def list_decisions(
    session: AsyncSession, project_id: int, *, staff: bool = False, offset: int = 0, limit: int = 50
) -> tuple[list[Decision], int]:
    """The project's log, newest first, and its length. Brands see the actions the page's log shows; staff see
    every event of the project. NotFound for a project outside the session's scope."""
    if await session.scalar(select(Project.id).where(Project.id == project_id)) is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))
    condition = AuditEvent.project_id == project_id
    if not staff:
        condition = and_(condition, AuditEvent.action.in_(brand_actions()))
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(condition)) or 0
    actor = aliased(User)
    rows = (
        await session.execute(
            select(AuditEvent, actor, SampleRound.number, ChangeRequest.number, ChangeRequest.title)
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            .outerjoin(
                SampleRound,
                and_(AuditEvent.subject_type == "sample_round", SampleRound.id == AuditEvent.subject_id),
            )
            .outerjoin(
                ChangeRequest,
                and_(AuditEvent.subject_type == "change_request", ChangeRequest.id == AuditEvent.subject_id),
            )
            .where(condition)
            .order_by(AuditEvent.seq.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    milestones: dict[int, str] = {}
    if any(row[0].subject_type == "milestone" for row in rows):
        milestones = {
            m.id: m.title
            for m in await session.execute(
                select(Milestone.id, Milestone.title).where(Milestone.project_id == project_id)
            )
        }
    labels = await subject_labels(session, (row[0] for row in rows))
    return [
        Decision(
            entry=describe(
                event,
                actor=user.display_name if user is not None else _("Makeready"),
                milestones=milestones,
                round_number=round_number,
                change_number=change_number,
                change_title=change_title,
                subject=labels.get((event.subject_type, event.subject_id or 0)),
            ),
            event=event,
        )
        for event, user, round_number, change_number, change_title in rows
    ], int(total)
