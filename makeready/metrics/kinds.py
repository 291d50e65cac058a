"""What the figures count, as a table: each kind of decision (or wait) names the audit actions that ask for it,
decide it and withdraw the ask, whom the project waits on meanwhile, and what it is keyed by.

A new kind is one entry here (the production stage's order acceptance, inspection sign-off and corrective
action are three), and a line in `facts.SUPPLIER_SOURCES` saying how its subject names its factory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from makeready.i18n import N_

BRAND = "brand"
AGENCY = "agency"
FACTORY = "factory"
PARTIES = (BRAND, AGENCY, FACTORY)
PARTY_LABELS = {BRAND: N_("The brand"), AGENCY: N_("The agency"), FACTORY: N_("The factory")}
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class On:
    """An audit action, optionally only when its `after` (or `before`) values match (a phase change to on_hold)."""

    action: str
    after: Mapping[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, action: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
        if action != self.action:
            return False
        if any((after or {}).get(k) != v for k, v in self.after.items()):
            return False
        return all((before or {}).get(k) == v for k, v in self.before.items())


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    """N_ name for people."""
    party: str
    """Whom the project waits on while it is open ("" counts for nobody: a hold)."""
    asked: tuple[On, ...]
    decided: tuple[On, ...]
    subject_type: str
    """The subject of the asking event."""
    withdrawn: tuple[On, ...] = ()
    passes: tuple[str, ...] = ()
    """Deciding actions that pass first time (an approval); empty: no first-pass rate for this kind."""
    key: Literal["subject", "project"] = "subject"
    """One open ask per subject, or per project when asking and deciding happen on different rows (the
    go-ahead is asked by completing the feasibility review and given on the project)."""
    attempts_of: Literal["subject", "project"] = "subject"
    """What a second attempt is a second attempt of: the same subject (a revision resubmitted) or the project
    (sample round 2 after round 1)."""
    supplier: str | None = None
    """How the supplier is found: a name in `facts.SUPPLIER_SOURCES`."""
    decision: bool = True
    """Listed with the decision latencies (a hold is not a decision)."""

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(on.action for on in (*self.asked, *self.decided, *self.withdrawn))


HOLD = "hold"

KINDS: tuple[Kind, ...] = (
    Kind(
        "go_ahead",
        N_("Go-ahead"),
        BRAND,
        asked=(On("feasibility.completed"),),
        decided=(On("project.go_ahead_given"),),
        withdrawn=(On("feasibility.reopened"),),
        subject_type="feasibility_review",
        key="project",
    ),
    Kind(
        "sample_approval",
        N_("Sample approval"),
        BRAND,
        asked=(On("sample_round.received"),),
        decided=(On("sample_round.approved"), On("sample_round.rejected")),
        passes=("sample_round.approved",),
        subject_type="sample_round",
        attempts_of="project",
        supplier="sample_round",
    ),
    Kind(
        "spec_review",
        N_("Spec review"),
        BRAND,
        asked=(On("spec_revision.submitted"),),
        decided=(On("spec_revision.approved"), On("spec_revision.changes_requested")),
        withdrawn=(On("spec_revision.withdrawn"),),
        passes=("spec_revision.approved",),
        subject_type="spec_revision",
    ),
    Kind(
        "brand_question",
        N_("Question to the brand"),
        BRAND,
        asked=(On("question.asked"),),
        decided=(On("question.answered"),),
        subject_type="question",
    ),
    Kind(
        "change_request",
        N_("Change request"),
        AGENCY,
        asked=(On("change_request.raised"),),
        decided=(On("change_request.approved"), On("change_request.rejected")),
        withdrawn=(On("change_request.withdrawn"),),
        subject_type="change_request",
    ),
    Kind(
        "factory_question",
        N_("Factory question"),
        AGENCY,
        asked=(On("factory_question.asked"),),
        decided=(On("factory_question.answered"),),
        subject_type="factory_question",
        supplier="factory_question",
    ),
    Kind(
        "feasibility_review",
        N_("Feasibility review"),
        AGENCY,
        asked=(On("project.created"),),
        decided=(On("feasibility.completed"),),
        subject_type="project",
        key="project",
        decision=False,
    ),
    Kind(
        "sample_making",
        N_("Sample making and shipping"),
        FACTORY,
        asked=(On("sample_round.requested"),),
        decided=(On("sample_round.received"),),
        subject_type="sample_round",
        supplier="sample_round",
        decision=False,
    ),
    Kind(
        "factory_acknowledgement",
        N_("Factory acknowledgement"),
        FACTORY,
        asked=(On("factory_link.sent"),),
        decided=(On("factory.acknowledged"),),
        withdrawn=(On("factory_link.revoked"), On("factory_link.replaced")),
        subject_type="factory_link",
        supplier="factory_link",
    ),
    Kind(
        "order_acceptance",
        N_("Order acceptance"),
        FACTORY,
        asked=(On("production_order.sent"),),
        decided=(On("production_order.accepted"), On("production_order.date_proposed")),
        withdrawn=(On("production_order.cancelled"),),
        passes=("production_order.accepted",),
        subject_type="production_order",
        supplier="production_order",
    ),
    Kind(
        "inspection_signoff",
        N_("Inspection sign-off"),
        BRAND,
        asked=(On("inspection.sent_for_review"),),
        decided=(
            On("inspection.accepted"),
            On("inspection.rejected"),
            On("inspection.accepted_with_concession"),
        ),
        passes=("inspection.accepted",),
        subject_type="inspection",
        supplier="inspection",
    ),
    Kind(
        "corrective_action",
        N_("Corrective action"),
        FACTORY,
        asked=(On("corrective_action.requested"),),
        decided=(On("corrective_action.answered"),),
        subject_type="corrective_action",
        supplier="corrective_action",
    ),
    Kind(
        HOLD,
        N_("On hold"),
        "",
        asked=(On("project.phase_changed", after={"phase": "on_hold"}),),
        decided=(On("project.phase_changed", before={"phase": "on_hold"}),),
        subject_type="project",
        key="project",
        decision=False,
    ),
)

BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
ACTIONS: frozenset[str] = frozenset().union(*(k.actions for k in KINDS))
"""Every audit action some kind reads."""
DECISION_KINDS = tuple(k for k in KINDS if k.decision)
FIRST_PASS_KINDS = tuple(k for k in KINDS if k.passes)
