"""AuditEvent: one row per state change, each carrying the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from makeready.db.base import Base, IdMixin, TenantOwned
from makeready.db.types import utcnow


class AuditEvent(IdMixin, TenantOwned, Base):
    """Append-only. `seq` is unique, so two writers can never fork the chain."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, unique=True)
    # events about no client (users, suppliers) carry no org and are visible to staff only
    org_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True, nullable=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), default=None)
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int | None] = mapped_column(Integer, default=None)
    project_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(IdMixin, Base):
    """The chain's head at one moment, signed with a key the database does not hold (HMAC, derived from
    SECRET_KEY): removing the newest events or rewriting the tail, even with every hash recomputed, no longer
    matches the newest checkpoint, and a forged checkpoint does not carry a valid MAC."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
