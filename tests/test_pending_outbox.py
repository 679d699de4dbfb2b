"""Replies queued in a transaction are inserted together as it commits (`bot.pending_outbox`):
in one statement on PostgreSQL, each key once, and before anything in the same transaction
reads or deletes the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from adapters.contract import Direct, PlatformName, Sent, UserId
from bot.checkins.models import CheckinRound
from bot.checkins.rounds import anonymous_ack_prefix
from bot.context import Context
from bot.grammar import CommandSpec, Invocation
from bot.models import OutboxRow
from bot.router import Router
from bot.routers import ROUTERS
from bot.testing import Harness


async def twice(ctx: Context, inv: Invocation) -> None:
    """Queues one key twice, and a second message after it."""
    to = Direct(PlatformName("fake"), UserId(ctx.event.actor.user_id))
    await ctx.send(to, "once", key="twice:1")
    await ctx.send(to, "and not again", key="twice:1")
    await ctx.send(to, "then this", key="twice:2")


TWICE = Router("twice", commands=[CommandSpec(("twice",), "twice", "queues a key twice", twice)])


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, routers=[*ROUTERS, TWICE]) as harness:
        yield harness


async def test_replies_of_events_handled_together_take_one_statement(postgres_url: str) -> None:
    """On PostgreSQL (on SQLite, where a statement costs microseconds, each row has its own)."""
    inserts: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO outbox"):
            inserts.append(statement)

    users = ("bob", "carol", "dan")
    async with Harness.open(postgres_url) as h:
        for user in users:
            await h.say(user, "help")
        event.listen(h.bot.db.sync_engine, "before_cursor_execute", record)
        await h.bot._handle_batch([h.command(u, "help") for u in users])
        event.remove(h.bot.db.sync_engine, "before_cursor_execute", record)
        await h.settle()
        assert [h.adapter.direct_texts(u)[-1][:15] for u in users] == ["What you can do"] * 3
    assert len(inserts) == 1


async def test_a_key_queued_twice_in_a_transaction_is_sent_once_and_in_order(h: Harness) -> None:
    await h.say("bob", "twice")
    assert h.adapter.direct_texts("bob")[-2:] == ["once", "then this"]
    async with h.bot.db.reader() as s:
        keys = (await s.exec(select(OutboxRow.key).order_by(col(OutboxRow.id)))).all()
    assert [k for k in keys if k.startswith("twice:")] == ["twice:1", "twice:2"]


async def test_an_anonymous_close_deletes_acknowledgements_queued_beside_it(h: Harness) -> None:
    """The round's close deletes its acknowledgements (each is addressed to someone who
    answered): also one queued in the same transaction, not yet inserted."""
    await h.say("ada", 'checkin open "How?" --anonymous')
    async with h.bot.db.reader() as s:
        [r] = (await s.exec(select(CheckinRound))).all()
    [post] = [rec for rec in h.adapter.records if "How?" in rec.text]
    assert isinstance(post.result, Sent) and r.id is not None
    answer = h.press("bob", post.result.message_id, "checkin.answer", str(r.id), text="fine")
    await h.bot._handle_batch([answer, h.command("ada", "checkin close")])
    await h.settle()
    async with h.bot.db.reader() as s:
        keys = (await s.exec(select(OutboxRow.key))).all()
    assert not [k for k in keys if k.startswith(anonymous_ack_prefix(r.id))], keys
    assert "1 answer" in h.adapter.texts(h.place())[-1]
