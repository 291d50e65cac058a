"""The defect tracker: defects across lots and orders by type, class and factory (Pareto), a page of them, and the
first-pass inspection yield per factory (final inspections accepted on their first submission)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.production.models import Lot
from makeready.projects.models import Project
from makeready.quality.models import Defect, Inspection, InspectionKind
from makeready.suppliers.models import Supplier

PAGE_SIZE = 25


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int
    share: float
    """Of all the defects counted, 0..1."""
    cumulative: float


@dataclass(frozen=True)
class DefectRow:
    defect: Defect
    reference: str
    project: str
    supplier: str
    lot_number: int
    at: datetime


@dataclass(frozen=True)
class Filters:
    supplier_id: int | None = None
    defect_class: str = ""
    defect_type: str = ""


def _filtered(query: Any, filters: Filters) -> Any:
    if filters.supplier_id is not None:
        query = query.where(Defect.supplier_id == filters.supplier_id)
    if filters.defect_class:
        query = query.where(Defect.defect_class == filters.defect_class)
    if filters.defect_type:
        query = query.where(Defect.defect_type == filters.defect_type)
    return query


def pareto(counts: Iterable[tuple[str, str, int]]) -> list[Bar]:
    """Bars from the largest down, each with its share and the running share (the Pareto line)."""
    rows = sorted(counts, key=lambda row: (-row[2], row[1]))
    total = sum(row[2] for row in rows) or 1
    bars, running = [], 0
    for key, label, count in rows:
        running += count
        bars.append(Bar(key, label, count, count / total, running / total))
    return bars


async def counts_by(session: AsyncSession, column: str, filters: Filters) -> list[tuple[str, int]]:
    attribute = {"type": Defect.defect_type, "class": Defect.defect_class, "supplier": Defect.supplier_id}[
        column
    ]
    query = _filtered(select(attribute, func.count(Defect.id)).group_by(attribute), filters)
    return [(str(key), int(n)) for key, n in (await session.execute(query)).all()]


async def supplier_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Supplier.id, Supplier.name_en).where(Supplier.id.in_(wanted)))
    return {int(i): name for i, name in rows.all()}


async def defect_page(
    session: AsyncSession, filters: Filters, *, page: int = 1
) -> tuple[list[DefectRow], int]:
    base = _filtered(select(Defect.id), filters)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = _filtered(
        select(Defect, Inspection, Project.name, Supplier.name_en, Lot.number)
        .join(Inspection, Inspection.id == Defect.inspection_id)
        .join(Project, Project.id == Inspection.project_id)
        .join(Supplier, Supplier.id == Defect.supplier_id)
        .join(Lot, Lot.id == Inspection.lot_id),
        filters,
    )
    rows = (
        await session.execute(
            query.order_by(Defect.created_at.desc(), Defect.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    return [
        DefectRow(defect, inspection.reference, project, supplier, lot_number, defect.created_at)
        for defect, inspection, project, supplier, lot_number in rows
    ], int(total)


@dataclass(frozen=True)
class Yield:
    supplier_id: int
    name: str
    first_pass: int
    inspected: int

    @property
    def rate(self) -> float | None:
        return self.first_pass / self.inspected if self.inspected else None


async def first_pass_yield(session: AsyncSession, supplier_ids: Iterable[int] | None = None) -> list[Yield]:
    """Per factory: its lots' first final inspections that were submitted, and how many of them passed."""
    first = (
        select(Inspection.lot_id, func.min(Inspection.id).label("first_id"))
        .where(Inspection.kind == InspectionKind.final.value, Inspection.verdict != "")
        .group_by(Inspection.lot_id)
        .subquery()
    )
    query = (
        select(
            Inspection.supplier_id,
            func.count(Inspection.id),
            func.sum(case((Inspection.verdict == "accept", 1), else_=0)),
        )
        .join(first, first.c.first_id == Inspection.id)
        .group_by(Inspection.supplier_id)
    )
    if supplier_ids is not None:
        query = query.where(Inspection.supplier_id.in_(list(supplier_ids)))
    rows = (await session.execute(query)).all()
    names = await supplier_names(session, [r[0] for r in rows])
    return sorted(
        (Yield(int(s), names.get(int(s), str(s)), int(passed or 0), int(n)) for s, n, passed in rows),
        key=lambda y: y.name,
    )
