"""breakout rooms: a breakout spans spaces on several platforms (`--in`), a group has a room on
each platform it spans, and the copies the bot relays between them are recorded

Revision ID: 0017
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017"
down_revision = "0020"
branch_labels = None
depends_on = None

STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "breakout_space",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breakout_id", sa.Integer(), nullable=False),
        sa.Column("platform", STR(length=32), nullable=False),
        sa.Column("space", STR(length=255), nullable=False),
        sa.Column("thread", STR(length=255), nullable=True),
        sa.Column("call_message_id", STR(length=255), nullable=True),
        sa.ForeignKeyConstraint(["breakout_id"], ["breakout.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("breakout_id", "platform"),
    )
    with op.batch_alter_table("breakout_space", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_breakout_space_breakout_id"), ["breakout_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_breakout_space_space"), ["space"], unique=False)
    op.create_table(
        "breakout_room",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("platform", STR(length=32), nullable=False),
        sa.Column("kind", STR(length=16), nullable=False),
        sa.Column("space", STR(length=255), nullable=True),
        sa.Column("thread", STR(length=255), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["breakout_group.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "platform"),
    )
    with op.batch_alter_table("breakout_room", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breakout_room_group_id"), ["group_id"], unique=False)
    op.execute(
        "INSERT INTO breakout_room (group_id, platform, kind, space, thread) "
        "SELECT g.id, b.platform, g.kind, g.space, g.thread "
        "FROM breakout_group g JOIN breakout b ON b.id = g.breakout_id"
    )
    # A room in the main space itself is known from the start (the old rows left it unset).
    op.execute(
        "UPDATE breakout_room SET space = (SELECT b.space FROM breakout_group g "
        "JOIN breakout b ON b.id = g.breakout_id WHERE g.id = breakout_room.group_id), "
        "thread = (SELECT b.thread FROM breakout_group g "
        "JOIN breakout b ON b.id = g.breakout_id WHERE g.id = breakout_room.group_id) "
        "WHERE kind = 'main'"
    )
    with op.batch_alter_table("breakout_group", schema=None) as batch_op:
        batch_op.drop_column("kind")
        batch_op.drop_column("space")
        batch_op.drop_column("thread")
    op.create_table(
        "breakout_relayed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", STR(length=255), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("source_platform", STR(length=32), nullable=False),
        sa.Column("source_message", STR(length=255), nullable=False),
        sa.Column("waiting", sa.Text(), nullable=True),
        sa.Column("platform", STR(length=32), nullable=False),
        sa.Column("space", STR(length=255), nullable=True),
        sa.Column("thread", STR(length=255), nullable=True),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("message_id", STR(length=255), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["breakout_room.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("breakout_relayed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_breakout_relayed_room_id"), ["room_id"], unique=False
        )
        batch_op.create_index(
            "ix_breakout_relayed_source", ["source_platform", "source_message"], unique=False
        )


def downgrade() -> None:
    op.drop_table("breakout_relayed")
    with op.batch_alter_table("breakout_group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", STR(length=16), nullable=False, server_default="main"))
        batch_op.add_column(sa.Column("space", STR(length=255), nullable=True))
        batch_op.add_column(sa.Column("thread", STR(length=255), nullable=True))
    op.execute(
        "UPDATE breakout_group SET "
        "kind = COALESCE((SELECT r.kind FROM breakout_room r JOIN breakout b "
        "ON b.platform = r.platform WHERE r.group_id = breakout_group.id "
        "AND b.id = breakout_group.breakout_id), 'main'), "
        "space = (SELECT r.space FROM breakout_room r JOIN breakout b "
        "ON b.platform = r.platform WHERE r.group_id = breakout_group.id "
        "AND b.id = breakout_group.breakout_id), "
        "thread = (SELECT r.thread FROM breakout_room r JOIN breakout b "
        "ON b.platform = r.platform WHERE r.group_id = breakout_group.id "
        "AND b.id = breakout_group.breakout_id)"
    )
    op.drop_table("breakout_room")
    op.drop_table("breakout_space")
