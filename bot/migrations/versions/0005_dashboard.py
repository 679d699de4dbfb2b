"""dashboard: one-time sign-in links (only the token's hash is kept)

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_link",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("dashboard_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_link_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dashboard_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_link_member_id"))
    op.drop_table("dashboard_link")
