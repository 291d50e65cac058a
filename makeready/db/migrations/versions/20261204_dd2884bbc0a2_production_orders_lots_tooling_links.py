"""production orders lots tooling links

Revision ID: dd2884bbc0a2
Revises: d5a9c2e7f1b3
Create Date: 2026-12-04 07:39:33.738496+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makeready.db.types

revision: str = "dd2884bbc0a2"
down_revision: str | None = "d5a9c2e7f1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "production_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=True),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "confirmed",
                "sent",
                "accepted",
                "in_production",
                "produced",
                "shipped",
                "closed",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "incoterm",
            sa.Enum(
                "EXW",
                "FCA",
                "FOB",
                "CFR",
                "CIF",
                "CPT",
                "CIP",
                "DAP",
                "DPU",
                "DDP",
                name="incoterm",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("ex_factory_date", sa.Date(), nullable=False),
        sa.Column("delivery_address", sa.Text(), nullable=False),
        sa.Column("payment_terms", sa.Text(), nullable=False),
        sa.Column("routing", sa.JSON(), nullable=False),
        sa.Column("report_interval_days", sa.Integer(), nullable=False),
        sa.Column("bom_snapshot", sa.JSON(), nullable=True),
        sa.Column("confirmed_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_name", sa.String(length=200), nullable=False),
        sa.Column("proposed_ex_factory_date", sa.Date(), nullable=True),
        sa.Column("proposal_reason", sa.Text(), nullable=False),
        sa.Column("production_started_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("produced_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tooling_override_reason", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_production_orders_confirmed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_production_orders_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_production_orders_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_production_orders_quote_id_quotes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["spec_revisions.id"],
            name=op.f("fk_production_orders_revision_id_spec_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_production_orders_supplier_id_suppliers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_orders")),
        sa.UniqueConstraint("project_id", "number", name="uq_production_orders_project_number"),
    )
    op.create_index(op.f("ix_production_orders_org_id"), "production_orders", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_production_orders_project_id"), "production_orders", ["project_id"], unique=False
    )
    op.create_index(op.f("ix_production_orders_status"), "production_orders", ["status"], unique=False)
    op.create_index(
        "ix_production_orders_supplier_status", "production_orders", ["supplier_id", "status"], unique=False
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=False),
        sa.Column("planned_end", sa.Date(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_production",
                "produced",
                "inspecting",
                "passed",
                "failed",
                "rework",
                "reinspecting",
                "released",
                "packed",
                "shipped",
                "delivered",
                "cancelled",
                name="lotstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("last_report_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("produced_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("packed_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("start_override_reason", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["production_orders.id"],
            name=op.f("fk_lots_order_id_production_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_lots_org_id_organizations"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_lots_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["spec_revisions.id"],
            name=op.f("fk_lots_revision_id_spec_revisions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("order_id", "number", name="uq_lots_order_number"),
    )
    op.create_index(op.f("ix_lots_order_id"), "lots", ["order_id"], unique=False)
    op.create_index(op.f("ix_lots_org_id"), "lots", ["org_id"], unique=False)
    op.create_index(op.f("ix_lots_project_id"), "lots", ["project_id"], unique=False)
    op.create_index("ix_lots_status_planned_start", "lots", ["status", "planned_start"], unique=False)
    op.create_table(
        "production_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum("live", "revoked", name="productionlinkstate", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("revoked_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("first_opened_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_opened_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_production_links_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["production_orders.id"],
            name=op.f("fk_production_links_order_id_production_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_production_links_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_production_links_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["users.id"],
            name=op.f("fk_production_links_revoked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_production_links_supplier_id_suppliers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_production_links_token_hash")),
    )
    op.create_index(op.f("ix_production_links_order_id"), "production_links", ["order_id"], unique=False)
    op.create_index(op.f("ix_production_links_org_id"), "production_links", ["org_id"], unique=False)
    op.create_index(op.f("ix_production_links_project_id"), "production_links", ["project_id"], unique=False)
    op.create_table(
        "production_photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=500), nullable=False),
        sa.Column("caption", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_production_photos_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["production_orders.id"],
            name=op.f("fk_production_photos_order_id_production_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_production_photos_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_photos")),
    )
    op.create_index(op.f("ix_production_photos_order_id"), "production_photos", ["order_id"], unique=False)
    op.create_index(op.f("ix_production_photos_org_id"), "production_photos", ["org_id"], unique=False)
    op.create_index(
        "ix_production_photos_subject", "production_photos", ["subject_type", "subject_id"], unique=False
    )
    op.create_table(
        "tooling_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("mold", "jig", "fixture", "test_rig", name="toolingkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "to_make",
                "in_progress",
                "trial",
                "approved",
                "rejected",
                name="toolingstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("trial_number", sa.Integer(), nullable=False),
        sa.Column("trial_note", sa.Text(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("started_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("trial_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", makeready.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["production_orders.id"],
            name=op.f("fk_tooling_items_order_id_production_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_tooling_items_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_tooling_items_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_tooling_items_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tooling_items")),
    )
    op.create_index(op.f("ix_tooling_items_order_id"), "tooling_items", ["order_id"], unique=False)
    op.create_index(op.f("ix_tooling_items_org_id"), "tooling_items", ["org_id"], unique=False)
    op.create_index(op.f("ix_tooling_items_project_id"), "tooling_items", ["project_id"], unique=False)
    op.create_table(
        "progress_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("via_link", sa.Boolean(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_progress_reports_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["production_orders.id"],
            name=op.f("fk_progress_reports_order_id_production_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_progress_reports_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["users.id"],
            name=op.f("fk_progress_reports_reported_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_reports")),
    )
    op.create_index(
        "ix_progress_reports_lot_reported", "progress_reports", ["lot_id", "reported_at"], unique=False
    )
    op.create_index(op.f("ix_progress_reports_order_id"), "progress_reports", ["order_id"], unique=False)
    op.create_index(op.f("ix_progress_reports_org_id"), "progress_reports", ["org_id"], unique=False)
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("production_order_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_key", sa.String(length=40), nullable=False, server_default=""))
        batch_op.create_index(
            batch_op.f("ix_milestones_production_order_id"), ["production_order_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_milestones_production_order_id_production_orders"),
            "production_orders",
            ["production_order_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.alter_column("plan_key", server_default=None)
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weekly_capacity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("weekly_capacity")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_milestones_production_order_id_production_orders"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_milestones_production_order_id"))
        batch_op.drop_column("plan_key")
        batch_op.drop_column("production_order_id")
    op.drop_index(op.f("ix_progress_reports_org_id"), table_name="progress_reports")
    op.drop_index(op.f("ix_progress_reports_order_id"), table_name="progress_reports")
    op.drop_index("ix_progress_reports_lot_reported", table_name="progress_reports")
    op.drop_table("progress_reports")
    op.drop_index(op.f("ix_tooling_items_project_id"), table_name="tooling_items")
    op.drop_index(op.f("ix_tooling_items_org_id"), table_name="tooling_items")
    op.drop_index(op.f("ix_tooling_items_order_id"), table_name="tooling_items")
    op.drop_table("tooling_items")
    op.drop_index("ix_production_photos_subject", table_name="production_photos")
    op.drop_index(op.f("ix_production_photos_org_id"), table_name="production_photos")
    op.drop_index(op.f("ix_production_photos_order_id"), table_name="production_photos")
    op.drop_table("production_photos")
    op.drop_index(op.f("ix_production_links_project_id"), table_name="production_links")
    op.drop_index(op.f("ix_production_links_org_id"), table_name="production_links")
    op.drop_index(op.f("ix_production_links_order_id"), table_name="production_links")
    op.drop_table("production_links")
    op.drop_index("ix_lots_status_planned_start", table_name="lots")
    op.drop_index(op.f("ix_lots_project_id"), table_name="lots")
    op.drop_index(op.f("ix_lots_org_id"), table_name="lots")
    op.drop_index(op.f("ix_lots_order_id"), table_name="lots")
    op.drop_table("lots")
    op.drop_index("ix_production_orders_supplier_status", table_name="production_orders")
    op.drop_index(op.f("ix_production_orders_status"), table_name="production_orders")
    op.drop_index(op.f("ix_production_orders_project_id"), table_name="production_orders")
    op.drop_index(op.f("ix_production_orders_org_id"), table_name="production_orders")
    op.drop_table("production_orders")
