"""Logging in through the portal form, and what a wrong password or an expired form gets."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import World, csrf, login


async def test_brand_logs_in_and_sees_dashboard(client: AsyncTestClient[Litestar], world: World) -> None:
    await login(client, world.owner_a.email, form=True)
    response = await client.get("/")
    assert response.status_code == 200
    assert "owner_a" in response.text


async def test_wrong_password_reshows_form_with_message(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"email": world.owner_a.email, "password": "nope", "_csrf_token": csrf(client)}
    )
    assert response.status_code == 400
    assert "The email or password is not correct." in response.text
    assert (await client.get("/", follow_redirects=False)).status_code == 303
