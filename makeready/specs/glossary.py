"""The manufacturing glossary: English/Chinese terms (the starter set in i18n/termbase.csv plus the agency's own
`glossary_terms`), the terms found in an English text, and a check that its Chinese uses their translations.

Matching is case-insensitive on word boundaries (acronyms such as ABS or PC only in capitals), longest term first
and without overlaps ("stainless steel" wins over "steel"), tolerant of simple plurals (s, es, ies), of British and
American spellings (moulding/molding, colour/color, anodise/anodize) and of a space, hyphen or nothing between
words (silk screen, silk-screen, silkscreen). Each term set compiles to one regular expression, cached.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.i18n import CATALOG_DIR, N_
from makeready.specs.models import GlossaryTerm

TERMBASE_PATH: Path = CATALOG_DIR / "termbase.csv"
CATEGORIES = ("materials", "processes", "finishes", "defects", "packaging", "qc", "general")
CATEGORY_LABELS: Mapping[str, str] = {
    "materials": N_("Materials"),
    "processes": N_("Processes"),
    "finishes": N_("Finishes"),
    "defects": N_("Defects"),
    "packaging": N_("Packaging"),
    "qc": N_("Quality control"),
    "general": N_("Dimensions and general"),
}
DEFAULT_CATEGORY = "general"
# A spec field is a few sentences; beyond this much text nothing more is scanned, so a pasted novel (or an attack)
# costs a bounded amount of work.
MAX_SCAN_CHARS = 20_000
MAX_CHINESE_CHARS = 4 * MAX_SCAN_CHARS
ALTERNATIVES_SEPARATOR = "|"

Origin = Literal["starter", "agency"]


@dataclass(frozen=True, slots=True)
class Term:
    """One glossary entry: the English term, its Chinese, and other acceptable spellings in either language."""

    en: str
    zh: str
    category: str = DEFAULT_CATEGORY
    alternatives: tuple[str, ...] = ()
    """Other acceptable Chinese renderings; the consistency check accepts any of them."""
    en_alternatives: tuple[str, ...] = ()
    """Other English forms that mean the same term (synonyms, abbreviations); UK/US spellings need none."""
    note: str = ""
    origin: Origin = "starter"
    id: int | None = field(default=None, compare=False)
    """The glossary_terms row of an agency term."""

    @property
    def key(self) -> str:
        return term_key(self.en)

    @property
    def english_forms(self) -> tuple[str, ...]:
        return (self.en, *self.en_alternatives)

    @property
    def chinese_forms(self) -> tuple[str, ...]:
        return (self.zh, *self.alternatives)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A glossary term found in an English text, at text[start:end]."""

    term: Term
    start: int
    end: int
    text: str

    @property
    def zh(self) -> str:
        return self.term.zh

    @property
    def alternatives(self) -> tuple[str, ...]:
        return self.term.alternatives

    @property
    def category(self) -> str:
        return self.term.category


@dataclass(frozen=True, slots=True)
class Inconsistency:
    """The English uses a glossary term (first at english[start:end]) whose translations the Chinese lacks."""

    term: Term
    start: int
    end: int
    text: str

    @property
    def expected(self) -> tuple[str, ...]:
        return self.term.chinese_forms


# -- spelling ------------------------------------------------------------------------------------------------------

# (British, American) stems, matched anywhere in a word: mould -> moulded, overmoulding; colour -> discoloured.
_UK_US: tuple[tuple[str, str], ...] = (
    ("aluminium", "aluminum"),
    ("catalogue", "catalog"),
    ("programme", "program"),
    ("calliper", "caliper"),
    ("sulphur", "sulfur"),
    ("defence", "defense"),
    ("licence", "license"),
    ("colour", "color"),
    ("vapour", "vapor"),
    ("ageing", "aging"),
    ("plough", "plow"),
    ("odour", "odor"),
    ("mould", "mold"),
    ("fibre", "fiber"),
    ("centre", "center"),
    ("metre", "meter"),
    ("litre", "liter"),
    ("grey", "gray"),
    ("tyre", "tire"),
)
# whole words only: "matt" inside "matter" or "mattress" is no spelling of matte
_UK_US_WORDS = {"matt": "matte"}
_UK_WORD_FOR = {us: uk for uk, us in _UK_US_WORDS.items()}
_US_STEM = re.compile("|".join(sorted((us for _, us in _UK_US), key=len, reverse=True)))
_UK_FOR = {us: uk for uk, us in _UK_US}
# labelled/labeled, levelling/leveling: British doubles the l before these endings
_DOUBLED_L = re.compile(
    r"^(label|level|model|travel|enamel|cancel|signal|tunnel|channel|bevel|panel|barrel|funnel|dial|pedal|fuel"
    r"|jewel|spiral)(l?)(ed|ing|er|ers)$"
)
_IZE = re.compile(r"^([a-z]{3,}?)i[sz](e|ed|es|ing|ation|ations|er|ers)$")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_]+")
_ALNUM_RUN = re.compile(r"[0-9A-Za-z]+")
# between the words of a term: spaces, a hyphen or nothing (silk screen, silk-screen, silkscreen); a class with
# characters beyond Latin-1 (other dashes) makes the pattern much slower to compile
_SEPARATOR_PATTERN = r"[-\s\xa0]{0,3}"


def _american(word: str) -> str:
    """A lower-case word in American spelling (the canonical form of keys)."""
    word = _UK_US_WORDS.get(word, word)
    for uk, us in _UK_US:
        if uk in word:
            word = word.replace(uk, us)
    if doubled := _DOUBLED_L.match(word):
        word = doubled.group(1) + doubled.group(3)
    if ize := _IZE.match(word):
        word = f"{ize.group(1)}iz{ize.group(2)}"
    return word


def term_key(english: str) -> str:
    """The normalised English of a term: lower case, American spelling, one space between words. Two entries with
    the same key are the same term (glossary_terms.en_key; an agency term overrides the starter term)."""
    text = unicodedata.normalize("NFKC", english).casefold()
    return " ".join(_american(word) for word in _SEPARATORS.split(text) if word)


def _word_pattern(word: str, *, plural: bool) -> str:
    """A pattern (for a case-insensitive regex) for one word in either spelling, with its simple plurals when it ends a term."""
    canonical = _american(word.lower())
    suffix = ""
    if doubled := _DOUBLED_L.match(canonical):
        canonical, suffix = doubled.group(1), "l?" + doubled.group(3)
    elif ize := _IZE.match(canonical):
        canonical, suffix = ize.group(1), "i[sz]" + ize.group(2)
    if plural and not suffix and re.search(r"[^aeiou]y$", canonical):
        canonical, suffix = canonical[:-1], "(?:y|ies)"
    elif plural:
        suffix += "(?:e?s)?"
    if canonical in _UK_WORD_FOR:
        return f"(?:{_UK_WORD_FOR[canonical]}|{canonical}){suffix}"
    parts: list[str] = []
    done = 0
    for stem in _US_STEM.finditer(canonical):
        parts += [re.escape(canonical[done : stem.start()]), f"(?:{_UK_FOR[stem.group()]}|{stem.group()})"]
        done = stem.end()
    parts.append(re.escape(canonical[done:]))
    return "".join(parts) + suffix


def _is_acronym(token: str) -> bool:
    """ABS, PC, PA66, SUS304: matched in capitals only, so "pc" (piece) or "abs" stay ordinary words."""
    return not any(c.islower() for c in token) and sum(c.isupper() for c in token) >= 2


def _form_pattern(form: str) -> str | None:
    """The pattern for one English form of a term, or None when it has no letters or digits. A form that starts
    with a letter or digit must also start a word: the caller adds that check once for all of them."""
    tokens = list(_ALNUM_RUN.finditer(form))
    if not tokens:
        return None
    out: list[str] = [re.escape(form[: tokens[0].start()].strip())]
    for index, token in enumerate(tokens):
        if index:
            between = form[tokens[index - 1].end() : token.start()]
            if _SEPARATORS.fullmatch(between):
                out.append(_SEPARATOR_PATTERN)
            else:
                out.append(r"\s{0,2}" + re.escape("".join(between.split())) + r"\s{0,2}")
        text = token.group()
        last = index == len(tokens) - 1 and token.end() == len(form)
        if _is_acronym(text):
            out.append(f"(?-i:{text})")
        elif text.isdigit():
            out.append(text)
        else:
            out.append(_word_pattern(text, plural=last and text.isalpha() and len(text) > 2))
    if tokens[-1].end() == len(form):
        out.append(r"(?![0-9a-z])")
    else:
        out.append(re.escape(form[tokens[-1].end() :].strip()))
    return "".join(out)


# -- matching ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Matcher:
    regex: re.Pattern[str]
    owners: tuple[Term, ...]
    """The term of each capturing group (group n is owners[n - 1])."""
    chinese: Mapping[Term, tuple[str, ...]]
    """Each term's Chinese forms, normalised as the text they are looked for in."""


def _normalise_chinese(text: str) -> str:
    """Full-width letters and brackets as ASCII (NFKC), one case, no spaces: 'PE 袋' and 'pe袋' compare equal."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=8)
def _matcher(terms: tuple[Term, ...]) -> _Matcher:
    """One alternation for the whole term set: at each position the longest form is tried first. Forms are
    bucketed by their first character so a position costs a lookahead per bucket, not a try per term."""
    forms: dict[str, tuple[str, Term]] = {}  # form key -> (form, term): an English form belongs to one term
    for term in terms:
        for form in term.english_forms:
            forms.setdefault(term_key(form), (form.strip(), term))
    buckets: dict[str, list[tuple[str, str, Term]]] = {}
    for form, term in forms.values():
        pattern = _form_pattern(form)
        if pattern is not None:
            buckets.setdefault(form[0].lower(), []).append((form, pattern, term))
    word_starts: list[tuple[str, list[Term]]] = []
    others: list[tuple[str, list[Term]]] = []
    for first in sorted(buckets):
        entries = sorted(buckets[first], key=lambda e: (-len(e[0]), e[0]))
        branch = "(?:" + "|".join(f"({pattern})" for _, pattern, _ in entries) + ")"
        members = [term for _, _, term in entries]
        if first.isascii() and first.isalnum():
            word_starts.append((f"(?={first}){branch}", members))
        else:
            others.append((branch, members))
    branches: list[str] = []
    if word_starts:
        branches.append(r"(?<![0-9a-z])(?:" + "|".join(b for b, _ in word_starts) + ")")
    branches += [b for b, _ in others]
    # capturing groups are numbered in the order they open, which is this order
    owners = [term for _, members in (*word_starts, *others) for term in members]
    # case-insensitive as a whole (acronyms opt out); ASCII case folding is all English terms need
    regex = re.compile("|".join(branches) if branches else r"(?!)", re.IGNORECASE | re.ASCII)
    chinese = {
        term: tuple(f for f in (_normalise_chinese(z) for z in term.chinese_forms) if f) for term in terms
    }
    return _Matcher(regex=regex, owners=tuple(owners), chinese=chinese)


def _find(english: str, matcher: _Matcher) -> Iterable[Suggestion]:
    for match in matcher.regex.finditer(english, 0, MAX_SCAN_CHARS):
        assert match.lastindex is not None  # every branch is one capturing group
        term = matcher.owners[match.lastindex - 1]
        yield Suggestion(term=term, start=match.start(), end=match.end(), text=match.group())


def suggest(english: str, terms: Sequence[Term]) -> list[Suggestion]:
    """Every glossary term in `english`, in order of appearance, longest first and without overlaps. Only the
    first MAX_SCAN_CHARS characters are read."""
    if not english or not terms:
        return []
    return list(_find(english, _matcher(tuple(terms))))


def check_consistency(english: str, chinese: str, terms: Sequence[Term]) -> list[Inconsistency]:
    """The glossary terms of `english` whose Chinese (or any alternative) the `chinese` text does not contain, one
    per term, in order of appearance. An empty translation is missing, not inconsistent: it gives none."""
    if not english or not terms or not chinese or not chinese.strip():
        return []
    matcher = _matcher(tuple(terms))
    text = _normalise_chinese(chinese[:MAX_CHINESE_CHARS])
    found: list[Inconsistency] = []
    seen: set[Term] = set()
    for suggestion in _find(english, matcher):
        term = suggestion.term
        if term in seen:
            continue
        seen.add(term)
        if not any(form in text for form in matcher.chinese[term]):
            found.append(
                Inconsistency(term=term, start=suggestion.start, end=suggestion.end, text=suggestion.text)
            )
    return found


# -- loading -------------------------------------------------------------------------------------------------------


def split_alternatives(value: str | None) -> tuple[str, ...]:
    """'喷粉 | 粉末喷涂||' -> ('喷粉', '粉末喷涂'): trimmed, no blanks, no repeats, in order."""
    parts = (part.strip() for part in (value or "").split(ALTERNATIVES_SEPARATOR))
    return tuple(dict.fromkeys(part for part in parts if part))


def _category(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if value in CATEGORIES else DEFAULT_CATEGORY


@cache
def _starter_terms() -> tuple[Term, ...]:
    with TERMBASE_PATH.open(encoding="utf-8", newline="") as fp:
        return tuple(
            Term(
                en=row["en"].strip(),
                zh=row["zh"].strip(),
                category=_category(row["category"]),
                alternatives=split_alternatives(row["alternatives"]),
                en_alternatives=split_alternatives(row["en_alternatives"]),
                note=(row["note"] or "").strip(),
            )
            for row in csv.DictReader(fp)
        )


def load_starter_terms() -> list[Term]:
    """The term base that ships with Makeready (i18n/termbase.csv), read once."""
    return list(_starter_terms())


def term_from_row(row: GlossaryTerm) -> Term:
    return Term(
        en=row.en.strip(),
        zh=row.zh.strip(),
        category=_category(row.category),
        alternatives=split_alternatives(row.alternatives),
        note=(row.note or "").strip(),
        origin="agency",
        id=row.id,
    )


def merge_terms(starter: Iterable[Term], agency: Iterable[Term]) -> list[Term]:
    """The starter set with the agency's terms: an agency term replaces the starter term with the same key (and
    keeps its English alternatives, so "PC" still finds polycarbonate), and claims an English alternative that
    is its own key from whichever starter term listed it. New agency terms follow, in the order given."""
    own = {term.key: term for term in agency}
    merged: list[Term] = []
    for term in starter:
        kept = tuple(a for a in term.en_alternatives if term_key(a) not in own)
        if term.key in own:
            merged.append(replace(own.pop(term.key), en_alternatives=kept))
        else:
            merged.append(term if kept == term.en_alternatives else replace(term, en_alternatives=kept))
    merged.extend(own.values())
    return merged


async def load_terms(session: AsyncSession) -> list[Term]:
    """The glossary in use: the starter set merged with the agency's glossary_terms (agency-wide)."""
    rows = await session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.id))
    agency = [term_from_row(row) for row in rows if row.en.strip() and row.zh.strip()]
    return merge_terms(load_starter_terms(), agency)
