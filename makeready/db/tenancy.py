"""Tenancy in the data layer: every ORM read and write of client data is filtered by the session's scope.

A session carries a `Scope` in `session.info["scope"]`. Every ORM SELECT, UPDATE and DELETE it runs is given a
loader criterion that keeps only rows of the scope's organizations, so a handler cannot forget the filter, and
a flush refuses to write a row of another organization. A session without a scope refuses ORM statements
(fail closed): CLI commands and jobs state `Scope.system()` on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from makeready.db.base import TenantOwned, TenantRoot
from makeready.db.ids import among


class TenancyError(RuntimeError):
    """A session without a scope, or a write outside it: a programming error, never a user error."""


@dataclass(frozen=True)
class Scope:
    """Who is asking: the organizations whose rows they may see, or everything for staff and the system."""

    user_id: int | None
    org_ids: frozenset[int] = field(default_factory=frozenset)
    unrestricted: bool = False

    @classmethod
    def anonymous(cls) -> Scope:
        return cls(user_id=None)

    @classmethod
    def system(cls) -> Scope:
        return cls(user_id=None, unrestricted=True)

    @classmethod
    def staff(cls, user_id: int) -> Scope:
        return cls(user_id=user_id, unrestricted=True)

    @classmethod
    def member(cls, user_id: int, org_ids: set[int] | frozenset[int]) -> Scope:
        return cls(user_id=user_id, org_ids=frozenset(org_ids))

    def allows(self, org_id: int | None) -> bool:
        return self.unrestricted or (org_id is not None and org_id in self.org_ids)


def set_scope(session: Any, scope: Scope) -> None:
    """Attach a scope to a Session or AsyncSession."""
    target = getattr(session, "sync_session", session)
    target.info["scope"] = scope


def get_scope(session: Any) -> Scope:
    target = getattr(session, "sync_session", session)
    scope = target.info.get("scope")
    if scope is None:
        raise TenancyError("this database session has no tenancy scope")
    return scope


# One pair of criteria per dialect for every scope: the organization ids are a bound parameter that each
# statement's execution supplies (`_scope_statement`), so the options are built once and a statement's cache key is
# the same whoever runs it. `track_closure_variables=False` is safe because the lambdas close over nothing. On
# PostgreSQL the ids go as one array (`db.ids.among`): an expanding IN was rendered again into the SQL of every
# statement a brand ran, for every entity it joins (about a tenth of the project page's CPU). Each dialect has its
# own lambdas: with closure variables untracked, one lambda closing over the dialect would share a cache key.
_ORG_IDS = "tenancy_org_ids"
_CRITERIA: dict[str, tuple[Any, ...]] = {}


def _criteria(dialect: str) -> tuple[Any, ...]:
    found = _CRITERIA.get(dialect)
    if found is None:
        if dialect == "postgresql":
            found = _pair(
                lambda cls: among(cls.org_id, "tenancy_org_ids", "postgresql"),
                lambda cls: among(cls.id, "tenancy_org_ids", "postgresql"),
            )
        else:
            found = _pair(
                lambda cls: among(cls.org_id, "tenancy_org_ids", "sqlite"),
                lambda cls: among(cls.id, "tenancy_org_ids", "sqlite"),
            )
        _CRITERIA[dialect] = found
    return found


def _pair(owned: Any, root: Any) -> tuple[Any, ...]:
    """The criteria on rows an organization owns (`owned`) and on the organizations themselves (`root`)."""
    return (
        with_loader_criteria(TenantOwned, owned, include_aliases=True, track_closure_variables=False),
        with_loader_criteria(_root_table(), root, include_aliases=True, track_closure_variables=False),
    )


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("tenancy_bypass"):
        # internal reads that must see every row (the audit chain head); never used for client data
        return
    scope = state.session.info.get("scope")
    if state.is_column_load or state.is_relationship_load:
        # lazy and selectin loads of an already-filtered parent carry the criteria of the original statement,
        # and with them its bound parameter, whose value this execution must supply too
        if scope is not None and not scope.unrestricted:
            _supply_ids(state, scope)
        return
    if scope is None:
        raise TenancyError("ORM statement on a session without a tenancy scope")
    if scope.unrestricted:
        return
    state.statement = _scoped(state.statement, state.session.get_bind().dialect.name)
    _supply_ids(state, scope)


# A statement built once and run again (most of ours are) is scoped once per dialect: `options()` makes a new
# statement, whose cache key SQLAlchemy computes again on each execution (it memoizes a key per statement object),
# about a tenth of a brand page's CPU. The scoped copy is kept while the statement lives.
_SCOPED: dict[str, WeakKeyDictionary[Any, Any]] = {}


def _scoped(statement: Any, dialect: str) -> Any:
    kept = _SCOPED.setdefault(dialect, WeakKeyDictionary())
    scoped = kept.get(statement)
    if scoped is None:
        scoped = kept[statement] = statement.options(*_criteria(dialect))
    return scoped


def _supply_ids(state: ORMExecuteState, scope: Scope) -> None:
    params = state.parameters
    ids = sorted(scope.org_ids)
    if isinstance(params, dict):
        state.parameters = {**params, _ORG_IDS: ids}
    elif isinstance(params, list | tuple) and params:
        # executemany (a bulk UPDATE by primary keys): every parameter set gets the ids
        state.parameters = [{**p, _ORG_IDS: ids} for p in params]
    else:
        state.parameters = {_ORG_IDS: ids}


def _root_table() -> type[Any]:
    """The organization model (the one mapped TenantRoot), found without importing the accounts domain."""
    roots = TenantRoot.__subclasses__()
    if len(roots) != 1:
        raise TenancyError(f"expected one TenantRoot model, found {[r.__name__ for r in roots]}")
    return roots[0]


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    scope = session.info.get("scope")
    touched = [*session.new, *session.dirty, *session.deleted]
    if not touched:
        return
    if scope is None:
        raise TenancyError("flush on a session without a tenancy scope")
    if scope.unrestricted:
        return
    for obj in touched:
        org_id = getattr(obj, "id", None) if isinstance(obj, TenantRoot) else getattr(obj, "org_id", None)
        if isinstance(obj, TenantOwned | TenantRoot) and not scope.allows(org_id):
            raise TenancyError(f"write to {type(obj).__name__} outside the caller's organizations")
