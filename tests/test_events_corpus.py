"""Imported calendars mean what `recurring_ical_events` says they mean.

For every calendar in `tests/calendars/` (overrides that move, retitle and cancel single
occurrences, RDATE dates, date-times and periods, RANGE=THISANDFUTURE, several RRULEs,
missing UIDs, a bare VEVENT, VTIMEZONE-defined and Windows zones, all-day and floating
times, UNTIL in UTC and as a date, COUNT, EXDATE lists, DURATION and DTEND), the occurrences
the bot holds for the next 366 days are exactly the library's, and the ones its reminder
chain walks through are exactly those that start after now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar, Component
from sqlmodel import select

from bot.events import ical
from bot.events.models import Event
from bot.events.occurrences import as_instant, between, next_occurrence, occurrence_key
from bot.testing import Harness

CORPUS = {
    p.stem: p.read_bytes() for p in sorted((Path(__file__).parent / "calendars").glob("*.ics"))
}
COMMUNITY = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=366)

Seen = tuple[datetime, datetime, str]


def reference(data: bytes, now: datetime) -> Counter[Seen]:
    """What `recurring_ical_events` gives for [now, now + 366 days), less what is cancelled;
    floating times and dates are in the community's zone (the zone `now` is given in)."""
    found = Component.from_ical(data, multiple=True)
    calendar = Calendar()
    for top in found:
        if top.name == "VCALENDAR":
            for sub in top.subcomponents:
                calendar.add_component(sub)
        else:
            calendar.add_component(top)
    start = now.astimezone(COMMUNITY)
    seen: Counter[Seen] = Counter()
    for component in recurring_ical_events.of(calendar).between(start, start + YEAR):
        if str(component.get("STATUS") or "").upper() == "CANCELLED":
            continue
        begin = as_instant(component.decoded("DTSTART"), COMMUNITY)
        end = as_instant(component.decoded("DTEND"), COMMUNITY)
        seen[(begin, end, str(component.get("SUMMARY")))] += 1
    return seen


@pytest.fixture
async def h(sqlite_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(sqlite_url, start=NOW) as harness:
        yield harness


@pytest.mark.parametrize("name", CORPUS)
async def test_the_bot_has_the_calendars_occurrences(h: Harness, name: str) -> None:
    data = CORPUS[name]
    async with h.bot.db.session() as s:
        report = await ical.import_calendar(h.bot.scope(s), data, default_tz=COMMUNITY)
    assert report.refused == [] and report.left_out == 0, report.text()
    async with h.bot.db.reader() as s:
        stored = list((await s.exec(select(Event))).all())
    expected = reference(data, NOW)
    assert expected, "a corpus calendar should have something in the coming year"

    held: Counter[Seen] = Counter()
    walked: Counter[Seen] = Counter()
    for event in stored:
        for o in between(event, NOW, NOW + YEAR):
            held[(o.start, o.end, o.title)] += 1
        at = next_occurrence(event, NOW)  # the reminder chain: each occurrence, then the next
        while at is not None and at.start < NOW + YEAR:
            walked[(at.start, at.end, at.title)] += 1
            at = next_occurrence(event, at.start)
    assert held == expected
    assert walked == Counter({k: n for k, n in expected.items() if k[0] > NOW})

    # each series' .ics download, with one occurrence cancelled and one moved in the bot,
    # read again
    # (all of them as one calendar) has what the bot has
    exported: Counter[Seen] = Counter()
    mine: Counter[Seen] = Counter()
    cancelled = 0
    for event in stored:
        ahead = between(event, NOW, NOW + YEAR)
        if ahead:
            event.exdates = [ahead[len(ahead) // 2].key]
            cancelled += 1
        if len(ahead) > 2:  # and moves and retitles the last one
            last = ahead[-1]
            event.overrides = {
                occurrence_key(last.original): {
                    "start": occurrence_key(last.start + timedelta(minutes=50)),
                    "title": "Moved by the bot",
                    "seconds": str(int((last.end - last.start).total_seconds())),
                }
            }
        mine.update((o.start, o.end, o.title) for o in between(event, NOW, NOW + YEAR))
        exported.update(reference(ical.to_ical(event, NOW), NOW))
    assert exported == mine
    assert sum(mine.values()) == sum(expected.values()) - cancelled

    # importing the same calendar again finds every series again, and changes nothing
    async with h.bot.db.session() as s:
        again = await ical.import_calendar(h.bot.scope(s), data, default_tz=COMMUNITY)
    assert (again.created, again.updated) == (0, len(stored))
    assert all(c.text().endswith("no change") for c in again.series), again.text()
