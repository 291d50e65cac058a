"""The composition root: the one place that wires the core together.

`wire()` installs what the kernel needs from the domains (the audit recorder, the membership lookup) and the ORM
flush hooks that keep derived columns (the lots' board columns), imports every module that declares background jobs
(so every worker knows every job), and registers every domain's rules on the bus. `create_app()`, the CLI (and so
`makeready worker`) and the test suite call it; it is idempotent.

Emitters never import the rules that react to them: a new reaction is a rule in its domain and a line here.
"""

from __future__ import annotations

from makeready import machines as _machines  # noqa: F401  (declares every machine)
from makeready.accounts.roles import membership_role
from makeready.audit import jobs as audit_jobs
from makeready.audit.service import record
from makeready.billing import gating as billing_gating
from makeready.billing import jobs as billing_jobs
from makeready.billing import rules as billing_rules
from makeready.decisions import log as decision_log
from makeready.kernel import bus, gates, ports
from makeready.materials import jobs as materials_jobs
from makeready.materials import labels as materials_labels
from makeready.materials import notifications as materials_notifications
from makeready.materials import readiness as materials_readiness
from makeready.materials import rules as materials_rules
from makeready.metrics import jobs as metrics_jobs
from makeready.metrics import rules as metrics_rules
from makeready.notify import jobs as notify_jobs
from makeready.production import board_columns
from makeready.production import jobs as production_jobs
from makeready.production import labels as production_labels
from makeready.production import photos as production_photos
from makeready.production import rules as production_rules
from makeready.projects import files as project_files
from makeready.projects import sweep as upload_sweep
from makeready.quality import holds as quality_holds
from makeready.quality import jobs as quality_jobs
from makeready.quality import labels as quality_labels
from makeready.quality import photos as quality_photos
from makeready.quality import rules as quality_rules
from makeready.samples import photos as sample_photos
from makeready.shipping import changes as shipping_changes
from makeready.shipping import labels as shipping_labels
from makeready.shipping import rules as shipping_rules
from makeready.specs import documents as spec_documents
from makeready.workflow import decisions as _decisions  # noqa: F401  (declares the question events)
from makeready.workflow import jobs as workflow_jobs
from makeready.workflow import triggers as workflow_rules
from makeready.workflow import waiting_flags

JOB_MODULES = (
    notify_jobs,
    workflow_jobs,
    billing_jobs,
    spec_documents,
    upload_sweep,
    audit_jobs,
    production_jobs,
    materials_jobs,
    quality_jobs,
    metrics_jobs,
)
"""Modules whose import registers background jobs (`@job`) and periodic ones."""

RULE_SETS = (
    workflow_rules.RULES,
    billing_rules.RULES,
    production_rules.RULES,
    materials_rules.RULES,
    materials_notifications.RULES,
    quality_rules.RULES,
    shipping_rules.RULES,
    waiting_flags.RULES,  # after the rules that open tasks or change a project: it recomputes what it waits on
    metrics_rules.RULES,  # last: it folds the audit events the others' rules wrote
)
"""Every domain's (event name, rule) list, registered in this order."""

GATES = (
    (gates.PROJECT_CREATE, billing_gating.require_project_allowance),
    (gates.ORG_WRITE, billing_gating.require_writable),
    (gates.LOT_START, materials_readiness.lot_start_missing),
    (gates.LOT_RELEASE, quality_holds.release_gate),
    (gates.LOT_RELEASE, shipping_changes.release_gate),
)
"""Checks before writes that lower domains ask for and higher ones answer."""

SUBJECT_LABELS = (
    ("production_order", production_labels.order_labels),
    ("lot", production_labels.lot_labels),
    ("tooling", production_labels.tooling_labels),
    ("purchase_order", materials_labels.purchase_order_labels),
    ("inspection", quality_labels.inspection_labels),
    ("shipment", shipping_labels.shipment_labels),
    ("quality_hold", quality_labels.hold_labels),
    ("corrective_action", quality_labels.corrective_action_labels),
    ("packing_list", shipping_labels.packing_list_labels),
    ("floor_deviation", shipping_labels.floor_deviation_labels),
    ("revision_change", shipping_labels.revision_change_labels),
    ("free_issue", materials_labels.free_issue_labels),
)
"""How the decision log names the subjects of the domains above it."""

_wired = False


def wire() -> None:
    """Install the kernel's ports and register every rule; safe to call more than once."""
    global _wired
    if _wired:
        return
    ports.install(record_audit=record, membership_role=membership_role)
    board_columns.install()  # a flush hook: the board column of every lot a flush touches
    for name, gate in GATES:
        gates.register(name, gate)
    project_files.register_key_owner(sample_photos.thumbnail_keys_in)
    project_files.register_key_owner(spec_documents.document_keys_in)
    project_files.register_key_owner(production_photos.thumbnail_keys_in)
    project_files.register_key_owner(quality_photos.thumbnail_keys_in)
    for subject_type, labels in SUBJECT_LABELS:
        decision_log.register_subject_labels(subject_type, labels)
    for rules in RULE_SETS:
        for event_name, rule in rules:
            bus.register(event_name, rule)
    _wired = True
