"""The cost model of a production approach (pure arithmetic).

The cost is linear in the tooling: cost per unit at quantity q is `unit_cost + tooling_cost / q`. Two approaches
cost the same per unit where `u_a + t_a / q = u_b + t_b / q`, i.e. at `q = (t_b - t_a) / (u_a - u_b)`; below that
the one with less tooling is cheaper, from it on the one with the lower unit cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any, Protocol

# The quantities every comparison shows besides the project's own target.
STANDARD_QUANTITIES: tuple[int, ...] = (500, 1_000, 5_000, 10_000)

CENT = Decimal("0.01")

# -- cost arithmetic (pure) --------------------------------------------------------------------------------------


class Costed(Protocol):
    """What the cost arithmetic needs of an approach (a ProductionApproach, or anything shaped like one)."""

    @property
    def tooling_cost(self) -> Decimal: ...

    @property
    def unit_cost(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


def cost_per_unit(approach: Costed, quantity: int) -> Decimal:
    """Unit cost with the tooling spread over `quantity` units, to the cent (as ProductionApproach.cost_per_unit)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    return (Decimal(approach.unit_cost) + Decimal(approach.tooling_cost) / quantity).quantize(CENT)


@dataclass(frozen=True)
class CostRow:
    approach: Any
    costs: tuple[Decimal, ...]
    """Cost per unit at each of the table's quantities, in the same order."""


@dataclass(frozen=True)
class CostTable:
    quantities: tuple[int, ...]
    rows: tuple[CostRow, ...]
    cheapest: tuple[frozenset[int], ...]
    """For each quantity, the indexes of the rows that cost least per unit there (ties share it)."""


def cost_table(approaches: Iterable[Costed], quantities: Iterable[int]) -> CostTable:
    """Cost per unit of every approach at every quantity (ascending, each once), and the cheapest per quantity."""
    qs = tuple(sorted(set(quantities)))
    if any(q <= 0 for q in qs):
        raise ValueError("quantities must be positive")
    rows = tuple(CostRow(a, tuple(cost_per_unit(a, q) for q in qs)) for a in approaches)
    cheapest = []
    for column in range(len(qs)):
        if not rows:
            cheapest.append(frozenset[int]())
            continue
        least = min(row.costs[column] for row in rows)
        cheapest.append(frozenset(i for i, row in enumerate(rows) if row.costs[column] == least))
    return CostTable(qs, rows, tuple(cheapest))


@dataclass(frozen=True)
class BreakEven:
    """Where two approaches' cost-per-unit lines cross."""

    exact: Decimal
    """The crossing quantity, (t_high - t_low) / (u_low_tooling - u_high_tooling), to 2 decimals."""
    quantity: int
    """The first whole quantity at which `high_tooling` costs no more per unit than `low_tooling`."""
    low_tooling: Any
    """Cheaper below `quantity`: the approach with less tooling."""
    high_tooling: Any
    """Cheaper from `quantity` on: the approach with the lower unit cost."""


def break_even(a: Costed, b: Costed) -> BreakEven | None:
    """The quantity where `a` and `b` cost the same per unit, or None when their lines never cross at a positive
    quantity: one costs no more in both tooling and unit cost (it is cheaper or equal everywhere), or they are
    priced in different currencies (no rate to compare them by)."""
    if a.currency != b.currency:
        return None
    ta, tb = Decimal(a.tooling_cost), Decimal(b.tooling_cost)
    ua, ub = Decimal(a.unit_cost), Decimal(b.unit_cost)
    if ta == tb or ua == ub:
        return None  # parallel lines, or equal at infinite volume: one is never worse
    low, high = (a, b) if ta < tb else (b, a)
    t_low, t_high = min(ta, tb), max(ta, tb)
    u_low, u_high = (ua, ub) if low is a else (ub, ua)
    if u_high >= u_low:
        return None  # more tooling and no cheaper per unit: dominated at every quantity
    exact = (t_high - t_low) / (u_low - u_high)
    return BreakEven(
        exact=exact.quantize(CENT),
        quantity=int(exact.to_integral_value(rounding=ROUND_CEILING)),
        low_tooling=low,
        high_tooling=high,
    )


def comparison_quantities(target: int | None) -> tuple[int, ...]:
    """The standard quantities plus the project's target, ascending."""
    return tuple(sorted({*STANDARD_QUANTITIES, *([target] if target else [])}))


def pairs(items: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Every unordered pair, in order: (0, 1), (0, 2), (1, 2), ..."""
    return [(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))]


def log_space(low: float, high: float, count: int) -> list[float]:
    """`count` numbers from low to high, evenly spaced on a log scale (for cost curves)."""
    if count < 2 or low <= 0 or high <= low:
        raise ValueError("need 2 or more points over a positive, increasing range")
    step = (math.log(high) - math.log(low)) / (count - 1)
    return [math.exp(math.log(low) + i * step) for i in range(count)]
