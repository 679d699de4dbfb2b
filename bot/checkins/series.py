"""Recurring rounds: a series row per `checkin open ... --every`, each occurrence its own round.

The table is the truth. The scheduler only holds a clock for each active series (re-derived
from the table on every start); an occurrence becomes a timer keyed by series and instant,
and that timer opens the round, so an occurrence opens one round however often it fires.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select

from adapters.contract import Place, PlatformName, SpaceId
from bot.checkins.models import CheckinSeries
from bot.checkins.rounds import RoundPlan, close_round, open_round, open_round_in
from bot.context import Scope
from bot.recurrence import Recurrence
from bot.scheduler import Series

if TYPE_CHECKING:
    from bot.core import Bot

TIMER_OCCURRENCE = "checkin.occurrence"


def as_series(row: CheckinSeries) -> Series:
    return Series(
        job_id=f"checkin-series:{row.id}",
        kind=TIMER_OCCURRENCE,
        ref=str(row.id),
        recurrence=Recurrence(row.rrule, row.tz),
        dtstart=row.dtstart,
    )


async def ensure_all(bot: Bot) -> None:
    """Start hook: give the scheduler every active series again."""
    async with bot.db.reader() as s:
        rows = (await s.exec(select(CheckinSeries).where(col(CheckinSeries.active)))).all()
    for row in rows:
        bot.scheduler.ensure(as_series(row))


async def occurrence(scope: Scope, ref: str) -> None:
    """An occurrence is due: close the space's open round (the last occurrence's, usually)
    and open this one's."""
    row = await scope.session.get(CheckinSeries, int(ref))
    if row is None or not row.active:
        return
    place = Place(PlatformName(row.platform), SpaceId(row.space))
    previous = await open_round_in(scope, place)
    if previous is not None:
        await close_round(scope, previous)

    def later(seconds: int | None) -> timedelta | None:
        return timedelta(seconds=seconds) if seconds is not None else None

    close_after, remind_after = later(row.close_after_s), later(row.remind_after_s)
    await open_round(
        scope,
        row.community_id,
        place,
        RoundPlan(
            prompt=row.prompt,
            prompt_id=row.prompt_id,
            anonymous=row.anonymous,
            dm=row.dm,
            deadline=scope.now + close_after if close_after else None,
            remind_at=scope.now + remind_after if remind_after else None,
        ),
        series_id=row.id,
    )
