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

from sqlalchemy import (
    CompoundSelect,
    Integer,
    bindparam,
    exists,
    func,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
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


# --- files and questions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileVersion:
    """One upload of a file (the attachment's id, size and time)."""

    id: int
    number: int
    size: int
    uploaded_at: datetime
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


@dataclass(frozen=True)
class AskedQuestion:
    """A coordinator's question as the project page shows it."""

    id: int
    version: int
    body: str
    answer: str
    created_at: datetime
    answered_at: datetime | None
    asked_by: str
    """Who asked (empty when the account is gone)."""


@dataclass(frozen=True)
class Questions:
    open: list[AskedQuestion]
    """Oldest first: the brand answers in the order they were asked."""
    answered: list[AskedQuestion]
    """Newest answer first."""


@cache
def _files_and_questions_query() -> Any:
    """Both lists in one statement (UNION ALL of the columns the page shows), built once and bound with the project
    (`lists_project_id`): as two statements loading ORM objects they cost about three times the CPU (a tenth of
    the project page's). Each row says its kind; `text` is a file's name or a question's body, `number` a file's
    size or a question's version, `version` a file's version number."""
    person = aliased(User)
    asker = aliased(User)
    project_id = bindparam("lists_project_id", type_=Integer)
    text_type = Question.__table__.c.answer.type
    moment = Question.__table__.c.answered_at.type
    files = (
        select(
            literal("file").label("kind"),
            Attachment.id.label("id"),
            Attachment.original_name.label("text"),
            type_coerce(null(), text_type).label("answer"),
            Attachment.size.label("number"),
            func.row_number()
            .over(partition_by=Attachment.original_name, order_by=(Attachment.created_at, Attachment.id))
            .label("version"),
            Attachment.created_at.label("created_at"),
            type_coerce(null(), moment).label("answered_at"),
            person.name.label("person_name"),
            person.email.label("person_email"),
        )
        .outerjoin(person, person.id == Attachment.uploaded_by_id)
        # sample photos are shown with their sample round, not here
        .where(
            Attachment.project_id == project_id, ~exists().where(SamplePhoto.attachment_id == Attachment.id)
        )
    )
    questions = (
        select(
            literal("question"),
            Question.id,
            Question.body,
            Question.answer,
            Question.version,
            literal(0),
            Question.created_at,
            Question.answered_at,
            asker.name,
            asker.email,
        )
        .outerjoin(asker, asker.id == Question.asked_by_id)
        .where(Question.project_id == project_id)
    )
    both: CompoundSelect[Any] = union_all(files, questions)
    columns = both.selected_columns
    return both.order_by(columns.created_at.desc(), columns.id.desc())


async def files_and_questions(session: AsyncSession, project_id: int) -> tuple[list[FileGroup], Questions]:
    """The project's files and the coordinator's questions, in one statement.

    Files are grouped by original name, versions numbered from 1 (the first upload), each group's versions newest
    first and the groups by their latest upload, newest first; sample photos are left out. Questions come open
    (oldest first) and answered (newest answer first), with who asked them.
    """
    rows = (await session.execute(_files_and_questions_query(), {"lists_project_id": project_id})).all()
    groups: dict[str, FileGroup] = {}
    asked: list[AskedQuestion] = []
    for row in rows:
        person = "" if row.person_email is None else User.name_to_show(row.person_name, row.person_email)
        if row.kind == "file":
            groups.setdefault(row.text, FileGroup(row.text)).versions.append(
                FileVersion(
                    id=row.id,
                    number=int(row.version),
                    size=int(row.number),
                    uploaded_at=row.created_at,
                    uploader=person,
                )
            )
        else:
            asked.append(
                AskedQuestion(
                    id=row.id,
                    version=int(row.number),
                    body=row.text,
                    answer=row.answer or "",
                    created_at=row.created_at,
                    answered_at=row.answered_at,
                    asked_by=person,
                )
            )
    asked.reverse()  # oldest first
    answered = sorted(
        (q for q in asked if q.answered_at is not None),
        key=lambda q: (q.answered_at or datetime.min, q.id),
        reverse=True,
    )
    return list(groups.values()), Questions(
        open=[q for q in asked if q.answered_at is None], answered=answered
    )
