"""billing_plans: the plan's description in Chinese (the pricing page shows the reader's language)

Revision ID: c3e8f1a2b4d6
Revises: b2801e8ec8a3
Create Date: 2026-12-04 05:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e8f1a2b4d6"
down_revision: str | None = "b2801e8ec8a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description_zh", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("billing_plans", schema=None) as batch_op:
        batch_op.drop_column("description_zh")
