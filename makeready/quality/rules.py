"""Quality's rules: what follows from its own events (the composition root registers RULES)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.kernel.bus import Event, Rule
from makeready.notify.service import notify
from makeready.projects.access import brand_writers, load_project, user_by_id
from makeready.quality import actions
from makeready.quality.inspections import kind_label
from makeready.quality.models import (
    ActionStatus,
    CorrectiveAction,
    Inspection,
    InspectionKind,
    InspectionStatus,
)


async def open_corrective_action(session: AsyncSession, event: Event) -> None:
    """A rejected inspection sends a corrective action request to the factory."""
    inspection: Inspection = event.subject
    await actions.open_action(session, inspection=inspection, problem=inspection.decision_reasons)


async def close_verified_action(session: AsyncSession, event: Event) -> None:
    """A re-inspection that passed closes the corrective action it verifies."""
    inspection: Inspection = event.subject
    if inspection.kind != InspectionKind.re_inspection or inspection.verdict != "accept":
        return
    rows = await session.scalars(
        select(CorrectiveAction).where(
            CorrectiveAction.reinspection_id == inspection.id,
            CorrectiveAction.status == ActionStatus.verified,
        )
    )
    for action in rows.all():
        await actions.close_action(
            session, actor=None, action=action, reason=f"{inspection.reference}: accept"
        )


async def tell_brand_ready_for_review(session: AsyncSession, event: Event) -> None:
    inspection: Inspection = event.subject
    project = await load_project(session, inspection.project_id)
    for user in await brand_writers(session, project.org_id):
        await notify(
            session,
            user=user,
            kind="inspection_ready_for_review",
            params={
                "project": project.name,
                "inspection": inspection.reference,
                "kind": kind_label(inspection.kind),
            },
            project_id=project.id,
            link=urls.inspection_review(project.id, inspection.id),
        )


async def tell_coordinator_decided(session: AsyncSession, event: Event) -> None:
    inspection: Inspection = event.subject
    project = await load_project(session, inspection.project_id)
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is None:
        return
    await notify(
        session,
        user=coordinator,
        kind="inspection_decided",
        params={
            "project": project.name,
            "inspection": inspection.reference,
            "actor": event.actor.display_name if event.actor else "Makeready",
            "decision": InspectionStatus.labels()[inspection.status],
            "reasons": inspection.decision_reasons or inspection.concession,
        },
        project_id=project.id,
        link=urls.inspection(inspection.id),
    )


async def tell_coordinator_answered(session: AsyncSession, event: Event) -> None:
    action: CorrectiveAction = event.subject
    project = await load_project(session, action.project_id)
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is None:
        return
    await notify(
        session,
        user=coordinator,
        kind="inspection_action_answered",
        params={"project": project.name, "person": action.answered_name, "number": action.id},
        project_id=project.id,
        link=urls.corrective_action(action.id),
    )


RULES: list[tuple[str, Rule]] = [
    ("inspection.rejected", open_corrective_action),
    ("inspection.submitted", close_verified_action),
    ("inspection.sent_for_review", tell_brand_ready_for_review),
    ("inspection.accepted", tell_coordinator_decided),
    ("inspection.rejected", tell_coordinator_decided),
    ("inspection.accepted_with_concession", tell_coordinator_decided),
    ("corrective_action.answered", tell_coordinator_answered),
]
