"""Reads behind the portal's dashboard and project page: what is waiting on the brand, files with their versions,
and the coordinator's questions.

Each function is one SQL statement whatever the number of projects, files or questions (tests/test_query_counts.py
holds the pages to that). Reads go through the session's tenancy scope like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from makeready.accounts.models import User
from makeready.db.counting import capped_count
from makeready.projects.models import Attachment, Milestone, MilestoneStatus, Project, Question
from makeready.projects.service import _is_next_open_milestone
from makeready.samples.models import SamplePhoto

# --- the dashboard ----------------------------------------------------------------------------------------------

COUNT_CAP = 2_500
"""The dashboard counts projects up to this many (100 pages of 25), then knows only that there are more."""


@dataclass(frozen=True)
class DashboardRow:
    """A project with what waits on its brand: questions to answer, sample rounds to decide, the go-ahead."""

    project: Project
    open_questions: int = 0
    samples_to_decide: int = 0
    go_ahead_pending: bool = False

    @property
    def waiting(self) -> bool:
        return bool(self.open_questions or self.samples_to_decide or self.go_ahead_pending)

    @property
    def next_milestone(self) -> Milestone | None:
        return next((m for m in self.project.milestones if m.status != MilestoneStatus.done), None)


@lru_cache(maxsize=8)
def _dashboard_statements(limit: int, cap: int) -> tuple[Any, Any]:
    """The dashboard's page with its totals riding along, and the totals alone (for a page past the last row):
    built once per page size and cap and bound per request with the page's first row (`first`)."""
    live = Project.archived_at.is_(None)
    one = select(literal(1))
    totals = (
        capped_count(one.where(live), cap).label("projects"),
        capped_count(one.where(live, Project.waiting_on_brand.is_(True)), cap).label("waiting"),
    )
    page = (
        select(Project, *totals)
        .where(live)
        .options(
            # the next open milestone joined into the page's statement (a selectin load was one statement more)
            joinedload(Project.milestones.and_(_is_next_open_milestone())),
            joinedload(Project.org),
        )
        .order_by(Project.waiting_on_brand.desc(), Project.updated_at.desc(), Project.id.desc())
        .offset(bindparam("first", type_=Integer))
        .limit(limit)
    )
    return select(*totals), page


async def dashboard(
    session: AsyncSession, *, offset: int = 0, limit: int = 25, cap: int = COUNT_CAP
) -> tuple[list[DashboardRow], int, int]:
    """The scope's projects, those waiting on the brand first, then the rest, each newest first. What waits on
    the brand is read from the project's columns that makeready.workflow.waiting_flags keeps from the one waiting
    rule (an index orders by them).

    Returns (rows of the page, total projects, how many are waiting on the brand), both counted up to `cap` + 1
    (`capped_count`: a staff dashboard at 100,000 projects reads 2,501 rows to count, not every project). One
    statement whatever the number of projects (two for a page past the last row).
    """
    totals_statement, page_statement = _dashboard_statements(limit, cap)
    found = (await session.execute(page_statement, {"first": offset})).unique().all()
    if found:
        totals = (found[0][1], found[0][2])
    elif offset:
        totals = tuple((await session.execute(totals_statement)).one())
    else:
        totals = (0, 0)
    rows = [
        DashboardRow(
            project=project,
            open_questions=project.waiting_questions,
            samples_to_decide=project.waiting_sample_decisions,
            go_ahead_pending=project.waiting_go_ahead,
        )
        for project, _projects, _waiting in found
    ]
    return rows, int(totals[0] or 0), int(totals[1] or 0)


# --- files and their versions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileVersion:
    attachment: Attachment
    number: int
    uploader: str


@dataclass
class FileGroup:
    """Every upload of one original name: a new upload of the same name is its next version."""

    name: str
    versions: list[FileVersion] = field(default_factory=list)
    """Newest first."""

    @property
    def latest(self) -> FileVersion:
        return self.versions[0]


@cache
def _file_versions_query() -> Select[Attachment, int, User]:
    """Built once (the project is a bound parameter): an `aliased()` and a window built per request cost CPU for
    nothing, SQL expressions being immutable."""
    uploader = aliased(User)
    version = (
        func.row_number()
        .over(partition_by=Attachment.original_name, order_by=(Attachment.created_at, Attachment.id))
        .label("version")
    )
    photo = exists().where(SamplePhoto.attachment_id == Attachment.id)
    return (
        select(Attachment, version, uploader)
        .outerjoin(uploader, uploader.id == Attachment.uploaded_by_id)
        .where(Attachment.project_id == bindparam("files_project_id"), ~photo)
        .order_by(Attachment.created_at.desc(), Attachment.id.desc())
    )


async def file_versions(session: AsyncSession, project_id: int) -> list[FileGroup]:
    """The project's files grouped by original name, versions numbered from 1 (the first upload), each group's
    versions newest first and the groups by their latest upload, newest first. Sample photos are shown with their
    sample round, not here. One statement."""
    rows = (await session.execute(_file_versions_query(), {"files_project_id": project_id})).all()
    groups: dict[str, FileGroup] = {}
    for attachment, number, user in rows:
        group = groups.setdefault(attachment.original_name, FileGroup(attachment.original_name))
        group.versions.append(
            FileVersion(attachment=attachment, number=int(number), uploader=user.display_name if user else "")
        )
    return list(groups.values())


# --- questions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Questions:
    open: list[Question]
    """Oldest first: the brand answers in the order they were asked."""
    answered: list[Question]
    """Newest answer first."""


@cache
def _questions_query() -> Select[Any]:
    return (
        select(Question)
        .where(Question.project_id == bindparam("questions_project_id", type_=Integer))
        .options(joinedload(Question.asked_by))
        .order_by(Question.created_at, Question.id)
    )


async def questions(session: AsyncSession, project_id: int) -> Questions:
    """The project's questions with who asked them (one statement)."""
    rows = (await session.scalars(_questions_query(), {"questions_project_id": project_id})).all()
    open_ = [q for q in rows if q.answered_at is None]
    answered = sorted(
        (q for q in rows if q.answered_at is not None),
        key=lambda q: (q.answered_at or datetime.min, q.id),
        reverse=True,
    )
    return Questions(open=open_, answered=answered)
