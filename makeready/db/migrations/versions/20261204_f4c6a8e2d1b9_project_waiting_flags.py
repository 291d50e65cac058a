"""projects.waiting_*: what each project waits on, kept by the bus (makeready.workflow.waiting_flags)

The columns start at "waiting on nobody"; `makeready waiting rebuild` fills them from the one waiting rule,
a batch of projects per transaction (run it once after this upgrade).

Revision ID: f4c6a8e2d1b9
Revises: dac64f54bc95
Create Date: 2026-12-04 12:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makeready.db.types

revision: str = "f4c6a8e2d1b9"
down_revision: str | None = "dac64f54bc95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("waiting_on_brand", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("waiting_questions", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("waiting_sample_decisions", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("waiting_go_ahead", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("waiting_on_agency", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("waiting_since", makeready.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index("ix_projects_waiting", "projects", ["waiting_on_brand", "updated_at", "id"])
    op.create_index("ix_projects_org_waiting", "projects", ["org_id", "waiting_on_brand", "updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_projects_org_waiting", table_name="projects")
    op.drop_index("ix_projects_waiting", table_name="projects")
    with op.batch_alter_table("projects") as batch:
        for column in (
            "waiting_since",
            "waiting_on_agency",
            "waiting_go_ahead",
            "waiting_sample_decisions",
            "waiting_questions",
            "waiting_on_brand",
        ):
            batch.drop_column(column)
