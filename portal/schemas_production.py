"""JSON shapes of the production API: orders, lots and progress reports (documented in the OpenAPI schema).

A brand never sees the factory's unit price: `OrderOut.unit_price` is left out of brand responses altogether
(msgspec omits an UNSET field), and is present for staff tokens only.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import msgspec

from makeready.production.models import Lot, ProductionOrder, ProductionPhoto, ProgressReport
from portal.bounds import RowId


class ProductionPhotoOut(msgspec.Struct):
    id: int
    caption: str
    thumbnail_url: str
    """A JPEG of at most 480x480 pixels (same authentication as the API)."""
    image_url: str
    """Redirects to a short-lived link to the whole (verified, re-encoded) photo."""

    @classmethod
    def of(cls, photo: ProductionPhoto) -> ProductionPhotoOut:
        return cls(
            id=photo.id,
            caption=photo.caption,
            thumbnail_url=f"/production/photos/{photo.id}/thumbnail",
            image_url=f"/production/photos/{photo.id}/image",
        )


class LotOut(msgspec.Struct):
    id: int
    order_id: int
    number: int
    quantity: int
    planned_start: date
    planned_end: date
    status: str
    progress: dict[str, int]
    """The latest report's counts per routing step (the reports are the record)."""
    produced: int
    """Units produced: the count of the routing step that says so (the one before packing)."""
    last_report_at: datetime | None
    started_at: datetime | None
    version: int

    @classmethod
    def of(cls, lot: Lot, produced: int) -> LotOut:
        return cls(
            id=lot.id,
            order_id=lot.order_id,
            number=lot.number,
            quantity=lot.quantity,
            planned_start=lot.planned_start,
            planned_end=lot.planned_end,
            status=lot.status.value,
            progress={str(k): int(v) for k, v in (lot.progress or {}).items()},
            produced=produced,
            last_report_at=lot.last_report_at,
            started_at=lot.started_at,
            version=lot.version,
        )


class OrderOut(msgspec.Struct):
    id: int
    project_id: int
    reference: str
    """PO-<project>-<number>, as people name the order."""
    number: int
    supplier_id: int
    supplier_name: str
    revision_id: int
    """The issued spec revision the order is pinned to."""
    status: str
    quantity: int
    currency: str
    incoterm: str
    ex_factory_date: date
    delivery_address: str
    payment_terms: str
    routing: list[str]
    """The steps each lot reports progress at, in order."""
    confirmed_at: datetime | None
    sent_at: datetime | None
    accepted_at: datetime | None
    proposed_ex_factory_date: date | None
    """A date the factory proposed, waiting for the coordinator's answer."""
    version: int
    lots: list[LotOut]
    unit_price: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    """The factory's unit price: in staff responses only (a brand never sees the agency's costs)."""

    @classmethod
    def of(cls, order: ProductionOrder, *, supplier_name: str, lots: list[LotOut], staff: bool) -> OrderOut:
        return cls(
            id=order.id,
            project_id=order.project_id,
            reference=order.reference,
            number=order.number,
            supplier_id=order.supplier_id,
            supplier_name=supplier_name,
            revision_id=order.revision_id,
            status=order.status.value,
            quantity=order.quantity,
            currency=order.currency,
            incoterm=order.incoterm.value,
            ex_factory_date=order.ex_factory_date,
            delivery_address=order.delivery_address,
            payment_terms=order.payment_terms,
            routing=list(order.routing or []),
            confirmed_at=order.confirmed_at,
            sent_at=order.sent_at,
            accepted_at=order.accepted_at,
            proposed_ex_factory_date=order.proposed_ex_factory_date,
            version=order.version,
            lots=lots,
            unit_price=order.unit_price if staff else msgspec.UNSET,
        )


class ProgressReportOut(msgspec.Struct):
    id: int
    lot_id: int
    reported_at: datetime
    counts: dict[str, int]
    note: str
    reporter_name: str
    via_link: bool
    """Whether the factory reported it through its production link (else a coordinator did)."""
    photos: list[ProductionPhotoOut]

    @classmethod
    def of(cls, report: ProgressReport, photos: list[ProductionPhoto]) -> ProgressReportOut:
        return cls(
            id=report.id,
            lot_id=report.lot_id,
            reported_at=report.reported_at,
            counts={str(k): int(v) for k, v in (report.counts or {}).items()},
            note=report.note,
            reporter_name=report.reporter_name,
            via_link=report.via_link,
            photos=[ProductionPhotoOut.of(p) for p in photos],
        )


class OrderCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A draft order from the project's selected quote, pinned to its issued revision (staff tokens only)."""

    ex_factory_date: date
    quantity: int | None = None
    """Defaults to the project's target quantity."""
    unit_price: Decimal | None = None
    """Defaults to the quote's price at this quantity."""
    currency: str | None = None
    incoterm: str | None = None
    delivery_address: str = ""
    payment_terms: str = ""
    routing: list[str] | None = None
    """The progress steps; default cut, assembled, finished, packed."""


class OrderPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Edit a draft or confirmed order (staff tokens only); a change the brand confirmed sends it back to draft."""

    version: RowId
    """The version the change was based on; a stale one is a 409 carrying the current version."""
    quantity: int | msgspec.UnsetType = msgspec.UNSET
    unit_price: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    currency: str | msgspec.UnsetType = msgspec.UNSET
    incoterm: str | msgspec.UnsetType = msgspec.UNSET
    ex_factory_date: date | msgspec.UnsetType = msgspec.UNSET
    delivery_address: str | msgspec.UnsetType = msgspec.UNSET
    payment_terms: str | msgspec.UnsetType = msgspec.UNSET
    routing: list[str] | msgspec.UnsetType = msgspec.UNSET


class LotCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new lot of the order; the lots never sum to more than the order (staff tokens only)."""

    quantity: int
    planned_start: date
    planned_end: date


class ProgressIn(msgspec.Struct, forbid_unknown_fields=True):
    """A progress report for a lot in production, entered by a coordinator for the factory (staff tokens only)."""

    counts: dict[str, int]
    """Units done so far at each routing step (totals, not since the last report)."""
    note: str = ""
    """Required when the report shows fewer units than the last one."""
    reporter_name: str = ""
