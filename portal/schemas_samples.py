"""JSON shapes of the samples, change requests, decision log and notifications API (documented in the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from makeready.changes.register import ChangeEntry
from makeready.decisions.listing import Decision
from makeready.notify.models import Notification
from makeready.notify.service import render
from makeready.samples.models import SamplePhoto, SampleRound
from portal.bounds import RowId


def thumbnail_path(photo_id: int) -> str:
    return f"/samples/photos/{photo_id}/thumbnail"


def image_path(photo_id: int) -> str:
    return f"/samples/photos/{photo_id}/image"


class SamplePhotoOut(msgspec.Struct):
    id: int
    caption: str
    original_name: str
    thumbnail_url: str
    """A JPEG of at most 480x480 pixels (same authentication as the API)."""
    image_url: str
    """Redirects to a short-lived link to the full image."""
    pinned: bool
    """Whether the brand's decision was pinned to this photo."""

    @classmethod
    def of(cls, photo: SamplePhoto, pinned: set[int]) -> SamplePhotoOut:
        return cls(
            id=photo.id,
            caption=photo.caption,
            original_name=photo.attachment.original_name,
            thumbnail_url=thumbnail_path(photo.id),
            image_url=image_path(photo.id),
            pinned=photo.id in pinned,
        )


class SampleRoundOut(msgspec.Struct):
    id: int
    project_id: int
    number: int
    status: Literal["requested", "in_production", "shipped", "received", "approved", "rejected"]
    """`received` is the state that awaits the brand's decision."""
    awaiting_decision: bool
    supplier_id: int | None
    coordinator_notes: str
    requested_at: datetime | None
    in_production_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    decided_at: datetime | None
    decided_by_id: int | None
    decision_comment: str
    pinned_photo_ids: list[int]
    photos: list[SamplePhotoOut]
    version: int

    @classmethod
    def of(cls, s: SampleRound) -> SampleRoundOut:
        pins = [int(i) for i in (s.pinned_photo_ids or [])]
        return cls(
            id=s.id,
            project_id=s.project_id,
            number=s.number,
            status=s.status.value,
            awaiting_decision=s.status.value == "received",
            supplier_id=s.supplier_id,
            coordinator_notes=s.coordinator_notes,
            requested_at=s.requested_at,
            in_production_at=s.in_production_at,
            shipped_at=s.shipped_at,
            received_at=s.received_at,
            decided_at=s.decided_at,
            decided_by_id=s.decided_by_id,
            decision_comment=s.decision_comment,
            pinned_photo_ids=pins,
            photos=[SamplePhotoOut.of(p, set(pins)) for p in s.photos],
            version=s.version,
        )


class SampleDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    comment: str = ""
    """Required to reject: what is wrong. Recorded with the decision and sent to the coordinator."""
    pinned_photo_ids: list[RowId] = msgspec.field(default_factory=list)
    """Photos of this round the decision refers to."""
    version: RowId | None = None
    """The round's version you read; a stale one is a 409 carrying the current version."""


class ChangeFileOut(msgspec.Struct):
    id: int
    original_name: str


class ChangeRequestOut(msgspec.Struct):
    id: int
    project_id: int
    number: int
    title: str
    description: str
    reason: str
    status: Literal["open", "approved", "rejected", "implemented", "withdrawn"]
    attachment_ids: list[int]
    files: list[ChangeFileOut]
    raised_by_id: int | None
    raised_by_name: str
    created_at: datetime
    decided_at: datetime | None
    decided_by_id: int | None
    decided_by_name: str
    decision_note: str
    version: int

    @classmethod
    def of(cls, entry: ChangeEntry) -> ChangeRequestOut:
        c = entry.change
        return cls(
            id=c.id,
            project_id=c.project_id,
            number=c.number,
            title=c.title,
            description=c.description,
            reason=c.reason,
            status=c.status.value,
            attachment_ids=[int(i) for i in (c.attachment_ids or [])],
            files=[ChangeFileOut(id=a.id, original_name=a.original_name) for a in entry.files],
            raised_by_id=c.raised_by_id,
            raised_by_name=c.raised_by.display_name if c.raised_by else "",
            created_at=c.created_at,
            decided_at=c.decided_at,
            decided_by_id=c.decided_by_id,
            decided_by_name=entry.decided_by,
            decision_note=c.decision_note,
            version=c.version,
        )


class ChangeRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    """What should change, in a line (at most 200 characters)."""
    description: str
    """The change in detail."""
    reason: str
    """Why: recorded with the request in the decision log."""
    attachment_ids: list[RowId] = msgspec.field(default_factory=list)
    """Files of this project the change concerns."""


class DecisionOut(msgspec.Struct):
    id: int
    """The audit event's id."""
    action: str
    """The audit action, such as `sample_round.rejected` or `change_request.approved`."""
    sentence: str
    """Who did what, in the reader's language (plain text)."""
    actor_id: int | None
    actor_name: str
    subject_type: str
    subject_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    """Why, as the person wrote it (a rejection's comment, a decision's note)."""
    at: datetime

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls(
            id=d.event.id,
            action=d.event.action,
            sentence=d.entry.sentence,
            actor_id=d.event.actor_id,
            actor_name=d.entry.actor,
            subject_type=d.event.subject_type,
            subject_id=d.event.subject_id,
            before=d.before,
            after=d.after,
            reason=d.event.reason,
            at=d.event.created_at,
        )


class NotificationOut(msgspec.Struct):
    id: int
    kind: str
    text: str
    """The message in the reader's language (plain text)."""
    link: str
    """Where it points in the portal, a path such as /projects/7."""
    project_id: int | None
    params: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            kind=n.kind,
            text=render(n),
            link=n.link,
            project_id=n.project_id,
            params=dict(n.params or {}),
            created_at=n.created_at,
            read_at=n.read_at,
        )


class NotificationPage(msgspec.Struct):
    items: list[NotificationOut]
    total: int
    unread: int
    limit: int
    offset: int


class MarkedRead(msgspec.Struct):
    marked: int
    """How many notifications changed from unread to read."""
    unread: int
    """How many are still unread."""
