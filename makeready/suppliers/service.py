"""The supplier directory and supplier selection: the core services behind the coordinator's supplier pages.

Suppliers are the agency's own directory, shared by all its clients, so only staff (and the system) read or change
them. Quotes belong to a client's project (tenant-owned rows) but are agency-internal: brands never see supplier
costs. Events about quotes are therefore audited without an organization (staff-only, like every event about no
client), and only the selection itself - which supplier and why, never a price - is recorded on the project's
organization, where the brand's decision log shows it.

Every function is keyword-only after the session, runs in the caller's transaction, and writes its audit event in
that same transaction. Writes take the acting staff `User`; stale writes (an `expected_version` that is no longer
current) raise `Conflict` carrying the current row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, column, exists, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.accounts.service import normalize_email
from makeready.audit import service as audit
from makeready.db.types import utcnow
from makeready.errors import Conflict, DomainError, NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.kernel.stale import CONCURRENT_MESSAGE
from makeready.projects.models import Project
from makeready.suppliers.common import MAX_QUANTITY as MAX_QUANTITY  # the supplier form reads it here
from makeready.suppliers.common import parse_quantity
from makeready.suppliers.common import require_staff as _require_staff
from makeready.suppliers.common import require_staff_session as _require_staff_session

# the quotes, the comparison and the track record live in their own modules; the supplier pages reach them here
from makeready.suppliers.comparison import (  # noqa: F401
    Comparison,
    QuoteRow,
    applicable_break,
    compare_quotes,
    landed_cost,
)
from makeready.suppliers.models import Quote, Supplier
from makeready.suppliers.quotes import (  # noqa: F401
    OPEN_QUOTE_STATES,
    QUOTE,
    clean_price_breaks,
    decline_quote,
    get_project,
    get_quote,
    list_quotes,
    record_quote,
    request_quotes,
    requestable_suppliers,
    select_supplier,
)

# -- the directory ---------------------------------------------------------------------------------------------------

TAG_FIELDS = ("capabilities", "processes", "certifications")
TEXT_LIMITS = {
    "name_en": 200,
    "name_zh": 200,
    "city": 100,
    "province": 100,
    "contact_name": 200,
    "contact_email": 320,
    "contact_phone": 50,
    "notes": 10_000,
}
EDITABLE_FIELDS = (*TEXT_LIMITS, *TAG_FIELDS, "min_order_quantity", "weekly_capacity")
MAX_TAGS, MAX_TAG_LENGTH = 50, 80
# tags are separated by commas (also the full-width and enumeration commas Chinese text uses), semicolons, newlines
TAG_SEPARATORS = re.compile("[,\n\r;\uff0c\u3001\uff1b]+")

SAMPLE_ROUNDS = table("sample_rounds", column("supplier_id"))


def parse_tags(value: str | Iterable[str] | None) -> list[str]:
    """Comma- or newline-separated tags: trimmed, inner whitespace collapsed, duplicates (ignoring case) dropped,
    first spelling and order kept."""
    if value is None:
        return []
    parts = TAG_SEPARATORS.split(value) if isinstance(value, str) else list(value)
    out: list[str] = []
    seen: set[str] = set()
    for part in parts:
        tag = " ".join(str(part).split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


def field_label(name: str) -> str:
    """The translated label of a supplier field, as the form shows it."""
    labels = {
        "name_en": _("English name"),
        "name_zh": _("Chinese name"),
        "city": _("City"),
        "province": _("Province"),
        "contact_name": _("Contact name"),
        "contact_email": _("Contact email"),
        "contact_phone": _("Contact phone"),
        "notes": _("Notes"),
        "capabilities": _("Capabilities"),
        "processes": _("Processes"),
        "certifications": _("Certifications"),
        "min_order_quantity": _("Minimum order quantity"),
        "weekly_capacity": _("Weekly capacity (units)"),
    }
    return labels.get(name, name)


def clean_supplier_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise supplier fields; raise ValidationFailed naming the first bad one."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in EDITABLE_FIELDS:
            raise ValidationFailed(
                _("The field %(field)s cannot be changed here.") % {"field": key}, field=key
            )
        if key in TEXT_LIMITS:
            text = str(value or "").strip()
            if key != "notes":
                text = " ".join(text.split())
            if len(text) > TEXT_LIMITS[key]:
                raise ValidationFailed(
                    _("%(field)s can be at most %(n)d characters long.")
                    % {"field": field_label(key), "n": TEXT_LIMITS[key]},
                    field=key,
                )
            if key == "contact_email" and text:
                try:
                    text = normalize_email(text)
                except DomainError:
                    raise ValidationFailed(
                        _("The contact email is not a valid email address."), field=key
                    ) from None
            out[key] = text
        elif key in TAG_FIELDS:
            tags = parse_tags(value)
            if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
                raise ValidationFailed(
                    _("%(field)s: at most %(n)d entries of at most %(length)d characters each.")
                    % {"field": field_label(key), "n": MAX_TAGS, "length": MAX_TAG_LENGTH},
                    field=key,
                )
            out[key] = tags
        elif key == "weekly_capacity":
            # 0 is a real answer (the factory takes no work for now); empty means not declared
            text = str(value if value is not None else "").strip().replace(",", "")
            if text and (not text.isdigit() or int(text) > MAX_QUANTITY):
                raise ValidationFailed(
                    _("The weekly capacity must be a whole number of units, 0 or more."), field=key
                )
            out[key] = int(text) if text else None
        else:  # min_order_quantity
            out[key] = parse_quantity(
                value,
                field_name=key,
                message=_("The minimum order quantity must be a positive whole number."),
            )
    if "name_en" in out and not out["name_en"]:
        raise ValidationFailed(_("The supplier needs an English name."), field="name_en")
    return out


class ChineseNameMissing(ValidationFailed):
    """The supplier has no Chinese name: allowed only when the caller says so (factories read Chinese first)."""


def _check_chinese_name(fields: Mapping[str, Any], allow_missing_zh: bool) -> None:
    if not fields.get("name_zh") and not allow_missing_zh:
        raise ChineseNameMissing(
            _(
                "Add the supplier's Chinese name: factories, couriers and our Chinese colleagues know it by that "
                "name. If you do not have it yet, tick “Save without a Chinese name”."
            ),
            field="name_zh",
        )


async def _check_unique_name(session: AsyncSession, name_en: str, *, except_id: int | None = None) -> None:
    query = select(Supplier.id).where(func.lower(Supplier.name_en) == name_en.lower())
    if except_id is not None:
        query = query.where(Supplier.id != except_id)
    if await session.scalar(query.limit(1)) is not None:
        raise ValidationFailed(
            _("A supplier named %(name)s is already in the directory.") % {"name": name_en}, field="name_en"
        )


def snapshot(supplier: Supplier) -> dict[str, Any]:
    """The supplier's editable fields, as audit events and conflict messages show them."""
    return {key: getattr(supplier, key) for key in EDITABLE_FIELDS}


@dataclass(frozen=True)
class SupplierFilters:
    """What the directory is narrowed to. Empty strings mean no filter."""

    q: str = ""
    """Part of the English or Chinese name, the city or the province."""
    province: str = ""
    capability: str = ""
    """A capability or a process (one tag, any case)."""
    certification: str = ""
    archived: bool = False
    """Show archived suppliers instead of active ones."""


def _has_tag(session: AsyncSession, column: Any, tag: str) -> ColumnElement[bool]:
    """True when the JSON list in `column` holds `tag` (ignoring case), on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        elements = func.json_array_elements_text(column).table_valued("value")
    else:
        elements = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(elements).where(func.lower(elements.c.value) == tag.lower()))


def _directory_query(session: AsyncSession, filters: SupplierFilters) -> Any:
    query = select(Supplier).where(
        Supplier.archived_at.is_not(None) if filters.archived else Supplier.archived_at.is_(None)
    )
    q = " ".join(filters.q.split())
    if q:
        query = query.where(
            or_(
                Supplier.name_en.icontains(q, autoescape=True),
                Supplier.name_zh.icontains(q, autoescape=True),
                Supplier.city.icontains(q, autoescape=True),
                Supplier.province.icontains(q, autoescape=True),
            )
        )
    if filters.province.strip():
        query = query.where(func.lower(Supplier.province) == filters.province.strip().lower())
    if filters.capability.strip():
        tag = filters.capability.strip()
        query = query.where(
            or_(_has_tag(session, Supplier.capabilities, tag), _has_tag(session, Supplier.processes, tag))
        )
    if filters.certification.strip():
        query = query.where(_has_tag(session, Supplier.certifications, filters.certification.strip()))
    return query


async def list_suppliers(
    session: AsyncSession, *, filters: SupplierFilters | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[Supplier], int]:
    """One page of the directory, by English name, and how many suppliers match in all."""
    _require_staff_session(session)
    query = _directory_query(session, filters or SupplierFilters())
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(func.lower(Supplier.name_en), Supplier.id).offset(offset).limit(limit)
    )
    return list(rows.all()), total


@dataclass(frozen=True)
class Facets:
    """The values the directory's filters offer: every province, capability or process, and certification of
    the active suppliers."""

    provinces: list[str]
    capabilities: list[str]
    certifications: list[str]


def _sorted_unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return sorted(seen.values(), key=str.casefold)


async def directory_facets(session: AsyncSession) -> Facets:
    _require_staff_session(session)
    rows = (
        await session.execute(
            select(
                Supplier.province, Supplier.capabilities, Supplier.processes, Supplier.certifications
            ).where(Supplier.archived_at.is_(None))
        )
    ).all()
    return Facets(
        provinces=_sorted_unique(r.province for r in rows),
        capabilities=_sorted_unique(t for r in rows for t in [*(r.capabilities or []), *(r.processes or [])]),
        certifications=_sorted_unique(t for r in rows for t in r.certifications or []),
    )


async def get_supplier(session: AsyncSession, supplier_id: int) -> Supplier:
    _require_staff_session(session)
    supplier = await session.get(Supplier, supplier_id, populate_existing=True)
    if supplier is None:
        raise NotFound(_("This supplier is not in the directory."))
    return supplier


async def create_supplier(
    session: AsyncSession, *, actor: User, data: Mapping[str, Any], allow_missing_zh: bool = False
) -> Supplier:
    """A new directory entry. The English name is required; the Chinese name too unless `allow_missing_zh`."""
    _require_staff(actor)
    fields = clean_supplier_fields(data)
    if not fields.get("name_en"):
        raise ValidationFailed(_("The supplier needs an English name."), field="name_en")
    _check_chinese_name(fields, allow_missing_zh)
    await _check_unique_name(session, fields["name_en"])
    supplier = Supplier(**fields)
    session.add(supplier)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.created",
        subject_type="supplier",
        subject_id=supplier.id,
        after=snapshot(supplier),
    )
    return supplier


def _stale(supplier: Supplier, expected_version: int) -> None:
    if supplier.version != expected_version:
        raise Conflict(
            _(CONCURRENT_MESSAGE) % {"subject": _(N_("supplier"))},
            current_version=supplier.version,
            current=snapshot(supplier),
        )


async def update_supplier(
    session: AsyncSession,
    *,
    actor: User,
    supplier_id: int,
    expected_version: int,
    changes: Mapping[str, Any],
    allow_missing_zh: bool = False,
) -> Supplier:
    """Apply edits if the caller saw the current version; otherwise Conflict with the current values."""
    _require_staff(actor)
    supplier = await get_supplier(session, supplier_id)
    _stale(supplier, expected_version)
    fields = clean_supplier_fields(changes)
    _check_chinese_name({"name_zh": fields.get("name_zh", supplier.name_zh)}, allow_missing_zh)
    if "name_en" in fields and fields["name_en"].lower() != supplier.name_en.lower():
        await _check_unique_name(session, fields["name_en"], except_id=supplier.id)
    before = {k: getattr(supplier, k) for k in fields if getattr(supplier, k) != fields[k]}
    if not before:
        return supplier
    for key in before:
        setattr(supplier, key, fields[key])
    await session.flush()  # the version column stops a writer that slipped in between our read and this write
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.updated",
        subject_type="supplier",
        subject_id=supplier.id,
        before=before,
        after={k: fields[k] for k in before},
    )
    return supplier


async def archive_supplier(
    session: AsyncSession, *, actor: User, supplier_id: int, expected_version: int, reason: str = ""
) -> Supplier:
    """Take a supplier out of the directory and out of quote requests; its history stays."""
    _require_staff(actor)
    supplier = await get_supplier(session, supplier_id)
    _stale(supplier, expected_version)
    if supplier.archived_at is not None:
        raise Conflict(_("This supplier is already archived."))
    supplier.archived_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.archived",
        subject_type="supplier",
        subject_id=supplier.id,
        after={"archived_at": supplier.archived_at},
        reason=reason.strip(),
    )
    return supplier


async def restore_supplier(
    session: AsyncSession, *, actor: User, supplier_id: int, expected_version: int
) -> Supplier:
    _require_staff(actor)
    supplier = await get_supplier(session, supplier_id)
    _stale(supplier, expected_version)
    if supplier.archived_at is None:
        raise Conflict(_("This supplier is not archived."))
    before = {"archived_at": supplier.archived_at}
    supplier.archived_at = None
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.restored",
        subject_type="supplier",
        subject_id=supplier.id,
        before=before,
        after={"archived_at": None},
    )
    return supplier


@dataclass(frozen=True)
class References:
    """What depends on a supplier: rows that name it, across every client."""

    quotes: int
    sample_rounds: int
    projects: int

    @property
    def any(self) -> bool:
        return bool(self.quotes or self.sample_rounds or self.projects)


async def supplier_references(session: AsyncSession, supplier_id: int) -> References:
    _require_staff_session(session)
    row = (
        await session.execute(
            select(
                select(func.count()).where(Quote.supplier_id == supplier_id).scalar_subquery(),
                # sample rounds build on suppliers (samples is the layer above): their table, not their model
                select(func.count())
                .select_from(SAMPLE_ROUNDS)
                .where(SAMPLE_ROUNDS.c.supplier_id == supplier_id)
                .scalar_subquery(),
                select(func.count()).where(Project.supplier_id == supplier_id).scalar_subquery(),
            )
        )
    ).one()
    return References(quotes=row[0], sample_rounds=row[1], projects=row[2])


async def delete_supplier(
    session: AsyncSession, *, actor: User, supplier_id: int, expected_version: int
) -> None:
    """Remove a supplier entered by mistake. One that history depends on (quotes, sample rounds, a selection)
    is refused: archive it instead."""
    _require_staff(actor)
    supplier = await get_supplier(session, supplier_id)
    _stale(supplier, expected_version)
    refs = await supplier_references(session, supplier_id)
    if refs.any:
        raise Conflict(
            _(
                "%(name)s cannot be deleted: %(quotes)d quotes, %(rounds)d sample rounds and %(projects)d "
                "projects refer to it, and their history must stay readable. Archive the supplier instead."
            )
            % {
                "name": supplier.name_en,
                "quotes": refs.quotes,
                "rounds": refs.sample_rounds,
                "projects": refs.projects,
            }
        )
    before = snapshot(supplier)
    await session.delete(supplier)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.deleted",
        subject_type="supplier",
        subject_id=supplier_id,
        before=before,
    )
