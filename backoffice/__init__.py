"""PLACEHOLDER until the back office lands."""
from typing import Any


def create_backoffice(settings: Any) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        from litestar.response.base import ASGIResponse
        await ASGIResponse(body=b"admin", status_code=200)(scope, receive, send)
    return app
