"""The facts the figures are read from: one row per time something was asked (a sample to decide, a revision to
review, a question to answer), closed when it is decided or withdrawn. Derived from the audit trail only
(`makeready.metrics.facts`): `makeready metrics rebuild` recreates every row from the chain."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from makeready.db.base import Base, IdMixin, TenantOwned


class MetricFact(IdMixin, TenantOwned, Base):
    """One ask and its answer. `key` names what was asked (one open fact per key), `scope` groups the asks that
    count as attempts of one another (a revision's resubmissions, a project's sample rounds)."""

    __tablename__ = "metric_facts"
    __table_args__ = (
        Index("ix_metric_facts_kind_closed_at", "kind", "closed_at"),
        Index("ix_metric_facts_key_open", "key", "closed_seq"),
    )

    kind: Mapped[str] = mapped_column(String(50))
    party: Mapped[str] = mapped_column(String(20))
    """Who the project waits on while the fact is open: brand, agency, factory ("" for a hold)."""
    project_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int | None] = mapped_column(Integer, default=None)
    supplier_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    key: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(String(120), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    asked_seq: Mapped[int] = mapped_column(Integer, unique=True)
    asked_at: Mapped[datetime]
    closed_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(100), default="")
    """The audit action that decided it, "withdrawn" when the ask was taken back, "" while open."""
    latency_s: Mapped[int | None] = mapped_column(Integer, default=None)
    """Seconds from asked to decided (never negative: events stamped out of order count as instant)."""
    passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """Decided by one of the kind's passing actions (an approval); None while open or withdrawn."""


class MetricCursor(IdMixin, Base):
    """How far the facts have read the audit chain (one row). Agency bookkeeping, no organization."""

    __tablename__ = "metric_cursor"

    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class MetricWait(IdMixin, TenantOwned, Base):
    """How long one project waited on one party: closed time per calendar month (`month` set), or the start of
    the wait still going on (`open_since` set, no month). Recomputed for a project whenever its facts change
    (`facts.roll_up`), so the dashboard sums a few rows per project instead of re-walking every ask."""

    __tablename__ = "metric_waits"
    __table_args__ = (Index("ix_metric_waits_month_party", "month", "party"),)

    project_id: Mapped[int] = mapped_column(Integer, index=True)
    party: Mapped[str] = mapped_column(String(20))
    month: Mapped[date | None] = mapped_column(Date, default=None)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    open_since: Mapped[datetime | None] = mapped_column(default=None)
