"""Errors as RFC 9457 problem details on the API, and as pages in the user's language elsewhere."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from makeready import i18n
from makeready.errors import Conflict, DomainError
from makeready.i18n import N_, _
from makeready.kernel.stale import CONCURRENT_MESSAGE
from portal.auth import SessionExpired
from portal.locale import request_locale

PROBLEM = "application/problem+json"
TITLES = {
    400: N_("Bad request"),
    401: N_("Not logged in"),
    402: N_("Payment required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    410: N_("Gone"),
    413: N_("Too large"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
    503: N_("Unavailable"),
}


def wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/schema")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem(request: Request[Any, Any, Any], status: int, detail: str, **extra: Any) -> Response[Any]:
    if "session" not in request.scope:
        # no route matched, so the middleware that picks the language did not run
        i18n.set_locale(request_locale(request.scope))
    title = _(TITLES.get(status, N_("Error")))
    if wants_json(request):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return Response(body, status_code=status, media_type=PROBLEM)
    return Template(
        template_name="portal/error.html",
        context={"status": status, "title": title, "detail": detail},
        status_code=status,
        media_type=MediaType.HTML,
    )


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(request, exc.status_code, exc.message, **exc.extra)


def stale_write_handler(request: Request[Any, Any, Any], exc: StaleDataError) -> Response[Any]:
    conflict = Conflict(_(CONCURRENT_MESSAGE) % {"subject": _("record")})
    return domain_error_handler(request, conflict)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotAuthorizedException) and not wants_json(request):
        target = "/login?next=" + quote(request.url.path, safe="/")
        if isinstance(exc, SessionExpired):
            target += f"&expired={exc.reason}"
        return Redirect(target, status_code=303)
    extra: dict[str, Any] = {}
    detail = exc.detail
    if isinstance(exc, ValidationException):
        extra["errors"] = exc.extra if isinstance(exc.extra, list) else []
        detail = _("Some of the values sent are not valid.")
    elif exc.status_code == 404 and detail in ("", "Not Found"):
        detail = _("This page does not exist or you do not have access to it.")
    elif exc.status_code == 403 and "CSRF" in str(detail):
        detail = _("Your form expired or was sent from another site. Reload the page and try again.")
    elif exc.status_code == 405:
        detail = _("This address does not accept this method.")
    response = problem(request, exc.status_code, str(detail), **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


DATABASE_DOWN = N_(
    "The service's database cannot be reached right now, so this page cannot be shown. "
    "Nothing is lost: please try again in a few minutes."
)
DATABASE_RETRY_AFTER = "30"
_CONNECTION_ERRORS = (
    "CannotConnectNowError",  # asyncpg: the server is starting up or shutting down
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "TooManyConnectionsError",
    "PostgresConnectionError",
    "InterfaceError",
)


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached, rather than a bug in a query."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.TimeoutError):  # the pool waited for a connection in vain
            return True
        if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True  # connection refused, server gone, "unable to open database file" (SQLite)
        if isinstance(current, ConnectionError | TimeoutError | socket.gaierror):
            return True
        if type(current).__name__ in _CONNECTION_ERRORS and "asyncpg" in type(current).__module__:
            return True
        current = current.__cause__ or current.__context__
    return False


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unreachable(exc):
        request.logger.error("database unreachable: %s: %s", type(exc).__name__, exc)
        response = problem(request, HTTP_503_SERVICE_UNAVAILABLE, _(DATABASE_DOWN))
        response.headers["Retry-After"] = DATABASE_RETRY_AFTER
        return response
    request.logger.exception("unhandled error", exc_info=exc)
    return problem(
        request, HTTP_500_INTERNAL_SERVER_ERROR, _("Something went wrong on our side. Please try again.")
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    StaleDataError: stale_write_handler,
    HTTPException: http_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
