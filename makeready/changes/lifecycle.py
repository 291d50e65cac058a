"""The change request machine: open -> approved | rejected (a coordinator, with a note) -> implemented;
open -> withdrawn by whoever raised it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel import bus
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    load,
    perform,
    require_role,
    require_text,
    roles_of,
    states,
)
from makeready.projects.access import check_attachments, clean_text, load_project, require_open

bus.emits("change_request.raised")

DECIDE_FORBIDDEN = N_("Only a coordinator can approve or reject a change request.")


async def _project_open(ctx: Context[ChangeRequest]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    return []


async def _decide(ctx: Context[ChangeRequest]) -> None:
    assert ctx.actor is not None
    ctx.obj.decided_by_id = ctx.actor.id
    ctx.obj.decision_note = ctx.inputs["note"].strip()
    ctx.after["note"] = ctx.obj.decision_note


CHANGE_REQUEST: Machine[ChangeStatus] = Machine(
    name="change_request",
    subject=N_("change request"),
    states=ChangeStatus,
    column="status",
    final=states(ChangeStatus.rejected, ChangeStatus.implemented, ChangeStatus.withdrawn),
    transitions=(
        Transition(
            "approve",
            states(ChangeStatus.open),
            ChangeStatus.approved,
            frozenset({Role.STAFF}),
            "change_request.approved",
            wrong_state=N_("Only an open change request can be approved or rejected; this one is %(state)s."),
            forbidden=DECIDE_FORBIDDEN,
            stamp="decided_at",
            requires=("note",),
            precondition=_project_open,
            effect=_decide,
        ),
        Transition(
            "reject",
            states(ChangeStatus.open),
            ChangeStatus.rejected,
            frozenset({Role.STAFF}),
            "change_request.rejected",
            wrong_state=N_("Only an open change request can be approved or rejected; this one is %(state)s."),
            forbidden=DECIDE_FORBIDDEN,
            stamp="decided_at",
            requires=("note",),
            precondition=_project_open,
            effect=_decide,
        ),
        Transition(
            "implement",
            states(ChangeStatus.approved),
            ChangeStatus.implemented,
            frozenset({Role.STAFF}),
            "change_request.implemented",
            wrong_state=N_(
                "Only an approved change request can be marked implemented; this one is %(state)s."
            ),
            forbidden=N_("Only a coordinator can mark a change request implemented."),
            precondition=_project_open,
        ),
        Transition(
            "withdraw",
            states(ChangeStatus.open),
            ChangeStatus.withdrawn,
            frozenset({Role.RAISER}),
            "change_request.withdrawn",
            wrong_state=N_("Only an open change request can be withdrawn; this one is %(state)s."),
            forbidden=N_("Only the person who raised a change request can withdraw it."),
        ),
    ),
)

CHANGE_NOT_FOUND = N_("This change request does not exist or you do not have access to it.")


async def raise_change_request(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    title: str,
    description: str,
    reason: str,
    attachment_ids: Iterable[int] = (),
) -> ChangeRequest:
    """A brand user or a coordinator asks for a change (numbered 1, 2, ... per project)."""
    project = await load_project(session, project_id)
    roles = await roles_of(session, actor, org_id=project.org_id)
    require_role(
        roles,
        {Role.STAFF, Role.BRAND},
        N_("Only a coordinator or the brand's owners and members can raise a change request."),
    )
    require_open(project)
    title = clean_text(
        title,
        field="title",
        limit=200,
        message=N_("Give the change a title of at most %(limit)s characters."),
    )
    description = clean_text(
        description,
        field="description",
        limit=10_000,
        message=N_("Describe the change in at most %(limit)s characters."),
    )
    require_text({"reason": reason}, ["reason"])
    attachments = await check_attachments(session, project, attachment_ids)
    number = (
        await session.scalar(
            select(func.max(ChangeRequest.number)).where(ChangeRequest.project_id == project.id)
        )
        or 0
    ) + 1
    change = ChangeRequest(
        org_id=project.org_id,
        project_id=project.id,
        number=number,
        title=title,
        description=description,
        reason=reason.strip(),
        attachment_ids=attachments,
        status=ChangeStatus.open,
        raised_by_id=actor.id,
    )
    session.add(change)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("Someone else raised a change request at the same time. Reload the project and try again.")
        ) from exc
    await audit.record(
        session,
        actor_id=actor.id,
        action="change_request.raised",
        subject_type="change_request",
        subject_id=change.id,
        org_id=project.org_id,
        project_id=project.id,
        after={
            "number": number,
            "title": title,
            "status": ChangeStatus.open,
            "attachment_ids": attachments,
        },
        reason=change.reason,
    )

    await bus.fire(
        session,
        bus.Event(
            name="change_request.raised",
            actor=actor,
            subject=change,
            org_id=project.org_id,
            project_id=project.id,
        ),
    )
    return change


async def _act(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    change_id: int,
    inputs: dict[str, object] | None = None,
    expected_version: int | None = None,
) -> ChangeRequest:
    change = await load(session, ChangeRequest, change_id, CHANGE_NOT_FOUND)
    await perform(
        session,
        CHANGE_REQUEST,
        change,
        action,
        actor=actor,
        org_id=change.org_id,
        project_id=change.project_id,
        raiser_id=change.raised_by_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return change


async def decide_change_request(
    session: AsyncSession,
    *,
    actor: User,
    change_id: int,
    decision: Literal["approve", "reject"] | str,
    note: str,
    expected_version: int | None = None,
) -> ChangeRequest:
    if decision not in ("approve", "reject"):
        raise ValidationFailed(_("Choose approve or reject."), field="decision")
    return await _act(
        session,
        decision,
        actor=actor,
        change_id=change_id,
        inputs={"note": note},
        expected_version=expected_version,
    )


async def mark_change_implemented(
    session: AsyncSession, *, actor: User, change_id: int, note: str = "", expected_version: int | None = None
) -> ChangeRequest:
    return await _act(
        session,
        "implement",
        actor=actor,
        change_id=change_id,
        inputs={"reason": note},
        expected_version=expected_version,
    )


async def withdraw_change_request(
    session: AsyncSession,
    *,
    actor: User,
    change_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> ChangeRequest:
    return await _act(
        session,
        "withdraw",
        actor=actor,
        change_id=change_id,
        inputs={"reason": reason},
        expected_version=expected_version,
    )
