"""Keep only what is needed: a daily sweep of records whose purpose has passed.

Re-delivery records only matter while a platform might still re-deliver (days, not weeks),
and a delivered message's text is the platform's to keep, not ours. Dead letters stay until
an organiser has dealt with them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, delete

from bot.context import Scope
from bot.core import Bot
from bot.models import OutboxRow, OutboxState, SeenEvent
from bot.recurrence import Recurrence
from bot.router import Router
from bot.scheduler import Series

SEEN_FOR = timedelta(days=14)
DELIVERED_FOR = timedelta(days=30)
TIMER = "housekeeping"
SERIES = Series(
    job_id="housekeeping",
    kind=TIMER,
    ref="daily",
    recurrence=Recurrence("FREQ=DAILY;BYHOUR=3;BYMINUTE=17", "UTC"),
    dtstart=datetime(2026, 1, 1, 3, 17, tzinfo=UTC),
)


async def sweep(scope: Scope, ref: str) -> None:
    await scope.session.exec(delete(SeenEvent).where(col(SeenEvent.seen_at) < scope.now - SEEN_FOR))
    await scope.session.exec(
        delete(OutboxRow).where(
            col(OutboxRow.state).in_([OutboxState.SENT, OutboxState.SKIPPED]),
            col(OutboxRow.created_at) < scope.now - DELIVERED_FOR,
        )
    )


async def start(bot: Bot) -> None:
    bot.scheduler.ensure(SERIES)


router = Router(name="housekeeping", timers={TIMER: sweep}, on_start=[start])
