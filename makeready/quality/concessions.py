"""Concessions the brand agreed, as notes for the billing page and the invoices of their project (issue #13).

A concession's amount is a note, not a change of money: the invoice's amount stays Stripe's. One statement per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.billing.models import Invoice, MilestoneFee
from makeready.i18n import N_, _, format_money
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.models import Project
from makeready.quality.models import Inspection, InspectionStatus

NOTE = N_("Concession agreed on inspection %(inspection)s of lot %(lot)s: %(concession)s, %(amount)s")
NOTE_WITHOUT_AMOUNT = N_("Concession agreed on inspection %(inspection)s of lot %(lot)s: %(concession)s")


@dataclass(frozen=True)
class ConcessionNote:
    project_id: int
    project_name: str
    inspection: str
    lot: int
    concession: str
    amount: Decimal | None
    currency: str

    @property
    def text(self) -> str:
        """The note in the current language (plain text: the templates escape it)."""
        params = {"inspection": self.inspection, "lot": self.lot, "concession": self.concession}
        if self.amount is None:
            return _(NOTE_WITHOUT_AMOUNT) % params
        return _(NOTE) % {**params, "amount": format_money(self.amount, self.currency)}


async def concession_notes(session: AsyncSession, org_id: int) -> list[ConcessionNote]:
    """The organization's concessions, oldest first (through the caller's scope)."""
    rows = await session.execute(
        select(Inspection, Lot.number, ProductionOrder.currency, Project.name)
        .join(Lot, Lot.id == Inspection.lot_id)
        .join(ProductionOrder, ProductionOrder.id == Inspection.order_id)
        .join(Project, Project.id == Inspection.project_id)
        .where(
            Inspection.org_id == org_id,
            Inspection.status == InspectionStatus.accepted_with_concession,
        )
        .order_by(Inspection.decided_at, Inspection.id)
    )
    return [
        ConcessionNote(
            project_id=inspection.project_id,
            project_name=project_name,
            inspection=inspection.reference,
            lot=lot_number,
            concession=inspection.concession,
            amount=inspection.concession_amount,
            currency=currency,
        )
        for inspection, lot_number, currency, project_name in rows.all()
    ]


async def notes_by_invoice(
    session: AsyncSession, invoices: Sequence[Invoice], notes: Sequence[ConcessionNote]
) -> dict[int, list[ConcessionNote]]:
    """Each milestone-fee invoice's notes: the concessions of the fee's project (a subscription's have none)."""
    fee_ids = {invoice.fee_id for invoice in invoices if invoice.fee_id is not None}
    if not notes or not fee_ids:
        return {}
    project_of_fee = dict(
        (
            await session.execute(
                select(MilestoneFee.id, MilestoneFee.project_id).where(MilestoneFee.id.in_(fee_ids))
            )
        ).all()
    )
    by_project: dict[int, list[ConcessionNote]] = {}
    for note in notes:
        by_project.setdefault(note.project_id, []).append(note)
    return {
        invoice.id: by_project[project_of_fee[invoice.fee_id]]
        for invoice in invoices
        if invoice.fee_id is not None and by_project.get(project_of_fee.get(invoice.fee_id, -1))
    }
