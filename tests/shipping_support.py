"""Arrangements for the shipping tests: an accepted order whose lots are taken through production and inspection by
the services, a factory's packing list form, and the People of production_support made from the HTTP `world`."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.types import utcnow
from makeready.production import lots as lot_service
from makeready.production.models import Lot, LotStatus, ProductionOrder
from makeready.projects.models import Phase, Project
from makeready.specs.models import RevisionStatus, SpecRevision
from tests.conftest import World, csrf
from tests.production_support import BOM, Arranged, arrange_project, make_order
from tests.workflow_support import People, call_as, session_as, system


def people_of(world: World) -> People:
    return People(
        org_a=world.org_a,
        org_b=world.org_b,
        owner_a=world.owner_a,
        member_a=world.member_a,
        viewer_a=world.viewer_a,
        owner_b=world.owner_b,
        coordinator=world.coordinator,
        coordinator2=world.admin,
        admin=world.admin,
    )


@dataclass
class Running:
    arranged: Arranged
    order: ProductionOrder
    lots: list[Lot]
    token: str

    @property
    def project_id(self) -> int:
        return self.arranged.project.id

    @property
    def coordinator_page(self) -> str:
        return f"/coordinator/projects/{self.project_id}/shipping"


async def running_order(
    engine: AsyncEngine,
    people: People,
    *,
    lots: list[int] | None = None,
    packaging: list[dict[str, Any]] | None = None,
) -> Running:
    """An accepted order of three lots (1000 units each) in a project in production; `packaging` rows go into the
    issued revision's packaging section."""
    arranged = await arrange_project(engine, people, revision=packaging is None)
    if packaging is not None:
        async with system(engine) as session:  # issued here, with its content, in one write
            revision = await session.get_one(SpecRevision, arranged.revision.id)
            revision.content = {"bom": BOM, "packaging": packaging}
            revision.status = RevisionStatus.issued
            revision.issued_at = utcnow()
        arranged.revision = revision
    order, made, token = await make_order(
        engine,
        people,
        arranged,
        quantity=sum(lots or [1000, 1000, 1000]),
        lots=lots or [1000, 1000, 1000],
        state="accepted",
    )
    assert token is not None
    async with system(engine) as session:
        project = await session.get_one(Project, arranged.project.id)
        project.phase = Phase.production
    return Running(arranged, order, made, token)


async def produce(engine: AsyncEngine, people: People, running: Running, lot: Lot) -> None:
    """Start the lot, report it finished (produced)."""
    await call_as(engine, people, people.coordinator, lot_service.start_lot, lot_id=lot.id)
    async with session_as(engine, people, None) as session:
        loaded = await session.get_one(Lot, lot.id)
        await lot_service.report_progress(
            session,
            lot=loaded,
            counts={
                "cut": loaded.quantity,
                "assembled": loaded.quantity,
                "finished": loaded.quantity,
                "packed": 0,
            },
            reporter_name="Wang Lei",
            via_link=True,
        )


async def pass_inspection(engine: AsyncEngine, people: People, lot: Lot) -> None:
    """What the quality package does for a lot: inspect it and pass it."""
    async with session_as(engine, people, None) as session:
        loaded = await session.get_one(Lot, lot.id)
        await lot_service.move_lot(session, loaded, "inspect", actor=None)
        await lot_service.move_lot(session, loaded, "pass_inspection", actor=None)


async def lot_status(engine: AsyncEngine, lot_id: int) -> LotStatus:
    async with system(engine) as session:
        return (await session.scalars(select(Lot.status).where(Lot.id == lot_id))).one()


def png(colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


def packing_form(
    rows: list[dict[str, Any]],
    *,
    marks: str = "ARC PENDANT / PO / C/NO. 1-250",
    name: str = "王磊",
    reason: str = "",
    lang: str = "",
) -> dict[str, Any]:
    fields = ("first", "last", "units_per_carton", "length_cm", "width_cm", "height_cm", "net_kg", "gross_kg")
    data: dict[str, Any] = {name_: [str(row.get(name_, "")) for row in rows] for name_ in fields}
    data.update(marks=marks, name=name, difference_reason=reason, lang=lang)
    return data


FULL_LOT = [
    {
        "first": 1,
        "last": 250,
        "units_per_carton": 4,
        "length_cm": "60",
        "width_cm": "40",
        "height_cm": "35",
        "net_kg": "8.2",
        "gross_kg": "9.1",
    }
]


async def submit_packing(
    client: AsyncTestClient[Litestar],
    running: Running,
    lot: Lot,
    rows: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> Any:
    return await client.post(
        f"/p/{running.token}/packing/{lot.id}",
        data=packing_form(rows if rows is not None else FULL_LOT, **kw),
        files=[
            ("photo_carton", ("carton.png", png(), "image/png")),
            ("photo_label", ("label.png", png((20, 20, 20)), "image/png")),
        ],
        follow_redirects=False,
    )


async def staff_post(client: AsyncTestClient[Litestar], url: str, data: dict[str, Any] | None = None) -> Any:
    return await client.post(url, data={**(data or {}), "_csrf_token": csrf(client)}, follow_redirects=False)
