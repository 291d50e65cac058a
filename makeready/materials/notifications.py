"""Who is told about a shortage (the composition root registers RULES).

When a shortage is raised its owner is told which materials are missing, in their language: the project's
coordinator (agency or factory materials), or the brand's owner when the brand supplies them all (free issue), in
which case the brand's other owners and members are told too, with a link to the brand's materials page. When it is
still open after its ladder's delay the project's coordinator is told, as for production's own conditions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.i18n import normalize
from makeready.kernel.bus import Event, Rule
from makeready.materials import shortages
from makeready.materials.models import MaterialRequirement
from makeready.notify.service import notify
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.access import brand_writers, load_project, user_by_id


async def _missing(
    session: AsyncSession, condition: Condition
) -> list[tuple[MaterialRequirement | None, dict[str, Any]]]:
    """The materials named when the shortage was raised (its audit event), with their requirements."""
    details = await session.scalar(
        select(AuditEvent.after)
        .where(
            AuditEvent.action == condition.kind,
            AuditEvent.subject_type == "condition",
            AuditEvent.subject_id == condition.id,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    materials: list[dict[str, Any]] = list((details or {}).get("materials") or [])
    ids = [int(m["requirement_id"]) for m in materials if m.get("requirement_id") is not None]
    rows = await session.scalars(select(MaterialRequirement).where(MaterialRequirement.id.in_(ids)))
    requirements = {r.id: r for r in rows.all()}
    return [(requirements.get(int(m.get("requirement_id") or 0)), m) for m in materials]


def _materials(missing: list[tuple[MaterialRequirement | None, dict[str, Any]]], locale: str | None) -> str:
    """The missing materials in the reader's language where the BOM has it (names are the BOM's, not msgids)."""
    chinese = normalize(locale) == "zh_Hans"
    names = []
    for requirement, material in missing:
        name = (requirement.description_zh if chinese and requirement is not None else "") or material[
            "material"
        ]
        quantity = Decimal(str(material["missing"])).normalize()
        names.append(f"{name} ({quantity:f} {material['unit']})")
    return ", ".join(names)


async def _order_of(session: AsyncSession, condition: Condition) -> ProductionOrder | None:
    lot = await session.get(Lot, condition.subject_id)
    return await session.get(ProductionOrder, lot.order_id) if lot is not None else None


async def tell_owner_raised(session: AsyncSession, event: Event) -> None:
    condition: Condition = event.subject
    order = await _order_of(session, condition)
    if order is None:
        return
    project = await load_project(session, order.project_id)
    missing = await _missing(session, condition)
    brand = await brand_writers(session, order.org_id)
    brand_owns = any(user.id == condition.owner_id for user in brand)
    recipients: list[User] = list(brand) if brand_owns else []
    if not brand_owns:
        owner = await user_by_id(session, condition.owner_id or project.coordinator_id)
        recipients = [owner] if owner is not None else []
    for user in recipients:
        await notify(
            session,
            user=user,
            kind="materials_shortage",
            params={
                "project": project.name,
                "order": order.reference,
                "problem": kinds.get(condition.kind).title,
                "materials": _materials(missing, user.locale),
            },
            project_id=project.id,
            link=urls.brand_order_materials(order.id) if brand_owns else urls.order_materials(order.id),
        )


async def tell_coordinator_escalated(session: AsyncSession, event: Event) -> None:
    condition: Condition = event.subject
    order = await _order_of(session, condition)
    if order is None:
        return
    project = await load_project(session, order.project_id)
    coordinator = await user_by_id(session, project.coordinator_id)
    if coordinator is None:
        return
    await notify(
        session,
        user=coordinator,
        kind="production_escalated",
        params={
            "project": project.name,
            "order": order.reference,
            "problem": kinds.get(condition.kind).title,
        },
        project_id=project.id,
        link=urls.order_materials(order.id),
    )


RULES: list[tuple[str, Rule]] = [
    *((kind.name, tell_owner_raised) for kind in shortages.KINDS),
    *((step.event, tell_coordinator_escalated) for kind in shortages.KINDS for step in kind.ladder),
]
