"""Recording a project's budget: cost entries (add, edit with the stale-write check, void through `BUDGET_ENTRY`)
and the exchange rates for derived figures. Staff only; every write is an audit event in the caller's
transaction. An amount in another currency than the project's needs the rate the coordinator read somewhere:
nothing is looked up on the network."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.billing import money
from makeready.budget.models import BudgetCategory, BudgetEntry, BudgetKind, BudgetRate, EntryStatus
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel.machine import (
    Context,
    Machine,
    Role,
    Transition,
    load,
    perform,
    require_role,
    roles_of,
    states,
)
from makeready.kernel.stale import check_version, flush
from makeready.production.common import text_of
from makeready.projects.access import load_project
from makeready.projects.models import Project

ENTRY_NOT_FOUND = N_("This budget entry does not exist or you do not have access to it.")
STAFF_ONLY = N_("Only a coordinator can record a project's budget.")
MAX_RATE = Decimal("100000")
"""No currency in `money.CURRENCIES` is worth more than this many of another: a bigger rate is a typo."""
RATE_PLACES = Decimal("0.00000001")


async def _voided(ctx: Context[BudgetEntry]) -> None:
    ctx.obj.void_reason = str(ctx.inputs["reason"])


BUDGET_ENTRY: Machine[EntryStatus] = Machine(
    name="budget_entry",
    subject=N_("budget entry"),
    states=EntryStatus,
    column="status",
    final=states(EntryStatus.void),
    transitions=(
        Transition(
            "void",
            states(EntryStatus.active),
            EntryStatus.void,
            frozenset({Role.STAFF}),
            "budget_entry.voided",
            wrong_state=N_("Only a counted entry can be voided; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="voided_at",
            requires=("reason",),
            effect=_voided,
        ),
    ),
)


async def require_staff(session: AsyncSession, actor: Any, org_id: int) -> None:
    require_role(await roles_of(session, actor, org_id=org_id), {Role.STAFF}, STAFF_ONLY)


async def load_entry(session: AsyncSession, entry_id: int) -> BudgetEntry:
    return await load(session, BudgetEntry, entry_id, ENTRY_NOT_FOUND)


def an_amount(value: Any, currency: str) -> Decimal:
    """More than zero, at most 99,999,999, to the currency's minor unit at most (money.to_minor's rules)."""
    return money.from_minor(money.to_minor(str(value if value is not None else ""), currency), currency)


def a_rate(value: Any, *, field: str = "rate") -> Decimal:
    """Project currency per one unit of the other, such as 0.1385 (CNY to USD): positive, at most 100,000."""
    text = str(value if value is not None else "").strip().replace(",", "")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(
            _("Enter the exchange rate as a number, such as 0.1385."), field=field
        ) from None
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        raise ValidationFailed(
            _("The exchange rate must be more than zero and at most 100,000."), field=field
        )
    if rate != rate.quantize(RATE_PLACES):
        raise ValidationFailed(_("The exchange rate has at most 8 decimals."), field=field)
    return rate


def rate_for(project: Project, currency: str, value: Any) -> Decimal:
    """1 in the project's own currency; else the rate given, refused with a clear message when there is none."""
    if currency == project.currency.upper():
        return Decimal(1)
    if value is None or not str(value).strip():
        raise ValidationFailed(
            _(
                "This amount is in %(currency)s and the project's budget is in %(project)s: "
                "enter the rate (how many %(project)s one %(currency)s is worth)."
            )
            % {"currency": currency, "project": project.currency.upper()},
            field="rate",
        )
    return a_rate(value)


def _choice(enum_type: Any, value: Any, message: str, field: str) -> Any:
    try:
        return enum_type(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(_(message), field=field) from None


def _terms(project: Project, data: dict[str, Any]) -> dict[str, Any]:
    category = _choice(
        BudgetCategory,
        data.get("category"),
        N_("Choose what the cost is for: product, tooling, materials, inspection, freight or other."),
        "category",
    )
    kind = _choice(BudgetKind, data.get("kind"), N_("Choose quoted or actual."), "kind")
    currency = money.a_currency(data.get("currency") or project.currency)
    amount = an_amount(data.get("amount"), currency)
    return {
        "category": category,
        "kind": kind,
        "currency": currency,
        "amount": amount,
        "rate": rate_for(project, currency, data.get("rate")),
        "note": text_of(data.get("note"), field="note"),
    }


def _jsonable(terms: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (str(v.value) if hasattr(v, "value") else str(v) if isinstance(v, Decimal) else v)
        for k, v in terms.items()
    }


async def add_entry(
    session: AsyncSession, *, actor: User, project_id: int, data: dict[str, Any]
) -> BudgetEntry:
    """A cost the coordinator records: category, quoted or actual, amount, currency, rate, note."""
    project = await load_project(session, project_id)
    await require_staff(session, actor, project.org_id)
    terms = _terms(project, data)
    entry = BudgetEntry(org_id=project.org_id, project_id=project.id, created_by_id=actor.id, **terms)
    session.add(entry)
    await flush(session, BUDGET_ENTRY.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="budget_entry.added",
        subject_type="budget_entry",
        subject_id=entry.id,
        org_id=project.org_id,
        project_id=project.id,
        after=_jsonable(terms),
    )
    return entry


async def update_entry(
    session: AsyncSession,
    *,
    actor: User,
    entry_id: int,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> BudgetEntry:
    """Correct a counted entry; a form that saw an older version is refused with the current state (409)."""
    entry = await load_entry(session, entry_id)
    await require_staff(session, actor, entry.org_id)
    check_version(entry, expected_version, BUDGET_ENTRY)
    if entry.status != EntryStatus.active:
        raise Conflict(
            _("This budget entry is %(state)s: it can no longer change.") % {"state": label(entry.status)},
            current_state=entry.status.value,
        )
    project = await load_project(session, entry.project_id)
    terms = _terms(project, data)
    before = {name: getattr(entry, name) for name in terms}
    for name, value in terms.items():
        setattr(entry, name, value)
    await flush(session, BUDGET_ENTRY.subject)
    await audit.record(
        session,
        actor_id=actor.id,
        action="budget_entry.updated",
        subject_type="budget_entry",
        subject_id=entry.id,
        org_id=entry.org_id,
        project_id=entry.project_id,
        before=_jsonable(before),
        after=_jsonable(terms),
    )
    return entry


async def void_entry(
    session: AsyncSession, *, actor: User, entry_id: int, reason: str, expected_version: int | None = None
) -> BudgetEntry:
    """A wrong entry is voided with a reason, never deleted: it no longer counts, and its history stays."""
    entry = await load_entry(session, entry_id)
    await perform(
        session,
        BUDGET_ENTRY,
        entry,
        "void",
        actor=actor,
        org_id=entry.org_id,
        project_id=entry.project_id,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )
    return entry


async def set_rate(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    currency: Any,
    rate: Any,
    expected_version: int | None = None,
) -> BudgetRate:
    """Record (or change) the rate used for the project's derived figures in `currency`."""
    project = await load_project(session, project_id)
    await require_staff(session, actor, project.org_id)
    code = money.a_currency(currency)
    if code == project.currency.upper():
        raise ValidationFailed(
            _("Amounts in %(currency)s are the project's own: they need no rate.") % {"currency": code},
            field="currency",
        )
    value = a_rate(rate)
    row = await session.scalar(
        select(BudgetRate).where(BudgetRate.project_id == project.id, BudgetRate.currency == code)
    )
    before: dict[str, Any] = {}
    if row is None:
        row = BudgetRate(org_id=project.org_id, project_id=project.id, currency=code, rate=value)
        session.add(row)
    else:
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                _("Someone else changed this rate while you were looking at it: it is now %(rate)s.")
                % {"rate": row.rate},
                current_version=row.version,
            )
        before = {"rate": f"{row.rate.normalize():f}"}
        row.rate = value
    row.recorded_by_id = actor.id
    await flush(session, N_("exchange rate"))
    await audit.record(
        session,
        actor_id=actor.id,
        action="budget_rate.set",
        subject_type="budget_rate",
        subject_id=row.id,
        org_id=project.org_id,
        project_id=project.id,
        before=before,
        after={"currency": code, "rate": str(value)},
    )
    return row
