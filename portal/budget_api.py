"""The budget API under /api/v1: `GET /projects/{id}/budget` answers a brand with its fees only (`BudgetOut`'s
staff fields are UNSET, absent from the JSON) and a staff token with quoted, actual, variance per category, fees,
margin and the entries; entries are written by staff tokens only (the services refuse a brand: 403 in its own
organization, 404 in another's). A foreign amount without a rate, a negative or absurd amount is a 422 problem
naming the field; a stale `version` is a 409 with the current state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec
from litestar import Controller, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.billing import money
from makeready.budget import entries, summary
from makeready.budget.models import BudgetEntry
from makeready.projects.access import load_project
from portal.api import PROBLEMS
from portal.auth import Actor, provide_user

READ_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 404)}
WRITE_PROBLEMS = {code: PROBLEMS[code] for code in (400, 401, 403, 404, 409, 422)}


class FeeOut(msgspec.Struct):
    description: str
    amount: Decimal
    currency: str
    status: str


class CategoryOut(msgspec.Struct):
    category: str
    quoted: Decimal
    actual: Decimal
    variance: Decimal


class EntryOut(msgspec.Struct):
    id: int
    category: str
    kind: str
    amount: Decimal
    currency: str
    rate: Decimal
    note: str
    status: str
    void_reason: str
    created_at: datetime
    version: int

    @classmethod
    def of(cls, e: BudgetEntry) -> EntryOut:
        return cls(
            id=e.id,
            category=e.category.value,
            kind=e.kind.value,
            amount=e.amount,
            currency=e.currency,
            rate=e.rate,
            note=e.note,
            status=e.status.value,
            void_reason=e.void_reason,
            created_at=e.created_at,
            version=e.version,
        )


class BudgetOut(msgspec.Struct):
    project_id: int
    fees: list[FeeOut]
    fees_planned: dict[str, Decimal]
    """Every fee not cancelled, per currency."""
    fees_invoiced: dict[str, Decimal]
    # staff only: absent from a brand's response
    currency: str | msgspec.UnsetType = msgspec.UNSET
    categories: list[CategoryOut] | msgspec.UnsetType = msgspec.UNSET
    quoted_costs: Decimal | msgspec.UnsetType = msgspec.UNSET
    actual_costs: Decimal | msgspec.UnsetType = msgspec.UNSET
    margin: Decimal | msgspec.UnsetType = msgspec.UNSET
    """Fees invoiced - actual agency costs, in `currency`."""
    missing_rates: list[str] | msgspec.UnsetType = msgspec.UNSET
    entries: list[EntryOut] | msgspec.UnsetType = msgspec.UNSET


class EntryIn(msgspec.Struct):
    category: str
    kind: str
    amount: str
    """A decimal string in `currency`, such as "850.35"."""
    currency: str | None = None
    """The project's currency when left out."""
    rate: str | None = None
    """Project currency per one unit of `currency`; required when they differ."""
    note: str = ""


class EntryPatch(EntryIn):
    version: int | None = None


class VoidIn(msgspec.Struct):
    reason: str
    version: int | None = None


def _data(body: EntryIn) -> dict[str, str | None]:
    return {
        "category": body.category,
        "kind": body.kind,
        "amount": body.amount,
        "currency": body.currency,
        "rate": body.rate,
        "note": body.note,
    }


class BudgetApi(Controller):
    """A project's budget: the brand's fees; for staff, costs, margin and entries."""

    path = "/"
    tags = ["budget"]

    @get("/projects/{project_id:int}/budget", responses=READ_PROBLEMS)
    async def get_budget(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> BudgetOut:
        """The project's fees; with a staff token also quoted, actual and variance per category, and the margin."""
        project = await load_project(db, project_id)
        view = await summary.brand_fees(db, project)
        out = BudgetOut(
            project_id=project.id,
            fees=[
                FeeOut(
                    description=f.description,
                    amount=money.from_minor(f.amount_minor, f.currency),
                    currency=f.currency,
                    status=f.status.value,
                )
                for f in view.fees
            ],
            fees_planned=view.planned,
            fees_invoiced=view.invoiced,
        )
        if not user.is_staff:
            return out
        budget = await summary.budget_of(db, project)
        out.currency = budget.currency
        out.categories = [
            CategoryOut(category=r.category.value, quoted=r.quoted, actual=r.actual, variance=r.variance)
            for r in budget.rows
        ]
        out.quoted_costs = budget.quoted_costs
        out.actual_costs = budget.actual_costs
        out.margin = budget.margin
        out.missing_rates = budget.missing_rates
        out.entries = [EntryOut.of(e) for e in budget.entries]
        return out

    @post("/projects/{project_id:int}/budget/entries", responses=WRITE_PROBLEMS)
    async def add_entry(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[EntryIn],
    ) -> EntryOut:
        """Record a cost on the project's budget (staff tokens only)."""
        entry = await entries.add_entry(db, actor=user.user, project_id=project_id, data=_data(data))
        return EntryOut.of(entry)

    @patch("/budget-entries/{entry_id:int}", responses=WRITE_PROBLEMS)
    async def update_entry(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        entry_id: FromPath[int],
        data: JSONBody[EntryPatch],
    ) -> EntryOut:
        """Correct a counted entry (staff tokens only); `version` must be the one you read."""
        entry = await entries.update_entry(
            db, actor=user.user, entry_id=entry_id, data=_data(data), expected_version=data.version
        )
        return EntryOut.of(entry)

    @post("/budget-entries/{entry_id:int}/void", responses=WRITE_PROBLEMS)
    async def void_entry(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        entry_id: FromPath[int],
        data: JSONBody[VoidIn],
    ) -> EntryOut:
        """Void an entry with a reason (staff tokens only): it stays, no longer counted."""
        entry = await entries.void_entry(
            db, actor=user.user, entry_id=entry_id, reason=data.reason, expected_version=data.version
        )
        return EntryOut.of(entry)


budget_api = Router(path="/api/v1", route_handlers=[BudgetApi], dependencies={"user": Provide(provide_user)})
