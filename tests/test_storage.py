"""Storage on SQLite and PostgreSQL, for real: migrations, time, uniqueness, concurrency."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import select

from bot.context import insert_ignore
from bot.db import (
    CHECKPOINT_EVERY,
    WAL_RESET_AT,
    Database,
    asyncpg_args,
    server_settings,
    sync_url,
)
from bot.models import Community, OutboxRow, Timer
from bot.testing import Harness


@pytest.fixture
async def db(database_url: str) -> Database:
    database = Database(database_url)
    await database.upgrade()
    yield database  # type: ignore[misc]
    await database.close()


async def test_migrations_create_every_table_and_are_idempotent(db: Database) -> None:
    await db.upgrade()
    engine = create_engine(sync_url(db.url))
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert {
        "community",
        "member",
        "identity",
        "space",
        "auditentry",
        "outbox",
        "timer",
        "seenevent",
        "adapterstate",
        "web_message",
        "alembic_version",
    } <= tables


async def test_datetimes_come_back_aware_and_equal(db: Database) -> None:
    at = datetime(2026, 10, 25, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    async with db.session() as s:
        s.add(Timer(key="k", kind="test", ref="1", due_at=at))
    async with db.reader() as s:
        timer = (await s.exec(select(Timer))).one()
    assert timer.due_at.tzinfo is not None
    assert timer.due_at == at
    assert timer.due_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"):
        async with db.session() as s:
            s.add(Timer(key="k", kind="test", ref="1", due_at=datetime(2026, 1, 1)))


async def test_insert_ignore_keeps_one_row_per_key(db: Database) -> None:
    now = datetime.now(UTC)
    values = {
        "key": "send:1",
        "platform": "web",
        "action": {"type": "send"},
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    async with db.session() as s:
        assert await insert_ignore(s, OutboxRow, **values)
        assert not await insert_ignore(s, OutboxRow, **values)
    async with db.reader() as s:
        assert len((await s.exec(select(OutboxRow))).all()) == 1


async def test_concurrent_writers_all_succeed(db: Database) -> None:
    async def write(i: int) -> None:
        async with db.session() as s:
            s.add(Community(slug=f"c{i}", name=f"Community {i}", timezone="UTC"))

    await asyncio.gather(*(write(i) for i in range(50)))
    async with db.reader() as s:
        assert len((await s.exec(select(Community))).all()) == 50


async def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            s.add(Community(slug="gone", name="Gone", timezone="UTC"))
            await s.flush()
            raise RuntimeError("handler failed")
    async with db.reader() as s:
        assert (await s.exec(select(Community))).all() == []


async def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.upgrade()
    async with db.reader() as s:
        mode = (await s.exec(text("PRAGMA journal_mode"))).scalar()
    await db.close()
    assert mode == "wal"


def rows_without_the_wal(main_file: Path, tmp_path: Path) -> int:
    """The communities in the database file alone, as the last checkpoint left it."""
    alone = tmp_path / "without-the-wal.db"
    alone.write_bytes(main_file.read_bytes())
    with closing(sqlite3.connect(alone)) as conn:
        tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master")}
        if "community" not in tables:
            return 0
        found: int = conn.execute("SELECT count(*) FROM community").fetchone()[0]
        return found


async def test_sqlite_checkpoints_outside_the_event_loops_commits(
    sqlite_url: str, tmp_path: Path
) -> None:
    """SQLite's own checkpoints are off (they sync the file to disk inside a commit, in the
    event loop); after enough writes one runs in a thread and the rows reach the file."""
    db = Database(sqlite_url)
    await db.upgrade()
    async with db.reader() as s:
        assert (await s.exec(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
    for i in range(CHECKPOINT_EVERY):
        async with db.session() as s:
            s.add(Community(slug=f"c{i}", name=f"Community {i}", timezone="UTC"))
    main_file = Path(sync_url(sqlite_url).database or "")
    async with asyncio.timeout(10):  # a poll with a deadline: the checkpoint is a thread's
        while True:
            if (
                await asyncio.to_thread(rows_without_the_wal, main_file, tmp_path)
                == CHECKPOINT_EVERY
            ):
                break
            await asyncio.sleep(0.01)
    await db.close()


def test_the_migrations_have_one_head() -> None:
    """Two revisions that grew from the same parent must be merged, or `upgrade head` fails."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from bot.db import MIGRATIONS

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


class SnapshotHolder:
    """Another reader of the database file (a backup, a report) that always holds a snapshot:
    it lets one go only after taking the next, so some read transaction is open at every
    moment, as under steady traffic. It notes the largest WAL it saw."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.stop = threading.Event()
        self.snapshots = 0
        self.largest_wal = 0

    def run(self) -> None:
        with closing(sqlite3.connect(self.path)) as a, closing(sqlite3.connect(self.path)) as b:
            held: sqlite3.Connection | None = None
            while not self.stop.is_set():
                for conn in (a, b):
                    conn.execute("BEGIN")
                    conn.execute("SELECT count(*) FROM outbox").fetchone()
                    if held is not None:
                        held.execute("COMMIT")
                    held = conn
                    self.snapshots += 1
                    self.largest_wal = max(self.largest_wal, self.wal.stat().st_size)
                    self.stop.wait(0.005)  # a reader's own pace, not a wait for anything
            if held is not None:
                held.execute("COMMIT")


async def test_the_wal_stays_bounded_while_readers_are_always_active(sqlite_url: str) -> None:
    """Thousands of commands with some reader always holding a snapshot: passive checkpoints
    alone never let the WAL restart (it grew to 46 MB in 2,000); it must stay small."""
    async with Harness.open(sqlite_url) as h:
        holder = SnapshotHolder(Path(sync_url(sqlite_url).database or ""))
        reading = threading.Thread(target=holder.run)
        reading.start()
        try:
            await h.say("ada", 'checkin open "How are you?"')
            for i in range(1500):
                await h.feed(h.command(f"user{i % 50}", f"checkin answer number {i}"))
        finally:
            holder.stop.set()
            await asyncio.to_thread(reading.join)
        assert holder.snapshots > 100  # the reader really was busy throughout
        assert len(h.adapter.records) > 1500
    largest = holder.largest_wal
    assert largest < 2 * WAL_RESET_AT, f"the WAL reached {largest:,} bytes"


async def test_start_up_says_in_one_line_what_the_database_needed(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """alembic logged a dozen INFO lines at every start; a newcomer sees one of ours."""
    caplog.set_level(logging.INFO)
    for _ in range(2):
        db = Database(sqlite_url)
        await db.upgrade()
        await db.close()
    lines = [(r.name, r.getMessage()) for r in caplog.records]
    assert [name for name, _ in lines] == ["bot.db", "bot.db"], lines
    assert lines[0][1].startswith("database upgraded: applied 0001, ")
    assert lines[1][1] == "database is up to date"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {}),
        ("?options=-csearch_path%3Dt1", {"server_settings": {"search_path": "t1"}}),
        (
            "?options=-c%20geqo%3Doff%20--work-mem%3D4MB%20-cfoo.bar%3Da%5C%20b"
            "&sslmode=require&connect_timeout=3",
            {
                "server_settings": {"geqo": "off", "work_mem": "4MB", "foo.bar": "a b"},
                "timeout": 3.0,
                "query": "?sslmode=require",
            },
        ),
    ],
)
def test_a_libpq_url_reaches_asyncpg_with_its_settings(
    query: str, expected: dict[str, Any]
) -> None:
    """asyncpg reads a libpq URL itself but for `options` and `connect_timeout`."""
    args = asyncpg_args(sync_url(f"postgresql://bot:s3cret@db.example:5433/community{query}"))
    dsn = args.pop("dsn")
    assert dsn == f"postgresql://bot:s3cret@db.example:5433/community{expected.pop('query', '')}"
    assert args == expected


@pytest.mark.parametrize("options", ["-c", "-c nothing", "geqo=off", "-c =x"])
def test_unreadable_url_options_are_refused_saying_what(options: str) -> None:
    with pytest.raises(ValueError, match="the database URL's options"):
        server_settings(options)
