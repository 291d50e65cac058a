"""The sample round machine: requested -> in_production -> shipped -> received -> approved | rejected.

A coordinator requests a round and records its progress; only the brand (an owner or member) decides it, and only
once it is received. A rejection needs a comment; a decision may pin photos of that round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel import bus
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    load,
    perform,
    require_role,
    roles_of,
    states,
)
from makeready.projects.access import load_project, require_open
from makeready.projects.models import Phase
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.suppliers.models import Supplier

bus.emits("sample_round.requested")

OPEN_STATES = frozenset(
    {SampleStatus.requested, SampleStatus.in_production, SampleStatus.shipped, SampleStatus.received}
)
STAFF_ONLY = N_("Only a coordinator records a sample round's progress.")
BRAND_ONLY = N_(
    "Only the brand's owners and members can approve or reject a sample; a coordinator cannot decide for them."
)


async def _project_open(ctx: Context[SampleRound]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    return []


async def _check_pins(ctx: Context[SampleRound]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    pins = ctx.inputs.get("pinned_photo_ids") or []
    if pins:
        found = set(
            (
                await ctx.session.scalars(
                    select(SamplePhoto.id).where(SamplePhoto.id.in_(pins), SamplePhoto.round_id == ctx.obj.id)
                )
            ).all()
        )
        if found != set(pins):
            raise ValidationFailed(
                _("Pinned photos must be photos of this sample round."), field="pinned_photo_ids"
            )
    return []


async def _decide(ctx: Context[SampleRound]) -> None:
    assert ctx.actor is not None
    sample = ctx.obj
    sample.decided_by_id = ctx.actor.id
    sample.decision_comment = (ctx.inputs.get("comment") or "").strip()
    sample.pinned_photo_ids = list(ctx.inputs.get("pinned_photo_ids") or [])
    ctx.after.update(comment=sample.decision_comment, pinned_photo_ids=sample.pinned_photo_ids)


def _progress(
    action: str, source: SampleStatus, target: SampleStatus, stamp: str, wrong: str
) -> Transition[SampleStatus]:
    return Transition(
        action,
        states(source),
        target,
        frozenset({Role.STAFF}),
        f"sample_round.{target.value}",
        wrong_state=wrong,
        forbidden=STAFF_ONLY,
        stamp=stamp,
        precondition=_project_open,
    )


SAMPLE_ROUND: Machine[SampleStatus] = Machine(
    name="sample_round",
    subject=N_("sample round"),
    states=SampleStatus,
    column="status",
    final=states(SampleStatus.approved, SampleStatus.rejected),
    transitions=(
        _progress(
            "start_production",
            SampleStatus.requested,
            SampleStatus.in_production,
            "in_production_at",
            N_("Only a requested sample round can go into production; this one is %(state)s."),
        ),
        _progress(
            "ship",
            SampleStatus.in_production,
            SampleStatus.shipped,
            "shipped_at",
            N_("Only a sample round in production can be shipped; this one is %(state)s."),
        ),
        _progress(
            "receive",
            SampleStatus.shipped,
            SampleStatus.received,
            "received_at",
            N_("Only a shipped sample round can be received; this one is %(state)s."),
        ),
        Transition(
            "approve",
            states(SampleStatus.received),
            SampleStatus.approved,
            frozenset({Role.BRAND}),
            "sample_round.approved",
            wrong_state=N_(
                "A sample round can be approved or rejected once it is received; this one is %(state)s."
            ),
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            precondition=_check_pins,
            effect=_decide,
        ),
        Transition(
            "reject",
            states(SampleStatus.received),
            SampleStatus.rejected,
            frozenset({Role.BRAND}),
            "sample_round.rejected",
            wrong_state=N_(
                "A sample round can be approved or rejected once it is received; this one is %(state)s."
            ),
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            requires=("comment",),
            precondition=_check_pins,
            effect=_decide,
        ),
    ),
)

ROUND_NOT_FOUND = N_("This sample round does not exist or you do not have access to it.")


async def request_sample_round(
    session: AsyncSession, *, actor: User, project_id: int, supplier_id: int | None = None, notes: str = ""
) -> SampleRound:
    """A new round (numbered 1, 2, ... per project) from the project's supplier unless another is named.

    Needs a project in development or production and no other round still open.
    """
    project = await load_project(session, project_id)
    roles = await roles_of(session, actor, org_id=project.org_id)
    require_role(roles, {Role.STAFF}, N_("Only a coordinator can request a sample round."))
    require_open(project)
    if project.phase not in (Phase.development, Phase.production):
        raise Conflict(
            _("Sample rounds are made in development; this project is %(phase)s.")
            % {"phase": label(project.phase)},
            current_state=project.phase.value,
        )
    open_round = await session.scalar(
        select(SampleRound)
        .where(SampleRound.project_id == project.id, SampleRound.status.in_(OPEN_STATES))
        .order_by(SampleRound.number)
        .limit(1)
    )
    if open_round is not None:
        raise Conflict(
            _("Sample round %(number)s is still %(state)s: it needs the brand's decision before a new round.")
            % {"number": open_round.number, "state": label(open_round.status)},
            current_state=open_round.status.value,
        )
    supplier_id = supplier_id if supplier_id is not None else project.supplier_id
    if (
        supplier_id is not None
        and await session.scalar(select(Supplier.id).where(Supplier.id == supplier_id)) is None
    ):
        raise ValidationFailed(_("This supplier does not exist."), field="supplier_id")
    number = (
        await session.scalar(select(func.max(SampleRound.number)).where(SampleRound.project_id == project.id))
        or 0
    ) + 1
    now = utcnow()
    sample = SampleRound(
        org_id=project.org_id,
        project_id=project.id,
        number=number,
        supplier_id=supplier_id,
        status=SampleStatus.requested,
        coordinator_notes=(notes or "").strip(),
        requested_at=now,
        pinned_photo_ids=[],
    )
    session.add(sample)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request took the same number
        raise Conflict(
            _("Someone else requested a sample round at the same time. Reload the project and try again.")
        ) from exc
    await audit.record(
        session,
        actor_id=actor.id,
        action="sample_round.requested",
        subject_type="sample_round",
        subject_id=sample.id,
        org_id=project.org_id,
        project_id=project.id,
        after={
            "number": number,
            "status": SampleStatus.requested,
            "supplier_id": supplier_id,
            "requested_at": now,
        },
        reason=sample.coordinator_notes,
    )

    await bus.fire(
        session,
        bus.Event(
            name="sample_round.requested",
            actor=actor,
            subject=sample,
            org_id=project.org_id,
            project_id=project.id,
            now=now,
        ),
    )
    return sample


async def _act(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    round_id: int,
    inputs: dict[str, object] | None = None,
    expected_version: int | None = None,
) -> SampleRound:
    sample = await load(session, SampleRound, round_id, ROUND_NOT_FOUND)
    await perform(
        session,
        SAMPLE_ROUND,
        sample,
        action,
        actor=actor,
        org_id=sample.org_id,
        project_id=sample.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return sample


async def mark_sample_in_production(
    session: AsyncSession, *, actor: User, round_id: int, expected_version: int | None = None
) -> SampleRound:
    return await _act(
        session, "start_production", actor=actor, round_id=round_id, expected_version=expected_version
    )


async def mark_sample_shipped(
    session: AsyncSession, *, actor: User, round_id: int, expected_version: int | None = None
) -> SampleRound:
    return await _act(session, "ship", actor=actor, round_id=round_id, expected_version=expected_version)


async def mark_sample_received(
    session: AsyncSession, *, actor: User, round_id: int, expected_version: int | None = None
) -> SampleRound:
    return await _act(session, "receive", actor=actor, round_id=round_id, expected_version=expected_version)


async def decide_sample_round(
    session: AsyncSession,
    *,
    actor: User,
    round_id: int,
    decision: Literal["approve", "reject"] | str,
    comment: str = "",
    pinned_photo_ids: Iterable[int] = (),
    expected_version: int | None = None,
) -> SampleRound:
    """The brand approves or rejects a received round; a rejection needs a comment."""
    if decision not in ("approve", "reject"):
        raise ValidationFailed(_("Choose approve or reject."), field="decision")
    try:
        pins = list(dict.fromkeys(int(p) for p in pinned_photo_ids))
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("Pinned photos must be photos of this sample round."), field="pinned_photo_ids"
        ) from None
    return await _act(
        session,
        decision,
        actor=actor,
        round_id=round_id,
        inputs={"comment": comment, "pinned_photo_ids": pins},
        expected_version=expected_version,
    )
