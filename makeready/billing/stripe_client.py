"""The one door to Stripe: `stripe_api()` yields a `Gateway` over the official SDK's async calls.

Every outgoing call goes through `stripe.StripeClient(..., http_client=...)` built here, so tests swap the HTTP
client (`configure(http_client=...)`) and see each exact request, idempotency key included, with no network.
The gateway returns plain dicts (Stripe's JSON), so the rest of the billing package never handles SDK objects.
Billing is on when STRIPE_SECRET_KEY is set; `configure(settings)` lets tests turn it on for a while.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from makeready.errors import DomainError
from makeready.i18n import _
from makeready.settings import BillingSettings, get_settings

if TYPE_CHECKING:
    import stripe  # imported where a call is made: the SDK costs a quarter second of every start, billing or not

NETWORK_RETRIES = 2
"""Retries of a call that failed on the network; the SDK sends the same idempotency key each time."""
TIMEOUT_SECONDS = 30.0

_override: BillingSettings | None = None
_http_client: stripe.HTTPClient | None = None


class BillingDisabled(DomainError):
    """Billing is off (no STRIPE_SECRET_KEY): nothing here talks to Stripe."""

    status_code = 404


class BillingUnavailable(DomainError):
    """Stripe refused or could not be reached; nothing was changed on our side."""

    status_code = 503


def billing_settings() -> BillingSettings:
    return _override if _override is not None else get_settings().billing


def billing_enabled() -> bool:
    return billing_settings().enabled


def configure(
    settings: BillingSettings | None = None, *, http_client: stripe.HTTPClient | None = None
) -> None:
    """Use these settings and this HTTP client from now on; `configure()` returns to the environment's."""
    global _override, _http_client
    _override = settings
    _http_client = http_client


def require_enabled() -> BillingSettings:
    settings = billing_settings()
    if not settings.enabled:
        raise BillingDisabled(_("Billing is not set up on this Makeready: there is nothing to pay here."))
    return settings


def _plain(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = obj.to_dict(for_json=True)
    return result


class Gateway:
    """The Stripe calls Makeready makes. Writes that must never happen twice carry an idempotency key."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    # -- customers -----------------------------------------------------------------------------------------

    async def create_customer(self, *, org_id: int, name: str, email: str) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name, "metadata": {"org_id": str(org_id)}}
        if email:
            params["email"] = email
        return _plain(
            await self.client.v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"org-{org_id}-customer"},
            )
        )

    async def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        return _plain(await self.client.v1.customers.retrieve_async(customer_id))

    # -- checkout and the customer portal ------------------------------------------------------------------

    async def create_checkout_session(
        self, *, customer_id: str, price_id: str, org_id: int, success_url: str, cancel_url: str
    ) -> dict[str, Any]:
        metadata = {"org_id": str(org_id)}
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(org_id),
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        return _plain(await self.client.v1.checkout.sessions.create_async(params))  # type: ignore[arg-type]

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> dict[str, Any]:
        return _plain(
            await self.client.v1.billing_portal.sessions.create_async(
                {"customer": customer_id, "return_url": return_url}
            )
        )

    # -- subscriptions and invoices ------------------------------------------------------------------------

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return _plain(await self.client.v1.subscriptions.retrieve_async(subscription_id))

    async def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        return _plain(await self.client.v1.invoices.retrieve_async(invoice_id))

    async def create_invoice(
        self,
        *,
        key: str,
        customer_id: str,
        currency: str,
        description: str,
        days_until_due: int,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "customer": customer_id,
            "currency": currency.lower(),
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "description": description,
            "auto_advance": False,
            # only this fee's item goes on this invoice, never another pending item of the customer
            "pending_invoice_items_behavior": "exclude",
            "metadata": metadata,
        }
        return _plain(
            await self.client.v1.invoices.create_async(params, {"idempotency_key": key})  # type: ignore[arg-type]
        )

    async def add_invoice_item(
        self,
        *,
        key: str,
        customer_id: str,
        invoice_id: str,
        amount: int,
        currency: str,
        description: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "customer": customer_id,
            "invoice": invoice_id,
            "amount": amount,
            "currency": currency.lower(),
            "description": description,
            "metadata": metadata,
        }
        return _plain(
            await self.client.v1.invoice_items.create_async(params, {"idempotency_key": key})  # type: ignore[arg-type]
        )

    async def finalize_invoice(self, *, key: str, invoice_id: str) -> dict[str, Any]:
        return _plain(
            await self.client.v1.invoices.finalize_invoice_async(
                invoice_id, {"auto_advance": False}, {"idempotency_key": key}
            )
        )

    async def send_invoice(self, *, key: str, invoice_id: str) -> dict[str, Any]:
        return _plain(
            await self.client.v1.invoices.send_invoice_async(invoice_id, None, {"idempotency_key": key})
        )


@asynccontextmanager
async def stripe_api() -> AsyncIterator[Gateway]:
    """A gateway for the duration of the block (one HTTP connection pool, closed at the end)."""
    import stripe

    settings = require_enabled()
    own = _http_client is None
    http = _http_client or stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
    client = stripe.StripeClient(
        settings.stripe_secret_key, http_client=http, max_network_retries=NETWORK_RETRIES
    )
    try:
        yield Gateway(client)
    finally:
        if own:
            await http.close_async()
