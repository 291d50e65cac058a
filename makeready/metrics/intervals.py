"""Time intervals and calendar months (UTC): the arithmetic behind "how long did it wait, and in which month"."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

Interval = tuple[datetime, datetime]
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
"""The end of an interval still open."""


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def at_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """`intervals` minus `holes` (both unions: sorted, disjoint)."""
    out: list[Interval] = []
    for start, end in intervals:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def by_month(intervals: Iterable[Interval], months: Sequence[date]) -> dict[date, int]:
    """Seconds of `intervals` inside each month of `months`."""
    out = {}
    for month in months:
        lo, hi = at_midnight(month), at_midnight(add_months(month, 1))
        out[month] = sum(max(0, int((min(e, hi) - max(s, lo)).total_seconds())) for s, e in intervals)
    return out


def months_between(start: datetime, end: datetime) -> list[date]:
    """Every month that [start, end) touches."""
    out, month = [], month_start(start.date())
    while at_midnight(month) < end:
        out.append(month)
        month = add_months(month, 1)
    return out
