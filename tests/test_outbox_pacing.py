"""The outbox's two brakes: retries back off, and sends keep to the platform's rate."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from adapters.contract import SendRate
from adapters.fake import FakeAdapter
from bot.errors import PlatformError
from bot.models import OutboxRow, OutboxState
from bot.testing import Harness


async def test_failed_sends_wait_longer_and_longer_before_each_retry(sqlite_url: str) -> None:
    async with Harness.open(sqlite_url, config={"delivery": {"max_attempts": 5}}) as h:
        h.adapter.fail_next(*[PlatformError("502 bad gateway")] * 3)
        await h.say("bob", "help")
        waits = []
        for attempts in (1, 2, 3):
            async with h.bot.db.reader() as s:
                [row] = (await s.exec(select(OutboxRow))).all()
            assert (row.state, row.attempts) == (OutboxState.PENDING, attempts)
            wait = row.next_attempt_at - h.clock.now()
            step = timedelta(seconds=2.0**attempts)
            assert step / 2 <= wait <= step, (attempts, wait)  # exponential, with jitter
            waits.append(wait)
            await h.advance(wait - timedelta(milliseconds=1))
            assert h.adapter.direct_texts("bob") == []  # nothing was retried early
            await h.advance(timedelta(milliseconds=1))
        [reply] = h.adapter.direct_texts("bob")
        assert reply.startswith("What you can do")
        assert sum(waits, timedelta()) >= timedelta(seconds=1 + 2 + 4)


async def test_sends_keep_to_the_adapters_rate(sqlite_url: str) -> None:
    """30 replies to an adapter allowing 100 a second with a burst of 4: the outbox keeps half
    the burst as headroom, so the last goes out no sooner than 28 / 100 s after the first."""
    async with Harness.open(sqlite_url) as h:
        adapter = h.adapter
        assert isinstance(adapter, FakeAdapter)
        adapter.send_rate = SendRate(per_second=100.0, burst=4)
        loop = asyncio.get_running_loop()
        sent_at: list[float] = []
        perform = adapter.perform

        async def timed(action: object) -> object:
            sent_at.append(loop.time())
            return await perform(action)  # type: ignore[arg-type]

        adapter.perform = timed  # type: ignore[assignment,method-assign]
        await asyncio.gather(*(h.bot.handle(h.command(f"m{i}", "help")) for i in range(30)))
        await h.settle()
        assert len(sent_at) == 30
        # A lower bound on time: a slower machine only makes it longer.
        assert sent_at[-1] - sent_at[0] >= 28 / 100
