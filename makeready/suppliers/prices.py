"""A quote's figures as a coordinator types them: price breaks, amounts and the currency, checked and normalised."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from makeready.errors import ValidationFailed
from makeready.i18n import _
from makeready.suppliers.common import parse_quantity

MAX_BREAKS = 20
MAX_PRICE = Decimal("10000000000")
PRICE_PLACES = Decimal("0.0001")


def clean_amount(value: Any, *, field_name: str, message: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(message, field=field_name) from None
    if not number.is_finite() or number < 0 or number >= MAX_PRICE:
        raise ValidationFailed(message, field=field_name)
    return number


def _plain(number: Decimal) -> str:
    """A Decimal as a plain string, no exponent, no trailing zeros beyond the cents: 4.2 -> "4.20"."""
    text = format(number.normalize(), "f")
    whole, _dot, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def clean_price_breaks(rows: Iterable[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Rows of (quantity, unit price) as the form sends them: blank rows skipped, each row complete, quantities
    positive and distinct, prices positive with at most four decimals; sorted by quantity."""
    breaks: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, (raw_quantity, raw_price) in enumerate(rows, start=1):
        blank_q = raw_quantity is None or not str(raw_quantity).strip()
        blank_p = raw_price is None or not str(raw_price).strip()
        if blank_q and blank_p:
            continue
        if blank_q or blank_p:
            raise ValidationFailed(
                _("Price break %(n)d needs both a quantity and a unit price.") % {"n": index},
                field="price_breaks",
            )
        quantity = parse_quantity(
            raw_quantity,
            field_name="price_breaks",
            message=_("Price break %(n)d: the quantity must be a positive whole number.") % {"n": index},
        )
        price = clean_amount(
            raw_price,
            field_name="price_breaks",
            message=_("Price break %(n)d: the unit price must be a number greater than zero.") % {"n": index},
        )
        if quantity is None or price is None or price <= 0:
            raise ValidationFailed(
                _("Price break %(n)d: the unit price must be a number greater than zero.") % {"n": index},
                field="price_breaks",
            )
        if price != price.quantize(PRICE_PLACES):
            raise ValidationFailed(
                _("Price break %(n)d: give the unit price with at most four decimals.") % {"n": index},
                field="price_breaks",
            )
        if quantity in seen:
            raise ValidationFailed(
                _("Two price breaks are for %(quantity)d pieces: give each quantity once.")
                % {"quantity": quantity},
                field="price_breaks",
            )
        seen.add(quantity)
        breaks.append({"quantity": quantity, "unit_price": _plain(price)})
    if not breaks:
        raise ValidationFailed(
            _("Enter at least one price break: a quantity and the unit price at that quantity."),
            field="price_breaks",
        )
    if len(breaks) > MAX_BREAKS:
        raise ValidationFailed(_("At most %(n)d price breaks.") % {"n": MAX_BREAKS}, field="price_breaks")
    return sorted(breaks, key=lambda b: b["quantity"])


def clean_currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationFailed(_("The currency must be a three-letter code such as USD."), field="currency")
    return code
