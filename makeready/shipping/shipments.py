"""Shipments: lots of one order leaving together, their documents, the release gate and delivery.

planned -> released (a coordinator, through the gate) -> shipped -> delivered (the brand confirms receipt);
a planned shipment can be cancelled (its lots are free again). The release gate lists everything missing in one
refusal: every lot cleared (its final inspection passed or accepted with a concession, so the lot is passed,
released or packed, and no hold: `gates.LOT_RELEASE`), every lot's packing list accepted, the documents generated,
and where billing is on the order's balance fee paid. A coordinator may override the payment only, with a reason.

The balance fee: billing has fees per milestone and no notion of an order's balance, so the balance is a milestone
fee on the order's ex-factory milestone (its time-and-action plan) or on the project's "Shipment" milestone; it is
paid when its invoice is paid. A fee that is cancelled asks for nothing.

Releasing twice from two tabs records one release: the second request loses on the version column (409).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.billing.models import FeeStatus, Invoice, InvoiceStatus, MilestoneFee
from makeready.billing.stripe_client import billing_enabled
from makeready.db.types import utcnow
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, format_money, label
from makeready.kernel import bus, gates
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.kernel.stale import check_version, flush
from makeready.production.common import a_date, a_price, load_order, text_of
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder
from makeready.production.orders import perform_order
from makeready.projects.models import Milestone, Phase, Project
from makeready.shipping import documents
from makeready.shipping.common import BRAND_ONLY, STAFF_ONLY, load_shipment, require_staff
from makeready.shipping.models import (
    PackingList,
    PackingStatus,
    Shipment,
    ShipmentDocument,
    ShipmentLot,
    ShipmentStatus,
)

bus.emits("shipment.created")

CLEARED = frozenset({LotStatus.passed, LotStatus.released, LotStatus.packed})
SHIPPABLE = frozenset(LotStatus) - frozenset({LotStatus.cancelled, LotStatus.shipped, LotStatus.delivered})
TRANSPORTS = {"sea": N_("Sea (container)"), "air": N_("Air (air waybill)")}
TEXT_FIELDS = {
    "forwarder": 200,
    "booking_number": 100,
    "container_or_awb": 100,
    "port_of_loading": 200,
    "port_of_destination": 200,
    "tracking_reference": 200,
}
BALANCE_PLAN_KEY = "ex_factory"
BALANCE_MILESTONE = "Shipment"
"""The standard milestone's title (its msgid) that carries a project's balance fee when the order has no plan."""
MAX_LOTS = 100
PROJECT_DELIVERED = N_("Every lot of every production order was delivered.")


# --------------------------------------------------------------------------------------------------------------
# What the release needs


async def lots_of_shipment(session: AsyncSession, shipment_id: int) -> list[Lot]:
    rows = await session.scalars(
        select(Lot)
        .join(ShipmentLot, ShipmentLot.lot_id == Lot.id)
        .where(ShipmentLot.shipment_id == shipment_id)
        .order_by(Lot.number)
    )
    return list(rows.all())


async def unpaid_balance(session: AsyncSession, order: ProductionOrder) -> list[MilestoneFee]:
    """The order's balance fees that are not paid (see the module docstring for what a balance fee is)."""
    milestones = select(Milestone.id).where(
        Milestone.project_id == order.project_id,
        (
            (Milestone.production_order_id == order.id) & (Milestone.plan_key == BALANCE_PLAN_KEY)
            | (
                Milestone.production_order_id.is_(None)
                & (Milestone.phase == Phase.production)
                & (Milestone.title == BALANCE_MILESTONE)
            )
        ),
    )
    fees = (
        await session.scalars(
            select(MilestoneFee)
            .where(MilestoneFee.milestone_id.in_(milestones), MilestoneFee.status != FeeStatus.canceled)
            .order_by(MilestoneFee.id)
        )
    ).all()
    if not fees:
        return []
    paid = set(
        (
            await session.scalars(
                select(Invoice.fee_id).where(
                    Invoice.fee_id.in_([f.id for f in fees]), Invoice.status == InvoiceStatus.paid
                )
            )
        ).all()
    )
    return [fee for fee in fees if fee.id not in paid]


async def release_missing(session: AsyncSession, shipment: Shipment) -> tuple[list[str], list[str]]:
    """(what is missing that nobody may override, the unpaid balance that a coordinator may override)."""
    missing: list[str] = []
    lots = await lots_of_shipment(session, shipment.id)
    order = await load_order(session, shipment.order_id)
    if not lots:
        missing.append(_("The shipment has no lots."))
    packing = {
        p.lot_id: p
        for p in (
            await session.scalars(select(PackingList).where(PackingList.lot_id.in_([lot.id for lot in lots])))
        ).all()
    }
    for lot in lots:
        if lot.status not in CLEARED:
            missing.append(
                _("Lot %(number)s has not passed its final inspection: it is %(state)s.")
                % {"number": lot.number, "state": label(lot.status)}
            )
        missing.extend(await gates.missing(gates.LOT_RELEASE, session, lot=lot, order=order))
        listed = packing.get(lot.id)
        if listed is None:
            missing.append(
                _("The factory has not submitted the packing list of lot %(number)s.")
                % {"number": lot.number}
            )
        elif listed.status != PackingStatus.accepted:
            missing.append(
                _("The packing list of lot %(number)s is not accepted: it is %(state)s.")
                % {"number": lot.number, "state": label(listed.status)}
            )
    kinds = set(
        (
            await session.scalars(
                select(ShipmentDocument.kind).where(ShipmentDocument.shipment_id == shipment.id)
            )
        ).all()
    )
    if not set(documents.KINDS) <= kinds:
        missing.append(_("The commercial invoice and the packing list have not been generated."))
    payment: list[str] = []
    if billing_enabled():
        for fee in await unpaid_balance(session, order):
            payment.append(
                _("The balance invoice (%(description)s, %(amount)s) is not paid.")
                % {
                    "description": fee.description,
                    "amount": format_money(Decimal(fee.amount_minor) / 100, fee.currency),
                }
            )
    return missing, payment


# --------------------------------------------------------------------------------------------------------------
# The machine


async def _may_release(ctx: Context[Shipment]) -> list[str]:
    missing, payment = await release_missing(ctx.session, ctx.obj)
    override = str(ctx.inputs.get("override_reason") or "").strip()
    if payment and override:
        ctx.obj.payment_override_reason = override
        ctx.after["payment_overridden"] = payment
        ctx.after["override_reason"] = override
        payment = []
    return missing + payment


async def _released(ctx: Context[Shipment]) -> None:
    ctx.obj.released_by_id = ctx.actor.id if ctx.actor is not None else None
    for lot in await lots_of_shipment(ctx.session, ctx.obj.id):
        # the gate checked every lot: bring each to packed (released for packing first where it was not)
        if lot.status == LotStatus.passed:
            await move_lot(ctx.session, lot, "release", actor=ctx.actor)
        if lot.status == LotStatus.released:
            await move_lot(ctx.session, lot, "pack", actor=ctx.actor)
    ctx.after["reference"] = ctx.obj.reference


async def _shipped(ctx: Context[Shipment]) -> None:
    for lot in await lots_of_shipment(ctx.session, ctx.obj.id):
        if lot.status == LotStatus.packed:
            await move_lot(ctx.session, lot, "ship", actor=ctx.actor)
    ctx.after["reference"] = ctx.obj.reference
    # the order is shipped with its last lot (partial shipments leave it as it is)
    order = await load_order(ctx.session, ctx.obj.order_id)
    left = await ctx.session.scalar(
        select(func.count(Lot.id)).where(
            Lot.order_id == order.id,
            Lot.status.not_in((LotStatus.shipped, LotStatus.delivered, LotStatus.cancelled)),
        )
    )
    if not left and order.status in (OrderStatus.produced, OrderStatus.in_production):
        await perform_order(ctx.session, order, "ship", actor=ctx.actor)


async def _delivered(ctx: Context[Shipment]) -> None:
    ctx.obj.received_by_id = ctx.actor.id if ctx.actor is not None else None
    ctx.obj.receipt_note = str(ctx.inputs.get("note") or "").strip()
    for lot in await lots_of_shipment(ctx.session, ctx.obj.id):
        if lot.status == LotStatus.shipped:
            await move_lot(ctx.session, lot, "deliver", actor=None)
    ctx.after["reference"] = ctx.obj.reference


async def _problem(ctx: Context[Shipment]) -> None:
    ctx.obj.problem = str(ctx.inputs["comment"]).strip()
    ctx.obj.problem_reported_at = ctx.now
    ctx.after.update(reference=ctx.obj.reference, problem=ctx.obj.problem)


async def _cancelled(ctx: Context[Shipment]) -> None:
    await ctx.session.execute(delete(ShipmentLot).where(ShipmentLot.shipment_id == ctx.obj.id))
    await ctx.session.execute(delete(ShipmentDocument).where(ShipmentDocument.shipment_id == ctx.obj.id))


STAFF = frozenset({Role.STAFF})
BRAND = frozenset({Role.BRAND})

SHIPMENT: Machine[ShipmentStatus] = Machine(
    name="shipment",
    subject=N_("shipment"),
    states=ShipmentStatus,
    column="status",
    final=states(ShipmentStatus.cancelled),  # a delivered shipment may still have a problem reported
    transitions=(
        Transition(
            "release",
            states(ShipmentStatus.planned),
            ShipmentStatus.released,
            STAFF,
            "shipment.released",
            wrong_state=N_("Only a planned shipment can be released; this one is %(state)s."),
            forbidden=N_("Only a coordinator can release a shipment."),
            stamp="released_at",
            precondition=_may_release,
            effect=_released,
        ),
        Transition(
            "ship",
            states(ShipmentStatus.released),
            ShipmentStatus.shipped,
            STAFF,
            "shipment.shipped",
            wrong_state=N_("Only a released shipment can be marked shipped; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="shipped_at",
            effect=_shipped,
        ),
        Transition(
            "confirm_receipt",
            states(ShipmentStatus.shipped),
            ShipmentStatus.delivered,
            BRAND,
            "shipment.delivered",
            wrong_state=N_("Receipt is confirmed for a shipped shipment; this one is %(state)s."),
            forbidden=BRAND_ONLY,
            stamp="delivered_at",
            effect=_delivered,
        ),
        Transition(
            "report_problem",
            states(ShipmentStatus.shipped, ShipmentStatus.delivered),
            None,
            BRAND,
            "shipment.problem_reported",
            wrong_state=N_("A problem is reported once the shipment has left; this one is %(state)s."),
            forbidden=BRAND_ONLY,
            requires=("comment",),
            effect=_problem,
        ),
        Transition(
            "cancel",
            states(ShipmentStatus.planned),
            ShipmentStatus.cancelled,
            STAFF,
            "shipment.cancelled",
            wrong_state=N_("Only a planned shipment can be cancelled; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="cancelled_at",
            requires=("reason",),
            effect=_cancelled,
        ),
    ),
)


async def _act(
    session: AsyncSession,
    shipment: Shipment,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Shipment:
    await perform(
        session,
        SHIPMENT,
        shipment,
        action,
        actor=actor,
        org_id=shipment.org_id,
        project_id=shipment.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return shipment


# --------------------------------------------------------------------------------------------------------------
# Planning a shipment


def _terms(data: dict[str, Any]) -> dict[str, Any]:
    """The shipment's transport terms from a form or the API: checked text, dates and the declared value."""
    clean: dict[str, Any] = {}
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            clean[name] = text_of(data.get(name), field=name, limit=limit)
    if "transport" in data:
        transport = str(data.get("transport") or "sea")
        if transport not in TRANSPORTS:
            raise ValidationFailed(_("Choose sea or air."), field="transport")
        clean["transport"] = transport
    for name in ("etd", "eta"):
        if name in data:
            value = data.get(name)
            clean[name] = None if value in (None, "") else a_date(value, field=name)
    etd: date | None = clean.get("etd")
    eta: date | None = clean.get("eta")
    if etd is not None and eta is not None and eta < etd:
        raise ValidationFailed(_("The ETA cannot be before the ETD."), field="eta")
    if "unit_value" in data:
        clean["unit_value"] = a_price(data.get("unit_value"), field="unit_value")
    if "currency" in data:
        currency = str(data.get("currency") or "").strip().upper()
        if not (len(currency) == 3 and currency.isalpha()):
            raise ValidationFailed(_("Enter a three-letter currency code such as USD."), field="currency")
        clean["currency"] = currency
    return clean


def _lot_ids(value: Any) -> list[int]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    ids: list[int] = []
    for item in items:
        try:
            ids.append(int(str(item)))
        except ValueError:
            raise ValidationFailed(_("Choose lots of the order."), field="lot_ids") from None
    if len(ids) > MAX_LOTS:
        raise ValidationFailed(
            _("A shipment has at most %(count)s lots.") % {"count": MAX_LOTS}, field="lot_ids"
        )
    return sorted(set(ids))


async def _place_lots(session: AsyncSession, shipment: Shipment, lot_ids: list[int]) -> list[Lot]:
    if not lot_ids:
        raise ValidationFailed(_("Choose at least one lot."), field="lot_ids")
    lots = list(
        (
            await session.scalars(select(Lot).where(Lot.id.in_(lot_ids), Lot.order_id == shipment.order_id))
        ).all()
    )
    if len(lots) != len(lot_ids):
        raise ValidationFailed(_("Choose lots of the order."), field="lot_ids")
    for lot in lots:
        if lot.status not in SHIPPABLE:
            raise ValidationFailed(
                _("Lot %(number)s is %(state)s: it cannot be shipped.")
                % {"number": lot.number, "state": label(lot.status)},
                field="lot_ids",
            )
    taken = (
        await session.execute(
            select(Lot.number, Shipment.project_id, Shipment.number)
            .join(ShipmentLot, ShipmentLot.lot_id == Lot.id)
            .join(Shipment, Shipment.id == ShipmentLot.shipment_id)
            .where(ShipmentLot.lot_id.in_(lot_ids), ShipmentLot.shipment_id != shipment.id)
        )
    ).all()
    if taken:
        number, project_id, shipment_number = taken[0]
        raise Conflict(
            _("Lot %(number)s is already in shipment %(shipment)s: a lot travels in one shipment.")
            % {"number": number, "shipment": f"SH-{project_id}-{shipment_number}"}
        )
    await session.execute(
        delete(ShipmentLot).where(ShipmentLot.shipment_id == shipment.id, ShipmentLot.lot_id.not_in(lot_ids))
    )
    present = set(
        (
            await session.scalars(select(ShipmentLot.lot_id).where(ShipmentLot.shipment_id == shipment.id))
        ).all()
    )
    for lot in lots:
        if lot.id not in present:
            session.add(ShipmentLot(org_id=shipment.org_id, shipment_id=shipment.id, lot_id=lot.id))
    try:
        await session.flush()
    except (
        IntegrityError
    ) as exc:  # a concurrent shipment took one of the lots between our check and our insert
        raise Conflict(
            _("A lot travels in one shipment: another shipment took one of these lots. Reload.")
        ) from exc
    return sorted(lots, key=lambda lot: lot.number)


async def create_shipment(
    session: AsyncSession, *, actor: User, order_id: int, data: dict[str, Any]
) -> Shipment:
    """A planned shipment of some lots of the order (partial shipments allowed)."""
    order = await load_order(session, order_id)
    await require_staff(session, actor, order.org_id)
    terms = _terms(data)
    lot_ids = _lot_ids(data.get("lot_ids"))
    number = (
        await session.scalar(select(func.max(Shipment.number)).where(Shipment.project_id == order.project_id))
        or 0
    ) + 1
    shipment = Shipment(
        org_id=order.org_id,
        project_id=order.project_id,
        order_id=order.id,
        number=number,
        status=ShipmentStatus.planned,
        **{"currency": order.currency, **terms},
    )
    session.add(shipment)
    await flush(session, SHIPMENT.subject)
    lots = await _place_lots(session, shipment, lot_ids)
    after = {"reference": shipment.reference, "lots": [lot.number for lot in lots], **_jsonable(terms)}
    await audit.record(
        session,
        actor_id=actor.id,
        action="shipment.created",
        subject_type="shipment",
        subject_id=shipment.id,
        org_id=shipment.org_id,
        project_id=shipment.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="shipment.created",
            actor=actor,
            subject=shipment,
            org_id=shipment.org_id,
            project_id=shipment.project_id,
            after=after,
        ),
    )
    return shipment


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal) else v)
        for k, v in values.items()
    }


async def update_shipment(
    session: AsyncSession,
    *,
    actor: User,
    shipment_id: int,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Shipment:
    """Change a planned shipment's lots and terms; its generated documents no longer hold and are removed.
    Tracking details (tracking reference, ETA) may still change after the release."""
    shipment = await load_shipment(session, shipment_id)
    await require_staff(session, actor, shipment.org_id)
    check_version(shipment, expected_version, SHIPMENT)
    terms = _terms(data)
    if shipment.status != ShipmentStatus.planned:
        late = {"tracking_reference", "eta"}
        if (
            shipment.status not in (ShipmentStatus.released, ShipmentStatus.shipped)
            or set(terms) - late
            or ("lot_ids" in data)
        ):
            raise Conflict(
                _("This shipment is %(state)s: only its tracking reference and ETA can still change.")
                % {"state": label(shipment.status)},
                current_state=shipment.status.value,
            )
    before = {name: getattr(shipment, name) for name in terms}
    for name, value in terms.items():
        setattr(shipment, name, value)
    lots: list[Lot] | None = None
    if "lot_ids" in data:
        lots = await _place_lots(session, shipment, _lot_ids(data.get("lot_ids")))
    if shipment.status == ShipmentStatus.planned:
        await session.execute(delete(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment.id))
    await flush(session, SHIPMENT.subject)
    after = _jsonable(terms)
    if lots is not None:
        after["lots"] = [lot.number for lot in lots]
    await audit.record(
        session,
        actor_id=actor.id,
        action="shipment.updated",
        subject_type="shipment",
        subject_id=shipment.id,
        org_id=shipment.org_id,
        project_id=shipment.project_id,
        before=_jsonable(before),
        after=after,
    )
    return shipment


async def generate_documents(
    session: AsyncSession, *, actor: User, shipment_id: int, expected_version: int | None = None
) -> list[ShipmentDocument]:
    """Freeze the commercial invoice and the packing list from the order, the lots and their packing lists."""
    shipment = await load_shipment(session, shipment_id)
    await require_staff(session, actor, shipment.org_id)
    check_version(shipment, expected_version, SHIPMENT)
    if shipment.status != ShipmentStatus.planned:
        raise Conflict(
            _("The documents of a %(state)s shipment no longer change.") % {"state": label(shipment.status)},
            current_state=shipment.status.value,
        )
    lots = await lots_of_shipment(session, shipment.id)
    order = await load_order(session, shipment.order_id)
    project = await session.get(Project, shipment.project_id)
    assert project is not None
    lists = {
        p.lot_id: p
        for p in (
            await session.scalars(select(PackingList).where(PackingList.lot_id.in_([lot.id for lot in lots])))
        ).all()
    }
    missing = []
    if not lots:
        missing.append(_("The shipment has no lots."))
    for lot in lots:
        listed = lists.get(lot.id)
        if listed is None or listed.status != PackingStatus.accepted:
            missing.append(
                _("The packing list of lot %(number)s is not accepted yet.") % {"number": lot.number}
            )
    if shipment.unit_value is None:
        missing.append(_("Enter the value per unit declared on the commercial invoice."))
    if missing:
        raise Conflict(" ".join(missing), missing=missing)
    await session.execute(delete(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment.id))
    made = []
    for kind in documents.KINDS:
        data = await documents.build_data(
            session, kind, shipment=shipment, order=order, project=project, lots=lots, packing=lists
        )
        row = ShipmentDocument(
            org_id=shipment.org_id,
            shipment_id=shipment.id,
            kind=kind,
            number=data["number"],
            data=data,
            generated_at=utcnow(),
            generated_by_id=actor.id,
        )
        session.add(row)
        made.append(row)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="shipment.documents_generated",
        subject_type="shipment",
        subject_id=shipment.id,
        org_id=shipment.org_id,
        project_id=shipment.project_id,
        after={"documents": [row.number for row in made], "reference": shipment.reference},
    )
    return made


async def documents_of(session: AsyncSession, shipment_id: int) -> dict[str, ShipmentDocument]:
    rows = await session.scalars(select(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment_id))
    return {row.kind: row for row in rows.all()}


# --------------------------------------------------------------------------------------------------------------
# Release, departure and receipt


async def release_shipment(
    session: AsyncSession,
    *,
    actor: User,
    shipment_id: int,
    override_reason: str = "",
    expected_version: int | None = None,
) -> Shipment:
    """Release for shipment through the gate (a 409 lists what is missing); the payment alone may be overridden."""
    shipment = await load_shipment(session, shipment_id)
    return await _act(
        session,
        shipment,
        "release",
        actor=actor,
        inputs={"override_reason": text_of(override_reason, field="override_reason")},
        expected_version=expected_version,
    )


async def ship_shipment(
    session: AsyncSession, *, actor: User, shipment_id: int, expected_version: int | None = None
) -> Shipment:
    shipment = await load_shipment(session, shipment_id)
    return await _act(session, shipment, "ship", actor=actor, expected_version=expected_version)


async def cancel_shipment(
    session: AsyncSession, *, actor: User, shipment_id: int, reason: str, expected_version: int | None = None
) -> Shipment:
    shipment = await load_shipment(session, shipment_id)
    return await _act(
        session,
        shipment,
        "cancel",
        actor=actor,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def confirm_receipt(
    session: AsyncSession,
    *,
    actor: User,
    shipment_id: int,
    note: str = "",
    expected_version: int | None = None,
) -> Shipment:
    """The brand confirms the goods arrived: the lots are delivered, and the project too once every lot is."""
    shipment = await load_shipment(session, shipment_id)
    return await _act(
        session,
        shipment,
        "confirm_receipt",
        actor=actor,
        inputs={"note": text_of(note, field="note")},
        expected_version=expected_version,
    )


async def report_problem(
    session: AsyncSession, *, actor: User, shipment_id: int, comment: str, expected_version: int | None = None
) -> Shipment:
    shipment = await load_shipment(session, shipment_id)
    return await _act(
        session,
        shipment,
        "report_problem",
        actor=actor,
        inputs={"comment": text_of(comment, field="comment")},
        expected_version=expected_version,
    )


async def all_lots_delivered(session: AsyncSession, project_id: int) -> bool:
    """Every lot of every order of the project (cancelled ones aside) is delivered, and there is at least one."""
    counts = (
        await session.execute(
            select(
                func.count(Lot.id),
                func.count(Lot.id).filter(Lot.status == LotStatus.delivered),
            ).where(Lot.project_id == project_id, Lot.status != LotStatus.cancelled)
        )
    ).one()
    return bool(counts[0]) and counts[0] == counts[1]


async def shipments_of_project(session: AsyncSession, project_id: int) -> list[Shipment]:
    rows = await session.scalars(
        select(Shipment).where(Shipment.project_id == project_id).order_by(Shipment.number)
    )
    return list(rows.all())


async def lots_by_shipment(session: AsyncSession, shipment_ids: list[int]) -> dict[int, list[Lot]]:
    if not shipment_ids:
        return {}
    rows = await session.execute(
        select(ShipmentLot.shipment_id, Lot)
        .join(Lot, Lot.id == ShipmentLot.lot_id)
        .where(ShipmentLot.shipment_id.in_(shipment_ids))
        .order_by(Lot.number)
    )
    out: dict[int, list[Lot]] = {}
    for shipment_id, lot in rows.all():
        out.setdefault(shipment_id, []).append(lot)
    return out
