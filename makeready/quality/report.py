"""The inspection report: one bilingual document for the web page and the PDF (as the spec document is done).

`build_report` reads everything the report shows; `render_html` draws templates/quality/report.html in "web" or
"pdf" mode with the labels in two languages (the reader's first); `render_pdf` hands WeasyPrint the HTML with only
our font and the defect photos' thumbnails reachable (makeready.specs.pdf's fenced fetcher).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready import i18n
from makeready.accounts.models import User
from makeready.i18n import N_
from makeready.production.models import Lot, ProductionOrder, ProductionPhoto
from makeready.projects.models import Project
from makeready.quality import inspections as qc
from makeready.quality import photos
from makeready.quality.models import Defect, Inspection, InspectionStatus
from makeready.quality.sampling import SamplingPlan
from makeready.specs import document as spec_document
from makeready.specs import pdf
from makeready.storage import get_storage
from makeready.suppliers.models import Supplier

TEMPLATE = "quality/report.html"
REPORTED = frozenset(
    {
        InspectionStatus.submitted,
        InspectionStatus.brand_review,
        InspectionStatus.accepted,
        InspectionStatus.rejected,
        InspectionStatus.accepted_with_concession,
    }
)
"""The states in which an inspection has a report (its findings are final)."""
VERDICT_LABELS = {"accept": N_("Accept"), "reject": N_("Reject")}
CHECK_LABELS = {"": N_("Not checked"), "pass": N_("Pass"), "fail": N_("Fail"), "na": N_("Not applicable")}


@dataclass
class ClassRow:
    name: str
    plan: SamplingPlan
    count: int
    verdict: str


@dataclass
class Report:
    inspection: Inspection
    lot: Lot
    order: ProductionOrder
    project: Project
    supplier: Supplier
    classes: list[ClassRow]
    defects: list[Defect]
    photos: dict[int, list[ProductionPhoto]] = field(default_factory=dict)
    inspector_name: str = ""

    @property
    def sample_size(self) -> int:
        return max((row.plan.sample_size for row in self.classes), default=0)


async def build_report(session: AsyncSession, inspection: Inspection) -> Report:
    lot, order = await qc.lot_and_order(session, inspection)
    project = await session.get(Project, inspection.project_id)
    supplier = await session.get(Supplier, inspection.supplier_id)
    assert project is not None
    assert supplier is not None
    plans = qc.plans_of(inspection)
    counts = inspection.counts or await qc.defect_counts(session, inspection.id)
    classes = [
        ClassRow(name, plans[name], int(counts.get(name, 0)), (inspection.verdicts or {}).get(name, ""))
        for name in qc.DEFECT_CLASSES
        if name in plans
    ]
    defects = await qc.defects_of(session, inspection.id)
    inspector_name = inspection.third_party
    if inspection.inspector_id is not None:
        inspector = await session.get(User, inspection.inspector_id)
        inspector_name = inspector.display_name if inspector is not None else inspector_name
    return Report(
        inspection=inspection,
        lot=lot,
        order=order,
        project=project,
        supplier=supplier,
        classes=classes,
        defects=defects,
        photos=await photos.photos_of(session, "defect", [d.id for d in defects]),
        inspector_name=inspector_name,
    )


def render_html(
    report: Report,
    *,
    mode: str,
    languages: tuple[str, str],
    photo_src: Callable[[ProductionPhoto], str],
    extra: dict[str, Any] | None = None,
) -> str:
    context = {
        "r": report,
        "i": report.inspection,
        "mode": mode,
        "languages": languages,
        "both": spec_document.both(languages),
        "lang_attr": spec_document.lang_attr,
        "css_string": spec_document.css_string,
        "N_": N_,
        "photo_src": photo_src,
        "kind_labels": {k.value: v for k, v in qc.InspectionKind.labels().items()},
        "class_labels": qc.CLASS_LABELS,
        "type_labels": qc.DEFECT_TYPES,
        "verdict_labels": VERDICT_LABELS,
        "check_labels": CHECK_LABELS,
        "status_labels": InspectionStatus.labels(),
        "fragment": False,
        **(extra or {}),
    }
    return spec_document.environment().get_template(TEMPLATE).render(context)


async def render_pdf(report: Report, *, languages: tuple[str, str]) -> bytes:
    """The report as a PDF, each defect photo's thumbnail embedded (the only images WeasyPrint may fetch)."""
    storage = get_storage()
    assets: dict[str, pdf.Asset] = {pdf.FONT_ASSET: pdf.font_asset()}
    for group in report.photos.values():
        for photo in group:
            if photo.thumbnail_key:
                data = await storage.read(photo.thumbnail_key, max_bytes=5_000_000)
                assets[f"photo-{photo.id}"] = pdf.Asset(data, "image/jpeg")
    with i18n.use_locale(languages[0]):
        html = render_html(
            report, mode="pdf", languages=languages, photo_src=lambda p: pdf.asset_url(f"photo-{p.id}")
        )
    result = await pdf.render_async(html, assets)
    return result.pdf
