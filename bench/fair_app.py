"""A fair baseline for the scale benchmark: what any Litestar + SQLAlchemy page on the same database costs.

A bare Litestar app with an encrypted cookie session (GET /login sets it, every page reads it), SQLAlchemy async on
DATABASE_URL (the benchmark's seeded database), one indexed query returning 25 ORM rows (an organization's newest
projects) and a 25-row Jinja table (bench/templates/bare.html). No CSRF, tenancy, i18n, audit or domain logic:
the gap between this page and the portal's is what those cost. Served by bench/scale.py with
`uvicorn --app-dir bench fair_app:app`; FAIR_ORG_ID names the organization whose projects it lists.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, get
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from sqlalchemy import Date, DateTime, Integer, Numeric, String, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HERE = Path(__file__).resolve().parent
ORG_ID = int(os.environ.get("FAIR_ORG_ID", "1"))


class Base(DeclarativeBase):
    pass


class Project(Base):
    """The columns of the portal's projects table that a list shows."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(20))
    target_date: Mapped[date | None] = mapped_column(Date)
    target_unit_price: Mapped[Any] = mapped_column(Numeric(12, 2))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


engine: AsyncEngine = create_async_engine(os.environ["DATABASE_URL"], pool_size=5, max_overflow=10)
Session = async_sessionmaker(engine, expire_on_commit=False)


@get("/login", sync_to_thread=False)
def login(request: Request[Any, Any, Any]) -> dict[str, str]:
    request.set_session({"user_id": 1, "org_id": ORG_ID})
    return {"ok": "yes"}


@get("/", sync_to_thread=False)
def health() -> str:
    return "ok"


@get("/page")
async def page(request: Request[Any, Any, Any]) -> Template:
    """25 ORM rows by an indexed query, drawn as a table."""
    org_id = request.session.get("org_id")
    if org_id is None:
        raise NotAuthorizedException()
    async with Session() as session:
        rows = (
            await session.scalars(
                select(Project)
                .where(Project.org_id == org_id)
                .order_by(Project.updated_at.desc(), Project.id.desc())
                .limit(25)
            )
        ).all()
    table = [
        {
            "id": p.id,
            "name": p.name,
            "client": "Bench Brand",
            "phase": p.phase,
            "next_milestone": "First sample",
            "due": p.target_date.isoformat() if p.target_date else "",
            "late": p.id % 4 == 0,
            "price": f"${p.target_unit_price or 0:,.2f}",
        }
        for p in rows
    ]
    return Template(
        "bare.html", context={"rows": table, "user_name": "Bench Owner", "page": 1, "pages": 8, "total": 200}
    )


@asynccontextmanager
async def lifespan(_app: Litestar) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = Litestar(
    route_handlers=[login, health, page],
    middleware=[
        CookieBackendConfig(
            secret=hashlib.sha256(os.environ.get("SECRET_KEY", "fair").encode()).digest()
        ).middleware
    ],
    template_config=TemplateConfig(
        engine=JinjaTemplateEngine.from_environment(
            Environment(
                loader=FileSystemLoader(HERE / "templates"),
                autoescape=select_autoescape(default=True, default_for_string=True),
                auto_reload=False,
            )
        )
    ),
    lifespan=[lifespan],
    debug=False,
)
