"""admin sessions: piccolo-admin's session store for back-office logins

Revision ID: 83c44235496b
Revises: 4fb87a575891
Create Date: 2026-11-22 04:11:08.318621+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makeready.db.types

revision: str = "83c44235496b"
down_revision: str | None = "4fb87a575891"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expiry_date", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("max_expiry_date", makeready.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_admin_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_sessions")),
        sa.UniqueConstraint("token", name=op.f("uq_admin_sessions_token")),
    )
    with op.batch_alter_table("admin_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("admin_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_sessions_user_id"))

    op.drop_table("admin_sessions")
