"""Brute force on the portal login: limited per account and per address, with a clear 429, and never a long
lockout of the real user. The clock is portal.auth.clock, moved forward instead of waiting."""

from __future__ import annotations

import time

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

import portal.auth
from makeready.accounts import throttle
from tests.conftest import PASSWORD, World, csrf

Client = AsyncTestClient[Litestar]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(portal.auth, "clock", fixed)
    return fixed


async def attempt(client: Client, email: str, password: str) -> httpx.Response:
    if not csrf(client):
        await client.get("/login")
    return await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )


async def test_forty_wrong_passwords_then_the_right_one_is_refused(
    client: Client, world: World, clock: Clock
) -> None:
    statuses = [(await attempt(client, world.owner_a.email, f"guess-{n}")).status_code for n in range(40)]
    assert statuses[: throttle.ACCOUNT_FREE_FAILURES + 1] == [400] * (throttle.ACCOUNT_FREE_FAILURES + 1)
    assert set(statuses[throttle.ACCOUNT_FREE_FAILURES + 1 :]) == {429}

    right = await attempt(client, world.owner_a.email, PASSWORD)
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0
    assert "Too many failed logins" in right.text
    assert 'name="password"' in right.text  # the form again, with the email kept
    assert world.owner_a.email in right.text
    assert (await client.get("/account", follow_redirects=False)).status_code == 303

    # once the block has passed, the real user gets in
    clock.now += int(right.headers["retry-after"])
    assert (await attempt(client, world.owner_a.email, PASSWORD)).status_code == 303


async def test_an_attacker_cannot_lock_the_real_user_out_for_long(
    client: Client, world: World, clock: Clock
) -> None:
    # an attacker who keeps trying whenever the block ends, for an hour
    waits = []
    for n in range(60):
        response = await attempt(client, world.member_a.email, f"guess-{n}")
        if response.status_code == 429:
            waits.append(int(response.headers["retry-after"]))
            clock.now += waits[-1]
    assert waits
    assert max(waits) <= throttle.ACCOUNT_MAX_BLOCK.total_seconds()
    # the user comes back after the attacker stopped: the longest wait is a few minutes
    clock.now += throttle.ACCOUNT_MAX_BLOCK.total_seconds()
    assert (await attempt(client, world.member_a.email, PASSWORD)).status_code == 303


async def test_one_address_trying_many_accounts_runs_out_of_its_budget(
    client: Client, world: World, clock: Clock
) -> None:
    for n in range(throttle.ADDRESS_BUDGET):
        response = await attempt(client, f"nobody-{n}@example.test", "guess")
        assert response.status_code == 400, n
    # the address is refused now, even for a real account with its right password
    refused = await attempt(client, world.viewer_a.email, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) <= throttle.ADDRESS_WINDOW.total_seconds()
    clock.now += int(refused.headers["retry-after"])
    assert (await attempt(client, world.viewer_a.email, PASSWORD)).status_code == 303


async def test_a_success_clears_the_account_failures(client: Client, world: World, clock: Clock) -> None:
    for n in range(throttle.ACCOUNT_FREE_FAILURES - 1):
        assert (await attempt(client, world.owner_b.email, f"typo-{n}")).status_code == 400
    assert (await attempt(client, world.owner_b.email, PASSWORD)).status_code == 303
    client.cookies.clear()
    for n in range(throttle.ACCOUNT_FREE_FAILURES):
        assert (await attempt(client, world.owner_b.email, f"typo-{n}")).status_code == 400
