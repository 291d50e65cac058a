"""Milestone fees: a coordinator attaches them to milestones; a done milestone makes them due; a job invoices them.

Invoicing one fee is four Stripe calls: create the invoice and add the fee's item, with idempotency keys derived
from the fee alone (`fee-<id>-invoice`, `fee-<id>-invoiceitem`), so no retry can bill twice; then finalise and send,
keyed by the fee and the attempt (`fee-<id>-finalize-<n>`, `fee-<id>-send-<n>`), because Stripe replays a saved
error for a repeated key and these two steps are safe to repeat (they act on the one invoice and refuse a state it
has left). Progress is stored between the calls (the Stripe invoice id right after it exists), and a retry
re-reads the invoice to continue where the last try stopped (its line included), even after Stripe has forgotten
the keys (24 hours). A worker claims a fee before working on it (status `invoicing`, a lease), so two workers
never invoice the same fee at once. Failures are retried; after MAX_ATTEMPTS the fee is `failed`, with its
error, in the back office, where a coordinator can try again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from makeready import urls
from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.billing import money
from makeready.billing.models import FeeStatus, InvoiceStatus, MilestoneFee
from makeready.billing.service import (
    apply_invoice,
    ensure_customer,
    get_or_create_account,
    lock_account,
    org_scope,
    owners,
)
from makeready.billing.stripe_client import (
    Gateway,
    billing_enabled,
    billing_settings,
    require_enabled,
    stripe_api,
)
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import N_, _
from makeready.jobs import PermanentJobError
from makeready.jobs.runner import enqueue_after_commit
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.notify.service import notify
from makeready.projects.access import load_project, require_open
from makeready.projects.models import Milestone, MilestoneStatus, Project

log = logging.getLogger("makeready.billing")

MAX_ATTEMPTS = 5
"""Claims of one fee before it is marked failed."""
LEASE = timedelta(minutes=10)
"""How long a claim holds; a fee still `invoicing` after it (a worker died) is claimed again."""

FEE_NOT_FOUND = N_("This fee does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only coordinators can attach, cancel or retry milestone fees.")


def _require_staff(actor: User) -> None:
    if not (actor.is_staff or actor.is_admin):
        raise PermissionDenied(_(STAFF_ONLY))


async def _load_fee(session: AsyncSession, fee_id: int) -> MilestoneFee:
    fee = await session.scalar(select(MilestoneFee).where(MilestoneFee.id == fee_id))
    if fee is None:
        raise NotFound(_(FEE_NOT_FOUND))
    return fee


def _fee_after(fee: MilestoneFee) -> dict[str, Any]:
    return {
        "status": fee.status,
        "milestone_id": fee.milestone_id,
        "description": fee.description,
        "amount_minor": fee.amount_minor,
        "currency": fee.currency,
    }


# --------------------------------------------------------------------------------------------------------------
# The fee's machine: planned -> due (its milestone is done) -> invoicing (a worker's lease) -> invoiced, or back to
# due after a failed try, or failed after MAX_ATTEMPTS (a coordinator retries it: due again). A coordinator cancels
# a fee that is not invoiced.

ANYONE_DONE = frozenset({Role.STAFF, Role.BRAND, Role.SYSTEM})
"""Whoever completes the milestone makes its fees due."""
SYSTEM_ONLY = N_("Only the invoicing job changes a fee being invoiced.")


async def _leased_out(ctx: Context[MilestoneFee]) -> list[str]:
    """A fee already `invoicing` is claimed again only once its worker's lease has run out."""
    fee = ctx.obj
    if fee.status == FeeStatus.invoicing and fee.claimed_at is not None and fee.claimed_at >= ctx.now - LEASE:
        return [_("This fee is being invoiced right now; look at it again in a minute.")]
    return []


async def _claimed(ctx: Context[MilestoneFee]) -> None:
    ctx.obj.attempts = (ctx.obj.attempts or 0) + 1


async def _made_due(ctx: Context[MilestoneFee]) -> None:
    ctx.after["milestone_id"] = ctx.obj.milestone_id


async def _retried(ctx: Context[MilestoneFee]) -> None:
    ctx.before["last_error"] = ctx.obj.last_error
    ctx.obj.attempts = 0
    ctx.obj.claimed_at = None


async def _invoiced(ctx: Context[MilestoneFee]) -> None:
    ctx.obj.claimed_at = None
    ctx.obj.last_error = ""
    ctx.after.update(stripe_invoice_id=ctx.inputs.get("stripe_invoice_id"), number=ctx.inputs.get("number"))


async def _attempt_failed(ctx: Context[MilestoneFee]) -> None:
    ctx.obj.claimed_at = None
    ctx.obj.last_error = ctx.inputs.get("error", "")
    ctx.after["last_error"] = ctx.obj.last_error


def _job(
    action: str, sources: frozenset[FeeStatus], target: FeeStatus, event: str, **kw: Any
) -> Transition[FeeStatus]:
    return Transition(
        action,
        sources,
        target,
        frozenset({Role.SYSTEM}),
        event,
        wrong_state=N_("This fee is not being invoiced; it is %(state)s."),
        forbidden=SYSTEM_ONLY,
        **kw,
    )


MILESTONE_FEE: Machine[FeeStatus] = Machine(
    name="milestone_fee",
    subject=N_("milestone fee"),
    states=FeeStatus,
    column="status",
    final=states(FeeStatus.invoiced, FeeStatus.canceled),
    transitions=(
        Transition(
            "make_due",
            states(FeeStatus.planned),
            FeeStatus.due,
            ANYONE_DONE,
            "milestone_fee.due",
            wrong_state=N_("This fee is not being invoiced; it is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="due_at",
            effect=_made_due,
        ),
        Transition(
            "cancel",
            states(FeeStatus.planned, FeeStatus.due, FeeStatus.failed),
            FeeStatus.canceled,
            frozenset({Role.STAFF}),
            "milestone_fee.canceled",
            wrong_state=N_("This fee is being invoiced right now; look at it again in a minute."),
            forbidden=STAFF_ONLY,
            requires=("reason",),
        ),
        Transition(
            "retry",
            states(FeeStatus.failed),
            FeeStatus.due,
            frozenset({Role.STAFF}),
            "milestone_fee.retried",
            wrong_state=N_("Only a fee whose invoicing failed can be retried; this one is: %(state)s."),
            forbidden=STAFF_ONLY,
            effect=_retried,
        ),
        _job(
            "claim",
            states(FeeStatus.due, FeeStatus.invoicing),
            FeeStatus.invoicing,
            "milestone_fee.claimed",
            stamp="claimed_at",
            precondition=_leased_out,
            effect=_claimed,
            audited=False,
        ),
        _job(
            "mark_invoiced",
            states(FeeStatus.invoicing),
            FeeStatus.invoiced,
            "milestone_fee.invoiced",
            stamp="invoiced_at",
            effect=_invoiced,
        ),
        _job(
            "release",
            states(FeeStatus.invoicing),
            FeeStatus.due,
            "milestone_fee.attempt_failed",
            effect=_attempt_failed,
            audited=False,
        ),
        _job(
            "fail",
            states(FeeStatus.invoicing),
            FeeStatus.failed,
            "milestone_fee.failed",
            effect=_attempt_failed,
        ),
    ),
)


async def _perform(
    session: AsyncSession,
    fee: MilestoneFee,
    action: str,
    *,
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    await perform(
        session,
        MILESTONE_FEE,
        fee,
        action,
        actor=actor,
        org_id=fee.org_id,
        project_id=fee.project_id,
        inputs=inputs,
        now=now,
    )


# --------------------------------------------------------------------------------------------------------------
# What coordinators do


async def attach_fee(
    session: AsyncSession,
    *,
    actor: User,
    milestone_id: int,
    description: str,
    amount: str,
    currency: str,
) -> MilestoneFee:
    """Attach a fee to a milestone; billed when the milestone is done (at once if it already is)."""
    _require_staff(actor)
    require_enabled()
    milestone = await session.scalar(select(Milestone).where(Milestone.id == milestone_id))
    if milestone is None:
        raise NotFound(_("This milestone does not exist or you do not have access to it."))
    require_open(await load_project(session, milestone.project_id))
    text = (description or "").strip()
    if not text or len(text) > 300:
        raise ValidationFailed(
            _("Describe the fee in at most 300 characters (for example: Feasibility fee)."),
            field="description",
        )
    amount_minor = money.to_minor(amount, currency)
    done = milestone.status == MilestoneStatus.done
    now = utcnow()
    fee = MilestoneFee(
        org_id=milestone.org_id,
        project_id=milestone.project_id,
        milestone_id=milestone.id,
        description=text,
        amount_minor=amount_minor,
        currency=currency.strip().upper(),
        status=FeeStatus.due if done else FeeStatus.planned,
        due_at=now if done else None,
        created_by_id=actor.id,
        attempts=0,
    )
    session.add(fee)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="milestone_fee.attached",
        subject_type="milestone_fee",
        subject_id=fee.id,
        org_id=fee.org_id,
        project_id=fee.project_id,
        after=_fee_after(fee),
    )
    if done:
        enqueue_after_commit(session, "invoice_milestone_fee", fee_id=fee.id)
    return fee


async def cancel_fee(session: AsyncSession, *, actor: User, fee_id: int, reason: str) -> MilestoneFee:
    """Withdraw a fee that has not been invoiced."""
    _require_staff(actor)
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason: it is recorded with the decision."), field="reason")
    fee = await _load_fee(session, fee_id)
    if fee.status == FeeStatus.invoicing:
        raise Conflict(_("This fee is being invoiced right now; look at it again in a minute."))
    if fee.status in (FeeStatus.invoiced, FeeStatus.canceled):
        raise Conflict(
            _("This fee is already %(status)s; an invoice is voided in Stripe, not here.")
            % {"status": _(FeeStatus.labels()[fee.status])}
        )
    await _perform(session, fee, "cancel", actor=actor, inputs={"reason": reason.strip()})
    return fee


async def retry_fee(session: AsyncSession, *, actor: User, fee_id: int) -> MilestoneFee:
    """Try a failed fee's invoicing again from where it stopped."""
    _require_staff(actor)
    require_enabled()
    fee = await _load_fee(session, fee_id)
    await _perform(session, fee, "retry", actor=actor)
    enqueue_after_commit(session, "invoice_milestone_fee", fee_id=fee.id)
    return fee


async def mark_fees_due(
    session: AsyncSession, *, milestone: Milestone, actor: User | None, now: datetime
) -> None:
    """The milestone is done: its planned fees are due, and invoiced once this transaction commits."""
    fees = (
        await session.scalars(
            select(MilestoneFee).where(
                MilestoneFee.milestone_id == milestone.id, MilestoneFee.status == FeeStatus.planned
            )
        )
    ).all()
    for fee in fees:
        await _perform(session, fee, "make_due", actor=actor, now=now)
        enqueue_after_commit(session, "invoice_milestone_fee", fee_id=fee.id)


async def list_fees(session: AsyncSession, *, project_id: int) -> list[MilestoneFee]:
    rows = await session.scalars(
        select(MilestoneFee).where(MilestoneFee.project_id == project_id).order_by(MilestoneFee.id)
    )
    return list(rows.all())


# --------------------------------------------------------------------------------------------------------------
# Invoicing (the job)


@dataclass(frozen=True)
class Claim:
    fee_id: int
    org_id: int
    project_id: int
    description: str
    amount_minor: int
    currency: str
    stripe_invoice_id: str | None
    attempts: int


def _claimable(now: datetime) -> Any:
    return or_(
        MilestoneFee.status == FeeStatus.due,
        (MilestoneFee.status == FeeStatus.invoicing) & (MilestoneFee.claimed_at < now - LEASE),
    )


async def due_fee_ids(factory: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> list[int]:
    """Fees waiting to be invoiced, and those whose worker stopped before finishing."""
    async with factory() as session:
        set_scope(session, Scope.system())
        rows = await session.scalars(
            select(MilestoneFee.id).where(_claimable(now or utcnow())).order_by(MilestoneFee.id).limit(200)
        )
        return list(rows.all())


async def _claim(factory: async_sessionmaker[AsyncSession], fee_id: int, now: datetime) -> Claim | None:
    try:
        async with factory() as session:
            set_scope(session, Scope.system())
            async with session.begin():
                fee = await session.scalar(
                    select(MilestoneFee).where(MilestoneFee.id == fee_id, _claimable(now))
                )
                if fee is None:
                    return None
                # the flush checks the fee's version: of two workers claiming it at once, one wins
                await _perform(session, fee, "claim", actor=None, now=now)
                return Claim(
                    fee_id=fee.id,
                    org_id=fee.org_id,
                    project_id=fee.project_id,
                    description=fee.description,
                    amount_minor=fee.amount_minor,
                    currency=fee.currency,
                    stripe_invoice_id=fee.stripe_invoice_id,
                    attempts=fee.attempts,
                )
    except Conflict:
        return None  # another worker claimed it first


async def invoice_fee(
    factory: async_sessionmaker[AsyncSession], fee_id: int, *, now: datetime | None = None
) -> str:
    """Invoice one due fee through Stripe (see the module docstring); what happened, for the job's log."""
    if not billing_enabled():
        return "billing is off; the fee stays due"
    claim = await _claim(factory, fee_id, now or utcnow())
    if claim is None:
        return f"fee {fee_id} is not due (already invoiced, canceled, or another worker has it)"
    try:
        async with stripe_api() as gateway:
            return await _invoice(factory, gateway, claim)
    except Exception as exc:
        final = await _record_failure(factory, claim, exc)
        if final:
            raise PermanentJobError(f"fee {fee_id}: invoicing failed {claim.attempts} times: {exc}") from exc
        raise


def _metadata(claim: Claim) -> dict[str, str]:
    return {"fee_id": str(claim.fee_id), "org_id": str(claim.org_id), "project_id": str(claim.project_id)}


def _has_fee_line(invoice: dict[str, Any], fee_id: int) -> bool:
    lines = (invoice.get("lines") or {}).get("data") or []
    return any(str((line.get("metadata") or {}).get("fee_id")) == str(fee_id) for line in lines)


async def _invoice(factory: async_sessionmaker[AsyncSession], gateway: Gateway, claim: Claim) -> str:
    key = f"fee-{claim.fee_id}"
    # 1. the organization's customer (created once)
    async with factory() as session:
        set_scope(session, org_scope(claim.org_id))
        async with session.begin():
            account = await lock_account(session, await get_or_create_account(session, claim.org_id))
            customer_id = await ensure_customer(session, gateway, account)
    # 2. the invoice, remembered as soon as it exists
    if claim.stripe_invoice_id is None:
        invoice = await gateway.create_invoice(
            key=f"{key}-invoice",
            customer_id=customer_id,
            currency=claim.currency,
            description=claim.description,
            days_until_due=billing_settings().invoice_days_until_due,
            metadata=_metadata(claim),
        )
        async with factory() as session:
            set_scope(session, org_scope(claim.org_id))
            async with session.begin():
                fee = await _load_fee(session, claim.fee_id)
                fee.stripe_invoice_id = str(invoice["id"])
                account = await lock_account(session, await get_or_create_account(session, claim.org_id))
                await apply_invoice(session, account, invoice)
    else:
        invoice = await gateway.retrieve_invoice(claim.stripe_invoice_id)
    invoice_id = str(invoice["id"])
    # 3. its one line, then final, then sent to the client by Stripe
    if invoice.get("status") == InvoiceStatus.draft:
        if not _has_fee_line(invoice, claim.fee_id):
            await gateway.add_invoice_item(
                key=f"{key}-invoiceitem",
                customer_id=customer_id,
                invoice_id=invoice_id,
                amount=claim.amount_minor,
                currency=claim.currency,
                description=claim.description,
                metadata=_metadata(claim),
            )
        invoice = await gateway.finalize_invoice(
            key=f"{key}-finalize-{claim.attempts}", invoice_id=invoice_id
        )
    if invoice.get("status") == InvoiceStatus.open:
        invoice = await gateway.send_invoice(key=f"{key}-send-{claim.attempts}", invoice_id=invoice_id)
    # 4. recorded, audited, and the owners told in their language
    async with factory() as session:
        set_scope(session, org_scope(claim.org_id))
        async with session.begin():
            account = await lock_account(session, await get_or_create_account(session, claim.org_id))
            row = await apply_invoice(session, account, invoice)
            fee = await _load_fee(session, claim.fee_id)
            await _perform(
                session,
                fee,
                "mark_invoiced",
                actor=None,
                inputs={"stripe_invoice_id": row.stripe_invoice_id, "number": row.number},
            )
            await _tell_owners(session, fee, row)
    return f"fee {claim.fee_id}: invoice {invoice_id} {invoice.get('status')}"


async def _tell_owners(session: AsyncSession, fee: MilestoneFee, invoice: Any) -> None:
    project_name = await session.scalar(select(Project.name).where(Project.id == fee.project_id))
    amount = str(money.from_minor(invoice.amount_due or fee.amount_minor, invoice.currency))
    for owner in await owners(session, fee.org_id):
        await notify(
            session,
            user=owner,
            kind="invoice_issued",
            params={
                "project": project_name or "",
                "description": fee.description,
                "amount": amount,
                "currency": invoice.currency,
                "number": invoice.number,
                "due_date": invoice.due_date.date().isoformat() if invoice.due_date else "",
                "invoice_url": invoice.hosted_invoice_url,
            },
            project_id=fee.project_id,
            link=urls.billing(fee.org_id),
        )


async def _record_failure(factory: async_sessionmaker[AsyncSession], claim: Claim, exc: Exception) -> bool:
    """Release the claim with the error; True when the fee has used up its attempts (now `failed`)."""
    final = claim.attempts >= MAX_ATTEMPTS
    message = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning("invoicing fee %s failed (attempt %s): %s", claim.fee_id, claim.attempts, message)
    async with factory() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            fee = await session.scalar(
                select(MilestoneFee).where(
                    MilestoneFee.id == claim.fee_id, MilestoneFee.status == FeeStatus.invoicing
                )
            )
            if fee is not None:
                await _perform(
                    session, fee, "fail" if final else "release", actor=None, inputs={"error": message}
                )
    return final
