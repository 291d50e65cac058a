"""Coordinator page of a project's budget: /coordinator/projects/{project_id}/budget.
Quoted, actual and variance per category in the project's currency, the fees invoiced to the client and the
agency's margin; the lines behind them; entries (add, edit, void) and the exchange rates for derived figures; the
table and its lines as CSV. Staff only (backoffice.access); every change goes through makeready.budget.entries, and
a refused form shows the page again with the message and the error's status (422 for bad input, 409 for a stale
form)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import (
    Failed,
    Staff,
    act_on_form,
    provide_staff,
)
from backoffice.form_values import form_text, form_version, page_after
from makeready import urls
from makeready.billing import money
from makeready.budget import entries, summary
from makeready.budget.entries import ENTRY_NOT_FOUND
from makeready.budget.models import BudgetCategory, BudgetKind
from makeready.errors import NotFound, ValidationFailed
from makeready.i18n import N_, _, format_money, label
from makeready.metrics import export
from makeready.projects.access import load_project

TEMPLATE = "backoffice/budget/page.html"
NOTICES = {
    "added": N_("The entry was added to the budget."),
    "updated": N_("The entry was saved."),
    "voided": N_("The entry was voided: it no longer counts."),
    "rate": N_("The exchange rate was recorded."),
}
TABLES = ("summary", "lines")


def page_url(project_id: int, *, done: str = "", anchor: str = "") -> str:
    return page_after(urls.coordinator_budget(project_id), done=done, anchor=anchor)


def _entry_data(form: FormMultiDict) -> dict[str, Any]:
    return {
        name: form_text(form, name) for name in ("category", "kind", "amount", "currency", "rate", "note")
    }


async def budget_context(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    failed: Failed | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    project = await load_project(db, project_id)
    budget = await summary.budget_of(db, project)
    return {
        "user": staff,
        "project": project,
        "budget": budget,
        "money": lambda amount, currency=budget.currency: format_money(amount, currency),
        "label": label,
        "rate_text": summary.rate_text,
        "sources": {k: _(v) for k, v in summary.SOURCES.items()},
        "categories": list(BudgetCategory),
        "kinds": list(BudgetKind),
        "currencies": money.CURRENCIES,
        "failed": failed,
        "notice": notice,
        "csv": urls.coordinator_budget(project.id) + "/export.csv",
    }


class BudgetPages(Controller):
    """A project's budget, for coordinators."""

    path = "/coordinator/projects/{project_id:int}/budget"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", name="coordinator_budget")
    async def show(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str] = "",
    ) -> Template:
        """Quoted against actual per category, fees, margin, the lines, entries and rates."""
        notice = _(NOTICES[done]) if done in NOTICES else None
        return Template(TEMPLATE, context=await budget_context(db, staff, project_id, notice=notice))

    @get("/export.csv", name="coordinator_budget_csv")
    async def export_csv(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        table: FromQuery[str] = "summary",
    ) -> Response[str]:
        """The staff table (`table=summary`) or the lines behind it (`table=lines`) as CSV."""
        if table not in TABLES:
            raise ValidationFailed(_("Choose the summary or the lines."), field="table")
        project = await load_project(db, project_id)
        budget = await summary.budget_of(db, project)
        header, rows = summary.table_rows(budget) if table == "summary" else summary.line_rows(budget)
        return Response(
            export.to_csv(header, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="budget-{project.id}-{table}.csv"'},
        )

    async def _act(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff: Staff,
        project_id: int,
        *,
        key: str,
        done: str,
        write: Callable[[FormMultiDict], Awaitable[Any]],
    ) -> Template | Redirect:
        async def page(staff: Staff, failed: Failed) -> Template:
            return Template(TEMPLATE, context=await budget_context(db, staff, project_id, failed=failed))

        return await act_on_form(
            request,
            db,
            staff,
            key=key,
            check=lambda: load_project(db, project_id),
            write=write,
            done_url=page_url(project_id, done=done, anchor=key),
            page=page,
        )

    async def _own_entry(self, db: AsyncSession, project_id: int, entry_id: int) -> None:
        entry = await entries.load_entry(db, entry_id)
        if entry.project_id != project_id:
            raise NotFound(_(ENTRY_NOT_FOUND))

    @post("/entries", name="coordinator_budget_add")
    async def add(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Record a cost: category, quoted or actual, amount, currency and its rate, note."""

        async def write(form: FormMultiDict) -> None:
            await entries.add_entry(db, actor=staff.user, project_id=project_id, data=_entry_data(form))

        return await self._act(request, db, staff, project_id, key="new-entry", done="added", write=write)

    @post("/entries/{entry_id:int}/edit", name="coordinator_budget_edit")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        entry_id: FromPath[int],
    ) -> Template | Redirect:
        """Correct an entry (refused when someone changed it since the page was drawn)."""

        async def write(form: FormMultiDict) -> None:
            await self._own_entry(db, project_id, entry_id)
            await entries.update_entry(
                db,
                actor=staff.user,
                entry_id=entry_id,
                data=_entry_data(form),
                expected_version=form_version(form),
            )

        return await self._act(
            request, db, staff, project_id, key=f"entry-{entry_id}", done="updated", write=write
        )

    @post("/entries/{entry_id:int}/void", name="coordinator_budget_void")
    async def void(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        entry_id: FromPath[int],
    ) -> Template | Redirect:
        """Void an entry with a reason: it stays listed, no longer counted."""

        async def write(form: FormMultiDict) -> None:
            await self._own_entry(db, project_id, entry_id)
            await entries.void_entry(
                db,
                actor=staff.user,
                entry_id=entry_id,
                reason=form_text(form, "reason"),
                expected_version=form_version(form),
            )

        return await self._act(
            request, db, staff, project_id, key=f"entry-{entry_id}", done="voided", write=write
        )

    @post("/rates", name="coordinator_budget_rate")
    async def rate(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Record the rate for the derived figures in one currency."""

        async def write(form: FormMultiDict) -> None:
            await entries.set_rate(
                db,
                actor=staff.user,
                project_id=project_id,
                currency=form_text(form, "currency"),
                rate=form_text(form, "rate"),
                expected_version=form_version(form),
            )

        return await self._act(request, db, staff, project_id, key="rates", done="rate", write=write)
