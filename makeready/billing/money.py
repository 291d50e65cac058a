"""Money as Stripe counts it: an integer in the currency's minor unit, converted from and to what people write.

Babel knows each currency's number of decimals; for the currencies offered here it agrees with Stripe's list of
zero-decimal currencies (JPY has none, the others two).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision

from makeready import i18n
from makeready.errors import ValidationFailed
from makeready.i18n import _

CURRENCIES = ("USD", "EUR", "GBP", "CNY", "JPY", "AUD", "CAD", "CHF", "SEK", "DKK", "NOK", "HKD")
"""Currencies a milestone fee may be in."""
MAX_AMOUNT = Decimal("99999999")
"""Stripe's ceiling for one amount (in major units, for two-decimal currencies)."""


def precision(currency: str) -> int:
    return int(get_currency_precision(currency.upper()))


def a_currency(value: object, *, field: str = "currency") -> str:
    """A currency we bill in (`" usd "` -> `"USD"`), or a refusal naming them."""
    currency = str(value or "").strip().upper()
    if currency not in CURRENCIES:
        raise ValidationFailed(
            _("Choose one of these currencies: %(currencies)s.") % {"currencies": ", ".join(CURRENCIES)},
            field=field,
        )
    return currency


def to_minor(amount: str | Decimal | int, currency: str) -> int:
    """`"1500.50"` USD -> 150050; refuses a negative, zero, too large or too precise amount, naming it."""
    currency = a_currency(currency)
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(_("The amount must be a number, such as 1500.00."), field="amount") from None
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT:
        raise ValidationFailed(_("The amount must be more than zero and at most 99,999,999."), field="amount")
    places = precision(currency)
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        raise ValidationFailed(
            _("%(currency)s amounts have at most %(places)s decimals.")
            % {"currency": currency, "places": places},
            field="amount",
        )
    return int(minor)


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-precision(currency))


def format_minor(amount: int | None, currency: str) -> str:
    """An amount in minor units, formatted by Babel for the current locale ("$1,500.50", "US$1,500.50")."""
    if amount is None:
        return ""
    return i18n.format_money(from_minor(amount, currency), currency.upper())
