"""What the production modules share: loading an order or lot through the caller's scope, input checks, staff."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.errors import ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel.machine import Role, load, require_role, roles_of
from makeready.production.models import Lot, ProductionOrder, ToolingItem

ORDER_NOT_FOUND = N_("This production order does not exist or you do not have access to it.")
LOT_NOT_FOUND = N_("This lot does not exist or you do not have access to it.")
TOOLING_NOT_FOUND = N_("This tooling item does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only a coordinator can change production orders, lots and tooling.")
MAX_QUANTITY = 10_000_000
"""No order or lot is larger: a typo of three extra zeros is refused rather than planned."""
TEXT_LIMIT = 4000
NAME_LIMIT = 200


async def require_staff(session: AsyncSession, actor: Any, org_id: int) -> None:
    """Only agency staff change production records directly (the factory acts through its link as the system)."""
    require_role(await roles_of(session, actor, org_id=org_id), {Role.STAFF}, STAFF_ONLY)


async def load_order(session: AsyncSession, order_id: int) -> ProductionOrder:
    return await load(session, ProductionOrder, order_id, ORDER_NOT_FOUND)


async def load_lot(session: AsyncSession, lot_id: int) -> Lot:
    return await load(session, Lot, lot_id, LOT_NOT_FOUND)


async def load_tooling(session: AsyncSession, item_id: int) -> ToolingItem:
    return await load(session, ToolingItem, item_id, TOOLING_NOT_FOUND)


def whole_units(value: Any, *, field: str, minimum: int = 1, maximum: int = MAX_QUANTITY) -> int:
    """A quantity in whole units: "3000" or 3000, never 2.5, -1 or 3e9."""
    if isinstance(value, bool):
        raise ValidationFailed(_("Enter a whole number of units."), field=field)
    try:
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip().replace(",", "")
            if not text.lstrip("-").isdigit():
                raise ValueError(text)
            number = int(text)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a whole number of units."), field=field) from None
    if number < minimum:
        raise ValidationFailed(_("Enter at least %(minimum)s.") % {"minimum": minimum}, field=field)
    if number > maximum:
        raise ValidationFailed(_("Enter at most %(maximum)s.") % {"maximum": f"{maximum:,}"}, field=field)
    return number


def a_date(value: Any, *, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field=field) from None


def a_price(value: Any, *, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        price = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(_("Enter a price such as 4.20."), field=field) from None
    if not price.is_finite() or price < 0 or price >= Decimal("100000000"):
        raise ValidationFailed(_("Enter a price such as 4.20."), field=field)
    return price.quantize(Decimal("0.0001"))


def text_of(value: Any, *, field: str, limit: int = TEXT_LIMIT, required: bool = False) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise ValidationFailed(_("This text contains characters that cannot be stored."), field=field)
    if required and not text:
        raise ValidationFailed(_("This field is required."), field=field)
    if len(text) > limit:
        raise ValidationFailed(_("Keep this under %(limit)s characters.") % {"limit": limit}, field=field)
    return text
