"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.storage import get_storage


@get("/healthz", sync_to_thread=False, include_in_schema=True, tags=["health"])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", tags=["health"])
async def readyz(db_engine: NamedDependency[AsyncEngine]) -> Response[dict[str, Any]]:
    """The database and storage are reachable; 503 names the part that is down."""
    checks: dict[str, str] = {}
    try:
        async with db_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        await get_storage().check()
        checks["storage"] = "ok"
    except Exception as exc:  # any backend error means not ready
        checks["storage"] = f"down: {type(exc).__name__}: {exc}"[:200]
    ready = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
