"""Runtime i18n: the current locale (a context variable), gettext over the Babel catalogs, and formatting.

Catalogs live in `i18n/<locale>/LC_MESSAGES/messages.mo`, compiled from the `.po` files by `make setup`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

CATALOG_DIR = Path(__file__).resolve().parent.parent / "i18n"
SUPPORTED = ("en", "zh_Hans")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "中文"}

_current: ContextVar[str] = ContextVar("makeready_locale", default=DEFAULT)


def normalize(tag: str | None) -> str | None:
    """Map any spelling (zh, zh-CN, zh_Hans_CN, en-GB) to a supported locale, or None."""
    if not tag:
        return None
    try:
        loc = Locale.parse(tag.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    if loc.language == "zh":
        # Babel does not infer scripts: zh and zh_CN carry none; Traditional (zh_TW, zh_Hant) is not offered
        if loc.script == "Hant" or (loc.script is None and loc.territory in {"TW", "HK", "MO"}):
            return None
        return "zh_Hans"
    if loc.language == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The first supported locale in an Accept-Language header, by quality."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            choices.append((-quality, index, tag))
    for _q, _i, tag in sorted(choices):
        found = normalize(tag)
        if found:
            return found
    return None


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    mo = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.mo"
    if not mo.exists():
        return NullTranslations()
    with mo.open("rb") as fp:
        return Translations(fp, domain="messages")


def get_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED else DEFAULT)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in SUPPORTED else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(get_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later with gettext() when the locale is known."""
    return message


def label(value: object) -> str:
    """The translated label of an enum member that declares `labels()` (phases, statuses, roles)."""
    labels = getattr(type(value), "labels", None)
    text = labels().get(value, str(value)) if labels else str(value)
    return gettext(text)


def babel_locale() -> Locale:
    return Locale.parse(get_locale())


def format_money(amount: Decimal | int | float | None, currency: str) -> str:
    if amount is None:
        return ""
    return format_currency(amount, currency, locale=babel_locale())


def format_date(value: date | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return _format_date(value, format=format, locale=babel_locale())


def format_datetime(value: datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return _format_datetime(value, format=format, locale=babel_locale())
