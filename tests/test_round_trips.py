"""What an event costs in statements (on PostgreSQL each is a round trip), and that the
cheaper paths keep their promises: no event takes a savepoint, alone or together, and a
failure among events handled together still undoes only its own changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlmodel import select

from bot import db
from bot.checkins.models import CheckinAnswer
from bot.db import sync_url
from bot.models import Member
from bot.routers import ROUTERS
from bot.testing import Harness
from tests.test_inbound import BOOM


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, routers=[*ROUTERS, BOOM]) as harness:
        yield harness


@contextmanager
def statements(h: Harness) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(h.bot.db.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(h.bot.db.sync_engine, "before_cursor_execute", record)


def savepoints(seen: list[str]) -> list[str]:
    return [s for s in seen if "SAVEPOINT" in s]


def only_postgres(h: Harness) -> None:
    if h.bot.db.is_sqlite:
        pytest.skip("SQLite's savepoints go straight to its driver, out of SQLAlchemy's sight")


async def test_a_lone_event_takes_no_savepoint(h: Harness) -> None:
    only_postgres(h)
    await h.say("bob", "help")
    with statements(h) as seen:
        await h.bot.handle(h.command("bob", "help"))
    assert seen and savepoints(seen) == []


async def test_a_lone_failing_event_is_undone_answered_and_seen(h: Harness) -> None:
    failing = h.command("carol", "boom")
    await h.feed(failing)
    assert "something went wrong" in h.adapter.direct_texts("carol")[-1]
    async with h.bot.db.reader() as s:
        names = {m.display_name for m in (await s.exec(select(Member))).all()}
    assert "ghost" not in names
    before = len(h.adapter.records)
    await h.feed(failing)  # the platform delivers it again: it was recorded as seen
    assert len(h.adapter.records) == before


async def test_events_together_take_no_savepoint(h: Harness) -> None:
    only_postgres(h)
    for user in ("bob", "carol", "dan"):
        await h.say(user, "help")
    events = [h.command(user, "help") for user in ("bob", "carol", "dan")]
    with statements(h) as seen:
        await asyncio.gather(*(h.bot.handle(e) for e in events))
    assert len([s for s in seen if s.startswith("WITH seen")]) == 3
    assert savepoints(seen) == []


async def test_an_answer_reads_its_round_once_and_share_locked(h: Harness) -> None:
    only_postgres(h)
    await h.say("ada", 'checkin open "How?"')
    await h.say("bob", "checkin first")
    with statements(h) as seen:
        await h.bot.handle(h.command("bob", "checkin again"))
    reads = [s for s in seen if s.startswith("SELECT checkin_round.")]
    assert len(reads) == 1 and reads[0].rstrip().endswith("FOR SHARE")
    assert len(seen) <= 4  # seen and member together, round, answer, reply


def round_reads(seen: list[str]) -> int:
    return sum(s.startswith("SELECT checkin_round.") for s in seen)


async def answers(h: Harness) -> dict[int, str]:
    async with h.bot.db.reader() as s:
        return {a.member_id or 0: a.text for a in (await s.exec(select(CheckinAnswer))).all()}


async def test_answers_together_read_their_round_once(h: Harness) -> None:
    """One member's events are handled in order in one batch (on PostgreSQL other members'
    may be in another, `POSTGRES_LANES`)."""
    await h.say("ada", 'checkin open "How?"')
    events = [h.command("bob", f"checkin {word}") for word in ("fine", "well", "great")]
    with statements(h) as seen:
        await asyncio.gather(*(h.bot.handle(e) for e in events))
    assert round_reads(seen) == 1
    assert list((await answers(h)).values()) == ["great"]


async def test_a_failing_event_undoes_only_itself_and_the_others_count_once(h: Harness) -> None:
    await h.say("ada", 'checkin open "How?"')
    events = [h.command("bob", "checkin one"), h.command("carol", "boom")]
    events += [h.command("dan", "checkin two"), h.command("erin", "checkin three")]
    await asyncio.gather(*(h.bot.handle(e) for e in events))
    await h.settle()
    assert sorted((await answers(h)).values()) == ["one", "three", "two"]
    assert "something went wrong" in h.adapter.direct_texts("carol")[-1]
    async with h.bot.db.reader() as s:
        names = {m.display_name for m in (await s.exec(select(Member))).all()}
    assert "ghost" not in names


async def test_an_answer_after_the_close_in_the_same_transaction_is_refused(h: Harness) -> None:
    await h.say("ada", 'checkin open "How?"')
    events = [h.command("bob", "checkin one"), h.command("ada", "checkin close")]
    events.append(h.command("dan", "checkin too late"))
    await h.bot._handle_batch(events)  # one batch, whatever lanes their authors have
    await h.settle()
    assert sorted((await answers(h)).values()) == ["one"]
    assert "closed" in h.adapter.direct_texts("dan")[-1]


async def test_a_reader_takes_no_transaction(h: Harness) -> None:
    """On PostgreSQL a reader's statements run on their own: no BEGIN and ROLLBACK."""
    only_postgres(h)
    async with h.bot.db.reader() as s:
        await s.exec(select(Member))
        raw: Any = (await (await s.connection()).get_raw_connection()).driver_connection
        assert not raw.is_in_transaction()


async def test_a_connection_that_died_idle_is_replaced(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooled connections are pinged only after sitting idle (`IDLE_PING`): one the server
    closed meanwhile is replaced before a transaction uses it."""
    only_postgres(h)
    pooled: set[int] = set()

    def note(_dbapi_conn: Any, record: Any) -> None:
        pooled.add(record.driver_connection.get_server_pid())

    event.listen(h.bot.db.sync_engine, "checkin", note)
    await h.say("bob", "help")
    event.remove(h.bot.db.sync_engine, "checkin", note)
    async with await psycopg.AsyncConnection.connect(
        sync_url(h.bot.db.url).set(drivername="postgresql").render_as_string(False),
        autocommit=True,
    ) as other:
        for pid in pooled:
            await other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    monkeypatch.setattr(db, "IDLE_PING", 0.0)
    texts = await h.say("bob", "help")
    assert texts and not any("went wrong" in t for t in texts)
