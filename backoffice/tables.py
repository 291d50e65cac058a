"""Piccolo table classes generated from the SQLAlchemy metadata, so the back office never restates the schema.

SQLAlchemy (with Alembic) owns the tables; piccolo-admin needs Piccolo `Table` classes to drive them. Each class is
built at start from a `sqlalchemy.Table` by mapping column types one to one, bound to one Piccolo engine. Nothing
is cached at module level: every call builds a fresh set of classes for the engine it is given, so two apps on two
databases (SQLite and PostgreSQL in the tests) never share a class.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.engine.base import Engine
from piccolo.query.methods.count import Count
from piccolo.querystring import QueryString
from piccolo.table import Table, create_table_class
from piccolo_api.crud.endpoints import PiccoloCRUD
from starlette.exceptions import HTTPException
from starlette.requests import Request

from makeready.db.types import UTCDateTime

# The column a row is shown by in lists and foreign-key pickers, first match wins.
READABLE_CANDIDATES = ("name", "title", "name_en", "email", "original_name", "action")

_ON_DELETE = {
    "CASCADE": OnDelete.cascade,
    "RESTRICT": OnDelete.restrict,
    "SET NULL": OnDelete.set_null,
    "NO ACTION": OnDelete.no_action,
    "SET DEFAULT": OnDelete.set_default,
}


class SchemaMismatch(RuntimeError):
    """A Piccolo class names a column the SQLAlchemy table does not have, or a type we cannot map."""


def class_name(tablename: str) -> str:
    return "".join(part.capitalize() for part in tablename.split("_"))


def _python_default(column: sa.Column[Any]) -> tuple[bool, Any]:
    """(has_default, value) from a SQLAlchemy Python-side default; callables are returned as they are."""
    default = column.default
    if default is None:
        return False, None
    if not isinstance(default, sa.ColumnDefault):
        raise SchemaMismatch(f"{column.table.name}.{column.name}: unsupported default {default!r}")
    return True, default.arg


# The table whose row this request's version check has already bumped (see claim_version): its UPDATE then keeps
# the version it claimed instead of bumping it a second time. One request at a time per context.
_claimed: ContextVar[str | None] = ContextVar("backoffice_version_claim", default=None)

STALE = "Someone else changed this row since you opened it. Reload it and make your change again."


def _bump_version(tablename: str) -> Callable[[], QueryString]:
    def bump() -> QueryString:
        if _claimed.get() == tablename:
            _claimed.set(None)
            return QueryString('"version"')
        return QueryString('"version" + 1')

    return bump


def forget_claims() -> None:
    """Called at the start of each back-office request: a claim never outlives the request that made it."""
    _claimed.set(None)


async def claim_version(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """A stale edit is a 409, never a silent overwrite (DESIGN.md section 5), even when two edits race.

    The admin's form sends back the version it loaded. This validator (the last one of a PATCH) bumps the row's
    version only if it is still that one, in one compare-and-set UPDATE: of two edits that loaded the same
    version, exactly one claims it and the other is refused, on SQLite (one writer at a time) as on PostgreSQL
    (the second UPDATE waits for the first's row lock, then no longer matches). The claiming edit's own UPDATE
    then leaves the version as claimed. A checking SELECT followed by the UPDATE let both through."""
    try:
        data = await request.json()
    except ValueError:
        return
    if not isinstance(data, dict) or data.get("version") in (None, ""):
        return
    try:
        sent = int(data["version"])
    except (TypeError, ValueError):
        raise HTTPException(status_code=422, detail="The version must be a whole number.") from None
    table: type[Table] = piccolo_crud.table
    primary_key = table._meta.primary_key
    row_id = primary_key.value_type(request.path_params.get("row_id"))
    version = table._meta.get_column_by_name("version")
    claimed = (
        await table.update({version: QueryString('"version" + 1')}, use_auto_update=False)
        .where((primary_key == row_id) & (version == sent))
        .returning(primary_key)
        .run()
    )
    if claimed:
        _claimed.set(table._meta.tablename)
        return
    if await table.exists().where(primary_key == row_id).run():
        raise HTTPException(status_code=409, detail=STALE)


def _timestamp_default(column: sa.Column[Any], has: bool, value: Any) -> Any:
    if has and callable(value):
        # every callable timestamp default in our models is "now, in UTC"
        return TimestamptzNow()
    return None if column.nullable else TimestamptzNow()


def _enum_class(sa_type: sa.Enum) -> type[enum.Enum]:
    enum_cls = sa_type.enum_class
    if enum_cls is None:
        raise SchemaMismatch(f"string Enum without a Python enum class: {sa_type!r}")
    # SQLAlchemy stores member names, Piccolo's choices store values: they must be equal (DESIGN.md section 6).
    mismatched = [m.name for m in enum_cls if m.name != m.value]
    if mismatched:
        raise SchemaMismatch(f"{enum_cls.__name__}: names and values differ for {mismatched}")
    return enum_cls


def piccolo_column(column: sa.Column[Any], references: Mapping[str, type[Table]]) -> Column:
    """One Piccolo column equivalent to a SQLAlchemy column (type, nullability, default, foreign key)."""
    sa_type = column.type
    nullable = bool(column.nullable)
    has_default, value = _python_default(column)
    kwargs: dict[str, Any] = {"null": nullable, "unique": bool(column.unique)}
    if not nullable and not has_default:
        # piccolo-admin then asks for a value instead of silently saving its own type default ("" or 0)
        kwargs["required"] = True
    if has_default and not callable(value):
        kwargs["default"] = value.value if isinstance(value, enum.Enum) else value
    elif nullable and not has_default:
        kwargs["default"] = None
    elif has_default and value is not None and callable(value) and not isinstance(sa_type, UTCDateTime):
        kwargs["default"] = value(None)  # e.g. JSON `default=list`: Piccolo serialises the value it is given

    if column.foreign_keys:
        (fk,) = column.foreign_keys
        target: type[Table] | str | None = references.get(fk.column.table.name)
        if target is None and fk.column.table.name == column.table.name:
            target = "self"  # Piccolo's own spelling of a self-reference (spec revisions' based_on)
        if target is None:
            raise SchemaMismatch(
                f"{column.table.name}.{column.name}: {fk.column.table.name} was not generated"
            )
        kwargs.setdefault("default", None)
        on_delete = _ON_DELETE.get((fk.ondelete or "").upper(), OnDelete.no_action)
        return ForeignKey(references=target, on_delete=on_delete, **kwargs)

    if isinstance(sa_type, UTCDateTime):
        kwargs["default"] = _timestamp_default(column, has_default, value)
        if column.onupdate is not None:
            kwargs["auto_update"] = lambda: datetime.now(UTC)
        return Timestamptz(**kwargs)
    if isinstance(sa_type, sa.Enum):
        length = sa_type.length or max(len(m.value) for m in _enum_class(sa_type))
        return Varchar(length=length, choices=_enum_class(sa_type), **kwargs)
    if column.name == "version" and isinstance(sa_type, sa.Integer):
        # VersionedMixin: an admin write bumps the version like an ORM write, so SQLAlchemy's optimistic
        # locking still notices that the row changed under it
        kwargs["auto_update"] = _bump_version(column.table.name)
    if isinstance(sa_type, sa.BigInteger):
        return BigInt(**kwargs)
    if isinstance(sa_type, sa.Integer):
        return Integer(**kwargs)
    if isinstance(sa_type, sa.Boolean):
        return Boolean(**kwargs)
    if isinstance(sa_type, sa.Numeric):
        digits = (sa_type.precision, sa_type.scale or 0) if sa_type.precision is not None else None
        kwargs.setdefault("default", None)
        return Numeric(digits=digits, **kwargs)
    if isinstance(sa_type, sa.Date) and not isinstance(sa_type, sa.DateTime):
        kwargs.setdefault("default", None)
        return Date(**kwargs)
    if isinstance(sa_type, sa.JSON):
        return JSON(**kwargs)
    if isinstance(sa_type, sa.Text):
        return Text(**kwargs)
    if isinstance(sa_type, sa.String):
        return Varchar(length=sa_type.length or 255, **kwargs)
    raise SchemaMismatch(f"{column.table.name}.{column.name}: no Piccolo type for {sa_type!r}")


# -- lists of big tables -------------------------------------------------------------------------------------------
# piccolo-admin asks for a table's row count before each page of its list, and pages by OFFSET. At a million rows
# an exact count(*) took 0.9 s on PostgreSQL (audit events) and a deep page walked half the table (12.9 s).

ESTIMATE_ABOVE = 100_000
"""An unfiltered count of a PostgreSQL table whose planner estimate is at least this is answered with the estimate
(pg_class.reltuples, kept by autovacuum's ANALYZE); below it the exact count is cheap enough."""
MAX_LIST_OFFSET = 10_000
"""The deepest row a list page may start at: past it, a filter or the other sort order reaches the rows."""
DEEP_PAGE_MESSAGE = (
    "Pages past row {limit:,} are not shown: filter the list, or sort it the other way, to reach older rows."
)


class EstimatedCount(Count):
    """`Table.count()` of the back office's tables: without filters, a big PostgreSQL table is counted from the
    planner's estimate (piccolo_api's count endpoint adds the list's filters with `.where`, so a filtered count
    stays exact). Counting with a column or DISTINCT is always exact."""

    __slots__ = ()

    async def run(self, node: str | None = None, in_pool: bool = True) -> Any:
        if self.where_delegate._where is None and self.column is None and not self._distinct:
            estimate = await estimated_rows(self.table)
            if estimate is not None and estimate >= ESTIMATE_ABOVE:
                return estimate
        return await super().run(node=node, in_pool=in_pool)


def _estimated_count(
    cls: type[Table], column: Column | None = None, distinct: Sequence[Column] | None = None
) -> Count:
    return EstimatedCount(table=cls, column=column, distinct=distinct)


async def estimated_rows(table: type[Table]) -> int | None:
    """PostgreSQL's estimate of the table's rows, or None (SQLite keeps none; a table never analyzed has -1)."""
    if table._meta.db.engine_type != "postgres":
        return None
    rows = await table.raw(
        "SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass({})", table._meta.tablename
    )
    estimate = int(rows[0]["n"]) if rows and rows[0]["n"] is not None else -1
    return estimate if estimate >= 0 else None


def refuse_deep_pages(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """piccolo_api validator of list requests: no page may start past MAX_LIST_OFFSET rows (400)."""
    try:
        page = int(request.query_params.get("__page", "1"))
        size = int(request.query_params.get("__page_size", "0")) or piccolo_crud.page_size
    except ValueError:
        return  # piccolo_api answers a malformed page or page size itself (400)
    if (page - 1) * size > MAX_LIST_OFFSET:
        raise HTTPException(status_code=400, detail=DEEP_PAGE_MESSAGE.format(limit=MAX_LIST_OFFSET))


def _readable(table: sa.Table) -> Callable[..., Readable]:
    name = next((c for c in READABLE_CANDIDATES if c in table.c), "id")

    def get_readable(cls: type[Table]) -> Readable:
        return Readable(template="%s", columns=[cls._meta.get_column_by_name(name)])

    return classmethod(get_readable)  # type: ignore[return-value]


def _declared_db_columns(bases: Iterable[type]) -> set[str]:
    """Database column names that hand-written mixins among `bases` already map (Piccolo's own tables, such as
    BaseUser, are not counted: their columns are what the generated ones replace)."""
    declared: set[str] = set()
    for base in bases:
        for klass in base.__mro__:
            if issubclass(klass, Table):
                continue
            for attr, value in vars(klass).items():
                if isinstance(value, Column):
                    declared.add(value._meta._db_column_name or attr)
    return declared


def generate_table(
    table: sa.Table,
    engine: Engine,
    references: Mapping[str, type[Table]],
    *,
    bases: tuple[type, ...] = (Table,),
    exclude: Iterable[str] = (),
    name: str | None = None,
    extra_members: Mapping[str, Any] | None = None,
) -> type[Table]:
    """A Piccolo class for `table`. Columns a mixin declares (by database column name) and `exclude` are skipped;
    the primary key `id` becomes Piccolo's default Serial."""
    skip = set(exclude) | _declared_db_columns(bases)
    members: dict[str, Any] = {
        "get_readable": _readable(table),
        "count": classmethod(_estimated_count),
        **(extra_members or {}),
    }
    for column in table.columns:
        if column.primary_key:
            if column.name != "id" or not isinstance(column.type, sa.Integer):
                raise SchemaMismatch(f"{table.name}: only an integer `id` primary key is supported")
            continue
        if column.name in skip:
            continue
        members[column.name] = piccolo_column(column, references)
    cls = create_table_class(
        class_name=name or class_name(table.name),
        bases=bases,  # type: ignore[arg-type]
        class_kwargs={"tablename": table.name, "db": engine},
        class_members=members,
    )
    check_columns(cls, table)
    return cls


def check_columns(cls: type[Table], table: sa.Table) -> None:
    """Refuse a class that would select a column the database table does not have."""
    missing = [c._meta.db_column_name for c in cls._meta.columns if c._meta.db_column_name not in table.c]
    if missing:
        raise SchemaMismatch(f"{cls.__name__} maps columns missing from {table.name}: {missing}")


def generate_tables(
    metadata: sa.MetaData,
    engine: Engine,
    *,
    exclude_columns: Mapping[str, Iterable[str]] | None = None,
    skip_tables: Iterable[str] = (),
) -> dict[str, type[Table]]:
    """A Piccolo class per table of `metadata`, in dependency order so foreign keys point at generated classes."""
    exclude_columns = exclude_columns or {}
    skip = set(skip_tables)
    classes: dict[str, type[Table]] = {}
    for table in metadata.sorted_tables:
        if table.name in skip:
            continue
        classes[table.name] = generate_table(
            table, engine, classes, exclude=exclude_columns.get(table.name, ())
        )
    return classes
