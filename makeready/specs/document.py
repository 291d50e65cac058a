"""The spec document: one view model and one Jinja2 template (`templates/specs/document.html`) for the web page and
the PDF, with both languages side by side, the factory's language first.

`build_document()` loads what the document shows; `render_html()` renders it with our own Jinja environment (the
same settings as portal.app.build_jinja: autoescape everywhere, newstyle gettext). A web page that wants its own
chrome renders a template that `{% extends "specs/document.html" %}` with `document_context(...)` as its context,
from a Litestar `Template` response (portal's environment has everything the template needs).

Context keys of `specs/document.html`:

- `doc` (Document), `content` (SpecContent), `mode` ("web" | "pdf"), `languages` (("zh_Hans", "en") or the other
  way round), `both(msgid)` (the label in languages[0] and languages[1]), `image_src(figure_view)` (the `src` of a
  figure's picture; for the PDF an `asset:` name), `ask_url` (web only: each text field links to
  `<ask_url>?field=<path>#ask`), `sections` (content.SECTIONS), `field_names` (content.FIELDS), `field_id(path)`,
  `lang_attr(locale)`, `css_string(text)`, `fmt_number(decimal)`, `N_`, plus whatever `extra` adds, and `body`:
  the document itself (`templates/specs/_doc_body.html`, `document_body()`), which a factory link's page reuses
  from one reader to the next.
- Blocks to override: `head_extra`, `banner`, `toolbar`, `after_document` (and `title`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.filters import do_urlencode
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import i18n
from makeready.errors import ValidationFailed
from makeready.html import option_tags
from makeready.i18n import N_
from makeready.kept import Kept
from makeready.projects.models import Attachment, Project
from makeready.samples.models import SamplePhoto, SampleRound
from makeready.specs import service
from makeready.specs.content import (
    FIELDS,
    SECTIONS,
    Figure,
    FigureSource,
    SpecContent,
    SuppliedBy,
    Text,
    bom_unit_label,
    walk,
)
from makeready.specs.models import RevisionStatus, SpecRevision

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
TEMPLATE = "specs/document.html"
TEMPLATE_VERSION = "1"
"""Bump when the document's look changes in a way the template files' hash would not show (e.g. a filter)."""

LANGUAGE_ORDERS = (("zh_Hans", "en"), ("en", "zh_Hans"))
BAD_LANGUAGES = N_("The document's languages must be Chinese and English, in either order.")


def check_languages(languages: tuple[str, ...] | list[str] | str) -> tuple[str, str]:
    """("zh_Hans", "en") or ("en", "zh_Hans") from a tuple or "zh_Hans,en"; ValidationFailed otherwise."""
    if isinstance(languages, str):
        languages = tuple(part.strip() for part in languages.split(","))
    pair = tuple(languages)
    for order in LANGUAGE_ORDERS:
        if pair == order:
            return order
    raise ValidationFailed(i18n.gettext(BAD_LANGUAGES), field="languages")


@dataclass(frozen=True)
class FigureView:
    """A figure and the stored image it shows (storage_key "" when the picture is gone or not an image)."""

    figure: Figure
    number: int
    storage_key: str
    content_type: str
    size: int
    checksum: str

    @property
    def available(self) -> bool:
        return bool(self.storage_key)

    @property
    def asset_name(self) -> str:
        """The figure's name in the PDF renderer's asset set."""
        return f"figure-{self.number}"


@dataclass(frozen=True)
class ChangeEntry:
    label: str
    status: RevisionStatus
    issued_at: datetime | None
    summary: Text


@dataclass
class Document:
    """Everything the spec document shows for one revision, in one language order."""

    org_id: int
    project_id: int
    project_name: str
    revision_id: int
    revision_label: str
    status: RevisionStatus
    issued_at: datetime | None
    content: SpecContent
    languages: tuple[str, str]
    change_log: list[ChangeEntry] = field(default_factory=list)
    figures: list[FigureView] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    """(path, label) of every field, in document order, for a question's field list (labels in the locale
    current when the document was built)."""
    content_hash: str = ""
    """The hash of the content fixed when the revision was issued (its content can no longer change), "" for a
    draft: what stands for the content in the keys of what is kept from one reader to the next."""

    @property
    def issue_date(self) -> str:
        """ISO date of issue (language-neutral, as drawings print it), or ""."""
        return self.issued_at.date().isoformat() if self.issued_at else ""

    def figure(self, figure_id: str) -> FigureView | None:
        return next((view for view in self.figures if view.figure.id == figure_id), None)


async def _figure_views(session: AsyncSession, project_id: int, figures: list[Figure]) -> list[FigureView]:
    photo_ids = [f.ref_id for f in figures if f.source == FigureSource.sample_photo]
    attachment_ids = [f.ref_id for f in figures if f.source == FigureSource.attachment]
    photos: dict[int, Attachment] = {}
    if photo_ids:
        rows = await session.execute(
            select(SamplePhoto.id, Attachment)
            .join(Attachment, Attachment.id == SamplePhoto.attachment_id)
            .join(SampleRound, SampleRound.id == SamplePhoto.round_id)
            .where(SamplePhoto.id.in_(photo_ids), SampleRound.project_id == project_id)
        )
        photos = {photo_id: attachment for photo_id, attachment in rows.all()}
    attachments: dict[int, Attachment] = {}
    if attachment_ids:
        found = await session.scalars(
            select(Attachment).where(Attachment.id.in_(attachment_ids), Attachment.project_id == project_id)
        )
        attachments = {a.id: a for a in found}
    views = []
    for number, figure in enumerate(figures, start=1):
        source = photos if figure.source == FigureSource.sample_photo else attachments
        attachment = source.get(figure.ref_id)
        if attachment is not None and attachment.content_type.startswith("image/"):
            views.append(
                FigureView(
                    figure,
                    number,
                    attachment.object_key,
                    attachment.content_type,
                    attachment.size,
                    attachment.checksum,
                )
            )
        else:
            views.append(FigureView(figure, number, "", "", 0, ""))
    return views


async def build_document(
    session: AsyncSession, revision: SpecRevision, *, languages: tuple[str, ...] | str
) -> Document:
    """The document of `revision` (read through the session's tenancy scope)."""
    order = check_languages(languages)
    project = await session.get_one(Project, revision.project_id)
    content = _content(revision)
    log = await service.change_log(session, revision)
    changes = [
        ChangeEntry(r.label, r.status, r.issued_at, _content(r).change_summary)
        for r in log
        if r.id != revision.id
    ]
    changes.append(ChangeEntry(revision.label, revision.status, revision.issued_at, content.change_summary))
    return Document(
        org_id=revision.org_id,
        project_id=project.id,
        project_name=project.name,
        revision_id=revision.id,
        revision_label=revision.label,
        status=revision.status,
        issued_at=revision.issued_at,
        content=content,
        languages=order,
        change_log=changes,
        figures=await _figure_views(session, project.id, content.figures),
        fields=_fields(content, revision.content_hash),
        content_hash=revision.content_hash,
    )


def _content(revision: SpecRevision) -> SpecContent:
    """The revision's content: an issued one's parsed once and kept (its content is fixed; a document only reads
    it), a draft's parsed each time."""
    if not revision.content_hash:
        return service.content_of(revision)
    return _contents.get(revision.content_hash, lambda: service.content_of(revision))


def _fields(content: SpecContent, content_hash: str) -> list[tuple[str, str]]:
    """(path, label) of every field: an issued content's are kept per locale (a factory page lists them all)."""
    if not content_hash:
        return [(ref.path, service.describe_field(ref)) for ref in walk(content)]
    kept = _field_lists.get(
        (content_hash, i18n.get_locale()),
        lambda: [(ref.path, service.describe_field(ref)) for ref in walk(content)],
    )
    return list(kept)  # the caller's own copy


def field_options(document: Document, selected: str) -> Markup:
    """The `<option>`s of a question form's field list (`document.fields`, about 160 for a filled spec), `selected`
    chosen."""
    return option_tags(tuple(document.fields), selected)


# --------------------------------------------------------------------------------------------------------------
# Rendering


def both(languages: tuple[str, str]) -> Callable[[str], tuple[str, str]]:
    """A label's translation in the first and the second language."""
    first, second = (i18n.translations(locale) for locale in languages)

    def translate(msgid: str) -> tuple[str, str]:
        return first.gettext(msgid), second.gettext(msgid)

    return translate


def field_id(path: str) -> str:
    return "f-" + path.replace(".", "-")


def lang_attr(locale: str) -> str:
    return "zh-Hans" if locale == "zh_Hans" else "en"


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string, safe inside a <style> element (our labels only; never stored text)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\A ")
        .replace("<", "\\3C ")
        .replace(">", "\\3E ")
    )
    return Markup(f'"{escaped}"')  # noqa: S704 - every character that could end the string or the <style> is escaped


def fmt_number(value: Decimal | int | float) -> str:
    """A measure without trailing zeros or exponent: 12.50 -> 12.5, 1E+2 -> 100."""
    number = Decimal(value)
    text = format(number.normalize(), "f") if number else "0"
    return text


ASK = N_("Ask about this")
NOTHING = N_("Nothing specified.")


def pieces(
    languages: tuple[str, str], *, mode: str, ask_url: str | None, translate: Callable[[str], tuple[str, str]]
) -> dict[str, Callable[..., Markup]]:
    """The document's repeated pieces, as Python functions returning Markup: `bi(msgid)` (a label in both
    languages), `fid(path)` (a field's id attribute, web only), `ask(path)` (its "Ask about this" link), `text(value,
    path, tag)` (a bilingual field), `data(value, path, tag)` (a language-neutral field), `th(name)`,
    `section_head(key)` and `empty()`.

    They were Jinja macros: a document called about 500 of them per render, each costing a new frame, its arguments
    checked and its output joined and escaped (two thirds of the factory page's CPU). The output is the macros' own,
    byte for byte: every value from the document is escaped here as `{{ value }}` escaped it there, and our labels
    stay unescaped only where the macros printed them through newstyle `_()`.
    """
    first, second = (lang_attr(locale) for locale in languages)
    zh_first = languages[0] == "zh_Hans"
    web = mode == "web"
    link = ask_url if (ask_url and web) else None
    labels: dict[tuple[str, str], Markup] = {}
    ask_label: list[Markup] = []

    def bi(msgid: str, cls: str = "") -> Markup:
        key = (msgid, cls)
        done = labels.get(key)
        if done is None:
            one, two = translate(msgid)
            html = f'<span class="bi {escape(cls)}"><span class="l1" lang="{first}">{escape(one)}</span>'
            if two != one:
                html += f' <span class="l2" lang="{second}">{escape(two)}</span>'
            done = labels[key] = Markup(html + "</span>")  # noqa: S704 - every value is escaped above
        return done

    def fid(path: str) -> Markup:
        return Markup(f'id="{escape(field_id(path))}"') if web else Markup("")  # noqa: S704 - escaped

    def ask(path: str) -> Markup:
        if link is None:
            return Markup("")
        if not ask_label:  # once per render: the locale does not change while a page renders
            # newstyle _() in an autoescaped template: the translation is markup, %-formatted with no variables
            ask_label.append(Markup(i18n.gettext(ASK)) % {})  # noqa: S704 - our catalog's text, as the macro had it
        return Markup(  # noqa: S704 - every value is escaped
            f'<a class="ask" href="{escape(link)}?field={escape(do_urlencode(path))}#ask">{ask_label[0]}</a>'
        )

    def text(value: Any, path: str, tag: str = "div") -> Markup:
        zh, en = escape(value.zh), escape(value.en)
        one, two = (zh, en) if zh_first else (en, zh)
        tag = escape(tag)
        return Markup(  # noqa: S704 - every value is escaped
            f'<{tag} class="field text" {fid(path)} data-path="{escape(path)}">'
            f'<p class="l1" lang="{first}">{one}</p><p class="l2" lang="{second}">{two}</p>{ask(path)}</{tag}>'
        )

    def data(value: Any, path: str, tag: str = "td") -> Markup:
        tag = escape(tag)
        return Markup(  # noqa: S704 - every value is escaped
            f'<{tag} class="field data" {fid(path)} data-path="{escape(path)}">{escape(value)}</{tag}>'
        )

    def th(name: str) -> Markup:
        return Markup(f"<th>{bi(FIELDS[name])}</th>")  # noqa: S704 - bi() escapes

    def section_head(key: str) -> Markup:
        return Markup(f'<h2 id="s-{escape(key)}">{bi(SECTIONS[key])}</h2>')  # noqa: S704 - escaped

    def empty() -> Markup:
        return Markup(f'<p class="empty">{bi(NOTHING)}</p>')  # noqa: S704 - bi() escapes

    return {
        "bi": bi,
        "fid": fid,
        "ask": ask,
        "text": text,
        "data": data,
        "th": th,
        "section_head": section_head,
        "empty": empty,
    }


def _context(
    document: Document,
    *,
    mode: str,
    image_src: Callable[[FigureView], str],
    ask_url: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if mode not in ("web", "pdf"):
        raise ValueError(f"mode must be 'web' or 'pdf', not {mode!r}")
    translate = both(document.languages)
    return {
        "doc": document,
        "content": document.content,
        "mode": mode,
        "languages": document.languages,
        "both": translate,
        "image_src": image_src,
        "ask_url": ask_url if mode == "web" else None,
        "sections": SECTIONS,
        "field_names": FIELDS,
        "status_labels": RevisionStatus.labels(),
        "field_id": field_id,
        "lang_attr": lang_attr,
        "css_string": css_string,
        "fmt_number": fmt_number,
        "bom_unit": bom_unit_label,
        "bom_parties": {party.value: text for party, text in SuppliedBy.labels().items()},
        "choice_label": i18n.label,
        "field_options": field_options,
        "N_": N_,
        **(extra or {}),
        **pieces(document.languages, mode=mode, ask_url=ask_url, translate=translate),
    }


def document_context(
    document: Document,
    *,
    mode: str,
    image_src: Callable[[FigureView], str],
    ask_url: str | None = None,
    extra: dict[str, Any] | None = None,
    link_base: str = "",
) -> dict[str, Any]:
    """The context of specs/document.html (and of templates extending it): its `body` is `document_body(...)`."""
    context = _context(document, mode=mode, image_src=image_src, ask_url=ask_url, extra=extra)
    context["body"] = document_body(
        document, mode=mode, image_src=image_src, ask_url=ask_url, link_base=link_base
    )
    return context


def document_data(document: Document, *, content: Any = None) -> dict[str, Any]:
    """What the document shows, as JSON data: the PDF's cache key (documents.pdf_inputs) and the key of its
    reused body (document_body) are digests of it. `content` stands for the content (by default the content
    itself, as JSON)."""
    return {
        "languages": list(document.languages),
        "project": [document.project_id, document.project_name],
        "revision": [document.revision_id, document.revision_label, document.status.value],
        "issued_at": document.issued_at.isoformat() if document.issued_at else None,
        "content": document.content.to_json() if content is None else content,
        "change_log": [
            [
                entry.label,
                entry.status.value,
                entry.issued_at.isoformat() if entry.issued_at else None,
                entry.summary.en,
                entry.summary.zh,
            ]
            for entry in document.change_log
        ],
        "figures": [
            [view.figure.id, view.storage_key, view.size, view.checksum, view.content_type]
            for view in document.figures
        ],
    }


BODY = "specs/_doc_body.html"
KEPT = 64
"""Rendered bodies (a spec's body is 20-200 KB), parsed issued contents and field lists kept in the process (each),
the least recently read dropped first."""
_bodies = Kept[str](KEPT)
_field_lists = Kept[list[tuple[str, str]]](KEPT)
_contents = Kept[SpecContent](KEPT)


# stands for the reader's link base while a body is rendered for everyone; random, so no stored text can contain it
_LINK_BASE = "lb" + secrets.token_hex(16)


def document_body(
    document: Document,
    *,
    mode: str,
    image_src: Callable[[FigureView], str],
    ask_url: str | None = None,
    link_base: str = "",
) -> Markup:
    """The document itself (templates/specs/_doc_body.html), without the page around it.

    `link_base` is the part of the links (`image_src`'s and `ask_url`) that changes from one reader to the next: a
    factory link's path, with its token. Given, the body is rendered once per document content (`document_data`, the
    issued content's hash standing for it),
    mode, locale and shape of the links, kept (`KEPT`), and the reader's base put into the links: the body was
    nearly all of a factory link page's CPU, and every factory reading one revision reads the same body. Without
    it, the body is rendered every time."""
    if not link_base:
        return _render_body(document, mode=mode, image_src=image_src, ask_url=ask_url)

    def neutral_src(view: FigureView) -> str:
        return image_src(view).replace(link_base, _LINK_BASE)

    neutral_ask = ask_url.replace(link_base, _LINK_BASE) if ask_url else None
    key = (
        service.canonical_hash(document_data(document, content=document.content_hash or None)),
        mode,
        i18n.get_locale(),
        neutral_ask,
        tuple(neutral_src(view) for view in document.figures),
    )
    body = _bodies.get(
        key,
        lambda: str(_render_body(document, mode=mode, image_src=neutral_src, ask_url=neutral_ask)),
    )
    # the links were escaped with the stand-in inside them, which escaping leaves as it is
    return Markup(body.replace(_LINK_BASE, str(escape(link_base))))  # noqa: S704 - escaped above and here


def _render_body(
    document: Document, *, mode: str, image_src: Callable[[FigureView], str], ask_url: str | None
) -> Markup:
    context = _context(document, mode=mode, image_src=image_src, ask_url=ask_url)
    return Markup(environment().get_template(BODY).render(context))  # noqa: S704 - an autoescaped template


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Our Jinja environment for the document: portal.app.build_jinja's settings (the core cannot import portal)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    i18n.install_gettext(env)
    env.filters.update(date=i18n.format_date, datetime=i18n.format_datetime, translated=i18n.gettext)
    env.globals.update(current_locale=i18n.get_locale, label=i18n.label)
    return env


def render_html(
    document: Document,
    *,
    mode: str,
    image_src: Callable[[FigureView], str],
    ask_url: str | None = None,
    extra: dict[str, Any] | None = None,
    template: str = TEMPLATE,
    link_base: str = "",
) -> str:
    """The document as HTML. Single-language text (the "Ask about this" links) follows the current locale.
    `link_base`: see document_body."""
    context = document_context(
        document, mode=mode, image_src=image_src, ask_url=ask_url, extra=extra, link_base=link_base
    )
    return environment().get_template(template).render(context)


@lru_cache(maxsize=1)
def template_fingerprint() -> str:
    """sha256 of the document's template files (a changed template makes new PDFs); read once per process."""
    digest = hashlib.sha256(TEMPLATE_VERSION.encode())
    for path in sorted((TEMPLATES / "specs").glob("document*")) + sorted(
        (TEMPLATES / "specs").glob("_doc_*")
    ):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
