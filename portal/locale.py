"""Pick the request's language: the user's choice (kept in the session), then Accept-Language, then English.

A logged-in user's choice is stored on the user (`users.locale`) by `POST /locale`, and copied into the session at
login, so it follows them to every client; the session is all this middleware reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from makeready import i18n

# HTML pages change with the language: say which one, and tell caches that Accept-Language picks it
_CONTENT_LANGUAGE = {"en": "en", "zh_Hans": "zh-Hans"}


def request_locale(scope: Scope | Mapping[str, Any]) -> str:
    """The locale for an HTTP scope: a supported locale in the session, else the best Accept-Language, else en."""
    session = scope.get("session")
    chosen = session.get("locale") if isinstance(session, dict) else None
    if chosen in i18n.SUPPORTED:
        return str(chosen)
    accept = next(
        (
            value.decode("latin-1")
            for key, value in scope.get("headers", ())
            if key.lower() == b"accept-language"
        ),
        None,
    )
    return i18n.negotiate(accept) or i18n.DEFAULT


class LocaleMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        i18n.set_locale(request_locale(scope))

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if headers.get("content-type", "").startswith("text/html"):
                    # read now, not before: logging in switches to the user's own language for this response
                    headers.add("content-language", _CONTENT_LANGUAGE[i18n.get_locale()])
                    headers.add("vary", "Accept-Language")
            await send(message)

        await next_app(scope, receive, send_with_language)
