"""Quotes side by side at one quantity: landed unit cost, cheapest and fastest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.projects.models import Project
from makeready.suppliers.common import require_staff_session as _require_staff_session
from makeready.suppliers.models import Quote, QuoteStatus
from makeready.suppliers.quotes import get_project, list_quotes


@dataclass
class QuoteRow:
    """One quote in the comparison, with its figures at the compared quantity (None where they cannot be
    computed: no prices yet, or a quantity below the first price break)."""

    quote: Quote
    break_quantity: int | None = None
    unit_price: Decimal | None = None
    tooling_per_unit: Decimal | None = None
    landed_unit_cost: Decimal | None = None
    landed_total: Decimal | None = None
    below_first_break: bool = False
    moq: int | None = None
    moq_exceeds: bool = False
    ranked: bool = False
    """Takes part in the cheapest/fastest highlights."""
    other_currency: bool = False
    cheapest: bool = False
    fastest: bool = False

    @property
    def breaks(self) -> list[tuple[int, Decimal]]:
        """The quote's price breaks as (quantity, unit price), by quantity."""
        pairs = [(int(b["quantity"]), Decimal(str(b["unit_price"]))) for b in self.quote.price_breaks or []]
        return sorted(pairs)


@dataclass
class Comparison:
    project: Project
    quantity: int | None
    rows: list[QuoteRow]

    @property
    def priced(self) -> list[QuoteRow]:
        return [r for r in self.rows if r.landed_unit_cost is not None]


def applicable_break(price_breaks: Sequence[Mapping[str, Any]], quantity: int) -> Mapping[str, Any] | None:
    """The price break that applies to an order of `quantity`: the one with the largest quantity not above it.
    None when the quantity is below every break (the supplier gave no price for so few)."""
    best = None
    for entry in sorted(price_breaks, key=lambda b: int(b["quantity"])):
        if int(entry["quantity"]) <= quantity:
            best = entry
    return best


def landed_cost(quote: Quote, quantity: int) -> QuoteRow:
    """The quote's figures for an order of `quantity`: landed unit cost = unit price at the applicable break +
    tooling cost / quantity (tooling is paid once and spread over the order; none given counts as none);
    landed total = landed unit cost x quantity. The MOQ is the quote's, else the one in the supplier's entry."""
    row = QuoteRow(quote=quote)
    row.moq = quote.min_order_quantity or (quote.supplier.min_order_quantity if quote.supplier else None)
    row.moq_exceeds = row.moq is not None and row.moq > quantity
    if not quote.price_breaks:
        return row
    entry = applicable_break(quote.price_breaks, quantity)
    if entry is None:
        row.below_first_break = True
        return row
    row.break_quantity = int(entry["quantity"])
    row.unit_price = Decimal(str(entry["unit_price"]))
    row.tooling_per_unit = (quote.tooling_cost or Decimal(0)) / quantity
    row.landed_unit_cost = row.unit_price + row.tooling_per_unit
    row.landed_total = row.unit_price * quantity + (quote.tooling_cost or Decimal(0))
    return row


async def compare_quotes(
    session: AsyncSession, *, project_id: int, quantity: int | None = None
) -> Comparison:
    """The project's quotes side by side at `quantity` (default: the project's target quantity).

    Highlights go to received or selected quotes in the project's currency whose MOQ the quantity meets: the
    lowest landed unit cost is the cheapest, the shortest lead time the fastest (ties share the highlight). A quote
    whose MOQ exceeds the quantity is flagged and left out of the highlights, since it cannot be ordered as is.
    Rows are ordered by status (selected, received, requested, declined), highlighted candidates before flagged
    ones, then by landed unit cost, quotes without one last.
    """
    _require_staff_session(session)
    project = await get_project(session, project_id)
    quantity = quantity or project.target_quantity
    quotes = await list_quotes(session, project.id)
    rows: list[QuoteRow] = []
    for quote in quotes:
        row = landed_cost(quote, quantity) if quantity else QuoteRow(quote=quote)
        row.other_currency = quote.currency != project.currency
        row.ranked = (
            quote.status in (QuoteStatus.received, QuoteStatus.selected)
            and not row.moq_exceeds
            and not row.other_currency
        )
        rows.append(row)
    costs = [r.landed_unit_cost for r in rows if r.ranked and r.landed_unit_cost is not None]
    times = [
        r.quote.lead_time_days
        for r in rows
        if r.quote.status in (QuoteStatus.received, QuoteStatus.selected)
        and not r.moq_exceeds
        and r.quote.lead_time_days is not None
    ]
    for r in rows:
        r.cheapest = bool(costs) and r.ranked and r.landed_unit_cost == min(costs)
        r.fastest = (
            bool(times)
            and r.quote.status in (QuoteStatus.received, QuoteStatus.selected)
            and not r.moq_exceeds
            and r.quote.lead_time_days == min(times)
        )
    status_order = {
        QuoteStatus.selected: 0,
        QuoteStatus.received: 1,
        QuoteStatus.requested: 2,
        QuoteStatus.declined: 3,
    }
    rows.sort(
        key=lambda r: (
            status_order[r.quote.status],
            not r.ranked,
            r.landed_unit_cost is None,
            r.landed_unit_cost or Decimal(0),
            r.quote.id,
        )
    )
    return Comparison(project=project, quantity=quantity, rows=rows)
