"""How each table appears in the back office: menu group, list columns, filters, order, and what may be written.

Specs name columns as strings; `table_configs` resolves them against the generated classes at start, so a renamed
or dropped column fails the start loudly instead of silently vanishing from the admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from piccolo.table import Table
from piccolo_admin.endpoints import TableConfig
from piccolo_api.crud.endpoints import OrderBy
from piccolo_api.crud.hooks import Hook, HookType
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.billing import (
    EVENTS_AS_RECEIVED,
    FEES_BY_FORM,
    PLANS_ADMINS_ONLY,
    STRIPE_RECORD,
    refuse_milestone_delete_with_fees,
    refuse_plan_delete,
)
from backoffice.board import PROJECT_BULK_DELETE_REFUSED, refuse_project_delete
from backoffice.glossary import EN_KEY_HELP, GLOSSARY_HOOKS, check_glossary_term
from backoffice.guards import (
    PUT_MESSAGE,
    USER_HOOKS,
    WRITE_METHODS,
    Validator,
    admins_only,
    combine,
    known_sort_columns,
    refuse,
    unchanged_columns,
    valid_email,
)
from backoffice.protected import (
    REVOCATION_ONLY,
    USER_COLUMNS,
    audit_hooks,
    frozen_except,
    revocation_only,
    token_hooks,
    user_hooks,
)
from backoffice.suppliers import BULK_DELETE_REFUSED, refuse_referenced_delete
from backoffice.tables import claim_version, refuse_deep_pages
from makeready.accounts.service import USER_FIELDS

logger = logging.getLogger(__name__)

CLIENTS, PROJECTS, SUPPLIERS, SYSTEM, OTHER = "Clients", "Projects", "Suppliers", "System", "Other"
SPECIFICATIONS = "Specifications"
BILLING = "Billing"
PRODUCTION = "Production"

# Never in any Piccolo class, so the admin API cannot select, filter, order by or return them.
HIDDEN_COLUMNS: Mapping[str, frozenset[str]] = {
    "users": frozenset({"password_hash"}),
    "api_tokens": frozenset({"token_hash"}),
    "invitations": frozenset({"token_hash"}),
    "factory_links": frozenset({"token_hash"}),
    "production_links": frozenset({"token_hash"}),
}

# Tables the admin does not list: the session stores (piccolo-admin's own, and the portal's, which "Sign a user out
# everywhere" empties) and the login throttle's counters.
# sessions and throttles are credentials; the metric tables are a cache folded from the audit trail
# (`makeready metrics rebuild` recreates them), read on /coordinator/metrics
NOT_LISTED = frozenset(
    {"admin_sessions", "portal_sessions", "login_throttles", "metric_facts", "metric_cursor", "metric_waits"}
)

PHASE_MESSAGE = (
    "A project's phase changes through the project workflow (it checks the conditions of each phase and records "
    "who decided), not by editing the field: use the forms “Advance a project”, “Put a project on hold”, "
    "“Resume a project” or “Cancel a project”, or the project's page under /coordinator/projects/<id>."
)
API_KEY_OWNER_MESSAGE = "A token stays with the user it was issued to: revoke it (set revoked_at) instead."
SPEC_MESSAGE = "Spec revisions are written, reviewed and issued on the project's Specification page, which keeps their history."
SPEC_DOCUMENT_MESSAGE = (
    "Spec PDFs are rendered by the worker and cached by their content; nothing here is edited."
)
FACTORY_LINK_MESSAGE = "Factory links are sent and revoked on the project's Specification page: the token is shown once, when sent."
FACTORY_QUESTION_MESSAGE = (
    "Factories ask on their link; coordinators answer on the project's Specification page."
)
SAMPLE_STATUS_MESSAGE = (
    "A sample round's status changes through its actions (ship, receive) and the brand's decision, which record "
    "who did what and when, not by editing the field: use the form “Mark a sample round in production, shipped "
    "or received”, or the project's page under /coordinator/projects/<id>."
)
CHANGE_STATUS_MESSAGE = (
    "A change request is approved or rejected through its decision action, with a reason: use the form "
    "“Decide a change request”, or the project's page under /coordinator/projects/<id>."
)
TASK_STATUS_MESSAGE = "A task is closed through its action, which records when it was done."
QUOTE_STATUS_MESSAGE = "A quote is selected through supplier selection, which records the reason."
QUOTE_CREATE_MESSAGE = (
    "Quotes are requested for a project on its supplier selection page (/coordinator/projects/<id>/quotes), "
    "which keeps each quote with its project, client and supplier."
)
ANSWER_MESSAGE = "Brands answer questions on the project page in the portal; their answer is recorded there."
INVITATION_MESSAGE = (
    "Invitations are sent and revoked by an organization's owners on its team page in the portal (or sent with the "
    "form “Invite a brand user”), and accepted by the person invited, through the link in their email."
)
MEMBERSHIP_MESSAGE = (
    "Who belongs to an organization, and with which role, is changed by its owners on its team page in the portal "
    "(or with the form “Invite a brand user”), where each change is recorded: not by editing rows here."
)
USER_DELETE_MESSAGE = "A user is deactivated (is_active), not deleted: their history stays theirs."
REVOKE_DONT_DELETE = "A token is revoked (set revoked_at), not deleted: its history stays."
FEASIBILITY_MESSAGE = (
    "A feasibility review is completed in the feasibility workspace, which checks it is finished."
)
STATUS_MESSAGE = (
    "A milestone's status changes through the milestone workflow (it records when each step started and ended), "
    "not by editing the field: use the form “Start, complete or reopen a milestone”, or the project's page under "
    "/coordinator/projects/<id>."
)

PRODUCTION_PAGE = "the order's page under /coordinator/projects/<id>/production"
ORDER_MESSAGE = (
    "A production order is created from the selected quote and moves through its workflow (confirm, send, accept, "
    "reschedule with a reason, cancel...), which checks each step and records who did it: use "
    + PRODUCTION_PAGE
    + "."
)
LOT_MESSAGE = (
    "A lot is planned, resized, rescheduled (with a reason), started and cancelled through its workflow, and its "
    "progress comes from dated reports: use " + PRODUCTION_PAGE + "."
)
REPORT_MESSAGE = (
    "Progress reports are dated entries, never edited: the factory adds a new one through its link."
)
TOOLING_MESSAGE = (
    "A tooling item moves through its workflow (start, trial, approve, reject with a reason): use "
    + PRODUCTION_PAGE
    + "."
)
PRODUCTION_PHOTO_MESSAGE = (
    "Production photos are uploaded with a progress report or a tooling trial, verified and resized."
)
PRODUCTION_LINK_MESSAGE = (
    "Production links are made when an order is sent (the token is shown once) and revoked on "
    + PRODUCTION_PAGE
    + "."
)

MATERIALS_MESSAGE = (
    "Materials are computed from the order's frozen BOM and recorded on the order's materials page "
    "(/coordinator/orders/<id>/materials): requirements, purchase orders, free-issue shipments and receipts."
)

QUALITY_MESSAGE = (
    "Inspections, defects, holds and corrective actions change only through their workflows (schedule, submit, "
    "the brand's decision, lift with a reason...), which compute verdicts and record who did what: use the "
    "inspection pages under /coordinator/inspections."
)

BUDGET_MESSAGE = (
    "Budget entries and exchange rates are recorded, corrected and voided on the project's budget page "
    "(/coordinator/projects/<id>/budget), which records who changed what."
)
SHIPPING_MESSAGE = (
    "Packing lists, shipments, their documents, revision changes and floor deviations change only through their "
    "workflows (the factory's submission, acceptance, the release gate, the brand's receipt...): use the project's "
    "shipping page under /coordinator/projects/<id>/shipping."
)


def _workflow(message: str, *columns: str) -> dict[str, str]:
    return dict.fromkeys(columns, message)


@dataclass(frozen=True)
class TableSpec:
    group: str
    visible: tuple[str, ...]
    filters: tuple[str, ...]
    order: tuple[str, ...]
    """Column names, "-name" for descending."""
    read_only: str | None = None
    """Refuse every write with this message."""
    no_create: str | None = None
    """Refuse new rows with this message (edits stay possible)."""
    workflow: Mapping[str, str] = field(default_factory=dict)
    """Columns that only a workflow (or nobody) may change, with the message that says so."""
    admins_only: str | None = None
    """Only agency admins may write; others get this message."""
    hooks: tuple[Hook, ...] = ()
    extra_validators: Mapping[str, tuple[Validator, ...]] = field(default_factory=dict)
    derived: Mapping[str, str] = field(default_factory=dict)
    """Columns a hook fills in, with the help text the form shows: not required from whoever writes the row."""
    service_hooks: Callable[[AsyncEngine], list[Hook]] | None = None
    """Hooks that make the edit through a core service (with its audit event), given the accounts engine."""


SPECS: Mapping[str, TableSpec] = {
    "organizations": TableSpec(
        group=CLIENTS,
        visible=("id", "name", "default_currency", "archived_at", "created_at"),
        filters=("name", "default_currency", "archived_at"),
        order=("name",),
    ),
    "users": TableSpec(
        group=CLIENTS,
        visible=("id", "email", "name", "is_active", "is_staff", "is_admin", "last_login_at"),
        filters=("email", "name", "is_active", "is_staff", "is_admin"),
        order=("email",),
        no_create="Create users with the form “Create a user” (it sets their password), or `makeready users create`.",
        admins_only="Only agency admins can change users.",
        hooks=tuple(USER_HOOKS),
        # password hashes are hidden (HIDDEN_COLUMNS); access changes go through accounts.update_user, audited
        service_hooks=user_hooks,
        extra_validators={
            "patch_single": (valid_email, frozen_except(USER_FIELDS, USER_COLUMNS)),
            "delete_single": (refuse(405, USER_DELETE_MESSAGE),),
            "delete_all": (refuse(405, USER_DELETE_MESSAGE),),
        },
    ),
    "memberships": TableSpec(
        group=CLIENTS,
        visible=("id", "org_id", "user_id", "role", "created_at"),
        filters=("org_id", "user_id", "role"),
        order=("org_id", "user_id"),
        # a role is a right: raw edits would promote a viewer to owner with no one the wiser
        read_only=MEMBERSHIP_MESSAGE,
    ),
    "api_tokens": TableSpec(
        group=CLIENTS,
        visible=("id", "user_id", "name", "prefix", "created_at", "last_used_at", "revoked_at"),
        filters=("user_id", "prefix", "revoked_at"),
        order=("-created_at",),
        no_create="API tokens are issued to their owner, who sees the token once: use the portal or the CLI.",
        # moving a token to another user would hand its holder that user's rights; reviving a revoked one would
        # hand it back to whoever its owner revoked it from
        workflow={"user_id": API_KEY_OWNER_MESSAGE, "prefix": API_KEY_OWNER_MESSAGE},
        service_hooks=token_hooks,
        extra_validators={
            "patch_single": (frozen_except(("revoked_at",), REVOCATION_ONLY), revocation_only),
            "delete_single": (refuse(405, REVOKE_DONT_DELETE),),
            "delete_all": (refuse(405, REVOKE_DONT_DELETE),),
        },
    ),
    "projects": TableSpec(
        group=PROJECTS,
        visible=("id", "name", "org_id", "phase", "coordinator_id", "target_date", "updated_at"),
        filters=("name", "org_id", "phase", "coordinator_id", "category", "target_date", "archived_at"),
        order=("-updated_at",),
        workflow={"phase": PHASE_MESSAGE},
        # a project with a history (decisions, phase changes, samples, quotes, files) is archived, never deleted
        extra_validators={
            "delete_single": (refuse_project_delete,),
            "delete_all": (refuse(405, PROJECT_BULK_DELETE_REFUSED),),
        },
    ),
    "milestones": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "phase", "title", "status", "owner_id", "due_date"),
        filters=("project_id", "phase", "status", "owner_id", "due_date"),
        order=("project_id", "position"),
        workflow={"status": STATUS_MESSAGE},
        extra_validators={"delete_single": (refuse_milestone_delete_with_fees,)},
    ),
    "attachments": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "kind", "original_name", "content_type", "size", "created_at"),
        filters=("project_id", "kind", "content_type", "org_id"),
        order=("-created_at",),
        # a row exists only for a verified object in storage: adding or deleting rows here would orphan one side
        read_only="Files are added and removed through the project pages, which keep storage and rows in step.",
    ),
    "suppliers": TableSpec(
        group=SUPPLIERS,
        visible=("id", "name_en", "name_zh", "city", "province", "contact_name", "archived_at"),
        filters=("name_en", "name_zh", "city", "province", "archived_at"),
        order=("name_en",),
        # a supplier that quotes, sample rounds or a selection refer to is archived, never deleted
        extra_validators={
            "delete_single": (refuse_referenced_delete,),
            "delete_all": (refuse(405, BULK_DELETE_REFUSED),),
        },
    ),
    "tasks": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "kind", "title", "owner_id", "due_date", "status"),
        filters=("project_id", "kind", "owner_id", "status", "due_date"),
        order=("due_date",),
        workflow={"status": TASK_STATUS_MESSAGE, "completed_at": TASK_STATUS_MESSAGE},
    ),
    "questions": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "body", "asked_by_id", "answered_at"),
        filters=("project_id", "asked_by_id", "answered_at"),
        order=("-created_at",),
        workflow={"answer": ANSWER_MESSAGE, "answered_by_id": ANSWER_MESSAGE, "answered_at": ANSWER_MESSAGE},
    ),
    "sample_rounds": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "number", "supplier_id", "status", "received_at", "decided_at"),
        filters=("project_id", "supplier_id", "status"),
        order=("-created_at",),
        workflow={
            "status": SAMPLE_STATUS_MESSAGE,
            "decided_at": SAMPLE_STATUS_MESSAGE,
            "decided_by_id": SAMPLE_STATUS_MESSAGE,
            "decision_comment": SAMPLE_STATUS_MESSAGE,
        },
    ),
    "sample_photos": TableSpec(
        group=PROJECTS,
        visible=("id", "round_id", "caption", "position", "created_at"),
        filters=("round_id",),
        order=("round_id", "position"),
        no_create="Photos are uploaded with the sample round action, which verifies and resizes them.",
    ),
    "change_requests": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "number", "title", "status", "raised_by_id", "decided_at"),
        filters=("project_id", "status", "raised_by_id"),
        order=("-created_at",),
        workflow={
            "status": CHANGE_STATUS_MESSAGE,
            "decided_at": CHANGE_STATUS_MESSAGE,
            "decided_by_id": CHANGE_STATUS_MESSAGE,
        },
    ),
    "feasibility_reviews": TableSpec(
        group=PROJECTS,
        visible=("id", "project_id", "completed_at", "completed_by_id", "updated_at"),
        filters=("project_id", "completed_at"),
        order=("-updated_at",),
        workflow={
            "status": FEASIBILITY_MESSAGE,
            "completed_at": FEASIBILITY_MESSAGE,
            "completed_by_id": FEASIBILITY_MESSAGE,
        },
    ),
    "feasibility_checks": TableSpec(
        group=PROJECTS,
        visible=("id", "review_id", "area", "requirement", "verdict"),
        filters=("review_id", "area", "verdict"),
        order=("review_id", "position"),
    ),
    "production_approaches": TableSpec(
        group=PROJECTS,
        visible=("id", "review_id", "name", "currency", "tooling_cost", "unit_cost"),
        filters=("review_id",),
        order=("review_id", "id"),
    ),
    "risks": TableSpec(
        group=PROJECTS,
        visible=("id", "review_id", "description", "likelihood", "impact", "owner_id", "closed_at"),
        filters=("review_id", "owner_id", "closed_at"),
        order=("review_id", "id"),
    ),
    "quotes": TableSpec(
        group=SUPPLIERS,
        visible=("id", "project_id", "supplier_id", "status", "currency", "tooling_cost", "lead_time_days"),
        filters=("project_id", "supplier_id", "status"),
        order=("-updated_at",),
        no_create=QUOTE_CREATE_MESSAGE,
        workflow={
            "status": QUOTE_STATUS_MESSAGE,
            "selection_reason": QUOTE_STATUS_MESSAGE,
            # a quote stays with the project and organization it was requested for
            "project_id": QUOTE_CREATE_MESSAGE,
            "org_id": QUOTE_CREATE_MESSAGE,
            "supplier_id": QUOTE_CREATE_MESSAGE,
        },
    ),
    "invitations": TableSpec(
        group=CLIENTS,
        visible=("id", "org_id", "email", "role", "expires_at", "accepted_at", "revoked_at"),
        filters=("org_id", "email", "role", "accepted_at", "revoked_at"),
        order=("-created_at",),
        # an invitation carries a role: raising it, or reviving a revoked one, would grant that role
        read_only=INVITATION_MESSAGE,
    ),
    "notifications": TableSpec(
        group=SYSTEM,
        visible=("id", "user_id", "kind", "project_id", "read_at", "created_at"),
        filters=("user_id", "kind", "project_id", "read_at"),
        order=("-created_at",),
        read_only="Notifications are written by the events they report.",
    ),
    "email_outbox": TableSpec(
        group=SYSTEM,
        visible=("id", "to_email", "template", "status", "attempts", "sent_at", "created_at"),
        filters=("to_email", "template", "status"),
        order=("-created_at",),
        read_only="Emails are queued by the events they report and sent by the worker.",
    ),
    "spec_revisions": TableSpec(
        group=SPECIFICATIONS,
        visible=("id", "project_id", "number", "status", "approved_at", "issued_at", "superseded_at"),
        filters=("project_id", "status"),
        order=("-created_at",),
        read_only=SPEC_MESSAGE,
    ),
    "spec_documents": TableSpec(
        group=SPECIFICATIONS,
        visible=("id", "revision_id", "status", "size_bytes", "pages", "render_ms", "rendered_at"),
        filters=("revision_id", "status"),
        order=("-created_at",),
        read_only=SPEC_DOCUMENT_MESSAGE,
    ),
    "factory_links": TableSpec(
        group=SPECIFICATIONS,
        visible=(
            "id",
            "revision_id",
            "supplier_id",
            "expires_at",
            "revoked_at",
            "view_count",
            "acknowledged_at",
        ),
        filters=("revision_id", "supplier_id", "project_id"),
        order=("-created_at",),
        read_only=FACTORY_LINK_MESSAGE,
    ),
    "factory_questions": TableSpec(
        group=SPECIFICATIONS,
        visible=("id", "revision_id", "field_path", "asked_by_name", "answered_at", "created_at"),
        filters=("revision_id", "project_id", "answered_at"),
        order=("-created_at",),
        read_only=FACTORY_QUESTION_MESSAGE,
    ),
    "glossary_terms": TableSpec(
        group=SPECIFICATIONS,
        visible=("id", "en", "zh", "category", "alternatives"),
        filters=("en", "zh", "category"),
        order=("en_key",),
        hooks=GLOSSARY_HOOKS,
        extra_validators={"post_single": (check_glossary_term,), "patch_single": (check_glossary_term,)},
        derived={"en_key": EN_KEY_HELP},
    ),
    "billing_plans": TableSpec(
        group=BILLING,
        visible=(
            "id",
            "name",
            "stripe_price_id",
            "description",
            "description_zh",
            "amount",
            "currency",
            "interval",
            "max_active_projects",
            "is_active",
            "position",
        ),
        filters=("name", "stripe_price_id", "is_active"),
        order=("position", "name"),
        admins_only=PLANS_ADMINS_ONLY,
        extra_validators={
            "delete_single": (refuse_plan_delete,),
            "delete_all": (refuse(405, PLANS_ADMINS_ONLY),),
        },
    ),
    "billing_accounts": TableSpec(
        group=BILLING,
        visible=(
            "id",
            "org_id",
            "status",
            "plan_id",
            "stripe_customer_id",
            "delinquent_since",
            "current_period_end",
            "status_changed_at",
        ),
        filters=("org_id", "status", "plan_id", "stripe_customer_id", "delinquent_since"),
        order=("org_id",),
        read_only=STRIPE_RECORD,
    ),
    "subscriptions": TableSpec(
        group=BILLING,
        visible=(
            "id",
            "org_id",
            "stripe_subscription_id",
            "plan_id",
            "status",
            "current_period_end",
            "cancel_at_period_end",
            "synced_at",
        ),
        filters=("org_id", "stripe_subscription_id", "plan_id", "status"),
        order=("-stripe_created",),
        read_only=STRIPE_RECORD,
    ),
    "invoices": TableSpec(
        group=BILLING,
        visible=(
            "id",
            "org_id",
            "number",
            "status",
            "currency",
            "amount_due",
            "amount_paid",
            "fee_id",
            "due_date",
            "paid_at",
        ),
        filters=("org_id", "status", "fee_id", "stripe_invoice_id", "number", "currency"),
        order=("-stripe_created",),
        read_only=STRIPE_RECORD,
    ),
    "milestone_fees": TableSpec(
        group=BILLING,
        visible=(
            "id",
            "project_id",
            "milestone_id",
            "description",
            "currency",
            "amount_minor",
            "status",
            "attempts",
            "stripe_invoice_id",
            "last_error",
        ),
        filters=("org_id", "project_id", "milestone_id", "status", "currency"),
        order=("-created_at",),
        read_only=FEES_BY_FORM,
    ),
    "stripe_events": TableSpec(
        group=BILLING,
        visible=(
            "id",
            "stripe_event_id",
            "type",
            "status",
            "attempts",
            "org_id",
            "result",
            "last_error",
            "created_at",
        ),
        filters=("type", "status", "org_id", "stripe_event_id"),
        order=("-created_at",),
        read_only=EVENTS_AS_RECEIVED,
    ),
    "conditions": TableSpec(
        group=SYSTEM,
        visible=("id", "kind", "subject_type", "subject_id", "project_id", "owner_id", "status", "level"),
        filters=("kind", "subject_type", "project_id", "owner_id", "status"),
        order=("-created_at",),
        read_only="Conditions are raised, escalated and resolved by the events and the periodic pass that watch them.",
    ),
    "production_orders": TableSpec(
        group=PRODUCTION,
        visible=(
            "id",
            "project_id",
            "number",
            "supplier_id",
            "status",
            "quantity",
            "ex_factory_date",
            "incoterm",
        ),
        filters=("project_id", "supplier_id", "status", "ex_factory_date"),
        order=("-created_at",),
        no_create=ORDER_MESSAGE,
        workflow=_workflow(
            ORDER_MESSAGE,
            "org_id",
            "project_id",
            "number",
            "supplier_id",
            "quote_id",
            "revision_id",
            "status",
            "quantity",
            "ex_factory_date",
            "routing",
            "bom_snapshot",
            "confirmed_at",
            "confirmed_by_id",
            "sent_at",
            "accepted_at",
            "accepted_name",
            "proposed_ex_factory_date",
            "proposal_reason",
            "production_started_at",
            "produced_at",
            "shipped_at",
            "closed_at",
            "cancelled_at",
            "tooling_override_reason",
        ),
    ),
    "lots": TableSpec(
        group=PRODUCTION,
        visible=(
            "id",
            "order_id",
            "number",
            "status",
            "quantity",
            "planned_start",
            "planned_end",
            "last_report_at",
        ),
        filters=("order_id", "project_id", "status", "planned_start"),
        order=("order_id", "number"),
        no_create=LOT_MESSAGE,
        workflow=_workflow(
            LOT_MESSAGE,
            "org_id",
            "order_id",
            "project_id",
            "number",
            "quantity",
            "planned_start",
            "planned_end",
            "revision_id",
            "status",
            "progress",
            "last_report_at",
            "started_at",
            "produced_at",
            "released_at",
            "packed_at",
            "shipped_at",
            "delivered_at",
            "start_override_reason",
        ),
    ),
    "progress_reports": TableSpec(
        group=PRODUCTION,
        visible=("id", "lot_id", "order_id", "reported_at", "reporter_name", "via_link"),
        filters=("lot_id", "order_id", "reported_at"),
        order=("-reported_at",),
        read_only=REPORT_MESSAGE,
    ),
    "tooling_items": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "kind", "name", "owner_id", "due_date", "status", "trial_number"),
        filters=("order_id", "kind", "owner_id", "status"),
        order=("order_id", "id"),
        no_create=TOOLING_MESSAGE,
        workflow=_workflow(
            TOOLING_MESSAGE,
            "org_id",
            "order_id",
            "project_id",
            "status",
            "trial_number",
            "trial_note",
            "rejection_reason",
            "started_at",
            "trial_at",
            "decided_at",
        ),
    ),
    "production_photos": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "subject_type", "subject_id", "caption", "position"),
        filters=("order_id", "subject_type", "subject_id"),
        order=("order_id", "subject_id", "position"),
        no_create=PRODUCTION_PHOTO_MESSAGE,
        workflow=_workflow(
            PRODUCTION_PHOTO_MESSAGE,
            "org_id",
            "order_id",
            "subject_type",
            "subject_id",
            "attachment_id",
            "thumbnail_key",
        ),
    ),
    "production_links": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "supplier_id", "state", "expires_at", "last_opened_at", "view_count"),
        filters=("order_id", "supplier_id", "state"),
        order=("-created_at",),
        read_only=PRODUCTION_LINK_MESSAGE,
    ),
    "material_requirements": TableSpec(
        group=PRODUCTION,
        visible=(
            "id",
            "order_id",
            "material_key",
            "unit",
            "gross",
            "need_date",
            "order_by_date",
            "supplied_by",
        ),
        filters=("order_id", "supplied_by", "need_date", "order_by_date"),
        order=("order_id", "order_by_date"),
        read_only=MATERIALS_MESSAGE,
    ),
    "purchase_orders": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "number", "supplier_name", "status", "eta", "currency"),
        filters=("order_id", "status", "eta"),
        order=("-created_at",),
        read_only=MATERIALS_MESSAGE,
    ),
    "purchase_order_lines": TableSpec(
        group=PRODUCTION,
        visible=("id", "purchase_order_id", "requirement_id", "quantity", "received_quantity", "unit_cost"),
        filters=("purchase_order_id", "requirement_id"),
        order=("purchase_order_id", "id"),
        read_only=MATERIALS_MESSAGE,
    ),
    "free_issue_shipments": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "requirement_id", "quantity", "eta", "status", "tracking"),
        filters=("order_id", "status", "eta"),
        order=("-created_at",),
        read_only=MATERIALS_MESSAGE,
    ),
    "material_receipts": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "requirement_id", "source", "quantity", "received_at", "via_link"),
        filters=("order_id", "requirement_id", "source", "received_at"),
        order=("-received_at",),
        read_only=MATERIALS_MESSAGE,
    ),
    "inspections": TableSpec(
        group=PRODUCTION,
        visible=(
            "id",
            "order_id",
            "lot_id",
            "number",
            "kind",
            "status",
            "verdict",
            "inspector_id",
            "submitted_at",
        ),
        filters=("order_id", "lot_id", "kind", "status", "verdict", "inspector_id"),
        order=("-created_at",),
        read_only=QUALITY_MESSAGE,
    ),
    "inspection_defects": TableSpec(
        group=PRODUCTION,
        visible=("id", "inspection_id", "order_id", "defect_class", "defect_type", "note"),
        filters=("inspection_id", "order_id", "supplier_id", "defect_class", "defect_type"),
        order=("-created_at",),
        read_only=QUALITY_MESSAGE,
    ),
    "quality_holds": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "lot_id", "source", "status", "reason", "placed_at", "lifted_at"),
        filters=("order_id", "lot_id", "source", "status"),
        order=("-placed_at",),
        read_only=QUALITY_MESSAGE,
    ),
    "corrective_actions": TableSpec(
        group=PRODUCTION,
        visible=(
            "id",
            "order_id",
            "lot_id",
            "inspection_id",
            "status",
            "due_date",
            "answered_at",
            "closed_at",
        ),
        filters=("order_id", "lot_id", "status", "due_date"),
        order=("-created_at",),
        read_only=QUALITY_MESSAGE,
    ),
    "packing_lists": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "lot_id", "status", "total_cartons", "total_units", "submitted_at"),
        filters=("order_id", "lot_id", "status"),
        order=("-created_at",),
        read_only=SHIPPING_MESSAGE,
    ),
    "budget_entries": TableSpec(
        group=BILLING,
        visible=("id", "project_id", "category", "kind", "amount", "currency", "rate", "status", "note"),
        filters=("org_id", "project_id", "category", "kind", "status", "currency"),
        order=("-created_at",),
        read_only=BUDGET_MESSAGE,
    ),
    "budget_rates": TableSpec(
        group=BILLING,
        visible=("id", "project_id", "currency", "rate", "updated_at"),
        filters=("org_id", "project_id", "currency"),
        order=("project_id", "currency"),
        read_only=BUDGET_MESSAGE,
    ),
    "shipments": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "number", "status", "forwarder", "etd", "eta", "released_at"),
        filters=("order_id", "project_id", "status", "etd", "eta"),
        order=("-created_at",),
        read_only=SHIPPING_MESSAGE,
    ),
    "shipment_lots": TableSpec(
        group=PRODUCTION,
        visible=("id", "shipment_id", "lot_id"),
        filters=("shipment_id", "lot_id"),
        order=("shipment_id", "id"),
        read_only=SHIPPING_MESSAGE,
    ),
    "shipment_documents": TableSpec(
        group=PRODUCTION,
        visible=("id", "shipment_id", "kind", "number", "generated_at"),
        filters=("shipment_id", "kind"),
        order=("-generated_at",),
        read_only=SHIPPING_MESSAGE,
    ),
    "revision_changes": TableSpec(
        group=PRODUCTION,
        visible=(
            "id",
            "order_id",
            "from_revision_id",
            "to_revision_id",
            "status",
            "from_lot_number",
            "decided_at",
        ),
        filters=("order_id", "status"),
        order=("-created_at",),
        read_only=SHIPPING_MESSAGE,
    ),
    "floor_deviations": TableSpec(
        group=PRODUCTION,
        visible=("id", "order_id", "lot_id", "number", "status", "reported_by_name", "decided_at"),
        filters=("order_id", "lot_id", "status"),
        order=("-created_at",),
        read_only=SHIPPING_MESSAGE,
    ),
    "audit_events": TableSpec(
        group=SYSTEM,
        visible=(
            "seq",
            "created_at",
            "action",
            "subject_type",
            "subject_id",
            "actor_id",
            "org_id",
            "project_id",
        ),
        filters=("action", "subject_type", "subject_id", "actor_id", "org_id", "project_id", "created_at"),
        order=("-seq",),
        read_only="The audit trail is append-only: its events cannot be added, edited or deleted here.",
    ),
    "audit_checkpoints": TableSpec(
        group=SYSTEM,
        visible=("seq", "created_at", "head_hash"),
        filters=("seq", "created_at"),
        order=("-seq",),
        read_only="Checkpoints are signed by the audit job and `makeready audit checkpoint`; they cannot be edited.",
    ),
}

# A table nobody described yet: visible to staff, but nothing may be written until someone decides what is safe.
DEFAULT_SPEC = TableSpec(
    group=OTHER,
    visible=(),
    filters=(),
    order=(),
    read_only="This table is not configured for editing in the back office yet.",
)


def _validators(spec: TableSpec, table: type[Table]) -> dict[str, list[Validator]]:
    # every list: a known sort column, and no page deeper than backoffice.tables.MAX_LIST_OFFSET rows
    rules: dict[str, list[Validator]] = {"get_all": [known_sort_columns, refuse_deep_pages]}
    if spec.read_only:
        for method in WRITE_METHODS:
            rules.setdefault(method, []).append(refuse(405, spec.read_only))
    if spec.admins_only:
        for method in WRITE_METHODS:
            rules.setdefault(method, []).append(admins_only(spec.admins_only))
    if spec.no_create:
        rules.setdefault("post_single", []).append(refuse(405, spec.no_create))
    rules.setdefault("put_single", []).append(refuse(405, PUT_MESSAGE))
    if spec.workflow:
        guard = unchanged_columns(spec.workflow)
        for method in ("post_single", "patch_single"):
            rules.setdefault(method, []).append(guard)
    for method, extra in spec.extra_validators.items():
        rules.setdefault(method, []).extend(extra)
    if "version" in {c._meta.name for c in table._meta.columns}:
        # last: it bumps the version when it accepts, so nothing may refuse the edit after it
        rules.setdefault("patch_single", []).append(claim_version)
    return rules


def _hooks(table: type[Table], spec: TableSpec, engine: AsyncEngine | None) -> list[Hook]:
    """The spec's own hooks, then: the service hooks of a security table (the service writes the audit event), or
    for any other writable table, hooks that record each raw write in the audit trail."""
    hooks = list(spec.hooks)
    if engine is not None and not spec.read_only:
        hooks += spec.service_hooks(engine) if spec.service_hooks else audit_hooks(engine, table)
    # piccolo_api groups hooks with itertools.groupby, unsorted: a later run of one type would replace an earlier
    # one, so each type's hooks must be adjacent (sorted is stable: their order within a type is kept)
    kinds = list(HookType)
    return sorted(hooks, key=lambda hook: kinds.index(hook.hook_type))


def table_config(table: type[Table], spec: TableSpec, engine: AsyncEngine | None = None) -> TableConfig:
    def columns(names: tuple[str, ...]) -> list | None:
        return [table._meta.get_column_by_name(name) for name in names] or None

    for name, help_text in spec.derived.items():
        # the classes are built per back office (backoffice.tables), so changing their columns is local to it
        column = table._meta.get_column_by_name(name)
        column._meta.required = False
        column._meta.help_text = help_text
    order = [
        OrderBy(column=table._meta.get_column_by_name(name.lstrip("-")), ascending=not name.startswith("-"))
        for name in spec.order
    ]
    return TableConfig(
        table_class=table,
        visible_columns=columns(spec.visible),
        visible_filters=columns(spec.filters),
        order_by=order or None,
        menu_group=spec.group,
        hooks=_hooks(table, spec, engine) or None,
        validators=combine(_validators(spec, table)),
    )


def table_configs(tables: Mapping[str, type[Table]], engine: AsyncEngine | None = None) -> list[TableConfig]:
    """The TableConfigs; `engine` (SQLAlchemy, the same database) is what the service hooks write through."""
    configs = []
    for name, table in tables.items():
        if name in NOT_LISTED:
            continue
        spec = SPECS.get(name)
        if spec is None:
            logger.warning(
                "back office: table %s has no TableSpec; it is shown read-only under %s", name, OTHER
            )
            spec = DEFAULT_SPEC
        configs.append(table_config(table, spec, engine))
    return configs
