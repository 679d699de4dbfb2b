"""An event's .ics download, read again, has the occurrences the bot reminds about.

Rules are generated the way organisers write them (in words, or as RRULEs with UNTIL as a
date, a local or a UTC date-time, COUNT, several weekdays and several months), in zones
with and without daylight saving; the bot's occurrences in the coming year must be exactly
what `recurring_ical_events` reads from the exported calendar. (Starts are compared: where
a start falls in a skipped hour, that library ends it by the wall clock, before it began.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bot.errors import UserInputError
from bot.events.commands import series_rule
from bot.events.ical import to_ical
from bot.events.models import Event
from bot.events.occurrences import (
    as_instant,
    between,
    instant,
    next_occurrence,
    occurrence_at,
    occurrence_key,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=366)
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
    "America/Sao_Paulo",
    "Pacific/Chatham",
]
WORDS = [
    "daily 9am",
    "weekdays 9am",
    "mondays and thursdays 18:00",
    "every 2 weeks on thursday 18:00",
    "monthly on the last tuesday",
    "monthly on the 15th 07:30",
    "every 3 months on the 2nd friday 12:00",
    "yearly",
    "weekly",
    "every other day",
    "sundays 2:30am",
    "daily 01:30",
]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def raw_rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if freq != "DAILY" and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, sorted(months))))
    if draw(st.booleans()):
        parts.append(f"BYHOUR={draw(st.integers(0, 23))};BYMINUTE={draw(st.integers(0, 59))}")
    end = draw(st.sampled_from(["", "count", "date", "local", "utc"]))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 60))}")
    elif end:
        until = draw(st.datetimes(datetime(2026, 3, 1), datetime(2027, 6, 1)))
        value = {"date": f"{until:%Y%m%d}", "local": f"{until:%Y%m%dT%H%M%S}"}
        parts.append("UNTIL=" + value.get(end, f"{until:%Y%m%dT%H%M%SZ}"))
    return ";".join(parts)


@settings(max_examples=60, deadline=None)
@given(
    rule=st.one_of(st.sampled_from(WORDS), raw_rules()),
    zone=st.sampled_from(ZONES),
    wall=st.datetimes(datetime(2026, 3, 2, 10), datetime(2026, 12, 31)),
    minutes=st.integers(1, 600),
)
def test_the_export_read_again_has_the_bots_occurrences(
    rule: str, zone: str, wall: datetime, minutes: int
) -> None:
    tz = ZoneInfo(zone)
    try:
        rrule, start, _ = series_rule(rule, wall.replace(tzinfo=tz), tz)
    except UserInputError:
        assume(False)
        raise
    event = Event(
        community_id=1,
        uid="generated@test",
        token="t",
        title="Generated",
        starts_at=start,
        timezone=zone,
        duration_seconds=minutes * 60,
        rrule=rrule,
        created_at=NOW,
    )
    ours = [o.start for o in between(event, NOW, NOW + YEAR)]
    if ours:  # the bot's own cancellations go out too
        event.exdates = [occurrence_key(ours[len(ours) // 2])]
        del ours[len(ours) // 2]
    exported = Calendar.from_ical(to_ical(event, NOW))
    theirs = sorted(
        as_instant(c.decoded("DTSTART"), tz)
        for c in recurring_ical_events.of(exported).between(NOW, NOW + YEAR)
    )
    assert theirs == ours, (rule, rrule, zone, start)


@settings(max_examples=60, deadline=None)
@given(
    rule=st.one_of(st.none(), st.sampled_from(WORDS), raw_rules()),
    zone=st.sampled_from(ZONES),
    typed=st.datetimes(datetime(2026, 3, 2, 10), datetime(2026, 12, 31)),
)
def test_every_occurrence_is_found_again_by_its_key(
    rule: str | None, zone: str, typed: datetime
) -> None:
    """Whatever the microseconds of the time an event was typed, each occurrence the
    reminder chain walks to is found again by the key its timers carry."""
    tz = ZoneInfo(zone)
    try:
        rrule, start, _ = (
            series_rule(rule, typed.replace(tzinfo=tz), tz)
            if rule
            else (None, instant(typed.replace(tzinfo=tz)), "")
        )
    except UserInputError:
        assume(False)
        raise
    event = Event(
        community_id=1,
        uid="u",
        token="t",
        title="T",
        starts_at=start,
        timezone=zone,
        rrule=rrule,
        created_at=NOW,
    )
    at = next_occurrence(event, NOW)
    for _ in range(20):
        if at is None:
            break
        assert at.start.microsecond == 0
        assert occurrence_at(event, at.key) == at
        at = next_occurrence(event, at.start)
