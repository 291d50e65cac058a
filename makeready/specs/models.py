"""Spec revisions, their rendered PDFs, factory links with the factory's questions, and the agency's glossary."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.accounts.models import User, str_enum
from makeready.db.base import Base, IdMixin, TenantOwned, TimestampMixin, VersionedMixin
from makeready.i18n import N_
from makeready.projects.models import Project
from makeready.suppliers.models import Supplier


class RevisionStatus(enum.StrEnum):
    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    issued = "issued"
    superseded = "superseded"

    @staticmethod
    def labels() -> dict[RevisionStatus, str]:
        return {
            RevisionStatus.draft: N_("Draft"),
            RevisionStatus.in_review: N_("In review"),
            RevisionStatus.approved: N_("Approved"),
            RevisionStatus.issued: N_("Issued"),
            RevisionStatus.superseded: N_("Superseded"),
        }


def revision_label(number: int) -> str:
    """Revision letters as drawings use them: 1 -> A, 26 -> Z, 27 -> AA."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class SpecRevision(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """One numbered revision of a project's specification; `content` follows makeready.specs.content.SpecContent."""

    __tablename__ = "spec_revisions"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_spec_revisions_project_number"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[RevisionStatus] = mapped_column(str_enum(RevisionStatus), default=RevisionStatus.draft)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    based_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("spec_revisions.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # the brand's comment when it sent the revision back for changes
    review_comment: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime | None] = mapped_column(default=None)
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    # sha256 of the canonical content, fixed when the revision is issued (what the factory acknowledges)
    content_hash: Mapped[str] = mapped_column(String(64), default="")

    project: Mapped[Project] = relationship(lazy="raise")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="raise")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="raise")
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id], lazy="raise")

    @property
    def label(self) -> str:
        return revision_label(self.number)


class DocumentStatus(enum.StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"

    @staticmethod
    def labels() -> dict[DocumentStatus, str]:
        return {
            DocumentStatus.pending: N_("Being prepared"),
            DocumentStatus.ready: N_("Ready"),
            DocumentStatus.failed: N_("Failed"),
        }


class SpecDocument(IdMixin, TenantOwned, TimestampMixin, Base):
    """A rendered PDF of a revision, keyed by the hash of everything that goes into it: one render per content."""

    __tablename__ = "spec_documents"
    __table_args__ = (UniqueConstraint("content_hash", name="uq_spec_documents_content_hash"),)

    revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    # the order of the two languages in the document, e.g. "zh_Hans,en"
    languages: Mapped[str] = mapped_column(String(40), default="zh_Hans,en")
    status: Mapped[DocumentStatus] = mapped_column(str_enum(DocumentStatus), default=DocumentStatus.pending)
    storage_key: Mapped[str] = mapped_column(String(500), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    render_ms: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    rendered_at: Mapped[datetime | None] = mapped_column(default=None)

    revision: Mapped[SpecRevision] = relationship(lazy="raise")


class LinkState(enum.StrEnum):
    """A factory link's lifecycle (makeready.factory_links.FACTORY_LINK). Expiry is a matter of time and
    supersession the revision's, so neither is stored: a live link past `expires_at` is expired."""

    live = "live"
    acknowledged = "acknowledged"
    revoked = "revoked"

    @staticmethod
    def labels() -> dict[LinkState, str]:
        return {
            LinkState.live: N_("Live"),
            LinkState.acknowledged: N_("Acknowledged"),
            LinkState.revoked: N_("Revoked"),
        }


def _initial_link_state(context: Any) -> str:
    """A row inserted already revoked or acknowledged (fixtures) starts so; the machine moves it after."""
    if context is None:  # a default asked for outside an INSERT (the back office's form)
        return LinkState.live.value
    params = context.get_current_parameters()
    if params.get("revoked_at") is not None:
        return LinkState.revoked.value
    if params.get("acknowledged_at") is not None:
        return LinkState.acknowledged.value
    return LinkState.live.value


class FactoryLink(IdMixin, TenantOwned, TimestampMixin, Base):
    """An issued revision sent to one supplier: opened at /f/<token> without an account.

    Only the sha256 of the token is stored. View counters are bumped with atomic UPDATEs, so the row has no version
    column: concurrent opens must not conflict.
    """

    __tablename__ = "factory_links"

    revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime]
    state: Mapped[LinkState] = mapped_column(str_enum(LinkState), default=_initial_link_state)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    first_opened_at: Mapped[datetime | None] = mapped_column(default=None)
    last_opened_at: Mapped[datetime | None] = mapped_column(default=None)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_name: Mapped[str] = mapped_column(String(200), default="")

    revision: Mapped[SpecRevision] = relationship(lazy="raise")
    supplier: Mapped[Supplier] = relationship(lazy="raise")


class FactoryQuestion(IdMixin, TenantOwned, TimestampMixin, VersionedMixin, Base):
    """A question a factory asked about one field of the revision it was sent, and the coordinator's answer."""

    __tablename__ = "factory_questions"

    link_id: Mapped[int] = mapped_column(ForeignKey("factory_links.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("spec_revisions.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # the field asked about, as makeready.specs.content paths it ("dimensions.d1.feature"); "" for the whole spec
    field_path: Mapped[str] = mapped_column(String(200), default="")
    asked_by_name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    link: Mapped[FactoryLink] = relationship(lazy="raise")
    answered_by: Mapped[User | None] = relationship(lazy="raise")


class GlossaryTerm(IdMixin, TimestampMixin, Base):
    """A term the agency added to the glossary (agency-wide; the starter set ships in i18n/termbase.csv)."""

    __tablename__ = "glossary_terms"

    en: Mapped[str] = mapped_column(String(200))
    # normalised English (lower case, single spaces): one entry per term, overriding the starter set's
    en_key: Mapped[str] = mapped_column(String(200), unique=True)
    zh: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), default="")
    # other acceptable Chinese renderings, separated by |
    alternatives: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
