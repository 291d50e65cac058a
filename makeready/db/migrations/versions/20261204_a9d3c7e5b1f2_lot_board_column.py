"""lots.board_column: each lot's column on the live production board, kept by makeready.production.board_columns

With the index the board pages and counts each column on (ix_lots_board), and one on a subject's open conditions
(ix_conditions_open_subject: the board's notes and the rule's hold and shortage tests read them by lot), and one on
a production order's open milestones in plan order (ix_milestones_open_order: each card's next step).

The column is filled here, set-wise, by a frozen copy of the board rule as it stands at this revision
(`column_of_lot()`; tests/test_board_columns.py checks that this copy and the rule agree), so the board is right
as soon as the upgrade ends. `makeready production-board rebuild` recomputes every lot from the rule itself.

Revision ID: a9d3c7e5b1f2
Revises: a1c5e9d3b7f2
Create Date: 2026-12-04 15:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a9d3c7e5b1f2"
down_revision: str | None = "a1c5e9d3b7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE lots SET board_column = (
    SELECT CASE
        WHEN lots.status IN ('cancelled', 'delivered') OR o.status IN ('closed', 'cancelled') THEN NULL
        WHEN EXISTS (
            SELECT 1 FROM conditions c
            WHERE c.subject_type = 'lot' AND c.subject_id = lots.id AND c.resolved_at IS NULL
              AND c.kind >= 'hold' AND c.kind < 'hole'
        ) THEN 'on_hold'
        WHEN EXISTS (
            SELECT 1 FROM conditions c
            WHERE c.subject_type = 'lot' AND c.subject_id = lots.id AND c.resolved_at IS NULL
              AND c.kind >= 'shortage' AND c.kind < 'shortagf'
        ) THEN 'pending_parts'
        WHEN lots.status = 'planned' AND o.tooling_override_reason = '' AND EXISTS (
            SELECT 1 FROM tooling_items t WHERE t.order_id = lots.order_id AND t.status <> 'approved'
        ) THEN 'tooling'
        WHEN lots.status = 'planned' THEN 'planned'
        WHEN lots.status = 'in_production' THEN 'in_production'
        WHEN lots.status IN ('produced', 'inspecting', 'passed', 'failed', 'rework', 'reinspecting', 'released')
            THEN 'inspection'
        WHEN lots.status = 'packed' THEN 'packed'
        ELSE 'shipped'
    END
    FROM production_orders o WHERE o.id = lots.order_id
)
"""
"""The board rule at this revision, over every lot in one statement."""


def upgrade() -> None:
    with op.batch_alter_table("lots") as batch:
        batch.add_column(sa.Column("board_column", sa.String(length=24), nullable=True))
    op.create_index("ix_lots_board", "lots", ["board_column", "planned_start", "order_id", "number"])
    op.create_index(
        "ix_conditions_open_subject",
        "conditions",
        ["subject_type", "subject_id", "kind"],
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index(
        "ix_milestones_open_order",
        "milestones",
        ["production_order_id", "due_date", "position", "id"],
        sqlite_where=sa.text("status != 'done'"),
        postgresql_where=sa.text("status != 'done'"),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index("ix_milestones_open_order", table_name="milestones")
    op.drop_index("ix_conditions_open_subject", table_name="conditions")
    op.drop_index("ix_lots_board", table_name="lots")
    with op.batch_alter_table("lots") as batch:
        batch.drop_column("board_column")
