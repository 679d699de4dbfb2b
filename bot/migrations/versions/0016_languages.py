"""languages: a member's chosen language and the one their platform reports

Revision ID: 0016
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "platform_language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("platform_language")
        batch.drop_column("language")
