"""The production order machine and its services.

draft -> confirmed (the brand's go-ahead) -> sent (to the factory, through its production link) -> accepted (by the
factory, or a date it proposed and the coordinator agreed) -> in_production (its first lot starts) -> produced
(every lot produced) -> shipped -> closed; cancelled from any state before production ends, with a reason.

An order is created by a coordinator from the project's selected quote, pinned to the issued revision the brand
approved; quantity, price and currency are editable until it is sent (an edit the brand would see sends a confirmed
order back to draft for a new confirmation). Moving the ex-factory date needs a reason, re-plans what is not done
and is in the decision log.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, format_date, label
from makeready.kernel import bus
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    perform,
    states,
)
from makeready.kernel.stale import check_version, flush
from makeready.production import links, plan
from makeready.production.common import (
    NAME_LIMIT,
    STAFF_ONLY,
    a_date,
    a_price,
    load_order,
    require_staff,
    text_of,
    whole_units,
)
from makeready.production.models import (
    DEFAULT_ROUTING,
    Incoterm,
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ToolingItem,
    ToolingStatus,
)
from makeready.projects.access import load_project, require_open
from makeready.projects.models import Phase
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.suppliers.comparison import applicable_break
from makeready.suppliers.models import Quote, QuoteStatus, Supplier

bus.emits("production_order.created")

BRAND_ONLY = N_("Only the brand's owners and members can confirm a production order.")
FACTORY_ONLY = N_("Only the factory answers a production order, through its production link.")
EDITABLE = states(OrderStatus.draft, OrderStatus.confirmed)
RUNNING = states(OrderStatus.confirmed, OrderStatus.sent, OrderStatus.accepted, OrderStatus.in_production)
LINK_DAYS = 180
"""A production link lives as long as a long production run; the coordinator can revoke or replace it."""
MAX_ROUTING_STEPS = 12
BRAND_VISIBLE = ("quantity", "currency", "ex_factory_date", "incoterm", "delivery_address", "payment_terms")
"""Fields the brand confirmed: changing one sends a confirmed order back to draft."""


async def _revision_issued(ctx: Context[ProductionOrder]) -> list[str]:
    require_open(await load_project(ctx.session, ctx.obj.project_id))
    revision = await ctx.session.get(SpecRevision, ctx.obj.revision_id)
    if revision is None or revision.status != RevisionStatus.issued:
        return [
            _(
                "The order is pinned to a revision that is no longer the issued one: create the order again from "
                "the current issued revision."
            )
        ]
    return []


async def _confirmed(ctx: Context[ProductionOrder]) -> None:
    """Freeze the pinned revision's BOM: materials are planned from this snapshot, not from later edits."""
    assert ctx.actor is not None
    revision = await ctx.session.get(SpecRevision, ctx.obj.revision_id)
    assert revision is not None
    ctx.obj.confirmed_by_id = ctx.actor.id
    ctx.obj.bom_snapshot = list((revision.content or {}).get("bom") or [])
    ctx.after["bom_lines"] = len(ctx.obj.bom_snapshot)


async def _ready_to_send(ctx: Context[ProductionOrder]) -> list[str]:
    missing = await _revision_issued(ctx)
    order = ctx.obj
    planned = await ctx.session.scalar(
        select(func.coalesce(func.sum(Lot.quantity), 0)).where(
            Lot.order_id == order.id, Lot.status != LotStatus.cancelled
        )
    )
    if not planned:
        missing.append(_("Split the order into at least one lot."))
    elif planned < order.quantity:
        missing.append(
            _("%(count)s of the order's units are not in a lot yet.")
            % {"count": order.quantity - int(planned)}
        )
    if order.ex_factory_date < ctx.now.date():
        missing.append(_("The ex-factory date is in the past: move it first."))
    return missing


async def _sent(ctx: Context[ProductionOrder]) -> None:
    dates = await plan.plan_order(ctx.session, ctx.obj, today=ctx.now.date())
    ctx.after["plan"] = {key: value.isoformat() for key, value in dates.items()}


async def _accepted(ctx: Context[ProductionOrder]) -> None:
    order = ctx.obj
    order.accepted_name = ctx.inputs.get("name") or ""
    proposed = ctx.inputs.get("proposed")
    if proposed is not None:
        # the coordinator agreed to the factory's date
        order.ex_factory_date = proposed
        ctx.after["ex_factory_date"] = proposed.isoformat()
        await plan.plan_order(ctx.session, order, today=ctx.now.date())
    order.proposed_ex_factory_date = None
    ctx.after["accepted_name"] = order.accepted_name


async def _has_proposal(ctx: Context[ProductionOrder]) -> list[str]:
    if ctx.obj.proposed_ex_factory_date is None:
        return [_("The factory has not proposed another ex-factory date.")]
    return []


async def _proposed(ctx: Context[ProductionOrder]) -> None:
    ctx.obj.proposed_ex_factory_date = ctx.inputs["date"]
    ctx.obj.proposal_reason = ctx.inputs["reason"]
    ctx.after.update(
        proposed_ex_factory_date=ctx.inputs["date"].isoformat(),
        name=ctx.inputs.get("name") or "",
    )


async def _declined_proposal(ctx: Context[ProductionOrder]) -> None:
    ctx.before["proposed_ex_factory_date"] = (
        ctx.obj.proposed_ex_factory_date.isoformat() if ctx.obj.proposed_ex_factory_date else None
    )
    ctx.obj.proposed_ex_factory_date = None


async def _rescheduled(ctx: Context[ProductionOrder]) -> None:
    new_date: date = ctx.inputs["date"]
    ctx.before["ex_factory_date"] = ctx.obj.ex_factory_date.isoformat()
    ctx.obj.ex_factory_date = new_date
    ctx.after["ex_factory_date"] = new_date.isoformat()
    ctx.after["reason"] = ctx.inputs["reason"]
    if ctx.obj.status != OrderStatus.confirmed:
        dates = await plan.plan_order(ctx.session, ctx.obj, today=ctx.now.date())
        ctx.after["plan"] = {key: value.isoformat() for key, value in dates.items()}


async def _tooling_overridden(ctx: Context[ProductionOrder]) -> None:
    ctx.obj.tooling_override_reason = ctx.inputs["reason"]


def _t(
    action: str,
    sources: frozenset[OrderStatus],
    target: OrderStatus | None,
    roles: frozenset[Role],
    wrong: str,
    **kwargs: Any,
) -> Transition[OrderStatus]:
    forbidden = kwargs.pop("forbidden", STAFF_ONLY)
    event = kwargs.pop("event", f"production_order.{target.value if target else action}")
    return Transition(action, sources, target, roles, event, wrong_state=wrong, forbidden=forbidden, **kwargs)


STAFF = frozenset({Role.STAFF})
SYSTEM = frozenset({Role.SYSTEM})
STAFF_OR_SYSTEM = frozenset({Role.STAFF, Role.SYSTEM})

PRODUCTION_ORDER: Machine[OrderStatus] = Machine(
    name="production_order",
    subject=N_("production order"),
    states=OrderStatus,
    column="status",
    final=states(OrderStatus.closed, OrderStatus.cancelled),
    transitions=(
        _t(
            "confirm",
            states(OrderStatus.draft),
            OrderStatus.confirmed,
            frozenset({Role.BRAND}),
            N_("Only a draft order can be confirmed; this one is %(state)s."),
            forbidden=BRAND_ONLY,
            stamp="confirmed_at",
            precondition=_revision_issued,
            effect=_confirmed,
        ),
        _t(
            "revise",
            states(OrderStatus.confirmed),
            OrderStatus.draft,
            STAFF,
            N_("Only a confirmed order goes back to draft when it is changed; this one is %(state)s."),
            event="production_order.revised",
        ),
        _t(
            "send",
            states(OrderStatus.confirmed),
            OrderStatus.sent,
            STAFF,
            N_("An order is sent to the factory once the brand has confirmed it; this one is %(state)s."),
            stamp="sent_at",
            precondition=_ready_to_send,
            effect=_sent,
        ),
        _t(
            "accept",
            states(OrderStatus.sent),
            OrderStatus.accepted,
            SYSTEM,
            N_("Only an order sent to the factory can be accepted; this one is %(state)s."),
            forbidden=FACTORY_ONLY,
            stamp="accepted_at",
            effect=_accepted,
        ),
        _t(
            "propose_date",
            states(OrderStatus.sent),
            None,
            SYSTEM,
            N_(
                "Another ex-factory date can be proposed only while the order waits for the factory; it is %(state)s."
            ),
            forbidden=FACTORY_ONLY,
            event="production_order.date_proposed",
            requires=("reason",),
            effect=_proposed,
        ),
        _t(
            "agree_to_proposal",
            states(OrderStatus.sent),
            OrderStatus.accepted,
            STAFF,
            N_("Only an order waiting for the factory has a proposal to agree to; this one is %(state)s."),
            event="production_order.accepted",
            stamp="accepted_at",
            precondition=_has_proposal,
            effect=_accepted,
        ),
        _t(
            "decline_proposal",
            states(OrderStatus.sent),
            None,
            STAFF,
            N_("Only an order waiting for the factory has a proposal to decline; this one is %(state)s."),
            event="production_order.proposal_declined",
            requires=("reason",),
            precondition=_has_proposal,
            effect=_declined_proposal,
        ),
        _t(
            "reschedule",
            RUNNING,
            None,
            STAFF,
            N_("The ex-factory date of a %(state)s order cannot be moved."),
            event="production_order.rescheduled",
            requires=("reason",),
            effect=_rescheduled,
        ),
        _t(
            "override_tooling",
            RUNNING,
            None,
            STAFF,
            N_("Tooling can be overridden only on a running order; this one is %(state)s."),
            event="production_order.tooling_overridden",
            requires=("reason",),
            effect=_tooling_overridden,
        ),
        _t(
            "start_production",
            states(OrderStatus.accepted),
            OrderStatus.in_production,
            STAFF_OR_SYSTEM,
            N_("Production starts once the factory has accepted the order; it is %(state)s."),
            stamp="production_started_at",
        ),
        _t(
            "complete_production",
            states(OrderStatus.in_production),
            OrderStatus.produced,
            STAFF_OR_SYSTEM,
            N_("Only an order in production can be produced; this one is %(state)s."),
            stamp="produced_at",
        ),
        _t(
            "ship",
            states(OrderStatus.produced, OrderStatus.in_production),
            OrderStatus.shipped,
            STAFF_OR_SYSTEM,
            N_("Only a produced order can be shipped; this one is %(state)s."),
            stamp="shipped_at",
        ),
        _t(
            "close",
            states(OrderStatus.shipped),
            OrderStatus.closed,
            STAFF_OR_SYSTEM,
            N_("Only a shipped order can be closed; this one is %(state)s."),
            stamp="closed_at",
        ),
        _t(
            "cancel",
            states(OrderStatus.draft, OrderStatus.confirmed, OrderStatus.sent, OrderStatus.accepted),
            OrderStatus.cancelled,
            STAFF,
            N_("An order that is %(state)s can no longer be cancelled."),
            stamp="cancelled_at",
            requires=("reason",),
        ),
    ),
)


async def perform_order(
    session: AsyncSession,
    order: ProductionOrder,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> ProductionOrder:
    await perform(
        session,
        PRODUCTION_ORDER,
        order,
        action,
        actor=actor,
        org_id=order.org_id,
        project_id=order.project_id,
        inputs=inputs,
        expected_version=expected_version,
    )
    return order


# --------------------------------------------------------------------------------------------------------------
# Creating and editing


def price_for(quote: Quote, quantity: int) -> Decimal | None:
    """The quote's unit price at `quantity` (the comparison's applicable break); below every break, the lowest
    break's price, as a starting point the coordinator edits until the order is sent."""
    breaks = quote.price_breaks or []
    entry = applicable_break(breaks, quantity) or min(breaks, key=lambda b: int(b["quantity"]), default=None)
    return Decimal(str(entry["unit_price"])) if entry is not None else None


def _clean_routing(value: Any) -> list[str]:
    if value is None:
        return list(DEFAULT_ROUTING)
    steps = [str(s).strip() for s in (value if isinstance(value, list) else str(value).split(","))]
    steps = [s for s in steps if s]
    if not steps:
        raise ValidationFailed(_("Name at least one routing step."), field="routing")
    if len(steps) > MAX_ROUTING_STEPS or any(len(s) > 40 for s in steps):
        raise ValidationFailed(
            _("A routing has at most %(count)s steps of up to 40 characters.") % {"count": MAX_ROUTING_STEPS},
            field="routing",
        )
    if len(set(steps)) != len(steps):
        raise ValidationFailed(_("Each routing step is named once."), field="routing")
    return steps


def _clean_fields(data: dict[str, Any], *, today: date) -> dict[str, Any]:
    """The editable fields present in `data`, checked; a blank optional field is left out."""
    clean: dict[str, Any] = {}
    if "quantity" in data:
        clean["quantity"] = whole_units(data["quantity"], field="quantity")
    if "unit_price" in data:
        clean["unit_price"] = a_price(data["unit_price"], field="unit_price")
    if "currency" in data:
        currency = str(data["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ValidationFailed(_("Enter a three-letter currency code such as USD."), field="currency")
        clean["currency"] = currency
    if "ex_factory_date" in data:
        ex_factory = a_date(data["ex_factory_date"], field="ex_factory_date")
        if ex_factory < today:
            raise ValidationFailed(_("The ex-factory date cannot be in the past."), field="ex_factory_date")
        if ex_factory > today + timedelta(days=3 * 365):
            raise ValidationFailed(
                _("The ex-factory date is more than three years away."), field="ex_factory_date"
            )
        clean["ex_factory_date"] = ex_factory
    if "incoterm" in data:
        try:
            clean["incoterm"] = Incoterm(str(data["incoterm"] or "").strip().upper())
        except ValueError:
            raise ValidationFailed(
                _("Choose an Incoterm: %(terms)s.") % {"terms": ", ".join(t.value for t in Incoterm)},
                field="incoterm",
            ) from None
    for name in ("delivery_address", "payment_terms"):
        if name in data:
            clean[name] = text_of(data[name], field=name)
    if "routing" in data:
        clean["routing"] = _clean_routing(data["routing"])
    if "report_interval_days" in data:
        clean["report_interval_days"] = whole_units(
            data["report_interval_days"], field="report_interval_days", minimum=1, maximum=30
        )
    return clean


async def create_order(
    session: AsyncSession, *, actor: User, project_id: int, data: dict[str, Any]
) -> ProductionOrder:
    """A draft order from the project's selected quote, pinned to its issued revision.

    Refused (409, listing what is missing) without an issued revision or a selected quote; `data` may set the
    quantity, price, currency, ex-factory date (required), Incoterm, delivery address, payment terms and routing.
    """
    project = await load_project(session, project_id)
    await require_staff(session, actor, project.org_id)
    require_open(project)
    missing: list[str] = []
    if project.phase not in (Phase.development, Phase.production):
        missing.append(
            _("Production orders are placed in development or production; this project is in %(phase)s.")
            % {"phase": label(project.phase)}
        )
    revision = await session.scalar(
        select(SpecRevision).where(
            SpecRevision.project_id == project.id, SpecRevision.status == RevisionStatus.issued
        )
    )
    if revision is None:
        missing.append(_("An issued spec revision the brand approved: approve and issue one first."))
    quote = await session.scalar(
        select(Quote).where(Quote.project_id == project.id, Quote.status == QuoteStatus.selected).limit(1)
    )
    if quote is None:
        missing.append(_("A selected quote: select the factory's quote first."))
    if missing:
        raise Conflict(" ".join(missing), missing=missing)
    assert revision is not None
    assert quote is not None
    today = utcnow().date()
    if not str(data.get("ex_factory_date") or "").strip():
        raise ValidationFailed(_("Enter the ex-factory date."), field="ex_factory_date")
    fields = _clean_fields(data, today=today)
    quantity = fields.pop("quantity", None) or project.target_quantity or quote.min_order_quantity
    if quantity is None:
        raise ValidationFailed(_("Enter the quantity."), field="quantity")
    unit_price = fields.pop("unit_price", None) if "unit_price" in fields else None
    if unit_price is None:
        unit_price = price_for(quote, quantity)
    number = (
        await session.scalar(
            select(func.max(ProductionOrder.number)).where(ProductionOrder.project_id == project.id)
        )
        or 0
    ) + 1
    order = ProductionOrder(
        org_id=project.org_id,
        project_id=project.id,
        number=number,
        supplier_id=quote.supplier_id,
        quote_id=quote.id,
        revision_id=revision.id,
        quantity=quantity,
        unit_price=unit_price,
        currency=fields.pop("currency", None) or quote.currency,
        status=OrderStatus.draft,
        **fields,
    )
    session.add(order)
    await flush(session, PRODUCTION_ORDER.subject)
    after = {
        "number": number,
        "supplier_id": quote.supplier_id,
        "revision_id": revision.id,
        "quantity": quantity,
        "ex_factory_date": order.ex_factory_date.isoformat(),
    }
    await audit.record(
        session,
        actor_id=actor.id,
        action="production_order.created",
        subject_type="production_order",
        subject_id=order.id,
        org_id=order.org_id,
        project_id=order.project_id,
        after=after,
    )
    await bus.fire(
        session,
        bus.Event(
            name="production_order.created",
            actor=actor,
            subject=order,
            org_id=order.org_id,
            project_id=order.project_id,
            after=after,
        ),
    )
    return order


async def update_order(
    session: AsyncSession,
    *,
    actor: User,
    order_id: int,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ProductionOrder:
    """Edit a draft or confirmed order. Changing what the brand confirmed sends it back to draft."""
    order = await load_order(session, order_id)
    await require_staff(session, actor, order.org_id)
    check_version(order, expected_version, PRODUCTION_ORDER)
    if order.status not in EDITABLE:
        raise Conflict(
            _("An order can be edited until it is sent to the factory; this one is %(state)s.")
            % {"state": label(order.status)},
            current_state=order.status.value,
        )
    fields = _clean_fields(data, today=utcnow().date())
    if "quantity" in fields:
        planned = await session.scalar(
            select(func.coalesce(func.sum(Lot.quantity), 0)).where(
                Lot.order_id == order.id, Lot.status != LotStatus.cancelled
            )
        )
        if fields["quantity"] < int(planned or 0):
            raise ValidationFailed(
                _("The lots already hold %(planned)s units: make them smaller before the order.")
                % {"planned": int(planned or 0)},
                field="quantity",
            )
    before = {k: _jsonable(getattr(order, k)) for k in fields}
    changed = {k: v for k, v in fields.items() if getattr(order, k) != v}
    if not changed:
        return order
    for key, value in changed.items():
        setattr(order, key, value)
    await flush(session, PRODUCTION_ORDER.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="production_order.updated",
        subject_type="production_order",
        subject_id=order.id,
        org_id=order.org_id,
        project_id=order.project_id,
        before={k: before[k] for k in changed},
        after={k: _jsonable(v) for k, v in changed.items()},
    )
    if order.status == OrderStatus.confirmed and any(k in BRAND_VISIBLE for k in changed):
        await perform_order(session, order, "revise", actor=actor)
    return order


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, Decimal)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value.value if hasattr(value, "value") else value


async def confirm_order(
    session: AsyncSession, *, actor: User, order_id: int, expected_version: int | None = None
) -> ProductionOrder:
    """The brand's go-ahead for mass production of this order."""
    order = await load_order(session, order_id)
    return await perform_order(session, order, "confirm", actor=actor, expected_version=expected_version)


async def send_order(
    session: AsyncSession, *, actor: User, order_id: int, expected_version: int | None = None
) -> tuple[ProductionOrder, str]:
    """Send a confirmed order to its factory: plans its milestones and opens its production link.

    Returns the order and the link's token (shown to the coordinator once: only its hash is kept)."""
    order = await load_order(session, order_id)
    await perform_order(session, order, "send", actor=actor, expected_version=expected_version)
    token = await open_link(session, order, actor=actor)
    return order, token


async def open_link(session: AsyncSession, order: ProductionOrder, *, actor: User) -> str:
    """A new production link for the order; any live one is revoked (one working link per order)."""
    return await links.create_link(session, order, actor=actor, days=LINK_DAYS)


async def reschedule_order(
    session: AsyncSession,
    *,
    actor: User,
    order_id: int,
    ex_factory_date: Any,
    reason: str,
    expected_version: int | None = None,
) -> ProductionOrder:
    order = await load_order(session, order_id)
    new_date = a_date(ex_factory_date, field="ex_factory_date")
    if new_date < utcnow().date():
        raise ValidationFailed(_("The ex-factory date cannot be in the past."), field="ex_factory_date")
    if new_date == order.ex_factory_date:
        raise ValidationFailed(
            _("The ex-factory date is already %(date)s.") % {"date": format_date(new_date)},
            field="ex_factory_date",
        )
    return await perform_order(
        session,
        order,
        "reschedule",
        actor=actor,
        inputs={"date": new_date, "reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def accept_order(session: AsyncSession, *, order: ProductionOrder, name: str) -> ProductionOrder:
    """The factory accepts through its link (the system acts: the factory has no account)."""
    clean = text_of(name, field="name", limit=NAME_LIMIT, required=True)
    return await perform_order(session, order, "accept", actor=None, inputs={"name": clean})


async def propose_date(
    session: AsyncSession, *, order: ProductionOrder, ex_factory_date: Any, reason: str, name: str
) -> ProductionOrder:
    """The factory proposes another ex-factory date, with a reason; the coordinator agrees or declines."""
    proposed = a_date(ex_factory_date, field="ex_factory_date")
    if proposed < utcnow().date():
        raise ValidationFailed(_("The ex-factory date cannot be in the past."), field="ex_factory_date")
    if proposed == order.ex_factory_date:
        raise ValidationFailed(_("Propose a date other than the order's."), field="ex_factory_date")
    return await perform_order(
        session,
        order,
        "propose_date",
        actor=None,
        inputs={
            "date": proposed,
            "reason": text_of(reason, field="reason"),
            "name": text_of(name, field="name", limit=NAME_LIMIT, required=True),
        },
    )


async def agree_to_proposal(
    session: AsyncSession, *, actor: User, order_id: int, expected_version: int | None = None
) -> ProductionOrder:
    order = await load_order(session, order_id)
    return await perform_order(
        session,
        order,
        "agree_to_proposal",
        actor=actor,
        inputs={"proposed": order.proposed_ex_factory_date, "reason": order.proposal_reason},
        expected_version=expected_version,
    )


async def decline_proposal(
    session: AsyncSession, *, actor: User, order_id: int, reason: str, expected_version: int | None = None
) -> ProductionOrder:
    order = await load_order(session, order_id)
    return await perform_order(
        session,
        order,
        "decline_proposal",
        actor=actor,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def override_tooling(
    session: AsyncSession, *, actor: User, order_id: int, reason: str, expected_version: int | None = None
) -> ProductionOrder:
    order = await load_order(session, order_id)
    return await perform_order(
        session,
        order,
        "override_tooling",
        actor=actor,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def cancel_order(
    session: AsyncSession, *, actor: User, order_id: int, reason: str, expected_version: int | None = None
) -> ProductionOrder:
    order = await load_order(session, order_id)
    """Cancel with a reason; the rules withdraw its links and cancel the lots that have not started."""
    return await perform_order(
        session,
        order,
        "cancel",
        actor=actor,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )


async def close_order(
    session: AsyncSession, *, actor: User, order_id: int, expected_version: int | None = None
) -> ProductionOrder:
    order = await load_order(session, order_id)
    return await perform_order(session, order, "close", actor=actor, expected_version=expected_version)


async def tooling_missing(session: AsyncSession, order: ProductionOrder) -> list[str]:
    """What tooling stops production: items not approved, unless a coordinator overrode it with a reason."""
    if order.tooling_override_reason:
        return []
    waiting = (
        await session.scalars(
            select(ToolingItem.name).where(
                ToolingItem.order_id == order.id, ToolingItem.status != ToolingStatus.approved
            )
        )
    ).all()
    if not waiting:
        return []
    return [_("Tooling not approved yet: %(items)s.") % {"items": ", ".join(waiting)}]


async def supplier_of(session: AsyncSession, order: ProductionOrder) -> Supplier:
    supplier = await session.get(Supplier, order.supplier_id)
    assert supplier is not None
    return supplier
