"""Workflow actions as back-office forms: each one resolves what the coordinator named (backoffice.forms.lookup) and
calls one makeready.workflow service in one transaction (backoffice.forms.base.run), which checks the transition's
preconditions and writes its audit event; a refusal comes back as the form's message and writes nothing.

Photos of a sample round are uploaded on the coordinator project page (/coordinator/projects/<id>), not here:
piccolo-admin's custom forms post JSON and cannot carry files.
"""

from __future__ import annotations

from datetime import date

from piccolo_admin.endpoints import FormConfig
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import Request

from backoffice.forms.base import Form, FormModel, run
from backoffice.forms.lookup import (
    choose,
    find_attachments,
    find_change_request,
    find_milestone,
    find_project,
    find_sample_round,
    find_supplier,
    find_user,
)
from makeready import urls
from makeready.accounts.models import User
from makeready.changes.lifecycle import decide_change_request
from makeready.i18n import N_, _, label
from makeready.projects.milestones import (
    assign_milestone,
    complete_milestone,
    create_milestones_from_template,
    reopen_milestone,
    start_milestone,
)
from makeready.projects.models import Phase
from makeready.samples.lifecycle import (
    mark_sample_in_production,
    mark_sample_received,
    mark_sample_shipped,
    request_sample_round,
)
from makeready.workflow.decisions import ask_question, record_decision
from makeready.workflow.projects import advance_project, cancel_project, hold_project, resume_project

PROJECTS_GROUP = N_("Project workflow")
MILESTONES_GROUP = N_("Milestones")
SAMPLES_GROUP = N_("Samples and changes")
RECORD_GROUP = N_("Decisions and questions")

PROJECT_TITLE = N_("Project (name or number)")
VERSION_TITLE = N_("Version you looked at (optional: refuses the change if someone changed it since)")

ADVANCE_TO = {
    Phase.development.value: N_("Development"),
    Phase.production.value: N_("Production"),
    Phase.delivered.value: N_("Delivered"),
}
TEMPLATES = {
    "standard": N_("Standard plan: feasibility to shipment"),
    "development_round": N_("Another sample round"),
}
MILESTONE_STEPS = {"start": N_("Start"), "complete": N_("Complete"), "reopen": N_("Reopen")}
SAMPLE_STEPS = {"in_production": N_("In production"), "shipped": N_("Shipped"), "received": N_("Received")}
DECISIONS = {"approve": N_("Approve"), "reject": N_("Reject")}


def page_of(project_id: int) -> str:
    return urls.coordinator_project(project_id)


# -- the models ------------------------------------------------------------------------------------------------


class AdvanceProject(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    to_phase: str = Field(title=N_("Move to: development, production or delivered"))
    reason: str = Field("", title=N_("Reason (recorded with the decision)"))
    version: int | None = Field(None, title=VERSION_TITLE)


class HoldProject(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    reason: str = Field(title=N_("Reason (recorded with the decision)"))
    version: int | None = Field(None, title=VERSION_TITLE)


class ResumeProject(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    reason: str = Field("", title=N_("Reason (optional)"))
    version: int | None = Field(None, title=VERSION_TITLE)


class PlanMilestones(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    template: str = Field(
        "standard", title=N_("Template: standard (feasibility to shipment) or development_round")
    )
    start: date = Field(title=N_("Start date (due dates count from it)"))
    owner: str = Field("", title=N_("Owner (email or name; optional)"))


class AssignMilestone(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    milestone: str = Field(title=N_("Milestone (title or number)"))
    owner: str = Field(title=N_("Owner (email or name)"))
    due_date: date = Field(title=N_("Due date"))
    version: int | None = Field(None, title=VERSION_TITLE)


class MoveMilestone(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    milestone: str = Field(title=N_("Milestone (title or number)"))
    step: str = Field(title=N_("Step: start, complete or reopen"))
    reason: str = Field("", title=N_("Reason (needed to reopen)"))
    version: int | None = Field(None, title=VERSION_TITLE)


class RecordSampleRound(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    supplier: str = Field("", title=N_("Supplier (name or number; blank: the project's supplier)"))
    notes: str = Field("", title=N_("Notes for the round"))


class UpdateSampleRound(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    round_number: int | None = Field(None, title=N_("Sample round number (blank: the latest)"))
    step: str = Field(title=N_("Now: in_production, shipped or received"))
    version: int | None = Field(None, title=VERSION_TITLE)


class DecideChangeRequest(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    change_number: int | None = Field(None, title=N_("Change request number (blank: the only open one)"))
    decision: str = Field(title=N_("Decision: approve or reject"))
    note: str = Field(title=N_("Note (recorded with the decision)"))
    version: int | None = Field(None, title=VERSION_TITLE)


class RecordDecision(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    text: str = Field(title=N_("Decision (what was agreed, with whom, why)"))
    attachments: str = Field("", title=N_("Files (names or numbers, separated by commas; optional)"))


class AskQuestion(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    question: str = Field(title=N_("Question for the brand"))


# -- the forms -------------------------------------------------------------------------------------------------


def workflow_forms(engine: AsyncEngine) -> list[FormConfig]:
    async def advance(request: Request, data: AdvanceProject) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            phase = choose(data.to_phase, ADVANCE_TO, what=N_("phase"), field="to_phase")
            await advance_project(
                session,
                actor=actor,
                project_id=project.id,
                to_phase=phase,
                reason=data.reason,
                expected_version=data.version,
            )
            return _("%(project)s is now in %(phase)s.") % {
                "project": project.name,
                "phase": label(project.phase),
            }

        return await run(engine, request, action)

    async def hold(request: Request, data: HoldProject) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            await hold_project(
                session, actor=actor, project_id=project.id, reason=data.reason, expected_version=data.version
            )
            return _("%(project)s is on hold.") % {"project": project.name}

        return await run(engine, request, action)

    async def resume(request: Request, data: ResumeProject) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            await resume_project(
                session, actor=actor, project_id=project.id, reason=data.reason, expected_version=data.version
            )
            return _("%(project)s is back in %(phase)s.") % {
                "project": project.name,
                "phase": label(project.phase),
            }

        return await run(engine, request, action)

    async def cancel(request: Request, data: HoldProject) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            await cancel_project(
                session, actor=actor, project_id=project.id, reason=data.reason, expected_version=data.version
            )
            return _("%(project)s is cancelled.") % {"project": project.name}

        return await run(engine, request, action)

    async def plan(request: Request, data: PlanMilestones) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            template = choose(data.template, TEMPLATES, what=N_("template"), field="template")
            owner = await find_user(session, data.owner) if data.owner.strip() else None
            created = await create_milestones_from_template(
                session,
                actor=actor,
                project_id=project.id,
                template=template,
                start=data.start,
                owner_id=owner.id if owner else None,
            )
            if not created:
                return _("%(project)s already has every milestone of this template; nothing was added.") % {
                    "project": project.name
                }
            return _("Added %(count)s milestones to %(project)s: %(titles)s.") % {
                "count": len(created),
                "project": project.name,
                "titles": ", ".join(_(m.title) for m in created),
            }

        return await run(engine, request, action)

    async def assign(request: Request, data: AssignMilestone) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            milestone = await find_milestone(session, project, data.milestone)
            owner = await find_user(session, data.owner)
            await assign_milestone(
                session,
                actor=actor,
                milestone_id=milestone.id,
                owner_id=owner.id,
                due_date=data.due_date,
                expected_version=data.version,
            )
            return _("%(milestone)s of %(project)s: %(owner)s, due %(date)s.") % {
                "milestone": _(milestone.title),
                "project": project.name,
                "owner": owner.display_name,
                "date": data.due_date.isoformat(),
            }

        return await run(engine, request, action)

    async def move_milestone(request: Request, data: MoveMilestone) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            milestone = await find_milestone(session, project, data.milestone)
            step = choose(data.step, MILESTONE_STEPS, what=N_("step"), field="step")
            if step == "start":
                await start_milestone(
                    session, actor=actor, milestone_id=milestone.id, expected_version=data.version
                )
            elif step == "complete":
                await complete_milestone(
                    session, actor=actor, milestone_id=milestone.id, expected_version=data.version
                )
            else:
                await reopen_milestone(
                    session,
                    actor=actor,
                    milestone_id=milestone.id,
                    reason=data.reason,
                    expected_version=data.version,
                )
            return _("%(milestone)s of %(project)s is now %(status)s.") % {
                "milestone": _(milestone.title),
                "project": project.name,
                "status": label(milestone.status),
            }

        return await run(engine, request, action)

    async def record_round(request: Request, data: RecordSampleRound) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            supplier = await find_supplier(session, data.supplier) if data.supplier.strip() else None
            sample = await request_sample_round(
                session,
                actor=actor,
                project_id=project.id,
                supplier_id=supplier.id if supplier else None,
                notes=data.notes,
            )
            return _(
                "Sample round %(number)s of %(project)s is requested. Upload its photos on %(page)s."
            ) % {
                "number": sample.number,
                "project": project.name,
                "page": page_of(project.id),
            }

        return await run(engine, request, action)

    async def update_round(request: Request, data: UpdateSampleRound) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            sample = await find_sample_round(session, project, data.round_number)
            step = choose(data.step, SAMPLE_STEPS, what=N_("step"), field="step")
            move = {
                "in_production": mark_sample_in_production,
                "shipped": mark_sample_shipped,
                "received": mark_sample_received,
            }[step]
            await move(session, actor=actor, round_id=sample.id, expected_version=data.version)
            return _("Sample round %(number)s of %(project)s is now %(status)s.") % {
                "number": sample.number,
                "project": project.name,
                "status": label(sample.status),
            }

        return await run(engine, request, action)

    async def decide_change(request: Request, data: DecideChangeRequest) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            change = await find_change_request(session, project, data.change_number)
            decision = choose(data.decision, DECISIONS, what=N_("decision"), field="decision")
            await decide_change_request(
                session,
                actor=actor,
                change_id=change.id,
                decision=decision,
                note=data.note,
                expected_version=data.version,
            )
            return _("Change request %(number)s of %(project)s is %(status)s.") % {
                "number": change.number,
                "project": project.name,
                "status": label(change.status),
            }

        return await run(engine, request, action)

    async def decide(request: Request, data: RecordDecision) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            attachment_ids = await find_attachments(session, project, data.attachments)
            await record_decision(
                session, actor=actor, project_id=project.id, text=data.text, attachment_ids=attachment_ids
            )
            return _("The decision is recorded on %(project)s.") % {"project": project.name}

        return await run(engine, request, action)

    async def ask(request: Request, data: AskQuestion) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            await ask_question(session, actor=actor, project_id=project.id, body=data.question)
            return _("The question was sent to %(client)s; they answer it on the project page.") % {
                "client": project.org.name
            }

        return await run(engine, request, action)

    return [
        Form(
            N_("Advance a project"),
            AdvanceProject,
            advance,
            N_(
                "Moves a project to its next phase once its gate is open: development needs the completed "
                "feasibility review and the brand's go-ahead; production an approved sample and an approved spec "
                "revision; delivered the production milestones done. What is missing is listed if not."
            ),
            PROJECTS_GROUP,
        ),
        Form(
            N_("Put a project on hold"),
            HoldProject,
            hold,
            N_("Stops the clock on a project; resuming returns it to the phase it was in."),
            PROJECTS_GROUP,
        ),
        Form(
            N_("Resume a project"),
            ResumeProject,
            resume,
            N_("Returns a project on hold to the phase it was in."),
            PROJECTS_GROUP,
        ),
        Form(
            N_("Cancel a project"),
            HoldProject,
            cancel,
            N_("Ends a project for good; nothing on it changes afterwards."),
            PROJECTS_GROUP,
        ),
        Form(
            N_("Plan milestones from a template"),
            PlanMilestones,
            plan,
            N_(
                "Adds a template's milestones to a project, due a set number of days after the start date; "
                "milestones it already has are left alone."
            ),
            MILESTONES_GROUP,
        ),
        Form(
            N_("Assign a milestone"),
            AssignMilestone,
            assign,
            N_("Gives a milestone its owner and due date; a change restarts its reminders."),
            MILESTONES_GROUP,
        ),
        Form(
            N_("Start, complete or reopen a milestone"),
            MoveMilestone,
            move_milestone,
            N_("Records when work on a milestone started or ended."),
            MILESTONES_GROUP,
        ),
        Form(
            N_("Record a sample round"),
            RecordSampleRound,
            record_round,
            N_(
                "Requests a new sample round from a supplier (the project must be in development or production, "
                "with no round still open). Upload its photos on the coordinator project page."
            ),
            SAMPLES_GROUP,
        ),
        Form(
            N_("Mark a sample round in production, shipped or received"),
            UpdateSampleRound,
            update_round,
            N_("Records a sample round's progress; once received, the brand approves or rejects it."),
            SAMPLES_GROUP,
        ),
        Form(
            N_("Decide a change request"),
            DecideChangeRequest,
            decide_change,
            N_("Approves or rejects a change request with a note; an approval opens a spec revision task."),
            SAMPLES_GROUP,
        ),
        Form(
            N_("Record a decision"),
            RecordDecision,
            decide,
            N_(
                "Writes a decision made outside any step (for example an agreed tolerance) into the project's "
                "record, with the files it rests on."
            ),
            RECORD_GROUP,
        ),
        Form(
            N_("Ask the brand a question"),
            AskQuestion,
            ask,
            N_("The brand's owners and members are told, and answer on the project page."),
            RECORD_GROUP,
        ),
    ]
