"""JSON shapes of the API (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

import msgspec

from makeready.projects.models import Milestone, Project
from portal.bounds import RowId

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class MilestoneOut(msgspec.Struct):
    id: int
    phase: str
    title: str
    status: str
    due_date: date | None
    owner_id: int | None
    started_at: datetime | None
    completed_at: datetime | None
    late: bool

    @classmethod
    def of(cls, m: Milestone, today: date) -> MilestoneOut:
        return cls(
            id=m.id,
            phase=m.phase.value,
            title=m.title,
            status=m.status.value,
            due_date=m.due_date,
            owner_id=m.owner_id,
            started_at=m.started_at,
            completed_at=m.completed_at,
            late=m.is_late(today),
        )


class ProjectOut(msgspec.Struct):
    id: int
    org_id: int
    name: str
    category: str
    description: str
    materials_notes: str
    """The brand's notes on materials and finish."""
    target_quantity: int | None
    target_unit_price: Decimal | None
    currency: str
    target_date: date | None
    phase: str
    version: int
    created_at: datetime
    updated_at: datetime
    go_ahead_at: datetime | None = None
    """When the brand gave the go-ahead for development (POST .../go-ahead); null until then."""

    @classmethod
    def of(cls, p: Project) -> ProjectOut:
        return cls(
            id=p.id,
            org_id=p.org_id,
            name=p.name,
            category=p.category,
            description=p.description,
            materials_notes=p.materials_notes,
            target_quantity=p.target_quantity,
            target_unit_price=p.target_unit_price,
            currency=p.currency,
            target_date=p.target_date,
            phase=p.phase.value,
            version=p.version,
            created_at=p.created_at,
            updated_at=p.updated_at,
            go_ahead_at=p.go_ahead_at,
        )


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    category: str = ""
    description: str = ""
    materials_notes: str = ""
    target_quantity: int | None = None
    target_unit_price: Decimal | None = None
    currency: str = "USD"
    target_date: date | None = None
    org_id: RowId | None = None
    """Needed only when the caller belongs to several organizations."""


class ProjectPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: RowId
    """The version the change was based on; a stale one is a 409 carrying the current version."""
    name: str | msgspec.UnsetType = msgspec.UNSET
    category: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    materials_notes: str | msgspec.UnsetType = msgspec.UNSET
    target_quantity: int | msgspec.UnsetType | None = msgspec.UNSET
    target_unit_price: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    currency: str | msgspec.UnsetType = msgspec.UNSET
    target_date: date | msgspec.UnsetType | None = msgspec.UNSET


class GoAheadIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str = ""
    """A note with the go-ahead, recorded in the decision log."""
    version: RowId | None = None
    """The project's version you read; a stale one is a 409 carrying the current version."""


class Problem(msgspec.Struct):
    """RFC 9457 problem details."""

    title: str
    status: int
    detail: str
    type: str = "about:blank"
