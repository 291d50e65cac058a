"""Brute-force limits on the portal login, per account and per client address, kept in the database.

Two counters of failed logins, rows of `login_throttles`:

- per account (`account:<email>`, known or not, so the answer never tells which emails exist): the first
  ACCOUNT_FREE_FAILURES failures cost nothing; each further one blocks the account for 2, 4, 8... seconds, never
  more than ACCOUNT_MAX_BLOCK. An attacker who knows an email can keep it blocked, but only by trying once per
  block, and the real user is never locked out for longer than ACCOUNT_MAX_BLOCK after the attacker stops. A
  success clears the account's counter; failures older than ACCOUNT_MEMORY are forgotten.
- per address (`address:<ip>`): ADDRESS_BUDGET failures per ADDRESS_WINDOW, whatever the emails; the address is
  then refused until the window ends. This stops one machine from trying a password on many accounts.

A blocked attempt is refused before the password is checked and is not counted (it neither extends the block nor
costs an argon2 hash). Every app server reads the same rows: they are stateless replicas.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import LoginThrottle

ACCOUNT_FREE_FAILURES = 5
ACCOUNT_MAX_BLOCK = timedelta(minutes=5)
ACCOUNT_MEMORY = timedelta(hours=1)
ADDRESS_BUDGET = 100
ADDRESS_WINDOW = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)
MAX_KEY = 400


def account_key(email: str) -> str:
    return ("account:" + (email or "").strip().lower())[:MAX_KEY]


def address_key(address: str) -> str:
    return ("address:" + (address or "unknown"))[:MAX_KEY]


async def wait_seconds(db: AsyncSession, *, email: str, address: str, now: datetime) -> int:
    """Seconds before this email may be tried from this address again; 0 when it may be tried now."""
    until = await db.scalars(
        select(LoginThrottle.blocked_until).where(
            LoginThrottle.key.in_([account_key(email), address_key(address)]),
            LoginThrottle.blocked_until > now,
        )
    )
    latest = max((u for u in until.all() if u is not None), default=None)
    return math.ceil((latest - now).total_seconds()) if latest else 0


async def _bump(db: AsyncSession, key: str, now: datetime) -> LoginThrottle:
    """Count one failure for `key` atomically, and return the row (locked by the write until the commit)."""
    dialect = db.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    await db.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    await db.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=LoginThrottle.failures + 1)
        .execution_options(synchronize_session=False)
    )
    row = await db.scalar(
        select(LoginThrottle).where(LoginThrottle.key == key).execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def record_failure(db: AsyncSession, *, email: str, address: str, now: datetime) -> int:
    """Count a failed login; the seconds the account or address is now blocked for (0: none)."""
    await db.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.window_started_at < now - FORGET_AFTER)
        .execution_options(synchronize_session=False)
    )
    account = await _bump(db, account_key(email), now)
    if account.window_started_at < now - ACCOUNT_MEMORY:
        account.failures, account.window_started_at, account.blocked_until = 1, now, None
    beyond = account.failures - ACCOUNT_FREE_FAILURES
    if beyond > 0:
        block = min(timedelta(seconds=2 ** min(beyond, 20)), ACCOUNT_MAX_BLOCK)
        account.blocked_until = now + block

    address_row = await _bump(db, address_key(address), now)
    if address_row.window_started_at < now - ADDRESS_WINDOW:
        address_row.failures, address_row.window_started_at, address_row.blocked_until = 1, now, None
    if address_row.failures >= ADDRESS_BUDGET:
        address_row.blocked_until = address_row.window_started_at + ADDRESS_WINDOW
    await db.flush()
    blocked = [u for u in (account.blocked_until, address_row.blocked_until) if u is not None and u > now]
    return math.ceil((max(blocked) - now).total_seconds()) if blocked else 0


async def record_success(db: AsyncSession, *, email: str) -> None:
    """A right password clears the account's failures (not the address's: one's own account must not reset the
    budget for guessing others')."""
    await db.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.key == account_key(email))
        .execution_options(synchronize_session=False)
    )
