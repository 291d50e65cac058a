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
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready.accounts.models import User
from makeready.accounts.service import normalize_email
from makeready.audit import service as audit
from makeready.db.tenancy import get_scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import _
from makeready.projects.models import Milestone, Phase, Project
from makeready.samples.models import SampleRound, SampleStatus
from makeready.suppliers.models import Quote, QuoteStatus, Supplier

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
EDITABLE_FIELDS = (*TEXT_LIMITS, *TAG_FIELDS, "min_order_quantity")
MAX_TAGS, MAX_TAG_LENGTH = 50, 80
MAX_QUANTITY = 100_000_000
# tags are separated by commas (also the full-width and enumeration commas Chinese text uses), semicolons, newlines
TAG_SEPARATORS = re.compile("[,\n\r;\uff0c\u3001\uff1b]+")


def _require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise PermissionDenied(_("Only coordinators can do this."))


def _require_staff_session(session: AsyncSession) -> None:
    """Suppliers are not tenant-owned, so the data layer cannot filter them: reads check the scope here."""
    if not get_scope(session).unrestricted:
        raise PermissionDenied(_("Only coordinators can do this."))


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
    }
    return labels.get(name, name)


def parse_quantity(value: Any, *, field_name: str, message: str) -> int | None:
    """A positive whole number, or None for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValidationFailed(message, field=field_name) from None
    if number <= 0 or number > MAX_QUANTITY:
        raise ValidationFailed(message, field=field_name)
    return number


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
            _("Someone else changed this supplier since you opened it. Their values are shown below."),
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
                select(func.count()).where(SampleRound.supplier_id == supplier_id).scalar_subquery(),
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


# -- performance -----------------------------------------------------------------------------------------------------

# words that mark a development milestone as the one a sample round is due by (standard plan: "First sample")
SAMPLE_MILESTONE_WORDS = ("sample", "样品", "打样")
DELIVERED_STATES = frozenset({SampleStatus.received, SampleStatus.approved, SampleStatus.rejected})


@dataclass(frozen=True)
class PastProject:
    id: int
    name: str
    phase: Phase
    selected: bool
    """The supplier is the project's selected supplier."""
    made_samples: bool


@dataclass
class Performance:
    """A supplier's record, computed from history by `supplier_performance`. Rates are None without history."""

    rounds_counted: int = 0
    rounds_on_time: int = 0
    projects_decided: int = 0
    projects_first_pass: int = 0
    past_projects: list[PastProject] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.rounds_on_time / self.rounds_counted if self.rounds_counted else None

    @property
    def first_pass_rate(self) -> float | None:
        return self.projects_first_pass / self.projects_decided if self.projects_decided else None


def is_sample_milestone(title: str) -> bool:
    folded = title.casefold()
    return any(word in folded for word in SAMPLE_MILESTONE_WORDS)


async def supplier_performance(
    session: AsyncSession, supplier_ids: Sequence[int], *, today: date | None = None
) -> dict[int, Performance]:
    """Each supplier's on-time rate, sample first-pass rate and past projects, in three queries for any number
    of suppliers (a directory page asks once for all its rows).

    **On-time rate**: of the supplier's sample rounds that can be judged, the share delivered by their due date.
    - A round's *due date* is the due date of its related milestone. The related milestones of a project are its
      development-phase milestones whose title names a sample ("sample", 样品 or 打样; the standard plan has one,
      "First sample"), in plan order: round N relates to the N-th of them, or to the last one when the plan has
      fewer. A round without a related milestone, or whose milestone has no due date, is not judged.
    - A round is *delivered* when it was shipped (`shipped_at`) or, when no shipment was recorded (samples handed
      over in person), received (`received_at`); that day (UTC) is compared with the due date.
    - Delivered on or before the due date: on time. Delivered later: late. Not delivered and the due date has
      passed (before `today`): late, since it can no longer be on time. Not delivered and not yet due: not
      judged yet. Marked received or decided but without either timestamp: not judged (the day is unknown).

    **Sample first-pass rate**: of the projects where the supplier made samples, the share where the supplier's
    first round there (its lowest-numbered round on that project) was approved by the brand. A project whose first
    round from this supplier awaits the brand's decision is not counted.

    **Past projects**: projects where the supplier is the selected supplier or made sample rounds, newest first.

    With nothing to judge a rate is None, which pages show as "no history", never as 0%.
    """
    _require_staff_session(session)
    today = today or utcnow().date()
    ids = sorted(set(supplier_ids))
    result = {supplier_id: Performance() for supplier_id in ids}
    if not ids:
        return result
    rounds = (
        await session.execute(
            select(
                SampleRound.supplier_id,
                SampleRound.project_id,
                SampleRound.number,
                SampleRound.status,
                SampleRound.shipped_at,
                SampleRound.received_at,
            ).where(SampleRound.supplier_id.in_(ids))
        )
    ).all()
    their_projects = select(SampleRound.project_id).where(SampleRound.supplier_id.in_(ids))
    milestones = (
        await session.execute(
            select(Milestone.project_id, Milestone.title, Milestone.due_date)
            .where(Milestone.project_id.in_(their_projects), Milestone.phase == Phase.development)
            .order_by(Milestone.project_id, Milestone.position, Milestone.id)
        )
    ).all()
    projects = (
        await session.execute(
            select(Project.id, Project.name, Project.phase, Project.supplier_id)
            .where(or_(Project.supplier_id.in_(ids), Project.id.in_(their_projects)))
            .order_by(Project.created_at.desc(), Project.id.desc())
        )
    ).all()

    due_dates: dict[int, list[date | None]] = defaultdict(list)
    for m in milestones:
        if is_sample_milestone(m.title):
            due_dates[m.project_id].append(m.due_date)

    first_round: dict[tuple[int, int], Any] = {}
    made_samples: dict[int, set[int]] = defaultdict(set)
    for r in rounds:
        perf = result[r.supplier_id]
        made_samples[r.supplier_id].add(r.project_id)
        key = (r.supplier_id, r.project_id)
        if key not in first_round or r.number < first_round[key].number:
            first_round[key] = r
        related = due_dates.get(r.project_id)
        due = related[min(r.number, len(related)) - 1] if related and r.number >= 1 else None
        if due is None:
            continue
        delivered_at = r.shipped_at or r.received_at
        if delivered_at is not None:
            perf.rounds_counted += 1
            perf.rounds_on_time += delivered_at.date() <= due
        elif r.status not in DELIVERED_STATES and due < today:
            perf.rounds_counted += 1
    for (supplier_id, _project_id), r in first_round.items():
        if r.status in (SampleStatus.approved, SampleStatus.rejected):
            result[supplier_id].projects_decided += 1
            result[supplier_id].projects_first_pass += r.status == SampleStatus.approved
    for p in projects:
        for supplier_id in ids:
            selected = p.supplier_id == supplier_id
            samples = p.id in made_samples[supplier_id]
            if selected or samples:
                result[supplier_id].past_projects.append(
                    PastProject(id=p.id, name=p.name, phase=p.phase, selected=selected, made_samples=samples)
                )
    return result


# -- quotes and selection --------------------------------------------------------------------------------------------

OPEN_QUOTE_STATES = (QuoteStatus.requested, QuoteStatus.received, QuoteStatus.selected)
MAX_BREAKS = 20
MAX_PRICE = Decimal("10000000000")
MAX_LEAD_TIME_DAYS = 3650
PRICE_PLACES = Decimal("0.0001")


async def get_project(session: AsyncSession, project_id: int) -> Project:
    """The project with its organization, through the session's tenancy scope."""
    project = await session.scalar(
        select(Project).where(Project.id == project_id).options(joinedload(Project.org))
    )
    if project is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))
    return project


async def list_quotes(session: AsyncSession, project_id: int) -> list[Quote]:
    rows = await session.scalars(
        select(Quote)
        .where(Quote.project_id == project_id)
        .options(joinedload(Quote.supplier))
        .order_by(Quote.created_at, Quote.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def get_quote(session: AsyncSession, *, project_id: int, quote_id: int) -> Quote:
    quote = await session.scalar(
        select(Quote)
        .where(Quote.id == quote_id, Quote.project_id == project_id)
        .options(joinedload(Quote.supplier))
        .execution_options(populate_existing=True)
    )
    if quote is None:
        raise NotFound(_("This quote does not exist or you do not have access to it."))
    return quote


async def requestable_suppliers(session: AsyncSession, project_id: int) -> list[Supplier]:
    """Active suppliers without an open quote (requested, received or selected) on the project."""
    _require_staff_session(session)
    quoting = select(Quote.supplier_id).where(
        Quote.project_id == project_id, Quote.status.in_(OPEN_QUOTE_STATES)
    )
    rows = await session.scalars(
        select(Supplier)
        .where(Supplier.archived_at.is_(None), Supplier.id.not_in(quoting))
        .order_by(func.lower(Supplier.name_en), Supplier.id)
    )
    return list(rows.all())


async def request_quotes(
    session: AsyncSession, *, actor: User, project_id: int, supplier_ids: Sequence[int]
) -> list[Quote]:
    """Ask several suppliers for a price at once: one Quote per supplier, status requested. All or nothing."""
    _require_staff(actor)
    project = await get_project(session, project_id)
    ids = list(dict.fromkeys(supplier_ids))
    if not ids:
        raise ValidationFailed(_("Choose at least one supplier to ask for a quote."), field="supplier_ids")
    suppliers = {s.id: s for s in await session.scalars(select(Supplier).where(Supplier.id.in_(ids)))}
    if len(suppliers) != len(ids):
        raise NotFound(_("This supplier is not in the directory."))
    archived = [s.name_en for s in suppliers.values() if s.archived_at is not None]
    if archived:
        raise ValidationFailed(
            _("These suppliers are archived and cannot be asked for quotes: %(names)s.")
            % {"names": ", ".join(archived)},
            field="supplier_ids",
        )
    already = (
        await session.scalars(
            select(Quote.supplier_id).where(
                Quote.project_id == project.id,
                Quote.supplier_id.in_(ids),
                Quote.status.in_(OPEN_QUOTE_STATES),
            )
        )
    ).all()
    if already:
        raise ValidationFailed(
            _("These suppliers already have an open quote for this project: %(names)s.")
            % {"names": ", ".join(suppliers[i].name_en for i in sorted(set(already)))},
            field="supplier_ids",
        )
    quotes = []
    for supplier_id in ids:
        quote = Quote(
            org_id=project.org_id,
            project_id=project.id,
            supplier_id=supplier_id,
            status=QuoteStatus.requested,
            currency=project.currency,
        )
        session.add(quote)
        quotes.append(quote)
    await session.flush()
    for quote in quotes:
        # no organization: quotes are agency-internal, so the event is staff-only (see the module docstring)
        await audit.record(
            session,
            actor_id=actor.id,
            action="quote.requested",
            subject_type="quote",
            subject_id=quote.id,
            project_id=project.id,
            after={"supplier_id": quote.supplier_id, "supplier": suppliers[quote.supplier_id].name_en},
        )
    return quotes


def _decimal(value: Any, *, field_name: str, message: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(message, field=field_name) from None
    if not number.is_finite() or number < 0 or number >= MAX_PRICE:
        raise ValidationFailed(message, field=field_name)
    return number


def _plain(number: Decimal) -> str:
    """A Decimal as a plain string, no exponent, no trailing zeros beyond the cents: 4.2 -> "4.20"."""
    text = format(number.normalize(), "f")
    whole, _dot, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def clean_price_breaks(rows: Iterable[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Rows of (quantity, unit price) as the form sends them: blank rows skipped, each row complete, quantities
    positive and distinct, prices positive with at most four decimals; sorted by quantity."""
    breaks: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, (raw_quantity, raw_price) in enumerate(rows, start=1):
        blank_q = raw_quantity is None or not str(raw_quantity).strip()
        blank_p = raw_price is None or not str(raw_price).strip()
        if blank_q and blank_p:
            continue
        if blank_q or blank_p:
            raise ValidationFailed(
                _("Price break %(n)d needs both a quantity and a unit price.") % {"n": index},
                field="price_breaks",
            )
        quantity = parse_quantity(
            raw_quantity,
            field_name="price_breaks",
            message=_("Price break %(n)d: the quantity must be a positive whole number.") % {"n": index},
        )
        price = _decimal(
            raw_price,
            field_name="price_breaks",
            message=_("Price break %(n)d: the unit price must be a number greater than zero.") % {"n": index},
        )
        if quantity is None or price is None or price <= 0:
            raise ValidationFailed(
                _("Price break %(n)d: the unit price must be a number greater than zero.") % {"n": index},
                field="price_breaks",
            )
        if price != price.quantize(PRICE_PLACES):
            raise ValidationFailed(
                _("Price break %(n)d: give the unit price with at most four decimals.") % {"n": index},
                field="price_breaks",
            )
        if quantity in seen:
            raise ValidationFailed(
                _("Two price breaks are for %(quantity)d pieces: give each quantity once.")
                % {"quantity": quantity},
                field="price_breaks",
            )
        seen.add(quantity)
        breaks.append({"quantity": quantity, "unit_price": _plain(price)})
    if not breaks:
        raise ValidationFailed(
            _("Enter at least one price break: a quantity and the unit price at that quantity."),
            field="price_breaks",
        )
    if len(breaks) > MAX_BREAKS:
        raise ValidationFailed(_("At most %(n)d price breaks.") % {"n": MAX_BREAKS}, field="price_breaks")
    return sorted(breaks, key=lambda b: b["quantity"])


def _currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationFailed(_("The currency must be a three-letter code such as USD."), field="currency")
    return code


def _quote_values(quote: Quote) -> dict[str, Any]:
    return {
        "status": quote.status,
        "currency": quote.currency,
        "price_breaks": quote.price_breaks,
        "tooling_cost": quote.tooling_cost,
        "lead_time_days": quote.lead_time_days,
        "min_order_quantity": quote.min_order_quantity,
        "notes": quote.notes,
    }


async def record_quote(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    quote_id: int,
    expected_version: int,
    price_breaks: Iterable[tuple[Any, Any]],
    tooling_cost: Any = None,
    lead_time_days: Any = None,
    min_order_quantity: Any = None,
    currency: Any = "USD",
    notes: str = "",
) -> Quote:
    """Enter (or correct) what the supplier quoted: unit prices by quantity break, tooling, lead time, MOQ.
    The quote becomes received. A selected or declined quote is history and is not changed."""
    _require_staff(actor)
    quote = await get_quote(session, project_id=project_id, quote_id=quote_id)
    if quote.version != expected_version:
        raise Conflict(
            _("Someone else changed this quote since you opened it. Reload it and enter your values again."),
            current_version=quote.version,
        )
    if quote.status == QuoteStatus.selected:
        raise Conflict(
            _("This quote was selected: it is the basis of a decision and can no longer be changed.")
        )
    if quote.status == QuoteStatus.declined:
        raise Conflict(_("This quote was declined: ask the supplier for a new quote instead."))
    breaks = clean_price_breaks(price_breaks)
    tooling = _decimal(
        tooling_cost, field_name="tooling_cost", message=_("The tooling cost must be zero or more.")
    )
    days = parse_quantity(
        lead_time_days,
        field_name="lead_time_days",
        message=_("The lead time must be a whole number of days, at least 1."),
    )
    if days is not None and days > MAX_LEAD_TIME_DAYS:
        raise ValidationFailed(
            _("The lead time must be a whole number of days, at least 1."), field="lead_time_days"
        )
    moq = parse_quantity(
        min_order_quantity,
        field_name="min_order_quantity",
        message=_("The minimum order quantity must be a positive whole number."),
    )
    note_text = str(notes or "").strip()
    if len(note_text) > 10_000:
        raise ValidationFailed(
            _("%(field)s can be at most %(n)d characters long.") % {"field": _("Notes"), "n": 10_000},
            field="notes",
        )
    before = _quote_values(quote)
    quote.price_breaks = breaks
    quote.tooling_cost = (
        tooling.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if tooling is not None else None
    )
    quote.lead_time_days = days
    quote.min_order_quantity = moq
    quote.currency = _currency(currency)
    quote.notes = note_text
    quote.status = QuoteStatus.received
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="quote.recorded",
        subject_type="quote",
        subject_id=quote.id,
        project_id=quote.project_id,
        before=before,
        after=_quote_values(quote),
    )
    return quote


async def decline_quote(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    quote_id: int,
    expected_version: int,
    reason: str = "",
) -> Quote:
    """Set a requested or received quote aside. A selected quote is replaced by selecting another."""
    _require_staff(actor)
    quote = await get_quote(session, project_id=project_id, quote_id=quote_id)
    if quote.version != expected_version:
        raise Conflict(
            _("Someone else changed this quote since you opened it. Reload the page and try again."),
            current_version=quote.version,
        )
    if quote.status not in (QuoteStatus.requested, QuoteStatus.received):
        raise Conflict(
            _(
                "Only a requested or received quote can be declined; to replace the selected one, select another."
            )
        )
    before = quote.status
    quote.status = QuoteStatus.declined
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="quote.declined",
        subject_type="quote",
        subject_id=quote.id,
        project_id=quote.project_id,
        before={"status": before},
        after={"status": quote.status},
        reason=reason.strip(),
    )
    return quote


async def select_supplier(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    quote_id: int,
    reason: str,
    decline_others: bool = False,
) -> Quote:
    """Choose the project's supplier from a received quote, with a reason.

    The quote becomes selected and the project's supplier is set. A quote selected before goes back to received.
    The other quotes stay as they are, or with `decline_others` every requested or received one is declined.
    The event `supplier.selected` is recorded on the project's organization with the reason and the supplier's
    names, never its prices: it is the brand's record of the decision.
    """
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give the reason for choosing this supplier: the brand reads it in the decision log."),
            field="reason",
        )
    if len(reason) > 5000:
        raise ValidationFailed(
            _("%(field)s can be at most %(n)d characters long.") % {"field": _("Reason"), "n": 5000},
            field="reason",
        )
    project = await get_project(session, project_id)
    quotes = await list_quotes(session, project.id)
    chosen = next((q for q in quotes if q.id == quote_id), None)
    if chosen is None:
        raise NotFound(_("This quote does not exist or you do not have access to it."))
    if chosen.status == QuoteStatus.selected:
        raise Conflict(_("This quote is already the selected one."))
    if chosen.status != QuoteStatus.received:
        raise Conflict(
            _("Only a received quote can be selected: record the supplier's prices first.")
            if chosen.status == QuoteStatus.requested
            else _("A declined quote cannot be selected: ask the supplier for a new quote.")
        )
    if chosen.supplier.archived_at is not None:
        raise Conflict(
            _("%(name)s is archived: restore it in the directory before selecting it.")
            % {"name": chosen.supplier.name_en}
        )
    previous = next((q.supplier for q in quotes if q.status == QuoteStatus.selected), None)
    changed: list[tuple[Quote, QuoteStatus]] = []
    for quote in quotes:
        if quote.id == chosen.id:
            continue
        if quote.status == QuoteStatus.selected:
            changed.append((quote, quote.status))
            quote.status = QuoteStatus.declined if decline_others else QuoteStatus.received
        elif decline_others and quote.status in (QuoteStatus.requested, QuoteStatus.received):
            changed.append((quote, quote.status))
            quote.status = QuoteStatus.declined
    chosen.status = QuoteStatus.selected
    chosen.selection_reason = reason
    before_supplier = project.supplier_id
    project.supplier_id = chosen.supplier_id
    await session.flush()
    for quote, was in changed:
        await audit.record(
            session,
            actor_id=actor.id,
            action="quote.declined" if quote.status == QuoteStatus.declined else "quote.unselected",
            subject_type="quote",
            subject_id=quote.id,
            project_id=project.id,
            before={"status": was},
            after={"status": quote.status},
            reason=_("Another supplier was selected."),
        )
    supplier = chosen.supplier
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.selected",
        subject_type="project",
        subject_id=project.id,
        org_id=project.org_id,
        project_id=project.id,
        before={
            "supplier_id": before_supplier,
            "supplier": previous.name_en if previous else None,
            "supplier_zh": previous.name_zh if previous else None,
        },
        after={"supplier_id": supplier.id, "supplier": supplier.name_en, "supplier_zh": supplier.name_zh},
        reason=reason,
    )
    return chosen


@dataclass
class QuoteRow:
    """One quote in the comparison, with its figures at the compared quantity (None where they cannot be
    computed: no prices yet, or a quantity below the first price break)."""

    quote: Quote
    break_quantity: int | None = None
    unit_price: Decimal | None = None
    tooling_per_unit: Decimal | None = None
    landed_unit_cost: Decimal | None = None
    landed_total: Decimal | None = None
    below_first_break: bool = False
    moq: int | None = None
    moq_exceeds: bool = False
    ranked: bool = False
    """Takes part in the cheapest/fastest highlights."""
    other_currency: bool = False
    cheapest: bool = False
    fastest: bool = False

    @property
    def breaks(self) -> list[tuple[int, Decimal]]:
        """The quote's price breaks as (quantity, unit price), by quantity."""
        pairs = [(int(b["quantity"]), Decimal(str(b["unit_price"]))) for b in self.quote.price_breaks or []]
        return sorted(pairs)


@dataclass
class Comparison:
    project: Project
    quantity: int | None
    rows: list[QuoteRow]

    @property
    def priced(self) -> list[QuoteRow]:
        return [r for r in self.rows if r.landed_unit_cost is not None]


def applicable_break(price_breaks: Sequence[Mapping[str, Any]], quantity: int) -> Mapping[str, Any] | None:
    """The price break that applies to an order of `quantity`: the one with the largest quantity not above it.
    None when the quantity is below every break (the supplier gave no price for so few)."""
    best = None
    for entry in sorted(price_breaks, key=lambda b: int(b["quantity"])):
        if int(entry["quantity"]) <= quantity:
            best = entry
    return best


def landed_cost(quote: Quote, quantity: int) -> QuoteRow:
    """The quote's figures for an order of `quantity`: landed unit cost = unit price at the applicable break +
    tooling cost / quantity (tooling is paid once and spread over the order; none given counts as none);
    landed total = landed unit cost x quantity. The MOQ is the quote's, else the one in the supplier's entry."""
    row = QuoteRow(quote=quote)
    row.moq = quote.min_order_quantity or (quote.supplier.min_order_quantity if quote.supplier else None)
    row.moq_exceeds = row.moq is not None and row.moq > quantity
    if not quote.price_breaks:
        return row
    entry = applicable_break(quote.price_breaks, quantity)
    if entry is None:
        row.below_first_break = True
        return row
    row.break_quantity = int(entry["quantity"])
    row.unit_price = Decimal(str(entry["unit_price"]))
    row.tooling_per_unit = (quote.tooling_cost or Decimal(0)) / quantity
    row.landed_unit_cost = row.unit_price + row.tooling_per_unit
    row.landed_total = row.unit_price * quantity + (quote.tooling_cost or Decimal(0))
    return row


async def compare_quotes(
    session: AsyncSession, *, project_id: int, quantity: int | None = None
) -> Comparison:
    """The project's quotes side by side at `quantity` (default: the project's target quantity).

    Highlights go to received or selected quotes in the project's currency whose MOQ the quantity meets: the
    lowest landed unit cost is the cheapest, the shortest lead time the fastest (ties share the highlight). A quote
    whose MOQ exceeds the quantity is flagged and left out of the highlights, since it cannot be ordered as is.
    Rows are ordered by status (selected, received, requested, declined), highlighted candidates before flagged
    ones, then by landed unit cost, quotes without one last.
    """
    _require_staff_session(session)
    project = await get_project(session, project_id)
    quantity = quantity or project.target_quantity
    quotes = await list_quotes(session, project.id)
    rows: list[QuoteRow] = []
    for quote in quotes:
        row = landed_cost(quote, quantity) if quantity else QuoteRow(quote=quote)
        row.other_currency = quote.currency != project.currency
        row.ranked = (
            quote.status in (QuoteStatus.received, QuoteStatus.selected)
            and not row.moq_exceeds
            and not row.other_currency
        )
        rows.append(row)
    costs = [r.landed_unit_cost for r in rows if r.ranked and r.landed_unit_cost is not None]
    times = [
        r.quote.lead_time_days
        for r in rows
        if r.quote.status in (QuoteStatus.received, QuoteStatus.selected)
        and not r.moq_exceeds
        and r.quote.lead_time_days is not None
    ]
    for r in rows:
        r.cheapest = bool(costs) and r.ranked and r.landed_unit_cost == min(costs)
        r.fastest = (
            bool(times)
            and r.quote.status in (QuoteStatus.received, QuoteStatus.selected)
            and not r.moq_exceeds
            and r.quote.lead_time_days == min(times)
        )
    status_order = {
        QuoteStatus.selected: 0,
        QuoteStatus.received: 1,
        QuoteStatus.requested: 2,
        QuoteStatus.declined: 3,
    }
    rows.sort(
        key=lambda r: (
            status_order[r.quote.status],
            not r.ranked,
            r.landed_unit_cost is None,
            r.landed_unit_cost or Decimal(0),
            r.quote.id,
        )
    )
    return Comparison(project=project, quantity=quantity, rows=rows)
