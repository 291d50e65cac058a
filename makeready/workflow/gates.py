"""Phase gates: what a project needs before it may enter development, production or delivered.

`missing_for(session, project, to_phase)` lists every condition that is not met, in the reader's language; an empty
list means the gate is open. The project state machine refuses an advance with all of them in one Conflict, and
pages show the same list before anyone tries.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.feasibility.service import review_complete
from makeready.i18n import N_, _, join_list
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from makeready.samples.models import SampleRound, SampleStatus
from makeready.specs.service import has_approved_revision

REVIEW_MISSING = N_("The feasibility review is not complete.")
GO_AHEAD_MISSING = N_("The brand has not given the go-ahead for development.")
SAMPLE_MISSING = N_("No sample round has been approved by the brand.")
SPEC_REVISION_MISSING = N_(
    "No approved spec revision exists for this project: a spec revision must be approved before production."
)
MILESTONES_MISSING = N_("These production milestones are not done: %(titles)s.")


async def approved_spec_revision(session: AsyncSession, project_id: int) -> bool:
    """Whether the brand approved a spec revision of the project (approved, or approved and issued)."""

    return await has_approved_revision(session, project_id)


async def has_approved_sample(session: AsyncSession, project_id: int) -> bool:
    found = await session.scalar(
        select(SampleRound.id)
        .where(SampleRound.project_id == project_id, SampleRound.status == SampleStatus.approved)
        .limit(1)
    )
    return found is not None


async def open_production_milestones(session: AsyncSession, project_id: int) -> list[Milestone]:
    rows = await session.scalars(
        select(Milestone)
        .where(
            Milestone.project_id == project_id,
            Milestone.phase == Phase.production,
            Milestone.status != MilestoneStatus.done,
        )
        .order_by(Milestone.position, Milestone.id)
    )
    return list(rows.all())


async def missing_for(session: AsyncSession, project: Project, to_phase: Phase) -> list[str]:
    """Every unmet condition for entering `to_phase` (translated), in a stable order; [] when the gate is open."""
    missing: list[str] = []
    if to_phase == Phase.development:
        if not await review_complete(session, project.id):
            missing.append(_(REVIEW_MISSING))
        if project.go_ahead_at is None:
            missing.append(_(GO_AHEAD_MISSING))
    elif to_phase == Phase.production:
        if not await has_approved_sample(session, project.id):
            missing.append(_(SAMPLE_MISSING))
        if not await approved_spec_revision(session, project.id):
            missing.append(_(SPEC_REVISION_MISSING))
    elif to_phase == Phase.delivered:
        open_milestones = await open_production_milestones(session, project.id)
        if open_milestones:
            titles = join_list(_(m.title) for m in open_milestones)
            missing.append(_(MILESTONES_MISSING) % {"titles": titles})
    return missing
