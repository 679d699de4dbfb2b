"""events keep their calendar and per-occurrence changes

Revision ID: 0009
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("calendar", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("floating_tz", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(sa.Column("overrides", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("overrides")
        batch.drop_column("floating_tz")
        batch.drop_column("calendar")
