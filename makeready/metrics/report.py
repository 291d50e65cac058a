"""The figures a page shows, assembled once for the HTML page and its CSV downloads: the agency dashboard (any
filter), one project's figures (the brand's project page), and a supplier's scorecard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.i18n import _
from makeready.metrics import figures
from makeready.metrics.figures import Filters, Period
from makeready.metrics.kinds import PARTIES, PARTY_LABELS

MAX_MONTHS = 36
"""The longest period a page reads (a bounded amount of work per request)."""

Table = tuple[list[str], list[list[object]]]


@dataclass
class Report:
    filters: Filters
    latency: list[figures.Latency]
    first_pass: list[figures.FirstPass]
    waiting: figures.Waiting
    slip: figures.SlipSummary
    projects: list[figures.ProjectRow] = field(default_factory=list)
    total: int = 0
    moves: list[figures.DueMove] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing happened in the period: the page says so rather than showing zeros."""
        return not (self.latency or self.first_pass or self.slip.rows) and self.waiting.empty


async def dashboard(
    session: AsyncSession, filters: Filters, *, now: datetime, offset: int = 0, limit: int = 50
) -> Report:
    """The agency's figures for the filters, with a page of its projects. A fixed number of statements."""
    projects, total = await figures.project_rows(session, filters, offset=offset, limit=limit)
    waiting = await figures.waiting(session, filters, now=now, project_ids=[p.id for p in projects])
    for row in projects:
        row.waited.update(waiting.by_project[row.id])
    return Report(
        filters=filters,
        latency=await figures.latency(session, filters),
        first_pass=await figures.first_pass(session, filters),
        waiting=waiting,
        slip=await figures.slip(session, filters, today=now.date()),
        projects=projects,
        total=total,
    )


def project_period(created: date, today: date) -> Period:
    first = max(
        figures.month_start(created), figures.add_months(figures.month_start(today), -(MAX_MONTHS - 1))
    )
    return Period(first, figures.month_start(today))


async def project(session: AsyncSession, project_id: int, *, created: date, now: datetime) -> Report:
    """One project's figures since it was created (at most MAX_MONTHS), with its due-date moves."""
    filters = Filters(project_period(created, now.date()), project_id=project_id)
    return Report(
        filters=filters,
        latency=await figures.latency(session, filters),
        first_pass=await figures.first_pass(session, filters),
        waiting=await figures.waiting(session, filters, now=now),
        slip=await figures.slip(session, filters, today=now.date()),
        moves=await figures.due_moves(session, project_id),
    )


SCORECARD_KINDS = ("sample_making", "sample_approval", "factory_acknowledgement", "factory_question")


@dataclass(frozen=True)
class Scorecard:
    latency: list[figures.Latency]
    first_pass: list[figures.FirstPass]

    @property
    def empty(self) -> bool:
        return not (self.latency or self.first_pass)


async def scorecard(session: AsyncSession, supplier_id: int, *, today: date) -> Scorecard:
    """A supplier's record from the trail over the last MAX_MONTHS: how long its samples took, how soon it
    acknowledged a spec, how its first samples fared, and how long its questions waited on us."""
    filters = Filters(Period.ending(today, MAX_MONTHS), supplier_id=supplier_id, facts_of_supplier=True)
    return Scorecard(
        latency=await figures.latency(session, filters, kinds=SCORECARD_KINDS),
        first_pass=await figures.first_pass(session, filters, kinds=["sample_approval"]),
    )


# -- the tables, for CSV -------------------------------------------------------------------------------------------


def latency_table(rows: list[figures.Latency]) -> Table:
    header = [
        _("Decision"),
        _("Waits on"),
        _("Decisions made"),
        _("Median (days)"),
        _("90th percentile (days)"),
        _("Open"),
    ]
    return header, [
        [
            _(r.label),
            _(PARTY_LABELS[r.party]) if r.party else "",
            r.decided,
            figures.days(r.median_s),
            figures.days(r.p90_s),
            r.open,
        ]
        for r in rows
    ]


def first_pass_table(rows: list[figures.FirstPass]) -> Table:
    header = [_("Decision"), _("First attempts decided"), _("Passed first time"), _("Rate (%)")]
    return header, [
        [_(r.label), r.first_decided, r.passed, None if r.rate is None else round(100 * r.rate, 1)]
        for r in rows
    ]


def waiting_table(report: figures.Waiting) -> Table:
    header = [_("Month"), *(_(PARTY_LABELS[p]) + " " + _("(days)") for p in PARTIES)]
    return header, [
        [month.strftime("%Y-%m"), *(figures.days(report.by_month[month][p]) for p in PARTIES)]
        for month in report.months
    ]


def slip_table(summary: figures.SlipSummary) -> Table:
    header = [_("Project"), _("Milestone"), _("Due"), _("Done"), _("Days late")]
    return header, [
        [r.project_id, r.title, r.due.isoformat(), r.done.isoformat() if r.done else "", r.days]
        for r in summary.rows
    ]


def projects_table(rows: list[figures.ProjectRow]) -> Table:
    header = [
        _("Project"),
        _("Client"),
        _("Coordinator"),
        *(_(PARTY_LABELS[p]) + " " + _("(days)") for p in PARTIES),
    ]
    return header, [
        [r.name, r.client, r.coordinator, *(figures.days(r.waited[p]) for p in PARTIES)] for r in rows
    ]


def moves_table(moves: list[figures.DueMove]) -> Table:
    header = [_("When"), _("Milestone"), _("Due before"), _("Due after"), _("Reason")]
    return header, [
        [m.at.isoformat(timespec="minutes"), m.milestone_id, m.before, m.after, m.reason] for m in moves
    ]
