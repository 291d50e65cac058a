"""Quotes and supplier selection; a quote's status is the QUOTE machine's (makeready.kernel.machine).

requested -> received (a coordinator records the supplier's prices; again to correct them) -> selected (the
project's supplier, with a reason) | declined. Selecting another quote puts the selected one back to received, or
declines it with `decline_others`. Quotes are agency-internal, so their events are audited without an organization;
only the selection itself (which supplier and why, never a price) is recorded on the project's organization.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.kernel.stale import check_version
from makeready.projects.models import Project
from makeready.suppliers.common import parse_quantity
from makeready.suppliers.common import require_staff as _require_staff
from makeready.suppliers.common import require_staff_session as _require_staff_session
from makeready.suppliers.models import Quote, QuoteStatus, Supplier
from makeready.suppliers.prices import clean_amount, clean_currency, clean_price_breaks

STAFF_ONLY = N_("Only coordinators can do this.")
ANOTHER_SELECTED = N_("Another supplier was selected.")
DECLINED = N_("This quote was declined: ask the supplier for a new quote instead.")


async def _record_values(ctx: Context[Quote]) -> None:
    """The supplier's figures (cleaned by record_quote) written on the quote, before and after in the event."""
    quote = ctx.obj
    ctx.before.update({k: v for k, v in _quote_values(quote).items() if k != "status"})
    for name, value in ctx.inputs["values"].items():
        setattr(quote, name, value)
    ctx.after.update(_quote_values(quote))


async def _selected(ctx: Context[Quote]) -> None:
    ctx.obj.selection_reason = ctx.inputs["reason"]


def _staff(
    action: str, sources: frozenset[QuoteStatus], target: QuoteStatus, event: str, wrong: str, **kw: Any
) -> Transition[QuoteStatus]:
    return Transition(
        action, sources, target, frozenset({Role.STAFF}), event, wrong_state=wrong, forbidden=STAFF_ONLY, **kw
    )


QUOTE: Machine[QuoteStatus] = Machine(
    name="quote",
    subject=N_("quote"),
    states=QuoteStatus,
    column="status",
    internal=True,
    transitions=(
        _staff(
            "receive",
            states(QuoteStatus.requested, QuoteStatus.received),
            QuoteStatus.received,
            "quote.recorded",
            DECLINED,
            effect=_record_values,
        ),
        _staff(
            "decline",
            states(QuoteStatus.requested, QuoteStatus.received),
            QuoteStatus.declined,
            "quote.declined",
            N_(
                "Only a requested or received quote can be declined; to replace the selected one, select another."
            ),
        ),
        _staff(
            "select",
            states(QuoteStatus.received),
            QuoteStatus.selected,
            "quote.selected",
            N_("Only a received quote can be selected: record the supplier's prices first."),
            requires=("reason",),
            effect=_selected,
        ),
        # when another quote is selected, the one selected before goes back to received, or is declined
        _staff(
            "unselect",
            states(QuoteStatus.selected),
            QuoteStatus.received,
            "quote.unselected",
            N_("This quote is already the selected one."),
        ),
        _staff(
            "set_aside",
            states(QuoteStatus.selected),
            QuoteStatus.declined,
            "quote.declined",
            N_("This quote is already the selected one."),
        ),
    ),
)


async def _perform(
    session: AsyncSession,
    quote: Quote,
    action: str,
    *,
    actor: User,
    inputs: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    await perform(
        session,
        QUOTE,
        quote,
        action,
        actor=actor,
        org_id=quote.org_id,
        project_id=quote.project_id,
        inputs=inputs,
        reason=reason,
    )


# -- quotes and selection --------------------------------------------------------------------------------------------

OPEN_QUOTE_STATES = (QuoteStatus.requested, QuoteStatus.received, QuoteStatus.selected)
MAX_LEAD_TIME_DAYS = 3650


async def get_project(session: AsyncSession, project_id: int) -> Project:
    """The project with its organization, through the session's tenancy scope."""
    project = await session.scalar(
        select(Project).where(Project.id == project_id).options(joinedload(Project.org))
    )
    if project is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))
    return project


async def list_quotes(session: AsyncSession, project_id: int) -> list[Quote]:
    rows = await session.scalars(
        select(Quote)
        .where(Quote.project_id == project_id)
        .options(joinedload(Quote.supplier))
        .order_by(Quote.created_at, Quote.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def get_quote(session: AsyncSession, *, project_id: int, quote_id: int) -> Quote:
    quote = await session.scalar(
        select(Quote)
        .where(Quote.id == quote_id, Quote.project_id == project_id)
        .options(joinedload(Quote.supplier))
        .execution_options(populate_existing=True)
    )
    if quote is None:
        raise NotFound(_("This quote does not exist or you do not have access to it."))
    return quote


async def requestable_suppliers(session: AsyncSession, project_id: int) -> list[Supplier]:
    """Active suppliers without an open quote (requested, received or selected) on the project."""
    _require_staff_session(session)
    quoting = select(Quote.supplier_id).where(
        Quote.project_id == project_id, Quote.status.in_(OPEN_QUOTE_STATES)
    )
    rows = await session.scalars(
        select(Supplier)
        .where(Supplier.archived_at.is_(None), Supplier.id.not_in(quoting))
        .order_by(func.lower(Supplier.name_en), Supplier.id)
    )
    return list(rows.all())


async def request_quotes(
    session: AsyncSession, *, actor: User, project_id: int, supplier_ids: Sequence[int]
) -> list[Quote]:
    """Ask several suppliers for a price at once: one Quote per supplier, status requested. All or nothing."""
    _require_staff(actor)
    project = await get_project(session, project_id)
    ids = list(dict.fromkeys(supplier_ids))
    if not ids:
        raise ValidationFailed(_("Choose at least one supplier to ask for a quote."), field="supplier_ids")
    suppliers = {s.id: s for s in await session.scalars(select(Supplier).where(Supplier.id.in_(ids)))}
    if len(suppliers) != len(ids):
        raise NotFound(_("This supplier is not in the directory."))
    archived = [s.name_en for s in suppliers.values() if s.archived_at is not None]
    if archived:
        raise ValidationFailed(
            _("These suppliers are archived and cannot be asked for quotes: %(names)s.")
            % {"names": ", ".join(archived)},
            field="supplier_ids",
        )
    already = (
        await session.scalars(
            select(Quote.supplier_id).where(
                Quote.project_id == project.id,
                Quote.supplier_id.in_(ids),
                Quote.status.in_(OPEN_QUOTE_STATES),
            )
        )
    ).all()
    if already:
        raise ValidationFailed(
            _("These suppliers already have an open quote for this project: %(names)s.")
            % {"names": ", ".join(suppliers[i].name_en for i in sorted(set(already)))},
            field="supplier_ids",
        )
    quotes = []
    for supplier_id in ids:
        quote = Quote(
            org_id=project.org_id,
            project_id=project.id,
            supplier_id=supplier_id,
            status=QuoteStatus.requested,
            currency=project.currency,
        )
        session.add(quote)
        quotes.append(quote)
    await session.flush()
    for quote in quotes:
        # no organization: quotes are agency-internal, so the event is staff-only (see the module docstring)
        await audit.record(
            session,
            actor_id=actor.id,
            action="quote.requested",
            subject_type="quote",
            subject_id=quote.id,
            project_id=project.id,
            after={"supplier_id": quote.supplier_id, "supplier": suppliers[quote.supplier_id].name_en},
        )
    return quotes


def _quote_values(quote: Quote) -> dict[str, Any]:
    return {
        "status": quote.status,
        "currency": quote.currency,
        "price_breaks": quote.price_breaks,
        "tooling_cost": quote.tooling_cost,
        "lead_time_days": quote.lead_time_days,
        "min_order_quantity": quote.min_order_quantity,
        "notes": quote.notes,
    }


async def record_quote(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    quote_id: int,
    expected_version: int,
    price_breaks: Iterable[tuple[Any, Any]],
    tooling_cost: Any = None,
    lead_time_days: Any = None,
    min_order_quantity: Any = None,
    currency: Any = "USD",
    notes: str = "",
) -> Quote:
    """Enter (or correct) what the supplier quoted: unit prices by quantity break, tooling, lead time, MOQ.
    The quote becomes received. A selected or declined quote is history and is not changed."""
    _require_staff(actor)
    quote = await get_quote(session, project_id=project_id, quote_id=quote_id)
    check_version(quote, expected_version, QUOTE)
    if quote.status == QuoteStatus.selected:
        raise Conflict(
            _("This quote was selected: it is the basis of a decision and can no longer be changed.")
        )
    if quote.status == QuoteStatus.declined:  # before the values are read, as the machine would refuse it
        raise Conflict(_(DECLINED), current_state=quote.status.value)
    breaks = clean_price_breaks(price_breaks)
    tooling = clean_amount(
        tooling_cost, field_name="tooling_cost", message=_("The tooling cost must be zero or more.")
    )
    days = parse_quantity(
        lead_time_days,
        field_name="lead_time_days",
        message=_("The lead time must be a whole number of days, at least 1."),
    )
    if days is not None and days > MAX_LEAD_TIME_DAYS:
        raise ValidationFailed(
            _("The lead time must be a whole number of days, at least 1."), field="lead_time_days"
        )
    moq = parse_quantity(
        min_order_quantity,
        field_name="min_order_quantity",
        message=_("The minimum order quantity must be a positive whole number."),
    )
    note_text = str(notes or "").strip()
    if len(note_text) > 10_000:
        raise ValidationFailed(
            _("%(field)s can be at most %(n)d characters long.") % {"field": _("Notes"), "n": 10_000},
            field="notes",
        )
    values = {
        "price_breaks": breaks,
        "tooling_cost": (
            tooling.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if tooling is not None else None
        ),
        "lead_time_days": days,
        "min_order_quantity": moq,
        "currency": clean_currency(currency),
        "notes": note_text,
    }
    await _perform(session, quote, "receive", actor=actor, inputs={"values": values})
    return quote


async def decline_quote(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    quote_id: int,
    expected_version: int,
    reason: str = "",
) -> Quote:
    """Set a requested or received quote aside. A selected quote is replaced by selecting another."""
    _require_staff(actor)
    quote = await get_quote(session, project_id=project_id, quote_id=quote_id)
    check_version(quote, expected_version, QUOTE)
    await _perform(session, quote, "decline", actor=actor, reason=reason.strip())
    return quote


async def select_supplier(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    quote_id: int,
    reason: str,
    decline_others: bool = False,
) -> Quote:
    """Choose the project's supplier from a received quote, with a reason.

    The quote becomes selected and the project's supplier is set. A quote selected before goes back to received.
    The other quotes stay as they are, or with `decline_others` every requested or received one is declined.
    The event `supplier.selected` is recorded on the project's organization with the reason and the supplier's
    names, never its prices: it is the brand's record of the decision.
    """
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give the reason for choosing this supplier: the brand reads it in the decision log."),
            field="reason",
        )
    if len(reason) > 5000:
        raise ValidationFailed(
            _("%(field)s can be at most %(n)d characters long.") % {"field": _("Reason"), "n": 5000},
            field="reason",
        )
    project = await get_project(session, project_id)
    quotes = await list_quotes(session, project.id)
    chosen = next((q for q in quotes if q.id == quote_id), None)
    if chosen is None:
        raise NotFound(_("This quote does not exist or you do not have access to it."))
    if chosen.status == QuoteStatus.selected:
        raise Conflict(_("This quote is already the selected one."))
    if chosen.status != QuoteStatus.received:
        raise Conflict(
            _("Only a received quote can be selected: record the supplier's prices first.")
            if chosen.status == QuoteStatus.requested
            else _("A declined quote cannot be selected: ask the supplier for a new quote.")
        )
    if chosen.supplier.archived_at is not None:
        raise Conflict(
            _("%(name)s is archived: restore it in the directory before selecting it.")
            % {"name": chosen.supplier.name_en}
        )
    previous = next((q.supplier for q in quotes if q.status == QuoteStatus.selected), None)
    # the others first: the quote selected before steps back before the new one is selected
    for quote in quotes:
        if quote.id == chosen.id:
            continue
        if quote.status == QuoteStatus.selected:
            action = "set_aside" if decline_others else "unselect"
        elif decline_others and quote.status in (QuoteStatus.requested, QuoteStatus.received):
            action = "decline"
        else:
            continue
        await _perform(session, quote, action, actor=actor, reason=_(ANOTHER_SELECTED))
    await _perform(session, chosen, "select", actor=actor, inputs={"reason": reason})
    before_supplier = project.supplier_id
    project.supplier_id = chosen.supplier_id
    await session.flush()
    supplier = chosen.supplier
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.selected",
        subject_type="project",
        subject_id=project.id,
        org_id=project.org_id,
        project_id=project.id,
        before={
            "supplier_id": before_supplier,
            "supplier": previous.name_en if previous else None,
            "supplier_zh": previous.name_zh if previous else None,
        },
        after={"supplier_id": supplier.id, "supplier": supplier.name_en, "supplier_zh": supplier.name_zh},
        reason=reason,
    )
    return chosen
