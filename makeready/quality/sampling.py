"""Single sampling plans for inspection by attributes (ISO 2859-1, normal inspection), and the lot verdicts they give.

Source: ISO 2859-1:1999, Sampling procedures for inspection by attributes, Part 1: Table 1 (sample size code
letters) and Table 2-A (single sampling plans for normal inspection, master table). ANSI/ASQ Z1.4-2008 Tables I and
II-A are identical. The tables, typed as printed (arrows included), are in `sampling_tables`; this module looks up
the code letter, follows the arrows and says accept or reject. Pure Python: no database, no clock.

Choices the standard leaves to the user, made here once:

- AQL: the Table 2-A columns from 0.010 to 10, read as percent nonconforming (we count nonconforming items, so the
  columns above 10, defined only as nonconformities per 100 items, are refused). AQL 0 means zero tolerance:
  the code letter's own sample size with Ac 0, Re 1, and `zero_tolerance` set; it is not a Table 2-A column.
- 100 % inspection: when the resolved plan's sample size equals or exceeds the lot size, every item is inspected
  (`hundred_percent`, `sample_size` = lot size) and the resolved plan's Ac/Re still decide, so a lot is judged by
  the same numbers whether it was sampled or inspected whole.
- A lot of one item (Table 1 starts at 2) takes the 2-8 row; its plan is always 100 % inspection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeGuard

from makeready.errors import ValidationFailed
from makeready.i18n import N_, _, gettext
from makeready.quality.sampling_tables import (
    DOWN,
    LEVELS,
    TABLE_2A_PER_HUNDRED,
    TABLE_2A_PERCENT,
    UP,
    parse_table_1,
    parse_table_2a,
)

Verdict = Literal["accept", "reject"]

# the key a frozen plan carries so a reader knows which scheme produced it (tightened/reduced may follow)
SCHEME: Final = "ISO 2859-1 normal single"
MAX_LOT_SIZE: Final = 1_000_000_000
ZERO_TOLERANCE: Final = Decimal(0)

DEFECT_CLASSES: Final = ("critical", "major", "minor")
_CLASS_LABELS: Final = {"critical": N_("critical"), "major": N_("major"), "minor": N_("minor")}

CODE_LETTERS: Final = "ABCDEFGHJKLMNPQR"
_TABLE_1: Final = parse_table_1()
SAMPLE_SIZES, _CELLS = parse_table_2a(TABLE_2A_PERCENT, TABLE_2A_PER_HUNDRED)
if "".join(SAMPLE_SIZES) != CODE_LETTERS:
    raise ValueError("Table 2-A rows are not the code letters A to R in order")
_PERCENT_AQLS: Final = tuple(Decimal(a) for a in TABLE_2A_PERCENT.strip().splitlines()[0].split()[2:])
ALL_AQLS: Final = tuple(dict.fromkeys(aql for _letter, aql in _CELLS))
# what `plan` accepts: zero tolerance and the percent-nonconforming columns
SUPPORTED_AQLS: Final = (ZERO_TOLERANCE, *_PERCENT_AQLS)


@dataclass(frozen=True)
class MasterPlan:
    """A Table 2-A plan after the arrows: the row it was found in, its sample size, Ac and Re."""

    letter: str
    sample_size: int
    accept: int
    reject: int


@dataclass(frozen=True)
class SamplingPlan:
    """What to inspect in one lot for one AQL, and the numbers that decide it.

    `code_letter` is Table 1's letter for the lot size and level; `plan_letter` the row of Table 2-A where the
    plan was found after following the arrows (its sample size is the one used).
    """

    lot_size: int
    level: str
    aql: Decimal
    code_letter: str
    plan_letter: str
    sample_size: int
    accept: int
    reject: int
    hundred_percent: bool
    zero_tolerance: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, for freezing the plan an inspection used (the AQL as text, never a float)."""
        return {
            "scheme": SCHEME,
            "lot_size": self.lot_size,
            "level": self.level,
            "aql": str(self.aql),
            "code_letter": self.code_letter,
            "plan_letter": self.plan_letter,
            "sample_size": self.sample_size,
            "accept": self.accept,
            "reject": self.reject,
            "hundred_percent": self.hundred_percent,
            "zero_tolerance": self.zero_tolerance,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplingPlan:
        """The plan as frozen by `to_dict`, as it was: not recomputed, so a later table correction leaves it alone.

        Refuses a record of another scheme or a malformed one (wrong keys or types, numbers that cannot be a plan).
        """
        expected = {*cls.__dataclass_fields__, "scheme"}
        if not isinstance(data, Mapping) or set(data) != expected or data["scheme"] != SCHEME:
            raise _not_a_recorded_plan()
        ints = ("lot_size", "sample_size", "accept", "reject")
        bools = ("hundred_percent", "zero_tolerance")
        texts = ("level", "aql", "code_letter", "plan_letter")
        if (
            any(not _is_int(data[k]) for k in ints)
            or any(not isinstance(data[k], bool) for k in bools)
            or any(not isinstance(data[k], str) for k in texts)
        ):
            raise _not_a_recorded_plan()
        try:
            aql = Decimal(data["aql"])
        except InvalidOperation:
            aql = Decimal("NaN")
        plan = cls(
            lot_size=data["lot_size"],
            level=data["level"],
            aql=aql,
            code_letter=data["code_letter"],
            plan_letter=data["plan_letter"],
            sample_size=data["sample_size"],
            accept=data["accept"],
            reject=data["reject"],
            hundred_percent=data["hundred_percent"],
            zero_tolerance=data["zero_tolerance"],
        )
        if not (
            aql.is_finite()
            and aql in SUPPORTED_AQLS
            and plan.zero_tolerance == (aql == ZERO_TOLERANCE)
            and plan.level in LEVELS
            and plan.code_letter in SAMPLE_SIZES
            and plan.plan_letter in SAMPLE_SIZES
            and 1 <= plan.sample_size <= plan.lot_size <= MAX_LOT_SIZE
            and 0 <= plan.accept < plan.reject <= plan.sample_size + 1
        ):
            raise _not_a_recorded_plan()
        return plan


@dataclass(frozen=True)
class LotVerdict:
    """The verdict of each defect class, and the lot's: rejected when any class is."""

    by_class: dict[str, Verdict]
    overall: Verdict


def _not_a_recorded_plan() -> ValidationFailed:
    return ValidationFailed(_("This is not a recorded ISO 2859-1 sampling plan."), field="sampling_plan")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def code_letter(lot_size: int, level: str) -> str:
    """Table 1: the sample size code letter for a lot size and inspection level (both validated)."""
    size = max(_clean_lot_size(lot_size), 2)  # Table 1 starts at 2; a lot of one takes the first row
    lvl = _clean_level(level)
    for low, high, letters in _TABLE_1:
        if low <= size and (high is None or size <= high):
            return letters[lvl]
    raise AssertionError(f"Table 1 has no row for {size}")  # pragma: no cover: the rows cover 2 and over


def master_plan(letter: str, aql: Decimal | str | int) -> MasterPlan:
    """Table 2-A: the plan for a code letter and an AQL column, arrows followed (every column, those above 10 too)."""
    if letter not in SAMPLE_SIZES:
        raise ValidationFailed(_("Unknown code letter %(letter)s.") % {"letter": letter}, field="letter")
    return _RESOLVED[letter, _table_aql(aql, ALL_AQLS)]


def _follow_arrows(letter: str, column: Decimal) -> MasterPlan:
    """An arrow sends the reader to the first plan below (↓) or above (↑) it in the same column; the arrows it
    passes on the way point the same way."""
    row = CODE_LETTERS.index(letter)
    cell = _CELLS[letter, column]
    step = {DOWN: 1, UP: -1}.get(cell, 0)
    while cell in (DOWN, UP):
        if {DOWN: 1, UP: -1}[cell] != step:
            raise ValueError(f"Table 2-A arrows disagree in column {column} at {CODE_LETTERS[row]}")
        row += step
        if not 0 <= row < len(CODE_LETTERS):
            raise ValueError(f"Table 2-A: the arrow at {letter} {column} leaves the table")
        cell = _CELLS[CODE_LETTERS[row], column]
    found = CODE_LETTERS[row]
    accept, reject = (int(n) for n in cell.split("/"))
    return MasterPlan(letter=found, sample_size=SAMPLE_SIZES[found], accept=accept, reject=reject)


# resolved once, at import: a mistyped arrow fails loudly here rather than on some inspection's request
_RESOLVED: Final = {(letter, column): _follow_arrows(letter, column) for letter, column in _CELLS}


def plan(lot_size: int, level: str, aql: Decimal | str | int) -> SamplingPlan:
    """The single sampling plan for normal inspection of a lot (ISO 2859-1 Tables 1 and 2-A).

    `level` is one of S-1, S-2, S-3, S-4, I, II, III; `aql` a Table 2-A column from 0.010 to 10 (percent
    nonconforming) or 0 for zero tolerance. Raises ValidationFailed naming the field for anything else.
    """
    size = _clean_lot_size(lot_size)
    lvl = _clean_level(level)
    value = _table_aql(aql, SUPPORTED_AQLS)
    letter = code_letter(size, lvl)
    if value == ZERO_TOLERANCE:
        found = MasterPlan(letter=letter, sample_size=SAMPLE_SIZES[letter], accept=0, reject=1)
    else:
        found = master_plan(letter, value)
    whole = found.sample_size >= size
    return SamplingPlan(
        lot_size=size,
        level=lvl,
        aql=value,
        code_letter=letter,
        plan_letter=found.letter,
        sample_size=size if whole else found.sample_size,
        accept=found.accept,
        reject=found.reject,
        hundred_percent=whole,
        zero_tolerance=value == ZERO_TOLERANCE,
    )


def verdict(sampling_plan: SamplingPlan, defectives: int, *, field: str = "defectives") -> Verdict:
    """Accept when the nonconforming items found are at most Ac, reject when they reach Re."""
    if not _is_int(defectives) or defectives < 0:
        raise ValidationFailed(
            _("The number of nonconforming items must be a whole number of zero or more."), field=field
        )
    if defectives > sampling_plan.sample_size:
        raise ValidationFailed(
            _("%(count)s nonconforming items cannot be among the %(size)s items inspected.")
            % {"count": defectives, "size": sampling_plan.sample_size},
            field=field,
        )
    return "accept" if defectives <= sampling_plan.accept else "reject"


def lot_verdict(plans: Mapping[str, SamplingPlan], counts: Mapping[str, int]) -> LotVerdict:
    """The verdict per defect class (critical, major, minor: each judged by its own plan) and for the lot.

    Every class with a plan needs a count (zero included: an inspector says so), and no count may come without a
    plan. A count is refused when negative, not whole, or larger than its class's sample.
    """
    if not plans:
        raise ValidationFailed(_("Give a sampling plan for at least one defect class."), field="plans")
    for name in (*plans, *counts):
        if name not in DEFECT_CLASSES:
            raise ValidationFailed(
                _("Unknown defect class %(name)s: use critical, major or minor.") % {"name": name}, field=name
            )
    for name in counts:
        if name not in plans:
            raise ValidationFailed(
                _("There is no sampling plan for %(class)s defects.")
                % {"class": gettext(_CLASS_LABELS[name])},
                field=name,
            )
    by_class: dict[str, Verdict] = {}
    for name in DEFECT_CLASSES:
        if name not in plans:
            continue
        if name not in counts:
            raise ValidationFailed(
                _("Give the number of items with %(class)s defects, zero if none.")
                % {"class": gettext(_CLASS_LABELS[name])},
                field=name,
            )
        by_class[name] = verdict(plans[name], counts[name], field=name)
    overall: Verdict = "reject" if "reject" in by_class.values() else "accept"
    return LotVerdict(by_class=by_class, overall=overall)


def _clean_lot_size(lot_size: object) -> int:
    if not _is_int(lot_size) or lot_size < 1:
        raise ValidationFailed(_("The lot size must be a whole number of at least 1."), field="lot_size")
    if lot_size > MAX_LOT_SIZE:
        raise ValidationFailed(_("The lot size must be at most 1,000,000,000 items."), field="lot_size")
    return lot_size


def _clean_level(level: object) -> str:
    text = level.strip().upper() if isinstance(level, str) else ""
    # "S1" is how some purchase orders spell S-1
    if len(text) == 2 and text[0] == "S" and text[1] in "1234":
        text = f"S-{text[1]}"
    if text not in LEVELS:
        raise ValidationFailed(
            _("The inspection level must be one of %(levels)s.") % {"levels": ", ".join(LEVELS)},
            field="level",
        )
    return text


def _table_aql(aql: object, offered: tuple[Decimal, ...]) -> Decimal:
    """The AQL as the table prints it (0.010, 1.0, 10), if it is one of the columns offered."""
    value: Decimal | None = None
    if isinstance(aql, Decimal):
        value = aql
    elif isinstance(aql, str | int) and not isinstance(aql, bool) and len(str(aql)) <= 20:
        try:
            value = Decimal(str(aql).strip())
        except InvalidOperation:
            value = None
    match = next(
        (column for column in offered if value is not None and value.is_finite() and column == value), None
    )
    if match is None:
        raise ValidationFailed(
            _("The AQL must be one of the standard's values: %(values)s.")
            % {"values": ", ".join(str(column) for column in offered)},
            field="aql",
        )
    return match
