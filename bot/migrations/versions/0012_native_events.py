"""native scheduled events linked to community events

Revision ID: 0012
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nativeevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("native_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("space", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("interested", sa.JSON(), nullable=False),
        sa.Column("interest_known", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("platform", "native_id"),
    )


def downgrade() -> None:
    op.drop_table("nativeevent")
