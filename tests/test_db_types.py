"""UTCDateTime: on SQLite every shape either ORM writes reads back as the same aware UTC instant; on asyncpg the
driver already gives aware UTC values."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from makeready.db.types import UTCDateTime

metadata = MetaData()
stamps = Table("stamps", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))


@pytest.fixture
def engine():  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-12-04 05:06:07.123456+00:00", datetime(2026, 12, 4, 5, 6, 7, 123456, tzinfo=UTC)),  # ours
        ("2026-12-04T05:06:07.123456+00:00", datetime(2026, 12, 4, 5, 6, 7, 123456, tzinfo=UTC)),  # piccolo's
        ("2026-12-04T05:06:07", datetime(2026, 12, 4, 5, 6, 7, tzinfo=UTC)),  # no fraction, no offset: UTC
        ("2026-12-04 05:06:07.5", datetime(2026, 12, 4, 5, 6, 7, 500000, tzinfo=UTC)),  # a short fraction
        (
            "2026-12-04 13:06:07+08:00",
            datetime(2026, 12, 4, 5, 6, 7, tzinfo=UTC),
        ),  # an offset: the same instant
    ],
)
def test_sqlite_reads_every_shape_as_aware_utc(engine, stored: str, expected: datetime) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO stamps (id, at) VALUES (1, :at)"), {"at": stored})
        value = conn.scalar(select(stamps.c.at))
    assert value == expected
    assert value.tzinfo is UTC


def test_sqlite_round_trip_stores_utc_and_refuses_naive(engine) -> None:  # type: ignore[no-untyped-def]
    shanghai = datetime(2026, 12, 4, 13, 6, 7, 42, tzinfo=timezone(timedelta(hours=8)))
    with engine.begin() as conn:
        conn.execute(insert(stamps), {"id": 1, "at": shanghai})
        assert conn.scalar(text("SELECT at FROM stamps")) == "2026-12-04 05:06:07.000042+00:00"
        assert conn.scalar(select(stamps.c.at)) == shanghai
        with pytest.raises(Exception, match="naive datetime"):
            conn.execute(insert(stamps), {"id": 2, "at": datetime(2026, 12, 4, 5, 6, 7)})
        assert conn.scalar(select(stamps.c.at).where(stamps.c.id == 1)).tzinfo is UTC


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL (PostgreSQL)")
async def test_asyncpg_reads_aware_utc_whatever_the_session_time_zone() -> None:
    """On asyncpg the type reads values as the driver gives them (no Python call per value): asyncpg itself gives
    a timestamptz as an aware UTC datetime, even when the session's time zone is not UTC."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    url = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(url)
    shanghai = datetime(2026, 12, 4, 13, 6, 7, 42, tzinfo=timezone(timedelta(hours=8)))
    try:
        async with engine.connect() as conn:
            assert UTCDateTime().result_processor(conn.dialect, None) is None
            await conn.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
            await conn.execute(text("CREATE TEMPORARY TABLE stamps (id integer PRIMARY KEY, at timestamptz)"))
            await conn.execute(insert(stamps), {"id": 1, "at": shanghai})
            value = await conn.scalar(select(stamps.c.at))
    finally:
        await engine.dispose()
    assert value == shanghai
    assert value.tzinfo is UTC
