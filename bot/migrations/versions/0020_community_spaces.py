"""one community across platforms: what each imported event last told the community's spaces;
where each check-in answer was given, and an anonymous round's counts per platform

Revision ID: 0020
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("announced", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("announcements", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("checkin_answer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    with op.batch_alter_table("checkin_round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_tally", sa.JSON(), nullable=True))
    # Answers given before: on the round's own platform (the closest there is to knowing);
    # a closed anonymous round's answers stay without one, so none is tied to a platform.
    op.execute(
        "UPDATE checkin_answer SET platform = (SELECT r.platform FROM checkin_round r "
        "WHERE r.id = checkin_answer.round_id AND (NOT r.anonymous OR r.state = 'open'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("checkin_round", schema=None) as batch_op:
        batch_op.drop_column("platform_tally")
    with op.batch_alter_table("checkin_answer", schema=None) as batch_op:
        batch_op.drop_column("platform")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("announcements")
        batch_op.drop_column("announced")
