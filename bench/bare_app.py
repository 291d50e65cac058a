"""The ceiling the portal is measured against: Litestar + Jinja2 rendering a dashboard-like page, no database.

One GET page, a layout and a table of 25 static rows, autoescaped, comparable in size and shape to the portal's
project list, but without sessions, CSRF, tenancy, SQL or i18n. Served by bench/portal_throughput.py with
`uvicorn --app-dir bench bare_app:app`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

HERE = Path(__file__).resolve().parent
PHASES = ["feasibility", "development", "production"]
MILESTONES = ["Feasibility review", "Supplier selection", "First sample", "Production run", "Shipment"]
START = date(2026, 1, 5)

ROWS = [
    {
        "id": n,
        "name": f"Bench product {n:04d}",
        "client": "Bench Brand",
        "phase": PHASES[n % len(PHASES)],
        "next_milestone": MILESTONES[n % len(MILESTONES)],
        "due": (START + timedelta(days=3 * n)).isoformat(),
        "late": n % 4 == 0,
        "price": f"${Decimal(12) + Decimal(n) / 4:,.2f}",
    }
    for n in range(1, 26)
]


@get("/", sync_to_thread=False)
def page() -> Template:
    """The dashboard-shaped page."""
    return Template(
        "bare.html", context={"rows": ROWS, "user_name": "Bench Owner", "page": 1, "pages": 8, "total": 200}
    )


def build_jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )


app = Litestar(
    route_handlers=[page],
    template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(build_jinja())),
    debug=False,
)
