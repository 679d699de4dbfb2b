"""The daily sweep drops old re-delivery records and delivered messages, keeps dead letters."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.models import OutboxRow, OutboxState, SeenEvent
from bot.testing import Harness


async def test_old_records_go_recent_ones_and_dead_letters_stay(harness: Harness) -> None:
    h = harness
    await h.say("bob", "help")
    async with h.bot.db.session() as s:
        dead = (await s.exec(select(OutboxRow))).one()
        dead.state = OutboxState.DEAD
        s.add(dead)
    await h.advance(timedelta(days=31))
    await h.say("bob", "help")
    async with h.bot.db.reader() as s:
        rows = (await s.exec(select(OutboxRow))).all()
        seen = (await s.exec(select(SeenEvent))).all()
    assert len(seen) == 1
    assert sorted(r.state for r in rows) == [OutboxState.DEAD, OutboxState.SENT]
    await h.advance(timedelta(days=31))
    async with h.bot.db.reader() as s:
        states = [r.state for r in (await s.exec(select(OutboxRow))).all()]
        assert (await s.exec(select(SeenEvent))).all() == []
    assert states == [OutboxState.DEAD]
