"""What the supplier modules share: who may read and write them, and how a quantity is read from a form."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.db.tenancy import get_scope
from makeready.errors import PermissionDenied, ValidationFailed
from makeready.i18n import _

MAX_QUANTITY = 100_000_000


def require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise PermissionDenied(_("Only coordinators can do this."))


def require_staff_session(session: AsyncSession) -> None:
    """Suppliers are not tenant-owned, so the data layer cannot filter them: reads check the scope here."""
    if not get_scope(session).unrestricted:
        raise PermissionDenied(_("Only coordinators can do this."))


def parse_quantity(value: Any, *, field_name: str, message: str) -> int | None:
    """A positive whole number, or None for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValidationFailed(message, field=field_name) from None
    if number <= 0 or number > MAX_QUANTITY:
        raise ValidationFailed(message, field=field_name)
    return number
