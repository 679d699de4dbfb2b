"""Check-in rounds: rounds, who was asked, answers, recurring series, export links.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkin_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("space", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("prompt_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("dm", sa.Boolean(), nullable=False),
        sa.Column("close_after_s", sa.Integer(), nullable=True),
        sa.Column("remind_after_s", sa.Integer(), nullable=True),
        sa.Column("rrule", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("tz", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dtstart", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkin_series_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "checkin_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("space", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("thread", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("prompt_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("dm", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("hmac_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("opened_by_member_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["checkin_series.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin_round", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkin_round_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            "ix_checkin_round_place", ["platform", "space", "state"], unique=False
        )

    op.create_table(
        "checkin_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("voter_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["checkin_round.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "member_id"),
        sa.UniqueConstraint("round_id", "voter_hash"),
    )
    with op.batch_alter_table("checkin_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_answer_round_id"), ["round_id"], unique=False)

    op.create_table(
        "checkin_asked",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["checkin_round.id"],
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id"),
    )
    with op.batch_alter_table("checkin_asked", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_asked_member_id"), ["member_id"], unique=False)

    op.create_table(
        "checkin_export",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["checkin_round.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("checkin_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_export_round_id"), ["round_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("checkin_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_export_round_id"))

    op.drop_table("checkin_export")
    with op.batch_alter_table("checkin_asked", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_asked_member_id"))

    op.drop_table("checkin_asked")
    with op.batch_alter_table("checkin_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_answer_round_id"))

    op.drop_table("checkin_answer")
    with op.batch_alter_table("checkin_round", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_round_place")
        batch_op.drop_index(batch_op.f("ix_checkin_round_community_id"))

    op.drop_table("checkin_round")
    with op.batch_alter_table("checkin_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_series_community_id"))

    op.drop_table("checkin_series")
