"""What the shipping modules share: loaders through the caller's scope, staff checks and number checks."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.errors import ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel.machine import Role, load, require_role, roles_of
from makeready.shipping.models import FloorDeviation, PackingList, RevisionChange, Shipment

SHIPMENT_NOT_FOUND = N_("This shipment does not exist or you do not have access to it.")
PACKING_NOT_FOUND = N_("This packing list does not exist or you do not have access to it.")
CHANGE_NOT_FOUND = N_("This revision change does not exist or you do not have access to it.")
DEVIATION_NOT_FOUND = N_("This floor deviation does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only a coordinator can do this.")
BRAND_ONLY = N_("Only the brand's owners and members can decide this.")
MAX_DECIMAL = Decimal("1000000")


async def load_shipment(session: AsyncSession, shipment_id: int) -> Shipment:
    return await load(session, Shipment, shipment_id, SHIPMENT_NOT_FOUND)


async def load_packing_list(session: AsyncSession, packing_id: int) -> PackingList:
    return await load(session, PackingList, packing_id, PACKING_NOT_FOUND)


async def load_change(session: AsyncSession, change_id: int) -> RevisionChange:
    return await load(session, RevisionChange, change_id, CHANGE_NOT_FOUND)


async def load_deviation(session: AsyncSession, deviation_id: int) -> FloorDeviation:
    return await load(session, FloorDeviation, deviation_id, DEVIATION_NOT_FOUND)


async def require_staff(session: AsyncSession, actor: User, org_id: int) -> None:
    require_role(await roles_of(session, actor, org_id=org_id), {Role.STAFF}, STAFF_ONLY)


def positive_decimal(
    value: Any, *, field: str, places: str = "0.001", maximum: Decimal = MAX_DECIMAL, allow_zero: bool = False
) -> Decimal:
    """A positive number such as 12.5 (a weight, a dimension): never 0, negative, NaN or absurdly large."""
    text = str(value if value is not None else "").strip().replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(_("Enter a number such as 12.5."), field=field) from None
    if not number.is_finite():
        raise ValidationFailed(_("Enter a number such as 12.5."), field=field)
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationFailed(_("Enter a number greater than zero."), field=field)
    if number >= maximum:
        raise ValidationFailed(
            _("Enter a number below %(maximum)s.") % {"maximum": f"{maximum:,}"}, field=field
        )
    return number.quantize(Decimal(places))
