"""The demo agency behind `makeready demo`: two brands, agency staff, a supplier directory and projects in every phase.

Everything is created through the service functions a person's request would call (accounts, suppliers, projects,
milestones, the feasibility review, samples, specs, the project machine), so the same gates, triggers and audit events
apply: a project reaches production only after its sample is approved and its spec revision issued. The story began
weeks ago: each step runs inside `frozen_clock(moment)`, so services, audit events and default columns see that
moment (the audit chain is still appended in seq order; its timestamps need not increase). Seeding is idempotent:
organizations, users, suppliers and projects are found by their natural keys (name, email) and left alone when they
exist, so running it again adds nothing. Dates are relative to the day of the first seeding, so the board always
looks current then.

The passwords are fixed and published (they are printed): `makeready demo` refuses to run in production.
"""

# ruff: noqa: RUF001 - the spec's Chinese uses Chinese punctuation (full-width commas and colons) on purpose

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import factory_links as factory
from makeready import urls
from makeready.accounts import service as accounts
from makeready.accounts.models import Organization, OrgRole, User
from makeready.billing.models import Plan
from makeready.db.types import frozen_clock
from makeready.demo_images import lamp_photo
from makeready.demo_production import PRODUCTION_SPEC, seed_production
from makeready.feasibility import workspace as feasibility
from makeready.feasibility.models import Verdict
from makeready.feasibility.review import complete_review
from makeready.projects import milestones as milestone_service
from makeready.projects import service as projects
from makeready.projects.models import Milestone, Phase, Project
from makeready.samples import photos
from makeready.samples.lifecycle import (
    decide_sample_round,
    mark_sample_in_production,
    mark_sample_received,
    mark_sample_shipped,
    request_sample_round,
)
from makeready.samples.models import SamplePhoto
from makeready.specs import service as spec_service
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.storage import get_storage
from makeready.storage.keys import make_key
from makeready.suppliers import service as suppliers
from makeready.suppliers.models import Supplier
from makeready.workflow import projects as project_machine

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
    factory_link: str = ""
    """Path of a factory link to the issued revision, new on every run (a token is shown once; the last one is
    revoked), or "" when no revision is issued."""
    production_link: str = ""
    """Path of the production link of the demo's production order, on the run that created it ("" after)."""

    @property
    def created_anything(self) -> bool:
        return any(self.created.values())


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour=hour, minute=minute), tzinfo=UTC)


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
    await suppliers.create_supplier(session, actor=actor, data=data)
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
    """Live through the project's story, from its submission `submitted_days_ago` days ago, through the services:
    each step runs with the clock set to the moment it happened, and each phase change passes its gate."""
    exists = await session.scalar(
        select(Project.id).where(Project.org_id == org.id, Project.name == spec.name)
    )
    if exists:
        return
    submitted = today - timedelta(days=spec.submitted_days_ago)
    with frozen_clock(_at(submitted, 9)):
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
        await projects.assign_coordinator(
            session, actor=coordinator, project_id=project.id, coordinator_id=coordinator.id
        )
    milestones = list(
        await session.scalars(
            select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.position)
        )
    )
    offsets = {title: days for _phase, title, days in projects.STANDARD_MILESTONES}
    with frozen_clock(_at(submitted, 9, 30)):
        for milestone in milestones:
            owner = brand_owner if milestone.title in BRAND_OWNED_MILESTONES else coordinator
            await milestone_service.assign_milestone(
                session,
                actor=coordinator,
                milestone_id=milestone.id,
                owner_id=owner.id,
                due_date=submitted + timedelta(days=offsets[milestone.title]),
            )
    story = _Story(
        session, project, coordinator=coordinator, brand_owner=brand_owner, last=_at(submitted, 9, 30)
    )
    target = PHASE_ORDER.index(Phase.development if spec.phase == Phase.on_hold else spec.phase)
    previous_end = submitted
    for index, milestone in enumerate(milestones):
        if index > spec.done or (index == spec.done and not spec.in_progress):
            break
        owner = brand_owner if milestone.title in BRAND_OWNED_MILESTONES else coordinator
        with story.at(_at(previous_end, 10)):
            await milestone_service.start_milestone(session, actor=owner, milestone_id=milestone.id)
        if index == spec.done:
            break
        # finished a day or two either side of the due date, as real work does
        assert milestone.due_date is not None
        finished = max(
            min(milestone.due_date + timedelta(days=(index % 3) - 1), today - timedelta(days=1)), previous_end
        )
        if milestone.title == "First sample" and target >= PHASE_ORDER.index(Phase.production):
            with story.at(_at(finished, 11)):
                await _approved_sample(session, project, coordinator=coordinator, brand_owner=brand_owner)
        if milestone.title == "Spec revision approved" and target >= PHASE_ORDER.index(Phase.production):
            with story.at(_at(finished, 12)):
                await _issued_spec(session, project, coordinator=coordinator, brand_owner=brand_owner)
        with story.at(_at(finished, 16)):
            await milestone_service.complete_milestone(session, actor=owner, milestone_id=milestone.id)
        previous_end = finished
        next_phase = milestones[index + 1].phase if index + 1 < len(milestones) else Phase.delivered
        if next_phase != milestone.phase and PHASE_ORDER.index(next_phase) <= target:
            await story.enter(next_phase, finished)
    if spec.phase == Phase.on_hold:
        with story.at(_at(min(previous_end + timedelta(days=1), today - timedelta(days=1)), 15)):
            await project_machine.hold_project(
                session, actor=coordinator, project_id=project.id, reason=spec.hold_reason
            )
    await session.flush()
    if spec.name == SPEC_DEMO_PROJECT:
        with story.at(_at(today - timedelta(days=2), 11)):
            await _spec_revisions(session, project, coordinator=coordinator, brand_owner=brand_owner)
    result.created["projects"] += 1


PHASE_ORDER = [Phase.feasibility, Phase.development, Phase.production, Phase.delivered]


@dataclass
class _Story:
    session: AsyncSession
    project: Project
    coordinator: User
    brand_owner: User
    last: datetime
    """The moment of the story's latest step: the next one happens later (the project's history reads in order)."""

    @contextmanager
    def at(self, planned: datetime) -> Iterator[None]:
        """Run a step with the clock at `planned`, or a few minutes after the previous step if that is later."""
        self.last = max(planned, self.last + timedelta(minutes=10))
        with frozen_clock(self.last):
            yield

    async def enter(self, phase: Phase, day: date) -> None:
        """Move the project into `phase` late on `day`, after creating what its gate asks for."""
        session, project_id = self.session, self.project.id
        if phase == Phase.development:
            with self.at(_at(day, 16, 30)):
                await _complete_review(session, self.project, coordinator=self.coordinator)
            with self.at(_at(day, 17)):
                await project_machine.give_go_ahead(session, actor=self.brand_owner, project_id=project_id)
            at = _at(day, 17, 30)
        else:
            at = _at(day, 16, 30)
        with self.at(at):
            await project_machine.advance_project(
                session, actor=self.coordinator, project_id=project_id, to_phase=phase
            )


async def _complete_review(session: AsyncSession, project: Project, *, coordinator: User) -> None:
    """The coordinator's feasibility review: every starter check judged feasible, one approach, recommended."""
    review = await feasibility.get_or_start_review(session, actor=coordinator, project_id=project.id)
    for check in list(review.checks):
        await feasibility.save_check(
            session,
            actor=coordinator,
            project_id=project.id,
            check_id=check.id,
            expected_version=check.version,
            area=check.area,
            requirement=check.requirement,
            constraint=check.constraint,
            verdict=Verdict.feasible,
            note=check.note,
        )
    approach = await feasibility.save_approach(
        session,
        actor=coordinator,
        project_id=project.id,
        name="Standard tooling",
        tooling_cost=Decimal(project.target_unit_price or 0) * 100,
        unit_cost=Decimal(project.target_unit_price or 0) * Decimal("0.8"),
        lead_time_days=45,
    )
    await session.flush()
    review = await feasibility.get_or_start_review(session, actor=coordinator, project_id=project.id)
    await feasibility.recommend_approach(
        session,
        actor=coordinator,
        project_id=project.id,
        approach_id=approach.id,
        expected_version=review.version,
    )
    review = await feasibility.get_or_start_review(session, actor=coordinator, project_id=project.id)
    await complete_review(
        session,
        actor=coordinator,
        project_id=project.id,
        expected_version=review.version,
        summary=f"{project.name} can be made as designed with standard tooling.",
    )


SPEC_DEMO_PROJECT = "Tide Table Lamp"


def _t(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh, "status": "reviewed"}


TIDE_PHOTOS = (
    ("front", "tide-front.jpg", "Front, shade fitted"),
    ("base", "tide-base.jpg", "Oak base and touch dimmer"),
    ("shade", "tide-shade.jpg", "Opal shade, lit"),
)


def tide_figures(photo_ids: list[int]) -> list[dict[str, Any]]:
    """The approved sample's photos as the spec's figures, with callouts."""
    front, base, shade = photo_ids
    return [
        {
            "id": "p1",
            "source": "sample_photo",
            "ref_id": front,
            "caption": _t("Approved sample, front", "确认样，正面"),
            "callouts": [
                {
                    "id": "c1",
                    "marker": "1",
                    "text": _t("Shade seated level on the ring", "灯罩水平坐于灯圈上"),
                },
                {
                    "id": "c2",
                    "marker": "2",
                    "text": _t("No visible weld seams on the stem", "灯杆无可见焊缝"),
                },
            ],
        },
        {
            "id": "p2",
            "source": "sample_photo",
            "ref_id": base,
            "caption": _t("Oak base with the touch dimmer pad", "橡木底座及触摸调光片"),
            "callouts": [
                {"id": "c3", "marker": "1", "text": _t("Dimmer pad flush with the base", "调光片与底座齐平")}
            ],
        },
        {
            "id": "p3",
            "source": "sample_photo",
            "ref_id": shade,
            "caption": _t("Opal shade, lit: even diffusion, no hot spot", "乳白灯罩点亮：光线均匀，无亮斑"),
            "callouts": [],
        },
    ]


def tide_spec(photo_ids: list[int] | None = None) -> dict[str, Any]:
    """Revision A of the Tide Table Lamp, English and reviewed Chinese throughout."""
    return {
        "overview": {
            "product_name": _t("Tide Table Lamp", "潮汐台灯"),
            "summary": _t(
                "Table lamp with a brushed brass stem on a turned oak base and a mouth-blown opal glass shade; "
                "touch dimmer in the base.",
                "台灯：拉丝黄铜灯杆，车削橡木底座，人工吹制乳白玻璃灯罩；底座内置触摸调光器。",
            ),
            "intended_use": _t("Indoor use in dry locations only.", "仅限室内干燥场所使用。"),
            "model_number": "TTL-01",
        },
        "materials": [
            {
                "id": "m1",
                "part": _t("Stem", "灯杆"),
                "material": _t("Brass", "黄铜"),
                "grade": "C36000",
                "supplier": "",
                "notes": _t("Seamless tube, 16 mm outer diameter.", "无缝管，外径16毫米。"),
            },
            {
                "id": "m2",
                "part": _t("Base", "底座"),
                "material": _t("European oak", "欧洲橡木"),
                "grade": "FSC 100%",
                "supplier": "",
                "notes": _t("Kiln dried to 8-10% moisture.", "窑干至含水率8-10%。"),
            },
            {
                "id": "m3",
                "part": _t("Shade", "灯罩"),
                "material": _t("Opal glass", "乳白玻璃"),
                "grade": "",
                "supplier": "",
                "notes": _t("Mouth-blown, 3 mm wall.", "人工吹制，壁厚3毫米。"),
            },
        ],
        "dimensions": [
            {
                "id": "d1",
                "feature": _t("Overall height", "总高度"),
                "value": "420",
                "unit": "mm",
                "tolerance_plus": "2",
                "tolerance_minus": "2",
            },
            {
                "id": "d2",
                "feature": _t("Base diameter", "底座直径"),
                "value": "140",
                "unit": "mm",
                "tolerance_plus": "0.5",
                "tolerance_minus": "0.5",
            },
            {
                "id": "d3",
                "feature": _t("Shade diameter", "灯罩直径"),
                "value": "220",
                "unit": "mm",
                "tolerance_plus": "3",
                "tolerance_minus": "3",
            },
            {
                "id": "d4",
                "feature": _t("Net weight", "净重"),
                "value": "2.1",
                "unit": "kg",
                "tolerance_plus": "0.1",
                "tolerance_minus": "0.1",
            },
        ],
        "finishes": [
            {
                "id": "f1",
                "part": _t("Stem", "灯杆"),
                "finish": _t("Brushed, clear lacquer", "拉丝，清漆"),
                "colour_system": "pantone",
                "colour_code": "PMS 871 C",
                "gloss": "20 GU",
            },
            {
                "id": "f2",
                "part": _t("Base underside plate", "底座底板"),
                "finish": _t("Powder coat", "粉末喷涂"),
                "colour_system": "ral",
                "colour_code": "RAL 9005",
                "gloss": "30 GU",
            },
            {
                "id": "f3",
                "part": _t("Base", "底座"),
                "finish": _t("Hard wax oil, natural", "硬蜡油，原木色"),
                "colour_system": "",
                "colour_code": "",
                "gloss": "Matt",
            },
        ],
        "bom": [
            {
                "id": "b1",
                "part": _t("Stem tube", "灯杆管"),
                "material": _t("Brass", "黄铜"),
                "quantity": "1",
                "unit": "pcs",
                "supplied_by": "factory",
            },
            {
                "id": "b2",
                "part": _t("Oak base", "橡木底座"),
                "material": _t("European oak", "欧洲橡木"),
                "quantity": "1",
                "unit": "pcs",
                "supplied_by": "factory",
            },
            {
                "id": "b3",
                "part": _t("Glass shade", "玻璃灯罩"),
                "material": _t("Opal glass", "乳白玻璃"),
                "quantity": "1",
                "unit": "pcs",
                "supplied_by": "factory",
            },
            {
                "id": "b4",
                "part": _t("E27 lamp holder", "E27灯座"),
                "material": _t("Ceramic", "陶瓷"),
                "quantity": "1",
                "unit": "pcs",
                "supplied_by": "factory",
            },
            {
                "id": "b5",
                "part": _t("Touch dimmer module", "触摸调光模块"),
                "material": _t("PCB assembly", "电路板组件"),
                "quantity": "1",
                "unit": "pcs",
                "supplied_by": "factory",
            },
            {
                "id": "b6",
                "part": _t("Power cord, 2 m", "电源线，2米"),
                "material": _t("PVC, 2 x 0.75 mm²", "PVC，2 x 0.75平方毫米"),
                "quantity": "1",
                "unit": "pcs",
                "supplied_by": "factory",
            },
        ],
        "assembly": [
            {
                "id": "a1",
                "text": _t(
                    "Press the stem into the base and secure it with the M8 nut to 6 N·m.",
                    "将灯杆压入底座，用M8螺母紧固至6牛·米。",
                ),
            },
            {
                "id": "a2",
                "text": _t(
                    "Route the cord through the base channel; fit the strain relief.",
                    "电源线穿过底座线槽，装上电线固定头。",
                ),
            },
            {
                "id": "a3",
                "text": _t(
                    "Fit the shade last, after the electrical safety test.", "电气安全测试后最后安装灯罩。"
                ),
            },
        ],
        "packaging": [
            {
                "id": "p1",
                "kind": "packaging",
                "item": _t("Inner box", "内盒"),
                "details": _t(
                    "Kraft carton with moulded pulp inserts; shade packed separately.",
                    "牛皮纸盒配纸浆模塑内衬；灯罩单独包装。",
                ),
            },
            {
                "id": "p2",
                "kind": "packaging",
                "item": _t("Master carton", "外箱"),
                "details": _t(
                    "4 units per carton, 5-ply, drop tested from 76 cm.",
                    "每箱4套，五层瓦楞，76厘米跌落测试。",
                ),
            },
            {
                "id": "p3",
                "kind": "label",
                "item": _t("Rating label", "铭牌标签"),
                "details": _t(
                    "Under the base: model, 220-240 V~ 50 Hz, max 40 W, CE, UKCA.",
                    "底座下方：型号、220-240伏~ 50赫兹、最大40瓦、CE、UKCA。",
                ),
            },
        ],
        "quality": {
            "inspection_level": "II",
            "aql_critical": "0",
            "aql_major": "2.5",
            "aql_minor": "4.0",
            "points": [
                {
                    "id": "q1",
                    "point": _t("Hi-pot test", "耐压测试"),
                    "method": _t("1500 V AC for 1 s, every unit.", "交流1500伏，1秒，每件测试。"),
                    "defect_class": "critical",
                },
                {
                    "id": "q2",
                    "point": _t("Brass finish", "黄铜表面"),
                    "method": _t(
                        "No scratches visible at 50 cm under daylight.", "日光下50厘米处无可见划痕。"
                    ),
                    "defect_class": "major",
                },
                {
                    "id": "q3",
                    "point": _t("Oak grain match", "橡木纹理"),
                    "method": _t("Even colour against the approved sample.", "颜色与确认样一致。"),
                    "defect_class": "minor",
                },
            ],
        },
        "figures": tide_figures(photo_ids) if photo_ids else [],
        "change_summary": _t("First issue.", "首次发布。"),
    }


async def _approved_sample(
    session: AsyncSession,
    project: Project,
    *,
    coordinator: User,
    brand_owner: User,
    photographed: bool = False,
) -> list[SamplePhoto]:
    """Sample round 1 made, photographed on arrival (the Tide lamp's photos, when `photographed`) and approved by
    the brand, through the workflow services."""
    sample = await request_sample_round(
        session,
        actor=coordinator,
        project_id=project.id,
        notes="First prototype from the production tooling.",
    )
    for step in (
        mark_sample_in_production,
        mark_sample_shipped,
        mark_sample_received,
    ):
        await step(session, actor=coordinator, round_id=sample.id)
    added: list[SamplePhoto] = []
    if photographed:
        storage = get_storage()
        uploads = []
        for view, name, caption in TIDE_PHOTOS:
            key = make_key(project.org_id, photos.PHOTO_KIND, name)
            await storage.put(
                key, await anyio.to_thread.run_sync(lamp_photo, view), content_type="image/jpeg"
            )
            uploads.append(photos.PhotoUpload(key=key, original_name=name, caption=caption))
        added = await photos.attach_photos(session, actor=coordinator, round_id=sample.id, uploads=uploads)
    await decide_sample_round(
        session,
        actor=brand_owner,
        round_id=sample.id,
        decision="approve",
        comment="Finish and proportions as agreed.",
        pinned_photo_ids=[added[0].id] if added else [],
    )
    return added


PRODUCT_NAMES_ZH = {
    "Arc Pendant 40": (
        "Arc 40 吊灯",
        "直径40厘米旋压铝吊灯，乳白玻璃扩散罩；2700K，显色指数95，可调光。",
    ),
    "Ridgeline 28L Daypack": (
        "Ridgeline 28升双肩包",
        "28升再生420D尼龙双肩包，带加厚电脑隔层，腰带带收纳口袋。",
    ),
}
"""The Chinese overview of the projects whose spec was issued before production (a spec issues translated)."""


async def _issued_spec(
    session: AsyncSession, project: Project, *, coordinator: User, brand_owner: User
) -> None:
    """Revision A of the project's spec: the overview in both languages, approved by the brand and issued."""
    revision = await spec_service.start_revision(session, actor=coordinator, project_id=project.id)
    name_zh, summary_zh = PRODUCT_NAMES_ZH[project.name]
    content = copy.deepcopy(revision.content)
    content["overview"]["product_name"] = _t(project.name, name_zh)
    content["overview"]["summary"] = _t(project.description, summary_zh)
    content["change_summary"] = _t("First issue.", "首次发布。")
    content.update(copy.deepcopy(PRODUCTION_SPEC.get(project.name, {})))
    await spec_service.save_content(
        session, actor=coordinator, revision_id=revision.id, content=content, expected_version=None
    )
    for action, actor in (("submit", coordinator), ("approve", brand_owner), ("issue", coordinator)):
        await spec_service.act(session, action, actor=actor, revision_id=revision.id)


async def _spec_revisions(
    session: AsyncSession, project: Project, *, coordinator: User, brand_owner: User
) -> None:
    """An approved sample round with photos, revision A issued with them (written, reviewed by the brand,
    translated), and a draft B whose one English change left its Chinese stale, all through the services."""
    photos = await _approved_sample(
        session, project, coordinator=coordinator, brand_owner=brand_owner, photographed=True
    )
    a = await spec_service.start_revision(session, actor=coordinator, project_id=project.id)
    await spec_service.save_content(
        session,
        actor=coordinator,
        revision_id=a.id,
        content=tide_spec([photo.id for photo in photos]),
        expected_version=None,
    )
    for action, actor in (("submit", coordinator), ("approve", brand_owner), ("issue", coordinator)):
        await spec_service.act(session, action, actor=actor, revision_id=a.id)
    b = await spec_service.start_revision(session, actor=coordinator, project_id=project.id)
    content = copy.deepcopy(b.content)  # the stored JSON is compared against: never edit it in place
    height = content["dimensions"][0]
    height["feature"] = dict(height["feature"], en="Overall height, shade fitted")
    height["value"] = "425"
    content["change_summary"] = _t("Height measured with the shade fitted.", "高度为装上灯罩后的测量值。")
    await spec_service.save_content(
        session, actor=coordinator, revision_id=b.id, content=content, expected_version=None
    )


async def seed(session: AsyncSession, *, today: date | None = None) -> DemoResult:
    """Create whatever part of the demo agency is missing, in the caller's (system-scoped) transaction."""
    today = today or date.today()
    result = DemoResult()
    # the agency set up before its oldest project was submitted
    with frozen_clock(_at(today - timedelta(days=max(p.submitted_days_ago for p in PROJECTS) + 5), 8)):
        staff = {spec.key: await _user(session, spec, result) for spec in AGENCY_STAFF}
        coordinator = staff["coordinator"]
        orgs: dict[str, Organization] = {}
        for name, currency in ORGS.items():
            is_new = not await session.scalar(select(Organization.id).where(Organization.name == name))
            org = await accounts.get_or_create_org(session, name=name, actor_id=coordinator.id)
            if is_new:
                await accounts.set_default_currency(
                    session, org=org, currency=currency, actor_id=coordinator.id
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
    result.factory_link = await _factory_link(session, coordinator)
    story = await seed_production(session, coordinator=coordinator, brand_owner=owners[LUMEN], today=today)
    if story is not None:
        result.production_link = urls.production_link(story.token)
    await _plans(session)
    return result


DEMO_PLANS: list[dict[str, Any]] = [
    {
        "name": "Studio",
        "stripe_price_id": "price_demo_studio",
        "description": "A coordinator for your products, feasibility to shipment; bilingual specs and factory links.",
        "description_zh": "一位协调员跟进您的产品，从可行性评估到出货；双语规格书和工厂链接。",
        "max_active_projects": 3,
        "amount": Decimal("490.00"),
        "currency": "USD",
        "interval": "month",
        "position": 1,
    },
    {
        "name": "Atelier",
        "stripe_price_id": "price_demo_atelier",
        "description": "Everything in Studio for a larger range of products.",
        "description_zh": "包含 Studio 的全部内容，适用于更多产品。",
        "max_active_projects": 10,
        "amount": Decimal("1290.00"),
        "currency": "USD",
        "interval": "month",
        "position": 2,
    },
]
"""Plans for the pricing page. Billing stays off in the demo (no Stripe keys); with keys, an admin replaces the
price ids with the agency's own Stripe prices in the back office (Billing > billing_plans)."""


async def _plans(session: AsyncSession) -> None:
    """The demo's plans, added once (found by their Stripe price id)."""
    for values in DEMO_PLANS:
        found = await session.scalar(select(Plan.id).where(Plan.stripe_price_id == values["stripe_price_id"]))
        if found is None:
            session.add(Plan(is_active=True, **values))
    await session.flush()


async def _factory_link(session: AsyncSession, coordinator: User) -> str:
    """Send the Tide Table Lamp's issued revision (else the first issued one) to its project's supplier (or the
    first supplier); the link's path."""
    revision = await session.scalar(
        select(SpecRevision)
        .join(Project, Project.id == SpecRevision.project_id)
        .where(SpecRevision.status == RevisionStatus.issued)
        .order_by(Project.name != SPEC_DEMO_PROJECT, SpecRevision.id)
    )
    if revision is None:
        return ""
    project = await session.get(Project, revision.project_id)
    supplier_id = project.supplier_id if project is not None else None
    if supplier_id is None:
        supplier_id = await session.scalar(
            select(Supplier.id).where(Supplier.archived_at.is_(None)).order_by(Supplier.id)
        )
    if supplier_id is None:
        return ""
    _link, token = await factory.send_link(
        session, actor=coordinator, revision_id=revision.id, supplier_id=supplier_id
    )
    return urls.factory_link(token)
