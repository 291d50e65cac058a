"""The structured content of a spec revision: sections, rows and bilingual text fields.

Text a person writes is a `Text` (English, Chinese and the Chinese's translation status); numbers, units and codes
(grades, Pantone and RAL codes, AQL levels) are data and never need translating. Every row has a stable `id`, kept
when a revision is copied, so a field has the same path in every revision (`dimensions.d3.feature`): the diff pairs
rows by it and a factory's question names it.

The status of each Chinese text is computed by `merge()` when a draft is saved, never taken from the client: the
client can only ask for "reviewed".
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from makeready.i18n import N_, gettext

TEXT_LIMIT = 4000
SHORT_LIMIT = 120
ROWS_LIMIT = 200


class TranslationStatus(enum.StrEnum):
    missing = "missing"
    suggested = "suggested"
    reviewed = "reviewed"
    stale = "stale"

    @staticmethod
    def labels() -> dict[TranslationStatus, str]:
        return {
            TranslationStatus.missing: N_("Missing"),
            TranslationStatus.suggested: N_("Suggested"),
            TranslationStatus.reviewed: N_("Reviewed"),
            TranslationStatus.stale: N_("Stale"),
        }


BLOCKING = frozenset({TranslationStatus.missing, TranslationStatus.stale})
"""A revision with a field in one of these states cannot be issued."""


def _strip(value: Any) -> Any:
    # form posts arrive with \r\n; stored text uses \n so an unchanged field compares equal
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=SHORT_LIMIT)]


class _Model(BaseModel):
    # defer_build: each model's validators are built when it first validates, not at import (about 10 ms of every
    # start for these 16 models, bench/startup.py)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class Text(_Model):
    """A bilingual text field."""

    en: str = Field("", max_length=TEXT_LIMIT)
    zh: str = Field("", max_length=TEXT_LIMIT)
    status: TranslationStatus = TranslationStatus.missing

    _normalise = field_validator("en", "zh", mode="before")(_strip)

    @property
    def is_empty(self) -> bool:
        return not self.en and not self.zh

    @property
    def problem(self) -> TranslationStatus | None:
        """missing or stale when the field blocks issuing; None otherwise (an empty field blocks nothing)."""
        if not self.en:
            return None
        if not self.zh:
            return TranslationStatus.missing
        return self.status if self.status in BLOCKING else None


def new_id() -> str:
    return secrets.token_hex(4)


RowId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,16}$")]


class Row(_Model):
    id: RowId = Field(default_factory=new_id)


class Overview(_Model):
    product_name: Text = Field(default_factory=Text)
    summary: Text = Field(default_factory=Text)
    intended_use: Text = Field(default_factory=Text)
    model_number: Short = ""


class MaterialLine(Row):
    part: Text = Field(default_factory=Text)
    material: Text = Field(default_factory=Text)
    grade: Short = ""
    """A grade or standard: SUS304, 6061-T6, ABS PA-757. Data, not prose."""
    supplier: Short = ""
    """Set when the brand fixes the material's supplier."""
    notes: Text = Field(default_factory=Text)


class Unit(enum.StrEnum):
    mm = "mm"
    cm = "cm"
    m = "m"
    inch = "in"
    g = "g"
    kg = "kg"
    ml = "ml"
    l = "l"  # noqa: E741 - the unit's own symbol
    deg = "°"

    @staticmethod
    def labels() -> dict[Unit, str]:
        """Symbols read the same in both languages, except the inch."""
        return {unit: unit.value for unit in Unit} | {Unit.inch: N_("in")}


Measure = Annotated[Decimal, Field(ge=Decimal("-1000000"), le=Decimal("1000000"), decimal_places=4)]
Tolerance = Annotated[Decimal, Field(ge=0, le=Decimal("100000"), decimal_places=4)]


class Dimension(Row):
    feature: Text = Field(default_factory=Text)
    value: Measure = Decimal(0)
    unit: Unit = Unit.mm
    tolerance_plus: Tolerance = Decimal(0)
    tolerance_minus: Tolerance = Decimal(0)


class ColourSystem(enum.StrEnum):
    none = ""
    pantone = "pantone"
    ral = "ral"

    @staticmethod
    def labels() -> dict[ColourSystem, str]:
        # Pantone and RAL are names, the same in every language
        return {ColourSystem.none: N_("None"), ColourSystem.pantone: "Pantone", ColourSystem.ral: "RAL"}


PANTONE = re.compile(r"^(PMS\s+)?[A-Za-z0-9][A-Za-z0-9 \-]{0,30}$")
RAL = re.compile(r"^(RAL\s?)?\d{4}$")


class Finish(Row):
    part: Text = Field(default_factory=Text)
    finish: Text = Field(default_factory=Text)
    colour_system: ColourSystem = ColourSystem.none
    colour_code: Short = ""
    gloss: Short = ""
    """Gloss level as measured (e.g. 30 GU) or a sheen name."""

    @field_validator("colour_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if value and not (PANTONE.match(value) or RAL.match(value)):
            raise ValueError("not a Pantone or RAL colour code")
        return value


Quantity = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=4)]


BOM_UNITS = {
    "pcs": N_("pcs"),
    "pc": N_("pcs"),
    "set": N_("set"),
    "sets": N_("set"),
    "pair": N_("pair"),
    "pairs": N_("pair"),
    "roll": N_("roll"),
    "sheet": N_("sheet"),
}
"""The usual words in a BOM's free-text unit column, translated when shown; any other unit is shown as written."""


def bom_unit_label(unit: str) -> str:
    """A BOM line's unit in the reader's language when it is one of the usual words (`pcs` -> 件)."""
    known = BOM_UNITS.get((unit or "").strip().lower())
    return gettext(known) if known else unit


class SuppliedBy(enum.StrEnum):
    """Who buys a BOM line's material: the factory, the brand (free issue) or the agency. Empty: nobody yet."""

    none = ""
    factory = "factory"
    brand = "brand"
    agency = "agency"

    @staticmethod
    def labels() -> dict[SuppliedBy, str]:
        return {
            SuppliedBy.none: N_("Nobody yet"),
            SuppliedBy.factory: N_("The factory"),
            SuppliedBy.brand: N_("The brand (free issue)"),
            SuppliedBy.agency: N_("The agency"),
        }


Percent = Annotated[Decimal, Field(ge=0, le=Decimal("100"), decimal_places=2)]
PackSize = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=4)]
LeadDays = Annotated[int, Field(ge=0, le=365)]


class BomLine(Row):
    part: Text = Field(default_factory=Text)
    material: Text = Field(default_factory=Text)
    quantity: Quantity = Decimal(1)
    """Quantity per finished unit."""
    unit: Short = "pcs"
    material_code: Short = ""
    """The same code in two sub-assemblies is one material to plan and buy (materials explode by it)."""
    scrap_percent: Percent = Decimal(0)
    setup_quantity: Quantity = Decimal(0)
    """Used once per order (first-article, machine setup), on top of quantity x units."""
    pack_size: PackSize = Decimal(0)
    """The minimum order quantity or pack size the requirement is rounded up to (0: no rounding)."""
    supplied_by: SuppliedBy = SuppliedBy.none
    material_supplier: Short = ""
    lead_time_days: LeadDays = 0


class AssemblyStep(Row):
    text: Text = Field(default_factory=Text)


class PackagingKind(enum.StrEnum):
    packaging = "packaging"
    label = "label"

    @staticmethod
    def labels() -> dict[PackagingKind, str]:
        return {PackagingKind.packaging: N_("Packaging"), PackagingKind.label: N_("Label")}


class PackagingItem(Row):
    kind: PackagingKind = PackagingKind.packaging
    item: Text = Field(default_factory=Text)
    details: Text = Field(default_factory=Text)
    units_per_carton: int | None = Field(default=None, ge=1, le=100_000)
    """On a master carton row: how many units it holds (the factory's packing list is checked against it)."""


class DefectClass(enum.StrEnum):
    critical = "critical"
    major = "major"
    minor = "minor"

    @staticmethod
    def labels() -> dict[DefectClass, str]:
        return {
            DefectClass.critical: N_("Critical"),
            DefectClass.major: N_("Major"),
            DefectClass.minor: N_("Minor"),
        }


AQL_LEVELS = ("0", "0.065", "0.1", "0.15", "0.25", "0.4", "0.65", "1.0", "1.5", "2.5", "4.0", "6.5")
InspectionLevel = Literal["I", "II", "III", "S-1", "S-2", "S-3", "S-4"]


class InspectionPoint(Row):
    point: Text = Field(default_factory=Text)
    method: Text = Field(default_factory=Text)
    defect_class: DefectClass = DefectClass.major


class Quality(_Model):
    inspection_level: InspectionLevel = "II"
    aql_critical: str = "0"
    aql_major: str = "2.5"
    aql_minor: str = "4.0"
    points: list[InspectionPoint] = Field(default_factory=list, max_length=ROWS_LIMIT)

    @field_validator("aql_critical", "aql_major", "aql_minor")
    @classmethod
    def _aql(cls, value: str) -> str:
        if value not in AQL_LEVELS:
            raise ValueError(f"AQL must be one of {', '.join(AQL_LEVELS)}")
        return value


class Callout(Row):
    marker: Short = ""
    text: Text = Field(default_factory=Text)


class FigureSource(enum.StrEnum):
    sample_photo = "sample_photo"
    attachment = "attachment"


class Figure(Row):
    """A photo or drawing: an approved sample round's photo or an image file of the project."""

    source: FigureSource = FigureSource.sample_photo
    ref_id: int = Field(ge=1)
    caption: Text = Field(default_factory=Text)
    callouts: list[Callout] = Field(default_factory=list, max_length=50)


class SpecContent(_Model):
    overview: Overview = Field(default_factory=Overview)
    materials: list[MaterialLine] = Field(default_factory=list, max_length=ROWS_LIMIT)
    dimensions: list[Dimension] = Field(default_factory=list, max_length=ROWS_LIMIT)
    finishes: list[Finish] = Field(default_factory=list, max_length=ROWS_LIMIT)
    bom: list[BomLine] = Field(default_factory=list, max_length=ROWS_LIMIT)
    assembly: list[AssemblyStep] = Field(default_factory=list, max_length=ROWS_LIMIT)
    packaging: list[PackagingItem] = Field(default_factory=list, max_length=ROWS_LIMIT)
    quality: Quality = Field(default_factory=Quality)
    figures: list[Figure] = Field(default_factory=list, max_length=60)
    change_summary: Text = Field(default_factory=Text)
    """What changed in this revision (the document's change log lists every issued revision's summary)."""

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


SECTIONS: dict[str, str] = {
    "overview": N_("Product overview"),
    "materials": N_("Materials"),
    "dimensions": N_("Dimensions and tolerances"),
    "finishes": N_("Finishes and colours"),
    "bom": N_("Components and bill of materials"),
    "assembly": N_("Assembly notes"),
    "packaging": N_("Packaging and labelling"),
    "quality": N_("Quality criteria"),
    "figures": N_("Photos and drawings"),
    "change_summary": N_("Change log"),
}
"""Section keys in document order, with their titles."""

FIELDS: dict[str, str] = {
    "product_name": N_("Product name"),
    "summary": N_("Summary"),
    "intended_use": N_("Intended use"),
    "model_number": N_("Model number"),
    "part": N_("Part"),
    "material": N_("Material"),
    "grade": N_("Grade"),
    "supplier": N_("Material supplier"),
    "notes": N_("Notes"),
    "feature": N_("Feature"),
    "value": N_("Value"),
    "unit": N_("Unit"),
    "tolerance_plus": N_("Tolerance +"),
    "tolerance_minus": N_("Tolerance -"),
    "finish": N_("Finish"),
    "colour_system": N_("Colour system"),
    "colour_code": N_("Colour code"),
    "gloss": N_("Gloss"),
    "quantity": N_("Quantity per unit"),
    "text": N_("Text"),
    "kind": N_("Kind"),
    "item": N_("Item"),
    "details": N_("Details"),
    "units_per_carton": N_("Units per carton"),
    "point": N_("Inspection point"),
    "method": N_("Method"),
    "defect_class": N_("Defect class"),
    "inspection_level": N_("Inspection level"),
    "aql_critical": N_("AQL critical"),
    "aql_major": N_("AQL major"),
    "aql_minor": N_("AQL minor"),
    "source": N_("Source"),
    "ref_id": N_("Picture"),
    "caption": N_("Caption"),
    "marker": N_("Marker"),
    "callouts": N_("Callouts"),
    "change_summary": N_("Changes in this revision"),
    "position": N_("Position"),
    "row": N_("Row"),
    "material_code": N_("Material code"),
    "scrap_percent": N_("Scrap %"),
    "setup_quantity": N_("Setup quantity"),
    "pack_size": N_("Pack size or MOQ"),
    "supplied_by": N_("Supplied by"),
    "material_supplier": N_("Material supplier"),
    "lead_time_days": N_("Lead time (days)"),
}
"""Field names (N_ msgids) for labels, the diff and the factory's questions."""


def parse(raw: dict[str, Any] | None) -> SpecContent:
    """Stored or submitted content as a SpecContent (raises pydantic.ValidationError on bad input)."""
    return SpecContent.model_validate(raw or {})


# --------------------------------------------------------------------------------------------------------------
# Walking the fields


@dataclass(frozen=True)
class FieldRef:
    """One field of the content: its path, where it sits and its value."""

    path: str
    section: str
    row_id: str | None
    row_index: int | None
    """0-based position of the row in its section (for "Dimensions, row 3")."""
    name: str
    value: Any


def _model_fields(
    model: BaseModel, section: str, prefix: str, row: tuple[str, int] | None
) -> Iterator[FieldRef]:
    for name in type(model).model_fields:
        if name == "id":
            continue
        value = getattr(model, name)
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _model_fields(item, section, f"{path}.{item.id}", (item.id, index))
        elif isinstance(value, BaseModel) and not isinstance(value, Text):
            yield from _model_fields(value, section, path, row)
        else:
            yield FieldRef(path, section, row[0] if row else None, row[1] if row else None, name, value)


def walk(content: SpecContent) -> Iterator[FieldRef]:
    """Every leaf field (Text or data) in document order. Rows inside lists are addressed by their id."""
    for section in SECTIONS:
        value = getattr(content, section)
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _model_fields(item, section, f"{section}.{item.id}", (item.id, index))
        elif isinstance(value, Text):
            yield FieldRef(section, section, None, None, section, value)
        else:
            yield from _model_fields(value, section, section, None)


def texts(content: SpecContent) -> Iterator[FieldRef]:
    """Every bilingual text field, in document order."""
    return (ref for ref in walk(content) if isinstance(ref.value, Text))


def field_at(content: SpecContent, path: str) -> FieldRef | None:
    """The field a path names, or None (a factory's question on a field that does not exist is refused)."""
    for ref in walk(content):
        if ref.path == path:
            return ref
    return None


def translation_problems(content: SpecContent) -> list[FieldRef]:
    """Fields that block issuing: English without Chinese, or Chinese gone stale."""
    return [ref for ref in texts(content) if ref.value.problem is not None]


# --------------------------------------------------------------------------------------------------------------
# Saving a draft: translation status


def next_status(old: Text | None, new: Text, *, reviewed: bool) -> TranslationStatus:
    """The status of `new`'s Chinese given what was stored before.

    English changed and Chinese untouched makes the Chinese stale, whatever the client asks; Chinese that someone
    wrote or confirmed is reviewed when they say so, suggested otherwise (so unticking "reviewed" takes the review
    back); a stale field stays stale until its Chinese is edited or confirmed.
    """
    if not new.zh:
        return TranslationStatus.missing
    en_changed = old is not None and old.en != new.en
    zh_changed = old is None or old.zh != new.zh
    if en_changed and not zh_changed:
        return TranslationStatus.stale
    if reviewed:
        return TranslationStatus.reviewed
    if old is not None and not zh_changed and old.status == TranslationStatus.stale:
        return TranslationStatus.stale
    # unticking "reviewed" on unchanged Chinese takes the review back
    return TranslationStatus.suggested


def merge(old: SpecContent | None, new: SpecContent) -> SpecContent:
    """`new` with every Text's status computed against `old` (the stored draft); the client's status only says
    whether it asks for "reviewed"."""
    before = {ref.path: ref.value for ref in texts(old)} if old is not None else {}
    for ref in texts(new):
        text: Text = ref.value
        text.status = next_status(
            before.get(ref.path), text, reviewed=text.status == TranslationStatus.reviewed
        )
    return new


# --------------------------------------------------------------------------------------------------------------
# Comparing two revisions


@dataclass(frozen=True)
class FieldChange:
    path: str
    section: str
    row_id: str | None
    name: str
    kind: Literal["added", "removed", "changed"]
    before: Any
    after: Any

    @property
    def is_text(self) -> bool:
        return isinstance(self.before, Text) or isinstance(self.after, Text)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return a.en == b.en and a.zh == b.zh
    return bool(a == b)


def _row_lists(content: SpecContent) -> dict[str, tuple[str, list[str]]]:
    """Every list of rows (sections and lists inside rows, such as a figure's callouts) by its path: its section
    and the ids of its rows in order."""
    out: dict[str, tuple[str, list[str]]] = {}

    def visit(model: BaseModel, prefix: str) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            path = f"{prefix}.{name}" if prefix else name
            if isinstance(value, list):
                out[path] = (path.split(".", 1)[0], [item.id for item in value])
                for item in value:
                    visit(item, f"{path}.{item.id}")
            elif isinstance(value, BaseModel) and not isinstance(value, Text):
                visit(value, path)

    visit(content, "")
    return out


def _row_changes(old: SpecContent, new: SpecContent, fields: list[FieldChange]) -> list[FieldChange]:
    """What a field-by-field comparison cannot see: rows that moved, and rows added or removed with every field
    empty (an assembly step is only a text). Without these, moving a row or adding an empty one changed nothing
    and was not saved."""
    before, after = _row_lists(old), _row_lists(new)
    touched = {change.path for change in fields}
    changes: list[FieldChange] = []

    def silent(row_path: str) -> bool:
        return not any(path.startswith(row_path + ".") for path in touched)

    for path, (section, ids) in after.items():
        old_ids = before.get(path, (section, []))[1]
        for row_id in ids:
            if row_id not in old_ids and silent(f"{path}.{row_id}"):
                changes.append(FieldChange(f"{path}.{row_id}", section, row_id, "row", "added", None, None))
        kept_before = [i for i in old_ids if i in ids]
        kept_after = [i for i in ids if i in old_ids]
        for row_id in kept_after:
            was, now = kept_before.index(row_id), kept_after.index(row_id)
            if was != now:
                changes.append(
                    FieldChange(
                        f"{path}.{row_id}.position", section, row_id, "position", "changed", was + 1, now + 1
                    )
                )
    for path, (section, old_ids) in before.items():
        ids = after.get(path, (section, []))[1]
        for row_id in old_ids:
            if row_id not in ids and silent(f"{path}.{row_id}"):
                changes.append(FieldChange(f"{path}.{row_id}", section, row_id, "row", "removed", None, None))
    return changes


def diff(old: SpecContent, new: SpecContent) -> list[FieldChange]:
    """What changed from `old` to `new`, in document order: field by field (rows paired by id), then rows that
    moved (a "position" change, 1-based among the rows both sides have) and rows added or removed empty."""
    before = {ref.path: ref for ref in walk(old)}
    after = {ref.path: ref for ref in walk(new)}
    changes: list[FieldChange] = []
    for path, ref in after.items():
        previous = before.get(path)
        if previous is None:
            if not (isinstance(ref.value, Text) and ref.value.is_empty):
                changes.append(FieldChange(path, ref.section, ref.row_id, ref.name, "added", None, ref.value))
        elif not _same(previous.value, ref.value):
            changes.append(
                FieldChange(path, ref.section, ref.row_id, ref.name, "changed", previous.value, ref.value)
            )
    for path, ref in before.items():
        if path not in after and not (isinstance(ref.value, Text) and ref.value.is_empty):
            changes.append(FieldChange(path, ref.section, ref.row_id, ref.name, "removed", ref.value, None))
    changes.extend(_row_changes(old, new, changes))
    order = list(SECTIONS)
    changes.sort(key=lambda c: order.index(c.section))
    return changes
