"""`community-bot backup`: a consistent copy of the SQLite database while the bot runs.

SQLite's online backup API copies the database as of one moment, even while the bot writes
(under WAL a reader does not stop the writer), into a new file that is checked and only then
renamed into place: a backup file that exists is whole. PostgreSQL is backed up with its own
tools (`pg_dump`, see the README); this command says so rather than copy half of it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bot.db import sync_url


class BackupError(Exception):
    pass


def default_target(data_dir: Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return data_dir / "backups" / f"community-bot-{stamp}.db"


def backup_sqlite(url: str, target: Path) -> Path:
    """Copy the SQLite database at `url` to `target` (not overwriting it); returns `target`."""
    source = sync_url(url)
    if source.drivername != "sqlite" or not source.database:
        raise BackupError(
            "this bot stores its data in PostgreSQL: back it up with pg_dump "
            "(see the README's Backups section)"
        )
    if not Path(source.database).exists():
        raise BackupError(f"there is no database at {source.database}")
    if target.exists():
        raise BackupError(f"{target} exists already; name a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            closing(sqlite3.connect(source.database, timeout=30)) as src,
            closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)
            (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check: {verdict}")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target
