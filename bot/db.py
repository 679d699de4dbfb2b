"""The database: SQLite in the data directory by default, PostgreSQL by URL.

One `Database` per process. On SQLite every write transaction holds one asyncio lock, because
SQLite has a single writer and two deferred transactions upgrading to write at once fail rather
than wait; reads go around the lock (WAL lets them run beside the writer).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sync_url(url: str) -> URL:
    """The URL for synchronous use (migrations, the scheduler's job store)."""
    u = make_url(url)
    if u.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+asyncpg"):
        return u.set(drivername="postgresql+psycopg")
    if u.drivername.startswith("sqlite"):
        return u.set(drivername="sqlite")
    raise ValueError(f"unsupported database URL scheme {u.drivername!r}")


def async_url(url: str) -> URL:
    u = sync_url(url)
    return u.set(drivername="sqlite+aiosqlite") if u.drivername == "sqlite" else u


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class InlineSQLite(aiosqlite.Connection):
    """aiosqlite without its worker thread: each call runs right away, in the event loop.

    A statement on a local SQLite file takes microseconds, less than aiosqlite's hand-off to
    its thread and back (measured: about 0.35 ms a statement on this machine, most of a
    handler's time). Nothing here waits long in the loop: writers are serialised by the
    `Database` lock before they start, and under WAL readers never wait for the writer.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineSQLite:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineSQLite]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def _inline_sqlite(path: str) -> InlineSQLite:
    return await InlineSQLite(partial(sqlite3.connect, path, check_same_thread=False), 64)


def upgrade(url: str) -> None:
    """Apply every migration not yet applied (`alembic upgrade heads`); synchronous."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = sync_url(url)
    command.upgrade(cfg, "heads")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        target = async_url(url)
        self.is_sqlite = target.drivername.startswith("sqlite")
        if self.is_sqlite and target.database:
            Path(target.database).parent.mkdir(parents=True, exist_ok=True)
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(
                target, async_creator=partial(_inline_sqlite, target.database or ":memory:")
            )
        else:
            self.engine = create_async_engine(target, pool_pre_ping=True)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        self._write_lock = asyncio.Lock()

    async def upgrade(self) -> None:
        await asyncio.to_thread(upgrade, self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction that may write; committed on success, rolled back on error."""
        if self.is_sqlite:
            async with self._write_lock, self._sessions() as s, s.begin():
                yield s
        else:
            async with self._sessions() as s, s.begin():
                yield s

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a bare connection, for SQLAlchemy Core statements on hot
        paths: no ORM session to build, flush and tear down around a single insert."""
        if self.is_sqlite:
            async with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that does not wait for writers."""
        async with self._sessions() as s:
            yield s

    async def close(self) -> None:
        await self.engine.dispose()
