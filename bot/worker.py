"""The loop shared by the workers that act on due rows: the outbox and the timers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import Clock

log = logging.getLogger(__name__)
HORIZON = timedelta(seconds=30)
"""The longest a worker sleeps without looking again (a row another process queued)."""


async def drain_forever(
    name: str,
    clock: Clock,
    wake: asyncio.Event,
    drain: Callable[[], Awaitable[int]],
    next_due: Callable[[], Awaitable[datetime | None]],
    *,
    gather: timedelta = timedelta(0),
    linger: float = 0.0,
) -> None:
    """Act on what is due until nothing is, then sleep until the next due time or a wake-up.

    `gather` waits a little past a due time so rows due together are taken together; after a
    wake-up, `linger` seconds let rows committed just after it join the same batch. An error
    is logged and the loop goes on: one failure never stops delivery.
    """
    while True:
        wake.clear()
        try:
            while await drain():
                pass
            due = await next_due()
        except Exception:
            log.exception("%s failed; retrying", name)
            due = None
        horizon = clock.now() + HORIZON
        await clock.sleep_until(min(due + gather, horizon) if due else horizon, wake)
        if linger and wake.is_set():
            await asyncio.sleep(linger)
