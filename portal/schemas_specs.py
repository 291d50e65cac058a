"""JSON shapes of the spec revision API (documented in the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from makeready.specs import content as spec_content
from makeready.specs import service as specs
from makeready.specs.models import SpecRevision


class SpecRevisionSummary(msgspec.Struct):
    id: int
    project_id: int
    number: int
    label: str
    """The revision letter: 1 is A, 27 is AA."""
    status: Literal["draft", "in_review", "approved", "issued", "superseded"]
    version: int
    """Send it back with a change or an action: a stale one is a 409."""
    submitted_at: datetime | None
    approved_at: datetime | None
    issued_at: datetime | None
    review_comment: str
    """The brand's comment when it sent the revision back."""

    @classmethod
    def of(cls, r: SpecRevision) -> SpecRevisionSummary:
        return cls(
            id=r.id,
            project_id=r.project_id,
            number=r.number,
            label=r.label,
            status=r.status.value,
            version=r.version,
            submitted_at=r.submitted_at,
            approved_at=r.approved_at,
            issued_at=r.issued_at,
            review_comment=r.review_comment,
        )


class IssueBlocker(msgspec.Struct):
    path: str
    """The field's path in the content, e.g. `dimensions.d3.feature`."""
    field: str
    """Where it is, for people."""
    status: Literal["missing", "stale"]


class SpecRevisionOut(SpecRevisionSummary):
    content: dict[str, Any]
    """Sections of bilingual texts (`{en, zh, status}`) and data; rows carry stable ids."""
    content_hash: str
    """sha256 of the content, fixed when the revision is issued."""
    blockers: list[IssueBlocker]
    """The fields whose Chinese is missing or stale: the revision cannot be issued while there are any."""

    @classmethod
    def of(cls, r: SpecRevision) -> SpecRevisionOut:
        content = specs.content_of(r)
        blockers = [
            IssueBlocker(path=ref.path, field=specs.describe_field(ref), status=ref.value.problem.value)
            for ref in spec_content.translation_problems(content)
        ]
        return cls(
            **msgspec.structs.asdict(SpecRevisionSummary.of(r)),
            content=content.to_json(),
            content_hash=r.content_hash,
            blockers=blockers,
        )


class SpecContentIn(msgspec.Struct):
    version: int
    """The revision's version you read."""
    content: dict[str, Any]
    """The whole content (see SpecRevisionOut.content); each text's `status` may only ask for `reviewed`."""


class SpecActionIn(msgspec.Struct):
    action: Literal["submit", "withdraw", "issue", "approve", "request_changes"]
    """Coordinators: submit, withdraw, issue. The brand's owners and members: approve, request_changes."""
    version: int | None = None
    comment: str = ""
    """Required to request changes."""
