"""JSON shapes of the quality API: inspections with their frozen sampling plans, defects, holds and corrective
actions, the brand's decision, and the staff's writes (documented in the OpenAPI schema).

A brand reads an inspection's findings (counts, verdicts, remarks) only once the agency sent it for review, as on
the brand's pages (`portal.quality.VISIBLE`): before that `InspectionOut`'s findings are UNSET (left out of the
JSON). The quality records carry no agency costs; a concession's amount is the brand's own remedy.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec

from makeready.quality import inspections as qc
from makeready.quality.models import CorrectiveAction, Defect, Inspection, QualityHold
from portal.bounds import RowId


class PlanOut(msgspec.Struct):
    """One defect class's ISO 2859-1 plan, frozen when the inspection was scheduled (`SamplingPlan.to_dict()`)."""

    scheme: str
    aql: str
    level: str
    code_letter: str
    """Table 1's letter for the lot size and inspection level."""
    plan_letter: str
    """The row of Table 2-A the plan was found in after following the arrows."""
    sample_size: int
    accept: int
    """Ac: the lot passes this class with at most this many defective units."""
    reject: int
    """Re: the lot fails this class with this many or more."""
    hundred_percent: bool
    zero_tolerance: bool


class InspectionOut(msgspec.Struct):
    id: int
    reference: str
    """QC-<lot>-<number>, as people name the inspection."""
    project_id: int
    order_id: int
    lot_id: int
    number: int
    kind: str
    status: str
    lot_size: int
    """The units the plan is drawn for (the lot, or the reworked quantity of a re-inspection)."""
    level: str
    sample_size: int
    """The units the inspector draws: the largest of the classes' samples (0 until scheduled)."""
    plans: dict[str, PlanOut]
    """Per defect class (critical, major, minor), frozen at scheduling; empty while only requested."""
    scheduled_for: date | None
    third_party: str
    parent_id: int | None
    """For a re-inspection: the failed inspection it follows."""
    requested_at: datetime | None
    scheduled_at: datetime | None
    started_at: datetime | None
    submitted_at: datetime | None
    review_at: datetime | None
    decided_at: datetime | None
    decision_reasons: str
    concession: str
    concession_remedy: str
    concession_amount: Decimal | None
    version: int
    counts: dict[str, int] | msgspec.UnsetType = msgspec.UNSET
    """Defective units per class, computed at submission (left out for a brand before the review)."""
    verdicts: dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    """"accept" or "reject" per class, computed from the counts against the plans (never typed)."""
    verdict: str | msgspec.UnsetType = msgspec.UNSET
    """The lot's: "reject" when any class is, "" until submitted."""
    remarks: str | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def of(cls, inspection: Inspection, *, findings: bool) -> InspectionOut:
        plans = qc.plans_of(inspection)
        return cls(
            id=inspection.id,
            reference=inspection.reference,
            project_id=inspection.project_id,
            order_id=inspection.order_id,
            lot_id=inspection.lot_id,
            number=inspection.number,
            kind=inspection.kind,
            status=inspection.status.value,
            lot_size=inspection.lot_size,
            level=inspection.level,
            sample_size=qc.sample_size(inspection),
            plans={name: msgspec.convert(plan.to_dict(), PlanOut) for name, plan in plans.items()},
            scheduled_for=inspection.scheduled_for,
            third_party=inspection.third_party,
            parent_id=inspection.parent_id,
            requested_at=inspection.requested_at,
            scheduled_at=inspection.scheduled_at,
            started_at=inspection.started_at,
            submitted_at=inspection.submitted_at,
            review_at=inspection.review_at,
            decided_at=inspection.decided_at,
            decision_reasons=inspection.decision_reasons,
            concession=inspection.concession,
            concession_remedy=inspection.concession_remedy,
            concession_amount=inspection.concession_amount,
            version=inspection.version,
            counts={str(k): int(v) for k, v in (inspection.counts or {}).items()}
            if findings
            else msgspec.UNSET,
            verdicts={str(k): str(v) for k, v in (inspection.verdicts or {}).items()}
            if findings
            else msgspec.UNSET,
            verdict=inspection.verdict if findings else msgspec.UNSET,
            remarks=inspection.remarks if findings else msgspec.UNSET,
        )


class DefectOut(msgspec.Struct):
    id: int
    inspection_id: int
    defect_class: str
    defect_type: str
    note: str
    recorded_at: datetime

    @classmethod
    def of(cls, defect: Defect) -> DefectOut:
        return cls(
            id=defect.id,
            inspection_id=defect.inspection_id,
            defect_class=defect.defect_class,
            defect_type=defect.defect_type,
            note=defect.note,
            recorded_at=defect.created_at,
        )


class HoldOut(msgspec.Struct):
    id: int
    order_id: int
    lot_id: int | None
    """None: the hold is on the whole order."""
    inspection_id: int | None
    source: str
    """failed_inspection, critical_defect, revision_change, floor_deviation or manual."""
    reason: str
    status: str
    placed_at: datetime | None
    lifted_at: datetime | None
    lift_reason: str
    version: int

    @classmethod
    def of(cls, hold: QualityHold) -> HoldOut:
        return cls(
            id=hold.id,
            order_id=hold.order_id,
            lot_id=hold.lot_id,
            inspection_id=hold.inspection_id,
            source=hold.source,
            reason=hold.reason,
            status=hold.status.value,
            placed_at=hold.placed_at,
            lifted_at=hold.lifted_at,
            lift_reason=hold.lift_reason,
            version=hold.version,
        )


class CorrectiveActionOut(msgspec.Struct):
    id: int
    order_id: int
    lot_id: int
    inspection_id: int
    status: str
    problem: str
    due_date: date
    root_cause: str
    action: str
    rework_done: str
    reworked_quantity: int | None
    requested_at: datetime | None
    answered_at: datetime | None
    verified_at: datetime | None
    reinspection_id: int | None
    closed_at: datetime | None
    version: int

    @classmethod
    def of(cls, action: CorrectiveAction) -> CorrectiveActionOut:
        return cls(
            id=action.id,
            order_id=action.order_id,
            lot_id=action.lot_id,
            inspection_id=action.inspection_id,
            status=action.status.value,
            problem=action.problem,
            due_date=action.due_date,
            root_cause=action.root_cause,
            action=action.action,
            rework_done=action.rework_done,
            reworked_quantity=action.reworked_quantity,
            requested_at=action.requested_at,
            answered_at=action.answered_at,
            verified_at=action.verified_at,
            reinspection_id=action.reinspection_id,
            closed_at=action.closed_at,
            version=action.version,
        )


class InspectionDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """The brand's decision on an inspection in review (the brand's owners and members; 409 in any other state)."""

    decision: Literal["accept", "reject", "concede"]
    """concede: accept with a concession."""
    reasons: str = ""
    """Required to reject: a corrective action with them goes to the factory."""
    concession: str = ""
    """Required to concede: what is accepted despite the findings."""
    remedy: str = ""
    """Required to concede: the price or other remedy agreed."""
    amount: Decimal | None = None
    """A price reduction to note on the next invoice (the order's currency)."""
    version: RowId | None = None
    """The inspection's version you read; a stale one is a 409 carrying the current version."""


class InspectionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new inspection of a lot (staff tokens only). With `scheduled_for` and an inspector (an agency inspector's
    user id or a named third party) it is scheduled at once, which freezes one sampling plan per defect class from
    the pinned revision's quality section."""

    kind: Literal["pre_production", "during_production", "final", "re_inspection"]
    lot_size: int | None = None
    """Defaults to the lot's quantity; at most that."""
    scheduled_for: date | None = None
    inspector_id: RowId | None = None
    third_party: str = ""


class HoldLiftIn(msgspec.Struct, forbid_unknown_fields=True):
    """Lift an active hold (staff tokens only); the reason is required and recorded."""

    reason: str
    version: RowId | None = None
    """The hold's version you read; a stale one is a 409 carrying the current version."""
