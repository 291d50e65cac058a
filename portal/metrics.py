"""A project's own coordination figures, for its brand (and staff): how long its decisions took, whom it waited
on each month, first-pass rates, milestone slip and the due dates that moved, with their reasons; every table also
as CSV. Read through the request's scoped session, so another organization's project is a 404 like everywhere."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.metrics import bar_parts, csv_response
from makeready.db.types import utcnow
from makeready.i18n import _
from makeready.metrics import figures, report
from makeready.metrics.kinds import PARTIES, PARTY_LABELS
from makeready.projects.access import load_project
from portal.auth import Actor, provide_user

TABLES = ("latency", "first_pass", "waiting", "slip", "moves")


async def _report(db: AsyncSession, project_id: int) -> tuple[Any, report.Report]:
    project = await load_project(db, project_id)
    found = await report.project(db, project.id, created=project.created_at.date(), now=utcnow())
    return project, found


class ProjectFigures(Controller):
    """The figures of one project."""

    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/projects/{project_id:int}/figures", name="project_figures")
    async def figures_page(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """Decision latency, waiting by party per month, first-pass rates and slip, since the project began."""
        project, found = await _report(db, project_id)
        return Template(
            "portal/metrics/figures.html",
            context={
                "user": user,
                "project": project,
                "report": found,
                "bars": bar_parts(found.waiting),
                "parties": [(p, PARTY_LABELS[p]) for p in PARTIES],
                "days": figures.days,
            },
        )

    @get("/projects/{project_id:int}/figures.csv", name="project_figures_csv")
    async def figures_csv(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        table: FromQuery[Annotated[str, Parameter(max_length=20)]] = "latency",
    ) -> Response[str]:
        """One of the project's figure tables as CSV."""
        if table not in TABLES:
            raise NotFoundException(_("Not found."))
        project, found = await _report(db, project_id)
        tables = {
            "latency": lambda: report.latency_table(found.latency),
            "first_pass": lambda: report.first_pass_table(found.first_pass),
            "waiting": lambda: report.waiting_table(found.waiting),
            "slip": lambda: report.slip_table(found.slip),
            "moves": lambda: report.moves_table(found.moves),
        }
        return csv_response(tables[table](), f"project-{project.id}-{table}")
