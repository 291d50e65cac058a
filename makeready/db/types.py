"""Column types shared by every model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class _SQLiteUTCText(sqlite.DATETIME):
    """SQLite's DATETIME, read with `datetime.fromisoformat` (C code, about a tenth of the regular expression
    SQLAlchemy's SQLite DATETIME matches each value with: 0.2 instead of 2 microseconds a value)."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value)

        return process


# Piccolo writes SQLite timestamps as ISO strings with "+00:00"; we store the same shape and read both
# "T" and " " separators (fromisoformat reads either, with or without an offset and fraction), so either ORM
# can read what the other wrote.
_SQLITE_UTC = _SQLiteUTCText(
    storage_format=(
        "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d+00:00"
    ),
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLITE_UTC)
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.driver == "asyncpg":
            # asyncpg reads a timestamptz as an aware datetime in UTC already: no Python call per value (a page
            # reads a few hundred)
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # the common case on both databases: nothing to do
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_frozen_at: ContextVar[datetime | None] = ContextVar("frozen_clock", default=None)


def utcnow() -> datetime:
    """Now, in UTC; inside `frozen_clock(at)`, that moment instead."""
    frozen = _frozen_at.get()
    return frozen if frozen is not None else datetime.now(UTC)


@contextmanager
def frozen_clock(at: datetime) -> Iterator[None]:
    """Make `utcnow()` (so every service, audit event and default column) see `at` inside the block, in this task
    only (a ContextVar): the demo tells a story that happened weeks ago by living through it at those moments."""
    if at.tzinfo is None:
        raise ValueError("frozen_clock needs a timezone-aware datetime")
    token = _frozen_at.set(at.astimezone(UTC))
    try:
        yield
    finally:
        _frozen_at.reset(token)
