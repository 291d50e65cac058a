"""The spec document as HTML: both languages, every field addressable, stored text escaped, pages can extend it."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.errors import ValidationFailed
from makeready.i18n import use_locale
from makeready.specs import document as spec_document
from makeready.specs.content import parse, texts, walk
from portal.app import build_jinja
from tests.spec_support import arrange_revision, filled_content
from tests.workflow_support import make_people, system

HOSTILE = '<script>alert(1)</script><img src="file:///etc/passwd">'


async def _document(engine: AsyncEngine, languages: tuple[str, str] = ("zh_Hans", "en"), **kwargs: object):
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people, **kwargs)  # type: ignore[arg-type]
    async with system(engine) as session:
        return await spec_document.build_document(session, arranged.revision, languages=languages), arranged


def _web(doc: spec_document.Document, **kwargs: object) -> str:
    return spec_document.render_html(doc, mode="web", image_src=lambda view: f"/img/{view.number}", **kwargs)  # type: ignore[arg-type]


async def test_every_field_has_its_id_and_path_and_both_languages(engine: AsyncEngine) -> None:
    doc, arranged = await _document(engine)
    page = _web(doc)
    for ref in walk(doc.content):
        if ref.name == "source":  # where a figure's picture comes from is not shown
            continue
        assert f'id="{spec_document.field_id(ref.path)}"' in page, ref.path
        assert f'data-path="{ref.path}"' in page, ref.path
    for ref in texts(doc.content):
        if ref.value.en:
            assert htmllib.escape(ref.value.en, quote=False) in page, ref.path
            assert htmllib.escape(ref.value.zh, quote=False) in page, ref.path
    assert "Rev B" in page
    assert arranged.project.name in page
    assert "2026-11-20" in page
    # the change log lists Rev A's summary and this one's
    assert "First issue." in page
    assert "首次发布。" in page
    # the figures point where image_src says
    assert page.count('src="/img/') == len(arranged.photos)
    # fields for a question's list: every leaf, with a label
    assert [path for path, _label in doc.fields] == [ref.path for ref in walk(doc.content)]


async def test_language_order_follows_the_factory(engine: AsyncEngine) -> None:
    doc, _arranged = await _document(engine, languages=("en", "zh_Hans"))
    page = _web(doc)
    assert '<html lang="en"' in page
    first = page.index("Shade part 0")
    assert first < page.index("灯罩部件一")
    doc_zh = spec_document.Document(**{**doc.__dict__, "languages": ("zh_Hans", "en")})
    page_zh = _web(doc_zh)
    assert page_zh.index("灯罩部件一") < page_zh.index("Shade part 0")


async def test_labels_are_in_both_languages(engine: AsyncEngine) -> None:
    doc, _arranged = await _document(engine)
    page = _web(doc)
    assert "材料" in page
    assert "Materials" in page
    assert "尺寸和公差" in page or "Dimensions and tolerances" in page


async def test_ask_links_only_on_the_web(engine: AsyncEngine) -> None:
    doc, _arranged = await _document(engine)
    with use_locale("en"):
        page = _web(doc, ask_url="/f/TOKEN/questions")
    assert 'href="/f/TOKEN/questions?field=materials.m0.part#ask"' in page
    assert "Ask about this" in page
    pdf_page = spec_document.render_html(doc, mode="pdf", image_src=lambda v: "asset:x", ask_url="/f/T/q")
    assert "?field=" not in pdf_page
    assert "Ask about this" not in _web(doc)


async def test_stored_text_is_escaped(engine: AsyncEngine) -> None:
    people = await make_people(engine)
    content = filled_content([], extra_text=HOSTILE)
    content["overview"]["summary"] = {"en": "{{ 7*7 }} %(x)s", "zh": "{% raw %}", "status": "reviewed"}
    arranged = await arrange_revision(engine, people, photos=0, content=content)
    async with system(engine) as session:
        doc = await spec_document.build_document(session, arranged.revision, languages="zh_Hans,en")
    page = _web(doc)
    assert "<script>alert" not in page
    assert '<img src="file:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }} %(x)s" in page
    assert "{% raw %}" in page


def test_bad_language_orders_are_refused() -> None:
    for bad in ("en", "en,en", "fr,en", ("zh_Hans", "en", "en")):
        with pytest.raises(ValidationFailed):
            spec_document.check_languages(bad)
    assert spec_document.check_languages("en,zh_Hans") == ("en", "zh_Hans")


async def test_other_pages_extend_the_template(engine: AsyncEngine) -> None:
    doc, _arranged = await _document(engine)
    # the portal's own environment, as a Litestar Template response of another page uses it
    env = build_jinja()
    page_source = (
        '{% extends "specs/document.html" %}{% block banner %}<div id="banner">B</div>{% endblock %}'
        '{% block toolbar %}<div id="toolbar">T</div>{% endblock %}'
        '{% block after_document %}<form id="ask">Q</form>{% endblock %}'
        '{% block head_extra %}<meta name="x-extra">{% endblock %}'
    )
    assert env.loader is not None
    env.loader = ChoiceLoader([DictLoader({"page.html": page_source}), env.loader])
    context = spec_document.document_context(doc, mode="web", image_src=lambda v: "/i", ask_url="/q")
    page = env.get_template("page.html").render(context)
    for marker in ('<div id="banner">', '<div id="toolbar">', '<form id="ask">', '<meta name="x-extra">'):
        assert marker in page
    assert re.search(r'<article class="spec"', page)
    assert parse(doc.content.to_json()) == doc.content


def _linked(doc: spec_document.Document, token: str) -> str:
    """The document as a factory link page renders it: links under the link's own path."""
    base = f"/f/{token}"
    return spec_document.render_html(
        doc,
        mode="web",
        image_src=lambda view: f"{base}/photos/{view.figure.id}",
        ask_url=base,
        link_base=base,
    )


def _fresh(doc: spec_document.Document, token: str) -> str:
    base = f"/f/{token}"
    return spec_document.render_html(
        doc, mode="web", image_src=lambda view: f"{base}/photos/{view.figure.id}", ask_url=base
    )


async def test_a_reused_body_is_the_page_a_fresh_render_makes_for_each_reader(engine: AsyncEngine) -> None:
    doc, arranged = await _document(engine)
    with use_locale("zh_Hans"):
        first, again, other = _linked(doc, "tokenA"), _linked(doc, "tokenA"), _linked(doc, "token<B>&")
        assert first == again == _fresh(doc, "tokenA")
        assert other == _fresh(
            doc, "token<B>&"
        )  # a base needing escapes is escaped as the template escapes it
    assert "/f/tokenA" not in other
    assert "/f/token&lt;B&gt;&amp;/photos/" in other
    assert other.count("/photos/") == len(arranged.photos)
    with use_locale("en"):  # the "Ask about this" links follow the reader's locale
        english = _linked(doc, "tokenA")
    assert english == _fresh_en(doc, "tokenA")
    assert "Ask about this" in english
    assert "Ask about this" not in first


def _fresh_en(doc: spec_document.Document, token: str) -> str:
    with use_locale("en"):
        return _fresh(doc, token)


async def test_a_changed_document_is_rendered_again(engine: AsyncEngine) -> None:
    doc, arranged = await _document(engine)
    before = _linked(doc, "tokenA")
    # the same revision read after one of its pictures went away (the body shows "no longer available")
    gone = spec_document.Document(
        **{
            **doc.__dict__,
            "figures": [
                spec_document.FigureView(view.figure, view.number, "", "", 0, "")
                if view.number == 1
                else view
                for view in doc.figures
            ],
        }
    )
    after = _linked(gone, "tokenA")
    assert after == _fresh(gone, "tokenA") != before
    assert before.count('src="/f/tokenA/photos/') == len(arranged.photos)
    assert after.count('src="/f/tokenA/photos/') == len(arranged.photos) - 1


async def test_an_issued_revisions_field_list_is_in_each_readers_language(engine: AsyncEngine) -> None:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people)
    assert arranged.revision.content_hash  # issued: its content is fixed, so its field list is kept
    async with system(engine) as session:
        with use_locale("zh_Hans"):
            chinese = await spec_document.build_document(
                session, arranged.revision, languages=("zh_Hans", "en")
            )
            chinese_again = await spec_document.build_document(
                session, arranged.revision, languages=("zh_Hans", "en")
            )
        with use_locale("en"):
            english = await spec_document.build_document(
                session, arranged.revision, languages=("zh_Hans", "en")
            )
    assert chinese.fields == chinese_again.fields
    assert [path for path, _ in chinese.fields] == [path for path, _ in english.fields]
    labels = dict(english.fields)
    assert labels["overview.product_name"] == "Product overview: Product name"
    assert dict(chinese.fields)["overview.product_name"] != labels["overview.product_name"]
    chinese_again.fields.clear()  # a caller's copy: the kept list is not touched
    async with system(engine) as session:
        with use_locale("zh_Hans"):
            third = await spec_document.build_document(
                session, arranged.revision, languages=("zh_Hans", "en")
            )
    assert third.fields == chinese.fields


async def test_the_field_options_mark_the_chosen_field_and_escape_the_rest(engine: AsyncEngine) -> None:
    doc, arranged = await _document(engine)
    with use_locale("en"):
        none_chosen = spec_document.field_options(doc, "")
        chosen = spec_document.field_options(doc, "overview.summary")
        hostile = spec_document.field_options(doc, '"><script>alert(1)</script>')
    assert none_chosen.count("<option ") == len(doc.fields)
    assert " selected" not in none_chosen
    assert chosen.count(" selected") == 1
    assert '<option value="overview.summary" selected>Product overview: Summary</option>' in chosen
    assert hostile == none_chosen  # a value that is no field chooses nothing and is never printed
    async with system(engine) as session:
        with use_locale("zh_Hans"):  # the labels are in the language the document was built in
            chinese_doc = await spec_document.build_document(
                session, arranged.revision, languages=("zh_Hans", "en")
            )
            chinese = spec_document.field_options(chinese_doc, "overview.summary")
    with use_locale("en"):
        assert spec_document.field_options(chinese_doc, "overview.summary") == chinese
    assert chinese != chosen
    assert chinese.count(" selected") == 1


async def test_a_drafts_document_follows_its_content_and_an_issued_one_is_parsed_once(
    engine: AsyncEngine,
) -> None:
    people = await make_people(engine)
    arranged = await arrange_revision(engine, people)
    async with system(engine) as session:
        issued = await spec_document.build_document(session, arranged.revision, languages="zh_Hans,en")
        again = await spec_document.build_document(session, arranged.revision, languages="zh_Hans,en")
        assert again.content is issued.content  # fixed at issue: parsed once
        draft = arranged.revision
        draft.content_hash = ""  # as a draft: its content may change from one read to the next
        content = dict(draft.content)
        content["overview"] = {
            **content["overview"],
            "summary": {"en": "Changed", "zh": "改了", "status": "reviewed"},
        }
        draft.content = content
        changed = await spec_document.build_document(session, draft, languages="zh_Hans,en")
    assert changed.content.overview.summary.en == "Changed"
    assert issued.content.overview.summary.en != "Changed"
