"""Billing in the portal: the pricing page, an organization's billing page, the owner's doors to Stripe (Checkout to
subscribe, the customer portal for payment methods and cancellation), and the Stripe webhook endpoint.

With billing off (no STRIPE_SECRET_KEY) the pages say so and the buttons are absent; the webhook answers 404.
The webhook is the one route without CSRF protection: Stripe signs it instead (makeready.billing.webhooks.verify).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Organization, OrgRole
from makeready.billing import service as billing
from makeready.billing import webhooks
from makeready.billing.gating import is_read_only
from makeready.billing.models import BillingStatus, FeeStatus, InvoiceStatus
from makeready.billing.money import format_minor
from makeready.billing.stripe_client import billing_enabled, stripe_api
from makeready.db.session import get_engine, make_sessionmaker
from makeready.errors import NotFound
from makeready.i18n import N_, _
from makeready.quality.concessions import concession_notes, notes_by_invoice
from makeready.settings import Settings
from makeready.team import service as team
from portal.auth import Actor, provide_user

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

NOTICES = {
    "done": N_(
        "Thank you. Your subscription shows here as soon as Stripe confirms the payment, usually within a minute."
    ),
    "canceled": N_("Checkout was canceled; nothing was charged."),
}


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _pick_org(user: Actor, requested: int | None) -> int | None:
    """The organization asked for if the caller belongs to it (staff: any), else the caller's first."""
    mine = [m.org_id for m in user.memberships]
    if requested is not None:
        if requested not in mine and not user.is_staff:
            raise NotFound(_("This organization does not exist or you do not have access to it."))
        return requested
    return mine[0] if mine else None


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _orgs(
    db: AsyncSession, user: Actor, org_id: int | None
) -> tuple[Organization | None, list[Organization]]:
    org = await team.get_org(db, org_id) if org_id is not None else None
    choices = await team.visible_orgs(db)
    if org is not None and all(o.id != org.id for o in choices):
        choices.append(org)
    return org, choices


class BillingPages(Controller):
    """The pricing and billing pages, and the owner's two buttons."""

    path = "/"
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/pricing", name="pricing")
    async def pricing(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        org: FromQuery[int | None] = None,
        checkout: FromQuery[str | None] = None,
    ) -> Template:
        """The plans the agency offers; an owner of an organization without a subscription can choose one."""
        org_id = _pick_org(user, org)
        current, orgs = await _orgs(db, user, org_id)
        account = await billing.get_account(db, org_id) if org_id is not None else None
        return Template(
            "billing/pricing.html",
            context={
                "user": user,
                "enabled": billing_enabled(),
                "plans": await billing.list_plans(db),
                "org": current,
                "orgs": orgs,
                "account": account,
                "can_subscribe": billing_enabled()
                and current is not None
                and user.role_in(current.id) == OrgRole.owner
                and (account is None or account.status not in billing.SUBSCRIBED),
                "notice": _(NOTICES[checkout]) if checkout in NOTICES else None,
            },
        )

    @get("/billing", name="billing")
    async def billing_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        org: FromQuery[int | None] = None,
        checkout: FromQuery[str | None] = None,
    ) -> Template:
        """The organization's subscription, its invoices with their Stripe links, and the fees still to come."""
        org_id = _pick_org(user, org)
        current, orgs = await _orgs(db, user, org_id)
        summary = await billing.overview(db, org_id) if org_id is not None else None
        concessions = await concession_notes(db, org_id) if org_id is not None else []
        invoice_notes = (
            await notes_by_invoice(db, summary.invoices, concessions) if summary is not None else {}
        )
        return Template(
            "billing/billing.html",
            context={
                "user": user,
                "enabled": billing_enabled(),
                "org": current,
                "orgs": orgs,
                "summary": summary,
                "is_owner": current is not None and user.role_in(current.id) == OrgRole.owner,
                "read_only": summary is not None and is_read_only(summary.account),
                "notice": _(NOTICES[checkout]) if checkout in NOTICES else None,
                "minor": format_minor,
                "Status": BillingStatus,
                "InvoiceStatus": InvoiceStatus,
                "FeeStatus": FeeStatus,
                "concessions": concessions,
                "invoice_notes": invoice_notes,
            },
        )

    @post("/billing/checkout", name="billing.checkout")
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Form,
    ) -> Redirect:
        """Subscribe to a plan through Stripe Checkout (owners only)."""
        org_id = _pick_org(user, _int(data.get("org")))
        plan_id = _int(data.get("plan"))
        if org_id is None or plan_id is None:
            raise NotFound(_("Choose a plan and an organization."))
        async with stripe_api() as gateway:
            url = await billing.start_checkout(
                db,
                gateway,
                actor=user.user,
                org_id=org_id,
                plan_id=plan_id,
                base_url=_settings(request).app.base_url.rstrip("/"),
            )
        return Redirect(url, status_code=303)

    @post("/billing/portal", name="billing.portal")
    async def customer_portal(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Form,
    ) -> Redirect:
        """Payment methods, invoices and cancellation in Stripe's customer portal (owners only)."""
        org_id = _pick_org(user, _int(data.get("org")))
        if org_id is None:
            raise NotFound(_("This organization does not exist or you do not have access to it."))
        async with stripe_api() as gateway:
            url = await billing.open_customer_portal(
                db,
                gateway,
                actor=user.user,
                org_id=org_id,
                base_url=_settings(request).app.base_url.rstrip("/"),
            )
        return Redirect(url, status_code=303)


@post("/webhooks/stripe", name="stripe_webhook", include_in_schema=False, opt={"bell": False})
async def stripe_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Stripe's events: verified, stored and applied once (500 asks Stripe to send it again later)."""
    event = webhooks.verify(await request.body(), request.headers.get("stripe-signature"))
    factory = make_sessionmaker(get_engine(_settings(request).db.url))
    delivery = await webhooks.deliver(factory, event)
    status = 500 if delivery.outcome == webhooks.Outcome.failed else 200
    return Response(
        {"received": True, "outcome": delivery.outcome.value}, status_code=status, media_type=MediaType.JSON
    )
