"""BOM explosion: from an order's frozen BOM snapshot to one requirement per material, and the service that stores
them (MaterialRequirement rows) and records what a recomputation changed.

Per material (its code, else its normalised name and unit), over the whole order:

    gross = round_up( sum over its lines of (order quantity x quantity per unit x (1 + scrap % / 100)
                                             + setup quantity),
                      to the pack size (or to a whole unit for counted units) )

need date     = the earliest open lot's planned start - KITTING_BUFFER_DAYS
order-by date = need date - lead time - TRANSIT_DAYS[party] - INSPECTION_DAYS[party]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import ValidationFailed
from makeready.i18n import _
from makeready.materials.models import MaterialRequirement
from makeready.production.models import Lot, LotStatus, ProductionOrder

KITTING_BUFFER_DAYS = 3
"""Days before a lot starts by which its materials must be in house: counted, kitted and at the line."""
TRANSIT_DAYS = {"agency": 5, "brand": 7, "factory": 0, "": 5}
"""Days from the material supplier to the factory: the agency's suppliers ship domestically (about five days), the
brand's free issue usually crosses a border (a week); the factory's own lead time already includes delivery."""
INSPECTION_DAYS = {"agency": 2, "brand": 2, "factory": 1, "": 2}
"""Days of incoming inspection at the factory before a material counts as usable."""
COUNTED_UNITS = frozenset({"pcs", "set", "pair", "roll", "sheet", "box", "ctn"})
"""Units that only come whole: a requirement in them is rounded up to a whole number."""
UNIT_ALIASES = {"pc": "pcs", "piece": "pcs", "pieces": "pcs", "sets": "set", "pairs": "pair", "rolls": "roll"}
MAX_GROSS = Decimal("1000000000000")
"""Larger than any real requirement: a BOM typo of a few extra zeros is refused rather than bought."""


@dataclass(frozen=True)
class Need:
    """One material of an order, exploded (pure data: no dates, no rows)."""

    key: str
    code: str
    description_en: str
    description_zh: str
    unit: str
    gross: Decimal
    supplied_by: str
    material_supplier: str
    lead_time_days: int
    lines: int


def normal_unit(unit: str) -> str:
    text = re.sub(r"\s+", " ", (unit or "").strip().lower()) or "pcs"
    return UNIT_ALIASES.get(text, text)


def material_key(line: dict[str, Any]) -> str:
    """The code if the line has one, else the normalised material (or part) name and unit."""
    code = str(line.get("material_code") or "").strip().upper()
    if code:
        return f"code:{code}"
    name = _text(line.get("material")) or _text(line.get("part"))
    words = " ".join(name.split()).lower()
    return f"name:{words}|{normal_unit(str(line.get('unit') or ''))}"


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("en") or "")
    return str(value or "")


def _zh(value: Any) -> str:
    return str(value.get("zh") or "") if isinstance(value, dict) else ""


def _decimal(value: Any, default: str = "0") -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else default))
    except InvalidOperation:
        raise ValidationFailed(_("The BOM holds a quantity that is not a number.")) from None
    if not number.is_finite() or number < 0:
        raise ValidationFailed(_("The BOM holds a negative or invalid quantity."))
    return number


def round_up(value: Decimal, *, pack: Decimal, unit: str) -> Decimal:
    """Up to a whole number of packs (the MOQ or pack size); else up to a whole unit for counted units."""
    if pack > 0:
        packs = (value / pack).to_integral_value(rounding=ROUND_CEILING)
        return packs * pack
    if unit in COUNTED_UNITS:
        return value.to_integral_value(rounding=ROUND_CEILING)
    return value.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)


def explode(bom: list[dict[str, Any]], quantity: int) -> list[Need]:
    """Aggregate the BOM lines of an order of `quantity` units into one need per material, in BOM order.

    Refuses (ValidationFailed) one material code used with two units: metres are not added to pieces."""
    if quantity < 0:
        raise ValidationFailed(_("The order quantity cannot be negative."))
    groups: dict[str, list[dict[str, Any]]] = {}
    for line in bom:
        groups.setdefault(material_key(line), []).append(line)
    needs = []
    for key, lines in groups.items():
        units = {normal_unit(str(line.get("unit") or "")) for line in lines}
        if len(units) > 1:
            raise ValidationFailed(
                _("Material %(code)s is used in %(units)s: one material is planned in one unit.")
                % {"code": key.removeprefix("code:"), "units": ", ".join(sorted(units))},
                field="bom",
            )
        (unit,) = units
        total = Decimal(0)
        for line in lines:
            per_unit = _decimal(line.get("quantity"), "1")
            scrap = _decimal(line.get("scrap_percent"))
            setup = _decimal(line.get("setup_quantity"))
            total += quantity * per_unit * (1 + scrap / 100) + setup
        pack = max(_decimal(line.get("pack_size")) for line in lines)
        gross = round_up(total, pack=pack, unit=unit)
        if gross > MAX_GROSS:
            raise ValidationFailed(
                _("The requirement for %(material)s is absurdly large: check the BOM's quantities.")
                % {"material": _text(lines[0].get("material")) or key},
                field="bom",
            )
        parties = [str(line.get("supplied_by") or "") for line in lines]
        first = lines[0]
        needs.append(
            Need(
                key=key,
                code=str(first.get("material_code") or "").strip().upper(),
                description_en=_text(first.get("material")) or _text(first.get("part")),
                description_zh=_zh(first.get("material")) or _zh(first.get("part")),
                unit=unit,
                gross=gross,
                # a material one line leaves unassigned is unassigned: someone must still decide who buys it
                supplied_by="" if "" in parties else parties[0],
                material_supplier=next(
                    (str(li.get("material_supplier")) for li in lines if li.get("material_supplier")), ""
                ),
                lead_time_days=max(int(line.get("lead_time_days") or 0) for line in lines),
                lines=len(lines),
            )
        )
    return needs


def need_date(lot_starts: list[date], fallback: date) -> date:
    """The earliest lot's start less the kitting buffer (the ex-factory date's when there is no lot yet)."""
    return min(lot_starts, default=fallback) - timedelta(days=KITTING_BUFFER_DAYS)


def order_by_date(need: date, *, lead_time_days: int, supplied_by: str) -> date:
    return need - timedelta(
        days=lead_time_days + TRANSIT_DAYS.get(supplied_by, 5) + INSPECTION_DAYS.get(supplied_by, 2)
    )


# -- the service ------------------------------------------------------------------------------------------------


async def lot_starts(session: AsyncSession, order_id: int) -> list[date]:
    rows = await session.scalars(
        select(Lot.planned_start).where(Lot.order_id == order_id, Lot.status != LotStatus.cancelled)
    )
    return list(rows.all())


async def requirements_of(
    session: AsyncSession, order_id: int, *, active_only: bool = True
) -> list[MaterialRequirement]:
    query = select(MaterialRequirement).where(MaterialRequirement.order_id == order_id)
    if active_only:
        query = query.where(MaterialRequirement.active.is_(True))
    return list((await session.scalars(query.order_by(MaterialRequirement.id))).all())


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


async def compute_requirements(
    session: AsyncSession, order: ProductionOrder, *, actor: User | None, reason: str = ""
) -> dict[str, dict[str, Any]]:
    """Explode the order's frozen BOM and store its requirements; returns (and records in the audit trail) what
    changed per material: {key: {"gross": [before, after], "need_date": [...], ...}}."""
    needs = explode(list(order.bom_snapshot or []), order.quantity)
    need = need_date(await lot_starts(session, order.id), order.ex_factory_date)
    existing = {r.material_key: r for r in await requirements_of(session, order.id, active_only=False)}
    changes: dict[str, dict[str, Any]] = {}
    created: list[dict[str, Any]] = []
    seen = set()
    for item in needs:
        seen.add(item.key)
        by = order_by_date(need, lead_time_days=item.lead_time_days, supplied_by=item.supplied_by)
        row = existing.get(item.key)
        described = {
            "material_code": item.code,
            "description_en": item.description_en,
            "description_zh": item.description_zh,
            "unit": item.unit,
            "supplied_by": item.supplied_by,
            "material_supplier": item.material_supplier,
            "lead_time_days": item.lead_time_days,
            "bom_lines": item.lines,
        }
        if row is None:
            # new materials go in one batched INSERT (an order's first explosion creates hundreds of rows)
            created.append(
                {
                    "org_id": order.org_id,
                    "order_id": order.id,
                    "project_id": order.project_id,
                    "material_key": item.key,
                    "gross": item.gross,
                    "need_date": need,
                    "order_by_date": by,
                    "active": True,
                    **described,
                }
            )
            changes[item.key] = {"gross": [None, _num(item.gross)], "need_date": [None, need.isoformat()]}
            continue
        change: dict[str, Any] = {}
        if row.gross != item.gross or not row.active:
            change["gross"] = [_num(row.gross) if row.active else None, _num(item.gross)]
            row.previous_gross = row.gross if row.active else None
            row.gross = item.gross
        if row.need_date != need:
            change["need_date"] = [row.need_date.isoformat(), need.isoformat()]
            row.need_date = need
        if row.order_by_date != by:
            change["order_by_date"] = [row.order_by_date.isoformat(), by.isoformat()]
            row.order_by_date = by
        if row.supplied_by != item.supplied_by:
            change["supplied_by"] = [row.supplied_by, item.supplied_by]
        if change:
            changes[item.key] = change
        row.active = True
        for name, value in described.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    for key, row in existing.items():
        if key not in seen and row.active:
            row.active = False
            row.previous_gross = row.gross
            changes[key] = {"gross": [_num(row.gross), None]}
    await session.flush()
    if created:
        await session.execute(insert(MaterialRequirement), created)
    if changes:
        await audit.record(
            session,
            actor_id=actor.id if actor is not None else None,
            action="material_requirements.recomputed",
            subject_type="production_order",
            subject_id=order.id,
            org_id=order.org_id,
            project_id=order.project_id,
            after={"changes": changes, "reason": reason},
        )
    return changes


async def open_requirement_count(session: AsyncSession, order_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(MaterialRequirement.id)).where(
                MaterialRequirement.order_id == order_id, MaterialRequirement.active.is_(True)
            )
        )
        or 0
    )
