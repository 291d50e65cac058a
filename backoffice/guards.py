"""Rules piccolo-admin's generic CRUD must not break, as piccolo_api validators and hooks.

Validators run before PiccoloCRUD touches the database and may refuse with an HTTP error whose `detail` the admin
shows. They are the only safe place for refusals: hooks run outside the save's transaction and there is no
post-save hook (DESIGN.md section 6), so hooks here only normalise values that validators already accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from piccolo.table import Table
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.hooks import Hook, HookType
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request

from makeready.accounts.service import normalize_email
from makeready.errors import DomainError
from makeready.kernel.stale import CONCURRENT_MESSAGE

Validator = Callable[[PiccoloCRUD, Request], Coroutine[Any, Any, None] | None]

WRITE_METHODS = ("post_single", "put_single", "patch_single", "delete_single", "delete_all")
# piccolo_api runs no hooks on PUT and the admin's own pages only PATCH, so PUT is refused everywhere
PUT_MESSAGE = "Rows are edited with PATCH here."


async def _body(request: Request) -> dict[str, Any]:
    """The JSON body PiccoloCRUD already read (Starlette caches it on the request)."""
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _current(crud: PiccoloCRUD, request: Request, column: str) -> Any:
    table: type[Table] = crud.table
    primary_key = table._meta.primary_key
    row_id = primary_key.value_type(request.path_params.get("row_id"))  # asyncpg wants an int, not "3"
    col = table._meta.get_column_by_name(column)
    row = await table.select(col.as_alias("value")).where(primary_key == row_id).first().run()
    return row["value"] if row else None


def refuse(status_code: int, message: str) -> Validator:
    def validator(piccolo_crud: PiccoloCRUD, request: Request) -> None:
        raise HTTPException(status_code=status_code, detail=message)

    return validator


def unchanged_columns(columns: Mapping[str, str]) -> Validator:
    """Refuse raw changes of these columns (workflow state, ownership): a new row must start with the column's
    default, and an edit may send the current value back (the admin's form sends every field) but no other."""

    async def validator(piccolo_crud: PiccoloCRUD, request: Request) -> None:
        body = await _body(request)
        for name, message in columns.items():
            if name not in body:
                continue
            sent = body[name]
            if request.method == "POST":
                column = piccolo_crud.table._meta.get_column_by_name(name)
                allowed = column.get_default_value()
            else:
                allowed = await _current(piccolo_crud, request, name)
            if str(sent) != str(allowed):
                raise HTTPException(status_code=422, detail=message)

    return validator


async def check_version(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """A stale edit is a 409, never a silent overwrite (DESIGN.md section 5). The admin's form sends back the
    version it loaded; the write itself bumps it (see backoffice.tables)."""
    body = await _body(request)
    if "version" not in body or body["version"] in (None, ""):
        return
    current = await _current(piccolo_crud, request, "version")
    try:
        sent = int(body["version"])
    except (TypeError, ValueError):
        raise HTTPException(status_code=422, detail="The version must be a whole number.") from None
    if current is not None and sent != int(current):
        raise HTTPException(status_code=409, detail=CONCURRENT_MESSAGE % {"subject": "row"})


def known_sort_columns(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """piccolo_api answers `__order=<unknown column>` with a 500 (its ValueError escapes); make it a 400."""
    for value in request.query_params.getlist("__order"):
        for name in value.split(","):
            name = name.strip().lstrip("-")
            try:
                piccolo_crud._get_column(column_name=name)
            except ValueError:
                raise HTTPException(
                    status_code=400, detail=f"There is no column {name!r} to sort by."
                ) from None


def admins_only(message: str) -> Validator:
    """Only agency admins (users.is_admin, Piccolo's `superuser`) may write."""

    def validator(piccolo_crud: PiccoloCRUD, request: Request) -> None:
        if not getattr(request.user.user, "superuser", False):
            raise HTTPException(status_code=403, detail=message)

    return validator


async def valid_email(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    body = await _body(request)
    if "email" in body:
        try:
            normalize_email(str(body["email"] or ""))
        except DomainError as exc:
            raise HTTPException(status_code=422, detail=exc.message) from None


def _normalize_user_patch(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
    """Keep user rows as the accounts service writes them: emails stripped and lower-cased (the portal looks
    them up so), and every agency admin also staff. Keys are Piccolo columns."""
    by_name = {column._meta.name: column for column in values}
    if "email" in by_name and isinstance(values[by_name["email"]], str):
        values[by_name["email"]] = normalize_email(values[by_name["email"]])
    if "is_admin" in by_name and values[by_name["is_admin"]]:
        table = by_name["is_admin"]._meta.table
        values[table._meta.get_column_by_name("is_staff")] = True
    return values


USER_HOOKS = [Hook(hook_type=HookType.pre_patch, callable=_normalize_user_patch)]


def combine(*parts: Mapping[str, list[Validator]]) -> Validators | None:
    """One Validators object from several {method: [validators]} maps (piccolo_api takes exactly one)."""
    merged: dict[str, list[Validator]] = {}
    for part in parts:
        for method, validators in part.items():
            merged.setdefault(method, []).extend(validators)
    return Validators(**merged) if merged else None  # type: ignore[arg-type]
