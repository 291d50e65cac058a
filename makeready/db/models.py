"""Imports every model so `Base.metadata` is complete (Alembic, piccolo-admin and tests read it)."""

from makeready.accounts.admin_sessions import AdminSession
from makeready.accounts.models import ApiToken, Membership, Organization, User
from makeready.audit.models import AuditEvent
from makeready.db.base import Base
from makeready.projects.models import Attachment, Milestone, Project
from makeready.suppliers.models import Supplier

__all__ = [
    "AdminSession",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Base",
    "Membership",
    "Milestone",
    "Organization",
    "Project",
    "Supplier",
    "User",
]
