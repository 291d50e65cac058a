"""The audit chain's head anchored outside the table: `makeready audit checkpoint` signs it (HMAC under a key
derived from SECRET_KEY) and `makeready audit verify` fails when the newest events are removed after a checkpoint,
or the tail is rewritten with every hash recomputed, or a checkpoint is altered to match."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.audit import service as audit_service
from makeready.audit.models import AuditCheckpoint, AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from tests.test_cli import PASSWORD, cli

SECRET = "checkpoint-test-secret-0123456789abcdef0123456789"


async def users(db_url: str, *emails: str) -> None:
    for email in emails:
        result = await cli(db_url, "users", "create", "--email", email, "--password", PASSWORD)
        assert result.exit_code == 0, result.output


async def verify(db_url: str) -> Any:
    return await cli(db_url, "audit", "verify", SECRET_KEY=SECRET)


async def checkpoint(db_url: str) -> str:
    result = await cli(db_url, "audit", "checkpoint", SECRET_KEY=SECRET)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


async def test_removing_the_newest_events_after_a_checkpoint_fails_naming_it(
    db_url: str, engine: AsyncEngine
) -> None:
    await users(db_url, "a@x.example", "b@x.example", "c@x.example")
    line = await checkpoint(db_url)
    assert "audit checkpoint seq=3 head=" in line
    assert "hmac=" in line
    ok = await verify(db_url)
    assert ok.exit_code == 0, ok.output

    async with engine.begin() as conn:  # what a truncated tail looks like: the chain before it still links
        await conn.execute(text("DELETE FROM audit_events WHERE seq >= 2"))
    broken = await verify(db_url)
    assert broken.exit_code == 1
    assert "event #3" in broken.stderr
    assert "is missing: the newest events were removed" in broken.stderr


async def test_a_consistently_rewritten_tail_fails_and_a_matching_checkpoint_fails_on_its_hmac(
    db_url: str, engine: AsyncEngine
) -> None:
    await users(db_url, "a@x.example", "b@x.example", "c@x.example")
    await checkpoint(db_url)

    # rewrite event 2 and recompute the hashes of 2 and 3: the chain itself verifies again
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
            events[1].reason = "nothing happened here"
            prev = events[0].hash
            for event in events[1:]:
                event.prev_hash = prev
                event.hash = audit_service._digest(event)
                prev = event.hash
            new_head = prev
    async with make_sessionmaker(engine)() as session:
        assert (await audit_service.verify(session)).ok  # undetectable without the checkpoint

    broken = await verify(db_url)
    assert broken.exit_code == 1
    assert "event #3 differs from the checkpoint" in broken.stderr
    assert "tail was rewritten" in broken.stderr

    # and pointing the checkpoint at the new head does not help: its HMAC no longer matches
    async with engine.begin() as conn:
        await conn.execute(update(AuditCheckpoint).values(head_hash=new_head))
    forged = await verify(db_url)
    assert forged.exit_code == 1
    assert "does not carry a valid HMAC" in forged.stderr


async def test_a_checkpoint_is_written_once_per_head_and_verifies_with_the_key_only(db_url: str) -> None:
    await users(db_url, "a@x.example")
    first = await checkpoint(db_url)
    assert await checkpoint(db_url) == first  # the head has not moved: no new row
    await users(db_url, "b@x.example")
    assert "seq=2" in await checkpoint(db_url)
    assert (await verify(db_url)).exit_code == 0
    other_key = await cli(db_url, "audit", "verify", SECRET_KEY="another-secret-0123456789abcdef0123456789")
    assert other_key.exit_code == 1
    assert "does not carry a valid HMAC" in other_key.stderr
