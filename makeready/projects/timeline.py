"""The milestone timeline as geometry: where each bar, mark, band and tick of the project page's Gantt SVG goes.

Pure functions of the milestones and `today` (no database, no locale), so the picture is tested with constructed
dates. The template (templates/portal/_timeline.html) only draws what this module computes.

- A milestone's planned span runs from its planned start to its due date. The plan stores due dates only, so the
  planned start is the due date of the milestone before it in plan order (the project's submission day for the
  first), never later than its own due date.
- Actual start and completion (the transition timestamps) are marked on the bar; the actual span runs from the
  start to the completion, or to today while the milestone is in progress.
- Health: late = past due and not done; at risk = not started and due within RISK_DAYS from today (today
  included); both are derived on the day, never stored.
- Rows are grouped into bands of consecutive milestones of the same phase, each under a header line with the
  phase's name; today is a vertical line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from makeready.i18n import _, format_date, gettext, join_sentences, label
from makeready.projects.milestones import RISK_WINDOW_DAYS, Health
from makeready.projects.milestones import health as milestone_rule
from makeready.projects.models import MilestoneStatus, Phase

# one window for the picture and for the escalation job, so the timeline never disagrees with the reminders
RISK_DAYS = RISK_WINDOW_DAYS
"""A milestone not started and due within this many days from today is at risk."""

# Layout, in SVG user units (the SVG scales to the page width through its viewBox).
WIDTH = 960
LABEL_WIDTH = 250
RIGHT_PAD = 20
AXIS_HEIGHT = 30
PHASE_HEADER = 20
ROW_HEIGHT = 36
BAR_TOP = 6
BAR_HEIGHT = 14
ACTUAL_HEIGHT = 5
BOTTOM_PAD = 8
MIN_BAR = 3.0
MARGIN_DAYS = 3
MIN_SPAN_DAYS = 14


def health(status: MilestoneStatus, due: date | None, today: date, *, risk_days: int = RISK_DAYS) -> Health:
    """The milestone rule (`milestones.health`), with a started, on-track milestone drawn as in progress."""
    found = milestone_rule(status, due, today, window_days=risk_days)
    if found == Health.on_track and status == MilestoneStatus.in_progress:
        return Health.in_progress
    return found


@dataclass(frozen=True)
class Step:
    """What the timeline needs of one milestone (built from a Milestone row by `steps_of`, or by hand in tests)."""

    id: int
    phase: Phase
    title: str
    status: MilestoneStatus
    due_date: date | None
    started_at: datetime | date | None = None
    completed_at: datetime | date | None = None
    owner: str = ""


def steps_of(milestones: Iterable[Any]) -> list[Step]:
    """Milestone rows (plan order, owners loaded) as Steps."""
    return [
        Step(
            id=m.id,
            phase=m.phase,
            title=m.title,
            status=m.status,
            due_date=m.due_date,
            started_at=m.started_at,
            completed_at=m.completed_at,
            owner=m.owner.display_name if m.owner is not None else "",
        )
        for m in milestones
    ]


def _day(value: datetime | date | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value


@dataclass(frozen=True)
class Bar:
    """One milestone's row: its planned bar, actual span and marks, in SVG coordinates."""

    step: Step
    row: int
    health: Health
    planned_start: date | None
    top: float
    """Top of the row."""
    y: float
    """Top of the planned bar."""
    x: float | None
    """Left of the planned bar; None when the milestone has no due date (no bar, only the label)."""
    width: float
    started_x: float | None
    completed_x: float | None
    actual_x: float | None
    actual_width: float

    @property
    def end_x(self) -> float | None:
        return None if self.x is None else round(self.x + self.width, 1)

    @property
    def actual_y(self) -> float:
        """Top of the actual span, under the planned bar."""
        return round(self.y + BAR_HEIGHT + 3, 1)

    @property
    def mid_y(self) -> float:
        return round(self.y + BAR_HEIGHT / 2, 1)

    @property
    def title_y(self) -> float:
        """Baseline of the title in the label column."""
        return round(self.top + 15, 1)

    @property
    def owner_y(self) -> float:
        """Baseline of the owner's name under the title."""
        return round(self.top + 29, 1)

    @property
    def tooltip(self) -> str:
        """The row's tooltip in the current language: translated sentences joined as the language joins them
        (no spaces between Chinese sentences, full-width punctuation from the catalogs)."""
        step = self.step
        sentences = [
            _("%(milestone)s: %(health)s.")
            % {"milestone": gettext(step.title), "health": label(self.health)},
            _("Owner: %(owner)s.") % {"owner": step.owner or "—"},
        ]
        if step.due_date:
            sentences.append(
                _("Planned from %(start)s to %(due)s.")
                % {"start": format_date(self.planned_start), "due": format_date(step.due_date)}
            )
        if step.started_at:
            sentences.append(_("Started on %(date)s.") % {"date": format_date(step.started_at)})
        if step.completed_at:
            sentences.append(_("Completed on %(date)s.") % {"date": format_date(step.completed_at)})
        return join_sentences(sentences)


@dataclass(frozen=True)
class Band:
    """Consecutive rows of one phase under a header line with the phase's name, shaded behind the bars."""

    phase: Phase
    first_row: int
    rows: int
    y: float
    height: float
    index: int
    """Position among the bands (alternate shading)."""

    @property
    def label_y(self) -> float:
        return round(self.y + PHASE_HEADER - 6, 1)


@dataclass(frozen=True)
class Tick:
    day: date
    x: float


@dataclass(frozen=True)
class Timeline:
    start: date
    end: date
    today: date
    bars: list[Bar]
    bands: list[Band]
    ticks: list[Tick]
    today_x: float | None
    """None when today lies outside the drawn range (never, as today is always part of it)."""
    width: int = WIDTH
    height: float = 0.0
    chart_left: int = LABEL_WIDTH
    chart_right: int = WIDTH - RIGHT_PAD
    top: int = AXIS_HEIGHT

    @property
    def chart_bottom(self) -> float:
        return round(self.height - BOTTOM_PAD, 1)

    @property
    def counts(self) -> dict[Health, int]:
        out = {h: 0 for h in Health}
        for bar in self.bars:
            out[bar.health] += 1
        return out


def planned_starts(steps: Sequence[Step], origin: date) -> list[date | None]:
    """Each step's planned start: the previous dated step's due date (`origin` for the first), never after its
    own due date; None for a step without a due date."""
    out: list[date | None] = []
    previous = origin
    for step in steps:
        if step.due_date is None:
            out.append(None)
            continue
        out.append(min(previous, step.due_date))
        previous = step.due_date
    return out


def _ticks(start: date, end: date) -> list[date]:
    span = (end - start).days
    days: list[date] = []
    if span <= 60:
        # weekly, on Mondays
        day = start + timedelta(days=(7 - start.weekday()) % 7)
        while day <= end:
            days.append(day)
            day += timedelta(days=7)
        return days
    step_months = 1 if span <= 240 else 2 if span <= 480 else 3
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, month - 12
        if (month - 1) % step_months:
            continue
        day = date(year, month, 1)
        if day > end:
            return days
        days.append(day)


def build(steps: Sequence[Step], *, today: date, origin: date | None = None) -> Timeline:
    """Lay out the steps (in plan order) around `today`; `origin` is the day the project was submitted."""
    dated = [s.due_date for s in steps if s.due_date is not None]
    origin = origin or (min(dated) if dated else today)
    starts = planned_starts(steps, origin)
    days: list[date] = [today, origin, *dated]
    for step in steps:
        days.extend(d for d in (_day(step.started_at), _day(step.completed_at)) if d is not None)
    start = min(days) - timedelta(days=MARGIN_DAYS)
    end = max(days) + timedelta(days=MARGIN_DAYS)
    if (end - start).days < MIN_SPAN_DAYS:
        end = start + timedelta(days=MIN_SPAN_DAYS)
    span = (end - start).days
    left, right = LABEL_WIDTH, WIDTH - RIGHT_PAD

    def x(day: date) -> float:
        return round(left + (day - start).days / span * (right - left), 1)

    bars: list[Bar] = []
    bands: list[Band] = []
    cursor = float(AXIS_HEIGHT)
    for row, (step, planned) in enumerate(zip(steps, starts, strict=True)):
        if not bands or bands[-1].phase != step.phase:
            bands.append(Band(step.phase, row, 0, cursor, float(PHASE_HEADER), len(bands)))
            cursor += PHASE_HEADER
        band = bands[-1]
        bands[-1] = Band(
            band.phase, band.first_row, band.rows + 1, band.y, band.height + ROW_HEIGHT, band.index
        )
        top = cursor
        cursor += ROW_HEIGHT
        bar_x: float | None = None
        width = 0.0
        if step.due_date is not None and planned is not None:
            bar_x = x(planned)
            width = round(max(x(step.due_date) - bar_x, MIN_BAR), 1)
        started, completed = _day(step.started_at), _day(step.completed_at)
        actual_x: float | None = None
        actual_width = 0.0
        if started is not None:
            finish = completed or (today if step.status != MilestoneStatus.done else started)
            actual_x = x(started)
            actual_width = round(max(x(max(finish, started)) - actual_x, MIN_BAR), 1)
        bars.append(
            Bar(
                step=step,
                row=row,
                health=health(step.status, step.due_date, today),
                planned_start=planned,
                top=round(top, 1),
                y=round(top + BAR_TOP, 1),
                x=bar_x,
                width=width,
                started_x=x(started) if started is not None else None,
                completed_x=x(completed) if completed is not None else None,
                actual_x=actual_x,
                actual_width=actual_width,
            )
        )

    height = max(cursor, AXIS_HEIGHT + ROW_HEIGHT) + BOTTOM_PAD
    return Timeline(
        start=start,
        end=end,
        today=today,
        bars=bars,
        bands=bands,
        ticks=[Tick(day, x(day)) for day in _ticks(start, end)],
        today_x=x(today) if start <= today <= end else None,
        height=round(height, 1),
    )
