"""Schemathesis over the whole OpenAPI document (/schema/openapi.json) against the ASGI app, as a brand with an API
token: whatever the generated requests hold (huge numbers, odd strings, missing fields), no answer is a 5xx.

Bounded in time: a few examples per operation (MAX_EXAMPLES), no shrinking, no example database, derandomized
(the same examples every run; change MAX_EXAMPLES or run it with other seeds locally to explore further). The requests go
through schemathesis' own ASGI transport (starlette's test client on its own event loop); the tests' connection
pool is off (DATABASE_POOL=null), so nothing crosses loops.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from tests.conftest import World
from tests.test_portal import _token

MAX_EXAMPLES = 8


@pytest.fixture
async def brand_headers(engine: AsyncEngine, world: World) -> dict[str, str]:
    return await _token(engine, world.owner_a)


@pytest.fixture
async def project_id(engine: AsyncEngine, world: World) -> int:
    """A project of the brand's, so that half of the generated requests reach a real row."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Fuzzed lamp"}
            )
            return project.id


def test_no_api_operation_answers_a_server_error(
    app: Litestar, brand_headers: dict[str, str], project_id: int
) -> None:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # the whole document was read
    server_errors: list[str] = []
    calls = 0
    statuses: list[int] = []

    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,  # the same examples every run: a failure here is reproducible, never a flake
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def call(case: Any, data: Any) -> None:
            nonlocal calls
            calls += 1
            if "project_id" in (case.path_parameters or {}) and data.draw(
                st.booleans(), label="real project"
            ):
                case.path_parameters["project_id"] = project_id
            response = case.call(headers=brand_headers)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                    f" -> {response.status_code} {response.text[:200]}"
                )

        call()

    assert calls >= len(operations)
    assert any(200 <= status < 300 for status in statuses)  # the token was accepted and rows were reached
    assert server_errors == []
