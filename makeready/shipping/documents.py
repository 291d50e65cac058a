"""A shipment's documents: the commercial invoice and the packing list, as a web page and a PDF, in both languages.

`build_data` freezes the numbers (order, lots, packing lists, declared value) when the coordinator generates them;
the page and the PDF are rendered from that frozen data with one template per document
(templates/shipping/<kind>.html), both languages side by side (the reader's first). The PDF goes through the spec
PDF's fenced renderer (makeready.specs.pdf: a URL fetcher that serves only our font, a worker process), with the CJK
face embedded the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Organization
from makeready.db.types import utcnow
from makeready.i18n import N_
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.models import Project
from makeready.shipping.models import PackingList, Shipment, ShipmentDocument
from makeready.specs import document as spec_document
from makeready.specs import pdf
from makeready.specs.content import parse as parse_content
from makeready.specs.models import SpecRevision
from makeready.suppliers.models import Supplier

KINDS = ("commercial_invoice", "packing_list")
TITLES = {"commercial_invoice": N_("Commercial invoice"), "packing_list": N_("Packing list")}
PREFIX = {"commercial_invoice": "CI", "packing_list": "PL"}


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


async def build_data(
    session: AsyncSession,
    kind: str,
    *,
    shipment: Shipment,
    order: ProductionOrder,
    project: Project,
    lots: Sequence[Lot],
    packing: dict[int, PackingList],
) -> dict[str, Any]:
    """The document's numbers and names as plain JSON (frozen on the ShipmentDocument row)."""
    supplier = await session.get(Supplier, order.supplier_id)
    org = await session.get(Organization, order.org_id)
    assert supplier is not None
    assert org is not None
    product_en = product_zh = project.name
    model = ""
    revisions: dict[int, str] = {}
    for lot in lots:
        if lot.revision_id not in revisions:
            revision = await session.get(SpecRevision, lot.revision_id)
            revisions[lot.revision_id] = revision.label if revision is not None else ""
            if revision is not None:
                try:
                    content = parse_content(revision.content)
                except ValueError:
                    content = None
                if content is not None:
                    product_en = content.overview.product_name.en or product_en
                    product_zh = content.overview.product_name.zh or product_en
                    model = content.overview.model_number or model
    unit_value = shipment.unit_value or Decimal("0")
    lines = []
    total_units = total_cartons = 0
    total_net = total_gross = total_volume = Decimal("0")
    for lot in lots:
        listed = packing[lot.id]
        amount = unit_value * listed.total_units
        lines.append(
            {
                "lot": lot.number,
                "revision": revisions.get(lot.revision_id, ""),
                "quantity": listed.total_units,
                "unit_value": str(unit_value),
                "amount": _money(amount),
                "cartons": listed.total_cartons,
                "net_kg": str(listed.total_net_kg),
                "gross_kg": str(listed.total_gross_kg),
                "volume_m3": str(listed.total_volume_m3),
                "marks": listed.marks,
                "rows": [dict(row) for row in listed.rows],
            }
        )
        total_units += listed.total_units
        total_cartons += listed.total_cartons
        total_net += Decimal(listed.total_net_kg)
        total_gross += Decimal(listed.total_gross_kg)
        total_volume += Decimal(listed.total_volume_m3)
    now = utcnow()
    return {
        "kind": kind,
        "number": f"{PREFIX[kind]}-{shipment.reference}",
        "date": now.date().isoformat(),
        "shipment": shipment.reference,
        "order": order.reference,
        "project": project.name,
        "product_en": product_en,
        "product_zh": product_zh,
        "model": model,
        "seller_en": supplier.name_en,
        "seller_zh": supplier.name_zh,
        "seller_city": supplier.city,
        "buyer": org.name,
        "delivery_address": order.delivery_address,
        "incoterm": order.incoterm.value,
        "payment_terms": order.payment_terms,
        "currency": shipment.currency,
        "forwarder": shipment.forwarder,
        "booking_number": shipment.booking_number,
        "transport": shipment.transport,
        "container_or_awb": shipment.container_or_awb,
        "port_of_loading": shipment.port_of_loading,
        "port_of_destination": shipment.port_of_destination,
        "etd": shipment.etd.isoformat() if shipment.etd else "",
        "eta": shipment.eta.isoformat() if shipment.eta else "",
        "lines": lines,
        "total_units": total_units,
        "total_cartons": total_cartons,
        "total_amount": _money(unit_value * total_units),
        "total_net_kg": str(total_net),
        "total_gross_kg": str(total_gross),
        "total_volume_m3": str(total_volume),
    }


def languages_for(locale: str) -> tuple[str, str]:
    return ("zh_Hans", "en") if locale.startswith("zh") else ("en", "zh_Hans")


def render_html(document: ShipmentDocument, *, mode: str, languages: tuple[str, str]) -> str:
    """The document as HTML (mode "web" for the page, "pdf" for the renderer); stored text is autoescaped."""
    if mode not in ("web", "pdf"):
        raise ValueError(f"mode must be 'web' or 'pdf', not {mode!r}")
    template = spec_document.environment().get_template(f"shipping/{document.kind}.html")
    return template.render(
        {
            "d": document.data,
            "title": TITLES[document.kind],
            "mode": mode,
            "languages": languages,
            "both": spec_document.both(languages),
            "lang_attr": spec_document.lang_attr,
            "css_string": spec_document.css_string,
            "num": spec_document.fmt_number,
            "N_": N_,
        }
    )


async def render_pdf(document: ShipmentDocument, *, languages: tuple[str, str]) -> bytes:
    """The document as a PDF, rendered in the worker pool with only our font reachable."""
    html = render_html(document, mode="pdf", languages=languages)
    result = await pdf.render_async(html, {})
    return result.pdf


def download_name(document: ShipmentDocument) -> str:
    return f"{document.number}.pdf"
