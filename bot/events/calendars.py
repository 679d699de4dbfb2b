"""What an .ics document holds, as the series the bot imports, and what an import changed.

A series is every VEVENT sharing a UID: the master and its RECURRENCE-ID overrides (moved,
retitled or cancelled single occurrences). Each series keeps its components as the calendar
wrote them, with the VTIMEZONEs they name, so `recurring_ical_events` expands it exactly as
it expands the whole calendar. A VEVENT without a UID is a series of its own (as that library
treats it) under an id derived from its start and summary, so importing the same calendar
again finds it again. A bare VEVENT, or several calendars in one file, are read too.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component

from bot.errors import UserInputError
from bot.events.occurrences import Occurrence, as_instant
from bot.i18n import ENGLISH, N_, Words

if TYPE_CHECKING:
    from bot.events.models import Event

MAX_UID = 255
YEAR = timedelta(days=366)


@dataclass
class Series:
    """One series, ready to store: `calendar` says when it happens and what is cancelled
    (STATUS:CANCELLED on the master or on one occurrence); the rest (from its master)
    describes it."""

    uid: str
    calendar: str
    title: str
    description: str | None
    starts_at: datetime
    timezone: str
    duration: timedelta
    link: str | None
    rrule: str | None
    floating_tz: str


def read_calendar(data: bytes, *, usage: str) -> list[Component]:
    """The top-level components of an .ics document, or a `UserInputError` saying why not."""
    try:
        found = Component.from_ical(data, multiple=True)
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise UserInputError(
            N_("That is not a calendar file I can read ({reason})."), usage, reason=str(exc)[:120]
        ) from None
    if not found:
        raise UserInputError(
            N_("That is not an iCalendar file I can read (no complete VCALENDAR or VEVENT)."), usage
        )
    tops = [c for c in found if c.name in ("VCALENDAR", "VEVENT")]
    if not tops:
        raise UserInputError(N_("That file is not an iCalendar (VCALENDAR) file."), usage)
    return tops


def split_series(tops: list[Component], *, default_tz: ZoneInfo) -> tuple[list[Series], list[str]]:
    """The calendar's series, and the reasons some could not be used."""
    timezones = {
        str(tz.get("TZID")): tz for top in tops for tz in top.walk("VTIMEZONE") if tz.get("TZID")
    }
    groups: dict[str, list[Component]] = defaultdict(list)
    derived: Counter[str] = Counter()
    for top in tops:
        for vevent in top.walk("VEVENT"):
            uid = str(vevent.get("UID") or "").strip()
            if not uid or len(uid) > MAX_UID:
                uid = _derived_uid(vevent, uid, derived)
                vevent.pop("UID", None)
                vevent.add("uid", uid)
            groups[uid].append(vevent)
    found: list[Series] = []
    refused: list[str] = []
    for uid, components in groups.items():
        try:
            found.append(_series(uid, components, timezones, default_tz))
        except (UserInputError, ValueError, KeyError, TypeError) as exc:
            name = str(components[0].get("SUMMARY") or uid)[:60]
            reason = str(exc)[:120]
            refused.append(f"“{name}”: {reason}")
    return found, refused


def _derived_uid(vevent: Component, uid: str, seen: Counter[str]) -> str:
    """A stable id for a VEVENT without a usable UID: its start and summary (and its long
    UID, if that is what it had), numbered when two are alike."""
    basis = "\n".join(
        [uid, _text(vevent, "DTSTART"), _text(vevent, "RECURRENCE-ID"), _text(vevent, "SUMMARY")]
    )
    digest = hashlib.sha256(basis.encode()).hexdigest()[:32]
    seen[digest] += 1
    return f"derived-{digest}-{seen[digest]}@community-bot"


def _text(vevent: Component, name: str) -> str:
    prop = vevent.get(name)
    if prop is None:
        return ""
    params = "".join(f";{k}={v}" for k, v in sorted(getattr(prop, "params", {}).items()))
    return params + ":" + str(prop.to_ical().decode())


def _series(
    uid: str,
    components: list[Component],
    timezones: dict[str, Component],
    default_tz: ZoneInfo,
) -> Series:
    masters = [c for c in components if "RECURRENCE-ID" not in c]
    master = masters[0] if masters else min(components, key=lambda c: _start_key(c, default_tz))
    if "DTSTART" not in master:
        raise UserInputError(N_("it has no start time (DTSTART)"))
    start_value = master.decoded("DTSTART")
    zone = _zone(start_value, default_tz)
    start = as_instant(start_value, zone)
    if "DTEND" in master:
        duration = as_instant(master.decoded("DTEND"), zone) - start
    elif "DURATION" in master:
        duration = master.decoded("DURATION")
    else:
        duration = timedelta(days=1) if not isinstance(start_value, datetime) else timedelta()
    calendar = Calendar()
    calendar.add("prodid", "-//community-bot//import//EN")
    calendar.add("version", "2.0")
    text = b"".join(c.to_ical() for c in components).decode(errors="replace")
    text = text.replace("\r\n ", "").replace("\r\n\t", "")  # unfolded, to find each TZID
    for tzid, vtimezone in timezones.items():
        if f"TZID={tzid}" in text or f'TZID="{tzid}"' in text:
            calendar.add_component(vtimezone)
    for component in components:
        calendar.add_component(component)
    rules = master.get("RRULE")
    first = rules[0] if isinstance(rules, list) else rules
    rrule = first.to_ical().decode() if first is not None else None
    link = str(master.get("URL") or "").strip() or None
    return Series(
        uid=uid,
        calendar=calendar.to_ical().decode(),
        title=str(master.get("SUMMARY") or "Untitled event").strip()[:200],
        description=str(master.get("DESCRIPTION") or "").strip()[:5000] or None,
        starts_at=start,
        timezone=zone.key,
        duration=max(duration, timedelta()),
        link=link if link and len(link) <= 500 else None,
        rrule=rrule if rrule and len(rrule) <= 500 else None,
        floating_tz=default_tz.key,
    )


def _start_key(component: Component, tz: ZoneInfo) -> datetime:
    try:
        return as_instant(component.decoded("DTSTART"), tz)
    except (KeyError, ValueError):
        return datetime.max.replace(tzinfo=UTC)


def _zone(value: Any, default_tz: ZoneInfo) -> ZoneInfo:
    """The zone a series is read in: its start's, when that is a named zone; else the
    community's (floating and all-day times, UTC, and zones a VTIMEZONE defines)."""
    key = getattr(getattr(value, "tzinfo", None), "key", None)
    if isinstance(key, str) and key not in ("UTC", "Etc/UTC"):
        try:
            return ZoneInfo(key)
        except (KeyError, ValueError, OSError):
            pass
    return default_tz


# --- what an import changed ---------------------------------------------------------------


@dataclass
class Changes:
    """What one series' import did to its occurrences in the coming year."""

    title: str
    new: bool
    added: int = 0
    changed: int = 0
    moved: int = 0
    cancelled: int = 0

    def text(self, words: Words = ENGLISH) -> str:
        counts = []
        if self.added or self.new:
            counts.append(
                words.ngettext("{n} occurrence", "{n} occurrences", self.added)
                if self.new
                else words.ngettext("{n} added", "{n} added", self.added)
            )
        if self.changed:
            counts.append(words.ngettext("{n} changed", "{n} changed", self.changed))
        if self.moved:
            counts.append(words.ngettext("{n} moved", "{n} moved", self.moved))
        if self.cancelled:
            counts.append(words.ngettext("{n} cancelled", "{n} cancelled", self.cancelled))
        said = ", ".join(counts) or words._("no change")
        if self.new:
            return words._("“{title}”: new, {counts}", title=self.title, counts=said)
        return words._("“{title}”: {counts}", title=self.title, counts=said)


def compare(title: str, before: list[Occurrence] | None, after: list[Occurrence]) -> Changes:
    """The difference an import made, occurrence by occurrence (matched by where the rule
    puts them, their RECURRENCE-ID). For a new series, "moved" and "cancelled" count what
    its calendar moved or cancelled against its own rule."""
    if before is None:
        live = [o for o in after if not o.cancelled]
        return Changes(
            title,
            new=True,
            added=len(live),
            moved=sum(o.moved for o in live),
            cancelled=sum(o.cancelled for o in after),
        )
    old = {o.original: o for o in before if not o.cancelled}
    new = {o.original: o for o in after if not o.cancelled}
    changes = Changes(title, new=False)
    for key, occurrence in new.items():
        was = old.get(key)
        if was is not None and was.start != occurrence.start:
            changes.moved += 1
        elif was is not None and (was.title, was.end) != (occurrence.title, occurrence.end):
            changes.changed += 1
    gone = sorted(o for key, o in old.items() if key not in new)
    came = sorted(o for key, o in new.items() if key not in old)
    # a series whose rule itself moved (a new DTSTART) has new RECURRENCE-IDs throughout:
    # an occurrence gone and one come within a day of each other is one that moved
    paired = 0
    for was, now in zip(gone, came, strict=False):
        if abs(was.start - now.start) >= timedelta(days=1):
            break
        paired += 1
    changes.moved += paired
    changes.added = len(came) - paired
    changes.cancelled = len(gone) - paired
    return changes


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    events: list[Event] = field(default_factory=list)
    """The events it created or updated."""
    refused: list[str] = field(default_factory=list)
    left_out: int = 0
    series: list[Changes] = field(default_factory=list)
    limit: int = 10_000

    SHOWN = 20

    def text(self, words: Words = ENGLISH) -> str:
        lines = [
            words._(
                "Imported the calendar: {created} new, {updated} updated.",
                created=self.created,
                updated=self.updated,
            )
        ]
        if self.series:
            lines.append(words._("In the coming year:"))
            lines += [f"- {c.text(words)}" for c in self.series[: self.SHOWN]]
            if len(self.series) > self.SHOWN:
                more = len(self.series) - self.SHOWN
                lines.append(
                    words.ngettext("- … and {n} more series", "- … and {n} more series", more)
                )
        if self.left_out:
            lines.append(
                words._(
                    "It has more than {limit} occurrences in the coming year, so I left out the "
                    "last {left_out} events. Split the calendar to import them.",
                    limit=f"{self.limit:,}",
                    left_out=self.left_out,
                )
            )
        if self.refused:
            lines.append(words._("Not imported ({count}):", count=len(self.refused)))
            lines += [f"- {reason}" for reason in self.refused[:10]]
            if len(self.refused) > 10:
                more = len(self.refused) - 10
                lines.append(words.ngettext("- … and {n} more", "- … and {n} more", more))
        return "\n".join(lines)
