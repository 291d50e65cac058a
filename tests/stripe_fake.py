"""A Stripe for tests: an HTTP client for the official SDK (its `http_client` hook) that records every request and
answers from objects it keeps, like Stripe would, with no network.

Each request is recorded with its method, path, form parameters and Idempotency-Key header. A repeated
idempotency key gets the first answer again, as Stripe does. Tests change `objects` to say what Stripe "now"
holds (a subscription that became past due), and `fail(path_prefix)` makes the next calls there fail.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

from makeready.billing import stripe_client
from makeready.settings import BillingSettings

SECRET_KEY = "sk_test_makeready_fake"
WEBHOOK_SECRET = "whsec_makeready_fake"


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None


@dataclass
class FakeStripe(stripe.HTTPClient):
    name = "fake"

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)
    answered: dict[str, tuple[bytes, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    # -- what tests use ------------------------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Requests with this method and exactly this path (a path ending in "/" is a prefix)."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or (r.path.startswith(path) if path.endswith("/") else r.path == path))
        ]

    def fail(self, path_prefix: str, *statuses: int) -> None:
        """The next calls under `path_prefix` answer these statuses, one each, before working again."""
        self.failures.setdefault(path_prefix, []).extend(statuses)

    def subscription(
        self,
        sub_id: str,
        *,
        customer: str,
        status: str,
        price: str = "price_basic",
        created: int | None = None,
        period_end: int | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        obj = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "created": created or now - 60,
            "cancel_at_period_end": False,
            "canceled_at": now if status == "canceled" else None,
            "trial_end": None,
            "metadata": {},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_{sub_id}",
                        "object": "subscription_item",
                        "price": {"id": price, "object": "price"},
                        "current_period_end": period_end or now + 30 * 86400,
                    }
                ],
            },
        }
        self.objects[sub_id] = obj
        return obj

    def invoice(
        self, inv_id: str, *, customer: str, status: str, amount: int = 4900, subscription: str | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        obj: dict[str, Any] = {
            "id": inv_id,
            "object": "invoice",
            "customer": customer,
            "status": status,
            "currency": "usd",
            "amount_due": amount,
            "amount_paid": amount if status == "paid" else 0,
            "amount_remaining": 0 if status == "paid" else amount,
            "number": f"MR-{inv_id[-4:].upper()}",
            "hosted_invoice_url": f"https://invoice.stripe.test/{inv_id}",
            "invoice_pdf": f"https://invoice.stripe.test/{inv_id}/pdf",
            "created": now - 30,
            "due_date": None,
            "description": None,
            "metadata": {},
            "status_transitions": {"paid_at": now if status == "paid" else None},
            "lines": {"object": "list", "data": []},
            "parent": (
                {"type": "subscription_details", "subscription_details": {"subscription": subscription}}
                if subscription
                else None
            ),
        }
        self.objects[inv_id] = obj
        return obj

    # -- the HTTPClient interface --------------------------------------------------------------------------

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, **_: Any) -> Any:
        raise RuntimeError("Makeready calls Stripe asynchronously only")

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        raw = post_data.decode() if isinstance(post_data, bytes) else (post_data or parts.query or "")
        params = dict(parse_qsl(raw, keep_blank_values=True))
        key = headers.get("Idempotency-Key")
        async with self._lock:
            self.requests.append(Recorded(method.upper(), parts.path, params, key))
            for prefix, statuses in self.failures.items():
                if parts.path.startswith(prefix) and statuses:
                    status = statuses.pop(0)
                    body = {"error": {"type": "api_error", "message": f"fake Stripe failure {status}"}}
                    return json.dumps(body).encode(), status, {"stripe-should-retry": "false"}
            if key and method.upper() == "POST" and key in self.answered:
                body_bytes, status = self.answered[key]
                return body_bytes, status, {"idempotent-replayed": "true"}
            status, body = self._answer(method.upper(), parts.path, params)
            body_bytes = json.dumps(body).encode()
            if key and method.upper() == "POST":
                self.answered[key] = (body_bytes, status)
            return body_bytes, status, {"request-id": f"req_{next(self._ids)}"}

    async def request_stream_async(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no streams here")

    async def close_async(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def sleep_async(self, secs: float) -> None:  # the SDK's retry back-off: no waiting in tests
        return None

    # -- Stripe, as far as Makeready uses it ---------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):04d}"

    def _missing(self, path: str) -> tuple[int, dict[str, Any]]:
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": f"No such {path}",
            }
        }

    @staticmethod
    def _metadata(params: dict[str, str], prefix: str = "metadata") -> dict[str, str]:
        return {k[len(prefix) + 1 : -1]: v for k, v in params.items() if k.startswith(f"{prefix}[")}

    def _answer(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        segments = path.strip("/").split("/")[1:]  # without "v1"
        now = int(time.time())
        if method == "POST" and segments == ["customers"]:
            obj = {
                "id": self._new_id("cus"),
                "object": "customer",
                "name": params.get("name"),
                "email": params.get("email"),
                "metadata": self._metadata(params),
            }
            self.objects[obj["id"]] = obj
            return 200, obj
        if method == "POST" and segments == ["checkout", "sessions"]:
            sid = self._new_id("cs")
            return 200, {
                "id": sid,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/{sid}",
            }
        if method == "POST" and segments == ["billing_portal", "sessions"]:
            sid = self._new_id("bps")
            return 200, {
                "id": sid,
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.test/{sid}",
            }
        if method == "POST" and segments == ["invoices"]:
            inv = self.invoice(self._new_id("in"), customer=params["customer"], status="draft", amount=0)
            inv.update(
                currency=params.get("currency", "usd"),
                description=params.get("description"),
                metadata=self._metadata(params),
                number=None,
                hosted_invoice_url=None,
                invoice_pdf=None,
            )
            return 200, inv
        if method == "POST" and segments == ["invoiceitems"]:
            inv = self.objects.get(params.get("invoice", ""))
            if inv is None:
                return self._missing("invoice")
            item = {
                "id": self._new_id("ii"),
                "object": "line_item",
                "amount": int(params["amount"]),
                "currency": params["currency"],
                "description": params.get("description"),
                "metadata": self._metadata(params),
            }
            inv["lines"]["data"].append(item)
            inv["amount_due"] = inv["amount_remaining"] = sum(line["amount"] for line in inv["lines"]["data"])
            return 200, {**item, "object": "invoiceitem", "invoice": inv["id"]}
        if method == "POST" and len(segments) == 3 and segments[0] == "invoices":
            inv = self.objects.get(segments[1])
            if inv is None:
                return self._missing("invoice")
            if segments[2] == "finalize":
                inv.update(
                    status="open",
                    number=f"MR-{segments[1][-4:].upper()}",
                    hosted_invoice_url=f"https://invoice.stripe.test/{segments[1]}",
                    invoice_pdf=f"https://invoice.stripe.test/{segments[1]}/pdf",
                    due_date=now + 30 * 86400,
                )
            return 200, inv
        if (
            method == "GET"
            and len(segments) == 2
            and segments[0] in {"subscriptions", "invoices", "customers"}
        ):
            obj = self.objects.get(segments[1])
            return (200, obj) if obj is not None else self._missing(segments[0][:-1])
        return 404, {
            "error": {"type": "invalid_request_error", "message": f"fake Stripe has no {method} {path}"}
        }


def billing_settings(**overrides: Any) -> BillingSettings:
    return BillingSettings().model_copy(
        update={"stripe_secret_key": SECRET_KEY, "stripe_webhook_secret": WEBHOOK_SECRET, **overrides}
    )


def turn_on(fake: FakeStripe, **overrides: Any) -> None:
    stripe_client.configure(billing_settings(**overrides), http_client=fake)


def turn_off() -> None:
    stripe_client.configure()


def signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[str, str]:
    """The event's JSON and its Stripe-Signature header, as Stripe would send them."""
    payload = json.dumps(event)
    return payload, stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


_event_ids = itertools.count(1)


def event(
    kind: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_fake{next(_event_ids):05d}",
        "object": "event",
        "type": kind,
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
