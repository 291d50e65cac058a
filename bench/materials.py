"""Materials benchmark: the explosion and readiness of an order with 300 BOM lines and 20 lots, and the agency's
shortages page query with 1,000 open shortage conditions, timed, with the SQL statements each sends (they must not
grow with the BOM, the lots or the page number).

Run `.venv/bin/python bench/materials.py` (SQLite in a temporary file) or with `--url postgresql+asyncpg://...` on a
database you created (its tables are created from the models and dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402

from makeready import composition  # noqa: E402
from makeready import models as _models  # noqa: E402,F401  (every table)
from makeready.accounts.models import Organization, User  # noqa: E402
from makeready.conditions.models import Condition, ConditionStatus  # noqa: E402
from makeready.db.base import Base  # noqa: E402
from makeready.db.session import make_sessionmaker  # noqa: E402
from makeready.db.tenancy import Scope, set_scope  # noqa: E402
from makeready.db.types import utcnow  # noqa: E402
from makeready.materials import views  # noqa: E402
from makeready.materials.explosion import compute_requirements  # noqa: E402
from makeready.materials.readiness import lines_of, lot_start_missing  # noqa: E402
from makeready.production.models import Lot, LotStatus, OrderStatus, ProductionOrder  # noqa: E402
from makeready.projects.models import Phase, Project  # noqa: E402
from makeready.specs.models import RevisionStatus, SpecRevision  # noqa: E402
from makeready.suppliers.models import Supplier  # noqa: E402

PARTIES = ("agency", "brand", "factory")


def bom(lines: int) -> list[dict[str, Any]]:
    """`lines` BOM lines; every third shares a material code with another (the same screw in two assemblies)."""
    return [
        {
            "id": f"b{n}",
            "part": {"en": f"Part {n}", "zh": f"零件{n}"},
            "material": {"en": f"Material {n // 2}", "zh": f"材料{n // 2}"},
            "material_code": f"MAT-{n // 2}" if n % 3 else "",
            "quantity": str(1 + n % 5),
            "unit": "pcs",
            "scrap_percent": "2",
            "setup_quantity": "10",
            "pack_size": "100",
            "supplied_by": PARTIES[n % 3],
            "lead_time_days": 10 + n % 20,
        }
        for n in range(lines)
    ]


class Counter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, *_args: Any) -> None:
        self.count += 1


async def timed(
    engine: AsyncEngine, counter: Counter, work: Callable[[Any], Awaitable[Any]], runs: int
) -> tuple[float, int]:
    """Median milliseconds and statements of `work(session)` over `runs` runs, each in its own transaction."""
    times, statements = [], set()
    for _ in range(runs):
        async with make_sessionmaker(engine)() as session:
            set_scope(session, Scope.system())
            async with session.begin():
                before = counter.count
                start = time.perf_counter()
                await work(session)
                times.append((time.perf_counter() - start) * 1000)
                statements.add(counter.count - before)
    return statistics.median(times), max(statements)


async def seed(engine: AsyncEngine, *, lines: int, lots: int, conditions: int) -> tuple[int, int]:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            org = Organization(name="Bench Brand")
            coordinator = User(
                email="coord@bench.example",
                name="Coordinator",
                password_hash="!",  # noqa: S106 - no password: this user never logs in
                is_staff=True,
            )
            session.add_all([org, coordinator])
            await session.flush()
            project = Project(
                org_id=org.id, name="Bench lamp", phase=Phase.production, coordinator_id=coordinator.id
            )
            supplier = Supplier(name_en="Bench Factory", name_zh="工厂", city="Dongguan")
            session.add_all([project, supplier])
            await session.flush()
            revision = SpecRevision(
                org_id=org.id,
                project_id=project.id,
                number=1,
                status=RevisionStatus.issued,
                content={"bom": bom(lines)},
                issued_at=utcnow(),
            )
            session.add(revision)
            await session.flush()
            start = utcnow().date() + timedelta(days=30)
            order = ProductionOrder(
                org_id=org.id,
                project_id=project.id,
                number=1,
                supplier_id=supplier.id,
                revision_id=revision.id,
                status=OrderStatus.confirmed,
                quantity=lots * 500,
                ex_factory_date=start + timedelta(days=lots * 7),
                bom_snapshot=bom(lines),
            )
            session.add(order)
            await session.flush()
            for n in range(lots):
                day = start + timedelta(days=n * 7)
                session.add(
                    Lot(
                        org_id=org.id,
                        order_id=order.id,
                        project_id=project.id,
                        number=n + 1,
                        quantity=500,
                        planned_start=day,
                        planned_end=day + timedelta(days=6),
                        revision_id=revision.id,
                        status=LotStatus.planned,
                    )
                )
            now = utcnow()
            for n in range(conditions):
                session.add(
                    Condition(
                        org_id=org.id,
                        project_id=project.id,
                        kind="shortage.late",
                        subject_type="lot",
                        subject_id=1_000_000 + n,
                        owner_id=coordinator.id,
                        status=ConditionStatus.open,
                        raised_at=now - timedelta(minutes=n),
                    )
                )
            await session.flush()
            return order.id, org.id


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="")
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--lots", type=int, default=20)
    parser.add_argument("--conditions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    composition.wire()
    folder = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite+aiosqlite:///{folder.name}/bench.db"
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        order_id, _org = await seed(engine, lines=args.lines, lots=args.lots, conditions=args.conditions)
        counter = Counter(engine)

        async def load(session: Any) -> ProductionOrder:
            return await session.get(ProductionOrder, order_id)

        async def explode(session: Any) -> None:
            await compute_requirements(session, await load(session), actor=None, reason="bench")

        async def readiness(session: Any) -> None:
            await lines_of(session, order_id)

        async def gate(session: Any) -> None:
            order = await load(session)
            lot = await session.get(Lot, 1)
            await lot_start_missing(session, lot=lot, order=order)

        def page(number: int) -> Callable[[Any], Awaitable[Any]]:
            async def run(session: Any) -> None:
                await views.agency_overview(session, page=number, today=date.today())

            return run

        print(
            f"BOM lines {args.lines}, lots {args.lots}, open shortage conditions {args.conditions}, {url.split(':')[0]}"
        )
        ms, statements = await timed(engine, counter, explode, 1)
        print(f"{'explosion, first (creates the rows)':38s} {ms:8.1f} ms          {statements:3d} statements")
        for name, work in (
            ("explosion, recompute (nothing moved)", explode),
            ("readiness of every material", readiness),
            ("lot-start gate", gate),
            ("shortages page 1", page(1)),
            ("shortages page 20", page(20)),
        ):
            ms, statements = await timed(engine, counter, work, args.runs)
            print(f"{name:38s} {ms:8.1f} ms median  {statements:3d} statements")
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
        await engine.dispose()
        folder.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
