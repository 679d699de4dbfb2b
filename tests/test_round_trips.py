"""What an event costs in statements (on PostgreSQL each is a round trip), and that the
cheaper paths keep their promises: a lone event needs no savepoint, events handled together
release each savepoint in the statement that sets the next."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

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


async def test_events_together_release_each_savepoint_as_the_next_is_set(h: Harness) -> None:
    only_postgres(h)
    for user in ("bob", "carol", "dan"):
        await h.say(user, "help")
    events = [h.command(user, "help") for user in ("bob", "carol", "dan")]
    with statements(h) as seen:
        await asyncio.gather(*(h.bot.handle(e) for e in events))
    assert savepoints(seen) == [
        "SAVEPOINT block",
        "RELEASE SAVEPOINT block; SAVEPOINT block",
        "RELEASE SAVEPOINT block; SAVEPOINT block",
    ]


async def test_an_answer_reads_its_round_once_and_locked(h: Harness) -> None:
    only_postgres(h)
    await h.say("ada", 'checkin open "How?"')
    await h.say("bob", "checkin first")
    with statements(h) as seen:
        await h.bot.handle(h.command("bob", "checkin again"))
    reads = [s for s in seen if s.startswith("SELECT checkin_round.")]
    assert len(reads) == 1 and reads[0].rstrip().endswith("FOR UPDATE")
    assert len(seen) <= 5  # seen, member, round, answer, reply: BEGIN and COMMIT aside
