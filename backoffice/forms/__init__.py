"""Back-office forms: actions a raw table edit cannot do safely, done by the same core services as every other door.

Each endpoint opens one SQLAlchemy transaction scoped to the signed-in coordinator, resolves what was named in the
form, calls a makeready service (which writes its audit event in that transaction), and turns domain errors into
the message piccolo-admin shows (it shows the text of a ValueError). See backoffice.forms.base.
"""

from __future__ import annotations

from piccolo_admin.endpoints import FormConfig
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.forms.base import Form
from backoffice.forms.billing import billing_forms
from backoffice.forms.users import user_forms
from backoffice.forms.workflow import workflow_forms


def admin_forms(engine: AsyncEngine) -> list[FormConfig]:
    """Every form of the back office, in menu order."""
    return [*workflow_forms(engine), *billing_forms(engine), *user_forms(engine)]


__all__ = ["Form", "admin_forms", "billing_forms", "user_forms", "workflow_forms"]
