"""The demo agency behind `makeready demo`: two brands, agency staff, a supplier directory and projects in every phase.

Everything is created through the core service functions (accounts, projects) so the audit chain records it as it
would record real work; where no service exists yet (suppliers, phase changes, milestone progress) this module writes
the row and its audit event itself, in the same transaction. Seeding is idempotent: organizations, users, suppliers
and projects are found by their natural keys (name, email) and left alone when they exist, so running it again adds
nothing. Dates are relative to the day of the first seeding, so the board always looks current then.

The passwords are fixed and published (they are printed): `makeready demo` refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts import service as accounts
from makeready.accounts.models import Organization, OrgRole, User
from makeready.audit import service as audit
from makeready.projects import service as projects
from makeready.projects.models import Milestone, MilestoneStatus, Phase, Project
from makeready.suppliers.models import Supplier

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - published on purpose: the demo prints it
"""Every demo login uses this password."""


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    name: str
    role: str
    """owner / member / viewer of `org`, or coordinator / admin for agency staff."""
    org: str | None = None
    locale: str | None = None


AGENCY_STAFF = [
    DemoUser("coordinator", "chen.wei@makeready-agency.example", "Chen Wei", "coordinator"),
    DemoUser("admin", "alex.morgan@makeready-agency.example", "Alex Morgan", "admin"),
]

LUMEN = "Lumen & Oak"
KESTREL = "Kestrel Outdoor"

BRAND_USERS = [
    DemoUser("lumen_owner", "maya@lumenandoak.example", "Maya Lindqvist", "owner", LUMEN),
    DemoUser("lumen_member", "tom@lumenandoak.example", "Tom Okafor", "member", LUMEN),
    DemoUser("lumen_viewer", "priya@lumenandoak.example", "Priya Shah", "viewer", LUMEN),
    DemoUser("kestrel_owner", "jonas@kestreloutdoor.example", "Jonas Berg", "owner", KESTREL),
    DemoUser("kestrel_member", "lena@kestreloutdoor.example", "Lena Fischer", "member", KESTREL, "en"),
    DemoUser("kestrel_viewer", "wang.fang@kestreloutdoor.example", "Wang Fang", "viewer", KESTREL, "zh_Hans"),
]

ORGS = {LUMEN: "USD", KESTREL: "EUR"}

SUPPLIERS: list[dict[str, Any]] = [
    {
        "name_en": "Foshan Brightway Lighting Co., Ltd.",
        "name_zh": "佛山明途照明有限公司",
        "city": "Foshan",
        "province": "Guangdong",
        "capabilities": [
            "aluminium die-casting",
            "LED module assembly",
            "powder coating",
            "photometric testing",
        ],
        "certifications": ["ISO 9001:2015", "BSCI"],
        "contact_name": "Liang Jun (梁军)",
        "contact_email": "sales@brightway-lighting.example",
        "contact_phone": "+86 757 8660 0000",
        "notes": "Strong on die-cast housings; own integrating sphere for lumen and CRI reports.",
    },
    {
        "name_en": "Zhongshan Guzhen Lumiere Metalworks",
        "name_zh": "中山市古镇光艺五金制品厂",
        "city": "Zhongshan",
        "province": "Guangdong",
        "capabilities": ["brass CNC turning", "metal spinning", "electroplating", "hand polishing"],
        "certifications": ["ISO 9001:2015"],
        "contact_name": "He Lina (何丽娜)",
        "contact_email": "lina@lumiere-metal.example",
        "contact_phone": "+86 760 2218 0000",
        "notes": "Small batches welcome (MOQ 300); plating line in-house, so finish samples are quick.",
    },
    {
        "name_en": "Ningbo Haishu Glassworks Co., Ltd.",
        "name_zh": "宁波海曙玻璃制品有限公司",
        "city": "Ningbo",
        "province": "Zhejiang",
        "capabilities": ["mouth-blown glass", "opal and frosted glass", "borosilicate", "acid etching"],
        "certifications": ["ISO 9001:2015", "ISO 14001:2015"],
        "contact_name": "Xu Ming (徐明)",
        "contact_email": "export@haishu-glass.example",
        "contact_phone": "+86 574 8725 0000",
        "notes": "Mould lead time about 3 weeks; breakage in transit under 0.5 % with their egg-crate packing.",
    },
    {
        "name_en": "Quanzhou Fengze Bags & Luggage Co., Ltd.",
        "name_zh": "泉州丰泽箱包有限公司",
        "city": "Quanzhou",
        "province": "Fujian",
        "capabilities": ["technical backpacks", "cut and sew", "bar tacking", "seam taping"],
        "certifications": ["BSCI", "GRS 4.0", "ISO 9001:2015"],
        "contact_name": "Lin Zhiqiang (林志强)",
        "contact_email": "lin@fengze-bags.example",
        "contact_phone": "+86 595 2298 0000",
        "notes": "Makes for two European outdoor brands; 14 sewing lines, capacity about 60,000 bags a month.",
    },
    {
        "name_en": "Xiamen Huli Outdoor Textiles Co., Ltd.",
        "name_zh": "厦门湖里户外纺织品有限公司",
        "city": "Xiamen",
        "province": "Fujian",
        "capabilities": ["TPU lamination", "PU coating", "RF welding", "webbing weaving"],
        "certifications": ["OEKO-TEX Standard 100", "GRS 4.0", "bluesign system partner"],
        "contact_name": "Chen Yu (陈宇)",
        "contact_email": "yu.chen@huli-textiles.example",
        "contact_phone": "+86 592 5630 0000",
        "notes": "Welded roll-top dry bags; hydrostatic head tests to 20,000 mm in their own lab.",
    },
    {
        "name_en": "Yiwu Hengtai Hardware & Buckle Factory",
        "name_zh": "义乌市恒泰五金扣具厂",
        "city": "Yiwu",
        "province": "Zhejiang",
        "capabilities": ["POM buckle injection moulding", "zinc alloy die-casting", "webbing hardware"],
        "certifications": ["ISO 9001:2015", "REACH test reports"],
        "contact_name": "Zhou Hui (周慧)",
        "contact_email": "zhou@hengtai-hardware.example",
        "contact_phone": "+86 579 8552 0000",
        "notes": "Stock colours ship in a week; custom colours need 5,000 pieces.",
    },
]


@dataclass(frozen=True)
class DemoProject:
    org: str
    name: str
    category: str
    description: str
    quantity: int
    unit_price: str
    submitted_days_ago: int
    phase: Phase
    done: int
    """How many of the standard milestones (in order) are done."""
    in_progress: bool = True
    """Whether the next milestone has started."""
    hold_reason: str = ""


PROJECTS = [
    DemoProject(
        LUMEN,
        "Arc Pendant 40",
        "Pendant lamp",
        "Ø40 cm spun-aluminium pendant with an opal glass diffuser; 2700 K, CRI 95, dimmable.",
        1200,
        "38.50",
        100,
        Phase.production,
        done=5,
    ),
    DemoProject(
        LUMEN,
        "Tide Table Lamp",
        "Table lamp",
        "Brushed brass stem on a turned oak base, mouth-blown glass shade; touch dimmer.",
        800,
        "24.00",
        60,
        Phase.development,
        done=3,
    ),
    DemoProject(
        LUMEN,
        "Halo Wall Sconce",
        "Wall light",
        "Indirect-light ring sconce, powder-coated steel, hard-wired for EU and UK.",
        500,
        "19.80",
        6,
        Phase.feasibility,
        done=0,
    ),
    DemoProject(
        LUMEN,
        "Lantern Mini",
        "Portable lamp",
        "Rechargeable portable LED lantern with a USB-C charging base and IP44 rating.",
        2500,
        "11.20",
        20,
        Phase.on_hold,
        done=2,
        in_progress=False,
        hold_reason="Brand paused development until the battery transport certification budget is approved.",
    ),
    DemoProject(
        KESTREL,
        "Ridgeline 28L Daypack",
        "Backpack",
        "28 litre daypack in recycled 420D nylon, padded laptop sleeve, hip belt with stash pockets.",
        3000,
        "21.00",
        155,
        Phase.delivered,
        done=8,
    ),
    DemoProject(
        KESTREL,
        "Stormfront Roll-top 20L",
        "Dry bag",
        "Welded TPU roll-top bag, IPX6, with a removable shoulder strap.",
        2000,
        "14.50",
        24,
        Phase.development,
        done=2,
    ),
    DemoProject(
        KESTREL,
        "Trailhead Hip Pack",
        "Hip pack",
        "Two-litre hip pack with a water-repellent zip and a magnetic buckle.",
        1500,
        "9.60",
        3,
        Phase.feasibility,
        done=0,
    ),
]

# Brand-side decisions are owned by the brand's owner; everything else by the coordinator.
BRAND_OWNED_MILESTONES = {"Spec revision approved"}


@dataclass
class DemoLogin:
    role: str
    email: str
    password: str
    name: str
    org: str | None


@dataclass
class DemoResult:
    logins: list[DemoLogin] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: {"users": 0, "suppliers": 0, "projects": 0})

    @property
    def created_anything(self) -> bool:
        return any(self.created.values())


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour=hour), tzinfo=UTC)


async def _user(session: AsyncSession, spec: DemoUser, result: DemoResult) -> User:
    user = await session.scalar(select(User).where(User.email == spec.email))
    if user is None:
        user = await accounts.create_user(
            session,
            email=spec.email,
            password=DEMO_PASSWORD,
            name=spec.name,
            is_staff=spec.role == "coordinator",
            is_admin=spec.role == "admin",
            locale=spec.locale,
        )
        result.created["users"] += 1
    return user


async def _supplier(session: AsyncSession, data: dict[str, Any], actor: User, result: DemoResult) -> None:
    if await session.scalar(select(Supplier.id).where(Supplier.name_en == data["name_en"])):
        return
    supplier = Supplier(**data)
    session.add(supplier)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="supplier.created",
        subject_type="supplier",
        subject_id=supplier.id,
        after={k: data[k] for k in ("name_en", "name_zh", "city", "province")},
    )
    result.created["suppliers"] += 1


async def _project(
    session: AsyncSession,
    spec: DemoProject,
    *,
    org: Organization,
    coordinator: User,
    brand_owner: User,
    today: date,
    result: DemoResult,
) -> None:
    exists = await session.scalar(
        select(Project.id).where(Project.org_id == org.id, Project.name == spec.name)
    )
    if exists:
        return
    submitted = today - timedelta(days=spec.submitted_days_ago)
    project = await projects.create_project(
        session,
        actor=coordinator,
        org_id=org.id,
        data={
            "name": spec.name,
            "category": spec.category,
            "description": spec.description,
            "target_quantity": spec.quantity,
            "target_unit_price": Decimal(spec.unit_price),
            "currency": ORGS[spec.org],
            "target_date": submitted + timedelta(days=140),
        },
    )
    # the demo tells a story that began weeks ago: the project was submitted then, not today
    project.created_at = _at(submitted, 9)
    project.coordinator_id = coordinator.id
    await audit.record(
        session,
        actor_id=coordinator.id,
        action="project.coordinator_assigned",
        subject_type="project",
        subject_id=project.id,
        org_id=org.id,
        project_id=project.id,
        after={"coordinator": coordinator.email},
    )
    milestones = list(
        await session.scalars(
            select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.position)
        )
    )
    offsets = {title: days for _phase, title, days in projects.STANDARD_MILESTONES}
    previous_end = submitted
    for index, milestone in enumerate(milestones):
        milestone.due_date = submitted + timedelta(days=offsets[milestone.title])
        owner = brand_owner if milestone.title in BRAND_OWNED_MILESTONES else coordinator
        milestone.owner_id = owner.id
        if index < spec.done:
            # finished a day or two either side of the due date, as real work does
            finished = min(milestone.due_date + timedelta(days=(index % 3) - 1), today - timedelta(days=1))
            milestone.status = MilestoneStatus.done
            milestone.started_at = _at(previous_end, 10)
            milestone.completed_at = _at(max(finished, previous_end), 16)
            previous_end = max(finished, previous_end)
            action, after = "milestone.completed", {"status": MilestoneStatus.done}
        elif index == spec.done and spec.in_progress:
            milestone.status = MilestoneStatus.in_progress
            milestone.started_at = _at(previous_end, 10)
            action, after = "milestone.started", {"status": MilestoneStatus.in_progress}
        else:
            action, after = "", {}
        if action:
            await audit.record(
                session,
                actor_id=owner.id,
                action=action,
                subject_type="milestone",
                subject_id=milestone.id,
                org_id=org.id,
                project_id=project.id,
                before={"status": MilestoneStatus.planned},
                after=after,
            )
    if spec.phase != Phase.feasibility:
        project.phase = spec.phase
        await audit.record(
            session,
            actor_id=coordinator.id,
            action="project.phase_changed",
            subject_type="project",
            subject_id=project.id,
            org_id=org.id,
            project_id=project.id,
            before={"phase": Phase.feasibility},
            after={"phase": spec.phase},
            reason=spec.hold_reason,
        )
    await session.flush()
    result.created["projects"] += 1


async def seed(session: AsyncSession, *, today: date | None = None) -> DemoResult:
    """Create whatever part of the demo agency is missing, in the caller's (system-scoped) transaction."""
    today = today or date.today()
    result = DemoResult()
    staff = {spec.key: await _user(session, spec, result) for spec in AGENCY_STAFF}
    coordinator = staff["coordinator"]
    orgs: dict[str, Organization] = {}
    for name, currency in ORGS.items():
        is_new = not await session.scalar(select(Organization.id).where(Organization.name == name))
        org = await accounts.get_or_create_org(session, name=name, actor_id=coordinator.id)
        if is_new and org.default_currency != currency:
            before = org.default_currency
            org.default_currency = currency
            await audit.record(
                session,
                actor_id=coordinator.id,
                action="org.updated",
                subject_type="organization",
                subject_id=org.id,
                org_id=org.id,
                before={"default_currency": before},
                after={"default_currency": currency},
            )
        orgs[name] = org
    brand: dict[str, User] = {}
    for spec in BRAND_USERS:
        assert spec.org is not None
        brand[spec.key] = user = await _user(session, spec, result)
        await accounts.add_member(
            session, org=orgs[spec.org], user=user, role=OrgRole(spec.role), actor_id=coordinator.id
        )
    for data in SUPPLIERS:
        await _supplier(session, data, coordinator, result)
    owners = {LUMEN: brand["lumen_owner"], KESTREL: brand["kestrel_owner"]}
    for project_spec in PROJECTS:
        await _project(
            session,
            project_spec,
            org=orgs[project_spec.org],
            coordinator=coordinator,
            brand_owner=owners[project_spec.org],
            today=today,
            result=result,
        )
    for spec in [*AGENCY_STAFF, *BRAND_USERS]:
        result.logins.append(DemoLogin(spec.role, spec.email, DEMO_PASSWORD, spec.name, spec.org))
    return result
