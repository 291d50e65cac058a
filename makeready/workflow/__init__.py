"""The workflow engine: state machines, gates, triggers, escalation. Every door (portal, API, back office, CLI, jobs)
calls these services; each runs in the caller's transaction (a session with its tenancy scope already set) and
writes its audit event there.

    from makeready import workflow
    await workflow.advance_project(session, actor=user, project_id=7, to_phase="development")
"""

from makeready.changes.lifecycle import (
    CHANGE_REQUEST,
    decide_change_request,
    mark_change_implemented,
    raise_change_request,
    withdraw_change_request,
)
from makeready.kernel.machine import Machine, Role, Transition
from makeready.projects.milestones import (
    MILESTONE,
    RISK_WINDOW_DAYS,
    TEMPLATES,
    Health,
    assign_milestone,
    complete_milestone,
    create_milestones_from_template,
    milestone_health,
    reopen_milestone,
    start_milestone,
)
from makeready.projects.tasks import TASK, cancel_task, complete_task, list_open_tasks
from makeready.samples.lifecycle import (
    SAMPLE_ROUND,
    decide_sample_round,
    mark_sample_in_production,
    mark_sample_received,
    mark_sample_shipped,
    request_sample_round,
)
from makeready.workflow.decisions import answer_question, ask_question, record_decision
from makeready.workflow.escalation import ESCALATION_DELAY_DAYS, EscalationReport, run_escalation
from makeready.workflow.gates import approved_spec_revision, missing_for
from makeready.workflow.projects import (
    PROJECT,
    advance_project,
    cancel_project,
    gate_report,
    give_go_ahead,
    hold_project,
    resume_project,
)
from makeready.workflow.waiting import Party, Waiting, by_person, waiting_on

MACHINES = (PROJECT, MILESTONE, SAMPLE_ROUND, CHANGE_REQUEST, TASK)

__all__ = [
    "CHANGE_REQUEST",
    "ESCALATION_DELAY_DAYS",
    "MACHINES",
    "MILESTONE",
    "PROJECT",
    "RISK_WINDOW_DAYS",
    "SAMPLE_ROUND",
    "TASK",
    "TEMPLATES",
    "EscalationReport",
    "Health",
    "Machine",
    "Party",
    "Role",
    "Transition",
    "Waiting",
    "advance_project",
    "answer_question",
    "approved_spec_revision",
    "ask_question",
    "assign_milestone",
    "by_person",
    "cancel_project",
    "cancel_task",
    "complete_milestone",
    "complete_task",
    "create_milestones_from_template",
    "decide_change_request",
    "decide_sample_round",
    "gate_report",
    "give_go_ahead",
    "hold_project",
    "list_open_tasks",
    "mark_change_implemented",
    "mark_sample_in_production",
    "mark_sample_received",
    "mark_sample_shipped",
    "milestone_health",
    "missing_for",
    "raise_change_request",
    "record_decision",
    "reopen_milestone",
    "request_sample_round",
    "resume_project",
    "run_escalation",
    "start_milestone",
    "waiting_on",
    "withdraw_change_request",
]
