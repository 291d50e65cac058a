"""What the factory link modules share: the token, the paths, who may act, and how names are shown."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import User
from makeready.errors import DomainError, PermissionDenied, ValidationFailed
from makeready.i18n import N_, _, use_locale
from makeready.projects.access import user_by_id
from makeready.projects.models import Project
from makeready.specs import content as spec_content
from makeready.specs.models import FactoryLink, LinkState, SpecRevision
from makeready.specs.service import content_of, describe_field
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


link_path = urls.factory_link
coordinator_path = urls.factory_links


def is_expired(link: FactoryLink, now: datetime) -> bool:
    return link.expires_at <= now


def is_live(link: FactoryLink, now: datetime) -> bool:
    return link.state != LinkState.revoked and not is_expired(link, now)


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
