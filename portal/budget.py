"""The brand's budget of a project: `GET /projects/{id}/budget`, only what the brand pays: its milestone fees
(invoiced, or still to come) and the target it set itself. NEVER the agency's costs, the suppliers' or factories'
prices, the exchange rates or the margin: this page reads `summary.brand_fees`, never `summary.budget_of`. Another
organization's project is a 404 (the scoped session does not find it)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.billing import money
from makeready.budget import summary
from makeready.i18n import format_money, label
from portal.auth import Actor, provide_user
from portal.samples import load_project


class BrandBudgetPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/projects/{project_id:int}/budget", name="brand_budget")
    async def budget_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The project's fees to the brand, invoiced and to come, with their totals per currency."""
        project = await load_project(db, project_id)
        view = await summary.brand_fees(db, project)
        target = (
            project.target_unit_price * project.target_quantity
            if project.target_unit_price is not None and project.target_quantity
            else None
        )
        return Template(
            "portal/budget.html",
            context={
                "user": user,
                "project": project,
                "fees": view.fees,
                "invoiced": view.invoiced,
                "planned": view.planned,
                "target": target,
                "format_money": format_money,
                "format_minor": money.format_minor,
                "label": label,
            },
        )
