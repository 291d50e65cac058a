"""Formatting is cached per value and locale (a page formats the same dates and prices many times), without
mixing up locales, currencies or the timezones of equal instants; the Babel locale is parsed once per locale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from babel import Locale

from makeready import i18n


def test_cached_text_follows_the_locale_and_currency() -> None:
    day = date(2026, 3, 4)
    with i18n.use_locale("en"):
        en_day, en_price = i18n.format_date(day), i18n.format_money(Decimal("1234.5"), "USD")
    with i18n.use_locale("zh_Hans"):
        zh_day, zh_price = i18n.format_date(day), i18n.format_money(Decimal("1234.5"), "USD")
        zh_eur = i18n.format_money(Decimal("1234.5"), "EUR")
    with i18n.use_locale("en"):
        assert i18n.format_date(day) == en_day == "Mar 4, 2026"
        assert i18n.format_money(Decimal("1234.50"), "USD") == en_price == "$1,234.50"
    assert zh_day == "2026年3月4日"
    assert zh_price == "US$1,234.50"
    assert zh_eur != zh_price


def test_equal_instants_in_other_zones_keep_their_wall_time() -> None:
    """Equal datetimes hash alike: a cache keyed on the value alone would print the first zone's time."""
    utc = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    shanghai = utc.astimezone(timezone(timedelta(hours=8)))
    assert utc == shanghai
    with i18n.use_locale("en"):
        assert "11:30" in i18n.format_datetime(utc)
        assert "7:30" in i18n.format_datetime(shanghai)
        assert i18n.format_date(utc) == "Mar 4, 2026"
        assert i18n.format_date(shanghai) == "Mar 5, 2026"


def test_a_page_of_values_parses_no_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard parsed a Babel locale 265 times per request; now each locale is parsed once per process."""
    parsed: list[str] = []
    original = Locale.parse.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Locale], identifier: object, *args: object, **kwargs: object) -> Locale:
        if isinstance(identifier, str):
            parsed.append(identifier)
        return original(cls, identifier, *args, **kwargs)

    for locale in i18n.SUPPORTED:  # parsed once, before the page
        with i18n.use_locale(locale):
            i18n.babel_locale()
    monkeypatch.setattr(Locale, "parse", classmethod(counting))
    for locale in i18n.SUPPORTED:
        with i18n.use_locale(locale):
            for n in range(50):
                i18n.format_date(date(2026, 1, 1) + timedelta(days=n))
                i18n.format_datetime(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n))
                i18n.format_money(Decimal(n) + Decimal("0.25"), "USD")
    assert parsed == []
