"""Billing forms: attach a fee to a milestone, cancel one, retry one whose invoicing failed, and re-process a Stripe
event that failed. Each calls makeready.billing (which checks, writes and audits); a refusal is the form's message.
"""

from __future__ import annotations

from piccolo_admin.endpoints import FormConfig
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import Request

from backoffice.forms.base import Form, FormModel, run
from backoffice.forms.lookup import find_milestone, find_project, number_of
from backoffice.forms.workflow import PROJECT_TITLE
from makeready.accounts.models import User
from makeready.billing import fees, webhooks
from makeready.billing.models import StripeEvent
from makeready.billing.money import format_minor
from makeready.db.session import make_sessionmaker
from makeready.errors import DomainError, ValidationFailed
from makeready.i18n import N_, _

BILLING_GROUP = N_("Billing")
FEE_TITLE = N_("Fee number (from the milestone fees list)")


class AttachFee(FormModel):
    project: str = Field(title=PROJECT_TITLE)
    milestone: str = Field(title=N_("Milestone (title or number): the fee is invoiced when it is done"))
    description: str = Field(
        title=N_("What the fee is for, as the invoice says (for example: Feasibility fee)")
    )
    amount: str = Field(title=N_("Amount (for example 1500.00)"))
    currency: str = Field("", title=N_("Currency (blank: the client's currency)"))


class CancelFee(FormModel):
    fee: int = Field(title=FEE_TITLE)
    reason: str = Field(title=N_("Reason (recorded with the decision)"))


class RetryFee(FormModel):
    fee: int = Field(title=FEE_TITLE)


class ReprocessEvent(FormModel):
    event: str = Field(title=N_("Event: its number in the Stripe events list, or Stripe's id (evt_...)"))


def billing_forms(engine: AsyncEngine) -> list[FormConfig]:
    async def attach(request: Request, data: AttachFee) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            project = await find_project(session, data.project)
            milestone = await find_milestone(session, project, data.milestone)
            currency = data.currency.strip() or project.org.default_currency
            fee = await fees.attach_fee(
                session,
                actor=actor,
                milestone_id=milestone.id,
                description=data.description,
                amount=data.amount,
                currency=currency,
            )
            message = (
                N_(
                    "%(amount)s for %(description)s is attached to %(milestone)s of %(project)s; it is invoiced now."
                )
                if fee.due_at
                else N_(
                    "%(amount)s for %(description)s is attached to %(milestone)s of %(project)s; it is invoiced "
                    "when the milestone is done."
                )
            )
            return _(message) % {
                "amount": format_minor(fee.amount_minor, fee.currency),
                "description": fee.description,
                "milestone": _(milestone.title),
                "project": project.name,
            }

        return await run(engine, request, action)

    async def cancel(request: Request, data: CancelFee) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            fee = await fees.cancel_fee(session, actor=actor, fee_id=data.fee, reason=data.reason)
            return _("The fee %(description)s is canceled.") % {"description": fee.description}

        return await run(engine, request, action)

    async def retry(request: Request, data: RetryFee) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            fee = await fees.retry_fee(session, actor=actor, fee_id=data.fee)
            return _("The fee %(description)s is being invoiced again.") % {"description": fee.description}

        return await run(engine, request, action)

    async def reprocess(request: Request, data: ReprocessEvent) -> str:
        found: dict[str, int] = {}

        async def action(session: AsyncSession, actor: User) -> str:
            text = data.event.strip()
            number = number_of(text)
            where = StripeEvent.id == number if number is not None else StripeEvent.stripe_event_id == text
            row_id = await session.scalar(select(StripeEvent.id).where(where))
            if row_id is None:
                raise ValidationFailed(_("There is no such Stripe event."), field="event")
            found.update(event=row_id, actor=actor.id)
            return ""

        await run(engine, request, action)  # who asks (staff only) and which event
        try:
            delivery = await webhooks.reprocess(
                make_sessionmaker(engine), event_row_id=found["event"], actor_id=found["actor"]
            )
        except DomainError as exc:
            raise ValueError(exc.message) from None
        if delivery.outcome == webhooks.Outcome.failed:
            raise ValueError(_("It failed again: %(error)s") % {"error": delivery.result})
        if delivery.outcome == webhooks.Outcome.duplicate:
            return _("This event was already applied; nothing was done again.")
        return _("The event is applied: %(result)s") % {"result": delivery.result}

    return [
        Form(
            N_("Attach a milestone fee"),
            AttachFee,
            attach,
            N_(
                "A coordination fee (feasibility fee, development retainer, production fee) that Makeready invoices "
                "through Stripe when the milestone is done, and emails to the client."
            ),
            BILLING_GROUP,
        ),
        Form(
            N_("Cancel a milestone fee"),
            CancelFee,
            cancel,
            N_("Withdraws a fee that is not invoiced yet. An invoice already sent is voided in Stripe."),
            BILLING_GROUP,
        ),
        Form(
            N_("Retry invoicing a fee"),
            RetryFee,
            retry,
            N_("Tries a fee whose invoicing failed again, from where it stopped; it never bills twice."),
            BILLING_GROUP,
        ),
        Form(
            N_("Re-process a Stripe event"),
            ReprocessEvent,
            reprocess,
            N_("Applies a webhook event whose processing failed (its error is in the Stripe events list)."),
            BILLING_GROUP,
        ),
    ]
