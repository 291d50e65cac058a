"""The glossary in the back office: coordinators add and edit the agency's own terms (glossary_terms) in piccolo-admin.

piccolo-admin writes rows directly, so its validators refuse what the glossary cannot use (a blank term, an unknown
category, a second entry for the same English) and its hooks keep the row as makeready.specs.glossary reads it: the
key (en_key) computed from the English, trimmed text, tidy alternatives, and who added the term.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.table import Table
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.hooks import Hook, HookType
from starlette.exceptions import HTTPException
from starlette.requests import Request

from makeready.i18n import _
from makeready.specs.glossary import (
    ALTERNATIVES_SEPARATOR,
    CATEGORIES,
    DEFAULT_CATEGORY,
    split_alternatives,
    term_key,
)

EN_KEY_HELP = "Filled in from the English term when the entry is saved."


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def check_glossary_term(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """Refuse a term without English or Chinese, with a category the glossary does not know, or whose English
    is already an entry (an agency term may override a starter term, but not another agency term)."""
    body = await _body(request)
    creating = request.method == "POST"
    for name, message in (
        ("en", _("Enter the English term.")),
        ("zh", _("Enter the Chinese term.")),
    ):
        if (creating or name in body) and not str(body.get(name) or "").strip():
            raise HTTPException(status_code=422, detail=message)
    category = str(body.get("category") or "").strip().lower()
    if category and category not in CATEGORIES:
        raise HTTPException(
            status_code=422,
            detail=_("Choose one of these categories: %(categories)s.")
            % {"categories": ", ".join(CATEGORIES)},
        )
    if "en" not in body:
        return
    table: type[Table] = piccolo_crud.table
    query = table.select(table._meta.primary_key).where(
        table._meta.get_column_by_name("en_key") == term_key(str(body["en"]))
    )
    if not creating:
        query = query.where(
            table._meta.primary_key != table._meta.primary_key.value_type(request.path_params["row_id"])
        )
    if await query.first().run():
        raise HTTPException(
            status_code=422,
            detail=_("“%(term)s” is already in the glossary: edit that entry instead.")
            % {"term": str(body["en"]).strip()},
        )


def _tidy(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name == "alternatives":
        return ALTERNATIVES_SEPARATOR.join(split_alternatives(value))
    if name == "category":
        return value.strip().lower() or DEFAULT_CATEGORY
    return value.strip()


TIDY_COLUMNS = ("en", "zh", "category", "alternatives", "note")


def _fill_on_save(row: Table, request: Request) -> Table:
    for name in TIDY_COLUMNS:
        setattr(row, name, _tidy(name, getattr(row, name, None)))
    row.en_key = term_key(row.en or "")  # type: ignore[attr-defined]
    user = getattr(getattr(request, "user", None), "user", None)
    if getattr(user, "id", None) is not None:
        row.created_by_id = user.id  # type: ignore[attr-defined, union-attr]
    return row


def _fill_on_patch(row_id: Any, values: dict[Column, Any]) -> dict[Column, Any]:
    by_name = {column._meta.name: column for column in values}
    for name in TIDY_COLUMNS:
        if name in by_name:
            values[by_name[name]] = _tidy(name, values[by_name[name]])
    # the key follows the English; sent on its own (the admin's form sends every field) it is ignored
    if "en_key" in by_name:
        del values[by_name["en_key"]]
    if "en" in by_name:
        table = by_name["en"]._meta.table
        values[table._meta.get_column_by_name("en_key")] = term_key(values[by_name["en"]] or "")
    # who added a term stays as it was
    if "created_by_id" in by_name:
        del values[by_name["created_by_id"]]
    return values


GLOSSARY_HOOKS = (
    Hook(hook_type=HookType.pre_save, callable=_fill_on_save),
    Hook(hook_type=HookType.pre_patch, callable=_fill_on_patch),
)
