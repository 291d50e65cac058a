"""Runtime i18n: the current locale (a context variable), gettext over the Babel catalogs, and formatting.

Catalogs live in `i18n/<locale>/LC_MESSAGES/messages.po`. `make catalogs` compiles them to `.mo`; when a `.mo` is
missing or older than its `.po` (a fresh clone, a just-edited catalog) the `.po` is compiled in memory instead, so
no build step is needed for the translations to show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, parse_pattern
from babel.support import NullTranslations, Translations
from jinja2 import Environment, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

CATALOG_DIR = Path(__file__).resolve().parent.parent / "i18n"
SUPPORTED = ("en", "zh_Hans")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "中文"}

_current: ContextVar[str] = ContextVar("makeready_locale", default=DEFAULT)


# Chinese written in these regions is Traditional unless the tag says otherwise; we offer Simplified only
_TRADITIONAL_REGIONS = frozenset({"TW", "HK", "MO"})
_SUBTAG = re.compile(r"[-_]")
# a browser sends a handful of languages; an untrusted header longer than this is cut, not parsed whole
_MAX_ACCEPT_ITEMS = 32


def normalize(tag: str | None) -> str | None:
    """Map any spelling of a language tag (zh, zh-CN, zh_Hans_CN, zh-hans, en-GB, zh_CN.UTF-8) to a supported
    locale, or None.

    Parsed by hand rather than with `Locale.parse`: Babel fills in likely subtags and rewrites an explicit script
    (it reads zh-Hant-CN as zh_Hans_CN), and a failed parse costs file lookups that an untrusted header should not
    be able to buy.
    """
    if not tag:
        return None
    # POSIX spellings carry an encoding and a modifier: zh_CN.UTF-8@pinyin
    subtags = _SUBTAG.split(tag.strip().split(".", 1)[0].split("@", 1)[0])
    language = subtags[0].lower()
    script: str | None = None
    region: str | None = None
    for sub in subtags[1:]:
        # a singleton starts extensions or private use (x-...): nothing after it is a script or region
        if len(sub) == 1:
            break
        if len(sub) == 4 and sub.isalpha() and script is None and region is None:
            script = sub.title()
        elif ((len(sub) == 2 and sub.isalpha()) or (len(sub) == 3 and sub.isdigit())) and region is None:
            region = sub.upper()
    if language in {"zh", "cmn"}:  # cmn: Mandarin, the spoken form written in Chinese characters
        if script == "Hans" or (script is None and region not in _TRADITIONAL_REGIONS):
            return "zh_Hans"
        return None  # Traditional (zh-TW, zh-Hant) or romanised (zh-Latn) Chinese is not offered
    if language == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The supported locale a browser prefers most, from its Accept-Language header (RFC 9110 section 12.5.4).

    Higher quality wins, then earlier position; `q=0` means "not this one"; a malformed quality drops that item.
    """
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:_MAX_ACCEPT_ITEMS]):
        tag, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(float(value.strip()), 1.0)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            choices.append((-quality, index, tag))
    for _q, _i, tag in sorted(choices):
        found = normalize(tag)
        if found:
            return found
    return None


def _catalog_files(locale: str) -> tuple[Path, Path]:
    folder = CATALOG_DIR / locale / "LC_MESSAGES"
    return folder / "messages.po", folder / "messages.mo"


def compile_catalog(po: Path) -> bytes:
    """A `.po` catalog compiled to `.mo` bytes, as `pybabel compile` would (fuzzy entries left out)."""
    with po.open("rb") as fp:
        catalog = read_po(fp)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """The catalog of a supported locale: the compiled `.mo` when it is current, else the `.po` compiled now."""
    if locale not in SUPPORTED:
        return NullTranslations()
    po, mo = _catalog_files(locale)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain="messages")
    if po.exists():
        return Translations(BytesIO(compile_catalog(po)), domain="messages")
    return NullTranslations()


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
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


# --- templates ----------------------------------------------------------------------------------------------------


def install_gettext(env: Environment) -> None:
    """Newstyle gettext in a Jinja environment with `jinja2.ext.i18n`: `_()`, `gettext()` and `ngettext()`.

    They behave as `env.install_gettext_callables(gettext, ngettext, newstyle=True)` makes them: in an autoescaped
    template the translation is markup, always %-formatted with the call's variables, which are escaped. Jinja's own
    `_` resolves `gettext` and calls it, and that calls ours, each through the template context: three context calls
    per string, and a project page has about a hundred and thirty strings. These are one call each, and a string
    without variables is markup kept per catalog.
    """
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext)


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, message: str, /, **variables: object) -> str:
    catalog = translations(_current.get())
    if not eval_ctx.autoescape:
        return catalog.gettext(message) % variables
    if not variables:
        return _markup(message, catalog)
    return Markup(catalog.gettext(message)) % variables  # noqa: S704 - our catalog's text; variables escaped


@pass_eval_context
def _template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, n: int, /, **variables: object
) -> str:
    variables.setdefault("num", n)
    text = translations(_current.get()).ngettext(singular, plural, n)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704 - as _template_gettext


@lru_cache(maxsize=4096)
def _markup(message: str, catalog: NullTranslations) -> Markup:
    """A message without variables, translated and formatted (a "%%" in it is one "%"), as markup."""
    return Markup(catalog.gettext(message)) % {}  # noqa: S704 - our catalog's text


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later with gettext() when the locale is known."""
    return message


def label(value: object) -> str:
    """The translated label of an enum member that declares `labels()` (phases, statuses, roles)."""
    return _label(value, translations(_current.get()))


# per member and catalog (a catalog read again is a new object): a page shows a few labels many times, and each
# `labels()` builds its dict anew. typed: two enums' members with one value (a StrEnum equals its value) differ.
@lru_cache(maxsize=1024, typed=True)
def _label(value: object, catalog: NullTranslations) -> str:
    labels = getattr(type(value), "labels", None)
    text = labels().get(value, str(value)) if labels else str(value)
    return catalog.gettext(text)


@lru_cache(maxsize=8)
def _parsed(locale: str) -> Locale:
    return Locale.parse(locale)


def babel_locale() -> Locale:
    """The current Babel Locale, parsed once per locale (a page formats hundreds of values)."""
    return _parsed(get_locale())


@lru_cache(maxsize=8)
def _currency_pattern(locale: str) -> NumberPattern:
    return parse_pattern(_parsed(locale).currency_formats["standard"])


# Formatted values are cached per (value, ..., locale): a page shows the same due dates and prices many times, and
# each Babel call costs 10-30 microseconds (a project page formats about 80 values). The values are immutable and
# the text depends on nothing else. Datetimes are keyed by their timezone too: two equal instants in different zones
# compare (and hash) equal but are written with different wall times.
_FORMATTED = 4096


def format_money(amount: Decimal | int | float | None, currency: str) -> str:
    """Babel's `format_currency` with the locale's pattern parsed once (half its cost per price)."""
    if amount is None:
        return ""
    return _money_text(amount, currency, get_locale())


@lru_cache(maxsize=_FORMATTED)
def _money_text(amount: Decimal | int | float, currency: str, locale: str) -> str:
    # equal amounts (1, 1.0, Decimal("1.00")) share an entry: the pattern rounds to the currency's digits anyway
    return _currency_pattern(locale).apply(amount, _parsed(locale), currency=currency)


def format_date(value: date | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return _date_text(value, getattr(value, "tzinfo", None), format, get_locale())


@lru_cache(maxsize=_FORMATTED)
def _date_text(value: date, _zone: tzinfo | None, format: str, locale: str) -> str:
    return _format_date(value, format=format, locale=_parsed(locale))


def format_month_day(value: date) -> str:
    """Day and month in the reader's language (Jan 5, 1月5日): a timeline's ticks. Babel matches the skeleton
    against the locale's formats on every call (about 35 microseconds), so the text is kept per value and locale."""
    return _month_day_text(value, get_locale())


@lru_cache(maxsize=_FORMATTED)
def _month_day_text(value: date, locale: str) -> str:
    return format_skeleton("MMMd", value, locale=_parsed(locale))


def format_datetime(value: datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return _datetime_text(value, value.tzinfo, format, get_locale())


@lru_cache(maxsize=_FORMATTED)
def _datetime_text(value: datetime, _zone: tzinfo | None, format: str, locale: str) -> str:
    return _format_datetime(value, format=format, locale=_parsed(locale))


def join_sentences(parts: Iterable[str]) -> str:
    """Sentences one after the other: with a space in English, without one in Chinese (full-width punctuation)."""
    return ("" if get_locale().startswith("zh") else " ").join(parts)


def join_list(items: Iterable[str]) -> str:
    """Items of a list in a sentence: "a, b" in English, "a、b" in Chinese."""
    return ("、" if get_locale().startswith("zh") else ", ").join(items)
