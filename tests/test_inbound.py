"""How the core takes inbound events and sends its replies, on both databases.

Events that arrive together are handled in one transaction; one that fails is handled again
alone, the others without it. A reply is queued already claimed and handed to its outbox when
that transaction commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.context import Context
from bot.core import POSTGRES_LANES
from bot.errors import PlatformError
from bot.events.models import Event
from bot.grammar import CommandSpec, Invocation
from bot.models import Identity, Member, OutboxRow, OutboxState
from bot.router import Router
from bot.routers import ROUTERS
from bot.testing import Harness


async def boom(ctx: Context, inv: Invocation) -> None:
    ctx.session.add(Member(community_id=ctx.community.id, display_name="ghost", created_at=ctx.now))
    await ctx.session.flush()
    raise RuntimeError("boom")


BOOM = Router("boom", commands=[CommandSpec(("boom",), "boom", "fails after writing", boom)])


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, routers=[*ROUTERS, BOOM]) as harness:
        yield harness


@contextmanager
def commits(h: Harness) -> Iterator[list[object]]:
    """Every transaction the bot's database commits meanwhile."""
    seen: list[object] = []

    def record(conn: Any) -> None:
        seen.append(conn)

    event.listen(h.bot.db.sync_engine, "commit", record)
    try:
        yield seen
    finally:
        event.remove(h.bot.db.sync_engine, "commit", record)


async def tz_of(h: Harness, user: str) -> str | None:
    async with h.bot.db.reader() as s:
        found = (
            await s.exec(
                select(Member)
                .join(Identity, Identity.member_id == Member.id)
                .where(Identity.external_id == user)
            )
        ).one()
        return found.timezone


async def test_events_arriving_together_commit_once_per_lane(h: Harness) -> None:
    users = ("bob", "carol", "dan", "erin", "fay")
    for user in users:
        await h.say(user, "help")
    events = [h.command(user, "me tz Asia/Kolkata") for user in users]
    with commits(h) as seen:
        await asyncio.gather(*(h.bot.handle(e) for e in events))
    assert len(seen) <= (1 if h.bot.db.is_sqlite else POSTGRES_LANES)
    assert [await tz_of(h, user) for user in users] == ["Asia/Kolkata"] * len(users)


async def test_an_event_failing_among_others_fails_alone(h: Harness) -> None:
    for user in ("bob", "carol", "dan", "erin"):
        await h.say(user, "help")
    before = len(h.adapter.records)
    events = [
        h.command("bob", "me tz Asia/Kolkata"),
        h.command("erin", "me tz Europe/Oslo"),
        h.command("carol", "boom"),
        h.command("dan", "role organiser bob"),
    ]
    await asyncio.gather(*(h.bot.handle(e) for e in events))
    await h.settle()
    replies = {r.to.user_id: r.text for r in h.adapter.records[before:]}
    assert "Asia/Kolkata" in replies["bob"]
    assert "something went wrong" in replies["carol"]
    assert "needs the organiser role" in replies["dan"]
    assert [await tz_of(h, user) for user in ("bob", "erin")] == ["Asia/Kolkata", "Europe/Oslo"]
    assert len(h.adapter.records) == before + 4  # the events before the failure: once each
    async with h.bot.db.reader() as s:
        names = {m.display_name for m in (await s.exec(select(Member))).all()}
    assert "ghost" not in names  # the failed handler's write was undone with it


async def test_the_same_event_twice_in_one_batch_is_handled_once(h: Harness) -> None:
    await h.say("bob", "help")
    before = len(h.adapter.records)
    once = h.command("bob", "help")
    await asyncio.gather(h.bot.handle(once), h.bot.handle(once))
    await h.settle()
    assert len(h.adapter.records) == before + 1


async def test_a_redelivered_command_changes_nothing_more(h: Harness) -> None:
    """Replies would be de-duplicated by their outbox keys anyway; what only the dropping of
    re-delivered events prevents is the command's effect happening twice."""
    add = h.command("ada", 'event add "Meetup" 2026-03-10 18:00')
    await h.feed(add)
    await h.feed(add)  # re-delivered later
    await asyncio.gather(h.bot.handle(add), h.bot.handle(add))  # and twice at once
    await h.settle()
    async with h.bot.db.reader() as s:
        assert len((await s.exec(select(Event))).all()) == 1


async def test_a_reply_is_queued_claimed_and_sent_once(h: Harness) -> None:
    await h.bot.handle(h.command("bob", "help"))
    async with h.bot.db.reader() as s:
        [row] = (await s.exec(select(OutboxRow))).all()
    assert (row.state, row.attempts) == (OutboxState.SENDING, 1)
    assert [r.id for r in h.run.outboxes[h.adapter.platform].taken] == [row.id]
    await h.settle()
    [reply] = h.adapter.direct_texts("bob")
    assert reply.startswith("What you can do")
    async with h.bot.db.reader() as s:
        [row] = (await s.exec(select(OutboxRow))).all()
    assert (row.state, row.attempts) == (OutboxState.SENT, 1)


async def test_a_reply_committed_but_not_sent_goes_out_after_a_restart(database_url: str) -> None:
    async with Harness.open(database_url) as first:
        await first.bot.handle(first.command("bob", "help"))
        outbox = first.run.outboxes[first.adapter.platform]
        assert len(outbox.taken) == 1
        outbox.taken.clear()  # the bot dies before sending it
        assert first.adapter.records == []
    async with Harness.open(database_url) as second:  # start-up puts it back in the queue
        [sent] = second.adapter.records
        assert sent.text.startswith("What you can do")
        async with second.bot.db.reader() as s:
            [row] = (await s.exec(select(OutboxRow))).all()
        assert row.state == OutboxState.SENT


async def test_running_outbox_sends_hand_offs_and_records_them_together(h: Harness) -> None:
    outbox = h.run.outboxes[h.adapter.platform]
    worker = asyncio.create_task(outbox.run())
    try:
        await asyncio.gather(*(h.bot.handle(h.command(f"m{i}", "help")) for i in range(30)))
        async with asyncio.timeout(10):
            while True:
                async with h.bot.db.reader() as s:
                    states = (await s.exec(select(OutboxRow.state))).all()
                if len(states) == 30 and set(states) == {OutboxState.SENT}:
                    break
                await asyncio.sleep(0.01)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert sorted(r.to.user_id for r in h.adapter.records) == sorted(f"m{i}" for i in range(30))


async def test_a_reply_refused_for_a_rate_limit_goes_back_to_the_loop(h: Harness) -> None:
    outbox = h.run.outboxes[h.adapter.platform]
    h.adapter.fail_next(PlatformError("429 slow down", retry_after=30))
    await h.bot.handle(h.command("bob", "help"))
    outbox.wake.clear()
    await outbox.deliver_due()
    assert outbox.wake.is_set()  # the delivery loop looks again, though it queued nothing
    assert h.adapter.direct_texts("bob") == []
    await h.advance(timedelta(seconds=30))
    [reply] = h.adapter.direct_texts("bob")
    assert reply.startswith("What you can do")
