"""The coordinator's side of factory links: send, revoke, answer; a link's state is the FACTORY_LINK machine's.

live -> acknowledged (the factory, once, from its link) ; live | acknowledged -> revoked (a coordinator revokes it,
or sends the same revision to the same supplier again, which replaces it). Expiry is a matter of time and
supersession the revision's (a newer issue), so neither is a stored state: `is_live` and the link page read them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.factory_links.common import (
    ANSWER_LIMIT,
    DEFAULT_DAYS,
    LINK_NOT_FOUND,
    MAX_DAYS,
    QUESTION_NOT_FOUND,
    STAFF_ONLY,
    TOKEN_BYTES,
    _clean,
    _field_labels,
    _require_staff,
    _supplier_names,
    hash_token,
)
from makeready.i18n import N_, _
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.kernel.stale import CONCURRENT_MESSAGE
from makeready.projects.access import load_project, require_open
from makeready.specs.models import FactoryLink, FactoryQuestion, LinkState, RevisionStatus, SpecRevision
from makeready.suppliers.models import Supplier

# --------------------------------------------------------------------------------------------------------------
# The machine


async def _first_acknowledgement(ctx: Context[FactoryLink]) -> list[str]:
    """Two acknowledgements at once: the row has no version column (concurrent opens bump counters), so the state
    is claimed with a guarded UPDATE and the second one is refused."""
    changed = await ctx.session.execute(
        update(FactoryLink)
        .where(FactoryLink.id == ctx.obj.id, FactoryLink.state == LinkState.live)
        .values(state=LinkState.acknowledged)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        raise Conflict(_(ALREADY_ACKNOWLEDGED), current_state=LinkState.acknowledged.value)
    return []


async def _acknowledged(ctx: Context[FactoryLink]) -> None:
    ctx.obj.acknowledged_name = ctx.inputs["name"]
    ctx.after.update(ctx.inputs["after"])


async def _revoked(ctx: Context[FactoryLink]) -> None:
    assert ctx.actor is not None
    ctx.obj.revoked_by_id = ctx.actor.id
    ctx.after.update(ctx.inputs.get("after") or {})


ALREADY_ACKNOWLEDGED = N_("This revision was already acknowledged.")
ALREADY_REVOKED = N_("This link was already revoked.")

FACTORY_LINK: Machine[LinkState] = Machine(
    name="factory_link",
    subject=N_("factory link"),
    states=LinkState,
    column="state",
    final=states(LinkState.revoked),
    transitions=(
        # the factory has no account: its token is the credential (visits.find_link), so it acts as no person
        Transition(
            "acknowledge",
            states(LinkState.live),
            LinkState.acknowledged,
            frozenset({Role.SYSTEM}),
            "factory.acknowledged",
            wrong_state=ALREADY_ACKNOWLEDGED,
            forbidden=N_("Only the factory acknowledges a revision, from the link it was sent."),
            stamp="acknowledged_at",
            precondition=_first_acknowledgement,
            effect=_acknowledged,
        ),
        Transition(
            "revoke",
            states(LinkState.live, LinkState.acknowledged),
            LinkState.revoked,
            frozenset({Role.STAFF}),
            "factory_link.revoked",
            wrong_state=ALREADY_REVOKED,
            forbidden=STAFF_ONLY,
            stamp="revoked_at",
            effect=_revoked,
        ),
        # sending the same revision to the same supplier again replaces its working link
        Transition(
            "replace",
            states(LinkState.live, LinkState.acknowledged),
            LinkState.revoked,
            frozenset({Role.STAFF}),
            "factory_link.replaced",
            wrong_state=ALREADY_REVOKED,
            forbidden=STAFF_ONLY,
            stamp="revoked_at",
            effect=_revoked,
        ),
    ),
)


async def perform_link(
    session: AsyncSession,
    link: FactoryLink,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    await perform(
        session,
        FACTORY_LINK,
        link,
        action,
        actor=actor,
        org_id=link.org_id,
        project_id=link.project_id,
        inputs=inputs,
        now=now,
    )


# --------------------------------------------------------------------------------------------------------------
# The coordinator's side


async def send_link(
    session: AsyncSession,
    *,
    actor: User,
    revision_id: int,
    supplier_id: int,
    expires_in_days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> tuple[FactoryLink, str]:
    """A new link to an issued revision for one active supplier; returns it with its token (shown once).

    A live link the same supplier already has to the same revision is revoked: one working link per supplier and
    revision, so a coordinator who lost the token simply sends again.
    """
    _require_staff(actor)
    now = now or utcnow()
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise ValidationFailed(
            _("A link expires after 1 to %(limit)s days.") % {"limit": MAX_DAYS}, field="expires_in_days"
        )
    revision = await session.get(SpecRevision, revision_id)
    if revision is None:
        raise NotFound(_("This spec revision does not exist or you do not have access to it."))
    if revision.status != RevisionStatus.issued:
        raise Conflict(
            _("Only the issued revision is sent to factories; revision %(label)s is not issued.")
            % {"label": revision.label},
            current_state=revision.status.value,
        )
    project = await load_project(session, revision.project_id)
    require_open(project)
    supplier = await session.get(Supplier, supplier_id)
    if supplier is None:
        raise ValidationFailed(_("Choose a supplier from the directory."), field="supplier_id")
    if supplier.archived_at is not None:
        raise ValidationFailed(
            _("%(supplier)s is archived: restore it in the directory before sending it a spec.")
            % {"supplier": supplier.name_en},
            field="supplier_id",
        )
    previous = (
        await session.scalars(
            select(FactoryLink).where(
                FactoryLink.revision_id == revision.id,
                FactoryLink.supplier_id == supplier.id,
                FactoryLink.state != LinkState.revoked,
                FactoryLink.expires_at > now,
            )
        )
    ).all()
    for old in previous:
        await perform_link(session, old, "replace", actor=actor, now=now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = FactoryLink(
        org_id=revision.org_id,
        revision_id=revision.id,
        project_id=revision.project_id,
        supplier_id=supplier.id,
        token_hash=hash_token(token),
        created_by_id=actor.id,
        expires_at=now + timedelta(days=expires_in_days),
    )
    session.add(link)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="factory_link.sent",
        subject_type="factory_link",
        subject_id=link.id,
        org_id=revision.org_id,
        project_id=revision.project_id,
        after={
            **_supplier_names(supplier),
            "label": revision.label,
            "expires_at": link.expires_at,
            "replaced": [old.id for old in previous],
        },
    )
    return link, token


async def revoke_link(
    session: AsyncSession, *, actor: User, link_id: int, now: datetime | None = None
) -> FactoryLink:
    """Stop a link from opening (410 from now on)."""
    _require_staff(actor)
    now = now or utcnow()
    link = await session.get(FactoryLink, link_id)
    if link is None:
        raise NotFound(_(LINK_NOT_FOUND))
    supplier = await session.get(Supplier, link.supplier_id)
    revision = await session.get(SpecRevision, link.revision_id)
    assert supplier is not None
    assert revision is not None
    after = {**_supplier_names(supplier), "label": revision.label}
    await perform_link(session, link, "revoke", actor=actor, inputs={"after": after}, now=now)
    return link


async def answer_question(
    session: AsyncSession,
    *,
    actor: User,
    question_id: int,
    answer: str,
    expected_version: int | None,
    now: datetime | None = None,
) -> FactoryQuestion:
    """The coordinator's answer to a factory's question (a later answer corrects it; both stay in the log)."""
    _require_staff(actor)
    question = await session.get(FactoryQuestion, question_id)
    if question is None:
        raise NotFound(_(QUESTION_NOT_FOUND))
    if expected_version is not None and expected_version != question.version:
        raise Conflict(
            _(CONCURRENT_MESSAGE) % {"subject": _(N_("question"))},
            current_version=question.version,
        )
    text = _clean(
        answer,
        field="answer",
        limit=ANSWER_LIMIT,
        blank=N_("Write the answer."),
        long=N_("The answer is limited to %(limit)s characters."),
    )
    before = question.answer
    question.answer = text
    question.answered_at = now or utcnow()
    question.answered_by_id = actor.id
    await session.flush()
    link = await session.get(FactoryLink, question.link_id)
    revision = await session.get(SpecRevision, question.revision_id)
    assert link is not None
    assert revision is not None
    supplier = await session.get(Supplier, link.supplier_id)
    assert supplier is not None
    await audit.record(
        session,
        actor_id=actor.id,
        action="factory_question.answered",
        subject_type="factory_question",
        subject_id=question.id,
        org_id=question.org_id,
        project_id=question.project_id,
        before={"answer": before} if before else None,
        after={
            **_supplier_names(supplier),
            **_field_labels(revision, question.field_path),
            "label": revision.label,
            "question": question.question,
            "answer": text,
        },
    )
    return question
