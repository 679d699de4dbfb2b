"""An adapter's small persistent values (a sync token, a DM room per user) in `AdapterState`.

The database is the truth: what an adapter must remember across restarts lives in the core's
table, keyed by platform, so it follows the bot to PostgreSQL and is backed up with the rest.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.db import Database
from bot.models import AdapterState


class AdapterMemory:
    """Read and write one platform's keys; each write is its own short transaction."""

    def __init__(self, db: Database, platform: str) -> None:
        self.db = db
        self.platform = platform

    async def get(self, key: str) -> str | None:
        async with self.db.reader() as s:
            row = await s.get(AdapterState, (self.platform, key))
            return row.value if row is not None else None

    async def put(self, key: str, value: str) -> None:
        async with self.db.session() as s:
            row = await s.get(AdapterState, (self.platform, key))
            if row is None:
                row = AdapterState(platform=self.platform, key=key, value=value)
            row.value = value
            s.add(row)

    async def forget(self, key: str) -> None:
        async with self.db.session() as s:
            row = await s.get(AdapterState, (self.platform, key))
            if row is not None:
                await s.delete(row)

    async def with_prefix(self, prefix: str) -> dict[str, str]:
        """Every key starting with `prefix` (prefix removed) -> its value."""
        async with self.db.reader() as s:
            rows = await s.exec(
                select(AdapterState).where(
                    col(AdapterState.platform) == self.platform,
                    col(AdapterState.key).startswith(prefix),
                )
            )
            return {r.key.removeprefix(prefix): r.value for r in rows.all()}
