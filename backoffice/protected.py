"""Security columns in the back office: what a raw table edit may never do, and the services the rest goes through.

piccolo-admin writes rows with plain UPDATEs. For the tables that decide who may do what (users, API tokens), a
raw edit could revive a revoked token, promote a user or rewind a password's mark, without an audit event. Here:

- `frozen_except(allowed)`: an edit may change only the `allowed` columns; every other column it sends must be the
  row's current value (the admin's form sends all of them back). Compared by value, so a timestamp sent as ISO text
  equals the datetime in the row.
- `revocation_only`: an API token's only edit is its revocation (revoked_at from empty to a time), never back.
- `through_service` hooks: the change the validators let through is made by the accounts service, which writes
  the audit event (and ends sessions when access is taken away); piccolo's own UPDATE that follows then writes the
  same values again.

Memberships, invitations and the billing tables are read-only in the back office (backoffice.config).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from piccolo.table import Table
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.hooks import Hook, HookType
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from backoffice.guards import Validator
from makeready.accounts import service as accounts
from makeready.audit import service as audit
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.errors import DomainError

IGNORED = frozenset({"id", "version", "updated_at"})
"""Sent back by the form but never written from the body: the key, and what piccolo's auto_update sets."""

REVOCATION_ONLY = (
    "An API token can only be revoked here (set revoked_at): a revoked token stays revoked, and a token's owner, "
    "name and dates are not edited."
)
USER_COLUMNS = (
    "Only a user's email, name, language and access (active, coordinator, agency admin) are changed here; "
    "passwords are changed by their owner (or with `makeready users`), and dates are kept by the system."
)


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _current_row(crud: PiccoloCRUD, request: Request) -> dict[str, Any] | None:
    table: type[Table] = crud.table
    primary_key = table._meta.primary_key
    row_id = primary_key.value_type(request.path_params.get("row_id"))
    row: dict[str, Any] | None = await table.select().where(primary_key == row_id).first().run()
    return row


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def same_value(sent: Any, current: Any) -> bool:
    """Whether a value from a JSON body is the row's value (timestamps as ISO text, numbers as text...)."""
    if sent is None or current is None:
        return sent is None and current is None
    if isinstance(current, datetime) or (isinstance(current, str) and _as_datetime(current) is not None):
        a, b = _as_datetime(sent), _as_datetime(current)
        return a is not None and b is not None and a == b
    if isinstance(current, bool) or isinstance(sent, bool):
        return str(sent).lower() == str(current).lower()
    if isinstance(current, int | float | Decimal):
        try:
            return Decimal(str(sent)) == Decimal(str(current))
        except ArithmeticError:
            return False
    if isinstance(current, date):
        return str(sent) == current.isoformat()
    return str(sent) == str(current)


def frozen_except(allowed: Iterable[str], message: str) -> Validator:
    """Refuse an edit (422) that changes any column but `allowed`."""
    free = frozenset(allowed) | IGNORED

    async def validator(piccolo_crud: PiccoloCRUD, request: Request) -> None:
        body = await _body(request)
        current = await _current_row(piccolo_crud, request)
        if current is None:
            return  # piccolo answers 404
        for name, sent in body.items():
            if name in free or name not in current:
                continue
            if not same_value(sent, current[name]):
                raise HTTPException(status_code=422, detail=message)

    return validator


async def revocation_only(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """revoked_at may go from empty to a time, and nowhere else."""
    body = await _body(request)
    if "revoked_at" not in body:
        return
    current = await _current_row(piccolo_crud, request)
    if current is None:
        return
    was, sent = current["revoked_at"], body["revoked_at"]
    if was is None and sent not in (None, "") and _as_datetime(sent) is not None:
        return
    if was is not None and sent is not None and same_value(sent, was):
        return
    if was is None and sent in (None, ""):
        return
    raise HTTPException(status_code=422, detail=REVOCATION_ONLY)


Change = Callable[[AsyncSession, int, int, dict[str, Any]], Awaitable[None]]


def through_service(engine: AsyncEngine, change: Change, fields: Iterable[str]) -> Hook:
    """A pre-patch hook that makes the edit of `fields` through a service, in a transaction of its own that also
    writes the audit event. A refusal from the service is the edit's 422."""
    names = frozenset(fields)

    async def hook(row_id: Any, values: dict[Any, Any], request: Request) -> dict[Any, Any]:
        changes = {column._meta.name: value for column, value in values.items() if column._meta.name in names}
        if changes:
            try:
                async with unit_of_work(Scope.system(), engine=engine) as session:
                    await change(session, int(row_id), int(request.user.user.id), changes)
            except DomainError as exc:
                raise HTTPException(status_code=exc.status_code, detail=exc.message) from None
        return values

    return Hook(hook_type=HookType.pre_patch, callable=hook)


async def _update_user(session: AsyncSession, user_id: int, actor_id: int, changes: dict[str, Any]) -> None:
    await accounts.update_user(
        session, user_id=user_id, actor_id=actor_id, changes=changes, reason="back office"
    )


async def _revoke_token(session: AsyncSession, token_id: int, actor_id: int, changes: dict[str, Any]) -> None:
    if changes.get("revoked_at") is not None:
        await accounts.revoke_token_as_staff(
            session, token_id=token_id, actor_id=actor_id, reason="back office"
        )


def user_hooks(engine: AsyncEngine) -> list[Hook]:
    return [through_service(engine, _update_user, accounts.USER_FIELDS)]


def token_hooks(engine: AsyncEngine) -> list[Hook]:
    return [through_service(engine, _revoke_token, ("revoked_at",))]


# -- every other raw write is recorded ---------------------------------------------------------------------------


async def _record(
    engine: AsyncEngine,
    request: Request,
    *,
    action: str,
    table: str,
    row_id: int | None,
    row: dict[str, Any] | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    row = row or {}
    # a deleted organization or project cannot be the event's org or project: the event would hold it in place
    itself = None if action == "backoffice.deleted" else row_id
    org_id = row.get("org_id") if table != "organizations" else itself
    project_id = row.get("project_id") if table != "projects" else itself
    async with unit_of_work(Scope.system(), engine=engine) as session:
        await audit.record(
            session,
            actor_id=int(request.user.user.id),
            action=action,
            subject_type=table,
            subject_id=row_id,
            org_id=org_id if isinstance(org_id, int) else None,
            project_id=project_id if isinstance(project_id, int) else None,
            before=before,
            after=after,
            reason="back office",
        )


def audit_hooks(engine: AsyncEngine, cls: type[Table]) -> list[Hook]:
    """Hooks that record each raw create, edit and delete of `cls`'s table in the audit trail, with the values
    before and after (only the columns that change). piccolo_api has no post-save hook, so the event is written
    just before the row, once every validator has accepted the write."""
    table = cls._meta.tablename
    primary_key = cls._meta.primary_key

    async def current(row_id: Any) -> dict[str, Any] | None:
        row: dict[str, Any] | None = (
            await cls.select().where(primary_key == primary_key.value_type(row_id)).first().run()
        )
        return row

    async def on_create(row: Table, request: Request) -> Table:
        values = {
            name: value for name, value in row.to_dict().items() if name not in IGNORED and value is not None
        }
        await _record(
            engine, request, action="backoffice.created", table=table, row_id=None, row=values, after=values
        )
        return row

    async def on_patch(row_id: Any, values: dict[Any, Any], request: Request) -> dict[Any, Any]:
        row = await current(row_id)
        if row is None:
            return values
        before, after = {}, {}
        for column, value in values.items():
            name = column._meta.name
            if name in IGNORED or same_value(value, row.get(name)):
                continue
            before[name], after[name] = row.get(name), value
        if after:
            await _record(
                engine,
                request,
                action="backoffice.edited",
                table=table,
                row_id=int(row_id),
                row=row,
                before=before,
                after=after,
            )
        return values

    async def on_delete(row_id: Any, request: Request) -> None:
        row = await current(row_id)
        if row is not None:
            await _record(
                engine,
                request,
                action="backoffice.deleted",
                table=table,
                row_id=int(row_id),
                row=row,
                before=row,
            )

    return [
        Hook(hook_type=HookType.pre_save, callable=on_create),
        Hook(hook_type=HookType.pre_patch, callable=on_patch),
        Hook(hook_type=HookType.pre_delete, callable=on_delete),
    ]
