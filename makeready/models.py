"""Imports every model so `Base.metadata` is complete (Alembic, piccolo-admin and tests read it)."""

from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import ApiToken, Invitation, Membership, Organization, User
from makeready.audit.models import AuditCheckpoint, AuditEvent
from makeready.billing.models import BillingAccount, Invoice, MilestoneFee, Plan, StripeEvent, Subscription
from makeready.changes.models import ChangeRequest
from makeready.conditions.models import Condition
from makeready.db.base import Base
from makeready.feasibility.models import FeasibilityCheck, FeasibilityReview, ProductionApproach, Risk
from makeready.metrics.models import MetricCursor, MetricFact, MetricWait
from makeready.notify.models import EmailOutbox, Notification
from makeready.projects.models import Attachment, Milestone, Project, Question, Task
from makeready.samples.models import SamplePhoto, SampleRound
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
    "ChangeRequest",
    "Condition",
    "EmailOutbox",
    "FactoryLink",
    "FactoryQuestion",
    "FeasibilityCheck",
    "FeasibilityReview",
    "GlossaryTerm",
    "Invitation",
    "Invoice",
    "Membership",
    "MetricCursor",
    "MetricFact",
    "MetricWait",
    "Milestone",
    "MilestoneFee",
    "Notification",
    "Organization",
    "Plan",
    "ProductionApproach",
    "Project",
    "Question",
    "Quote",
    "Risk",
    "SamplePhoto",
    "SampleRound",
    "SpecDocument",
    "SpecRevision",
    "StripeEvent",
    "Subscription",
    "Supplier",
    "Task",
    "User",
]
