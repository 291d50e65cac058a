"""A project's budget, assembled: every line quoted or actual, converted to the project's currency, per category.

Where each figure comes from (nothing is typed twice):

| category | quoted | actual |
| --- | --- | --- |
| product | the selected quote's unit price at the applicable break x the quantity (the orders' total, else the project's target quantity) | each production order past draft (not cancelled): unit price x quantity |
| tooling | the selected quote's tooling cost | entries |
| materials | entries | each purchase order past draft (not cancelled): sum of quantity x unit cost |
| inspection, freight, other | entries | entries (neither inspections nor shipments hold a cost) |
| fees to the client | every milestone fee not cancelled | the fees invoiced |

Entries add to either column of any category. A line in another currency is converted at the rate recorded on the
entry (entries) or for the project (`BudgetRate`, derived lines) and rounded half up to the project currency's
minor unit, line by line, before summing; a derived line whose currency has no rate is listed as unconverted and
left out of the totals. Voided entries do not count. Margin = fees invoiced - actual agency costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.billing import money
from makeready.billing.models import FeeStatus, MilestoneFee
from makeready.budget.models import BudgetCategory, BudgetEntry, BudgetKind, BudgetRate, EntryStatus
from makeready.i18n import N_, _, label
from makeready.materials.models import PurchaseOrder, PurchaseOrderLine, PurchaseStatus
from makeready.production.models import OrderStatus, ProductionOrder
from makeready.projects.models import Project
from makeready.suppliers.comparison import applicable_break
from makeready.suppliers.models import Quote, QuoteStatus

SOURCES = {
    "quote": N_("Selected quote"),
    "production_order": N_("Production order"),
    "purchase_order": N_("Materials purchase order"),
    "fee": N_("Milestone fee"),
    "entry": N_("Entry"),
}
UNCOMMITTED_ORDER = (OrderStatus.draft, OrderStatus.cancelled)
UNCOMMITTED_PURCHASE = (PurchaseStatus.draft, PurchaseStatus.cancelled)


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-money.precision(currency))


def convert(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """`amount` x `rate`, rounded half up to `currency`'s minor unit (the project's currency)."""
    return (amount * rate).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def rate_text(rate: Decimal | None) -> str:
    """1.08430000 -> "1.0843", 1.00000000 -> "1" (never "1E+5")."""
    return "" if rate is None else f"{rate.normalize():f}"


@dataclass
class Line:
    """One figure of the budget: where it came from, in its own currency and converted."""

    category: BudgetCategory | None
    """None for a fee to the client."""
    kind: BudgetKind
    source: str
    """"quote", "production_order", "purchase_order", "fee" or "entry"."""
    reference: str
    amount: Decimal
    currency: str
    rate: Decimal | None
    converted: Decimal | None
    """None when no rate is recorded for the currency: not in the totals."""
    entry: BudgetEntry | None = None


@dataclass
class Row:
    category: BudgetCategory
    quoted: Decimal
    actual: Decimal

    @property
    def variance(self) -> Decimal:
        """Positive when it costs more than quoted."""
        return self.actual - self.quoted


@dataclass
class Budget:
    project: Project
    currency: str
    rows: list[Row]
    lines: list[Line]
    entries: list[BudgetEntry]
    """Every entry, voided ones too (the page lists them struck through)."""
    rates: dict[str, BudgetRate]
    fees_quoted: Decimal
    fees_invoiced: Decimal
    unconverted: list[Line] = field(default_factory=list)

    @property
    def quoted_costs(self) -> Decimal:
        return sum((r.quoted for r in self.rows), Decimal(0))

    @property
    def actual_costs(self) -> Decimal:
        return sum((r.actual for r in self.rows), Decimal(0))

    @property
    def variance(self) -> Decimal:
        return self.actual_costs - self.quoted_costs

    @property
    def quoted_margin(self) -> Decimal:
        return self.fees_quoted - self.quoted_costs

    @property
    def margin(self) -> Decimal:
        """Fees invoiced to the client - the agency's actual costs."""
        return self.fees_invoiced - self.actual_costs

    @property
    def missing_rates(self) -> list[str]:
        return sorted({line.currency for line in self.unconverted})


async def budget_of(session: AsyncSession, project: Project) -> Budget:
    """The staff's budget of a project (seven statements, whatever the number of orders and entries)."""
    currency = project.currency.upper()
    rates = {
        r.currency: r
        for r in (await session.scalars(select(BudgetRate).where(BudgetRate.project_id == project.id))).all()
    }

    def derived(
        category: BudgetCategory | None,
        kind: BudgetKind,
        source: str,
        reference: str,
        amount: Decimal,
        cur: str,
    ) -> Line:
        cur = (cur or currency).upper()
        rate = Decimal(1) if cur == currency else (rates[cur].rate if cur in rates else None)
        converted = convert(amount, rate, currency) if rate is not None else None
        return Line(category, kind, source, reference, amount, cur, rate, converted)

    lines: list[Line] = []
    orders = list(
        (
            await session.scalars(
                select(ProductionOrder)
                .where(
                    ProductionOrder.project_id == project.id, ProductionOrder.status != OrderStatus.cancelled
                )
                .order_by(ProductionOrder.number)
            )
        ).all()
    )
    quote = await session.scalar(
        select(Quote).where(Quote.project_id == project.id, Quote.status == QuoteStatus.selected).limit(1)
    )
    quantity = sum(o.quantity for o in orders) or project.target_quantity or 0
    if quote is not None:
        entry = applicable_break(quote.price_breaks, quantity) if quantity else None
        if entry is not None:
            unit = Decimal(str(entry["unit_price"]))
            lines.append(
                derived(
                    BudgetCategory.product,
                    BudgetKind.quoted,
                    "quote",
                    f"{quantity} x {unit}",
                    unit * quantity,
                    quote.currency,
                )
            )
        if quote.tooling_cost:
            lines.append(
                derived(
                    BudgetCategory.tooling, BudgetKind.quoted, "quote", "", quote.tooling_cost, quote.currency
                )
            )
    for order in orders:
        if order.status in UNCOMMITTED_ORDER or order.unit_price is None:
            continue
        lines.append(
            derived(
                BudgetCategory.product,
                BudgetKind.actual,
                "production_order",
                f"{order.reference} · {order.quantity} x {order.unit_price.normalize():f}",
                order.unit_price * order.quantity,
                order.currency,
            )
        )
    purchases = (
        await session.execute(
            select(PurchaseOrder, PurchaseOrderLine)
            .join(PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
            .where(
                PurchaseOrder.project_id == project.id,
                PurchaseOrder.status.not_in(UNCOMMITTED_PURCHASE),
                PurchaseOrderLine.unit_cost.is_not(None),
            )
            .order_by(PurchaseOrder.id, PurchaseOrderLine.id)
        )
    ).all()
    per_po: dict[int, tuple[PurchaseOrder, Decimal]] = {}
    for po, po_line in purchases:
        _, total = per_po.get(po.id, (po, Decimal(0)))
        per_po[po.id] = (po, total + po_line.quantity * (po_line.unit_cost or 0))
    for po, total in per_po.values():
        lines.append(
            derived(
                BudgetCategory.materials,
                BudgetKind.actual,
                "purchase_order",
                f"{po.reference} · {po.supplier_name}",
                total,
                po.currency,
            )
        )
    fees = await fees_of(session, project)
    fee_lines = []
    for fee in fees:
        amount = money.from_minor(fee.amount_minor, fee.currency)
        fee_lines.append(derived(None, BudgetKind.quoted, "fee", fee.description, amount, fee.currency))
        if fee.status == FeeStatus.invoiced:
            fee_lines.append(derived(None, BudgetKind.actual, "fee", fee.description, amount, fee.currency))
    entries = list(
        (
            await session.scalars(
                select(BudgetEntry).where(BudgetEntry.project_id == project.id).order_by(BudgetEntry.id)
            )
        ).all()
    )
    for e in entries:
        if e.status != EntryStatus.active:
            continue
        lines.append(
            Line(
                e.category,
                e.kind,
                "entry",
                e.note,
                e.amount,
                e.currency,
                e.rate,
                convert(e.amount, e.rate, currency),
                entry=e,
            )
        )
    totals = {(c, k): Decimal(0) for c in BudgetCategory for k in BudgetKind}
    unconverted = []
    for line in lines:
        if line.converted is None:
            unconverted.append(line)
        elif line.category is not None:
            totals[(line.category, line.kind)] += line.converted
    fee_totals = {k: Decimal(0) for k in BudgetKind}
    for line in fee_lines:
        if line.converted is None:
            unconverted.append(line)
        else:
            fee_totals[line.kind] += line.converted
    rows = [Row(c, totals[(c, BudgetKind.quoted)], totals[(c, BudgetKind.actual)]) for c in BudgetCategory]
    return Budget(
        project=project,
        currency=currency,
        rows=rows,
        lines=lines + fee_lines,
        entries=entries,
        rates=rates,
        fees_quoted=fee_totals[BudgetKind.quoted],
        fees_invoiced=fee_totals[BudgetKind.actual],
        unconverted=unconverted,
    )


async def fees_of(session: AsyncSession, project: Project) -> list[MilestoneFee]:
    """The project's milestone fees to the client, not cancelled: what the brand pays (the brand's view too)."""
    return list(
        (
            await session.scalars(
                select(MilestoneFee)
                .where(MilestoneFee.project_id == project.id, MilestoneFee.status != FeeStatus.canceled)
                .order_by(MilestoneFee.id)
            )
        ).all()
    )


@dataclass
class BrandFees:
    """What the brand pays on a project, and nothing else: its fees and their totals per currency."""

    fees: list[MilestoneFee]
    planned: dict[str, Decimal]
    """Every fee not cancelled."""
    invoiced: dict[str, Decimal]


async def brand_fees(session: AsyncSession, project: Project) -> BrandFees:
    """The brand's view of a project's budget (one statement): never a cost, a supplier's price, a rate or the
    margin, because it reads nothing but the fees."""
    fees = await fees_of(session, project)
    planned: dict[str, Decimal] = {}
    invoiced: dict[str, Decimal] = {}
    for fee in fees:
        amount = money.from_minor(fee.amount_minor, fee.currency)
        planned[fee.currency] = planned.get(fee.currency, Decimal(0)) + amount
        if fee.status == FeeStatus.invoiced:
            invoiced[fee.currency] = invoiced.get(fee.currency, Decimal(0)) + amount
    return BrandFees(fees, planned, invoiced)


def table_rows(budget: Budget) -> tuple[list[str], list[list[object]]]:
    """The staff table (per category, then the totals and the margin) for the CSV export: amounts as numbers in
    the project's currency."""
    header = [_("Category"), _("Quoted"), _("Actual"), _("Variance"), _("Currency")]
    rows: list[list[object]] = [
        [label(r.category), r.quoted, r.actual, r.variance, budget.currency] for r in budget.rows
    ]
    rows.append(
        [_("Agency costs"), budget.quoted_costs, budget.actual_costs, budget.variance, budget.currency]
    )
    rows.append(
        [
            _("Fees to the client"),
            budget.fees_quoted,
            budget.fees_invoiced,
            budget.fees_invoiced - budget.fees_quoted,
            budget.currency,
        ]
    )
    rows.append([_("Margin"), budget.quoted_margin, budget.margin, None, budget.currency])
    return header, rows


def line_rows(budget: Budget) -> tuple[list[str], list[list[object]]]:
    """Every line behind the table, with its own currency, the rate and the converted amount."""
    header = [
        _("Category"),
        _("Quoted or actual"),
        _("Source"),
        _("Reference or note"),
        _("Amount"),
        _("Currency"),
        _("Rate"),
        _("In %(currency)s") % {"currency": budget.currency},
    ]
    rows: list[list[object]] = [
        [
            label(line.category) if line.category is not None else _("Fees to the client"),
            label(line.kind),
            _(SOURCES[line.source]),
            line.reference,
            line.amount,
            line.currency,
            line.rate,
            line.converted,
        ]
        for line in budget.lines
    ]
    return header, rows
