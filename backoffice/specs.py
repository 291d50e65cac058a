"""The coordinator's spec workspace: /coordinator/projects/{project_id}/spec.

One page per revision: the list of the project's revisions, the lifecycle buttons the revision's state allows, the
fields that block issuing, and the editor. The editor is one form per section; every input is named by the content
path of its field (`dimensions.d3.feature.en`, `finishes.f1.colour_code`), and a list's rows are posted in order as
`<list path>[]` hidden inputs, so adding, removing and moving a row are buttons of the same form (whatever was typed
is saved with them). A save rebuilds the whole content from the stored revision with that one section replaced and
hands it to `makeready.specs.service.save_content` with the version the page showed: statuses are computed there.
Once the revision is in review, English and data are taken from the stored revision, whatever is posted.

A refused save shows the page again with the typed values of that section, the message, and for invalid values
each message next to its field; nothing is saved. Staff only, like the other coordinator pages (backoffice.board).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, get_args, get_origin

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined, to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import Failed, Staff, provide_staff, refused_page
from backoffice.form_values import form_version
from makeready import urls
from makeready.accounts.models import User
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.projects import service as projects
from makeready.projects.models import Attachment, Project
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.specs import content as spec_content
from makeready.specs import document, glossary
from makeready.specs import service as specs
from makeready.specs.content import (
    AQL_LEVELS,
    FIELDS,
    SECTIONS,
    ColourSystem,
    DefectClass,
    FigureSource,
    PackagingKind,
    SpecContent,
    SuppliedBy,
    Text,
    TranslationStatus,
    Unit,
)
from makeready.specs.models import RevisionStatus, SpecRevision

BASE = "/coordinator/projects/{project_id:int}/spec"
STAFF_ACTIONS = ("submit", "withdraw", "issue")

NOTICES = {
    "started": N_("A new draft revision was started from the latest one."),
    "saved": N_("The section was saved."),
    "unchanged": N_("Nothing was changed in this section."),
    "submit": N_("The revision was submitted to the brand for review."),
    "withdraw": N_("The revision was withdrawn and is a draft again."),
    "issue": N_("The revision was issued. Factory links can now send it."),
}
ACTION_LABELS = {
    "submit": N_("Submit for review"),
    "withdraw": N_("Withdraw from review"),
    "issue": N_("Issue the revision"),
}


def spec_url(project_id: int, number: int | None = None, *, notice: str = "", anchor: str = "") -> str:
    url = urls.spec(project_id, staff=True)
    if number is not None:
        url += f"/{number}"
    if notice:
        url += f"?done={notice}"
    return url + (f"#{anchor}" if anchor else "")


def parse_label(value: str) -> int | None:
    """A revision letter (A, B, AA) or number (1, 2) as its number; None when it is neither."""
    value = value.strip().upper()
    if value.isdigit():
        return int(value) or None
    if not value or not value.isascii() or not value.isalpha() or len(value) > 3:
        return None
    number = 0
    for letter in value:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


# -- how each section is laid out ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One field of a section or row as the editor draws it: a bilingual text, or a data input."""

    name: str
    kind: str
    """text (one line each language), long (a paragraph each), short (a code), number, choice, picture."""
    label: str
    choices: tuple[tuple[str, str], ...] = ()


def _choices(values: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(getattr(v, "value", v)), label(v) if hasattr(v, "value") else str(v)) for v in values)


def columns() -> dict[str, list[Column]]:
    """Every model's fields in the editor's order, with translated labels (built per request: the locale)."""

    def c(name: str, kind: str, choices: tuple[tuple[str, str], ...] = ()) -> Column:
        return Column(name=name, kind=kind, label=_(FIELDS[name]), choices=choices)

    colour = tuple(
        (v.value, {"": _("None"), "pantone": "Pantone", "ral": "RAL"}[v.value]) for v in ColourSystem
    )
    return {
        "overview": [
            c("product_name", "text"),
            c("summary", "long"),
            c("intended_use", "long"),
            c("model_number", "short"),
        ],
        "materials": [
            c("part", "text"),
            c("material", "text"),
            c("grade", "short"),
            c("supplier", "short"),
            c("notes", "long"),
        ],
        "dimensions": [
            c("feature", "text"),
            c("value", "number"),
            c("unit", "choice", _choices(Unit)),
            c("tolerance_plus", "number"),
            c("tolerance_minus", "number"),
        ],
        "finishes": [
            c("part", "text"),
            c("finish", "text"),
            c("colour_system", "choice", colour),
            c("colour_code", "short"),
            c("gloss", "short"),
        ],
        "bom": [
            c("part", "text"),
            c("material", "text"),
            c("material_code", "short"),
            c("quantity", "number"),
            c("unit", "short"),
            c("scrap_percent", "number"),
            c("setup_quantity", "number"),
            c("pack_size", "number"),
            c("supplied_by", "choice", _choices(SuppliedBy)),
            c("material_supplier", "short"),
            c("lead_time_days", "number"),
        ],
        "assembly": [c("text", "long")],
        "packaging": [
            c("kind", "choice", tuple((k.value, _(PACKAGING_KINDS[k])) for k in PackagingKind)),
            c("item", "text"),
            c("details", "long"),
        ],
        "quality": [
            c(
                "inspection_level",
                "choice",
                tuple((v, v) for v in ("I", "II", "III", "S-1", "S-2", "S-3", "S-4")),
            ),
            c("aql_critical", "choice", tuple((v, v) for v in AQL_LEVELS)),
            c("aql_major", "choice", tuple((v, v) for v in AQL_LEVELS)),
            c("aql_minor", "choice", tuple((v, v) for v in AQL_LEVELS)),
        ],
        "quality.points": [
            c("point", "text"),
            c("method", "long"),
            c("defect_class", "choice", _choices(DefectClass)),
        ],
        "figures": [c("ref_id", "picture"), c("caption", "text")],
        "figures.callouts": [c("marker", "short"), c("text", "text")],
    }


PACKAGING_KINDS = {PackagingKind.packaging: N_("Packaging"), PackagingKind.label: N_("Label")}
ROW_SECTIONS = ("materials", "dimensions", "finishes", "bom", "assembly", "packaging", "figures")


# -- reading a section's form ----------------------------------------------------------------------------------------


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """A new row of `model` as stored JSON (a required field without a default is None)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            value = info.default_factory()  # type: ignore[call-arg]
        elif info.default is PydanticUndefined:
            value = None
        else:
            value = info.default
        out[name] = to_jsonable_python(value)
    return out


@dataclass
class Commands:
    """The row buttons of a section form: at most one of them was pressed."""

    add: str = ""
    remove: str = ""
    up: str = ""
    down: str = ""
    new_figure: str = ""


class SectionReader:
    """Builds a section's content from a posted form, keeping what the form does not carry (or may not change)."""

    def __init__(self, form: FormMultiDict, *, draft: bool) -> None:
        self.form = form
        self.draft = draft
        self.commands = Commands(
            add=str(form.get("_add") or ""),
            remove=str(form.get("_remove") or ""),
            up=str(form.get("_up") or ""),
            down=str(form.get("_down") or ""),
            new_figure=str(form.get("_new_figure") or ""),
        )

    def _value(self, name: str) -> str | None:
        value = self.form.get(name)
        return value if isinstance(value, str) else None

    def read(self, annotation: Any, path: str, old: Any) -> Any:
        if get_origin(annotation) is list:
            (item,) = get_args(annotation)
            return self.rows(item, path, old or [])
        if annotation is Text:
            return self.text(path, old or {})
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            old = old or {}
            out = {
                name: self.read(info.annotation, f"{path}.{name}", old.get(name))
                for name, info in annotation.model_fields.items()
                if name != "id"
            }
            picked = self._value(f"{path}.picture")
            if annotation is spec_content.Figure and self.draft and picked:
                source, _sep, ref = picked.partition(":")
                out["source"], out["ref_id"] = source, ref
            return out
        sent = self._value(path)
        if not self.draft or sent is None:
            return old
        return sent.strip()

    def text(self, path: str, old: dict[str, Any]) -> dict[str, Any]:
        en = self._value(f"{path}.en")
        zh = self._value(f"{path}.zh")
        return {
            "en": en if self.draft and en is not None else old.get("en", ""),
            "zh": zh if zh is not None else old.get("zh", ""),
            # the server computes the status; the form can only ask for "reviewed"
            "status": TranslationStatus.reviewed.value if self._value(f"{path}.reviewed") else "suggested",
        }

    def rows(self, model: type[BaseModel], path: str, old: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {row.get("id"): row for row in old}
        if not self.draft:
            ids = [row.get("id") for row in old]
        else:
            ids = [i for i in self.form.getall(f"{path}[]", []) if isinstance(i, str)]
        out = []
        for row_id in ids:
            row_path = f"{path}.{row_id}"
            if self.draft and self.commands.remove == row_path:
                continue
            before = by_id.get(row_id) or _defaults(model)
            out.append({"id": row_id, **self.read(model, row_path, {**before})})
        if not self.draft:
            return out
        for command, step in ((self.commands.up, -1), (self.commands.down, 1)):
            for index, row in enumerate(out):
                if command == f"{path}.{row['id']}" and 0 <= index + step < len(out):
                    out[index], out[index + step] = out[index + step], out[index]
                    break
        if self.commands.add == path:
            row = {"id": spec_content.new_id(), **_defaults(model)}
            if model is spec_content.Figure:
                source, _sep, ref = self.commands.new_figure.partition(":")
                row["source"], row["ref_id"] = source, ref
            out.append(row)
        return out


def read_section(form: FormMultiDict, stored: dict[str, Any], section: str, *, draft: bool) -> dict[str, Any]:
    """The whole content with `section` rebuilt from the form."""
    annotation = SpecContent.model_fields[section].annotation
    content = dict(stored)
    content[section] = SectionReader(form, draft=draft).read(annotation, section, stored.get(section))
    return content


# -- validation messages next to fields ------------------------------------------------------------------------------


def _message(error: Any, path: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    name = path.rsplit(".", 1)[-1]
    if kind == "string_too_long":
        return _("Too long: at most %(count)s characters.") % {"count": ctx.get("max_length")}
    if kind == "greater_than_equal":
        return _("Must be %(limit)s or more.") % {"limit": ctx.get("ge")}
    if kind == "less_than_equal":
        return _("Must be %(limit)s or less.") % {"limit": ctx.get("le")}
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "finite_number"):
        return _("Enter a number, like 12.5.")
    if kind in ("decimal_max_places", "decimal_max_digits", "decimal_whole_digits"):
        return _("Use at most 4 decimal places.")
    if kind == "value_error" and name == "colour_code":
        return _("Not a Pantone (PMS 186 C) or RAL (RAL 9016) colour code.")
    if kind == "value_error" and name.startswith("aql_"):
        return _("Choose an AQL level from the list.")
    if kind in ("enum", "literal_error"):
        return _("Choose one of the listed values.")
    if kind in ("int_parsing", "int_type", "greater_than") and name == "ref_id":
        return _("Choose a picture.")
    if kind == "too_long":
        return _("Too many rows: at most %(count)s.") % {"count": ctx.get("max_length")}
    return _("This value is not valid.")


def field_errors(exc: ValidationError, data: dict[str, Any]) -> dict[str, str]:
    """Each error keyed by the field path the editor names its input by (list positions become row ids)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        parts: list[str] = []
        node: Any = data
        for part in error["loc"]:
            if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
                parts.append(str(node.get("id", part)) if isinstance(node, dict) else str(part))
            else:
                parts.append(str(part))
                node = node.get(part) if isinstance(node, dict) else None
        if parts and parts[-1] in ("en", "zh"):
            parts.pop()  # a text's error is shown under the text
        path = ".".join(parts)
        errors.setdefault(path, _message(error, path))
    return errors


# -- glossary hints --------------------------------------------------


def _pair(item: Any) -> tuple[str, str]:
    if isinstance(item, tuple | list):
        return str(item[0]), str(item[1])
    term = getattr(item, "term", item)
    return str(getattr(term, "en", "")), str(getattr(term, "zh", ""))


def _problem_text(item: Any) -> str:
    if isinstance(item, str):
        return item
    en, zh = _pair(item)
    expected = getattr(item, "expected", None) or (zh,)
    return _(
        "The English uses “%(en)s”: the glossary's Chinese is “%(zh)s”, which the Chinese does not use."
    ) % {
        "en": getattr(item, "text", "") or en,
        "zh": " / ".join(expected),
    }


@dataclass
class Hint:
    suggestions: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def glossary_hints(db: AsyncSession, content: SpecContent) -> dict[str, Hint]:
    """For each English text: the glossary's terms in it (term -> Chinese) and Chinese that contradicts them."""
    terms = await glossary.load_terms(db)
    hints: dict[str, Hint] = {}
    for ref in spec_content.texts(content):
        text: Text = ref.value
        if not text.en:
            continue
        pairs = [_pair(s) for s in glossary.suggest(text.en, terms)]
        hint = Hint(suggestions=list(dict.fromkeys(pairs)))
        if text.zh:
            hint.problems = [_problem_text(p) for p in glossary.check_consistency(text.en, text.zh, terms)]
        if hint.suggestions or hint.problems:
            hints[ref.path] = hint
    return hints


# -- the page --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    value: str
    """source:ref_id, as a figure stores it."""
    name: str
    thumbnail: str


async def pictures(db: AsyncSession, project_id: int) -> list[Picture]:
    """What a figure may show: photos of the project's approved sample rounds, and its image files."""
    photos = await db.execute(
        select(SamplePhoto.id, SamplePhoto.caption, SampleRound.number, Attachment.original_name)
        .join(SampleRound, SampleRound.id == SamplePhoto.round_id)
        .join(Attachment, Attachment.id == SamplePhoto.attachment_id)
        .where(SampleRound.project_id == project_id, SampleRound.status == SampleStatus.approved)
        .order_by(SampleRound.number, SamplePhoto.id)
    )
    out = [
        Picture(
            value=f"{FigureSource.sample_photo.value}:{photo_id}",
            name=_("Round %(number)s: %(name)s") % {"number": number, "name": caption or original_name},
            thumbnail=f"/samples/photos/{photo_id}/thumbnail",
        )
        for photo_id, caption, number, original_name in photos.all()
    ]
    images = await db.execute(
        select(Attachment.id, Attachment.original_name)
        .where(Attachment.project_id == project_id, Attachment.content_type.like("image/%"))
        .where(Attachment.id.not_in(select(SamplePhoto.attachment_id)))
        .order_by(Attachment.id)
    )
    out += [
        Picture(value=f"{FigureSource.attachment.value}:{attachment_id}", name=name, thumbnail="")
        for attachment_id, name in images.all()
    ]
    return out


def blockers(content: SpecContent) -> list[tuple[str, str, str]]:
    """(field path, where it is, its status) for every field that blocks issuing."""
    out = []
    for ref in spec_content.translation_problems(content):
        assert isinstance(ref.value, Text)
        assert ref.value.problem is not None
        out.append((ref.path, specs.describe_field(ref), ref.value.problem.value))
    return out


def statuses(content: SpecContent) -> dict[str, str]:
    """The status of each stored text by path (a refused form's badges still show the stored state)."""
    out = {}
    for ref in spec_content.texts(content):
        text: Text = ref.value
        out[ref.path] = (text.problem or text.status).value if text.en or text.zh else ""
    return out


async def render(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    number: int | None,
    *,
    failed: Failed | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    project: Project = await projects.get_project(db, project_id)
    revisions = await specs.revisions_of(db, project_id)
    revision: SpecRevision | None
    if number is None:
        revision = revisions[0] if revisions else None
    else:
        revision = next((r for r in revisions if r.number == number), None)
        if revision is None:
            raise NotFound(_(specs.REVISION_NOT_FOUND))
    context: dict[str, Any] = {
        "user": staff,
        "project": project,
        "revisions": revisions,
        "revision": revision,
        "failed": failed,
        "notice": notice,
        "statuses": RevisionStatus,
        "translation_labels": {s.value: label(s) for s in TranslationStatus},
        "can_start": project.phase.value not in ("feasibility", "delivered", "cancelled")
        and not any(r.status in specs.OPEN_STATES for r in revisions),
        "base": spec_url(project_id),
    }
    if revision is not None:
        stored = specs.content_of(revision)
        shown = stored.to_json()
        if failed is not None and failed.values:
            shown = failed.values
        previous = next((r for r in revisions if r.number < revision.number), None)
        context.update(
            {
                "content": shown,
                "status_of": statuses(stored),
                "blockers": blockers(stored),
                "draft": revision.status == RevisionStatus.draft,
                "editable": revision.status in specs.OPEN_STATES,
                "actions": [
                    (t.action, _(ACTION_LABELS[t.action]))
                    for t in specs.SPEC_REVISION.allowed(revision.status)
                    if t.action in STAFF_ACTIONS
                ],
                "sections": [(key, _(title)) for key, title in SECTIONS.items()],
                "columns": columns(),
                "pictures": await pictures(db, project_id),
                "hints": await glossary_hints(db, stored),
                "previous": previous,
                "creator": await db.get(User, revision.created_by_id) if revision.created_by_id else None,
            }
        )
    return Template("backoffice/specs/workspace.html", context=context, status_code=status_code)


async def _refused(
    db: AsyncSession, staff: Staff, project_id: int, number: int | None, failed: Failed, status_code: int
) -> Template:
    """The page again with the message, nothing of the attempt kept (backoffice.access.refused_page)."""

    async def page(staff: Staff) -> Template:
        return await render(db, staff, project_id, number, failed=failed)

    return await refused_page(db, staff, page, status_code=status_code)


# -- the diff --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str
    where: str
    kind: str
    before: Any
    after: Any
    is_text: bool


def changes_between(old: SpecRevision, new: SpecRevision) -> list[Change]:
    """The fields that differ, each described where it sits (row numbers from the revision that has the row)."""
    before, after = specs.content_of(old), specs.content_of(new)
    refs = {ref.path: ref for ref in spec_content.walk(before)}
    refs.update({ref.path: ref for ref in spec_content.walk(after)})
    out = []
    for change in spec_content.diff(before, after):
        ref = refs.get(change.path)
        out.append(
            Change(
                path=change.path,
                where=specs.describe_field(ref if ref is not None else change),
                kind=change.kind,
                before=_shown(change.before, bom_unit=change.section == "bom" and change.name == "unit"),
                after=_shown(change.after, bom_unit=change.section == "bom" and change.name == "unit"),
                is_text=change.is_text,
            )
        )
    return out


def _shown(value: Any, *, bom_unit: bool = False) -> Any:
    """A changed value as the reader's language shows it: enum members by their translated label, never raw."""
    if isinstance(value, Text) or value is None:
        return value
    if bom_unit:
        return spec_content.bom_unit_label(str(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return label(value) if hasattr(value, "labels") else str(getattr(value, "value", value))


def default_pair(revisions: list[SpecRevision], from_label: str, to_label: str) -> tuple[str, str]:
    """Missing ends of a comparison: to the newest revision, from the one before `to` (or `to` itself)."""
    if not revisions:
        return from_label, to_label
    to_label = to_label or revisions[0].label
    if not from_label:
        newer = parse_label(to_label) or 0
        before = [r for r in revisions if r.number < newer]
        from_label = before[0].label if before else to_label
    return from_label, to_label


async def diff_context(
    db: AsyncSession, project_id: int, from_label: str, to_label: str
) -> tuple[SpecRevision, SpecRevision, list[Change]]:
    from_label, to_label = default_pair(await specs.revisions_of(db, project_id), from_label, to_label)
    older, newer = parse_label(from_label), parse_label(to_label)
    if older is None or newer is None:
        raise NotFound(_(specs.REVISION_NOT_FOUND))
    a, b = await specs.revision_pair(db, project_id=project_id, from_number=older, to_number=newer)
    return a, b, changes_between(a, b)


KIND_LABELS = {"added": N_("Added"), "removed": N_("Removed"), "changed": N_("Changed")}


class SpecWorkspace(Controller):
    """The coordinator's spec revisions of one project: list, editor, lifecycle, diff."""

    path = BASE
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", name="spec_workspace")
    async def latest(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str | None] = None,
    ) -> Template:
        """The newest revision, in the editor while it is open."""
        return await render(db, staff, project_id, None, notice=_(NOTICES[done]) if done in NOTICES else "")

    @get("/diff", name="spec_diff")
    async def diff(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        from_label: Annotated[str, QueryParameter(name="from")] = "",
        to_label: Annotated[str, QueryParameter(name="to")] = "",
    ) -> Template:
        """Two revisions compared field by field, in both languages."""
        project = await projects.get_project(db, project_id)
        a, b, changes = await diff_context(db, project_id, from_label, to_label)
        return Template(
            "backoffice/specs/diff.html",
            context={
                "user": staff,
                "project": project,
                "older": a,
                "newer": b,
                "changes": changes,
                "kinds": {k: _(v) for k, v in KIND_LABELS.items()},
                "back": spec_url(project_id, b.number),
                "revisions": await specs.revisions_of(db, project_id),
                "diff_base": spec_url(project_id) + "/diff",
            },
        )

    @get("/{number:int}", name="spec_revision")
    async def revision(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        number: FromPath[int],
        done: FromQuery[str | None] = None,
    ) -> Template:
        """One revision: the editor while it is open, read-only once issued."""
        return await render(db, staff, project_id, number, notice=_(NOTICES[done]) if done in NOTICES else "")

    @get("/{number:int}/preview", name="spec_preview")
    async def preview(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Any:
        """The document as the factory will read it (the rendering module's web mode)."""
        revision = await _revision(db, project_id, number)
        built = await document.build_document(db, revision, languages=("zh_Hans", "en"))
        context = document.document_context(
            built,
            mode="web",
            image_src=figure_src,
            extra={"user": staff, "back": spec_url(project_id, number), "revision": revision},
        )
        return Template("backoffice/specs/preview.html", context=context)

    @post("/start")
    async def start(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """A new draft, copied from the latest revision."""
        try:
            revision = await specs.start_revision(db, actor=staff.user, project_id=project_id)
        except NotFound:
            raise
        except DomainError as exc:
            failed = Failed(key="start", message=exc.message)
            return await _refused(db, staff, project_id, None, failed, exc.status_code)
        return Redirect(spec_url(project_id, revision.number, notice="started"), status_code=303)

    @post("/{number:int}/save")
    async def save(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Template | Redirect:
        """Save one section (and add, remove or move a row of it)."""
        form = await request.form()
        revision = await _revision(db, project_id, number)
        section = str(form.get("section") or "")
        if section not in SECTIONS:
            raise ValidationFailed(
                _("The form names no section. Reload the page and try again."), field="section"
            )
        stored = revision.content or SpecContent().to_json()
        content = read_section(form, stored, section, draft=revision.status == RevisionStatus.draft)
        try:
            spec_content.parse(content)
        except ValidationError as exc:
            failed = Failed(
                key=section,
                message=_(
                    "Some values are not valid: nothing was saved. See the messages next to the fields."
                ),
                values=content,
                errors=field_errors(exc, content),
            )
            return await render(db, staff, project_id, number, failed=failed, status_code=422)
        version_before = revision.version
        try:
            await specs.save_content(
                db,
                actor=staff.user,
                revision_id=revision.id,
                content=content,
                expected_version=form_version(form),
            )
        except NotFound:
            raise
        except DomainError as exc:
            errors = {}
            if isinstance(exc, ValidationFailed) and exc.extra.get("field"):
                errors[str(exc.extra["field"])] = exc.message
            failed = Failed(key=section, message=exc.message, values=content, errors=errors)
            return await _refused(db, staff, project_id, number, failed, exc.status_code)
        # save_content writes (and bumps the version) only when something changed: say which happened
        notice = "saved" if revision.version != version_before else "unchanged"
        return Redirect(
            spec_url(project_id, number, notice=notice, anchor=f"section-{section}"), status_code=303
        )

    @post("/{number:int}/action")
    async def action(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Template | Redirect:
        """Submit, withdraw or issue; a refused issue lists the fields that block it."""
        form = await request.form()
        revision = await _revision(db, project_id, number)
        choice = str(form.get("action") or "")
        if choice not in STAFF_ACTIONS:
            raise ValidationFailed(_("Choose an action."), field="action")
        try:
            await specs.act(
                db, choice, actor=staff.user, revision_id=revision.id, expected_version=form_version(form)
            )
        except NotFound:
            raise
        except DomainError as exc:
            missing = [str(m) for m in exc.extra.get("missing", [])]
            failed = Failed(
                key="lifecycle", message=missing[0] if missing else exc.message, missing=missing[1:]
            )
            return await _refused(db, staff, project_id, number, failed, exc.status_code)
        return Redirect(spec_url(project_id, number, notice=choice), status_code=303)


async def _revision(db: AsyncSession, project_id: int, number: int) -> SpecRevision:
    revision = await db.scalar(
        select(SpecRevision).where(SpecRevision.project_id == project_id, SpecRevision.number == number)
    )
    if revision is None:
        raise NotFound(_(specs.REVISION_NOT_FOUND))
    return revision


def figure_src(view: Any) -> str:
    """A figure's picture through the routes that check the caller's access (sample photo or project file)."""
    figure = view.figure
    if figure.source == FigureSource.sample_photo:
        return f"/samples/photos/{figure.ref_id}/image"
    return f"/api/v1/files/{figure.ref_id}/download"
