"""One CSRF cookie for the portal and the back office.

Both use a double-submit cookie named `csrftoken` at path `/`. piccolo-admin sets a random UUID when the browser has
none; Litestar, which protects the portal, then finds a cookie it did not sign, keeps it, and refuses every portal
form with 403 until the cookie expires (a year later). So the back office issues Litestar-format tokens, signed with
the portal's CSRF secret: each side accepts the other's cookie. piccolo only compares cookie and header, so any
value works for it.
"""

from __future__ import annotations

from typing import Any

from litestar.middleware.csrf import generate_csrf_token
from piccolo_api.csrf.middleware import CSRFMiddleware
from starlette.middleware import Middleware
from starlette.types import ASGIApp


class SharedCSRFMiddleware(CSRFMiddleware):
    """piccolo_api's CSRF middleware, issuing tokens the portal's Litestar CSRF middleware also accepts."""

    def __init__(self, app: ASGIApp, *, secret: str | None = None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._secret = secret

    def get_new_token(self) -> str:  # type: ignore[override]  # piccolo's is static; ours needs the secret
        if self._secret:
            return generate_csrf_token(secret=self._secret)
        return str(CSRFMiddleware.get_new_token())


def share_csrf_cookie(admin: Any, secret: str | None) -> None:
    """Swap piccolo-admin's CSRF middleware (built by create_admin with fixed arguments) for the shared one.

    Starlette builds its middleware stack on the first request, so the list can still be edited here."""
    if admin.middleware_stack is not None:
        raise RuntimeError("the admin app has already served a request; its middleware cannot change")
    for index, middleware in enumerate(admin.user_middleware):
        if middleware.cls is CSRFMiddleware:
            admin.user_middleware[index] = Middleware(
                SharedCSRFMiddleware,  # type: ignore[arg-type]  # Starlette's factory protocol is stricter
                secret=secret,
                **middleware.kwargs,
            )
            return
    raise RuntimeError("piccolo-admin no longer installs CSRFMiddleware where expected")
