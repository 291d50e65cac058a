"""Coordinator pages: the board of active projects, "my work", and the coordinator's page for one project.

- `/coordinator/board`: the caller's active projects (`?coordinator=all` for everyone's, a page at a time) (feasibility, development, production, plus on hold) as a card in its
  phase's column, most urgent first: a late milestone, then one at risk, then the nearest due date. A card shows the
  client, the coordinator, the milestone that needs attention next with its due date and health, and what the
  project is waiting on and from whom. Filters by coordinator, client and supplier are query parameters, so a
  filtered board is a link; so is one column (`?phase=production`, linked from the column's heading), paged on its
  own, for working through one stage.
- `/coordinator/work`: the open milestones, open tasks and unanswered brand questions a coordinator owns (the caller,
  or `?user=<id>` for a lead looking at someone else's), late first.
- `/coordinator/projects/{id}`: the project's workflow on one page, with its actions as forms that call the same
  makeready.workflow services as the back office's forms (post/redirect/get). A refusal rolls the request's
  transaction back and shows the page again with the service's message next to the form; each form carries the
  version of the record it was rendered from, so a coordinator acting on a stale page gets a conflict, not an
  overwrite.

Both lists are read a page at a time, with a fixed number of statements whatever the number of projects
(tests/test_board.py counts them): backoffice/board_queries.py reads them; what a card waits on is
makeready.workflow.waiting_for, computed for the page's projects at once.

Staff only, like every coordinator page (backoffice.access): the portal mounts it behind its coordinator guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from starlette.exceptions import HTTPException

from backoffice.access import Failed, Staff, provide_staff, refused_page, typed_values
from backoffice.board_queries import (
    BOARD_PHASES,
    Filters,
    load_board,
    load_work,
    today,
)
from backoffice.form_values import form_text, form_version
from makeready import urls
from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.changes.lifecycle import decide_change_request
from makeready.changes.models import ChangeRequest
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.projects import files
from makeready.projects import service as projects
from makeready.projects.access import brand_writers
from makeready.projects.milestones import (
    TEMPLATES,
    assign_milestone,
    complete_milestone,
    create_milestones_from_template,
    milestone_health,
    reopen_milestone,
    start_milestone,
)
from makeready.projects.models import (
    Milestone,
    Phase,
    Question,
    Task,
    TaskStatus,
)
from makeready.projects.tasks import cancel_task, complete_task
from makeready.samples import photos as sample_photos
from makeready.samples.lifecycle import (
    mark_sample_in_production,
    mark_sample_received,
    mark_sample_shipped,
    request_sample_round,
)
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.suppliers.models import Supplier
from makeready.workflow.decisions import ask_question, record_decision
from makeready.workflow.projects import (
    PROJECT,
    advance_project,
    cancel_project,
    gate_report,
    hold_project,
    resume_project,
)
from makeready.workflow.waiting import waiting_on

NEXT_PHASE = {
    Phase.feasibility: Phase.development,
    Phase.development: Phase.production,
    Phase.production: Phase.delivered,
}
DECIDED_ROUNDS = (SampleStatus.approved, SampleStatus.rejected)
ADVANCE_ACTIONS = frozenset({"start_development", "start_production", "deliver"})
DECISIONS_SHOWN = 50


# -- reading: one project ------------------------------------------------------------------------------------------


NOTICES = {
    "advanced": N_("The project moved to its next phase."),
    "held": N_("The project is on hold."),
    "resumed": N_("The project is back in the phase it was in."),
    "cancelled": N_("The project is cancelled."),
    "planned": N_("The template's milestones were added."),
    "milestone": N_("The milestone was updated."),
    "requested": N_("The sample round was requested."),
    "sample": N_("The sample round was updated."),
    "photos": N_("The photos were added to the sample round."),
    "question": N_("The question was sent to the brand."),
    "decision": N_("The decision was recorded."),
    "change": N_("The change request was decided."),
    "task": N_("The task was closed."),
    "coordinator": N_("The coordinator was assigned."),
}


async def project_context(
    db: AsyncSession, staff: Staff, project_id: int, *, day: date, failed: Failed | None = None
) -> dict[str, Any]:
    project = await projects.get_project(db, project_id)
    supplier = await db.get(Supplier, project.supplier_id) if project.supplier_id else None
    milestones = [(m, milestone_health(m, day)) for m in project.milestones]
    next_phase = NEXT_PHASE.get(project.phase)
    missing = await gate_report(db, project_id=project.id, to_phase=next_phase) if next_phase else []
    rounds = list(
        (
            await db.scalars(
                select(SampleRound)
                .where(SampleRound.project_id == project.id)
                .options(selectinload(SampleRound.supplier))
                .order_by(SampleRound.number.desc())
            )
        ).all()
    )
    photos = await sample_photos.photos_of_rounds(db, [r.id for r in rounds])
    questions = list(
        (
            await db.scalars(
                select(Question)
                .where(Question.project_id == project.id)
                .options(selectinload(Question.asked_by))
                .order_by(Question.created_at.desc(), Question.id.desc())
            )
        ).all()
    )
    changes = list(
        (
            await db.scalars(
                select(ChangeRequest)
                .where(ChangeRequest.project_id == project.id)
                .order_by(ChangeRequest.number.desc())
            )
        ).all()
    )
    tasks = list(
        (
            await db.scalars(
                select(Task)
                .where(Task.project_id == project.id, Task.status == TaskStatus.open)
                .options(selectinload(Task.owner))
                .order_by(Task.due_date, Task.created_at)
            )
        ).all()
    )
    decisions = (
        await db.execute(
            select(AuditEvent, User)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.project_id == project.id, AuditEvent.action == "decision.recorded")
            .order_by(AuditEvent.seq.desc())
            .limit(DECISIONS_SHOWN)
        )
    ).all()
    attachments, _total = await files.list_files(db, project.id, limit=200)
    staff_users = (
        await db.scalars(
            select(User)
            .where(User.is_staff.is_(True), User.is_active.is_(True))
            .order_by(User.name, User.email)
        )
    ).all()
    suppliers = (
        await db.scalars(select(Supplier).where(Supplier.archived_at.is_(None)).order_by(Supplier.name_en))
    ).all()
    actions = {t.action for t in PROJECT.allowed(project.phase)}
    owners = [*staff_users, *await brand_writers(db, project.org_id)]
    return {
        "user": staff,
        "project": project,
        "supplier": supplier,
        "milestones": milestones,
        "next_phase": next_phase,
        "missing": missing,
        "actions": actions,
        "can_advance": next_phase is not None and bool(actions & ADVANCE_ACTIONS),
        "waiting": await waiting_on(db, project_id=project.id, today=day),
        "rounds": rounds,
        "photos": photos,
        "thumbnail_url": thumbnail_src,
        "photo_url": sample_photos.photo_url,
        "questions": questions,
        "changes": changes,
        "tasks": tasks,
        "decisions": decisions,
        "attachments": {a.id: a for a in attachments},
        "owners": owners,
        "coordinators": staff_users,
        "people": {u.id: u for u in [*owners, *([project.coordinator] if project.coordinator else [])]},
        "suppliers": suppliers,
        "templates": TEMPLATES,
        "template_labels": TEMPLATE_LABELS,
        "open_round": next((r for r in rounds if r.status not in DECIDED_ROUNDS), None),
        "failed": failed,
        "today": day,
        "photo_limit": sample_photos.MAX_PHOTOS_PER_CALL,
    }


def thumbnail_src(photo: SamplePhoto) -> str:
    """Where the page loads a photo's thumbnail: straight from storage when one was made at upload, else the
    portal's photo route, which makes it on first use (photos added before thumbnails were made at upload)."""
    if photo.thumbnail_key:
        return sample_photos.thumbnail_url(photo)
    return f"/samples/photos/{photo.id}/thumbnail"


TEMPLATE_LABELS = {
    "standard": N_("Standard plan: feasibility to shipment"),
    "development_round": N_("Another sample round"),
}


# -- writing -------------------------------------------------------------------------------------------------------


def _int(form: FormMultiDict, key: str, *, required: bool = True) -> int | None:
    text = form_text(form, key)
    if not text and not required:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed(
            _("The form is missing a value it needs (%(field)s). Reload the page and try again.")
            % {"field": key},
            field=key,
        ) from None


def _date(form: FormMultiDict, key: str) -> date:
    try:
        return date.fromisoformat(form_text(form, key))
    except ValueError:
        raise ValidationFailed(_("The due date must be a date (YYYY-MM-DD)."), field=key) from None


def project_url(project_id: int, *, notice: str = "", anchor: str = "") -> str:
    url = urls.coordinator_project(project_id)
    if notice:
        url += f"?done={notice}"
    return url + (f"#{anchor}" if anchor else "")


async def act(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    key: str,
    notice: str,
    action: Callable[[FormMultiDict], Awaitable[Any]],
) -> Template | Redirect:
    """Run one service call in the request's transaction; on success back to the page (post/redirect/get), on a
    refusal the page again with the message at the form named `key`, nothing of the attempt kept."""
    form = await request.form()
    try:
        await action(form)
    except NotFound:
        raise
    except DomainError as exc:
        failed = Failed(key=key, message=exc.message, values=typed_values(form, exc))

        async def page(staff: Staff) -> Template:
            context = await project_context(db, staff, project_id, day=today(), failed=failed)
            return Template("backoffice/project.html", context=context)

        return await refused_page(db, staff, page, status_code=exc.status_code)
    return Redirect(project_url(project_id, notice=notice, anchor=key), status_code=303)


class CoordinatorPages(Controller):
    """The board, my work, and the coordinator's project page."""

    path = "/coordinator"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/board", name="coordinator_board")
    async def board(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        coordinator: FromQuery[str | None] = None,
        client: FromQuery[int | None] = None,
        supplier: FromQuery[int | None] = None,
        phase: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Template:
        """The caller's active projects (or a coordinator's, or everyone's: `all`) as cards in their phase's
        column, most urgent first, a page of each column at a time (or of the one column of `phase`)."""
        if coordinator is None or not coordinator.strip():
            chosen: int | None = staff.user.id
        elif coordinator.strip() == "all":
            chosen = None
        else:
            try:
                chosen = int(coordinator)
            except ValueError:
                raise ValidationException(_("Choose a coordinator or all.")) from None
        filters = Filters(coordinator=chosen, client=client, supplier=supplier, phase=_column(phase))
        board = await load_board(db, filters, day=today(), page=page)
        return Template("backoffice/board.html", context={"user": staff, "board": board})

    @get("/work", name="coordinator_work")
    async def work(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        user: FromQuery[int | None] = None,
        page: FromQuery[int] = 1,
    ) -> Template:
        """The milestones, tasks and questions a coordinator owns, late first."""
        person = staff.user
        if user is not None and user != staff.user.id:
            found = await db.scalar(select(User).where(User.id == user, User.is_staff.is_(True)))
            if found is None:
                raise NotFound(_("There is no coordinator with this number."))
            person = found
        work = await load_work(db, person, me=staff.user, day=today(), page=page)
        return Template("backoffice/work.html", context={"user": staff, "work": work})

    @get("/projects/{project_id:int}", name="coordinator_project")
    async def project(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str | None] = None,
    ) -> Template:
        """One project's workflow with its actions."""
        context = await project_context(db, staff, project_id, day=today())
        context["notice"] = _(NOTICES[done]) if done in NOTICES else None
        return Template("backoffice/project.html", context=context)

    # -- the project's phase

    @post("/projects/{project_id:int}/phase")
    async def phase(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Advance (through the gate), hold, resume or cancel, with a reason."""
        form = await request.form()
        choice = form_text(form, "action")
        notices = {"advance": "advanced", "hold": "held", "resume": "resumed", "cancel": "cancelled"}

        async def action(form: FormMultiDict) -> Any:
            common: dict[str, Any] = {
                "actor": staff.user,
                "project_id": project_id,
                "expected_version": form_version(form),
            }
            reason = form_text(form, "reason")
            if choice == "advance":
                return await advance_project(
                    db, to_phase=form_text(form, "to_phase"), reason=reason, **common
                )
            if choice == "hold":
                return await hold_project(db, reason=reason, **common)
            if choice == "resume":
                return await resume_project(db, reason=reason, **common)
            if choice == "cancel":
                return await cancel_project(db, reason=reason, **common)
            raise ValidationFailed(_("Choose advance, hold, resume or cancel."), field="action")

        return await act(
            request, db, staff, project_id, key="phase", notice=notices.get(choice, ""), action=action
        )

    # -- the project's coordinator

    @post("/projects/{project_id:int}/coordinator")
    async def coordinator(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Assign the project's coordinator, or change who it is."""

        async def action(form: FormMultiDict) -> Any:
            coordinator_id = _int(form, "coordinator_id")
            assert coordinator_id is not None  # required
            return await projects.assign_coordinator(
                db,
                actor=staff.user,
                project_id=project_id,
                coordinator_id=coordinator_id,
                expected_version=form_version(form),
            )

        return await act(
            request, db, staff, project_id, key="coordinator", notice="coordinator", action=action
        )

    # -- milestones

    @post("/projects/{project_id:int}/milestones")
    async def plan(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Add a template's milestones."""

        async def action(form: FormMultiDict) -> Any:
            try:
                start = date.fromisoformat(form_text(form, "start"))
            except ValueError:
                raise ValidationFailed(
                    _("The start date must be a date (YYYY-MM-DD)."), field="start"
                ) from None
            return await create_milestones_from_template(
                db,
                actor=staff.user,
                project_id=project_id,
                template=form_text(form, "template"),
                start=start,
                owner_id=_int(form, "owner_id", required=False),
            )

        return await act(request, db, staff, project_id, key="plan", notice="planned", action=action)

    @post("/projects/{project_id:int}/milestone")
    async def milestone(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Start, complete, reopen or assign one milestone of the project."""
        form = await request.form()
        milestone_id = form_text(form, "milestone_id")

        async def action(form: FormMultiDict) -> Any:
            milestone = await _milestone_of(db, project_id, _int(form, "milestone_id"))
            common: dict[str, Any] = {
                "actor": staff.user,
                "milestone_id": milestone.id,
                "expected_version": form_version(form),
            }
            choice = form_text(form, "action")
            if choice == "start":
                return await start_milestone(db, **common)
            if choice == "complete":
                return await complete_milestone(db, **common)
            if choice == "reopen":
                return await reopen_milestone(db, reason=form_text(form, "reason"), **common)
            if choice == "assign":
                owner_id = _int(form, "owner_id", required=False)
                if owner_id is None:
                    raise ValidationFailed(_("Choose the milestone's owner."), field="owner_id")
                return await assign_milestone(
                    db, owner_id=owner_id, due_date=_date(form, "due_date"), **common
                )
            raise ValidationFailed(_("Choose start, complete, reopen or assign."), field="action")

        return await act(
            request, db, staff, project_id, key=f"milestone-{milestone_id}", notice="milestone", action=action
        )

    # -- sample rounds

    @post("/projects/{project_id:int}/samples")
    async def request_round(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Request a new sample round from a supplier."""

        async def action(form: FormMultiDict) -> Any:
            return await request_sample_round(
                db,
                actor=staff.user,
                project_id=project_id,
                supplier_id=_int(form, "supplier_id", required=False),
                notes=form_text(form, "notes"),
            )

        return await act(request, db, staff, project_id, key="samples", notice="requested", action=action)

    @post("/projects/{project_id:int}/sample")
    async def sample(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Record a sample round's progress: in production, shipped, received."""
        form = await request.form()
        round_id = form_text(form, "round_id")

        async def action(form: FormMultiDict) -> Any:
            sample = await _round_of(db, project_id, _int(form, "round_id"))
            move = {
                "in_production": mark_sample_in_production,
                "shipped": mark_sample_shipped,
                "received": mark_sample_received,
            }.get(form_text(form, "action"))
            if move is None:
                raise ValidationFailed(_("Choose in production, shipped or received."), field="action")
            return await move(db, actor=staff.user, round_id=sample.id, expected_version=form_version(form))

        return await act(
            request, db, staff, project_id, key=f"round-{round_id}", notice="sample", action=action
        )

    @post("/projects/{project_id:int}/photos")
    async def add_photos(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Attach uploaded photos (already in storage through the upload API) to a sample round."""
        form = await request.form()
        round_id = form_text(form, "round_id")

        async def action(form: FormMultiDict) -> Any:
            sample = await _round_of(db, project_id, _int(form, "round_id"))
            keys, names, captions = (
                form.getall("key", []),
                form.getall("name", []),
                form.getall("caption", []),
            )
            if len(names) != len(keys) or len(captions) not in (0, len(keys)):
                raise ValidationFailed(
                    _("The upload form is incomplete. Choose the photos again."), field="key"
                )
            uploads = [
                sample_photos.PhotoUpload(
                    key=str(key), original_name=str(name), caption=str(captions[i]) if captions else ""
                )
                for i, (key, name) in enumerate(zip(keys, names, strict=True))
            ]
            return await sample_photos.attach_photos(
                db, actor=staff.user, round_id=sample.id, uploads=uploads
            )

        return await act(
            request, db, staff, project_id, key=f"round-{round_id}", notice="photos", action=action
        )

    # -- questions, decisions, change requests, tasks

    @post("/projects/{project_id:int}/questions")
    async def ask(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Ask the brand a question."""

        async def action(form: FormMultiDict) -> Any:
            return await ask_question(
                db, actor=staff.user, project_id=project_id, body=form_text(form, "body")
            )

        return await act(request, db, staff, project_id, key="questions", notice="question", action=action)

    @post("/projects/{project_id:int}/decisions")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Record a decision with the files it rests on."""

        async def action(form: FormMultiDict) -> Any:
            try:
                attachment_ids = [int(v) for v in form.getall("attachment_id", []) if str(v).strip()]
            except ValueError:
                raise ValidationFailed(
                    _("The attached files must belong to this project."), field="attachment_id"
                ) from None
            return await record_decision(
                db,
                actor=staff.user,
                project_id=project_id,
                text=form_text(form, "text"),
                attachment_ids=attachment_ids,
            )

        return await act(request, db, staff, project_id, key="decisions", notice="decision", action=action)

    @post("/projects/{project_id:int}/change")
    async def change(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Approve or reject a change request with a note."""
        form = await request.form()
        change_id = form_text(form, "change_id")

        async def action(form: FormMultiDict) -> Any:
            change = await _change_of(db, project_id, _int(form, "change_id"))
            return await decide_change_request(
                db,
                actor=staff.user,
                change_id=change.id,
                decision=form_text(form, "decision"),
                note=form_text(form, "note"),
                expected_version=form_version(form),
            )

        return await act(
            request, db, staff, project_id, key=f"change-{change_id}", notice="change", action=action
        )

    @post("/projects/{project_id:int}/task")
    async def task(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Complete or cancel an open task."""
        form = await request.form()
        task_id = form_text(form, "task_id")

        async def action(form: FormMultiDict) -> Any:
            task = await _task_of(db, project_id, _int(form, "task_id"))
            common: dict[str, Any] = {
                "actor": staff.user,
                "task_id": task.id,
                "expected_version": form_version(form),
            }
            if form_text(form, "action") == "complete":
                return await complete_task(db, **common)
            if form_text(form, "action") == "cancel":
                return await cancel_task(db, reason=form_text(form, "reason"), **common)
            raise ValidationFailed(_("Choose complete or cancel."), field="action")

        return await act(request, db, staff, project_id, key=f"task-{task_id}", notice="task", action=action)


def _column(value: str | None) -> Phase | None:
    """The board's `phase` parameter: one of its columns, or None (empty too) for every column."""
    if value is None or not value.strip():
        return None
    if value.strip() in BOARD_PHASES:
        return Phase(value.strip())
    raise ValidationFailed(
        _("The board has no column %(phase)s: choose one of %(columns)s.")
        % {"phase": value.strip()[:40], "columns": ", ".join(phase.value for phase in BOARD_PHASES)},
        field="phase",
    )


# -- records of one project ----------------------------------------------------------------------------------------


async def _one_of(db: AsyncSession, model: Any, project_id: int, object_id: int | None, message: str) -> Any:
    """A row of this project (a form naming another project's row is refused like a missing one)."""
    row = await db.scalar(select(model).where(model.id == object_id, model.project_id == project_id))
    if row is None:
        raise ValidationFailed(_(message))
    return row


async def _milestone_of(db: AsyncSession, project_id: int, milestone_id: int | None) -> Milestone:
    row: Milestone = await _one_of(
        db,
        Milestone,
        project_id,
        milestone_id,
        N_("This milestone does not exist or you do not have access to it."),
    )
    return row


async def _round_of(db: AsyncSession, project_id: int, round_id: int | None) -> SampleRound:
    row: SampleRound = await _one_of(
        db,
        SampleRound,
        project_id,
        round_id,
        N_("This sample round does not exist or you do not have access to it."),
    )
    return row


async def _change_of(db: AsyncSession, project_id: int, change_id: int | None) -> ChangeRequest:
    row: ChangeRequest = await _one_of(
        db,
        ChangeRequest,
        project_id,
        change_id,
        N_("This change request does not exist or you do not have access to it."),
    )
    return row


async def _task_of(db: AsyncSession, project_id: int, task_id: int | None) -> Task:
    row: Task = await _one_of(
        db, Task, project_id, task_id, N_("This task does not exist or you do not have access to it.")
    )
    return row


# -- the generic admin (piccolo-admin) ---------------------------------------------------------------------------

PROJECT_DELETE_REFUSED = (
    "This project has a history (phase changes, decisions, sample rounds, quotes, questions or files) that must "
    "stay readable: archive it instead (set archived_at)."
)
PROJECT_BULK_DELETE_REFUSED = "Delete projects one at a time, so that each is checked for its history."


async def refuse_project_delete(piccolo_crud: Any, request: Any) -> None:
    """piccolo_api validator for DELETE /admin/api/tables/projects/<id>/: a project with a history beyond its
    creation is archived, never deleted (its audit events, decisions included, would lose their subject)."""
    try:
        row_id = int(request.path_params.get("row_id"))
    except (TypeError, ValueError):
        return
    rows = await piccolo_crud.table.raw(
        "SELECT (SELECT COUNT(*) FROM audit_events WHERE project_id = {} AND action <> 'project.created') AS events, "
        "(SELECT COUNT(*) FROM sample_rounds WHERE project_id = {}) AS rounds, "
        "(SELECT COUNT(*) FROM quotes WHERE project_id = {}) AS quotes, "
        "(SELECT COUNT(*) FROM questions WHERE project_id = {}) AS questions, "
        "(SELECT COUNT(*) FROM change_requests WHERE project_id = {}) AS changes, "
        "(SELECT COUNT(*) FROM attachments WHERE project_id = {}) AS files",
        *([row_id] * 6),
    ).run()
    counts = rows[0] if rows else {}
    if any(counts.get(key) for key in ("events", "rounds", "quotes", "questions", "changes", "files")):
        raise HTTPException(status_code=409, detail=PROJECT_DELETE_REFUSED)
