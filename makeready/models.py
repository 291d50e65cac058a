"""Imports every model so `Base.metadata` is complete (Alembic, piccolo-admin and tests read it)."""

from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import ApiToken, Invitation, Membership, Organization, User
from makeready.audit.models import AuditCheckpoint, AuditEvent
from makeready.billing.models import BillingAccount, Invoice, MilestoneFee, Plan, StripeEvent, Subscription
from makeready.budget.models import BudgetEntry, BudgetRate
from makeready.changes.models import ChangeRequest
from makeready.conditions.models import Condition
from makeready.db.base import Base
from makeready.feasibility.models import FeasibilityCheck, FeasibilityReview, ProductionApproach, Risk
from makeready.materials.models import (
    FreeIssueShipment,
    MaterialReceipt,
    MaterialRequirement,
    PurchaseOrder,
    PurchaseOrderLine,
)
from makeready.metrics.models import MetricCursor, MetricFact, MetricWait
from makeready.notify.models import EmailOutbox, Notification
from makeready.production.models import (
    Lot,
    ProductionLink,
    ProductionOrder,
    ProductionPhoto,
    ProgressReport,
    ToolingItem,
)
from makeready.projects.models import Attachment, Milestone, Project, Question, Task
from makeready.quality.models import CorrectiveAction, Defect, Inspection, QualityHold
from makeready.samples.models import SamplePhoto, SampleRound
from makeready.shipping.models import (
    FloorDeviation,
    PackingList,
    RevisionChange,
    Shipment,
    ShipmentDocument,
    ShipmentLot,
)
from makeready.specs.models import FactoryLink, FactoryQuestion, GlossaryTerm, SpecDocument, SpecRevision
from makeready.suppliers.models import Quote, Supplier

__all__ = [
    "AdminSession",
    "ApiToken",
    "Attachment",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "BillingAccount",
    "BudgetEntry",
    "BudgetRate",
    "ChangeRequest",
    "Condition",
    "CorrectiveAction",
    "Defect",
    "EmailOutbox",
    "FactoryLink",
    "FactoryQuestion",
    "FeasibilityCheck",
    "FeasibilityReview",
    "FloorDeviation",
    "FreeIssueShipment",
    "GlossaryTerm",
    "Inspection",
    "Invitation",
    "Invoice",
    "Lot",
    "MaterialReceipt",
    "MaterialRequirement",
    "Membership",
    "MetricCursor",
    "MetricFact",
    "MetricWait",
    "Milestone",
    "MilestoneFee",
    "Notification",
    "Organization",
    "PackingList",
    "Plan",
    "ProductionApproach",
    "ProductionLink",
    "ProductionOrder",
    "ProductionPhoto",
    "ProgressReport",
    "Project",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "QualityHold",
    "Question",
    "Quote",
    "RevisionChange",
    "Risk",
    "SamplePhoto",
    "SampleRound",
    "Shipment",
    "ShipmentDocument",
    "ShipmentLot",
    "SpecDocument",
    "SpecRevision",
    "StripeEvent",
    "Subscription",
    "Supplier",
    "Task",
    "ToolingItem",
    "User",
]
