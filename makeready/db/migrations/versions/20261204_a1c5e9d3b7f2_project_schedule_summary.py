"""projects.open_milestones, next_due, next_planned_due: when a project's open milestones fall due, kept by the bus
(makeready.workflow.waiting_flags) so that the board ranks projects without reading their milestones

Filled here from the milestones, set-wise (one UPDATE, the same rule as `waiting_flags.schedule_of_projects`).

Revision ID: a1c5e9d3b7f2
Revises: f4c6a8e2d1b9
Create Date: 2026-12-04 15:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c5e9d3b7f2"
down_revision: str | None = "f4c6a8e2d1b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("open_milestones", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("next_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_planned_due", sa.Date(), nullable=True))
    op.execute(
        """
        UPDATE projects SET
            open_milestones = (
                SELECT count(*) FROM milestones m WHERE m.project_id = projects.id AND m.status != 'done'
            ),
            next_due = (
                SELECT min(m.due_date) FROM milestones m WHERE m.project_id = projects.id AND m.status != 'done'
            ),
            next_planned_due = (
                SELECT min(m.due_date) FROM milestones m WHERE m.project_id = projects.id AND m.status = 'planned'
            )
        WHERE EXISTS (SELECT 1 FROM milestones m WHERE m.project_id = projects.id AND m.status != 'done')
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        for column in ("next_planned_due", "next_due", "open_milestones"):
            batch.drop_column(column)
