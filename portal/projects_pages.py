"""The brand's pages for following projects: the dashboard and the project page, where coordinators' questions
are answered in place.

Every read is a fixed number of statements whatever the number of projects, milestones, files, questions or events
(tests/test_query_counts.py); writes go through the core services (makeready.workflow for answers) in the request's
transaction. A refused answer rolls back and shows the page again with the message next to the question.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import OrgRole
from makeready.db.types import utcnow
from makeready.decisions import log as decision_log
from makeready.errors import Conflict, DomainError, NotFound, ValidationFailed
from makeready.feasibility import service as feasibility
from makeready.i18n import _, format_month_day, get_locale
from makeready.projects import service as projects
from makeready.projects import timeline
from makeready.projects.models import Project, Question
from makeready.storage.base import human_size
from makeready.workflow import decisions, overview
from makeready.workflow import projects as project_workflow
from portal.auth import Actor, provide_user
from portal.bounds import PageNumber

PAGE_SIZE = 25
MAX_DASHBOARD_PAGES = overview.COUNT_CAP // PAGE_SIZE
"""The dashboard's deepest page: it counts projects up to this many pages' worth, then says "or more"."""
WRITERS = frozenset({OrgRole.owner, OrgRole.member})
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def tick_label(day: date) -> str:
    """A timeline tick: day and month, in the reader's language (Jan 5, 1月5日)."""
    return format_month_day(day)


def can_submit(user: Actor) -> bool:
    """Staff, and owners or members of at least one organization, may submit a product."""
    return user.is_staff or any(m.role in WRITERS for m in user.memberships)


def can_write(user: Actor, project: Project) -> bool:
    """May upload files to the project (staff, the brand's owners and members)."""
    return user.is_staff or user.role_in(project.org_id) in WRITERS


def can_answer(user: Actor, project: Project) -> bool:
    """Questions are the coordinator's to the brand: its owners and members answer them."""
    return not user.is_staff and user.role_in(project.org_id) in WRITERS


async def project_context(
    db: AsyncSession,
    user: Actor,
    project_id: int,
    *,
    log_page: int = 1,
    answer_errors: dict[int, str] | None = None,
    answer_values: dict[int, str] | None = None,
    go_ahead_error: str = "",
) -> dict[str, Any]:
    """Everything the project page shows; a fixed number of statements."""
    project = await projects.get_project(db, project_id)
    today = utcnow().date()
    steps = timeline.steps_of(project.milestones)
    origin = project.created_at.date()
    log = await decision_log.page_of(
        db,
        project.id,
        milestones={m.id: m.title for m in project.milestones},
        page=log_page,
        staff=user.is_staff,
    )
    files, questions = await overview.files_and_questions(db, project.id)
    return {
        "user": user,
        "project": project,
        "today": today,
        # the timeline is drawn once per plan, day and name (a kept block, templates/portal/_timeline.html)
        "timeline_key": (tuple(steps), today, origin, project.name),
        "draw_timeline": partial(timeline.build, steps, today=today, origin=origin),
        "files": files,
        "questions": questions,
        "log": log,
        "feasibility": await feasibility.brand_summary(db, project.id),
        "can_write": can_write(user, project),
        "can_answer": can_answer(user, project),
        "answer_errors": answer_errors or {},
        "answer_values": answer_values or {},
        "go_ahead_error": go_ahead_error,
        "locale": get_locale(),
        "human_size": human_size,
        "tick_label": tick_label,
    }


class ProjectPages(Controller):
    """The dashboard and the project page."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="dashboard")
    async def dashboard(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        page: PageNumber = 1,
    ) -> Template:
        """Every project the caller can see: those waiting on the brand first, then the rest."""
        page = min(
            page, MAX_DASHBOARD_PAGES
        )  # deeper offsets would walk the index; the count stops there too
        cap = MAX_DASHBOARD_PAGES * PAGE_SIZE
        rows, total, waiting = await overview.dashboard(
            db, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, cap=cap
        )
        return Template(
            "portal/dashboard.html",
            context={
                "user": user,
                "waiting_rows": [r for r in rows if r.waiting],
                "other_rows": [r for r in rows if not r.waiting],
                "waiting_total": waiting,
                "today": utcnow().date(),
                "page": page,
                "pages": max(1, -(-min(total, cap) // PAGE_SIZE)),
                "more_pages": total > cap,
                "total": total,
                "can_submit": can_submit(user),
                "locale": get_locale(),
            },
        )

    @get("/projects/{project_id:int}", name="project")
    async def project_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        log: PageNumber = 1,  # page of the decision log
        submitted: FromQuery[bool] = False,
        answered: FromQuery[bool] = False,
        go_ahead: FromQuery[bool] = False,
    ) -> Template:
        """One project: phase, timeline, files and versions, open questions and the decision log."""
        context = await project_context(db, user, project_id, log_page=log)
        context.update(submitted=submitted, answered=answered, go_ahead=go_ahead)
        return Template("portal/project.html", context=context)

    @post("/projects/{project_id:int}/go-ahead", name="give_go_ahead")
    async def give_go_ahead(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """The brand's go-ahead for development, from the feasibility section the dashboard links to."""
        version = data.get("version") or ""
        try:
            await project_workflow.give_go_ahead(
                db,
                actor=user.user,
                project_id=project_id,
                reason=(data.get("reason") or "").strip(),
                expected_version=int(version) if version.isdigit() and len(version) < 10 else None,
            )
        except NotFound:
            raise
        except DomainError as exc:
            # the page again with the reason next to the button; nothing of the refused go-ahead stays
            await db.rollback()
            for row in (user.user, *user.memberships):
                await db.refresh(row)
            context = await project_context(db, user, project_id, go_ahead_error=exc.message)
            context.update(submitted=False, answered=False, go_ahead=False)
            return Template("portal/project.html", context=context, status_code=exc.status_code)
        return Redirect(f"/projects/{project_id}?go_ahead=1#feasibility", status_code=303)

    @post("/projects/{project_id:int}/questions/{question_id:int}/answer", name="answer_question")
    async def answer_question(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        question_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """The brand answers a coordinator's question; the answer is recorded in the decision log."""
        project = await projects.get_project(db, project_id)
        found = await db.scalar(
            select(Question.id).where(Question.id == question_id, Question.project_id == project.id)
        )
        if found is None:
            raise NotFound(_("This question does not exist or you do not have access to it."))
        answer = data.get("answer") or ""
        version = data.get("version") or ""
        try:
            await decisions.answer_question(
                db,
                actor=user.user,
                question_id=question_id,
                answer=answer,
                expected_version=int(version) if version.isdigit() else None,
            )
        except (ValidationFailed, Conflict) as exc:
            # nothing of the refused answer may stay; the rollback expires every loaded row, the caller's too
            await db.rollback()
            for row in (user.user, *user.memberships):
                await db.refresh(row)
            context = await project_context(
                db,
                user,
                project_id,
                answer_errors={question_id: exc.message},
                answer_values={question_id: answer},
            )
            context.update(submitted=False, answered=False)
            return Template("portal/project.html", context=context, status_code=exc.status_code)
        return Redirect(f"/projects/{project_id}?answered=1#questions", status_code=303)
