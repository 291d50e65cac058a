"""A supplier's track record: past projects, on-time sample rounds and first-pass approvals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.db.types import utcnow
from makeready.projects.models import Milestone, Phase, Project
from makeready.samples.models import SampleRound, SampleStatus
from makeready.suppliers.common import require_staff_session as _require_staff_session

# words that mark a development milestone as the one a sample round is due by (standard plan: "First sample")
SAMPLE_MILESTONE_WORDS = ("sample", "样品", "打样")
DELIVERED_STATES = frozenset({SampleStatus.received, SampleStatus.approved, SampleStatus.rejected})


@dataclass(frozen=True)
class PastProject:
    id: int
    name: str
    phase: Phase
    selected: bool
    """The supplier is the project's selected supplier."""
    made_samples: bool


@dataclass
class Performance:
    """A supplier's record, computed from history by `supplier_performance`. Rates are None without history."""

    rounds_counted: int = 0
    rounds_on_time: int = 0
    projects_decided: int = 0
    projects_first_pass: int = 0
    past_projects: list[PastProject] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.rounds_on_time / self.rounds_counted if self.rounds_counted else None

    @property
    def first_pass_rate(self) -> float | None:
        return self.projects_first_pass / self.projects_decided if self.projects_decided else None


def is_sample_milestone(title: str) -> bool:
    folded = title.casefold()
    return any(word in folded for word in SAMPLE_MILESTONE_WORDS)


async def supplier_performance(
    session: AsyncSession, supplier_ids: Sequence[int], *, today: date | None = None
) -> dict[int, Performance]:
    """Each supplier's on-time rate, sample first-pass rate and past projects, in three queries for any number
    of suppliers (a directory page asks once for all its rows).

    **On-time rate**: of the supplier's sample rounds that can be judged, the share delivered by their due date.
    - A round's *due date* is the due date of its related milestone. The related milestones of a project are its
      development-phase milestones whose title names a sample ("sample", 样品 or 打样; the standard plan has one,
      "First sample"), in plan order: round N relates to the N-th of them, or to the last one when the plan has
      fewer. A round without a related milestone, or whose milestone has no due date, is not judged.
    - A round is *delivered* when it was shipped (`shipped_at`) or, when no shipment was recorded (samples handed
      over in person), received (`received_at`); that day (UTC) is compared with the due date.
    - Delivered on or before the due date: on time. Delivered later: late. Not delivered and the due date has
      passed (before `today`): late, since it can no longer be on time. Not delivered and not yet due: not
      judged yet. Marked received or decided but without either timestamp: not judged (the day is unknown).

    **Sample first-pass rate**: of the projects where the supplier made samples, the share where the supplier's
    first round there (its lowest-numbered round on that project) was approved by the brand. A project whose first
    round from this supplier awaits the brand's decision is not counted.

    **Past projects**: projects where the supplier is the selected supplier or made sample rounds, newest first.

    With nothing to judge a rate is None, which pages show as "no history", never as 0%.
    """
    _require_staff_session(session)
    today = today or utcnow().date()
    ids = sorted(set(supplier_ids))
    result = {supplier_id: Performance() for supplier_id in ids}
    if not ids:
        return result
    rounds = (
        await session.execute(
            select(
                SampleRound.supplier_id,
                SampleRound.project_id,
                SampleRound.number,
                SampleRound.status,
                SampleRound.shipped_at,
                SampleRound.received_at,
            ).where(SampleRound.supplier_id.in_(ids))
        )
    ).all()
    their_projects = select(SampleRound.project_id).where(SampleRound.supplier_id.in_(ids))
    milestones = (
        await session.execute(
            select(Milestone.project_id, Milestone.title, Milestone.due_date)
            .where(Milestone.project_id.in_(their_projects), Milestone.phase == Phase.development)
            .order_by(Milestone.project_id, Milestone.position, Milestone.id)
        )
    ).all()
    projects = (
        await session.execute(
            select(Project.id, Project.name, Project.phase, Project.supplier_id)
            .where(or_(Project.supplier_id.in_(ids), Project.id.in_(their_projects)))
            .order_by(Project.created_at.desc(), Project.id.desc())
        )
    ).all()

    due_dates: dict[int, list[date | None]] = defaultdict(list)
    for m in milestones:
        if is_sample_milestone(m.title):
            due_dates[m.project_id].append(m.due_date)

    first_round: dict[tuple[int, int], Any] = {}
    made_samples: dict[int, set[int]] = defaultdict(set)
    for r in rounds:
        perf = result[r.supplier_id]
        made_samples[r.supplier_id].add(r.project_id)
        key = (r.supplier_id, r.project_id)
        if key not in first_round or r.number < first_round[key].number:
            first_round[key] = r
        related = due_dates.get(r.project_id)
        due = related[min(r.number, len(related)) - 1] if related and r.number >= 1 else None
        if due is None:
            continue
        delivered_at = r.shipped_at or r.received_at
        if delivered_at is not None:
            perf.rounds_counted += 1
            perf.rounds_on_time += delivered_at.date() <= due
        elif r.status not in DELIVERED_STATES and due < today:
            perf.rounds_counted += 1
    for (supplier_id, _project_id), r in first_round.items():
        if r.status in (SampleStatus.approved, SampleStatus.rejected):
            result[supplier_id].projects_decided += 1
            result[supplier_id].projects_first_pass += r.status == SampleStatus.approved
    for p in projects:
        for supplier_id in ids:
            selected = p.supplier_id == supplier_id
            samples = p.id in made_samples[supplier_id]
            if selected or samples:
                result[supplier_id].past_projects.append(
                    PastProject(id=p.id, name=p.name, phase=p.phase, selected=selected, made_samples=samples)
                )
    return result
