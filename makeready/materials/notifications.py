"""Who is told about a shortage (the composition root registers RULES).

When a shortage is raised its owner is told which materials are missing, in their language: the project's
coordinator (agency or factory materials), or the brand's owner when the brand supplies them all (free issue), in
which case the brand's other owners and members are told too, with a link to the brand's materials page. When it is
still open after its ladder's delay the project's coordinator is told, as for production's own conditions.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from makeready import urls
from makeready.accounts.models import User
from makeready.conditions import kinds
from makeready.conditions.models import Condition
from makeready.db.types import utcnow
from makeready.i18n import normalize
from makeready.kernel.bus import Event, Rule
from makeready.materials import shortages
from makeready.materials.readiness import Line, lines_of
from makeready.notify.service import notify
from makeready.production.models import Lot, ProductionOrder
from makeready.projects.access import brand_writers, load_project, user_by_id


def _materials(lines: list[Line], locale: str | None) -> str:
    """The missing materials in the reader's language where the BOM has it (names are the BOM's, not msgids)."""
    chinese = normalize(locale) == "zh_Hans"
    names = []
    for line in lines:
        requirement = line.requirement
        name = (requirement.description_zh if chinese else "") or requirement.description_en
        names.append(f"{name or requirement.material_code} ({line.missing.normalize():f} {requirement.unit})")
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
    day = (event.now or utcnow()).date()
    lines = shortages.classify(await lines_of(session, order.id, today=day), today=day)[condition.kind]
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
                "materials": _materials(lines, user.locale),
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
