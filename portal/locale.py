"""Pick the request's language: the user's choice (kept in the session), then Accept-Language, then English."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from makeready import i18n


class LocaleMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        session = scope.get("session") or {}
        locale = session.get("locale") if isinstance(session, dict) else None
        if locale not in i18n.SUPPORTED:
            accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
            locale = i18n.negotiate(accept) or i18n.DEFAULT
        i18n.set_locale(locale)
        await next_app(scope, receive, send)
