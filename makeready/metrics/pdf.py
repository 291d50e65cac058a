"""The agency dashboard as a PDF report for a period, in English or Chinese: the same figures as the page, laid
out for print and rendered by the spec documents' fenced WeasyPrint (makeready.specs.pdf: a URL fetcher that
serves only the font we hand it, in a worker process)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from makeready import i18n
from makeready.metrics import figures
from makeready.metrics.kinds import PARTIES, PARTY_LABELS
from makeready.metrics.report import Report
from makeready.specs import pdf
from makeready.specs.document import environment

TEMPLATE = "backoffice/metrics/report_pdf.html"
LANGUAGES = ("en", "zh_Hans")


def report_html(report: Report, *, locale: str, generated: datetime, scope: list[tuple[str, str]]) -> str:
    """The report's HTML in `locale`; `scope` names the filters applied (label, value) for the cover line."""
    with i18n.use_locale(locale):
        largest = report.waiting.largest_month() or 1
        context: dict[str, Any] = {
            "report": report,
            "generated": generated,
            "scope": scope,
            "parties": [(p, PARTY_LABELS[p]) for p in PARTIES],
            "days": figures.days,
            "largest": largest,
            "mode": "pdf",
        }
        return environment().get_template(TEMPLATE).render(context)


async def render(report: Report, *, locale: str, generated: datetime, scope: list[tuple[str, str]]) -> bytes:
    html = report_html(report, locale=locale, generated=generated, scope=scope)
    result = await pdf.render_async(html, {pdf.FONT_ASSET: pdf.font_asset()})
    return result.pdf
