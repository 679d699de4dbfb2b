"""When an event's nudges fire: a chain of timers along its occurrences (see
`bot.events.occurrences`), each named by its start's whole-second key.

Nothing is stored per future occurrence. A live event has one `event.plan` timer, due its
next occurrence's largest reminder offset before that occurrence; when it fires it schedules
that occurrence's reminder and follow-up timers and the plan timer of the occurrence after.
Ten years of a weekly event therefore cost one row and a few timers at any moment, and the
chain lives in the database like every other timer, so restarts lose nothing.

Timer keys are deterministic (event, occurrence, what), so planning twice is harmless, and
every handler re-reads the event: an edit, an EXDATE, a moved occurrence or a cancellation
applies to timers already queued. On start the head of every live event's chain is ensured again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import col, delete, select

from bot.events.models import Event
from bot.events.occurrences import Occurrence, next_occurrence, occurrence_at
from bot.models import OutboxRow, OutboxState, Timer, TimerState
from bot.when import localize

if TYPE_CHECKING:
    from bot.context import Scope
    from bot.core import Bot

log = logging.getLogger(__name__)

MAX_CATCH_UP = 400
"""Occurrences planned at once when reminders reach further ahead than the rule's period
(a daily event with a week's reminder has seven occurrences in planning at any time)."""


def shifted(at: datetime, seconds: int, tz: str) -> datetime:
    """`at` moved by `seconds`, whole days on the wall clock of `tz` (RFC 5545's nominal
    days and weeks), the rest as elapsed time: a week before 18:00 BST is 18:00 GMT."""
    days, rest = divmod(abs(seconds), 86400)
    sign = 1 if seconds >= 0 else -1
    zone_info = ZoneInfo(tz)
    wall = at.astimezone(zone_info).replace(tzinfo=None) + sign * timedelta(days=days)
    return localize(wall, zone_info).astimezone(UTC) + sign * timedelta(seconds=rest)


def reminder_due(event: Event, at: datetime, offset: int) -> datetime:
    return shifted(at, -offset, event.timezone)


def followup_due(event: Event, at: datetime) -> datetime:
    return shifted(at, event.followup_seconds or 0, event.timezone)


def plan_time(event: Event, at: Occurrence) -> datetime:
    """When an occurrence's nudges are planned: at its earliest reminder."""
    start = at.start
    return min((reminder_due(event, start, offset) for offset in event.remind), default=start)


def grace(bot: Bot) -> timedelta:
    return timedelta(minutes=bot.config.model.delivery.grace_minutes)


async def plan_next(scope: Scope, event: Event, *, after: datetime, since: datetime) -> None:
    """Plan the occurrences after `after` whose planning time has come, and chain the next.

    Reminders and follow-ups due before `since` are not scheduled: an event added today
    gets no "a week before" reminder.
    """
    at = next_occurrence(event, after)
    for _ in range(MAX_CATCH_UP):
        if at is None or plan_time(event, at) > scope.now:
            break
        await plan_occurrence(scope, event, at, since=since)
        at = next_occurrence(event, at.start)
    if at is not None:
        key = at.key
        await scope.schedule(
            "event.plan",
            f"{event.id}@{key}",
            plan_time(event, at),
            key=f"event:{event.id}:{key}:plan",
        )


async def plan_occurrence(scope: Scope, event: Event, at: Occurrence, *, since: datetime) -> None:
    key = at.key
    for offset in event.remind:
        due = reminder_due(event, at.start, offset)
        if due >= since:
            ref = f"{event.id}@{key}@{offset}"
            await scope.schedule("event.remind", ref, due, key=f"event:{event.id}:{key}:r{offset}")
    if event.followup_seconds is not None:
        due = followup_due(event, at.start)
        if due >= since:
            await scope.schedule(
                "event.followup", f"{event.id}@{key}", due, key=f"event:{event.id}:{key}:f"
            )


async def live_event(scope: Scope, event_id: str) -> Event | None:
    event = await scope.session.get(Event, int(event_id))
    if event is None or event.cancelled:
        log.info("event %s is gone or cancelled; its timer does nothing", event_id)
        return None
    return event


async def on_plan(scope: Scope, ref: str) -> None:
    """The `event.plan` timer: schedule this occurrence's nudges, then chain the next one."""
    event_id, key = ref.split("@")
    event = await live_event(scope, event_id)
    if event is None:
        return
    at = occurrence_at(event, key)
    if at is None:
        log.info("event %s no longer has an occurrence at %s", event_id, key)
        return
    await plan_occurrence(scope, event, at, since=plan_time(event, at))
    await plan_next(scope, event, after=at.start, since=scope.now - grace(scope.bot))


async def ensure_plans(bot: Bot) -> None:
    """On start: every live event's chain has its head (idempotent by timer key)."""
    async with bot.transaction() as scope:
        query = select(Event).where(col(Event.cancelled).is_(False))
        for event in (await scope.session.exec(query)).all():
            await plan_next(scope, event, after=scope.now, since=scope.now)


async def replan(scope: Scope, event: Event) -> int:
    """After an edit or a cancellation: drop the event's pending timers and undelivered
    nudges for occurrences it no longer has, then rebuild the chain from now.

    Returns how many undelivered messages were skipped.
    """
    like = f"event:{event.id}:%"
    await scope.session.exec(
        delete(Timer).where(col(Timer.key).like(like), col(Timer.state) == TimerState.PENDING)
    )
    pending = await scope.session.exec(
        select(OutboxRow).where(
            col(OutboxRow.key).like(like),
            col(OutboxRow.state) == OutboxState.PENDING,
        )
    )
    skipped = 0
    for row in pending.all():
        if event.cancelled or occurrence_at(event, row.key.split(":")[2]) is None:
            row.state, row.last_error = OutboxState.SKIPPED, "event cancelled or moved"
            scope.session.add(row)
            skipped += 1
    if not event.cancelled:
        back = timedelta(seconds=event.followup_seconds or 0)
        await plan_next(scope, event, after=scope.now - back, since=scope.now)
    return skipped
