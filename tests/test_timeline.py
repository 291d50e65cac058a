"""The milestone timeline's geometry (makeready.projects.timeline) for constructed dates and a fixed `today`: bars
placed from their dates, late and at-risk health, actual marks, phase bands, ticks; and the SVG the project page
draws from it, with its accessible title and table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from makeready import i18n
from makeready.projects import timeline
from makeready.projects.models import MilestoneStatus, Phase
from makeready.projects.timeline import Health, Step

TODAY = date(2026, 3, 10)
ORIGIN = date(2026, 3, 1)


def step(
    n: int,
    due: date | None,
    status: MilestoneStatus = MilestoneStatus.planned,
    *,
    phase: Phase = Phase.feasibility,
    started: date | None = None,
    completed: date | None = None,
    owner: str = "",
) -> Step:
    def at(day: date | None) -> datetime | None:
        return datetime(day.year, day.month, day.day, 10, tzinfo=UTC) if day else None

    return Step(
        id=n,
        phase=phase,
        title=f"Step {n}",
        status=status,
        due_date=due,
        started_at=at(started),
        completed_at=at(completed),
        owner=owner,
    )


def x_of(picture: timeline.Timeline, day: date) -> float:
    """The x of a day, from the picture's own range: a linear map of days onto the chart's width."""
    span = (picture.end - picture.start).days
    return round(
        picture.chart_left + (day - picture.start).days / span * (picture.chart_right - picture.chart_left), 1
    )


@pytest.mark.parametrize(
    ("status", "due", "expected"),
    [
        (MilestoneStatus.done, TODAY - timedelta(days=30), Health.done),
        (MilestoneStatus.planned, TODAY - timedelta(days=1), Health.late),
        (MilestoneStatus.in_progress, TODAY - timedelta(days=1), Health.late),
        (MilestoneStatus.planned, TODAY, Health.at_risk),
        (MilestoneStatus.planned, TODAY + timedelta(days=timeline.RISK_DAYS), Health.at_risk),
        (MilestoneStatus.planned, TODAY + timedelta(days=timeline.RISK_DAYS + 1), Health.on_track),
        (MilestoneStatus.in_progress, TODAY + timedelta(days=2), Health.in_progress),
        (MilestoneStatus.planned, None, Health.unscheduled),
    ],
)
def test_health_is_late_past_due_and_at_risk_within_seven_days_when_not_started(
    status: MilestoneStatus, due: date | None, expected: Health
) -> None:
    assert timeline.health(status, due, TODAY) == expected


def test_planned_start_is_the_previous_due_date_never_after_its_own() -> None:
    steps = [
        step(1, date(2026, 3, 5)),
        step(2, None),
        step(3, date(2026, 3, 20)),
        step(4, date(2026, 3, 15)),  # due before the one before it: starts on its own due date
    ]
    assert timeline.planned_starts(steps, ORIGIN) == [ORIGIN, None, date(2026, 3, 5), date(2026, 3, 15)]


def test_bars_are_placed_from_their_dates() -> None:
    third_due = TODAY + timedelta(days=timeline.RISK_DAYS)  # not started and inside the risk window
    steps = [
        step(1, date(2026, 3, 5), MilestoneStatus.done, started=date(2026, 3, 1), completed=date(2026, 3, 6)),
        step(2, date(2026, 3, 9), MilestoneStatus.in_progress, started=date(2026, 3, 7)),
        step(3, third_due, phase=Phase.development, owner="Chen Wei"),
        step(4, date(2026, 4, 30), phase=Phase.development),
    ]
    picture = timeline.build(steps, today=TODAY, origin=ORIGIN)

    # the range covers the origin, every date and today, with a margin either side
    assert picture.start == ORIGIN - timedelta(days=timeline.MARGIN_DAYS)
    assert picture.end == date(2026, 4, 30) + timedelta(days=timeline.MARGIN_DAYS)
    first, second, third, fourth = picture.bars

    assert first.x == x_of(picture, ORIGIN)
    assert first.end_x == pytest.approx(x_of(picture, date(2026, 3, 5)), abs=0.11)
    assert second.x == x_of(picture, date(2026, 3, 5))
    assert third.x == x_of(picture, date(2026, 3, 9))
    assert fourth.x == x_of(picture, third_due)
    assert fourth.end_x == pytest.approx(x_of(picture, date(2026, 4, 30)), abs=0.11)
    # later dates are further right, and widths grow with the number of days
    xs = [bar.x for bar in picture.bars]
    assert xs == sorted(x for x in xs if x is not None)
    assert fourth.width > third.width

    # actual start and completion are marked; an open milestone's actual span runs to today
    assert first.started_x == x_of(picture, date(2026, 3, 1))
    assert first.completed_x == x_of(picture, date(2026, 3, 6))
    assert second.completed_x is None
    assert second.actual_x == x_of(picture, date(2026, 3, 7))
    assert second.actual_width == pytest.approx(
        x_of(picture, TODAY) - x_of(picture, date(2026, 3, 7)), abs=0.11
    )
    assert third.started_x is None
    assert third.actual_x is None

    assert picture.today_x == x_of(picture, TODAY)
    assert [b.health for b in picture.bars] == [Health.done, Health.late, Health.at_risk, Health.on_track]
    assert picture.counts[Health.late] == 1
    assert picture.counts[Health.at_risk] == 1


def test_rows_are_grouped_into_phase_bands() -> None:
    steps = [
        step(1, date(2026, 3, 5)),
        step(2, date(2026, 3, 9)),
        step(3, date(2026, 3, 15), phase=Phase.development),
        step(4, date(2026, 3, 20), phase=Phase.production),
        step(5, date(2026, 3, 25), phase=Phase.production),
    ]
    picture = timeline.build(steps, today=TODAY, origin=ORIGIN)
    assert [(b.phase, b.first_row, b.rows) for b in picture.bands] == [
        (Phase.feasibility, 0, 2),
        (Phase.development, 2, 1),
        (Phase.production, 3, 2),
    ]
    # bands stack without gaps; each row sits inside its band, below the band's header line
    for band, following in zip(picture.bands, picture.bands[1:], strict=False):
        assert band.y + band.height == following.y
    for bar in picture.bars:
        band = next(b for b in picture.bands if b.first_row <= bar.row < b.first_row + b.rows)
        assert band.y + timeline.PHASE_HEADER <= bar.top < band.y + band.height
        assert bar.y + timeline.BAR_HEIGHT <= band.y + band.height
    assert picture.height == picture.bands[-1].y + picture.bands[-1].height + timeline.BOTTOM_PAD


def test_undated_milestones_get_no_bar_and_short_plans_a_minimum_span() -> None:
    picture = timeline.build([step(1, None), step(2, TODAY + timedelta(days=2))], today=TODAY, origin=TODAY)
    assert picture.bars[0].x is None
    assert picture.bars[0].health == Health.unscheduled
    assert (picture.end - picture.start).days >= timeline.MIN_SPAN_DAYS
    assert picture.bars[1].width >= timeline.MIN_BAR


def test_ticks_fall_inside_the_range_in_order() -> None:
    short = timeline.build([step(1, TODAY + timedelta(days=20))], today=TODAY, origin=TODAY)
    assert short.ticks
    assert all(t.day.weekday() == 0 for t in short.ticks)  # weekly, on Mondays
    long = timeline.build([step(1, TODAY + timedelta(days=150))], today=TODAY, origin=TODAY)
    assert all(t.day.day == 1 for t in long.ticks)  # month starts
    for picture in (short, long):
        xs = [t.x for t in picture.ticks]
        assert xs == sorted(xs)
        assert all(picture.start <= t.day <= picture.end for t in picture.ticks)
        assert all(picture.chart_left <= x <= picture.chart_right for x in xs)


def test_the_svg_draws_the_geometry_with_titles_and_a_table() -> None:
    """The partial renders the computed picture: classes for late and at risk, a <title> per bar, today's line."""
    from portal.app import build_jinja
    from portal.projects_pages import tick_label

    steps = [
        step(1, TODAY - timedelta(days=2), owner="Chen Wei"),
        step(2, TODAY + timedelta(days=3), phase=Phase.development, owner="<b>Maya</b>"),
    ]
    picture = timeline.build(steps, today=TODAY, origin=ORIGIN)
    env = build_jinja()
    env.globals["csrf_token"] = lambda: "token"
    html = env.get_template("portal/_timeline.html").render(
        timeline_key=(tuple(steps), TODAY, ORIGIN, "Lamp <script>"),
        draw_timeline=lambda: picture,
        project={"name": "Lamp <script>"},
        tick_label=tick_label,
    )
    assert html.count("<svg") == 1
    assert 'role="img"' in html
    assert "Milestone timeline of Lamp &lt;script&gt;" in html
    assert 'class="tl-row ms-late"' in html
    assert 'class="tl-row ms-at_risk"' in html
    assert html.count("<title") == 1 + len(steps) + 1  # the picture, each bar, today
    assert f'x1="{picture.today_x}"' in html
    assert f'x="{picture.bars[1].x}"' in html
    assert "&lt;b&gt;Maya&lt;/b&gt;" in html
    assert "<b>Maya" not in html
    assert '<table class="list milestones"' in html


def test_the_drawn_timeline_is_kept_per_plan_day_name_and_language() -> None:
    """The partial is a kept block: drawn once for the same milestones, day, start and name in one language, and
    drawn anew when any of them changes (an owner renamed, a milestone started, the next day, the other language)."""
    from portal.app import build_jinja
    from portal.projects_pages import tick_label

    env = build_jinja()
    template = env.get_template("portal/_timeline.html")
    drawn: list[str] = []

    def render(steps: list[timeline.Step], today: date = TODAY, name: str = "Lamp") -> str:
        def draw() -> timeline.Timeline:
            drawn.append(name)
            return timeline.build(steps, today=today, origin=ORIGIN)

        return template.render(
            timeline_key=(tuple(steps), today, ORIGIN, name),
            draw_timeline=draw,
            project={"name": name},
            tick_label=tick_label,
        )

    plan = [step(1, TODAY + timedelta(days=20), owner="Chen Wei"), step(2, TODAY + timedelta(days=40))]
    first = render(plan)
    assert render(list(plan)) == first
    assert len(drawn) == 1

    renamed = [step(1, TODAY + timedelta(days=20), owner="Chen Wei Jr"), plan[1]]
    assert "Chen Wei Jr" in render(renamed)
    started = [
        step(1, TODAY + timedelta(days=20), owner="Chen Wei", status=MilestoneStatus.in_progress),
        plan[1],
    ]
    assert "ms-in_progress" in render(started)
    assert "ms-in_progress" not in first
    assert render(plan, today=TODAY + timedelta(days=1)) != first
    assert "Milestone timeline of Desk lamp" in render(plan, name="Desk lamp")
    with i18n.use_locale("zh_Hans"):
        chinese = render(plan)
    assert chinese != first
    assert "里程碑" in chinese
    assert len(drawn) == 6
    assert render(plan) == first
    assert len(drawn) == 6
