"""The inspection machine and the inspector's findings.

requested -> scheduled -> in_progress -> submitted -> brand_review -> accepted | rejected | accepted_with_concession

A coordinator requests an inspection of a lot and schedules it (an agency inspector or a named third party, a day):
scheduling freezes one ISO 2859-1 plan per defect class from the pinned revision's quality section, and builds the
checklist (the spec's inspection points) and the measurement sheet (its dimensions and tolerances). The inspector
starts it (a final inspection moves the lot to "inspecting", a re-inspection to "reinspecting"), fills it on a
phone, and submits it: the verdict per class and overall is computed from the defective units against the plans,
never typed. A failed verdict holds the lot; a final or re-inspection passes or fails the lot. A coordinator sends
the report to the brand, who accepts, rejects (with reasons: a corrective action goes to the factory) or accepts
with a concession (what is accepted, and the remedy: the lot passes, its inspection holds are lifted).

Submitting twice (two phones, a retry) records once: the form carries a key, and the same key on an inspection it
already submitted is the same submission (a no-op); any other late submission is a 409 with the current state.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel import bus
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    load,
    perform,
    require_role,
    roles_of,
    states,
)
from makeready.kernel.stale import check_version, flush
from makeready.production.common import a_date, load_lot, load_order, text_of, whole_units
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.quality import holds, photos, sampling
from makeready.quality.models import Defect, Inspection, InspectionKind, InspectionStatus
from makeready.specs.content import SpecContent, parse
from makeready.specs.models import SpecRevision

bus.emits("inspection.requested", "inspection.findings_saved", "inspection.defect_recorded")

INSPECTION_NOT_FOUND = N_("This inspection does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only the agency's inspectors and coordinators fill in and submit inspections.")
BRAND_ONLY = N_(
    "Only the brand's owners and members decide on an inspection; a coordinator cannot decide for them."
)
DEFECT_CLASSES = sampling.DEFECT_CLASSES
CLASS_LABELS = {"critical": N_("Critical"), "major": N_("Major"), "minor": N_("Minor")}
DEFECT_TYPES = {
    "appearance": N_("Appearance (scratch, dent, stain)"),
    "colour": N_("Colour or finish mismatch"),
    "dimension": N_("Dimension out of tolerance"),
    "assembly": N_("Assembly (loose, misaligned, missing part)"),
    "function": N_("Function or safety failure"),
    "material": N_("Wrong or faulty material"),
    "marking": N_("Marking or label error"),
    "packaging": N_("Packaging damage or error"),
    "other": N_("Other"),
}
"""The defect types the tracker groups by (a fixed list, so the Pareto chart counts like with like)."""
CHECK_RESULTS = ("", "pass", "fail", "na")
MAX_READINGS = 10
FINDINGS = states(InspectionStatus.in_progress)
REVIEWABLE = states(InspectionStatus.brand_review)
FAILED_HOLD = N_("The lot failed inspection %(reference)s: %(classes)s over the acceptance number.")
CRITICAL_HOLD = N_("Inspection %(reference)s found %(count)s units with critical defects.")
REJECTED_HOLD = N_("The brand rejected inspection %(reference)s: %(reasons)s")
CONCESSION_LIFT = N_("The brand accepted inspection %(reference)s with a concession.")


def kind_label(kind: str) -> str:
    labels = InspectionKind.labels()
    try:
        return _(labels[InspectionKind(kind)])
    except ValueError:
        return kind


def type_label(defect_type: str) -> str:
    msgid = DEFECT_TYPES.get(defect_type)
    return _(msgid) if msgid else defect_type


def class_label(defect_class: str) -> str:
    msgid = CLASS_LABELS.get(defect_class)
    return _(msgid) if msgid else defect_class


# --------------------------------------------------------------------------------------------------------------
# Frozen at scheduling: plans, checklist, measurement sheet


def quality_of(revision: SpecRevision) -> SpecContent:
    return parse(revision.content)


def plans_for(content: SpecContent, lot_size: int) -> dict[str, dict[str, Any]]:
    quality = content.quality
    aqls = {"critical": quality.aql_critical, "major": quality.aql_major, "minor": quality.aql_minor}
    return {
        name: sampling.plan(lot_size, quality.inspection_level, aqls[name]).to_dict()
        for name in DEFECT_CLASSES
    }


def checklist_for(content: SpecContent) -> list[dict[str, Any]]:
    return [
        {
            "id": point.id,
            "point": {"en": point.point.en, "zh": point.point.zh},
            "method": {"en": point.method.en, "zh": point.method.zh},
            "defect_class": point.defect_class.value,
            "result": "",
            "note": "",
        }
        for point in content.quality.points
    ]


def sheet_for(content: SpecContent) -> list[dict[str, Any]]:
    return [
        {
            "id": dim.id,
            "feature": {"en": dim.feature.en, "zh": dim.feature.zh},
            "nominal": str(dim.value),
            "plus": str(dim.tolerance_plus),
            "minus": str(dim.tolerance_minus),
            "unit": dim.unit.value,
            "readings": [],
            "out_of_tolerance": 0,
        }
        for dim in content.dimensions
    ]


def plans_of(inspection: Inspection) -> dict[str, sampling.SamplingPlan]:
    return {name: sampling.SamplingPlan.from_dict(data) for name, data in (inspection.plans or {}).items()}


def sample_size(inspection: Inspection) -> int:
    """The units the inspector draws: the largest of the classes' samples (each class is judged on its own)."""
    return max((p.sample_size for p in plans_of(inspection).values()), default=0)


def out_of_tolerance(row: dict[str, Any], reading: Decimal) -> bool:
    nominal = Decimal(row["nominal"])
    return reading > nominal + Decimal(row["plus"]) or reading < nominal - Decimal(row["minus"])


# --------------------------------------------------------------------------------------------------------------
# The machine


async def _schedule(ctx: Context[Inspection]) -> None:
    inspection = ctx.obj
    inspector: User | None = ctx.inputs.get("inspector")
    inspection.inspector_id = inspector.id if inspector is not None else None
    inspection.third_party = ctx.inputs.get("third_party") or ""
    inspection.scheduled_for = ctx.inputs["scheduled_for"]
    revision = await ctx.session.get(SpecRevision, inspection.revision_id)
    assert revision is not None
    content = quality_of(revision)
    inspection.level = content.quality.inspection_level
    inspection.plans = plans_for(content, inspection.lot_size)
    inspection.checklist = checklist_for(content)
    inspection.measurements = sheet_for(content)
    ctx.after.update(
        inspector_id=inspection.inspector_id,
        third_party=inspection.third_party,
        scheduled_for=inspection.scheduled_for.isoformat(),
        plans=inspection.plans,
    )


async def _started(ctx: Context[Inspection]) -> None:
    inspection = ctx.obj
    lot = await load_lot(ctx.session, inspection.lot_id)
    if inspection.kind == InspectionKind.final and lot.status == LotStatus.produced:
        await move_lot(ctx.session, lot, "inspect", actor=ctx.actor)
    elif inspection.kind == InspectionKind.re_inspection and lot.status == LotStatus.rework:
        await move_lot(ctx.session, lot, "reinspect", actor=ctx.actor)


async def _may_start(ctx: Context[Inspection]) -> list[str]:
    inspection = ctx.obj
    lot = await load_lot(ctx.session, inspection.lot_id)
    if inspection.kind == InspectionKind.final and lot.status not in (
        LotStatus.produced,
        LotStatus.inspecting,
    ):
        return [
            _("A final inspection starts once the lot is produced; it is %(state)s.")
            % {"state": label(lot.status)}
        ]
    return []


async def _submitted(ctx: Context[Inspection]) -> None:
    inspection = ctx.obj
    counts = await defect_counts(ctx.session, inspection.id)
    result = sampling.lot_verdict(plans_of(inspection), counts)
    inspection.counts = counts
    inspection.verdicts = dict(result.by_class)
    inspection.verdict = result.overall
    inspection.submit_key = str(ctx.inputs.get("submit_key") or "")
    ctx.after.update(counts=counts, verdicts=inspection.verdicts, verdict=inspection.verdict)
    lot = await load_lot(ctx.session, inspection.lot_id)
    if lot.status in (LotStatus.inspecting, LotStatus.reinspecting):
        action = "pass_inspection" if result.overall == "accept" else "fail_inspection"
        await move_lot(ctx.session, lot, action, actor=ctx.actor)
    values = {"reference": inspection.reference}
    if result.overall == "reject":
        failed = [class_label(c) for c, v in result.by_class.items() if v == "reject"]
        await holds.place_hold(
            ctx.session,
            lot=lot,
            reason=_(FAILED_HOLD) % {**values, "classes": ", ".join(failed)},
            source="failed_inspection",
            inspection_id=inspection.id,
        )
    if counts.get("critical"):
        await holds.place_hold(
            ctx.session,
            lot=lot,
            reason=_(CRITICAL_HOLD) % {**values, "count": counts["critical"]},
            source="critical_defect",
            inspection_id=inspection.id,
        )
    if inspection.kind == InspectionKind.re_inspection and result.overall == "accept":
        await holds.lift_clearing_holds(
            ctx.session, lot, reason=_("Re-inspection %(reference)s passed.") % values
        )


async def _decided(ctx: Context[Inspection]) -> None:
    inspection = ctx.obj
    assert ctx.actor is not None
    inspection.decided_by_id = ctx.actor.id
    inspection.decision_reasons = str(ctx.inputs.get("reason") or "").strip()
    ctx.after.update(reference=inspection.reference, reasons=inspection.decision_reasons)


async def _sent(ctx: Context[Inspection]) -> None:
    ctx.after["reference"] = ctx.obj.reference


async def _accept_ok(ctx: Context[Inspection]) -> list[str]:
    if ctx.obj.verdict == "reject":
        return [_("This lot failed its inspection: accept it with a concession, or reject it.")]
    return []


async def _accepted_with_concession(ctx: Context[Inspection]) -> None:
    await _decided(ctx)
    inspection = ctx.obj
    inspection.concession = str(ctx.inputs["concession"])
    inspection.concession_remedy = str(ctx.inputs["remedy"])
    inspection.concession_amount = ctx.inputs.get("amount")
    ctx.after.update(
        concession=inspection.concession,
        remedy=inspection.concession_remedy,
        amount=str(inspection.concession_amount) if inspection.concession_amount is not None else None,
    )
    lot = await load_lot(ctx.session, inspection.lot_id)
    if lot.status == LotStatus.failed:
        await move_lot(ctx.session, lot, "pass_inspection", actor=None)
    await holds.lift_clearing_holds(
        ctx.session,
        lot,
        reason=_(CONCESSION_LIFT) % {"reference": inspection.reference},
        inspection_ids=[inspection.id],
    )


async def _rejected(ctx: Context[Inspection]) -> None:
    await _decided(ctx)
    inspection = ctx.obj
    lot = await load_lot(ctx.session, inspection.lot_id)
    if lot.status == LotStatus.passed:
        await move_lot(ctx.session, lot, "fail_review", actor=None)
    if inspection.verdict != "reject":
        await holds.place_hold(
            ctx.session,
            lot=lot,
            reason=_(REJECTED_HOLD)
            % {"reference": inspection.reference, "reasons": inspection.decision_reasons},
            source="failed_inspection",
            inspection_id=inspection.id,
        )
    # the corrective action request to the factory follows as a rule (makeready.quality.rules)


STAFF = frozenset({Role.STAFF})
BRAND = frozenset({Role.BRAND})


def _t(
    action: str,
    sources: frozenset[InspectionStatus],
    target: InspectionStatus,
    wrong: str,
    *,
    roles: frozenset[Role] = STAFF,
    forbidden: str = STAFF_ONLY,
    **kwargs: Any,
) -> Transition[InspectionStatus]:
    return Transition(
        action,
        sources,
        target,
        roles,
        f"inspection.{kwargs.pop('event', target.value)}",
        wrong_state=wrong,
        forbidden=forbidden,
        **kwargs,
    )


DECIDE_WRONG = N_("The brand decides on an inspection once it is sent for review; this one is %(state)s.")

INSPECTION: Machine[InspectionStatus] = Machine(
    name="inspection",
    subject=N_("inspection"),
    states=InspectionStatus,
    column="status",
    final=states(
        InspectionStatus.accepted, InspectionStatus.rejected, InspectionStatus.accepted_with_concession
    ),
    transitions=(
        _t(
            "schedule",
            states(InspectionStatus.requested, InspectionStatus.scheduled),
            InspectionStatus.scheduled,
            N_("Only a requested or scheduled inspection can be scheduled; this one is %(state)s."),
            stamp="scheduled_at",
            effect=_schedule,
        ),
        _t(
            "start",
            states(InspectionStatus.scheduled),
            InspectionStatus.in_progress,
            N_("Only a scheduled inspection can start; this one is %(state)s."),
            stamp="started_at",
            precondition=_may_start,
            effect=_started,
        ),
        _t(
            "submit",
            FINDINGS,
            InspectionStatus.submitted,
            N_("This inspection was already submitted; it is %(state)s."),
            stamp="submitted_at",
            effect=_submitted,
        ),
        _t(
            "send_for_review",
            states(InspectionStatus.submitted),
            InspectionStatus.brand_review,
            N_("Only a submitted inspection is sent to the brand; this one is %(state)s."),
            stamp="review_at",
            event="sent_for_review",
            effect=_sent,
        ),
        _t(
            "accept",
            REVIEWABLE,
            InspectionStatus.accepted,
            DECIDE_WRONG,
            roles=BRAND,
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            precondition=_accept_ok,
            effect=_decided,
        ),
        _t(
            "reject",
            REVIEWABLE,
            InspectionStatus.rejected,
            DECIDE_WRONG,
            roles=BRAND,
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            requires=("reason",),
            effect=_rejected,
        ),
        _t(
            "concede",
            REVIEWABLE,
            InspectionStatus.accepted_with_concession,
            DECIDE_WRONG,
            roles=BRAND,
            forbidden=BRAND_ONLY,
            stamp="decided_at",
            effect=_accepted_with_concession,
        ),
    ),
)


# --------------------------------------------------------------------------------------------------------------
# Services


async def load_inspection(session: AsyncSession, inspection_id: int) -> Inspection:
    return await load(session, Inspection, inspection_id, INSPECTION_NOT_FOUND)


async def _require_staff(session: AsyncSession, actor: User, org_id: int) -> None:
    require_role(await roles_of(session, actor, org_id=org_id), {Role.STAFF}, STAFF_ONLY)


async def _act(
    session: AsyncSession,
    inspection: Inspection,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Inspection:
    await perform(
        session,
        INSPECTION,
        inspection,
        action,
        actor=actor,
        org_id=inspection.org_id,
        project_id=inspection.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return inspection


async def request_inspection(
    session: AsyncSession,
    *,
    actor: User | None,
    lot_id: int,
    kind: str,
    lot_size: Any = None,
    parent_id: int | None = None,
) -> Inspection:
    """A new inspection of a lot (a coordinator; the system for a re-inspection after a verified action)."""
    lot = await load_lot(session, lot_id)
    if actor is not None:
        await _require_staff(session, actor, lot.org_id)
    if kind not in {k.value for k in InspectionKind}:
        raise ValidationFailed(_("Choose the kind of inspection."), field="kind")
    if lot.status == LotStatus.cancelled:
        raise Conflict(_("A cancelled lot is not inspected."), current_state=lot.status.value)
    order = await load_order(session, lot.order_id)
    size = lot.quantity if lot_size in (None, "") else whole_units(lot_size, field="lot_size")
    if size > lot.quantity:
        raise ValidationFailed(
            _("An inspection covers at most the lot's %(quantity)s units.") % {"quantity": lot.quantity},
            field="lot_size",
        )
    number = (
        await session.scalar(select(func.max(Inspection.number)).where(Inspection.lot_id == lot.id)) or 0
    ) + 1
    now = utcnow()
    inspection = Inspection(
        org_id=lot.org_id,
        project_id=lot.project_id,
        order_id=lot.order_id,
        lot_id=lot.id,
        supplier_id=order.supplier_id,
        revision_id=lot.revision_id,
        number=number,
        kind=kind,
        status=InspectionStatus.requested,
        lot_size=size,
        parent_id=parent_id,
        requested_at=now,
        plans={},
        checklist=[],
        measurements=[],
        quantity_check={},
        counts={},
        verdicts={},
    )
    session.add(inspection)
    await flush(session, INSPECTION.subject)
    after = {"reference": inspection.reference, "kind": kind, "lot": lot.number, "lot_size": size}
    await audit.record(
        session,
        actor_id=actor.id if actor is not None else None,
        action="inspection.requested",
        subject_type="inspection",
        subject_id=inspection.id,
        org_id=inspection.org_id,
        project_id=inspection.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="inspection.requested",
            actor=actor,
            subject=inspection,
            org_id=inspection.org_id,
            project_id=inspection.project_id,
            now=now,
            after=after,
        ),
    )
    return inspection


async def schedule_inspection(
    session: AsyncSession,
    *,
    actor: User,
    inspection_id: int,
    scheduled_for: Any,
    inspector_id: Any = None,
    third_party: str = "",
    expected_version: int | None = None,
) -> Inspection:
    """Who inspects (an agency inspector, or a named third party) and when; freezes the plans."""
    inspection = await load_inspection(session, inspection_id)
    day = a_date(scheduled_for, field="scheduled_for")
    third = text_of(third_party, field="third_party", limit=200)
    inspector = None
    if inspector_id not in (None, ""):
        try:
            wanted = int(inspector_id)
        except (TypeError, ValueError):
            wanted = 0
        inspector = await session.scalar(select(User).where(User.id == wanted))
        if inspector is None or not inspector.is_active or not (inspector.is_staff or inspector.is_admin):
            raise ValidationFailed(_("Choose one of the agency's inspectors."), field="inspector_id")
    if inspector is None and not third:
        raise ValidationFailed(
            _("Choose an agency inspector or name the third-party inspection company."), field="inspector_id"
        )
    return await _act(
        session,
        inspection,
        "schedule",
        actor=actor,
        inputs={"inspector": inspector, "third_party": third, "scheduled_for": day},
        expected_version=expected_version,
    )


async def start_inspection(
    session: AsyncSession, *, actor: User, inspection_id: int, expected_version: int | None = None
) -> Inspection:
    inspection = await load_inspection(session, inspection_id)
    return await _act(session, inspection, "start", actor=actor, expected_version=expected_version)


def _decimal(value: Any, *, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationFailed(_("Enter a number such as 12.5."), field=field) from None
    if not number.is_finite() or abs(number) > Decimal("1000000"):
        raise ValidationFailed(_("Enter a number such as 12.5."), field=field)
    return number


async def save_findings(
    session: AsyncSession,
    *,
    actor: User,
    inspection_id: int,
    checklist: dict[str, tuple[str, str]] | None = None,
    readings: dict[str, list[str]] | None = None,
    quantity_check: dict[str, Any] | None = None,
    remarks: str | None = None,
    expected_version: int | None = None,
) -> Inspection:
    """The inspector's checklist results, measurement readings, quantity and carton checks and remarks.

    Only while the inspection is in progress; remarks may still be added once it is submitted (they never change
    the verdict). A form that saw an older version is a 409 with the current state.
    """
    inspection = await load_inspection(session, inspection_id)
    await _require_staff(session, actor, inspection.org_id)
    check_version(inspection, expected_version, INSPECTION)
    only_remarks = checklist is None and readings is None and quantity_check is None
    allowed = FINDINGS | (
        states(InspectionStatus.submitted, InspectionStatus.brand_review) if only_remarks else frozenset()
    )
    if inspection.status not in allowed:
        raise Conflict(
            _("The findings of a %(state)s inspection no longer change.")
            % {"state": label(inspection.status)},
            current_state=inspection.status.value,
        )
    if checklist is not None:
        rows = []
        for row in inspection.checklist:
            result, note = checklist.get(row["id"], (row.get("result", ""), row.get("note", "")))
            if result not in CHECK_RESULTS:
                raise ValidationFailed(_("Choose pass, fail or not applicable."), field=f"check.{row['id']}")
            rows.append(
                {**row, "result": result, "note": text_of(note, field=f"note.{row['id']}", limit=1000)}
            )
        inspection.checklist = rows
    if readings is not None:
        sheet = []
        for row in inspection.measurements:
            raw = [
                r
                for r in readings.get(row["id"], [str(v) for v in row.get("readings", [])])
                if str(r).strip()
            ]
            if len(raw) > MAX_READINGS:
                raise ValidationFailed(
                    _("Record at most %(count)s readings per dimension.") % {"count": MAX_READINGS},
                    field=f"reading.{row['id']}",
                )
            values = [_decimal(r, field=f"reading.{row['id']}") for r in raw]
            sheet.append(
                {
                    **row,
                    "readings": [str(v) for v in values],
                    "out_of_tolerance": sum(1 for v in values if out_of_tolerance(row, v)),
                }
            )
        inspection.measurements = sheet
    if quantity_check is not None:
        inspection.quantity_check = _quantity_check(quantity_check, inspection)
    if remarks is not None:
        inspection.remarks = text_of(remarks, field="remarks")
    await flush(session, INSPECTION.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="inspection.findings_saved",
        subject_type="inspection",
        subject_id=inspection.id,
        org_id=inspection.org_id,
        project_id=inspection.project_id,
        after={"reference": inspection.reference, "remarks_only": only_remarks},
    )
    return inspection


def _quantity_check(data: dict[str, Any], inspection: Inspection) -> dict[str, Any]:
    def count(key: str) -> int | None:
        raw = data.get(key)
        if raw in (None, ""):
            return None
        return whole_units(raw, field=key, minimum=0)

    found = count("quantity_found")
    cartons = count("cartons_counted")
    result: dict[str, Any] = {"quantity_found": found, "cartons_counted": cartons}
    for key in ("carton_marks", "carton_condition"):
        value = str(data.get(key) or "")
        if value not in CHECK_RESULTS:
            raise ValidationFailed(_("Choose pass, fail or not applicable."), field=key)
        result[key] = value
    result["quantity_short"] = found is not None and found < inspection.lot_size
    return result


async def defect_counts(session: AsyncSession, inspection_id: int) -> dict[str, int]:
    rows = (
        await session.execute(
            select(Defect.defect_class, func.count(Defect.id))
            .where(Defect.inspection_id == inspection_id)
            .group_by(Defect.defect_class)
        )
    ).all()
    found = {name: int(n) for name, n in rows}
    return {name: found.get(name, 0) for name in DEFECT_CLASSES}


async def defects_of(session: AsyncSession, inspection_id: int) -> list[Defect]:
    rows = await session.scalars(
        select(Defect).where(Defect.inspection_id == inspection_id).order_by(Defect.id)
    )
    return list(rows.all())


async def record_defect(
    session: AsyncSession,
    *,
    actor: User,
    inspection_id: int,
    defect_class: str,
    defect_type: str,
    note: str = "",
    files: list[photos.PhotoFile] | None = None,
    expected_version: int | None = None,
) -> Defect:
    """One defective unit of the sample, under its most serious class, with its photos.

    The defective units of a class can never exceed that class's sample, nor all of them the units drawn.
    """
    inspection = await load_inspection(session, inspection_id)
    await _require_staff(session, actor, inspection.org_id)
    check_version(inspection, expected_version, INSPECTION)
    if inspection.status not in FINDINGS:
        raise Conflict(
            _("Defects are recorded while the inspection is in progress; it is %(state)s.")
            % {"state": label(inspection.status)},
            current_state=inspection.status.value,
        )
    if defect_class not in DEFECT_CLASSES:
        raise ValidationFailed(_("Choose critical, major or minor."), field="defect_class")
    if defect_type not in DEFECT_TYPES:
        raise ValidationFailed(_("Choose the type of defect."), field="defect_type")
    plans = plans_of(inspection)
    counts = await defect_counts(session, inspection.id)
    drawn = sample_size(inspection)
    if sum(counts.values()) + 1 > drawn:
        raise ValidationFailed(
            _("The sample is %(size)s units: there cannot be more defective units than that.")
            % {"size": drawn},
            field="defect_class",
        )
    if counts[defect_class] + 1 > plans[defect_class].sample_size:
        raise ValidationFailed(
            _(
                "%(class)s defects are judged on a sample of %(size)s units: there cannot be more defective "
                "units of this class."
            )
            % {"class": class_label(defect_class), "size": plans[defect_class].sample_size},
            field="defect_class",
        )
    defect = Defect(
        org_id=inspection.org_id,
        inspection_id=inspection.id,
        order_id=inspection.order_id,
        supplier_id=inspection.supplier_id,
        defect_class=defect_class,
        defect_type=defect_type,
        note=text_of(note, field="note", limit=1000),
        recorded_by_id=actor.id,
    )
    session.add(defect)
    # the inspection's version moves with every defect, so two phones cannot both add the last unit of a sample
    inspection.updated_at = utcnow()
    await flush(session, INSPECTION.subject)
    order = await load_order(session, inspection.order_id)
    if files:
        await photos.attach(
            session, order=order, subject_type="defect", subject_id=defect.id, files=files, actor_id=actor.id
        )
    after = {
        "reference": inspection.reference,
        "defect_id": defect.id,
        "class": defect_class,
        "type": defect_type,
        "note": defect.note,
    }
    await audit.record(
        session,
        actor_id=actor.id,
        action="inspection.defect_recorded",
        subject_type="inspection",
        subject_id=inspection.id,
        org_id=inspection.org_id,
        project_id=inspection.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="inspection.defect_recorded",
            actor=actor,
            subject=inspection,
            org_id=inspection.org_id,
            project_id=inspection.project_id,
            after=after,
        ),
    )
    return defect


async def remove_defect(session: AsyncSession, *, actor: User, defect_id: int) -> Inspection:
    """Take back a defect recorded by mistake (while the inspection is in progress)."""
    defect = await session.scalar(select(Defect).where(Defect.id == defect_id))
    if defect is None:
        raise NotFound(_("This defect does not exist or you do not have access to it."))
    inspection = await load_inspection(session, defect.inspection_id)
    await _require_staff(session, actor, inspection.org_id)
    if inspection.status not in FINDINGS:
        raise Conflict(
            _("Defects are recorded while the inspection is in progress; it is %(state)s.")
            % {"state": label(inspection.status)},
            current_state=inspection.status.value,
        )
    await session.delete(defect)
    inspection.updated_at = utcnow()
    await flush(session, INSPECTION.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="inspection.defect_removed",
        subject_type="inspection",
        subject_id=inspection.id,
        org_id=inspection.org_id,
        project_id=inspection.project_id,
        before={"defect_id": defect_id, "class": defect.defect_class, "type": defect.defect_type},
    )
    return inspection


async def submit_inspection(
    session: AsyncSession,
    *,
    actor: User,
    inspection_id: int,
    submit_key: str = "",
    expected_version: int | None = None,
) -> Inspection:
    """Submit the findings; the verdict is computed here. The same form sent again (same key) is a no-op."""
    inspection = await load_inspection(session, inspection_id)
    key = text_of(submit_key, field="submit_key", limit=64)
    if key and inspection.submit_key == key and inspection.status != InspectionStatus.in_progress:
        await _require_staff(session, actor, inspection.org_id)
        return inspection
    return await _act(
        session,
        inspection,
        "submit",
        actor=actor,
        inputs={"submit_key": key},
        expected_version=expected_version,
    )


async def send_for_review(
    session: AsyncSession, *, actor: User, inspection_id: int, expected_version: int | None = None
) -> Inspection:
    inspection = await load_inspection(session, inspection_id)
    return await _act(session, inspection, "send_for_review", actor=actor, expected_version=expected_version)


def _amount(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(_("Enter an amount such as 250.00."), field="amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("10000000000"):
        raise ValidationFailed(_("Enter an amount such as 250.00."), field="amount")
    return amount.quantize(Decimal("0.01"))


async def decide_inspection(
    session: AsyncSession,
    *,
    actor: User,
    inspection_id: int,
    decision: str,
    reasons: str = "",
    concession: str = "",
    remedy: str = "",
    amount: Any = None,
    expected_version: int | None = None,
) -> Inspection:
    """The brand accepts, rejects (with reasons) or accepts with a concession (what, and the remedy)."""
    if decision not in ("accept", "reject", "concede"):
        raise ValidationFailed(_("Choose accept, reject or accept with a concession."), field="decision")
    inspection = await load_inspection(session, inspection_id)
    inputs: dict[str, Any] = {"reason": text_of(reasons, field="reasons")}
    if decision == "concede":
        inputs["concession"] = text_of(concession, field="concession", required=True)
        inputs["remedy"] = text_of(remedy, field="remedy", required=True)
        inputs["amount"] = _amount(amount)
    return await _act(
        session, inspection, decision, actor=actor, inputs=inputs, expected_version=expected_version
    )


async def inspections_of_order(session: AsyncSession, order_id: int) -> list[Inspection]:
    rows = await session.scalars(
        select(Inspection)
        .where(Inspection.order_id == order_id)
        .order_by(Inspection.lot_id, Inspection.number)
    )
    return list(rows.all())


async def lot_and_order(session: AsyncSession, inspection: Inspection) -> tuple[Lot, ProductionOrder]:
    return await load_lot(session, inspection.lot_id), await load_order(session, inspection.order_id)
