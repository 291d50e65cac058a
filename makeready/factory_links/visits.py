"""The factory's side: a link opened by its token, acknowledged, asked about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.audit import service as audit
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import UTCDateTime, utcnow
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.factory_links.common import (
    LINK_NOT_FOUND,
    NAME_LIMIT,
    OPEN_QUESTIONS_LIMIT,
    QUESTION_LIMIT,
    TOKEN_SHAPE,
    Gone,
    _clean,
    _coordinators,
    _field_labels,
    _supplier_names,
    coordinator_path,
    hash_token,
    is_expired,
)
from makeready.factory_links.links import perform_link
from makeready.i18n import N_, _
from makeready.notify.service import notify
from makeready.projects.models import Project
from makeready.specs import content as spec_content
from makeready.specs.models import FactoryLink, FactoryQuestion, LinkState, RevisionStatus, SpecRevision
from makeready.specs.service import content_of, current_issued
from makeready.suppliers.models import Supplier

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
    link = await session.scalar(_link_of_token(), {"token_hash": hash_token(token)})
    if link is None:
        raise NotFound(_(LINK_NOT_FOUND))
    set_scope(session, Scope(user_id=None, org_ids=frozenset({link.org_id})))
    if link.state == LinkState.revoked or is_expired(link, now):
        raise Gone(_("This link has expired or was withdrawn."))
    return link


async def open_link(
    session: AsyncSession, token: str, *, now: datetime | None = None, record_view: bool = True
) -> LinkView:
    """The link's page; counts one view (an atomic UPDATE, so concurrent opens each count)."""
    now = now or utcnow()
    link = await find_link(session, token, now=now)
    if record_view:
        # RETURNING the row refreshes `link` in the same statement (populate_existing, as the row is read), as a
        # refresh() after did
        updated = await session.execute(_count_view(), {"link_id": link.id, "now": now})
        updated.scalars().one()
    return await _view(session, link)


# A factory page's statements, built once and bound per view (building them was about a tenth of the page's CPU)


@cache
def _link_of_token() -> Any:
    # the factory has no account: the hash is the credential, found across organizations
    return (
        select(FactoryLink)
        .where(FactoryLink.token_hash == bindparam("token_hash", type_=String))
        .execution_options(tenancy_bypass=True)
    )


@cache
def _count_view() -> Any:
    now = bindparam("now", type_=UTCDateTime)
    return (
        update(FactoryLink)
        .where(FactoryLink.id == bindparam("link_id", type_=Integer))
        .values(
            view_count=FactoryLink.view_count + 1,
            last_opened_at=now,
            first_opened_at=func.coalesce(FactoryLink.first_opened_at, now),
        )
        .returning(FactoryLink)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


@cache
def _view_statements() -> tuple[Any, Any]:
    # the link's revision, project and supplier in one statement (one row: three primary keys)
    revision_project_supplier = (
        select(SpecRevision, Project, Supplier)
        .select_from(SpecRevision)
        .join(Project, Project.id == bindparam("project_id", type_=Integer))
        .join(Supplier, Supplier.id == bindparam("supplier_id", type_=Integer))
        .where(SpecRevision.id == bindparam("revision_id", type_=Integer))
    )
    questions = (
        select(FactoryQuestion)
        .where(FactoryQuestion.link_id == bindparam("link_id", type_=Integer))
        .order_by(FactoryQuestion.created_at, FactoryQuestion.id)
    )
    return revision_project_supplier, questions


async def _view(session: AsyncSession, link: FactoryLink) -> LinkView:
    revision_project_supplier, questions_of_link = _view_statements()
    found = (
        await session.execute(
            revision_project_supplier,
            {"project_id": link.project_id, "supplier_id": link.supplier_id, "revision_id": link.revision_id},
        )
    ).one_or_none()
    assert found is not None
    revision, project, supplier = found
    newer = None
    if revision.status == RevisionStatus.superseded:
        newer = await current_issued(session, project.id)
    questions = (await session.scalars(questions_of_link, {"link_id": link.id})).all()
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
    after = {
        **_supplier_names(view.supplier),
        "name": who,
        "label": view.revision.label,
        "revision_id": view.revision.id,
        "content_hash": view.revision.content_hash,
    }
    await perform_link(
        session, link, "acknowledge", actor=None, inputs={"name": who, "after": after}, now=now
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
