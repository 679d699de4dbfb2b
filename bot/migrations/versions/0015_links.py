"""links: one member across platforms (one-time link codes, their guard, where to reach them),
links to a member's own data;
a breakout outlives a forgotten starter; a check-in round open in several spaces

Revision ID: 0015
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("breakout", schema=None) as batch_op:
        batch_op.alter_column("started_by", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reach", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    op.create_table(
        "link_code",
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_code_member_id"), ["member_id"], unique=False)
    op.create_table(
        "data_link",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("data_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_link_member_id"), ["member_id"], unique=False)
    op.create_table(
        "checkin_space",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("space", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("thread", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["checkin_round.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin_space", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_space_place", ["platform", "space"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_space_round_id"), ["round_id"], unique=False)
    op.create_table(
        "link_guard",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )


def downgrade() -> None:
    op.drop_table("link_guard")
    with op.batch_alter_table("checkin_space", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_space_round_id"))
        batch_op.drop_index("ix_checkin_space_place")
    op.drop_table("checkin_space")
    with op.batch_alter_table("data_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_link_member_id"))
    op.drop_table("data_link")
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_code_member_id"))
    op.drop_table("link_code")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("reach")
    with op.batch_alter_table("breakout", schema=None) as batch_op:
        batch_op.alter_column("started_by", existing_type=sa.Integer(), nullable=False)
