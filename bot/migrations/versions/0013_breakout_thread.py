"""breakout thread: on a forum a breakout's main place is the topic it was started in

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("breakout", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thread", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("breakout", schema=None) as batch_op:
        batch_op.drop_column("thread")
