"""Factory links: an issued spec revision sent to one supplier, opened at /f/<token> without an account.

The token (256 random bits) is shown once, to the coordinator who sends it; only its sha256 is stored, so a copy of
the database opens nothing. A link is scoped to one revision: a newer issue leaves it readable with a "superseded"
banner but read-only. Expired or revoked links are Gone (410), unknown tokens NotFound (404).

The factory has no account, so its requests carry no tenancy scope of their own: the link is found by its hash with
the tenancy filter bypassed, and everything after runs in the scope of that link's organization only.

The link is deliberately not emailed through the outbox: an outbox row would keep the token in clear text in the
database (and in the delivered-mail archive), which the "stored only as a hash" rule forbids. The coordinator copies
it once from the page and sends it by the channel the factory uses (WeChat, email).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import N_, _, use_locale
from makeready.notify.service import notify
from makeready.projects.access import load_project, require_open, user_by_id
from makeready.projects.models import Project
from makeready.specs import content as spec_content
from makeready.specs.models import FactoryLink, FactoryQuestion, RevisionStatus, SpecRevision
from makeready.specs.service import content_of, current_issued, describe_field
from makeready.suppliers.models import Supplier

TOKEN_BYTES = 32
"""secrets.token_urlsafe(32): 256 random bits, 43 characters."""
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
DEFAULT_DAYS = 30
MAX_DAYS = 365
NAME_LIMIT = 120
QUESTION_LIMIT = 2000
ANSWER_LIMIT = 4000
OPEN_QUESTIONS_LIMIT = 50
"""Unanswered questions one link may have at a time: a leaked link cannot flood the coordinator."""

STAFF_ONLY = N_("Only a coordinator sends, revokes and answers factory links.")
LINK_NOT_FOUND = N_("This factory link does not exist.")
QUESTION_NOT_FOUND = N_("This question does not exist.")


class Gone(DomainError):
    """The link existed but has expired or was revoked."""

    status_code = 410


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(token: str) -> str:
    return f"/f/{token}"


def coordinator_path(project_id: int) -> str:
    return f"/coordinator/projects/{project_id}/factory-links"


def is_expired(link: FactoryLink, now: datetime) -> bool:
    return link.expires_at <= now


def is_live(link: FactoryLink, now: datetime) -> bool:
    return link.revoked_at is None and not is_expired(link, now)


def _require_staff(actor: User) -> None:
    if not (actor.is_active and (actor.is_staff or actor.is_admin)):
        raise PermissionDenied(_(STAFF_ONLY))


def _clean(value: str | None, *, field: str, limit: int, blank: str, long: str) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed(_(blank), field=field)
    if len(text) > limit:
        raise ValidationFailed(_(long) % {"limit": limit}, field=field)
    return text


def _supplier_names(supplier: Supplier) -> dict[str, str]:
    return {"supplier": supplier.name_en, "supplier_zh": supplier.name_zh or supplier.name_en}


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
                FactoryLink.revoked_at.is_(None),
                FactoryLink.expires_at > now,
            )
        )
    ).all()
    for old in previous:
        old.revoked_at = now
        old.revoked_by_id = actor.id
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
    if link.revoked_at is not None:
        raise Conflict(_("This link was already revoked."), current_state="revoked")
    link.revoked_at = now
    link.revoked_by_id = actor.id
    supplier = await session.get(Supplier, link.supplier_id)
    revision = await session.get(SpecRevision, link.revision_id)
    assert supplier is not None
    assert revision is not None
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="factory_link.revoked",
        subject_type="factory_link",
        subject_id=link.id,
        org_id=link.org_id,
        project_id=link.project_id,
        after={**_supplier_names(supplier), "label": revision.label},
    )
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
            _("Someone answered this question since you opened the page. Reload it to see their answer."),
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


# --------------------------------------------------------------------------------------------------------------
# The factory's side


@dataclass
class LinkView:
    """What a factory link shows: the link, its revision, project and supplier, and the questions asked on it."""

    link: FactoryLink
    revision: SpecRevision
    project: Project
    supplier: Supplier
    newer: SpecRevision | None
    """The issued revision that superseded this link's revision, if any."""
    questions: list[FactoryQuestion]

    @property
    def superseded(self) -> bool:
        return self.revision.status == RevisionStatus.superseded


async def find_link(session: AsyncSession, token: str, *, now: datetime) -> FactoryLink:
    """The live link a token opens, with the session scoped to the link's organization from now on.

    NotFound for a token nobody issued (or one of the wrong shape, without a query), Gone for an expired or revoked
    link.
    """
    if not TOKEN_SHAPE.match(token or ""):
        raise NotFound(_(LINK_NOT_FOUND))
    set_scope(session, Scope.anonymous())
    link = await session.scalar(
        # the factory has no account: the hash is the credential, found across organizations
        select(FactoryLink)
        .where(FactoryLink.token_hash == hash_token(token))
        .execution_options(tenancy_bypass=True)
    )
    if link is None:
        raise NotFound(_(LINK_NOT_FOUND))
    set_scope(session, Scope(user_id=None, org_ids=frozenset({link.org_id})))
    if link.revoked_at is not None or is_expired(link, now):
        raise Gone(_("This link has expired or was withdrawn."))
    return link


async def open_link(
    session: AsyncSession, token: str, *, now: datetime | None = None, record_view: bool = True
) -> LinkView:
    """The link's page; counts one view (an atomic UPDATE, so concurrent opens each count)."""
    now = now or utcnow()
    link = await find_link(session, token, now=now)
    if record_view:
        await session.execute(
            update(FactoryLink)
            .where(FactoryLink.id == link.id)
            .values(
                view_count=FactoryLink.view_count + 1,
                last_opened_at=now,
                first_opened_at=func.coalesce(FactoryLink.first_opened_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        await session.refresh(link)
    return await _view(session, link)


async def _view(session: AsyncSession, link: FactoryLink) -> LinkView:
    revision = await session.get(SpecRevision, link.revision_id)
    project = await session.get(Project, link.project_id)
    supplier = await session.get(Supplier, link.supplier_id)
    assert revision is not None
    assert project is not None
    assert supplier is not None
    newer = None
    if revision.status == RevisionStatus.superseded:
        newer = await current_issued(session, project.id)
    questions = (
        await session.scalars(
            select(FactoryQuestion)
            .where(FactoryQuestion.link_id == link.id)
            .order_by(FactoryQuestion.created_at, FactoryQuestion.id)
        )
    ).all()
    return LinkView(link, revision, project, supplier, newer, list(questions))


def _require_current(view: LinkView) -> None:
    if view.superseded:
        raise Conflict(
            _(
                "This revision has been superseded: it can no longer be acknowledged or asked about. "
                "Ask your coordinator for the link to the new revision."
            ),
            current_state=RevisionStatus.superseded.value,
        )


async def _coordinators(session: AsyncSession, project: Project) -> list[User]:
    """The project's coordinator, or every active staff user while it has none."""
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is not None:
        return [coordinator]
    rows = await session.scalars(select(User).where(User.is_staff, User.is_active).order_by(User.id))
    return list(rows.all())


def _field_labels(revision: SpecRevision, field_path: str) -> dict[str, str]:
    """The field a question is about, named in both languages (the log shows the reader's)."""
    if not field_path:
        return {"field": "", "field_en": "", "field_zh": ""}
    ref = spec_content.field_at(content_of(revision), field_path)
    if ref is None:
        return {"field": field_path, "field_en": field_path, "field_zh": field_path}
    with use_locale("en"):
        english = describe_field(ref)
    with use_locale("zh_Hans"):
        chinese = describe_field(ref)
    return {"field": field_path, "field_en": english, "field_zh": chinese}


async def acknowledge(
    session: AsyncSession, token: str, *, name: str, now: datetime | None = None
) -> LinkView:
    """The factory confirms it received and understood the revision (once per link), recording the content hash."""
    now = now or utcnow()
    link = await find_link(session, token, now=now)
    view = await _view(session, link)
    _require_current(view)
    who = _clean(
        name,
        field="name",
        limit=NAME_LIMIT,
        blank=N_("Write your name."),
        long=N_("The name is limited to %(limit)s characters."),
    )
    changed = await session.execute(
        update(FactoryLink)
        .where(FactoryLink.id == link.id, FactoryLink.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_name=who)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        raise Conflict(_("This revision was already acknowledged."), current_state="acknowledged")
    await session.refresh(link)
    await audit.record(
        session,
        actor_id=None,
        action="factory.acknowledged",
        subject_type="factory_link",
        subject_id=link.id,
        org_id=link.org_id,
        project_id=link.project_id,
        after={
            **_supplier_names(view.supplier),
            "name": who,
            "label": view.revision.label,
            "revision_id": view.revision.id,
            "content_hash": view.revision.content_hash,
        },
    )
    for user in await _coordinators(session, view.project):
        await notify(
            session,
            user=user,
            kind="factory_acknowledged",
            params={
                "project": view.project.name,
                "revision": view.revision.label,
                "supplier": view.supplier.name_en,
                "person": who,
            },
            project_id=view.project.id,
            link=coordinator_path(view.project.id),
        )
    return view


async def ask_question(
    session: AsyncSession,
    token: str,
    *,
    field_path: str,
    name: str,
    text: str,
    now: datetime | None = None,
) -> FactoryQuestion:
    """A factory's question on one field of its revision ("" for the whole spec)."""
    now = now or utcnow()
    link = await find_link(session, token, now=now)
    view = await _view(session, link)
    _require_current(view)
    path = (field_path or "").strip()
    if path and spec_content.field_at(content_of(view.revision), path) is None:
        raise ValidationFailed(_("This field is not part of the specification."), field="field_path")
    who = _clean(
        name,
        field="name",
        limit=NAME_LIMIT,
        blank=N_("Write your name."),
        long=N_("The name is limited to %(limit)s characters."),
    )
    body = _clean(
        text,
        field="question",
        limit=QUESTION_LIMIT,
        blank=N_("Write your question."),
        long=N_("A question is limited to %(limit)s characters."),
    )
    if sum(1 for q in view.questions if not q.answer) >= OPEN_QUESTIONS_LIMIT:
        raise Conflict(
            _("Too many questions are waiting for an answer. Please wait for the coordinator's reply.")
        )
    question = FactoryQuestion(
        org_id=link.org_id,
        link_id=link.id,
        revision_id=view.revision.id,
        project_id=view.project.id,
        field_path=path,
        asked_by_name=who,
        question=body,
    )
    session.add(question)
    await session.flush()
    labels = _field_labels(view.revision, path)
    await audit.record(
        session,
        actor_id=None,
        action="factory_question.asked",
        subject_type="factory_question",
        subject_id=question.id,
        org_id=link.org_id,
        project_id=link.project_id,
        after={
            **_supplier_names(view.supplier),
            **labels,
            "name": who,
            "label": view.revision.label,
            "question": body,
        },
    )
    for user in await _coordinators(session, view.project):
        await notify(
            session,
            user=user,
            kind="factory_question_asked",
            params={
                "project": view.project.name,
                "revision": view.revision.label,
                "supplier": view.supplier.name_en,
                "person": who,
                "field": labels["field_en"],
                "question": body,
            },
            project_id=view.project.id,
            link=coordinator_path(view.project.id),
        )
    return question


# --------------------------------------------------------------------------------------------------------------
# Reading, for the coordinator


@dataclass
class LinkRow:
    link: FactoryLink
    revision: SpecRevision
    supplier: Supplier

    def state(self, now: datetime) -> str:
        if self.link.revoked_at is not None:
            return "revoked"
        if is_expired(self.link, now):
            return "expired"
        return "live"


@dataclass
class Unopened:
    """A supplier who has not opened the current issued revision: sent but unopened, or not sent it at all."""

    supplier: Supplier
    link: FactoryLink | None
    """Their live link to the current revision, unopened; None when they only have links to older revisions."""
    last_label: str
    """The label of the newest revision they were sent."""


async def links_of(session: AsyncSession, project_id: int) -> list[LinkRow]:
    """The project's links, newest first, with revision and supplier (one statement)."""
    rows = await session.execute(
        select(FactoryLink, SpecRevision, Supplier)
        .join(SpecRevision, SpecRevision.id == FactoryLink.revision_id)
        .join(Supplier, Supplier.id == FactoryLink.supplier_id)
        .where(FactoryLink.project_id == project_id)
        .order_by(FactoryLink.created_at.desc(), FactoryLink.id.desc())
    )
    return [LinkRow(link, revision, supplier) for link, revision, supplier in rows.all()]


def unopened_suppliers_of(
    rows: list[LinkRow], current: SpecRevision | None, *, now: datetime
) -> list[Unopened]:
    """From the project's links: suppliers who have not opened the current revision (see Unopened)."""
    if current is None:
        return []
    by_supplier: dict[int, list[LinkRow]] = {}
    for row in rows:
        by_supplier.setdefault(row.supplier.id, []).append(row)
    found = []
    for supplier_rows in by_supplier.values():
        on_current = [r for r in supplier_rows if r.revision.id == current.id]
        if any(r.link.first_opened_at is not None for r in on_current):
            continue
        live = next((r.link for r in on_current if is_live(r.link, now)), None)
        newest = max(supplier_rows, key=lambda r: r.revision.number)
        found.append(Unopened(supplier_rows[0].supplier, live, newest.revision.label))
    found.sort(key=lambda u: u.supplier.name_en.lower())
    return found


async def unopened_suppliers(
    session: AsyncSession, project_id: int, *, now: datetime | None = None
) -> list[Unopened]:
    """Suppliers with a link on this project who have not opened its current issued revision."""
    current = await current_issued(session, project_id)
    return unopened_suppliers_of(await links_of(session, project_id), current, now=now or utcnow())


async def questions_of(session: AsyncSession, project_id: int) -> list[tuple[FactoryQuestion, Supplier]]:
    """The project's factory questions, unanswered first then newest, with the supplier each came from."""
    rows = await session.execute(
        select(FactoryQuestion, Supplier)
        .join(FactoryLink, FactoryLink.id == FactoryQuestion.link_id)
        .join(Supplier, Supplier.id == FactoryLink.supplier_id)
        .where(FactoryQuestion.project_id == project_id)
        .order_by(FactoryQuestion.answered_at.is_not(None), FactoryQuestion.created_at.desc())
    )
    return [(question, supplier) for question, supplier in rows.all()]
