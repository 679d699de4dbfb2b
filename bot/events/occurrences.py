"""An event's occurrences: where its rule or its calendar puts them, with its changes applied.

An occurrence's time has one form everywhere, `instant`: UTC to the whole second. Timers,
outbox keys, EXDATEs and the lookups that check them all go through it, so a start typed
as "in 4m" (which carries microseconds) names the same occurrence in each of them.

Imported events keep their calendar's own components (`Event.calendar`) and are expanded by
`recurring_ical_events`, so overrides, RDATEs, periods, ranges and several rules mean what
the calendar says; events made with `event add` are expanded from their RRULE. Either way
the bot's own per-occurrence changes (`Event.exdates`, `Event.overrides`) apply on top.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from babel.dates import format_datetime
from icalendar import Calendar, Component
from icalendar import Event as VEvent

from bot.i18n import DEFAULT
from bot.recurrence import Recurrence
from bot.when import localize

if TYPE_CHECKING:
    from bot.events.models import Event


def instant(at: datetime) -> datetime:
    """The one form of an occurrence's time: UTC, whole seconds."""
    return at.astimezone(UTC).replace(microsecond=0)


def local_when(at: datetime, tz: ZoneInfo, lang: str = DEFAULT) -> str:
    """ "Tue 1 Dec 2026, 11:30 Europe/London" ("mar 1 dic 2026, 11:30 Europe/London" in
    Spanish): a time as the recipient reads it, in their language."""
    local = at.astimezone(tz)
    return f"{format_datetime(local, 'EEE d MMM y, HH:mm', locale=lang)} {tz.key}"


def occurrence_key(at: datetime) -> str:
    return instant(at).strftime("%Y%m%dT%H%M%SZ")


def parse_occurrence(key: str) -> datetime:
    return datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Occurrence:
    """One occurrence: `start` is when it happens, `original` where its rule put it (its
    RECURRENCE-ID), which differs once it was moved. Ordered by start."""

    start: datetime
    original: datetime
    end: datetime
    title: str
    cancelled: bool = False

    @property
    def key(self) -> str:
        return occurrence_key(self.start)

    @property
    def moved(self) -> bool:
        return self.start != self.original


def recurrence(event: Event) -> Recurrence | None:
    """The event's rule as the bot reads it (for an imported event, its first RRULE, which
    is for describing it only: its calendar says when it happens)."""
    return Recurrence(event.rrule, event.timezone) if event.rrule else None


def floating_zone(event: Event) -> ZoneInfo:
    """The zone an imported calendar's floating times and dates are read in: the
    community's, as `recurring_ical_events` reads them when asked in that zone."""
    return ZoneInfo(event.floating_tz or event.timezone)


def upcoming(event: Event, after: datetime) -> Iterator[Occurrence]:
    """The event's occurrences starting strictly after `after`, in order of start; none
    once the whole event is cancelled."""
    if event.cancelled:
        return
    for occurrence in _changed(event, _base(event, after)):
        if occurrence.start > after and not occurrence.cancelled:
            yield occurrence


def next_occurrence(event: Event, after: datetime) -> Occurrence | None:
    return next(upcoming(event, after), None)


def occurrence_at(event: Event, key: str) -> Occurrence | None:
    """The occurrence starting at the instant `key` names, if the event still has one."""
    at = parse_occurrence(key)
    found = next_occurrence(event, at - timedelta(seconds=1))
    return found if found is not None and found.key == key else None


def between(
    event: Event, start: datetime, end: datetime, *, cancelled: bool = False
) -> list[Occurrence]:
    """Occurrences under way in [start, end), counted as `recurring_ical_events` counts
    them (one that began before `start` and ends after it is in), in order of start.

    With `cancelled`, the occurrences the calendar or the bot cancelled are kept, marked.
    """
    if event.cancelled:
        return []
    if event.calendar:
        base = iter(_from_calendar(event, start, end))
    else:
        base = _from_rule(event, start - timedelta(seconds=event.duration_seconds))
    found = []
    for occurrence in _changed(event, base):
        if occurrence.start >= end:
            break
        if (cancelled or not occurrence.cancelled) and _in_span(occurrence, start, end):
            found.append(occurrence)
    return found


def _in_span(occurrence: Occurrence, start: datetime, end: datetime) -> bool:
    """`recurring_ical_events`' rule: a moment is in [start, end), a span overlaps it."""
    if occurrence.start == occurrence.end:
        return start <= occurrence.start < end
    return occurrence.start < end and start < occurrence.end


# --- where occurrences come from ----------------------------------------------------------


def _base(event: Event, after: datetime) -> Iterator[Occurrence]:
    """Occurrences in order of start, from a little before `after` on, cancelled included."""
    if event.calendar:
        return _after_in_calendar(event, after)
    return _from_rule(event, after - timedelta(seconds=1))


def _from_rule(event: Event, after: datetime) -> Iterator[Occurrence]:
    length = timedelta(seconds=event.duration_seconds)
    excluded = set(event.exdates)
    rule = recurrence(event)
    starts = [event.starts_at] if rule is None else _rule_instants(rule, event.starts_at, after)
    for start in starts:
        at = instant(start)
        yield Occurrence(at, at, at + length, event.title, cancelled=occurrence_key(at) in excluded)


def _rule_instants(rule: Recurrence, dtstart: datetime, after: datetime) -> Iterator[datetime]:
    at: datetime | None = after
    while at is not None:
        at = rule.next_after(at, dtstart=dtstart)
        if at is not None:
            yield at


def _after_in_calendar(event: Event, after: datetime) -> Iterator[Occurrence]:
    assert event.calendar is not None
    tz = floating_zone(event)
    for component in calendar_query(event.calendar).after(after.astimezone(tz)):
        yield _occurrence(component, tz, event)


def _from_calendar(event: Event, start: datetime, end: datetime) -> list[Occurrence]:
    assert event.calendar is not None
    tz = floating_zone(event)
    found = calendar_query(event.calendar).between(start.astimezone(tz), end.astimezone(tz))
    return sorted(_occurrence(component, tz, event) for component in found)


def _occurrence(component: Component, tz: ZoneInfo, event: Event) -> Occurrence:
    """One of `recurring_ical_events`' occurrences; floating times and dates are read in
    the event's zone (the community's, for a floating or all-day event)."""
    value = component.decoded("DTSTART")
    start = as_instant(value, tz)
    end = as_instant(component.decoded("DTEND"), tz) if "DTEND" in component else start
    return Occurrence(
        start,
        _original(component, value, tz, event),
        max(end, start),
        str(component.get("SUMMARY") or event.title).strip()[:200],
        cancelled=str(component.get("STATUS") or "").upper() == "CANCELLED",
    )


def _original(component: Component, value: Any, tz: ZoneInfo, event: Event) -> datetime:
    rid = recurrence_id(event, component)
    return as_instant(value if rid is None else rid, tz)


def recurrence_id(event: Event, component: Component) -> Any:
    """Where the rule put an occurrence, written as its calendar writes it (what an EXDATE
    or an override must name for every reader to find it). One that a
    RANGE=THISANDFUTURE override shifted carries that override's RECURRENCE-ID, so its own
    is its start shifted back."""
    rid = component.get("RECURRENCE-ID")
    if rid is None:
        return None
    original = rid.dt
    if rid.params.get("RANGE") and event.calendar:
        tz = floating_zone(event)
        value = component.decoded("DTSTART")
        shifted = _ranged(event.calendar, tz.key).get(as_instant(original, tz))
        if shifted is not None and shifted != value:
            original = value - (shifted - original)
    return original


@functools.lru_cache(maxsize=128)
def _ranged(text: str, tz_name: str) -> dict[datetime, Any]:
    """The start of each RANGE=THISANDFUTURE override, by the instant of its id."""
    tz = ZoneInfo(tz_name)
    found = {}
    for vevent in Calendar.from_ical(text).walk("VEVENT"):
        rid = vevent.get("RECURRENCE-ID")
        if rid is not None and rid.params.get("RANGE"):
            found[as_instant(rid.dt, tz)] = vevent.decoded("DTSTART")
    return found


@functools.lru_cache(maxsize=128)
def calendar_query(text: str) -> Any:
    """The calendar read once per text: a timer chain asks the same event many times."""
    return recurring_ical_events.of(Calendar.from_ical(text))


def as_instant(value: Any, tz: ZoneInfo) -> datetime:
    """An iCalendar date or date-time as an instant; floating ones and dates in `tz`."""
    if isinstance(value, datetime):
        return instant(value if value.tzinfo is not None else localize(value, tz))
    if isinstance(value, date):
        return instant(localize(datetime.combine(value, time()), tz))
    raise ValueError("not a date or date-time")


# --- the bot's own changes ----------------------------------------------------------------


def _changed(event: Event, base: Iterator[Occurrence]) -> Iterator[Occurrence]:
    """`base` with the bot's changes: EXDATEs cancel, `overrides` move and retitle.

    A moved occurrence leaves its place in the rule and is merged back in at its new start,
    so the result stays in order of start.
    """
    excluded = set(event.exdates)
    if not excluded and not event.overrides:
        yield from base
        return
    moved: list[Occurrence] = []
    for original, change in event.overrides.items():
        at = parse_occurrence(original)
        start = parse_occurrence(change["start"]) if "start" in change else at
        length = timedelta(seconds=int(change.get("seconds", event.duration_seconds)))
        moved.append(Occurrence(start, at, start + length, change.get("title") or event.title))
    moved.sort()

    def kept() -> Iterator[Occurrence]:
        for occurrence in base:
            original = occurrence_key(occurrence.original)
            if original in event.overrides:
                continue
            if occurrence_key(occurrence.start) in excluded:
                occurrence = replace(occurrence, cancelled=True)
            yield occurrence

    for occurrence in heapq.merge(kept(), moved):
        if occurrence.key in excluded:
            occurrence = replace(occurrence, cancelled=True)
        yield occurrence


def occurrence_component(
    event: Event, original: str, change: dict[str, str], like: date | datetime | None
) -> Component:
    """One of the bot's changes as the RECURRENCE-ID component a calendar app expects; the
    id is written like the series' start (`like`), so readers match it to its occurrence."""
    at = parse_occurrence(original)
    start = parse_occurrence(change["start"]) if "start" in change else at
    tz = floating_zone(event)
    vevent = VEvent()
    vevent.add("uid", event.uid)
    vevent.add("recurrence-id", written_like(like, at, tz) if like else at.astimezone(tz))
    vevent.add("dtstart", start.astimezone(tz))
    vevent.add("duration", timedelta(seconds=int(change.get("seconds", event.duration_seconds))))
    vevent.add("summary", change.get("title") or event.title)
    return vevent


def written_like(start: date | datetime, at: datetime, tz: ZoneInfo) -> date | datetime:
    """`at` written the way a series writes its start (a date, a floating local time, or a
    time in its own zone), so an EXDATE or RECURRENCE-ID matches in every reader."""
    if not isinstance(start, datetime):
        return at.astimezone(tz).date()
    if start.tzinfo is None:
        return at.astimezone(tz).replace(tzinfo=None)
    return at.astimezone(start.tzinfo)
