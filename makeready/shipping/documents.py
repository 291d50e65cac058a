"""A shipment's documents: the commercial invoice and the packing list, as a web page and a PDF, in both languages.

`build_data` freezes the numbers (order, lots, packing lists, declared value) when the coordinator generates them;
the page and the PDF are rendered from that frozen data with one template per document
(templates/shipping/<kind>.html), both languages side by side (the reader's first). The PDF goes through the spec
PDF's fenced renderer (makeready.specs.pdf: a URL fetcher that serves only our font, a worker process), with the CJK
face embedded the same way.

A PDF takes 1.5-6 s to render, so `cached_pdf` keeps it in storage, like the spec PDF (makeready.specs.documents),
keyed by a sha256 of everything that goes into it (`pdf_inputs`: the frozen data, the kind, the language order, the
templates and the catalogs): the first request renders and stores it, later ones read the stored bytes. Generating
the documents again (after a packing list or the shipment's terms changed) freezes new data, hence a new key; a
changed template or translation makes new keys too. The objects are cache objects (`storage.keys.cache_key`,
org/<id>/cache/shipping-pdf/<hash>/<name>): no row points at them, and the periodic sweep evicts those not written
for 30 days (superseded copies go; a document still wanted is rendered again by its next request).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
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
from makeready.specs.documents import MAX_PDF_BYTES, PDF_TYPE, catalog_version
from makeready.specs.models import SpecRevision
from makeready.storage import get_storage
from makeready.storage.keys import cache_key
from makeready.suppliers.models import Supplier

log = logging.getLogger("makeready.shipping")

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
    """The document as a PDF, rendered in the worker pool with only our font reachable (`cached_pdf` keeps it)."""
    html = render_html(document, mode="pdf", languages=languages)
    result = await pdf.render_async(html, {})
    return result.pdf


@lru_cache(maxsize=1)
def template_fingerprint() -> str:
    """sha256 of the shipping templates (a changed template makes new PDFs); read once per process."""
    digest = hashlib.sha256()
    for path in sorted((spec_document.TEMPLATES / "shipping").glob("*.html")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pdf_inputs(document: ShipmentDocument, languages: tuple[str, str]) -> dict[str, Any]:
    """Everything that goes into the PDF, as JSON data."""
    return {
        "kind": document.kind,
        "data": document.data,
        "languages": list(languages),
        "templates": template_fingerprint(),
        "catalogs": catalog_version(),
        "renderer": pdf.FONT_FAMILY,
    }


def pdf_key(document: ShipmentDocument, languages: tuple[str, str]) -> str:
    """The stored PDF's key: the shipment's organization, a hash of `pdf_inputs`, the document's number."""
    body = json.dumps(
        pdf_inputs(document, languages), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    digest = hashlib.sha256(body.encode()).hexdigest()
    return cache_key(document.org_id, "shipping-pdf", digest[:32], download_name(document))


async def cached_pdf(document: ShipmentDocument, *, languages: tuple[str, str]) -> bytes:
    """The document's PDF: the stored copy when this content was rendered before, else rendered and stored.

    Storage that cannot be reached is no reason to refuse the document: it is rendered, and stored next time."""
    key = pdf_key(document, languages)
    storage = get_storage()
    try:
        return await storage.read(key, max_bytes=MAX_PDF_BYTES)
    except FileNotFoundError:
        pass  # not rendered for this content yet: render it below
    except Exception:
        log.warning("could not read the cached PDF %s", key, exc_info=True)
    data = await render_pdf(document, languages=languages)
    try:
        await storage.put(key, data, content_type=PDF_TYPE)
    except Exception:
        log.warning("could not cache the PDF %s", key, exc_info=True)
    return data


def download_name(document: ShipmentDocument) -> str:
    return f"{document.number}.pdf"
