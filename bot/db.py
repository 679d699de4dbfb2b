"""The database: SQLite in the data directory by default, PostgreSQL by URL.

One `Database` per process. On SQLite every write transaction holds one asyncio lock, because
SQLite has a single writer and two deferred transactions upgrading to write at once fail rather
than wait; reads go around the lock (WAL lets them run beside the writer).

On SQLite the statements run synchronously in the event loop (`InlineSession`): a statement on
a local file takes microseconds, less than any hand-off to a thread, and nothing waits long in
the loop, since writers are serialised by the lock before they start and readers never wait
under WAL. PostgreSQL is reached over the network, so there the sessions are truly async.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sync_url(url: str) -> URL:
    """The URL for synchronous use (migrations, the scheduler's job store, SQLite itself)."""
    u = make_url(url)
    if u.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+asyncpg"):
        return u.set(drivername="postgresql+psycopg")
    if u.drivername.startswith("sqlite"):
        return u.set(drivername="sqlite")
    raise ValueError(f"unsupported database URL scheme {u.drivername!r}")


def asyncpg_args(url: URL) -> dict[str, Any]:
    """asyncpg's connect arguments for a PostgreSQL URL written for libpq. asyncpg reads
    such a URL itself (host, user, `sslmode` and the like) but for two parameters: it would
    take `options` and `connect_timeout` as server settings, so the `-c name=value` settings
    of `options` become its `server_settings` and `connect_timeout` its `timeout`."""
    query = dict(url.query)
    args: dict[str, Any] = {}
    settings = server_settings(str(query.pop("options", "")))
    if settings:
        args["server_settings"] = settings
    if "connect_timeout" in query:
        args["timeout"] = float(str(query.pop("connect_timeout")))
    url = url.set(drivername="postgresql", query=query)
    args["dsn"] = url.render_as_string(hide_password=False)
    return args


def server_settings(options: str) -> dict[str, str]:
    """The settings of a libpq `options` string: `-c name=value`, `-cname=value` or
    `--name=value`, separated by spaces (a backslash escapes a space or itself)."""
    words: list[str] = []
    word, escaped = "", False
    for ch in options + " ":
        if escaped:
            word, escaped = word + ch, False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    settings: dict[str, str] = {}
    pending = False
    for w in words:
        if pending:
            setting, pending = w, False
        elif w == "-c":
            pending = True
            continue
        elif w.startswith(("-c", "--")):
            setting = w[2:]
        else:
            raise ValueError(f"the database URL's options: cannot read {w!r} (use -c name=value)")
        name, eq, value = setting.partition("=")
        if not name or not eq:
            raise ValueError(f"the database URL's options: {setting!r} is not name=value")
        settings[name.replace("-", "_")] = value
    if pending:
        raise ValueError("the database URL's options end with -c and no setting")
    return settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA wal_autocheckpoint=0")  # `Database._checkpoint` does it, off the loop
    # Deleted rows are overwritten with zeros, not left in free space: what an anonymous round
    # destroys at close (its key, its keyed hashes) must be gone from the file too.
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute(f"PRAGMA journal_size_limit={WAL_RESET_AT}")
    cur.close()


def _begin(conn: Any) -> None:
    """Begin each transaction ourselves: `isolation_level=None` turns off the sqlite3
    module's own implicit transactions, which begin only at the first write. Sent to the
    driver directly: through SQLAlchemy's statement machinery it cost more than the
    transaction's one insert."""
    conn.connection.driver_connection.execute("BEGIN")


class InlineSession(AsyncSession):
    """The async session API over a synchronous SQLite session, so that handlers are written
    once for both databases. Statements and object loads run directly (through an async
    driver and SQLAlchemy's greenlet bridge, each cost a third more); what is left to the base
    class (begin, commit, close) goes through the bridge, which runs synchronous code as is.
    Statements go through `exec`, as everywhere: sqlmodel deprecates `execute` and what is
    built on it (`scalar`, `scalars`), which this session does not carry over.
    """

    def __init__(self, engine: Engine) -> None:  # not super().__init__: it wants an async bind
        self._async_bind = None
        self._async_binds = {}
        session = Session(bind=engine, expire_on_commit=False)
        self._proxied = self._assign_proxied(session)
        self.sync_session = session

    async def exec(self, statement: Any, **kw: Any) -> Any:
        return self.sync_session.exec(statement, **kw)

    async def get(self, *args: Any, **kw: Any) -> Any:
        return self.sync_session.get(*args, **kw)

    async def flush(self, objects: Any = None) -> None:
        self.sync_session.flush(objects)

    async def delete(self, instance: object) -> None:
        self.sync_session.delete(instance)

    async def refresh(self, instance: object, *args: Any, **kw: Any) -> None:
        self.sync_session.refresh(instance, *args, **kw)


IDLE_PING = 1.0
"""Seconds a pooled PostgreSQL connection may sit unused before its next use starts with a
ping. SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip per transaction, a
tenth of an answer's. A connection in steady use is as likely to break during a transaction
as in the milliseconds between two, which no ping can catch (and the first failure
invalidates the whole pool), so only one that sat idle for a while is checked."""

IDLE_SINCE = "idle-since"


def _idle_from(_dbapi_conn: Any, record: Any) -> None:
    record.info[IDLE_SINCE] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"an idle connection failed its ping: {exc!r}") from exc
        if not alive:
            raise DisconnectionError("an idle connection failed its ping")

    return ping


CHECKPOINT_EVERY = 200
"""Write transactions between two WAL checkpoints. Left to itself SQLite checkpoints inside a
commit now and then, and a checkpoint syncs the database file to disk: in the event loop that
held every reply up for tens of milliseconds. It runs in a thread of its own instead."""

WAL_RESET_AT = 4 * 1024 * 1024
"""Bytes of WAL past which the periodic checkpoint also empties it. A passive checkpoint never
waits, so while some reader always holds a snapshot the WAL is never restarted and grows
without end (151 MB over 2,400 commands under steady traffic); a truncating one waits for the
readers of the moment to finish, with writers held back for that short while."""

RESET_WAIT = 0.2
"""Seconds the periodic truncating checkpoint waits for readers before trying again later."""

ERASE_WAIT = 5.0
"""Seconds a checkpoint that erases destroyed secrets waits for readers (it retries later)."""


ERASE = "erase-after-commit"
"""The session flag set by `Database.erase_after_commit`."""


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        target = sync_url(url)
        self.is_sqlite = target.drivername == "sqlite"
        self._write_lock = asyncio.Lock()
        if self.is_sqlite:
            if target.database:
                Path(target.database).parent.mkdir(parents=True, exist_ok=True)
            self.sync_engine: Engine = create_engine(
                target,
                connect_args={"check_same_thread": False, "isolation_level": None},
                max_overflow=-1,  # waiting for a connection would block the event loop
            )
            event.listen(self.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.sync_engine, "begin", _begin)
            self._path = target.database or ""
            self._writes = 0
            self._erase_pending = False
            self._checkpointing: asyncio.Task[None] | None = None
        else:
            self._engine = create_async_engine(
                "postgresql+asyncpg://", connect_args=asyncpg_args(target)
            )
            self.sync_engine = self._engine.sync_engine
            event.listen(self.sync_engine, "checkin", _idle_from)
            event.listen(self.sync_engine, "checkout", _ping_if_idle(self.sync_engine))
            self._sessions = async_sessionmaker(
                self._engine, class_=AsyncSession, expire_on_commit=False
            )
            self._autocommit = async_sessionmaker(
                self._engine.execution_options(isolation_level="AUTOCOMMIT"),
                class_=AsyncSession,
                expire_on_commit=False,
            )

    async def upgrade(self) -> None:
        await asyncio.to_thread(upgrade, self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction that may write; committed on success, rolled back on error."""
        if self.is_sqlite:
            async with self._write_lock:
                inline = InlineSession(self.sync_engine)
                with inline.sync_session, inline.sync_session.begin():
                    yield inline
                self._writes += 1
                if inline.sync_session.info.get(ERASE):
                    self._erase_pending = not await self._reset_wal(ERASE_WAIT)
                elif self._erase_pending:  # readers outlasted the first try: each write retries
                    self._erase_pending = not await self._reset_wal(RESET_WAIT)
                if self._writes >= CHECKPOINT_EVERY and not self._checkpoint_running():
                    self._writes = 0
                    self._checkpointing = asyncio.create_task(self._maintain())
        else:
            async with self._sessions() as s, s.begin():
                yield s

    @asynccontextmanager
    async def single(self) -> AsyncIterator[AsyncSession]:
        """A session for one statement that writes (a multi-row insert), which is atomic by
        itself: on PostgreSQL it runs without BEGIN and COMMIT, two round trips of its three.
        On SQLite, a transaction as `session` makes."""
        if self.is_sqlite:
            async with self.session() as s:
                yield s
        else:
            async with self._autocommit() as s:
                yield s

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that does not wait for writers.

        On PostgreSQL each statement runs on its own (autocommit): in its default READ
        COMMITTED a transaction gives a reader nothing (each statement has a snapshot of its
        own), and its BEGIN and ROLLBACK cost two round trips.
        """
        if self.is_sqlite:
            inline = InlineSession(self.sync_engine)
            with inline.sync_session:
                yield inline
        else:
            async with self._autocommit() as s:
                yield s

    def _checkpoint_running(self) -> bool:
        return self._checkpointing is not None and not self._checkpointing.done()

    def erase_after_commit(self, session: AsyncSession) -> None:
        """Once this transaction commits, make what it deleted unreadable on disk too.

        On SQLite, `secure_delete` zeroes deleted rows in the database file, but the WAL still
        holds the pages as they were before: the commit is followed by a truncating checkpoint
        (writers held back meanwhile), so the old pages are gone before anything else runs.
        PostgreSQL keeps dead rows until it vacuums them; that is its operator's to schedule.
        """
        session.sync_session.info[ERASE] = True

    async def _maintain(self) -> None:
        """Copy the WAL into the database file without waiting for anyone; then, if the WAL
        has grown past `WAL_RESET_AT` all the same (readers kept it in use), empty it."""
        await asyncio.to_thread(self._checkpoint, "PASSIVE", 0.0)
        if self._wal_size() > WAL_RESET_AT:
            async with self._write_lock:
                await self._reset_wal(RESET_WAIT)

    async def _reset_wal(self, wait: float) -> bool:
        """A truncating checkpoint, with the write lock held by the caller: every frame goes
        into the database file and the WAL is cut to nothing. False if readers outlasted
        `wait` seconds (nothing is lost; the WAL is emptied another time)."""
        return await asyncio.to_thread(self._checkpoint, "TRUNCATE", wait)

    def _wal_size(self) -> int:
        try:
            return os.path.getsize(self._path + "-wal")
        except OSError:
            return 0

    def _checkpoint(self, mode: str, wait: float) -> bool:
        """Run a checkpoint in a thread, on a connection of its own; True if it completed."""
        try:
            with closing(sqlite3.connect(self._path, timeout=wait)) as conn:
                busy, _, _ = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:
            log.warning("SQLite %s checkpoint failed (the next one will retry): %s", mode, exc)
            return False
        if busy and mode != "PASSIVE":
            log.info("SQLite %s checkpoint waited %.1f s for readers; it will retry", mode, wait)
        return not busy

    async def close(self) -> None:
        if self.is_sqlite:
            if self._checkpointing is not None:
                await self._checkpointing
            self.sync_engine.dispose()
        else:
            await self._engine.dispose()


def upgrade(url: str) -> None:
    """Apply every migration not yet applied (`alembic upgrade head`: there is one head, so a
    branch left unmerged fails here, loudly); synchronous."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = sync_url(url)
    applied: list[str] = []
    cfg.attributes["applied"] = applied
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # a dozen INFO lines per start, of use to nobody
    try:
        command.upgrade(cfg, "head")
    finally:
        alembic_log.setLevel(level)
    if applied:
        log.info("database upgraded: applied %s", ", ".join(applied))
    else:
        log.info("database is up to date")
