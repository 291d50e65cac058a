"""Factory links as the coordinator reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.db.types import utcnow
from makeready.factory_links.common import is_expired, is_live
from makeready.specs.models import FactoryLink, FactoryQuestion, LinkState, SpecRevision
from makeready.specs.service import current_issued
from makeready.suppliers.models import Supplier

# --------------------------------------------------------------------------------------------------------------
# Reading, for the coordinator


@dataclass
class LinkRow:
    link: FactoryLink
    revision: SpecRevision
    supplier: Supplier

    def state(self, now: datetime) -> str:
        if self.link.state == LinkState.revoked:
            return "revoked"
        if is_expired(self.link, now):
            return "expired"
        return "live"


@dataclass
class Unopened:
    """A supplier who has not opened the current issued revision: sent but unopened, or not sent it at all."""

    supplier: Supplier
    link: FactoryLink | None
    """Their live link to the current revision, unopened; None when they only have links to older revisions."""
    last_label: str
    """The label of the newest revision they were sent."""


async def links_of(session: AsyncSession, project_id: int) -> list[LinkRow]:
    """The project's links, newest first, with revision and supplier (one statement)."""
    rows = await session.execute(
        select(FactoryLink, SpecRevision, Supplier)
        .join(SpecRevision, SpecRevision.id == FactoryLink.revision_id)
        .join(Supplier, Supplier.id == FactoryLink.supplier_id)
        .where(FactoryLink.project_id == project_id)
        .order_by(FactoryLink.created_at.desc(), FactoryLink.id.desc())
    )
    return [LinkRow(link, revision, supplier) for link, revision, supplier in rows.all()]


def unopened_suppliers_of(
    rows: list[LinkRow], current: SpecRevision | None, *, now: datetime
) -> list[Unopened]:
    """From the project's links: suppliers who have not opened the current revision (see Unopened)."""
    if current is None:
        return []
    by_supplier: dict[int, list[LinkRow]] = {}
    for row in rows:
        by_supplier.setdefault(row.supplier.id, []).append(row)
    found = []
    for supplier_rows in by_supplier.values():
        on_current = [r for r in supplier_rows if r.revision.id == current.id]
        if any(r.link.first_opened_at is not None for r in on_current):
            continue
        live = next((r.link for r in on_current if is_live(r.link, now)), None)
        newest = max(supplier_rows, key=lambda r: r.revision.number)
        found.append(Unopened(supplier_rows[0].supplier, live, newest.revision.label))
    found.sort(key=lambda u: u.supplier.name_en.lower())
    return found


async def unopened_suppliers(
    session: AsyncSession, project_id: int, *, now: datetime | None = None
) -> list[Unopened]:
    """Suppliers with a link on this project who have not opened its current issued revision."""
    current = await current_issued(session, project_id)
    return unopened_suppliers_of(await links_of(session, project_id), current, now=now or utcnow())


async def questions_of(session: AsyncSession, project_id: int) -> list[tuple[FactoryQuestion, Supplier]]:
    """The project's factory questions, unanswered first then newest, with the supplier each came from."""
    rows = await session.execute(
        select(FactoryQuestion, Supplier)
        .join(FactoryLink, FactoryLink.id == FactoryQuestion.link_id)
        .join(Supplier, Supplier.id == FactoryLink.supplier_id)
        .where(FactoryQuestion.project_id == project_id)
        .order_by(FactoryQuestion.answered_at.is_not(None), FactoryQuestion.created_at.desc())
    )
    return [(question, supplier) for question, supplier in rows.all()]
