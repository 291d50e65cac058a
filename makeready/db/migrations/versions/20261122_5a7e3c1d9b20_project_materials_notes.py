"""projects: the brand's materials and finish notes

Revision ID: 5a7e3c1d9b20
Revises: 4f05432ddbf4
Create Date: 2026-11-22 05:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a7e3c1d9b20"
down_revision: str | None = "4f05432ddbf4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("materials_notes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("materials_notes")
