"""A list of ids bound to a statement built once: `among(column, "ids", dialect)`.

SQLAlchemy renders an expanding `IN` (`bindparam(..., expanding=True)`) anew on every execution, one parameter per
id (a board page's hundred projects, in several statements), and asyncpg prepares one statement per length of the
list. On PostgreSQL the ids go as one array parameter instead (`column = ANY(:ids)`): the statement's text is the
same whatever the list. SQLite has no arrays, so it keeps the expanding `IN`. The statement depends on the dialect:
cache it per dialect name (`session.get_bind().dialect.name`, `dialect_of`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


def among(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the integers bound as `name` (a list) when the statement runs."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


def dialect_of(session: AsyncSession) -> str:
    """The name of the dialect the session's statements run on ("postgresql", "sqlite")."""
    return session.get_bind().dialect.name
