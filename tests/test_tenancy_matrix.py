"""Every route the app registers x {anonymous, member of org A, member of org B, coordinator}.

Routes are enumerated from the app, so a new route joins the matrix by itself; a path parameter the matrix
does not know fails the test until it is taught here. Org B's member must get, for org A's objects, exactly
what a nonexistent id gets (so nothing confirms they exist), never org A's data, and org A's rows must be
unchanged afterwards. Anonymous callers are refused everywhere but the public routes, and the coordinator pages
(/coordinator/...) refuse every brand user, org A's own members included.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.accounts import service as accounts
from makeready.accounts.models import Membership
from makeready.changes.lifecycle import raise_change_request
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.feasibility import service as feasibility
from makeready.materials.models import FreeIssueShipment, MaterialRequirement, PurchaseOrder
from makeready.models import Base
from makeready.notify.service import notify
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ProductionPhoto,
    ProgressReport,
    ToolingItem,
)
from makeready.projects import service as projects
from makeready.projects.models import Attachment, Phase, Project
from makeready.quality import sampling
from makeready.quality.models import (
    CorrectiveAction,
    Defect,
    HoldStatus,
    Inspection,
    InspectionStatus,
    QualityHold,
)
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.shipping.models import (
    DeviationStatus,
    FloorDeviation,
    PackingList,
    PackingStatus,
    Shipment,
    ShipmentDocument,
    ShipmentLot,
    ShipmentStatus,
)
from makeready.specs import service as spec_service
from makeready.storage import get_storage
from makeready.storage.keys import make_key
from makeready.suppliers import service as suppliers
from makeready.team import service as team
from makeready.workflow import decisions
from tests.conftest import World, csrf, login

MARKER = "Acme-secret-lamp-7f3a"
MISSING_ID = 987654

# Routes anyone may call. Everything else must refuse an anonymous caller.
PUBLIC = {"/healthz", "/readyz", "/login", "/logout", "/locale"}
PUBLIC_PREFIXES = ("/schema", "/static")
# Routes that authenticate by a signature in the URL, the body or (Stripe's webhook) a header instead of a login:
# never by a session.
SIGNED_PREFIXES = ("/uploads/local", "/files/local", "/webhooks/stripe")
# Links whose token in the path is the credential (it is stored hashed): public by design, a forged one is a 404.
TOKEN_LINK_PREFIXES = ("/invitations/", "/f/", "/p/")
# Mounted ASGI apps with their own auth, tested in their own module (tests/test_backoffice.py).
MOUNTED = ("/admin",)
# Coordinator pages: agency staff only, so every brand user (org A's included) is refused, never served.
STAFF_ONLY_PREFIXES = ("/coordinator",)
# API routes for staff tokens only (they carry the agency's costs): org A's own members get 403, org B's a 404.
STAFF_ONLY_ROUTES = {"/api/v1/production-orders/{order_id:int}/purchase-orders"}

# Bodies that pass validation, so the request reaches the ownership check.
WRITE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/projects/{project_id:int}"): {"version": 1, "name": "hijacked"},
    ("POST", "/api/v1/projects/{project_id:int}/uploads"): {
        "filename": "a.png",
        "kind": "image",
        "size": 100,
    },
    ("POST", "/api/v1/projects/{project_id:int}/files"): {
        "key": "org/1/image/x/a.png",
        "original_name": "a.png",
    },
    ("POST", "/api/v1/samples/{round_id:int}/decision"): {"decision": "approve"},
    ("PUT", "/api/v1/spec-revisions/{revision_id:int}/content"): {"version": 1, "content": {}},
    ("POST", "/api/v1/spec-revisions/{revision_id:int}/actions"): {"action": "approve"},
    ("POST", "/api/v1/projects/{project_id:int}/change-requests"): {
        "title": "hijacked",
        "description": "d",
        "reason": "r",
    },
    ("POST", "/api/v1/projects/{project_id:int}/production-orders"): {"ex_factory_date": "2030-01-01"},
    ("PATCH", "/api/v1/production-orders/{order_id:int}"): {"version": 1, "quantity": 1},
    ("POST", "/api/v1/production-orders/{order_id:int}/lots"): {
        "quantity": 1,
        "planned_start": "2030-01-01",
        "planned_end": "2030-01-02",
    },
    ("POST", "/api/v1/lots/{lot_id:int}/progress-reports"): {"counts": {"cut": 1}},
    ("POST", "/api/v1/inspections/{inspection_id:int}/decision"): {
        "decision": "reject",
        "reasons": "hijacked",
    },
    ("POST", "/api/v1/lots/{lot_id:int}/inspections"): {"kind": "final"},
    ("POST", "/api/v1/holds/{hold_id:int}/lift"): {"reason": "hijacked"},
    ("POST", "/api/v1/production-orders/{order_id:int}/free-issue-shipments"): {
        "requirement_id": 1,
        "quantity": "1",
        "eta": "2030-01-01",
    },
    ("POST", "/api/v1/shipments/{shipment_id:int}/release"): {},
    ("POST", "/api/v1/shipments/{shipment_id:int}/receipt"): {"note": "hijacked"},
    ("POST", "/api/v1/shipments/{shipment_id:int}/problem"): {"comment": "hijacked"},
    ("POST", "/api/v1/deviations/{deviation_id:int}/decision"): {
        "decision": "approve",
        "comment": "hijacked",
    },
}


@dataclass
class Fixture:
    project_a: int
    attachment_a: int
    supplier_a: int
    """A supplier (agency-wide, not tenant-owned) selected for org A's project, so its page names the project."""
    quote_a: int
    check_a: int
    """A row of the feasibility review of org A's project, as are the approach and the risk."""
    approach_a: int
    risk_a: int
    question_a: int
    """A coordinator's question to org A (answered on the project page)."""


# How to fill each path parameter with one of org A's objects.
PATH_VALUES = {
    "membership_id": lambda f: f.membership_a,
    "invitation_id": lambda f: f.invitation_a,
    "token_id": lambda f: f.api_token_a,
    "project_id": lambda f: f.project_a,
    "file_id": lambda f: f.attachment_a,
    "round_id": lambda f: f.round_a,
    "photo_id": lambda f: f.photo_a,
    "change_id": lambda f: f.change_a,
    "notification_id": lambda f: f.notification_a,
    "supplier_id": lambda f: f.supplier_a,
    "quote_id": lambda f: f.quote_a,
    "question_id": lambda f: f.question_a,
    "check_id": lambda f: f.check_a,
    "approach_id": lambda f: f.approach_a,
    "risk_id": lambda f: f.risk_a,
    # spec revisions (tests/test_spec_pages.py): org A's issued revision A, by number and by id
    "number": lambda f: f.revision_number_a,
    "revision_id": lambda f: f.revision_a,
    # signed routes: a forged token must be refused (the signature tests live in tests/test_storage_local.py)
    "token": lambda f: "forged-token",
    # factory links (tests/test_factory_links.py): a figure of a forged link's revision; the coordinator's link and
    # question routes are staff-only, refused to every brand user before any row is looked up
    "figure_id": lambda f: "g1",
    "link_id": lambda f: MISSING_ID,
    "factory_question_id": lambda f: MISSING_ID,
    # production (tests/test_production_*.py): org A's order, its lot and a progress report's photo; the factory's
    # /p/ routes take a forged token, so their tooling id is never looked up
    "order_id": lambda f: f.order_a,
    "lot_id": lambda f: f.lot_a,
    "production_photo_id": lambda f: f.production_photo_a,
    "tooling_id": lambda f: MISSING_ID,
    # the coordinator's tooling routes (backoffice/production.py): org A's tooling item
    "item_id": lambda f: f.tooling_a,
    # materials (backoffice/materials.py): org A's purchase order and free-issue shipment of its order
    "po_id": lambda f: f.purchase_order_a,
    # shipping (backoffice/shipping.py, portal/shipping.py): org A's shipment, its packing list, a floor deviation
    "shipment_id": lambda f: f.shipment_a,
    "packing_id": lambda f: f.packing_a,
    "deviation_id": lambda f: f.deviation_a,
    "kind": lambda f: "commercial_invoice",
    "free_issue_id": lambda f: f.free_issue_a,
    # quality (tests/test_quality_pages.py): org A's inspection in review, its defect, hold and corrective action;
    # org A's defect photo shares the sample photo's id (another table), so photo_id fits both
    "inspection_id": lambda f: f.inspection_a,
    "defect_id": lambda f: f.defect_a,
    "hold_id": lambda f: f.hold_a,
    "action_id": lambda f: f.action_a,
    # budget (backoffice/budget.py): staff-only entry routes, refused to every brand user before any lookup
    "entry_id": lambda f: MISSING_ID,
    "file_path": lambda f: "app.css",
    "path": lambda f: "openapi.json",
}


@dataclass
class TeamRows:
    """Org A's team objects: a member's membership, a pending invitation, and an org A user's own API token."""

    membership_a: int
    invitation_a: int
    api_token_a: int


@pytest.fixture
async def team_a(engine: AsyncEngine, world: World) -> TeamRows:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            membership = await session.scalar(
                select(Membership).where(
                    Membership.org_id == world.org_a.id, Membership.user_id == world.member_a.id
                )
            )
            assert membership is not None
            sent = await team.invite(
                session,
                actor=world.owner_a,
                org_id=world.org_a.id,
                email="invitee@example.com",
                role="member",
            )
            token = await accounts.issue_api_token(session, user=world.owner_a, name=MARKER)
    return TeamRows(membership.id, sent.invitation.id, token.record.id)


@dataclass
class SampleRows:
    """Org A's received sample round with a photo (a real image, so its thumbnail can be made), a change
    request, and a notification to org A's owner."""

    round_a: int
    photo_a: int
    change_a: int
    notification_a: int


@pytest.fixture
async def samples_a(engine: AsyncEngine, world: World, fixture_a: Fixture) -> SampleRows:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            image = io.BytesIO()
            Image.new("RGB", (64, 48), (90, 120, 150)).save(image, "JPEG")
            key = make_key(world.org_a.id, "image", "sample.jpg")
            await get_storage().put(key, image.getvalue(), content_type="image/jpeg")
            attachment = Attachment(
                org_id=world.org_a.id,
                project_id=fixture_a.project_a,
                kind="image",
                object_key=key,
                original_name=f"{MARKER}-sample.jpg",
                size=len(image.getvalue()),
                content_type="image/jpeg",
                checksum="1" * 64,
                uploaded_by_id=world.coordinator.id,
            )
            session.add(attachment)
            sample = SampleRound(
                org_id=world.org_a.id,
                project_id=fixture_a.project_a,
                number=1,
                status=SampleStatus.received,
                coordinator_notes=MARKER,
                pinned_photo_ids=[],
            )
            session.add(sample)
            await session.flush()
            # as the back office's photo upload leaves it: with a stored thumbnail
            thumbnail_key = make_key(world.org_a.id, "image", "sample-thumb.jpg")
            await get_storage().put(thumbnail_key, image.getvalue(), content_type="image/jpeg")
            photo = SamplePhoto(
                org_id=world.org_a.id,
                round_id=sample.id,
                attachment_id=attachment.id,
                thumbnail_key=thumbnail_key,
                caption=MARKER,
            )
            session.add(photo)
            change = await raise_change_request(
                session,
                actor=world.owner_a,
                project_id=fixture_a.project_a,
                title=MARKER,
                description=MARKER,
                reason=MARKER,
            )
            told = await notify(
                session,
                user=world.owner_a,
                kind="sample_received",
                params={"project": MARKER, "round": 1},
                project_id=fixture_a.project_a,
                link=f"/projects/{fixture_a.project_a}",
            )
            assert told is not None
            await session.flush()
    return SampleRows(round_a=sample.id, photo_a=photo.id, change_a=change.id, notification_a=told.id)


@pytest.fixture
async def fixture_a(engine: AsyncEngine, world: World) -> Fixture:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": MARKER}
            )
            attachment = Attachment(
                org_id=world.org_a.id,
                project_id=project.id,
                kind="image",
                object_key=f"org/{world.org_a.id}/x.png",
                original_name=f"{MARKER}.png",
                size=10,
                content_type="image/png",
                checksum="0" * 64,
                uploaded_by_id=world.owner_a.id,
            )
            session.add(attachment)
            supplier = await suppliers.create_supplier(
                session,
                actor=world.coordinator,
                data={"name_en": "Matrix Works", "name_zh": "矩阵工厂"},
            )
            [quote] = await suppliers.request_quotes(
                session, actor=world.coordinator, project_id=project.id, supplier_ids=[supplier.id]
            )
            project.supplier_id = supplier.id
            await session.flush()
            review = await feasibility.get_or_start_review(
                session, actor=world.coordinator, project_id=project.id
            )
            approach = await feasibility.save_approach(
                session,
                actor=world.coordinator,
                project_id=project.id,
                name=MARKER,
                tooling_cost=1,
                unit_cost=1,
            )
            risk = await feasibility.save_risk(
                session,
                actor=world.coordinator,
                project_id=project.id,
                description=MARKER,
                likelihood=3,
                impact=3,
            )
            question = await decisions.ask_question(
                session, actor=world.coordinator, project_id=project.id, body=MARKER
            )
    return Fixture(
        project_a=project.id,
        attachment_a=attachment.id,
        supplier_a=supplier.id,
        quote_a=quote.id,
        check_a=review.checks[0].id,
        approach_a=approach.id,
        risk_a=risk.id,
        question_a=question.id,
    )


@dataclass
class SpecRows:
    """Org A's project in development with an issued spec revision A whose product name is the marker."""

    revision_a: int
    revision_number_a: int


@pytest.fixture
async def specs_a(engine: AsyncEngine, world: World, fixture_a: Fixture) -> SpecRows:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await session.get_one(Project, fixture_a.project_a)
            project.phase = Phase.development  # arranged directly: the gate is tested elsewhere
            revision = await spec_service.start_revision(
                session, actor=world.coordinator, project_id=fixture_a.project_a
            )
            content = copy.deepcopy(revision.content)
            content["overview"]["product_name"] = {"en": MARKER, "zh": MARKER, "status": "reviewed"}
            content["overview"]["summary"] = {"en": "", "zh": "", "status": "missing"}
            await spec_service.save_content(
                session,
                actor=world.coordinator,
                revision_id=revision.id,
                content=content,
                expected_version=None,
            )
            for action, actor in (
                ("submit", world.coordinator),
                ("approve", world.owner_a),
                ("issue", world.coordinator),
            ):
                await spec_service.act(session, action, actor=actor, revision_id=revision.id)
    return SpecRows(revision_a=revision.id, revision_number_a=revision.number)


@dataclass
class QualityRows:
    """Org A's production order, lot, inspection in review (remarks: the marker), defect with a photo, active hold
    and corrective action (problem: the marker), arranged directly."""

    quality_order_a: int
    quality_lot_a: int
    inspection_a: int
    defect_a: int
    hold_a: int
    action_a: int


@pytest.fixture
async def quality_a(
    engine: AsyncEngine, world: World, fixture_a: Fixture, samples_a: SampleRows, specs_a: SpecRows
) -> QualityRows:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            org, project = world.org_a.id, fixture_a.project_a
            order = ProductionOrder(
                org_id=org,
                project_id=project,
                number=2,  # the production fixture's order is number 1
                supplier_id=fixture_a.supplier_a,
                revision_id=specs_a.revision_a,
                quantity=3000,
                ex_factory_date=date(2030, 1, 1),
            )
            session.add(order)
            await session.flush()
            lot = Lot(
                org_id=org,
                order_id=order.id,
                project_id=project,
                number=1,
                quantity=3000,
                planned_start=date(2029, 11, 1),
                planned_end=date(2029, 11, 20),
                revision_id=specs_a.revision_a,
                status=LotStatus.failed,
            )
            session.add(lot)
            await session.flush()
            plans = {
                name: sampling.plan(3000, "II", aql).to_dict()
                for name, aql in (("critical", "0"), ("major", "2.5"), ("minor", "4.0"))
            }
            inspection = Inspection(
                org_id=org,
                project_id=project,
                order_id=order.id,
                lot_id=lot.id,
                supplier_id=fixture_a.supplier_a,
                revision_id=specs_a.revision_a,
                number=1,
                kind="final",
                status=InspectionStatus.brand_review,
                lot_size=3000,
                plans=plans,
                counts={"critical": 0, "major": 8, "minor": 0},
                verdicts={"critical": "accept", "major": "reject", "minor": "accept"},
                verdict="reject",
                remarks=MARKER,
            )
            session.add(inspection)
            await session.flush()
            defect = Defect(
                org_id=org,
                inspection_id=inspection.id,
                order_id=order.id,
                supplier_id=fixture_a.supplier_a,
                defect_class="major",
                defect_type="appearance",
                note=MARKER,
            )
            session.add(defect)
            await session.flush()
            sample_photo = await session.get_one(SamplePhoto, samples_a.photo_a)
            session.add(
                ProductionPhoto(
                    id=samples_a.photo_a,
                    org_id=org,
                    order_id=order.id,
                    subject_type="defect",
                    subject_id=defect.id,
                    attachment_id=sample_photo.attachment_id,
                    thumbnail_key=sample_photo.thumbnail_key,
                )
            )
            hold = QualityHold(
                org_id=org,
                project_id=project,
                order_id=order.id,
                lot_id=lot.id,
                source="failed_inspection",
                reason=MARKER,
                status=HoldStatus.active,
            )
            action = CorrectiveAction(
                org_id=org,
                project_id=project,
                order_id=order.id,
                lot_id=lot.id,
                inspection_id=inspection.id,
                problem=MARKER,
                due_date=date(2029, 12, 1),
            )
            session.add_all([hold, action])
            await session.flush()
    return QualityRows(order.id, lot.id, inspection.id, defect.id, hold.id, action.id)


@dataclass
class ShippingRows:
    """Org A's production order with one lot, its packing list, a shipment with its documents, a deviation."""

    shipment_a: int
    packing_a: int
    deviation_a: int
    shipping_lot_a: int


@pytest.fixture
async def shipping_a(
    engine: AsyncEngine, world: World, fixture_a: Fixture, specs_a: SpecRows
) -> ShippingRows:
    # arranged directly: the services are tested in tests/test_shipping*.py
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            org, project = world.org_a.id, fixture_a.project_a
            order = ProductionOrder(
                org_id=org,
                project_id=project,
                number=3,  # the production and quality fixtures' orders are 1 and 2
                supplier_id=fixture_a.supplier_a,
                revision_id=specs_a.revision_a,
                status=OrderStatus.in_production,
                quantity=100,
                ex_factory_date=date(2027, 3, 1),
            )
            session.add(order)
            await session.flush()
            lot = Lot(
                org_id=org,
                order_id=order.id,
                project_id=project,
                number=1,
                quantity=100,
                planned_start=date(2027, 1, 1),
                planned_end=date(2027, 1, 20),
                revision_id=specs_a.revision_a,
                status=LotStatus.passed,
            )
            session.add(lot)
            await session.flush()
            packing = PackingList(
                org_id=org,
                lot_id=lot.id,
                order_id=order.id,
                project_id=project,
                marks=MARKER,
                status=PackingStatus.submitted,
            )
            shipment = Shipment(
                org_id=org,
                project_id=project,
                order_id=order.id,
                number=1,
                forwarder=MARKER,
                status=ShipmentStatus.planned,
            )
            deviation = FloorDeviation(
                org_id=org,
                order_id=order.id,
                project_id=project,
                lot_id=lot.id,
                number=1,
                description=MARKER,
                status=DeviationStatus.reported,
            )
            session.add_all([packing, shipment, deviation])
            await session.flush()
            session.add(ShipmentLot(org_id=org, shipment_id=shipment.id, lot_id=lot.id))
            for kind in ("commercial_invoice", "packing_list"):
                session.add(
                    ShipmentDocument(
                        org_id=org,
                        shipment_id=shipment.id,
                        kind=kind,
                        number=f"{kind}-{MARKER}",
                        data={
                            "number": MARKER,
                            "lines": [],
                            "currency": "USD",
                            "total_units": 0,
                            "total_cartons": 0,
                            "total_amount": "0.00",
                            "total_net_kg": "0",
                            "total_gross_kg": "0",
                            "total_volume_m3": "0",
                        },
                        generated_at=datetime(2027, 2, 1, tzinfo=UTC),
                    )
                )
    return ShippingRows(
        shipment_a=shipment.id, packing_a=packing.id, deviation_a=deviation.id, shipping_lot_a=lot.id
    )


@dataclass
class ProductionRows:
    """Org A's production order (its delivery address is the marker), a lot, and a progress report's photo."""

    order_a: int
    lot_a: int
    tooling_a: int
    production_photo_a: int
    purchase_order_a: int
    free_issue_a: int


@pytest.fixture
async def production_a(
    engine: AsyncEngine, world: World, fixture_a: Fixture, specs_a: SpecRows
) -> ProductionRows:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            order = ProductionOrder(
                org_id=world.org_a.id,
                project_id=fixture_a.project_a,
                number=1,
                supplier_id=fixture_a.supplier_a,
                revision_id=specs_a.revision_a,
                quantity=100,
                unit_price=Decimal("3.30"),
                ex_factory_date=date(2030, 1, 1),
                delivery_address=MARKER,
                status=OrderStatus.accepted,
            )
            session.add(order)
            await session.flush()
            lot = Lot(
                org_id=world.org_a.id,
                order_id=order.id,
                project_id=fixture_a.project_a,
                number=1,
                quantity=100,
                planned_start=date(2029, 12, 1),
                planned_end=date(2029, 12, 20),
                revision_id=specs_a.revision_a,
                status=LotStatus.in_production,
                progress={"cut": 10},
            )
            session.add(lot)
            await session.flush()
            report = ProgressReport(
                org_id=world.org_a.id,
                lot_id=lot.id,
                order_id=order.id,
                reported_at=utcnow(),
                counts={"cut": 10},
                note=MARKER,
                reporter_name=MARKER,
            )
            session.add(report)
            image = io.BytesIO()
            Image.new("RGB", (32, 24), (10, 120, 150)).save(image, "JPEG")
            key = make_key(world.org_a.id, "image", "progress.jpg")
            thumbnail_key = make_key(world.org_a.id, "image", "progress-thumb.jpg")
            for stored in (key, thumbnail_key):
                await get_storage().put(stored, image.getvalue(), content_type="image/jpeg")
            attachment = Attachment(
                org_id=world.org_a.id,
                project_id=fixture_a.project_a,
                kind="image",
                object_key=key,
                original_name=f"{MARKER}-progress.jpg",
                size=len(image.getvalue()),
                content_type="image/jpeg",
                checksum="2" * 64,
                uploaded_by_id=None,
            )
            session.add(attachment)
            await session.flush()
            photo = ProductionPhoto(
                id=7001,  # the quality fixture gives its defect photo the sample photo's id: keep clear of it
                org_id=world.org_a.id,
                order_id=order.id,
                subject_type="progress_report",
                subject_id=report.id,
                attachment_id=attachment.id,
                thumbnail_key=thumbnail_key,
                caption=MARKER,
            )
            item = ToolingItem(
                org_id=world.org_a.id, order_id=order.id, project_id=fixture_a.project_a, name=MARKER
            )
            requirement = MaterialRequirement(
                org_id=world.org_a.id,
                order_id=order.id,
                project_id=fixture_a.project_a,
                material_key=MARKER,
                description_en=MARKER,
                need_date=date(2029, 11, 20),
                order_by_date=date(2029, 10, 1),
                supplied_by="agency",
            )
            session.add_all([photo, item, requirement])
            await session.flush()
            purchase = PurchaseOrder(
                org_id=world.org_a.id,
                order_id=order.id,
                project_id=fixture_a.project_a,
                number=1,
                supplier_name=MARKER,
            )
            free_issue = FreeIssueShipment(
                org_id=world.org_a.id,
                order_id=order.id,
                project_id=fixture_a.project_a,
                requirement_id=requirement.id,
                quantity=Decimal(10),
                eta=date(2029, 11, 1),
                tracking=MARKER,
            )
            session.add_all([purchase, free_issue])
            await session.flush()
    return ProductionRows(
        order_a=order.id,
        lot_a=lot.id,
        tooling_a=item.id,
        production_photo_a=photo.id,
        purchase_order_a=purchase.id,
        free_issue_a=free_issue.id,
    )


async def snapshot(engine: AsyncEngine, org_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row org A owns, whole."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "org_id" in table.c:
                rows = (await conn.execute(select(table).where(table.c.org_id == org_id))).all()
            elif table.name == "organizations":
                rows = (await conn.execute(select(table).where(table.c.id == org_id))).all()
            else:
                continue
            out[table.name] = sorted(tuple(r) for r in rows)
    return out


def routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(MOUNTED):
            continue
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            found.append((method, route.path))
    return found


def fill(path: str, values: Fixture | None) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PATH_VALUES:
            pytest.fail(
                f"{path} has a path parameter {name!r} the tenancy matrix does not know: add it to PATH_VALUES"
            )
        return str(MISSING_ID if values is None else PATH_VALUES[name](values))

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)


def is_public(path: str) -> bool:
    return (
        path in PUBLIC
        or path.startswith(PUBLIC_PREFIXES)
        or path.startswith(SIGNED_PREFIXES)
        or path.startswith(TOKEN_LINK_PREFIXES)
    )


@dataclass
class Caller:
    """One identity on the shared test client: its own cookie jar and API token."""

    client: AsyncTestClient[Litestar]
    cookies: httpx.Cookies
    token: str | None

    async def call(self, method: str, route: str, url: str) -> Any:
        self.client.cookies = httpx.Cookies(self.cookies)
        headers: dict[str, str] = {"accept": "text/html"}
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if url.startswith("/api/"):
            headers = {"accept": "application/json"}
            if self.token:
                headers["authorization"] = f"Bearer {self.token}"
            if method != "GET":
                kwargs["json"] = WRITE_BODIES.get((method, route), {})
        elif method != "GET":
            kwargs["data"] = {"_csrf_token": csrf(self.client)}
        response = await self.client.request(method, url, headers=headers, **kwargs)
        self.cookies = httpx.Cookies(self.client.cookies)
        return response


@pytest.fixture
async def callers(client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World) -> dict[str, Caller]:
    # one client (one app lifespan); each identity keeps its own cookies
    out: dict[str, Caller] = {}
    for name, user in [
        ("anonymous", None),
        ("member_a", world.owner_a),
        ("member_b", world.owner_b),
        ("coordinator", world.coordinator),
    ]:
        client.cookies = httpx.Cookies()
        token = None
        if user is not None:
            await login(client, user.email)
            async with make_sessionmaker(engine)() as session:
                set_scope(session, Scope.system())
                async with session.begin():
                    token = (await accounts.issue_api_token(session, user=user)).token
        else:
            await client.get("/login")  # a CSRF cookie, so refusals are about identity, not the form token
        out[name] = Caller(client, httpx.Cookies(client.cookies), token)
    return out


async def test_route_matrix(
    app: Litestar,
    engine: AsyncEngine,
    world: World,
    fixture_a: Fixture,
    team_a: TeamRows,
    samples_a: SampleRows,
    specs_a: SpecRows,
    production_a: ProductionRows,
    quality_a: QualityRows,
    shipping_a: ShippingRows,
    callers: dict[str, Caller],
) -> None:
    for rows in (team_a, samples_a, specs_a, production_a, quality_a, shipping_a):
        for name, value in vars(rows).items():
            setattr(fixture_a, name, value)
    table = routes(app)
    assert ("GET", "/api/v1/projects") in table
    assert ("GET", "/projects/{project_id:int}") in table
    baseline = await snapshot(engine, world.org_a.id)
    failures: list[str] = []

    for method, route in table:
        if route in {"/logout", "/login", "/locale"}:
            continue  # they act on the caller's own session only
        url = fill(route, fixture_a)
        has_params = url != route

        # anonymous: refused unless public
        response = await callers["anonymous"].call(method, route, url)
        if route.startswith(SIGNED_PREFIXES + TOKEN_LINK_PREFIXES) and response.status_code < 400:
            failures.append(f"anonymous {method} {url}: a forged signature got {response.status_code}")
        if not is_public(route):
            refused = response.status_code in (401, 403) or (
                response.status_code == 303 and response.headers["location"].startswith("/login")
            )
            if not refused:
                failures.append(f"anonymous {method} {url}: {response.status_code}")
        if MARKER in response.text:
            failures.append(f"anonymous {method} {url}: shows org A's data")

        # member of org B: A's objects look exactly like missing ones, and nothing of A shows
        if not is_public(route):
            theirs = await callers["member_b"].call(method, route, url)
            if MARKER in theirs.text:
                failures.append(f"member_b {method} {url}: shows org A's data")
            if has_params:
                missing = await callers["member_b"].call(method, route, fill(route, None))
                if theirs.status_code != missing.status_code or theirs.status_code < 400:
                    failures.append(
                        f"member_b {method} {url}: {theirs.status_code}, a missing id gets {missing.status_code}"
                    )

        # staff-only pages refuse org A's own members too
        if route.startswith(STAFF_ONLY_PREFIXES) or route in STAFF_ONLY_ROUTES:
            theirs = await callers["member_a"].call(method, route, url)
            if theirs.status_code not in (403, 404):
                failures.append(f"member_a {method} {url}: {theirs.status_code} on a coordinator page")

        # member of org A and coordinators can read A's objects
        if method == "GET" and not is_public(route):
            for who in (
                ("coordinator",)
                if route.startswith(STAFF_ONLY_PREFIXES) or route in STAFF_ONLY_ROUTES
                else ("member_a", "coordinator")
            ):
                ok = await callers[who].call(method, route, url)
                if ok.status_code >= 400:
                    failures.append(f"{who} GET {url}: {ok.status_code}")
                elif route.endswith("}") and ok.status_code == 200 and MARKER not in ok.text:
                    failures.append(f"{who} GET {url}: does not show the object")

    assert await snapshot(engine, world.org_a.id) == baseline, "org A's rows changed"
    assert not failures, "\n".join(failures)
