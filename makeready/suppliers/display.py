"""Formatting for supplier figures, with Babel in the reader's locale: unit prices that need more than the
currency's two digits (a screw at $0.035), and rates as percentages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_percent

from makeready.i18n import babel_locale

UNIT_PRICE_PLACES = Decimal("0.0001")


def format_unit_money(amount: Decimal | None, currency: str) -> str:
    """A unit price or unit cost: at least the currency's usual digits, up to four decimals when they matter
    ($4.20, $0.035, $6.0753), rounded half up at the fourth."""
    if amount is None:
        return ""
    value = amount.quantize(UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP).normalize()
    if value == value.to_integral():
        value = value.quantize(Decimal(1))  # normalize() writes 100 as 1E+2
    return format_currency(value, currency, locale=babel_locale(), decimal_quantization=False)


def format_rate(rate: float | None) -> str:
    """A share as a whole percentage (75%, 67%); the empty string when there is nothing to measure."""
    if rate is None:
        return ""
    return format_percent(rate, locale=babel_locale())
