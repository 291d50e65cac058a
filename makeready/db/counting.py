"""Counts that stay bounded: a list that offers at most N rows (its pages are capped) needs to know how many rows
there are only up to N, and whether there are more.

`capped_count(query, cap)` counts the rows of `query` but reads at most `cap + 1` of them (a LIMIT inside the
count), so its cost does not grow past the cap whatever the size of the agency: at 100,000 projects the staff
dashboard's count read 98,000 rows (a sequential scan), and "my work" joined 14,000 of a coordinator's milestones to
their projects. A result above `cap` means "more than cap"; pages say so ("2500+").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, Select, func, select


def capped_count(query: Select[Any], cap: int) -> ScalarSelect[int]:
    """How many rows `query` returns, up to `cap + 1` (a scalar subquery, to select beside other counts)."""
    return select(func.count()).select_from(query.limit(cap + 1).subquery()).scalar_subquery()
