"""The agency dashboard: coordination figures over every project, read from the audit trail
(makeready.metrics), filtered by client, coordinator, factory and period; every table also as CSV.

- `/coordinator/metrics`: decision latency per kind (median, 90th percentile), first-pass rates, waiting by party
  per month (a stacked bar), milestone slip, and a page of the selected projects with what each waited on;
- `/coordinator/metrics/export.csv?table=...`: one of those tables for the same filters.

Staff only, behind the portal's coordinator guard like every coordinator page (backoffice.access). A fixed number of
statements whatever the number of projects or events (bench/metrics.py measures it against the board).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, Parameter
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import Staff, provide_staff
from backoffice.params import MAX_ID, PageNumber
from makeready.accounts.models import Organization, User
from makeready.db.types import utcnow
from makeready.errors import ValidationFailed
from makeready.i18n import _, use_locale
from makeready.metrics import export, figures, report
from makeready.metrics import pdf as metrics_pdf
from makeready.metrics.figures import Filters, Period
from makeready.metrics.kinds import PARTIES, PARTY_LABELS
from makeready.suppliers.models import Supplier

PAGE_SIZE = 50
PDF_PROJECTS = 100
CSV_ROWS = 10_000
OPTIONS_LIMIT = 500
DEFAULT_MONTHS = 6
OptionalId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
Month = Annotated[str, Parameter(max_length=7)]


def parse_month(value: str, default: date) -> date:
    """A month written YYYY-MM (its first day); blank is `default`."""
    value = value.strip()
    if not value:
        return default
    try:
        year, month = value.split("-")
        parsed = date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(_("Write months as YYYY-MM, for example 2026-03.")) from None
    if parsed.year < 2000:
        raise ValidationFailed(_("Write months as YYYY-MM, for example 2026-03.")) from None
    return parsed


def period_of(start: str, end: str, today: date) -> Period:
    default = Period.ending(today, DEFAULT_MONTHS)
    period = Period(parse_month(start, default.first), parse_month(end, default.last))
    if period.last < period.first:
        raise ValidationFailed(_("The period ends before it starts: choose a later end month."))
    if len(period.months) > report.MAX_MONTHS:
        raise ValidationFailed(
            _("Choose a period of at most %(months)d months.") % {"months": report.MAX_MONTHS}
        )
    return period


def csv_response(table: report.Table, name: str) -> Response[str]:
    header, rows = table
    return Response(
        export.to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def _options(db: AsyncSession) -> dict[str, Any]:
    """The filters' choices (bounded lists): clients, coordinators, factories."""
    clients = (
        await db.execute(
            select(Organization.id, Organization.name).order_by(Organization.name).limit(OPTIONS_LIMIT)
        )
    ).all()
    coordinators = (
        await db.execute(
            select(User.id, User.name, User.email)
            .where(User.is_staff | User.is_admin, User.is_active)
            .order_by(User.name, User.email)
            .limit(OPTIONS_LIMIT)
        )
    ).all()
    factories = (
        await db.execute(
            select(Supplier.id, Supplier.name_en)
            .where(Supplier.archived_at.is_(None))
            .order_by(Supplier.name_en)
            .limit(OPTIONS_LIMIT)
        )
    ).all()
    return {
        "clients": [(i, n) for i, n in clients],
        "coordinators": [(i, n or e) for i, n, e in coordinators],
        "factories": [(i, n) for i, n in factories],
    }


def bar_parts(waiting: figures.Waiting) -> list[dict[str, Any]]:
    """Each month's stacked bar: per party its days and its share of the largest month (percent)."""
    largest = waiting.largest_month() or 1
    return [
        {
            "month": month,
            "parts": [
                (
                    party,
                    figures.days(waiting.by_month[month][party]),
                    100 * waiting.by_month[month][party] / largest,
                )
                for party in PARTIES
            ],
            "total": figures.days(sum(waiting.by_month[month].values())),
        }
        for month in waiting.months
    ]


TABLES = ("latency", "first_pass", "waiting", "slip", "projects")


class MetricsPages(Controller):
    """The agency's coordination figures."""

    path = "/coordinator/metrics"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", name="coordinator_metrics")
    async def dashboard(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        start: FromQuery[Month] = "",
        end: FromQuery[Month] = "",
        client: FromQuery[OptionalId] = None,
        coordinator: FromQuery[OptionalId] = None,
        factory: FromQuery[OptionalId] = None,
        page: PageNumber = 1,
    ) -> Template:
        """Decision latency, first-pass rates, waiting by party and slip for the chosen projects and months."""
        now = utcnow()
        filters = Filters(
            period_of(start, end, now.date()), org_id=client, coordinator_id=coordinator, supplier_id=factory
        )
        found = await report.dashboard(db, filters, now=now, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        query = {
            "start": filters.period.first.strftime("%Y-%m"),
            "end": filters.period.last.strftime("%Y-%m"),
            "client": client or "",
            "coordinator": coordinator or "",
            "factory": factory or "",
        }
        return Template(
            "backoffice/metrics/dashboard.html",
            context={
                "user": staff,
                "report": found,
                "bars": bar_parts(found.waiting),
                "parties": [(p, PARTY_LABELS[p]) for p in PARTIES],
                "query": query,
                "page": page,
                "pages": max(1, -(-found.total // PAGE_SIZE)),
                "days": figures.days,
                "late": [r for r in found.slip.rows if r.days > 0][:20],
                **await _options(db),
            },
        )

    @get("/export.csv", name="coordinator_metrics_csv")
    async def table_csv(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        table: FromQuery[Annotated[str, Parameter(max_length=20)]] = "latency",
        start: FromQuery[Month] = "",
        end: FromQuery[Month] = "",
        client: FromQuery[OptionalId] = None,
        coordinator: FromQuery[OptionalId] = None,
        factory: FromQuery[OptionalId] = None,
    ) -> Response[str]:
        """One of the dashboard's tables as CSV, for the same filters (every project, not a page)."""
        if table not in TABLES:
            raise NotFoundException(_("Not found."))
        now = utcnow()
        filters = Filters(
            period_of(start, end, now.date()), org_id=client, coordinator_id=coordinator, supplier_id=factory
        )
        # only the table asked for is computed
        if table == "latency":
            rows = report.latency_table(await figures.latency(db, filters))
        elif table == "first_pass":
            rows = report.first_pass_table(await figures.first_pass(db, filters))
        elif table == "waiting":
            rows = report.waiting_table(await figures.waiting(db, filters, now=now))
        elif table == "slip":
            rows = report.slip_table(await figures.slip(db, filters, today=now.date()))
        else:
            found = await report.dashboard(db, filters, now=now, limit=CSV_ROWS)
            rows = report.projects_table(found.projects)
        return csv_response(rows, f"metrics-{table}-{filters.period.first:%Y-%m}-{filters.period.last:%Y-%m}")

    @get("/pdf", name="coordinator_metrics_pdf")
    async def report_pdf(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        start: FromQuery[Month] = "",
        end: FromQuery[Month] = "",
        client: FromQuery[OptionalId] = None,
        coordinator: FromQuery[OptionalId] = None,
        factory: FromQuery[OptionalId] = None,
        lang: FromQuery[Annotated[str, Parameter(max_length=10)]] = "en",
    ) -> Response[bytes]:
        """The dashboard for the period as a PDF report, in English or Chinese (the first projects by name)."""
        if lang not in metrics_pdf.LANGUAGES:
            raise ValidationFailed(
                _("Choose the report's language: English (en) or Chinese (zh_Hans)."), field="lang"
            )
        now = utcnow()
        filters = Filters(
            period_of(start, end, now.date()), org_id=client, coordinator_id=coordinator, supplier_id=factory
        )
        found = await report.dashboard(db, filters, now=now, limit=PDF_PROJECTS)
        data = await metrics_pdf.render(
            found, locale=lang, generated=now, scope=await _scope(db, filters, lang)
        )
        name = f"metrics-{filters.period.first:%Y-%m}-{filters.period.last:%Y-%m}-{lang}.pdf"
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


async def _scope(db: AsyncSession, filters: Filters, lang: str) -> list[tuple[str, str]]:
    """The filters applied, named for the report's cover line (in its language)."""
    found: list[tuple[str, str]] = []
    with use_locale(lang):
        if filters.org_id is not None:
            name = await db.scalar(select(Organization.name).where(Organization.id == filters.org_id))
            found.append((_("Client"), name or "—"))
        if filters.coordinator_id is not None:
            user = await db.scalar(select(User).where(User.id == filters.coordinator_id))
            found.append((_("Coordinator"), user.display_name if user else "—"))
        if filters.supplier_id is not None:
            name = await db.scalar(select(Supplier.name_en).where(Supplier.id == filters.supplier_id))
            found.append((_("Factory"), name or "—"))
    return found
