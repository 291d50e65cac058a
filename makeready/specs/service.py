"""Spec revisions: start, edit, review, approve, issue; the lifecycle is a workflow machine.

draft -> in_review (a coordinator submits) -> approved (the brand) -> issued (a coordinator) -> superseded (when a
later revision is issued). The brand may send a revision in review back to draft with a comment; a coordinator may
withdraw it. A draft is edited freely; once submitted, English and data are frozen (the brand reviews them) and only
the Chinese may still be written and reviewed; an issued revision never changes. Editing an issued revision means
starting a new revision, which copies the latest one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel.machine import (
    CONCURRENT_MESSAGE,
    Context,
    Machine,
    Role,
    Transition,
    check_version,
    flush,
    load,
    perform,
    require_role,
    roles_of,
    states,
)
from makeready.projects.access import load_project, require_open
from makeready.projects.models import Attachment, Phase, Project
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.specs import content as spec_content
from makeready.specs.content import FIELDS, SECTIONS, FieldRef, FigureSource, SpecContent, Text
from makeready.specs.models import RevisionStatus, SpecRevision

REVISION_NOT_FOUND = N_("This spec revision does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only a coordinator writes, submits and issues spec revisions.")
BRAND_ONLY = N_("Only the brand's owners and members approve a spec revision or send it back.")
OPEN_STATES = frozenset({RevisionStatus.draft, RevisionStatus.in_review, RevisionStatus.approved})
"""Not issued yet: at most one per project, and the only ones whose content can still change."""
FIRST_NUMBER = 1
"""A project's first revision's number (start_revision numbers from it up)."""
IMMUTABLE_STATES = frozenset({RevisionStatus.issued, RevisionStatus.superseded})
# columns that may still change on an issued revision: its supersession and the bookkeeping columns
_MUTABLE_WHEN_ISSUED = frozenset({"status", "superseded_at", "updated_at", "version"})


class ImmutableRevision(Conflict):
    pass


def describe_field(ref: FieldRef | spec_content.FieldChange) -> str:
    """ "Dimensions and tolerances, row 3: Feature" in the reader's language."""
    section = _(SECTIONS[ref.section])
    name = _(FIELDS.get(ref.name, ref.name))
    row_index = getattr(ref, "row_index", None)
    if ref.section == ref.name:
        return section
    if row_index is not None:
        return _("%(section)s, row %(row)s: %(field)s") % {
            "section": section,
            "row": row_index + 1,
            "field": name,
        }
    return _("%(section)s: %(field)s") % {"section": section, "field": name}


def content_of(revision: SpecRevision) -> SpecContent:
    return spec_content.parse(revision.content)


def canonical_hash(content: dict[str, Any]) -> str:
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Immutability in the data layer: whatever code path writes, an issued revision's content cannot change.


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_issued(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if not isinstance(obj, SpecRevision):
            continue
        state = obj.__dict__.get("_sa_instance_state")
        if state is None:
            continue
        status_history = state.attrs.status.history
        committed_status = (status_history.deleted or status_history.unchanged or [obj.status])[0]
        if committed_status not in IMMUTABLE_STATES:
            continue
        changed = {
            attr.key
            for attr in state.attrs
            if attr.key not in _MUTABLE_WHEN_ISSUED and attr.history.has_changes()
        }
        if changed:
            raise ImmutableRevision(
                _("An issued revision never changes: start a new revision to edit the specification.")
            )


# --------------------------------------------------------------------------------------------------------------
# Preconditions and effects


async def _project_open(ctx: Context[SpecRevision]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    return []


def issue_blockers(content: SpecContent) -> list[str]:
    """What stops a revision from being issued, one line per field, in the reader's language."""
    lines = []
    for ref in spec_content.translation_problems(content):
        assert isinstance(ref.value, Text)
        lines.append(
            _("%(field)s: the Chinese is %(status)s.")
            % {"field": describe_field(ref), "status": label(ref.value.problem)}
        )
    return lines


async def _can_issue(ctx: Context[SpecRevision]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    content = content_of(ctx.obj)
    problems = issue_blockers(content)
    missing = (
        [_("The translation is not finished. Fix these fields before issuing:"), *problems]
        if problems
        else []
    )
    return missing + unbought_bom_lines(content)


def unbought_bom_lines(content: SpecContent) -> list[str]:
    """BOM lines nobody buys yet ("who buys this?"): a revision is not issued for production with any."""
    lines = [
        _("BOM row %(row)s (%(part)s): choose who supplies it (the factory, the brand or the agency).")
        % {"row": index, "part": line.part.en or line.material.en or "—"}
        for index, line in enumerate(content.bom, start=1)
        if not line.supplied_by
    ]
    return [_("Who buys these BOM lines?"), *lines] if lines else []


async def _can_submit(ctx: Context[SpecRevision]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    content = content_of(ctx.obj)
    if not content.overview.product_name.en and not content.overview.summary.en:
        return [_("Write at least the product overview before submitting the revision for review.")]
    return []


async def _labelled(ctx: Context[SpecRevision]) -> None:
    """Every lifecycle event names the revision, so the decision log can say which."""
    ctx.after["label"] = ctx.obj.label


async def _approved(ctx: Context[SpecRevision]) -> None:
    assert ctx.actor is not None
    ctx.after["label"] = ctx.obj.label
    ctx.obj.approved_by_id = ctx.actor.id
    ctx.obj.review_comment = ""


async def _sent_back(ctx: Context[SpecRevision]) -> None:
    ctx.after["label"] = ctx.obj.label
    ctx.obj.review_comment = (ctx.inputs.get("comment") or "").strip()
    ctx.obj.submitted_at = None
    ctx.after["comment"] = ctx.obj.review_comment


async def _issued(ctx: Context[SpecRevision]) -> None:
    """Fix the content's hash and supersede the revision issued before."""
    assert ctx.actor is not None
    revision = ctx.obj
    revision.issued_by_id = ctx.actor.id
    revision.content_hash = canonical_hash(revision.content)
    ctx.after["content_hash"] = revision.content_hash
    previous = (
        await ctx.session.scalars(
            select(SpecRevision).where(
                SpecRevision.project_id == revision.project_id,
                SpecRevision.status == RevisionStatus.issued,
                SpecRevision.id != revision.id,
            )
        )
    ).all()
    for old in previous:
        # the system supersedes the revision issued before (no person: it follows from this issue)
        await perform(
            ctx.session,
            SPEC_REVISION,
            old,
            "supersede",
            actor=None,
            org_id=old.org_id,
            project_id=old.project_id,
            inputs={"by": revision.label},
            now=ctx.now,
        )
    ctx.after["label"] = revision.label
    ctx.after["superseded"] = [old.label for old in previous]


async def _superseded(ctx: Context[SpecRevision]) -> None:
    ctx.obj.superseded_at = ctx.now
    ctx.after.update(by=ctx.inputs["by"], label=ctx.obj.label)


SPEC_REVISION: Machine[RevisionStatus] = Machine(
    name="spec_revision",
    subject=N_("spec revision"),
    states=RevisionStatus,
    column="status",
    final=states(RevisionStatus.superseded),
    transitions=(
        Transition(
            "submit",
            states(RevisionStatus.draft),
            RevisionStatus.in_review,
            frozenset({Role.STAFF}),
            "spec_revision.submitted",
            wrong_state=N_("Only a draft revision can be submitted for review; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="submitted_at",
            precondition=_can_submit,
            effect=_labelled,
        ),
        Transition(
            "withdraw",
            states(RevisionStatus.in_review),
            RevisionStatus.draft,
            frozenset({Role.STAFF}),
            "spec_revision.withdrawn",
            wrong_state=N_("Only a revision in review can be withdrawn; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            precondition=_project_open,
            effect=_labelled,
        ),
        Transition(
            "approve",
            states(RevisionStatus.in_review),
            RevisionStatus.approved,
            frozenset({Role.BRAND}),
            "spec_revision.approved",
            wrong_state=N_("Only a revision in review can be approved; this one is %(state)s."),
            forbidden=BRAND_ONLY,
            stamp="approved_at",
            precondition=_project_open,
            effect=_approved,
        ),
        Transition(
            "request_changes",
            states(RevisionStatus.in_review),
            RevisionStatus.draft,
            frozenset({Role.BRAND}),
            "spec_revision.changes_requested",
            wrong_state=N_("Only a revision in review can be sent back; this one is %(state)s."),
            forbidden=BRAND_ONLY,
            requires=("comment",),
            precondition=_project_open,
            effect=_sent_back,
        ),
        Transition(
            "issue",
            states(RevisionStatus.approved),
            RevisionStatus.issued,
            frozenset({Role.STAFF}),
            "spec_revision.issued",
            wrong_state=N_("Only a revision the brand approved can be issued; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="issued_at",
            precondition=_can_issue,
            effect=_issued,
        ),
        Transition(
            "supersede",
            states(RevisionStatus.issued),
            RevisionStatus.superseded,
            frozenset({Role.SYSTEM}),
            "spec_revision.superseded",
            wrong_state=N_(
                "Only the issued revision is superseded, by the next one issued; this one is %(state)s."
            ),
            forbidden=N_("A revision is superseded by issuing the next one, not by hand."),
            effect=_superseded,
        ),
    ),
)


# --------------------------------------------------------------------------------------------------------------
# Reading


async def revisions_of(session: AsyncSession, project_id: int) -> list[SpecRevision]:
    """The project's revisions, newest first."""
    rows = await session.scalars(
        select(SpecRevision).where(SpecRevision.project_id == project_id).order_by(SpecRevision.number.desc())
    )
    return list(rows.all())


async def get_revision(session: AsyncSession, revision_id: int) -> SpecRevision:
    return await load(session, SpecRevision, revision_id, REVISION_NOT_FOUND)


async def current_issued(session: AsyncSession, project_id: int) -> SpecRevision | None:
    return await session.scalar(
        select(SpecRevision).where(
            SpecRevision.project_id == project_id, SpecRevision.status == RevisionStatus.issued
        )
    )


async def has_approved_revision(session: AsyncSession, project_id: int) -> bool:
    """The production gate: a revision the brand approved (issued or not yet)."""
    found = await session.scalar(
        select(SpecRevision.id)
        .where(
            SpecRevision.project_id == project_id,
            SpecRevision.status.in_((RevisionStatus.approved, RevisionStatus.issued)),
        )
        .limit(1)
    )
    return found is not None


async def change_log(session: AsyncSession, revision: SpecRevision) -> list[SpecRevision]:
    """Issued revisions up to and including this one, oldest first (the document's change log)."""
    if revision.number == FIRST_NUMBER:
        # nothing comes before the first revision (numbers start there and are unique per project): no statement
        return [revision]
    rows = await session.scalars(
        select(SpecRevision)
        .where(
            SpecRevision.project_id == revision.project_id,
            SpecRevision.number <= revision.number,
            (SpecRevision.issued_at.is_not(None)) | (SpecRevision.id == revision.id),
        )
        .order_by(SpecRevision.number)
    )
    return list(rows.all())


# --------------------------------------------------------------------------------------------------------------
# Writing


def _starting_content(project: Project) -> SpecContent:
    content = SpecContent()
    content.overview.product_name = Text(en=project.name)
    content.overview.summary = Text(en=project.description)
    return content


async def start_revision(session: AsyncSession, *, actor: User, project_id: int) -> SpecRevision:
    """A new draft: a copy of the latest revision (without its change summary), or a first one from the project.

    Refused while another revision is still open (draft, in review or approved but not issued).
    """
    project = await load_project(session, project_id)
    roles = await roles_of(session, actor, org_id=project.org_id)
    require_role(roles, {Role.STAFF}, STAFF_ONLY)
    require_open(project)
    if project.phase == Phase.feasibility:
        raise Conflict(
            _("Spec revisions are written from development on; this project is in feasibility."),
            current_state=project.phase.value,
        )
    latest = await session.scalar(
        select(SpecRevision).where(SpecRevision.project_id == project.id).order_by(SpecRevision.number.desc())
    )
    if latest is not None and latest.status in OPEN_STATES:
        raise Conflict(
            _("Revision %(label)s is still %(state)s: issue it before starting a new one.")
            % {"label": latest.label, "state": label(latest.status)},
            current_state=latest.status.value,
        )
    if latest is not None:
        content = content_of(latest)
        content.change_summary = Text()
    else:
        content = _starting_content(project)
    number = (
        await session.scalar(
            select(func.max(SpecRevision.number)).where(SpecRevision.project_id == project.id)
        )
        or FIRST_NUMBER - 1
    ) + 1
    revision = SpecRevision(
        org_id=project.org_id,
        project_id=project.id,
        number=number,
        status=RevisionStatus.draft,
        content=content.to_json(),
        based_on_id=latest.id if latest is not None else None,
        created_by_id=actor.id,
    )
    session.add(revision)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent start took the same number
        raise Conflict(_(CONCURRENT_MESSAGE) % {"subject": _("project")}) from exc
    await audit.record(
        session,
        actor_id=actor.id,
        action="spec_revision.started",
        subject_type="spec_revision",
        subject_id=revision.id,
        org_id=project.org_id,
        project_id=project.id,
        after={"label": revision.label, "based_on": latest.label if latest is not None else None},
    )
    return revision


def validation_message(exc: ValidationError) -> tuple[str, str]:
    """The first error of a content payload as (field path, message) for ValidationFailed."""
    first = exc.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    return path, _("This value is not valid: %(field)s (%(reason)s).") % {
        "field": path,
        "reason": first["msg"],
    }


def _frozen_view(content: SpecContent) -> dict[str, Any]:
    """The content without the Chinese and its status: what the brand reviews and what is frozen after submitting."""
    data = content.to_json()

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"en", "zh", "status"}:
                return node["en"]
            return {key: strip(value) for key, value in node.items()}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return strip(data)


async def _check_figures(session: AsyncSession, project_id: int, content: SpecContent) -> None:
    """A figure shows a photo of one of the project's approved sample rounds or an image file of the project."""
    photo_ids = {f.ref_id for f in content.figures if f.source == FigureSource.sample_photo}
    attachment_ids = {f.ref_id for f in content.figures if f.source == FigureSource.attachment}
    found_photos: set[int] = set()
    if photo_ids:
        found_photos = set(
            (
                await session.scalars(
                    select(SamplePhoto.id)
                    .join(SampleRound, SampleRound.id == SamplePhoto.round_id)
                    .where(
                        SamplePhoto.id.in_(photo_ids),
                        SampleRound.project_id == project_id,
                        SampleRound.status == SampleStatus.approved,
                    )
                )
            ).all()
        )
    found_files: set[int] = set()
    if attachment_ids:
        found_files = set(
            (
                await session.scalars(
                    select(Attachment.id).where(
                        Attachment.id.in_(attachment_ids),
                        Attachment.project_id == project_id,
                        Attachment.content_type.startswith("image/"),
                    )
                )
            ).all()
        )
    for index, figure in enumerate(content.figures):
        known = found_photos if figure.source == FigureSource.sample_photo else found_files
        if figure.ref_id not in known:
            raise ValidationFailed(
                _(
                    "Figure %(number)s must show a photo of an approved sample round of this project, or an image "
                    "file of this project."
                )
                % {"number": index + 1},
                field=f"figures.{figure.id}.ref_id",
            )


async def save_content(
    session: AsyncSession,
    *,
    actor: User,
    revision_id: int,
    content: dict[str, Any],
    expected_version: int | None,
) -> SpecRevision:
    """Save the content of an open revision. The second of two concurrent saves gets a Conflict.

    In a draft anything may change; once submitted only the Chinese (and its review) may. Translation statuses are
    computed here (see content.merge): English that changed under a reviewed Chinese makes it stale.
    """
    revision = await get_revision(session, revision_id)
    roles = await roles_of(session, actor, org_id=revision.org_id)
    require_role(roles, {Role.STAFF}, STAFF_ONLY)
    require_open(await load_project(session, revision.project_id))
    check_version(revision, expected_version, SPEC_REVISION)
    if revision.status not in OPEN_STATES:
        raise ImmutableRevision(
            _(
                "Revision %(label)s is %(state)s and never changes: start a new revision to edit the specification."
            )
            % {"label": revision.label, "state": label(revision.status)},
            current_state=revision.status.value,
        )
    try:
        new = spec_content.parse(content)
    except ValidationError as exc:
        field, message = validation_message(exc)
        raise ValidationFailed(message, field=field) from None
    await _check_figures(session, revision.project_id, new)
    old = content_of(revision)
    merged = spec_content.merge(old, new)
    if revision.status != RevisionStatus.draft and _frozen_view(merged) != _frozen_view(old):
        raise Conflict(
            _(
                "Revision %(label)s is %(state)s: its English and data are frozen and only the Chinese can still "
                "change. Start a new revision to change anything else."
            )
            % {"label": revision.label, "state": label(revision.status)},
            current_state=revision.status.value,
        )
    changes = spec_content.diff(old, merged)
    status_changes = any(
        a.value.status != b.value.status
        for a, b in zip(spec_content.texts(old), spec_content.texts(merged), strict=False)
        if a.path == b.path
    )
    if not changes and not status_changes:
        return revision
    revision.content = merged.to_json()
    await flush(session, SPEC_REVISION.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="spec_revision.edited",
        subject_type="spec_revision",
        subject_id=revision.id,
        org_id=revision.org_id,
        project_id=revision.project_id,
        after={"label": revision.label, "fields": [change.path for change in changes][:100]},
    )
    return revision


async def act(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    revision_id: int,
    inputs: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> SpecRevision:
    """Perform one lifecycle action (submit, withdraw, approve, request_changes, issue) and its triggers."""
    revision = await get_revision(session, revision_id)
    await perform(
        session,
        SPEC_REVISION,
        revision,
        action,
        actor=actor,
        org_id=revision.org_id,
        project_id=revision.project_id,
        inputs=inputs,
        expected_version=expected_version,
        reason=(inputs or {}).get("comment", "") or "",
    )
    return revision


async def revision_pair(
    session: AsyncSession, *, project_id: int, from_number: int, to_number: int
) -> tuple[SpecRevision, SpecRevision]:
    """Two revisions of one project by number, for the diff view."""
    rows = {
        r.number: r
        for r in (
            await session.scalars(
                select(SpecRevision).where(
                    SpecRevision.project_id == project_id, SpecRevision.number.in_((from_number, to_number))
                )
            )
        ).all()
    }
    if from_number not in rows or to_number not in rows:
        raise NotFound(_(REVISION_NOT_FOUND))
    return rows[from_number], rows[to_number]
