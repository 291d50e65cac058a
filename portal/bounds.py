"""Bounds on the numbers a request may carry, so that no number the database cannot hold reaches a query.

A path such as `/projects/100000000000000000000` parses as a Python int; bound into a query it overflows the
driver (SQLite: "Python int too large to convert to SQLite INTEGER"; asyncpg: "value out of int32 range") and the
request ended in a 500. Every id column is an `Integer` (int4 on PostgreSQL), so no row has an id outside
1..MAX_ID: `PathIntBound` answers 404 for any int path parameter outside it, on every route at once, before the
handler runs. Query parameters and JSON bodies carry their bounds in their annotations (`Offset`, `PageNumber`,
`RowId`), so the OpenAPI document states them and validation answers 400.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backoffice.params import MAX_ID, MAX_OFFSET, MAX_PAGE, Offset, PageNumber, RowId

__all__ = ["MAX_ID", "MAX_OFFSET", "MAX_PAGE", "Offset", "PageNumber", "PathIntBound", "RowId"]


class PathIntBound(ASGIMiddleware):
    """404 for an int path parameter no row can have (app middleware runs after routing, so the parameters are
    parsed by then)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        for value in (scope.get("path_params") or {}).values():
            if type(value) is int and not 1 <= value <= MAX_ID:
                raise NotFoundException()
        await next_app(scope, receive, send)
