"""Alembic's entry point: runs migrations on the URL `bot.db.upgrade` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import bot.schema

config = context.config
engine = create_engine(config.attributes["url"], poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=bot.schema.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        on_version_apply=lambda step, **_: config.attributes["applied"].extend(
            step.up_revision_ids
        ),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
