"""Security headers on every response: a Content-Security-Policy the pages pass, no framing, no MIME sniffing, a
same-origin Referer, and HSTS in production.

The policy allows our own origin only, and (when files live in S3) the bucket's origin for uploads and images:

- scripts: our static files, plus the inline <script> blocks of the very page, allowed by their SHA-256 (the
  middleware reads the HTML it is about to send; a block injected into stored data could only run if its hash were
  in the header, which it is only for blocks that came from a template);
- styles: 'unsafe-inline', because the templates use style attributes (hashes cannot allow those); styles cannot
  run code, and no external stylesheet can load;
- forms post to our origin, or are redirected to Stripe's checkout and billing portal;
- no page may be framed (frame-ancestors 'none' and X-Frame-Options DENY).

The back office (/admin/) is piccolo-admin's Vue app: ADMIN_CSP is what it was measured to need in Chromium (see
tests/test_browser_csp.py): its bundle (piccolo-admin 1.14, assets/index-*.js) calls eval, so 'unsafe-eval';
still our origin only, no inline script, no framing.

A response that already carries one of these headers keeps its own (the factory pages' stricter policy, /f/...).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from makeready.settings import Settings

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
STRIPE = "https://checkout.stripe.com https://billing.stripe.com"
HSTS = "max-age=63072000; includeSubDomains"


def storage_origins(settings: Settings) -> str:
    """Where the browser sends uploads and fetches images, besides our origin."""
    storage = settings.storage
    if storage.backend != "s3":
        return ""
    if storage.s3_endpoint_url:
        parts = urlsplit(storage.s3_endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    bucket, region = storage.s3_bucket, storage.s3_region
    return f"https://{bucket}.s3.amazonaws.com https://{bucket}.s3.{region}.amazonaws.com https://s3.{region}.amazonaws.com"


def portal_csp(storage: str, script_hashes: list[str]) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    policy = (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob: {storage}; connect-src 'self' {storage}; font-src 'self'; "
        f"object-src 'none'; base-uri 'self'; form-action 'self' {STRIPE}; frame-ancestors 'none'"
    )
    return re.sub(r" +;", ";", policy)


ADMIN_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def script_hashes(html: str) -> list[str]:
    """CSP sources for the inline scripts of a page (JSON data blocks are not scripts and need none)."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(html):
        attrs = match.group("attrs").lower()
        if "src=" in attrs or "application/json" in attrs:
            continue
        digest = hashlib.sha256(match.group("body").encode()).digest()
        hashes.append("'sha256-" + base64.b64encode(digest).decode() + "'")
    return sorted(set(hashes))


class SecurityHeaders:
    """ASGI middleware: adds the headers to every HTTP response (see the module's docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.storage = storage_origins(settings)
        self.production = settings.app.is_production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # the mount has already cut /admin off `path` when this runs; the raw path still has it
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        admin = raw_path.startswith(b"/admin")
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if (
                    not admin
                    and "text/html" in (headers.get("content-type") or "")
                    # a page with its own policy keeps it (add_headers): no need to read its scripts
                    and headers.get("content-security-policy") is None
                ):
                    start = message  # held until the body is known: its scripts' hashes go in the policy
                    return
                self._add(headers, ADMIN_CSP if admin else portal_csp(self.storage, []))
                await send(message)
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                headers = MutableScopeHeaders.from_message(start)
                self._add(headers, portal_csp(self.storage, script_hashes(body.decode("utf-8", "replace"))))
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, wrapped)

    def _add(self, headers: MutableScopeHeaders, csp: str) -> None:
        add_headers(headers, csp, production=self.production)


def add_headers(headers: MutableScopeHeaders, csp: str, *, production: bool) -> None:
    """Set each security header the response does not already have."""
    values = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if production:
        values["Strict-Transport-Security"] = HSTS
    for name, value in values.items():
        if headers.get(name) is None:
            headers[name] = value


def baseline_headers(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """A `before_send` hook for what the middleware never sees: Litestar runs app middleware for matched routes
    only, so a 404 for an unknown path gets the headers here (the policy without any inline script)."""
    storage, production = storage_origins(settings), settings.app.is_production

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            raw_path: bytes = scope.get("raw_path") or b""
            csp = ADMIN_CSP if raw_path.startswith(b"/admin") else portal_csp(storage, [])
            add_headers(MutableScopeHeaders.from_message(message), csp, production=production)

    return hook


def security_headers(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware for `Litestar(middleware=[...])`, bound to the app's settings."""

    def middleware(app: ASGIApp) -> ASGIApp:
        return SecurityHeaders(app, settings)

    return middleware
