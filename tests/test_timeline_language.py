"""Timeline tooltips in one language's punctuation: Chinese sentences joined without spaces, full-width colons and
stops, no English punctuation mixed in; English as before."""

from __future__ import annotations

import re
from datetime import timedelta

from makeready import i18n
from makeready.projects import timeline
from makeready.projects.models import MilestoneStatus
from tests.test_timeline import ORIGIN, TODAY, step

FULLWIDTH_COLON = "\uff1a"


def tooltips(locale: str) -> list[str]:
    steps = [
        step(1, TODAY - timedelta(days=2), MilestoneStatus.in_progress, started=ORIGIN, owner="Chen Wei"),
        step(2, TODAY + timedelta(days=9), MilestoneStatus.done, started=ORIGIN, completed=TODAY, owner=""),
    ]
    with i18n.use_locale(locale):
        picture = timeline.build(steps, today=TODAY, origin=ORIGIN)
        return [bar.tooltip for bar in picture.bars]


def test_chinese_tooltips_use_chinese_punctuation_only() -> None:
    late, done = tooltips("zh_Hans")
    for text in (late, done):
        assert not re.search(r"[.:;,] ", text), text  # no English ". " ": " between sentences
        assert not re.search(r"[:.]$", text), text
        assert "。" in text
        assert FULLWIDTH_COLON in text
        assert not re.search(r"。 ", text), text  # sentences follow each other without a space
    assert f"负责人{FULLWIDTH_COLON}Chen Wei。" in late
    assert late.startswith(f"Step 1{FULLWIDTH_COLON}")


def test_english_tooltips_read_as_sentences() -> None:
    late, done = tooltips("en")
    assert late.startswith("Step 1: Late. Owner: Chen Wei. Planned from ")
    assert "Started on " in late
    assert done.endswith(".")
    assert "Completed on " in done
