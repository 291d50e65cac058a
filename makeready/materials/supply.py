"""Supply: the agency's purchase orders to material suppliers (PURCHASE_ORDER), the brand's free-issue shipments
(FREE_ISSUE), and receipts, including the factory's own purchases confirmed "in house" through its link.

Purchase order: draft -> sent -> confirmed -> shipped -> received (when every line is received in full; partial
receipts leave it where it is), cancelled with a reason before it ships. Each line is pegged to a requirement of the
purchase order's one production order (so of the same organization). A receipt over the ordered quantity needs a
reason. Free issue: shipped (recorded by the brand with quantity, ETA and tracking) -> received.
"""

from __future__ import annotations

from datetime import date
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
from makeready.materials.models import (
    FreeIssueShipment,
    MaterialReceipt,
    MaterialRequirement,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseStatus,
    ShipmentStatus,
)
from makeready.production.common import a_date, a_price, load_order, text_of
from makeready.production.models import OrderStatus, ProductionOrder, ProductionPhoto
from makeready.projects.models import Attachment

bus.emits("purchase_order.created", "free_issue.shipped", "material.in_house")

STAFF = frozenset({Role.STAFF})
STAFF_ONLY = N_("Only a coordinator buys materials and records their receipt.")
BRAND_ONLY = N_("Only the brand's owners and members record a free-issue shipment.")
PO_NOT_FOUND = N_("This purchase order does not exist or you do not have access to it.")
REQUIREMENT_NOT_FOUND = N_("This material requirement does not exist or you do not have access to it.")
SHIPMENT_NOT_FOUND = N_("This shipment does not exist or you do not have access to it.")
MAX_MATERIAL = Decimal("1000000000")
"""No single line or receipt is larger: a typo of extra zeros is refused."""
SUPPLY_ORDER = states(
    OrderStatus.confirmed, OrderStatus.sent, OrderStatus.accepted, OrderStatus.in_production
)
"""Materials are bought and received for an order the brand confirmed and that is not finished."""
MAX_LINES = 300


def a_quantity(value: Any, *, field: str, allow_zero: bool = False) -> Decimal:
    """A material quantity: "1200", "12.5"; never negative, NaN or absurd."""
    try:
        number = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValidationFailed(_("Enter a quantity such as 1200 or 12.5."), field=field)
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationFailed(_("Enter a quantity above zero."), field=field)
    if number > MAX_MATERIAL:
        raise ValidationFailed(_("This quantity is absurdly large: check it."), field=field)
    return number.quantize(Decimal("0.0001"))


async def _has_lines(ctx: Context[PurchaseOrder]) -> list[str]:
    count = await ctx.session.scalar(
        select(func.count(PurchaseOrderLine.id)).where(PurchaseOrderLine.purchase_order_id == ctx.obj.id)
    )
    missing = [] if count else [_("Add at least one material to the purchase order.")]
    if ctx.obj.eta is None:
        missing.append(_("Give the expected arrival date (ETA)."))
    return missing


async def _eta(ctx: Context[PurchaseOrder]) -> None:
    eta = ctx.inputs.get("eta")
    if eta is not None and eta != ctx.obj.eta:
        ctx.before["eta"] = ctx.obj.eta.isoformat() if ctx.obj.eta else None
        ctx.obj.eta = eta
        ctx.after["eta"] = eta.isoformat()
    tracking = ctx.inputs.get("tracking")
    if tracking:
        ctx.obj.tracking = tracking
        ctx.after["tracking"] = tracking


async def _received(ctx: Context[PurchaseOrder]) -> None:
    ctx.after.update(ctx.inputs.get("receipt") or {})


def _po(
    action: str, sources: frozenset[PurchaseStatus], target: PurchaseStatus | None, wrong: str, **kwargs: Any
) -> Transition[PurchaseStatus]:
    event = kwargs.pop("event", f"purchase_order.{target.value if target else action}")
    roles = kwargs.pop("roles", STAFF)
    return Transition(
        action, sources, target, roles, event, wrong_state=wrong, forbidden=STAFF_ONLY, **kwargs
    )


OPEN = states(PurchaseStatus.sent, PurchaseStatus.confirmed, PurchaseStatus.shipped)

PURCHASE_ORDER: Machine[PurchaseStatus] = Machine(
    name="purchase_order",
    subject=N_("purchase order"),
    states=PurchaseStatus,
    column="status",
    final=states(PurchaseStatus.received, PurchaseStatus.cancelled),
    transitions=(
        _po(
            "send",
            states(PurchaseStatus.draft),
            PurchaseStatus.sent,
            N_("Only a draft purchase order is sent; this one is %(state)s."),
            stamp="sent_at",
            precondition=_has_lines,
            effect=_eta,
        ),
        _po(
            "confirm",
            states(PurchaseStatus.sent),
            PurchaseStatus.confirmed,
            N_("The supplier confirms a purchase order that was sent; this one is %(state)s."),
            stamp="confirmed_at",
            effect=_eta,
        ),
        _po(
            "ship",
            states(PurchaseStatus.sent, PurchaseStatus.confirmed),
            PurchaseStatus.shipped,
            N_("Only a purchase order sent or confirmed can ship; this one is %(state)s."),
            stamp="shipped_at",
            effect=_eta,
        ),
        _po(
            "set_eta",
            OPEN,
            None,
            N_("The ETA of a %(state)s purchase order cannot be changed."),
            event="purchase_order.eta_changed",
            effect=_eta,
        ),
        _po(
            "receive",
            OPEN,
            None,
            N_("Only a purchase order on its way can be received; this one is %(state)s."),
            event="purchase_order.receipt",
            effect=_received,
        ),
        _po(
            "complete",
            OPEN,
            PurchaseStatus.received,
            N_("Only a purchase order on its way can be received; this one is %(state)s."),
            roles=frozenset({Role.STAFF, Role.SYSTEM}),
            stamp="received_at",
        ),
        _po(
            "cancel",
            states(PurchaseStatus.draft, PurchaseStatus.sent, PurchaseStatus.confirmed),
            PurchaseStatus.cancelled,
            N_("A purchase order that shipped or was received cannot be cancelled; this one is %(state)s."),
            stamp="cancelled_at",
            requires=("reason",),
        ),
    ),
)


async def _shipment_received(ctx: Context[FreeIssueShipment]) -> None:
    ctx.after.update(ctx.inputs.get("receipt") or {})


FREE_ISSUE: Machine[ShipmentStatus] = Machine(
    name="free_issue",
    subject=N_("free-issue shipment"),
    states=ShipmentStatus,
    column="status",
    final=states(ShipmentStatus.received),
    transitions=(
        Transition(
            "receive",
            states(ShipmentStatus.shipped),
            ShipmentStatus.received,
            frozenset({Role.STAFF, Role.SYSTEM}),
            "free_issue.received",
            wrong_state=N_("This shipment is %(state)s already."),
            forbidden=STAFF_ONLY,
            stamp="received_at",
            effect=_shipment_received,
        ),
    ),
)


# -- loading --------------------------------------------------------------------------------------------------


async def load_purchase_order(session: AsyncSession, purchase_order_id: int) -> PurchaseOrder:
    return await load(session, PurchaseOrder, purchase_order_id, PO_NOT_FOUND)


async def load_requirement(
    session: AsyncSession, requirement_id: Any, *, order: ProductionOrder
) -> MaterialRequirement:
    """A requirement of this order: another order's (or organization's) is simply not found."""
    try:
        wanted = int(requirement_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose a material of this order."), field="requirement_id") from None
    requirement = await session.scalar(
        select(MaterialRequirement).where(
            MaterialRequirement.id == wanted,
            MaterialRequirement.order_id == order.id,
            MaterialRequirement.org_id == order.org_id,
        )
    )
    if requirement is None:
        raise NotFound(_(REQUIREMENT_NOT_FOUND))
    return requirement


def _require_running(order: ProductionOrder) -> None:
    if order.status not in SUPPLY_ORDER:
        raise Conflict(
            _("Materials are bought for a confirmed order that is not finished; this one is %(state)s.")
            % {"state": label(order.status)},
            current_state=order.status.value,
        )


async def lines_of(session: AsyncSession, purchase_order_id: int) -> list[PurchaseOrderLine]:
    rows = await session.scalars(
        select(PurchaseOrderLine)
        .where(PurchaseOrderLine.purchase_order_id == purchase_order_id)
        .order_by(PurchaseOrderLine.id)
    )
    return list(rows.all())


# -- purchase orders ------------------------------------------------------------------------------------------


async def create_purchase_order(
    session: AsyncSession,
    *,
    actor: User,
    order_id: int,
    supplier_name: str,
    eta: Any = None,
    lines: list[dict[str, Any]],
    currency: str = "USD",
    note: str = "",
) -> PurchaseOrder:
    """A draft purchase order for agency-bought materials of one production order."""
    order = await load_order(session, order_id)
    require_role(await roles_of(session, actor, org_id=order.org_id), STAFF, STAFF_ONLY)
    _require_running(order)
    name = text_of(supplier_name, field="supplier_name", limit=200, required=True)
    when = a_date(eta, field="eta") if str(eta or "").strip() else None
    if not lines:
        raise ValidationFailed(_("Add at least one material to the purchase order."), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            _("A purchase order holds at most %(n)s lines.") % {"n": MAX_LINES}, field="lines"
        )
    cleaned = []
    seen = set()
    for index, line in enumerate(lines):
        requirement = await load_requirement(session, line.get("requirement_id"), order=order)
        if requirement.supplied_by != "agency":
            raise ValidationFailed(
                _("%(material)s is not bought by the agency: it cannot go on a purchase order.")
                % {"material": requirement.description_en or requirement.material_code},
                field=f"lines.{index}.requirement_id",
            )
        if requirement.id in seen:
            raise ValidationFailed(
                _("Each material appears once on a purchase order."), field=f"lines.{index}"
            )
        seen.add(requirement.id)
        cleaned.append(
            (
                requirement,
                a_quantity(line.get("quantity"), field=f"lines.{index}.quantity"),
                a_price(line.get("unit_cost"), field=f"lines.{index}.unit_cost"),
            )
        )
    number = int(
        await session.scalar(
            select(func.coalesce(func.max(PurchaseOrder.number), 0)).where(PurchaseOrder.order_id == order.id)
        )
        or 0
    )
    po = PurchaseOrder(
        org_id=order.org_id,
        order_id=order.id,
        project_id=order.project_id,
        number=number + 1,
        supplier_name=name,
        eta=when,
        currency=(currency or "USD").strip().upper()[:3],
        note=text_of(note, field="note"),
        status=PurchaseStatus.draft,
    )
    session.add(po)
    await flush(session, PURCHASE_ORDER.subject)
    for requirement, quantity, cost in cleaned:
        session.add(
            PurchaseOrderLine(
                org_id=order.org_id,
                purchase_order_id=po.id,
                requirement_id=requirement.id,
                quantity=quantity,
                unit_cost=cost,
            )
        )
    await flush(session, PURCHASE_ORDER.subject)
    after = {
        "reference": po.reference,
        "supplier_name": name,
        "eta": when.isoformat() if when else None,
        "lines": [{"requirement_id": r.id, "quantity": str(q)} for r, q, _c in cleaned],
    }
    await audit.record(
        session,
        actor_id=actor.id,
        action="purchase_order.created",
        subject_type="purchase_order",
        subject_id=po.id,
        org_id=po.org_id,
        project_id=po.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="purchase_order.created",
            actor=actor,
            subject=po,
            org_id=po.org_id,
            project_id=po.project_id,
            after=after,
        ),
    )
    return po


async def act_on_purchase_order(
    session: AsyncSession,
    *,
    actor: User,
    purchase_order_id: int,
    action: str,
    eta: Any = None,
    tracking: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> PurchaseOrder:
    """send, confirm, ship, set_eta or cancel (receipts go through `receive_purchase_order`)."""
    if action not in ("send", "confirm", "ship", "set_eta", "cancel"):
        raise ValidationFailed(_("Choose an action."), field="action")
    po = await load_purchase_order(session, purchase_order_id)
    inputs: dict[str, Any] = {"reason": text_of(reason, field="reason")}
    if str(eta or "").strip():
        inputs["eta"] = a_date(eta, field="eta")
    elif action == "set_eta":
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field="eta")
    if tracking:
        inputs["tracking"] = text_of(tracking, field="tracking", limit=200)
    if action == "send" and "eta" in inputs:
        po.eta = inputs["eta"]
    await perform(
        session,
        PURCHASE_ORDER,
        po,
        action,
        actor=actor,
        org_id=po.org_id,
        project_id=po.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return po


async def receive_purchase_order(
    session: AsyncSession,
    *,
    actor: User,
    purchase_order_id: int,
    quantities: dict[Any, Any],
    reason: str = "",
    expected_version: int | None = None,
) -> PurchaseOrder:
    """Record what arrived per line (partial receipts allowed); more than ordered needs a reason. The order is
    received when every line is received in full."""
    po = await load_purchase_order(session, purchase_order_id)
    require_role(await roles_of(session, actor, org_id=po.org_id), STAFF, STAFF_ONLY)
    check_version(po, expected_version, PURCHASE_ORDER)
    if po.status not in OPEN:
        raise Conflict(
            _("Only a purchase order on its way can be received; this one is %(state)s.")
            % {"state": label(po.status)},
            current_state=po.status.value,
        )
    lines = {line.id: line for line in await lines_of(session, po.id)}
    why = text_of(reason, field="reason")
    arrived: list[tuple[PurchaseOrderLine, Decimal]] = []
    for raw_id, raw_quantity in quantities.items():
        try:
            line = lines[int(raw_id)]
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed(_("This line is not on the purchase order."), field="quantities") from None
        if raw_quantity in (None, ""):
            continue
        quantity = a_quantity(raw_quantity, field=f"quantities.{line.id}", allow_zero=True)
        if quantity == 0:
            continue
        if line.received_quantity + quantity > line.quantity and not why:
            raise ValidationFailed(
                _("More than ordered arrived (%(total)s of %(ordered)s): give a reason.")
                % {"total": line.received_quantity + quantity, "ordered": line.quantity},
                field="reason",
            )
        arrived.append((line, quantity))
    if not arrived:
        raise ValidationFailed(_("Enter the quantity that arrived."), field="quantities")
    now = utcnow()
    for line, quantity in arrived:
        line.received_quantity += quantity
        session.add(
            MaterialReceipt(
                org_id=po.org_id,
                order_id=po.order_id,
                requirement_id=line.requirement_id,
                source="purchase_order",
                purchase_order_line_id=line.id,
                quantity=quantity,
                received_at=now,
                note=why,
                received_by_id=actor.id,
            )
        )
    await perform(
        session,
        PURCHASE_ORDER,
        po,
        "receive",
        actor=actor,
        org_id=po.org_id,
        project_id=po.project_id,
        inputs={
            "receipt": {
                "received": {str(line.id): str(q) for line, q in arrived},
                "reason": why,
            }
        },
    )
    if all(line.received_quantity >= line.quantity for line in lines.values()):
        await perform(
            session, PURCHASE_ORDER, po, "complete", actor=actor, org_id=po.org_id, project_id=po.project_id
        )
    return po


async def purchase_orders_of(session: AsyncSession, order_id: int) -> list[PurchaseOrder]:
    rows = await session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.order_id == order_id).order_by(PurchaseOrder.number)
    )
    return list(rows.all())


# -- free issue -----------------------------------------------------------------------------------------------


async def record_free_issue(
    session: AsyncSession,
    *,
    actor: User,
    order_id: int,
    requirement_id: Any,
    quantity: Any,
    eta: Any,
    tracking: str = "",
) -> FreeIssueShipment:
    """The brand records material it shipped to the factory (quantity, ETA, tracking)."""
    order = await load_order(session, order_id)
    roles = await roles_of(session, actor, org_id=order.org_id)
    require_role(roles, {Role.BRAND, Role.STAFF}, BRAND_ONLY)
    _require_running(order)
    requirement = await load_requirement(session, requirement_id, order=order)
    if requirement.supplied_by != "brand":
        raise ValidationFailed(
            _("%(material)s is not supplied by the brand.")
            % {"material": requirement.description_en or requirement.material_code},
            field="requirement_id",
        )
    amount = a_quantity(quantity, field="quantity")
    when = a_date(eta, field="eta")
    if when < utcnow().date():
        raise ValidationFailed(_("The ETA is in the past: enter when it will arrive."), field="eta")
    shipment = FreeIssueShipment(
        org_id=order.org_id,
        order_id=order.id,
        project_id=order.project_id,
        requirement_id=requirement.id,
        quantity=amount,
        eta=when,
        tracking=text_of(tracking, field="tracking", limit=200),
        status=ShipmentStatus.shipped,
        recorded_by_id=actor.id,
    )
    session.add(shipment)
    await flush(session, FREE_ISSUE.subject)
    after = {
        "requirement_id": requirement.id,
        "material": requirement.description_en,
        "quantity": str(amount),
        "eta": when.isoformat(),
        "tracking": shipment.tracking,
    }
    await audit.record(
        session,
        actor_id=actor.id,
        action="free_issue.shipped",
        subject_type="free_issue",
        subject_id=shipment.id,
        org_id=order.org_id,
        project_id=order.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="free_issue.shipped",
            actor=actor,
            subject=shipment,
            org_id=order.org_id,
            project_id=order.project_id,
            after=after,
        ),
    )
    return shipment


async def receive_free_issue(
    session: AsyncSession,
    *,
    actor: User | None,
    shipment_id: int,
    quantity: Any,
    note: str = "",
    expected_version: int | None = None,
) -> FreeIssueShipment:
    """The shipment arrived at the factory (recorded by a coordinator): its quantity is in house."""
    shipment = await load(session, FreeIssueShipment, shipment_id, SHIPMENT_NOT_FOUND)
    amount = a_quantity(quantity, field="quantity")
    text = text_of(note, field="note")
    if amount > shipment.quantity and not text:
        raise ValidationFailed(
            _("More than shipped arrived (%(total)s of %(shipped)s): give a reason.")
            % {"total": amount, "shipped": shipment.quantity},
            field="note",
        )
    await perform(
        session,
        FREE_ISSUE,
        shipment,
        "receive",
        actor=actor,
        org_id=shipment.org_id,
        project_id=shipment.project_id,
        inputs={"receipt": {"quantity": str(amount), "note": text}},
        expected_version=expected_version,
    )
    session.add(
        MaterialReceipt(
            org_id=shipment.org_id,
            order_id=shipment.order_id,
            requirement_id=shipment.requirement_id,
            source="free_issue",
            shipment_id=shipment.id,
            quantity=amount,
            received_at=utcnow(),
            note=text,
            received_by_id=actor.id if actor is not None else None,
        )
    )
    await session.flush()
    return shipment


async def shipments_of(session: AsyncSession, order_id: int) -> list[FreeIssueShipment]:
    rows = await session.scalars(
        select(FreeIssueShipment).where(FreeIssueShipment.order_id == order_id).order_by(FreeIssueShipment.id)
    )
    return list(rows.all())


# -- the factory's own materials ------------------------------------------------------------------------------


async def confirm_in_house(
    session: AsyncSession,
    *,
    order: ProductionOrder,
    requirement_id: Any,
    quantity: Any,
    note: str = "",
    photo_ids: list[int] | None = None,
) -> MaterialReceipt:
    """The factory, through its production link (no account: the system acts), confirms a quantity of a material
    it bought is in house, with a note and optional photos (attachments already verified for this order's project)."""
    _require_running(order)
    requirement = await load_requirement(session, requirement_id, order=order)
    if requirement.supplied_by != "factory":
        raise ValidationFailed(
            _("This material is not bought by the factory: its arrival is recorded by the agency."),
            field="requirement_id",
        )
    amount = a_quantity(quantity, field="quantity")
    text = text_of(note, field="note", limit=2000)
    receipt = MaterialReceipt(
        org_id=order.org_id,
        order_id=order.id,
        requirement_id=requirement.id,
        source="factory",
        quantity=amount,
        received_at=utcnow(),
        note=text,
        via_link=True,
    )
    session.add(receipt)
    await session.flush()
    photos = []
    for position, attachment_id in enumerate(photo_ids or []):
        attachment = await session.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id, Attachment.project_id == order.project_id
            )
        )
        if attachment is None:
            raise ValidationFailed(_("This photo was not uploaded for this order."), field="photo_ids")
        session.add(
            ProductionPhoto(
                org_id=order.org_id,
                order_id=order.id,
                subject_type="material_receipt",
                subject_id=receipt.id,
                attachment_id=attachment.id,
                position=position,
            )
        )
        photos.append(attachment.id)
    await session.flush()
    after = {
        "requirement_id": requirement.id,
        "material": requirement.description_en,
        "quantity": str(amount),
        "note": text,
        "photos": photos,
    }
    await audit.record(
        session,
        actor_id=None,
        action="material.in_house",
        subject_type="material_requirement",
        subject_id=requirement.id,
        org_id=order.org_id,
        project_id=order.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="material.in_house",
            actor=None,
            subject=receipt,
            org_id=order.org_id,
            project_id=order.project_id,
            after=after,
        ),
    )
    return receipt


async def in_house_of(session: AsyncSession, requirement_id: int) -> Decimal:
    return Decimal(
        await session.scalar(
            select(func.coalesce(func.sum(MaterialReceipt.quantity), 0)).where(
                MaterialReceipt.requirement_id == requirement_id
            )
        )
        or 0
    )


def due_date_of(po: PurchaseOrder) -> date | None:
    return po.eta
