"""feasibility reviews and factory links: a lifecycle state column each, owned by a machine

Revision ID: 9d2f6a3b7c15
Revises: a41c7e2b9f05
Create Date: 2026-12-04 05:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d2f6a3b7c15"
down_revision: str | None = "a41c7e2b9f05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feasibility_reviews", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum("open", "completed", name="reviewstatus", native_enum=False, length=24),
                nullable=False,
                server_default="open",
            )
        )
    op.execute("UPDATE feasibility_reviews SET status = 'completed' WHERE completed_at IS NOT NULL")
    with op.batch_alter_table("feasibility_reviews", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)

    with op.batch_alter_table("factory_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sa.Enum("live", "acknowledged", "revoked", name="linkstate", native_enum=False, length=24),
                nullable=False,
                server_default="live",
            )
        )
    op.execute("UPDATE factory_links SET state = 'acknowledged' WHERE acknowledged_at IS NOT NULL")
    op.execute("UPDATE factory_links SET state = 'revoked' WHERE revoked_at IS NOT NULL")
    with op.batch_alter_table("factory_links", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("factory_links", schema=None) as batch_op:
        batch_op.drop_column("state")
    with op.batch_alter_table("feasibility_reviews", schema=None) as batch_op:
        batch_op.drop_column("status")
