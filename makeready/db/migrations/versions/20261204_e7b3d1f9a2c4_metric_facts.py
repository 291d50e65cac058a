"""metric_facts, metric_waits and metric_cursor: the audit trail folded for the figures (makeready.metrics)

Revision ID: e7b3d1f9a2c4
Revises: d5a9c2e7f1b3
Create Date: 2026-12-04 08:05:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makeready.db.types

revision: str = "e7b3d1f9a2c4"
down_revision: str | None = "16fb568fd503"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_cursor",
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_cursor")),
    )
    op.create_table(
        "metric_facts",
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("asked_seq", sa.Integer(), nullable=False),
        sa.Column("asked_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_seq", sa.Integer(), nullable=True),
        sa.Column("closed_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=False),
        sa.Column("latency_s", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_metric_facts_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_facts")),
        sa.UniqueConstraint("asked_seq", name=op.f("uq_metric_facts_asked_seq")),
    )
    op.create_table(
        "metric_waits",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("open_since", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_metric_waits_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_waits")),
    )
    with op.batch_alter_table("metric_waits", schema=None) as batch_op:
        batch_op.create_index("ix_metric_waits_month_party", ["month", "party"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_waits_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_waits_project_id"), ["project_id"], unique=False)
    with op.batch_alter_table("metric_facts", schema=None) as batch_op:
        batch_op.create_index("ix_metric_facts_key_open", ["key", "closed_seq"], unique=False)
        batch_op.create_index("ix_metric_facts_kind_closed_at", ["kind", "closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_facts_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_facts_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_facts_scope"), ["scope"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_facts_supplier_id"), ["supplier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("metric_waits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_waits_project_id"))
        batch_op.drop_index(batch_op.f("ix_metric_waits_org_id"))
        batch_op.drop_index("ix_metric_waits_month_party")
    op.drop_table("metric_waits")
    with op.batch_alter_table("metric_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_facts_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_metric_facts_scope"))
        batch_op.drop_index(batch_op.f("ix_metric_facts_project_id"))
        batch_op.drop_index(batch_op.f("ix_metric_facts_org_id"))
        batch_op.drop_index("ix_metric_facts_kind_closed_at")
        batch_op.drop_index("ix_metric_facts_key_open")
    op.drop_table("metric_facts")
    op.drop_table("metric_cursor")
