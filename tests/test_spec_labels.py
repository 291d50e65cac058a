"""Chosen values are shown by their translated label, never their stored value: the spec diff and the spec
document in Chinese say 包装 / 件 / 英寸, not "packaging" / "pcs" / "in"."""

from __future__ import annotations

import copy
import re

from backoffice.specs import changes_between
from makeready import i18n
from makeready.specs.content import Unit, parse
from makeready.specs.document import Document, render_html
from makeready.specs.models import RevisionStatus, SpecRevision
from tests.spec_support import filled_content

RAW = {"pantone", "ral", "packaging", "label", "pcs", "in"}


def revisions() -> tuple[SpecRevision, SpecRevision]:
    old = filled_content([], rows=2)
    new = copy.deepcopy(old)
    new["dimensions"][0]["unit"] = "in"
    new["finishes"][0]["colour_system"] = "ral"
    new["finishes"][1]["colour_system"] = "pantone"
    new["packaging"][0]["kind"] = "label"
    new["packaging"][1]["kind"] = "packaging"
    new["bom"][0]["unit"] = "set"
    return SpecRevision(content=old), SpecRevision(content=new)


def test_the_chinese_diff_shows_labels_not_stored_values() -> None:
    old, new = revisions()
    with i18n.use_locale("zh_Hans"):
        changes = changes_between(old, new)
        packaging, label = i18n.gettext("Packaging"), i18n.gettext("Label")
        pcs, sets, inch = i18n.gettext("pcs"), i18n.gettext("set"), i18n.gettext("in")
    assert packaging == "包装"
    assert (pcs, sets, inch) == ("件", "套", "英寸")
    shown = {(c.before, c.after) for c in changes}
    assert len(changes) == len(shown) == 6
    assert ("mm", inch) in shown
    assert ("Pantone", "RAL") in shown
    assert ("RAL", "Pantone") in shown
    assert (packaging, label) in shown
    assert (label, packaging) in shown
    assert (pcs, sets) in shown
    for before, after in shown:
        assert before not in RAW
        assert after not in RAW


def test_the_chinese_document_tables_show_labels_not_stored_values() -> None:
    content = parse(filled_content([], rows=2))
    content.dimensions[0].unit = Unit.inch
    document = Document(
        org_id=1,
        project_id=1,
        project_name="Lamp",
        revision_id=1,
        revision_label="A",
        status=RevisionStatus.issued,
        issued_at=None,
        content=content,
        languages=("zh_Hans", "en"),
    )
    with i18n.use_locale("zh_Hans"):
        html = render_html(document, mode="pdf", image_src=lambda view: "")
    cells = re.findall(
        r'data-path="(?:bom|packaging|dimensions|finishes)\.[^".]+\.(?:unit|kind|colour_system)"[^>]*>(.*?)</td>',
        html,
        re.S,
    )
    assert len(cells) == 8  # two rows of each table
    shown = [re.sub(r"<[^>]+>", " ", cell).split() for cell in cells]
    for words in shown:
        assert not RAW & set(words), words
    assert ["件"] in shown
    assert ["英寸"] in shown
