"""Due work from the `timer` table: each timer's handler runs once, in the timer's transaction.

A timer that fell due while the bot was down fires when it comes back; the handler decides
whether late is still useful (a round closes anyway; a reminder for a started event is not
sent).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.models import Timer, TimerState
from bot.worker import drain_forever

if TYPE_CHECKING:
    from bot.core import Bot

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 100
GATHER = timedelta(milliseconds=50)
"""The loop wakes this long after a timer's due time, so that timers due within it fire
together in one transaction (a steady stream of nudges costs a few statements each, not a
dozen); it is all the lateness the loop adds."""


class Timers:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.wake = asyncio.Event()
        bot.on_wake("timers", self.wake.set)

    async def _due_ids(self, now: datetime) -> list[int]:
        async with self.bot.db.reader() as s:
            stmt = (
                select(Timer.id)
                .where(col(Timer.state) == TimerState.PENDING, col(Timer.due_at) <= now)
                .order_by(col(Timer.due_at), col(Timer.id))
                .limit(BATCH)
            )
            return [i for i in (await s.exec(stmt)).all() if i is not None]

    async def run_due(self) -> int:
        """Fire a batch of due timers; returns how many fired.

        The batch runs in one transaction, which keeps a burst of thousands of nudges due
        at once on time; if any handler fails the batch is rolled back and its timers fire
        one by one, so only the failing one is retried.
        """
        ids = await self._due_ids(self.bot.clock.now())
        if not ids:
            return 0
        fired = await self._fire_together(ids)
        if fired is None:
            fired = 0
            for timer_id in ids:
                fired += await self._fire(timer_id)
        return fired

    async def _fire_together(self, ids: list[int]) -> int | None:
        try:
            async with self.bot.db.session() as s:
                stmt = select(Timer).where(col(Timer.id).in_(ids))  # by primary key only
                if not self.bot.db.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True)
                found = (await s.exec(stmt)).all()
                timers = sorted(
                    (t for t in found if t.state == TimerState.PENDING),
                    key=lambda t: (t.due_at, t.id or 0),
                )
                scope = self.bot.scope(s)
                for timer in timers:
                    handler = self.bot.timer_handlers.get(timer.kind)
                    if handler is None:
                        raise LookupError(f"no handler for timer kind {timer.kind!r}")
                    await handler(scope, timer.ref)
                    timer.state = TimerState.DONE
                    s.add(timer)
        except Exception:
            log.info("a batch of %d timers failed; firing them one by one", len(ids))
            return None
        scope.committed()
        for timer in timers:
            self._fired_late(scope.now - timer.due_at)
        return len(timers)

    def _fired_late(self, lateness: timedelta) -> None:
        self.bot.metrics.timer_lateness.observe(max(0.0, lateness.total_seconds()))

    async def _fire(self, timer_id: int) -> int:
        try:
            async with self.bot.db.session() as s:
                timer = await s.get(Timer, timer_id, with_for_update=not self.bot.db.is_sqlite)
                if timer is None or timer.state != TimerState.PENDING:
                    return 0
                handler = self.bot.timer_handlers.get(timer.kind)
                if handler is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                scope = self.bot.scope(s)
                await handler(scope, timer.ref)
                timer.state = TimerState.DONE
                s.add(timer)
            scope.committed()
            self._fired_late(scope.now - timer.due_at)
            return 1
        except Exception as exc:
            log.exception("timer %s failed", timer_id)
            await self._failed(timer_id, exc)
            return 0

    async def _failed(self, timer_id: int, exc: Exception) -> None:
        async with self.bot.db.session() as s:
            timer = await s.get(Timer, timer_id)
            if timer is None:
                return
            timer.attempts += 1
            timer.last_error = repr(exc)[:2000]
            if timer.attempts >= MAX_ATTEMPTS:
                timer.state = TimerState.FAILED
            else:
                timer.due_at = self.bot.clock.now() + timedelta(seconds=30 * 2**timer.attempts)
            s.add(timer)

    async def next_due(self) -> datetime | None:
        async with self.bot.db.reader() as s:
            stmt = (
                select(Timer.due_at)
                .where(col(Timer.state) == TimerState.PENDING)
                .order_by(col(Timer.due_at))
                .limit(1)
            )
            return (await s.exec(stmt)).first()

    async def run(self) -> None:
        await drain_forever(
            "timer loop", self.bot.clock, self.wake, self.run_due, self.next_due, gather=GATHER
        )
