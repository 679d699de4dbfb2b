"""The clock for what recurs, behind a small interface so APScheduler can be swapped.

APScheduler holds only recurring series (a weekly round, a monthly event), keyed by
deterministic job ids. A firing does no ritual work itself: it inserts a timer row keyed by the
series and the occurrence, so a doubled or replayed firing is harmless and the work runs in
the timer loop, exactly once. Rituals re-register their series from their own tables on
start, so the job store can be lost without losing anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED
from apscheduler.triggers.base import BaseTrigger

from bot.recurrence import Recurrence

log = logging.getLogger(__name__)

Fire = Callable[[str, str, str, datetime], Any]
"""(job id, timer kind, ref, occurrence time) -> inserts the occurrence's timer."""


class RecurrenceTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger over our RFC 5545 recurrence (picklable for the job store)."""

    def __init__(self, recurrence: Recurrence, dtstart: datetime) -> None:
        self.recurrence = recurrence
        self.dtstart = dtstart

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = previous_fire_time or (now - timedelta(microseconds=1))
        return self.recurrence.next_after(after, dtstart=self.dtstart)

    def __str__(self) -> str:
        return f"recurrence[{self.recurrence.rrule}]"


@dataclass(frozen=True)
class Series:
    job_id: str
    kind: str
    ref: str
    recurrence: Recurrence
    dtstart: datetime


class Scheduler(Protocol):
    def ensure(self, series: Series) -> None:
        """Register or replace a recurring series (idempotent by `job_id`)."""
        ...

    def remove(self, job_id: str) -> None: ...

    async def start(self, fire: Fire) -> None:
        """Start, not yet firing: only the process that leads fires (`lead`)."""
        ...

    def lead(self, leading: bool) -> None:
        """Fire due series (True; again: look for series other processes added) or stop
        firing them (False), as this process gains or loses the scheduler's lease."""
        ...

    async def stop(self) -> None: ...


_fire: Fire | None = None


async def fire_job(
    job_id: str, kind: str, ref: str, recurrence: Recurrence, dtstart: datetime
) -> None:
    """The module-level job function APScheduler persists; forwards to the running bot.

    APScheduler does not tell a job which occurrence it runs for, so the occurrence is the
    latest one at or before now: the timer keyed by it exists once however often this runs.
    """
    if _fire is None:
        log.warning("series %s fired before the bot was ready", job_id)
        return
    now = datetime.now(UTC)
    recent = recurrence.occurrences_between(
        now - timedelta(days=7), now, dtstart=dtstart, limit=10_000
    )
    if recent:
        await _fire(job_id, kind, ref, recent[-1])


class APScheduler:
    def __init__(self, sync_db_url: str, misfire_grace: timedelta) -> None:
        self._scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=sync_db_url)},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": int(misfire_grace.total_seconds()) or None,
                "max_instances": 1,
            },
            timezone=UTC,
        )

    def ensure(self, series: Series) -> None:
        self._scheduler.add_job(
            fire_job,
            RecurrenceTrigger(series.recurrence, series.dtstart),
            id=series.job_id,
            args=(series.job_id, series.kind, series.ref, series.recurrence, series.dtstart),
            replace_existing=True,
        )

    def remove(self, job_id: str) -> None:
        if self._scheduler.get_job(job_id):
            self._scheduler.remove_job(job_id)

    async def start(self, fire: Fire) -> None:
        global _fire
        _fire = fire
        self._scheduler.start(paused=True)

    def lead(self, leading: bool) -> None:
        if not leading:
            self._scheduler.pause()
        elif self._scheduler.state == STATE_PAUSED:
            self._scheduler.resume()
        else:  # the job store is shared: see series added by other processes
            self._scheduler.wakeup()

    async def stop(self) -> None:
        global _fire
        self._scheduler.shutdown(wait=False)
        _fire = None
        await asyncio.sleep(0)


class ManualScheduler:
    """The same interface on an injected clock: tests fire series with `fire_due(now)`."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self._next: dict[str, datetime | None] = {}
        self._fire: Fire | None = None
        self.leading = False

    def ensure(self, series: Series) -> None:
        self.series[series.job_id] = series
        self._next.pop(series.job_id, None)

    def remove(self, job_id: str) -> None:
        self.series.pop(job_id, None)
        self._next.pop(job_id, None)

    async def start(self, fire: Fire) -> None:
        self._fire = fire

    def lead(self, leading: bool) -> None:
        self.leading = leading

    async def stop(self) -> None:
        self._fire = None

    async def fire_due(self, now: datetime) -> int:
        """Fire every occurrence due by `now` (coalescing none: each becomes its own timer)."""
        fired = 0
        if not self.leading:
            return 0
        for job_id, s in list(self.series.items()):
            if job_id not in self._next:
                self._next[job_id] = s.recurrence.next_after(
                    max(s.dtstart, now) - timedelta(microseconds=1), dtstart=s.dtstart
                )
            due = self._next[job_id]
            while due is not None and due <= now and self._fire is not None:
                await self._fire(job_id, s.kind, s.ref, due)
                fired += 1
                due = s.recurrence.next_after(due, dtstart=s.dtstart)
            self._next[job_id] = due
        return fired
