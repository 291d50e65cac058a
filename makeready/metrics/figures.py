"""The figures, read from `metric_facts` (and the milestones for slip) with a fixed number of statements whatever
the number of projects or events. Every reader's session is scoped as usual, so a brand reads its own projects'
facts only.

Percentiles are nearest-rank: the median of n values is the ceil(n/2)-th smallest, the 90th percentile the
ceil(0.9 n)-th; computed in SQL (PostgreSQL's percentile_disc, ranks from a window function on SQLite). Waiting by party is the
union of a project's open asks on that party, minus its holds, cut into calendar months (UTC).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Organization, User
from makeready.audit.models import AuditEvent
from makeready.metrics.intervals import (
    Interval,
    add_months,
    at_midnight,
    by_month,
    month_start,
    subtract,
    union,
)
from makeready.metrics.kinds import BY_NAME, DECISION_KINDS, FIRST_PASS_KINDS, HOLD, PARTIES, WITHDRAWN
from makeready.metrics.models import MetricFact, MetricWait
from makeready.projects.models import Milestone, MilestoneStatus, Project

# -- periods and filters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole calendar months, `first` to `last` inclusive (both the first day of their month)."""

    first: date
    last: date

    @classmethod
    def ending(cls, today: date, months: int = 6) -> Period:
        last = month_start(today)
        return cls(add_months(last, -(months - 1)), last)

    @property
    def start(self) -> datetime:
        return at_midnight(self.first)

    @property
    def end(self) -> datetime:
        return at_midnight(add_months(self.last, 1))

    @property
    def months(self) -> list[date]:
        out, month = [], self.first
        while month <= self.last:
            out.append(month)
            month = add_months(month, 1)
        return out


@dataclass(frozen=True)
class Filters:
    period: Period
    org_id: int | None = None
    coordinator_id: int | None = None
    supplier_id: int | None = None
    """Projects that worked with this factory (selected it, or have asks involving it)."""
    project_id: int | None = None
    facts_of_supplier: bool = False
    """Only the facts about `supplier_id` itself (the supplier's scorecard), not its projects' other asks."""


def projects_of(filters: Filters) -> Select[Any] | None:
    """The ids of the projects the filters select, or None for every project in the caller's scope."""
    conditions = []
    if filters.project_id is not None:
        conditions.append(Project.id == filters.project_id)
    if filters.org_id is not None:
        conditions.append(Project.org_id == filters.org_id)
    if filters.coordinator_id is not None:
        conditions.append(Project.coordinator_id == filters.coordinator_id)
    if filters.supplier_id is not None and not filters.facts_of_supplier:
        worked_with = select(MetricFact.project_id).where(MetricFact.supplier_id == filters.supplier_id)
        conditions.append(or_(Project.supplier_id == filters.supplier_id, Project.id.in_(worked_with)))
    if not conditions:
        return None
    return select(Project.id).where(*conditions)


def _fact_filters(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    projects = projects_of(filters)
    if projects is not None:
        conditions.append(MetricFact.project_id.in_(projects))
    if filters.facts_of_supplier and filters.supplier_id is not None:
        conditions.append(MetricFact.supplier_id == filters.supplier_id)
    return conditions


# -- decision latency ----------------------------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (what the SQL computes; for tests and small lists)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-round(fraction * 100) * len(ordered) // 100))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    kind: str
    label: str
    party: str
    decided: int
    median_s: int | None
    p90_s: int | None
    open: int


async def latency(
    session: AsyncSession, filters: Filters, *, kinds: Iterable[str] | None = None
) -> list[Latency]:
    """Per kind: how many asks were decided in the period, the median and 90th percentile of asked -> decided,
    and how many are still open. Kinds with nothing decided and nothing open are left out. Two statements."""
    names = list(kinds) if kinds is not None else [k.name for k in DECISION_KINDS]
    decided = [
        MetricFact.kind.in_(names),
        MetricFact.latency_s.is_not(None),
        MetricFact.closed_at >= filters.period.start,
        MetricFact.closed_at < filters.period.end,
        *_fact_filters(filters),
    ]
    stats: dict[str, dict[str, int]] = defaultdict(dict)
    if session.get_bind().dialect.name == "postgresql":
        # percentile_disc is nearest-rank too, and two to three times faster than ranking every row
        rows = await session.execute(
            select(
                MetricFact.kind,
                func.count(),
                func.percentile_disc(0.5).within_group(MetricFact.latency_s),
                func.percentile_disc(0.9).within_group(MetricFact.latency_s),
            )
            .where(*decided)
            .group_by(MetricFact.kind)
        )
        for kind, n, median, p90 in rows:
            stats[kind] = {"n": int(n), "median": int(median), "p90": int(p90)}
    else:
        ranked = (
            select(
                MetricFact.kind,
                MetricFact.latency_s,
                func.row_number()
                .over(partition_by=MetricFact.kind, order_by=(MetricFact.latency_s, MetricFact.id))
                .label("rank"),
                func.count().over(partition_by=MetricFact.kind).label("n"),
            )
            .where(*decided)
            .subquery()
        )
        ranks = await session.execute(
            select(ranked.c.kind, ranked.c.n, ranked.c.rank, ranked.c.latency_s).where(
                or_(ranked.c.rank == (ranked.c.n + 1) // 2, ranked.c.rank == (ranked.c.n * 9 + 9) // 10)
            )
        )
        for kind, n, rank, value in ranks:
            stats[kind]["n"] = n
            if rank == (n + 1) // 2:
                stats[kind]["median"] = value
            if rank == (n * 9 + 9) // 10:
                stats[kind]["p90"] = value
    open_counts = dict(
        (
            await session.execute(
                select(MetricFact.kind, func.count())
                .where(
                    MetricFact.kind.in_(names),
                    MetricFact.closed_seq.is_(None),
                    MetricFact.asked_at < filters.period.end,
                    *_fact_filters(filters),
                )
                .group_by(MetricFact.kind)
            )
        ).all()
    )
    out = []
    for name in names:
        kind = BY_NAME[name]
        found = stats.get(name, {})
        if not found and not open_counts.get(name):
            continue
        out.append(
            Latency(
                name,
                kind.label,
                kind.party,
                found.get("n", 0),
                found.get("median"),
                found.get("p90"),
                int(open_counts.get(name, 0)),
            )
        )
    return out


# -- first-pass rates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstPass:
    kind: str
    label: str
    first_decided: int
    passed: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.first_decided if self.first_decided else None


async def first_pass(
    session: AsyncSession, filters: Filters, *, kinds: Iterable[str] | None = None
) -> list[FirstPass]:
    """Per kind with a passing decision: of the first attempts decided in the period, how many passed. One
    statement. Withdrawn asks are no attempt."""
    names = list(kinds) if kinds is not None else [k.name for k in FIRST_PASS_KINDS]
    rows = await session.execute(
        select(MetricFact.kind, func.count(), func.sum(case((MetricFact.passed.is_(True), 1), else_=0)))
        .where(
            MetricFact.kind.in_(names),
            MetricFact.attempt == 1,
            MetricFact.closed_seq.is_not(None),
            MetricFact.outcome != WITHDRAWN,
            MetricFact.closed_at >= filters.period.start,
            MetricFact.closed_at < filters.period.end,
            *_fact_filters(filters),
        )
        .group_by(MetricFact.kind)
    )
    found = {kind: (int(n), int(passed or 0)) for kind, n, passed in rows}
    return [FirstPass(n, BY_NAME[n].label, *found[n]) for n in names if n in found]


# -- waiting by party ----------------------------------------------------------------------------------------------


@dataclass
class Waiting:
    months: list[date]
    by_month: dict[date, dict[str, int]] = field(default_factory=dict)
    """Month -> party -> seconds waited, summed over the projects."""
    by_project: dict[int, dict[str, int]] = field(default_factory=dict)
    """Project -> party -> seconds waited in the period."""

    @property
    def empty(self) -> bool:
        return not any(any(parties.values()) for parties in self.by_month.values())

    def largest_month(self) -> int:
        return max((sum(p.values()) for p in self.by_month.values()), default=0)


async def waiting_from_facts(session: AsyncSession, filters: Filters, *, now: datetime) -> Waiting:
    """How long the selected projects waited on the brand, the agency and the factory in each month of the
    period: per project, the union of its open asks on that party, minus the time it was on hold. An ask still
    open waits until `now`. One statement."""
    period = filters.period
    end = min(period.end, now)
    rows = await session.execute(
        select(
            MetricFact.project_id,
            MetricFact.kind,
            MetricFact.party,
            MetricFact.asked_at,
            MetricFact.closed_at,
        )
        .where(
            MetricFact.project_id.is_not(None),
            or_(MetricFact.party.in_(PARTIES), MetricFact.kind == HOLD),
            MetricFact.asked_at < end,
            or_(MetricFact.closed_at.is_(None), MetricFact.closed_at >= period.start),
            *_fact_filters(filters),
        )
        .order_by(MetricFact.project_id)
    )
    spans: dict[int, dict[str, list[Interval]]] = defaultdict(lambda: defaultdict(list))
    for project_id, kind, party, asked_at, closed_at in rows:
        if project_id is None:
            continue
        span = (max(asked_at, period.start), min(closed_at or end, end))
        spans[project_id][HOLD if kind == HOLD else party].append(span)
    report = Waiting(months=period.months)
    report.by_month = {month: dict.fromkeys(PARTIES, 0) for month in report.months}
    for project_id, parties in spans.items():
        holds = union(parties.get(HOLD, []))
        totals = dict.fromkeys(PARTIES, 0)
        for party in PARTIES:
            waited = subtract(union(parties.get(party, [])), holds)
            for month, seconds in by_month(waited, report.months).items():
                report.by_month[month][party] += seconds
                totals[party] += seconds
        report.by_project[project_id] = totals
    return report


def _open_part(since: datetime, period: Period, now: datetime) -> dict[date, int]:
    start, end = max(since, period.start), min(now, period.end)
    if end <= start:
        return {}
    return by_month([(start, end)], period.months)


async def waiting(
    session: AsyncSession, filters: Filters, *, now: datetime, project_ids: Sequence[int] = ()
) -> Waiting:
    """The same figures as `waiting_from_facts`, read from the rows `facts.roll_up` keeps per project and month
    (closed time) plus each wait still going on (counted until `now`); `by_project` only for `project_ids` (a
    page of the projects table). Three statements whatever the number of asks."""
    period = filters.period
    projects = projects_of(filters)
    scoped = [MetricWait.project_id.in_(projects)] if projects is not None else []
    report = Waiting(months=period.months)
    report.by_month = {month: dict.fromkeys(PARTIES, 0) for month in report.months}
    closed = await session.execute(
        select(MetricWait.month, MetricWait.party, func.sum(MetricWait.seconds))
        .where(MetricWait.month >= period.first, MetricWait.month <= period.last, *scoped)
        .group_by(MetricWait.month, MetricWait.party)
    )
    for month, party, seconds in closed:
        if month in report.by_month and party in PARTIES:
            report.by_month[month][party] += int(seconds or 0)
    wanted = set(project_ids)
    report.by_project = {pid: dict.fromkeys(PARTIES, 0) for pid in wanted}
    going_on = await session.execute(
        select(MetricWait.project_id, MetricWait.party, MetricWait.open_since).where(
            MetricWait.open_since.is_not(None), MetricWait.open_since < min(now, period.end), *scoped
        )
    )
    for project_id, party, since in going_on:
        if party not in PARTIES or since is None:
            continue
        for month, seconds in _open_part(since, period, now).items():
            report.by_month[month][party] += seconds
            if project_id in wanted:
                report.by_project[project_id][party] += seconds
    if wanted:
        per_project = await session.execute(
            select(MetricWait.project_id, MetricWait.party, func.sum(MetricWait.seconds))
            .where(
                MetricWait.project_id.in_(sorted(wanted)),
                MetricWait.month >= period.first,
                MetricWait.month <= period.last,
            )
            .group_by(MetricWait.project_id, MetricWait.party)
        )
        for project_id, party, seconds in per_project:
            if party in PARTIES:
                report.by_project[project_id][party] += int(seconds or 0)
    return report


# -- slip ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slip:
    project_id: int
    milestone_id: int
    title: str
    due: date
    done: date | None
    days: int
    """Days late (done or today minus due; negative: early). Open and not yet due: 0."""


@dataclass(frozen=True)
class SlipSummary:
    rows: list[Slip]
    truncated: bool = False
    """More milestones were due than one page reads: the figures cover the first ones by due date."""

    @property
    def completed(self) -> int:
        return sum(1 for r in self.rows if r.done is not None)

    @property
    def on_time(self) -> int:
        return sum(1 for r in self.rows if r.done is not None and r.days <= 0)

    @property
    def late_open(self) -> int:
        return sum(1 for r in self.rows if r.done is None and r.days > 0)

    @property
    def median_days(self) -> float | None:
        return nearest_rank([r.days for r in self.rows if r.done is not None], 0.5)

    @property
    def p90_days(self) -> float | None:
        return nearest_rank([r.days for r in self.rows if r.done is not None], 0.9)


async def slip(session: AsyncSession, filters: Filters, *, today: date, limit: int = 5000) -> SlipSummary:
    """Milestones due in the period: planned (due date) against actual (completed), and those still open past
    their due date. One statement; bounded by `limit`."""
    projects = projects_of(filters)
    query = (
        select(
            Milestone.project_id, Milestone.id, Milestone.title, Milestone.due_date, Milestone.completed_at
        )
        .where(
            Milestone.due_date.is_not(None),
            Milestone.due_date >= filters.period.first,
            Milestone.due_date < add_months(filters.period.last, 1),
            or_(Milestone.status == MilestoneStatus.done, Milestone.due_date < today),
        )
        .order_by(Milestone.due_date, Milestone.id)
        .limit(limit)
    )
    if projects is not None:
        query = query.where(Milestone.project_id.in_(projects))
    rows = []
    for project_id, milestone_id, title, due, completed_at in await session.execute(query):
        assert due is not None  # filtered above
        done = completed_at.date() if completed_at is not None else None
        days = ((done or today) - due).days
        rows.append(Slip(project_id, milestone_id, title, due, done, days))
    return SlipSummary(rows, truncated=len(rows) >= limit)


@dataclass(frozen=True)
class DueMove:
    at: datetime
    milestone_id: int | None
    before: str
    after: str
    reason: str


async def due_moves(session: AsyncSession, project_id: int, *, limit: int = 200) -> list[DueMove]:
    """A project's milestone due dates moved, with their reasons, from the audit trail (newest first)."""
    rows = await session.execute(
        select(
            AuditEvent.created_at,
            AuditEvent.subject_id,
            AuditEvent.before,
            AuditEvent.after,
            AuditEvent.reason,
        )
        .where(AuditEvent.project_id == project_id, AuditEvent.action == "milestone.assigned")
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    )
    moves = []
    for at, subject_id, before, after, reason in rows:
        old, new = (before or {}).get("due_date"), (after or {}).get("due_date")
        if old != new and "due_date" in (after or {}):
            moves.append(DueMove(at, subject_id, str(old or "—"), str(new or "—"), reason))
    return moves


# -- the projects table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRow:
    id: int
    name: str
    client: str
    coordinator: str
    waited: dict[str, int]


async def project_rows(
    session: AsyncSession, filters: Filters, *, offset: int, limit: int
) -> tuple[list[ProjectRow], int]:
    """A page of the selected projects (by name); what they waited on is filled in by the caller. Two
    statements."""
    base = select(Project.id)
    projects = projects_of(filters)
    if projects is not None:
        base = base.where(Project.id.in_(projects))
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = await session.execute(
        select(
            Project.id, Project.name, Organization.name, func.coalesce(func.nullif(User.name, ""), User.email)
        )
        .join(Organization, Organization.id == Project.org_id)
        .outerjoin(User, User.id == Project.coordinator_id)
        .where(Project.id.in_(base))
        .order_by(Project.name, Project.id)
        .offset(offset)
        .limit(limit)
    )
    return [
        ProjectRow(pid, name, client, coordinator or "", dict.fromkeys(PARTIES, 0))
        for pid, name, client, coordinator in rows
    ], int(total)


def days(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 86400, 1)


def hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)
