"""Repeating schedules: what organisers type ("every monday 09:30") as RFC 5545 RRULEs.

Rules are stored as text with the name of their zone and are evaluated on that zone's
wall clock, so a round that runs every Monday at 09:30 in London does so in GMT and BST
alike. Nothing runs more often than once a day: the rituals are human-paced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_day_names
from dateutil.rrule import rrule, rrulestr

from bot.errors import UserInputError
from bot.i18n import ENGLISH, N_, Words
from bot.numerals import whole_number
from bot.when import localize, normalise, time_of_day, weekday, zone

USAGE = N_(
    '"daily 9am", "every monday 09:30", "weekdays 9am", "every 2 weeks on thursday 18:00". '
    'Also "monthly on the last tuesday", "monthly on the 15th", "yearly" or an RRULE.'
)

_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQ_WORDS = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "yearly": "YEARLY",
    "annually": "YEARLY",
}
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
_ORDINALS |= {"fourth": 4, "4th": 4, "last": -1}
_DESCRIBED = frozenset(
    ["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYHOUR", "BYMINUTE", "BYSECOND", "COUNT", "UNTIL"]
)
_RFC_KEYS = _DESCRIBED | {"BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
_SEARCH_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class Recurrence:
    """A repeating schedule: an RRULE value (no "RRULE:" prefix) read in zone `tz`.

    `dtstart` is passed in rather than stored because the event or round owns it; it
    supplies whatever the rule leaves open (the weekday of "weekly", the time of "daily").
    Times are kept to the minute: seconds of `dtstart` are ignored.
    """

    rrule: str
    tz: str

    def next_after(self, after: datetime, *, dtstart: datetime) -> datetime | None:
        """The first occurrence strictly after `after`, in `tz`; None once the rule ends."""
        limit = after.astimezone(UTC)
        return next((t for t in self._instants(dtstart, near=after) if t > limit), None)

    def next_ones(self, after: datetime, *, dtstart: datetime, count: int) -> list[datetime]:
        """The first `count` occurrences at or after `after` (fewer once the rule ends)."""
        found = (t for t in self._instants(dtstart, near=after) if t >= after)
        return list(islice(found, count))

    def occurrences_between(
        self, start: datetime, end: datetime, *, dtstart: datetime, limit: int = 100
    ) -> list[datetime]:
        """Occurrences in [start, end), in `tz`, at most `limit` of them."""
        low, high = start.astimezone(UTC), end.astimezone(UTC)
        found = (t for t in self._instants(dtstart, near=start) if t >= low)
        return list(islice(takewhile(lambda t: t < high, found), limit))

    def first_from(self, start: datetime) -> datetime | None:
        """Where a series begun at `start` first happens, to store as its `dtstart`: the
        first instant at or after `start` (to the minute) that the rule's days and times
        match. Its INTERVAL then counts from there, so "every 2 weeks on thursday" begun on
        a Sunday first happens 4 days later, not 11 (dateutil would count the weeks from
        the week `start` is in, whose Thursday has passed)."""
        parts = _parts(self.rrule)
        loose = Recurrence(
            _joined({k: v for k, v in parts.items() if k not in ("INTERVAL", "COUNT")}), self.tz
        )
        begin = start.replace(second=0, microsecond=0)
        return loose.next_after(begin - timedelta(microseconds=1), dtstart=begin)

    def for_export(self) -> str:
        """The rule as a calendar app reads it beside a zoned DTSTART: UNTIL in UTC (RFC
        5545 asks for it; a local UNTIL is read as UTC by some readers)."""
        parts = _parts(self.rrule)
        if "UNTIL" in parts:
            parts["UNTIL"] = _until(parts["UNTIL"], zone(self.tz)).strftime("%Y%m%dT%H%M%SZ")
        return _joined(parts)

    @property
    def has_time(self) -> bool:
        """Whether the rule names its time of day; without one it takes its start's."""
        return "BYHOUR" in _parts(self.rrule)

    def _instants(self, dtstart: datetime, *, near: datetime) -> Iterator[datetime]:
        """Occurrences from a little before `near`, as increasing instants in `tz`.

        Local readings are placed with `localize`; two readings that land on the same
        instant (a skipped hour) are yielded once.
        """
        tz = zone(self.tz)
        parts = _parts(self.rrule)
        until = _until(parts["UNTIL"], tz) if "UNTIL" in parts else None
        first = dtstart.astimezone(tz).replace(tzinfo=None, fold=0, second=0, microsecond=0)
        rule = _dateutil_rule(parts, first)
        begin = max(first, near.astimezone(tz).replace(tzinfo=None, fold=0) - _SEARCH_MARGIN)
        last: datetime | None = None
        for wall in rule.xafter(begin, inc=True):
            instant = localize(wall, tz).astimezone(UTC)
            if until is not None and instant > until:
                return
            if last is None or instant > last:
                last = instant
                yield instant.astimezone(tz)


def parse_recurrence(text: str, *, tz: ZoneInfo, default_time: time | None = None) -> Recurrence:
    """Read a repeat rule in words, or a raw RRULE, for zone `tz`.

    A rule in words without a time of day uses `default_time`, or, if that is None, the
    time of the event's `dtstart`.
    """
    words = normalise(text, missing=N_("Please give a repeat rule."), usage=USAGE)
    if words.startswith("rrule:") or "=" in words:
        return Recurrence(_raw(words.upper().removeprefix("RRULE:"), tz), tz.key)
    if re.search(r"\b(hourly|hours?|minutely|minutes?|mins?|secondly|seconds)\b", words):
        raise _too_often()
    body, at = _split_time(words)
    parts = _schedule(body)
    at = default_time if at is None else at
    if at is not None:
        parts |= {"BYHOUR": str(at.hour), "BYMINUTE": str(at.minute)}
        if at.second:
            parts["BYSECOND"] = str(at.second)
    return Recurrence(_joined(parts), tz.key)


def _split_time(words: str) -> tuple[str, time | None]:
    body, _, last = words.rpartition(" ")
    at = time_of_day(last, usage=USAGE) if body else None
    if at is None:
        return words, None
    return body.removesuffix(" at"), at


def _schedule(body: str) -> dict[str, str]:
    if match := re.fullmatch(r"(daily|weekly|monthly|yearly|annually)(?: on (.+))?", body):
        freq, interval, on = _FREQ_WORDS[match[1]], 1, match[2]
    elif match := re.fullmatch(
        r"every (?:(\d{1,3}|other) )?(day|week|month|year)s?(?: on (.+))?", body
    ):
        freq = {unit: freq for freq, unit in _UNITS.items()}[match[2]]
        interval = 2 if match[1] == "other" else int(match[1] or 1)
        on = match[3]
    elif days := _weekdays(re.sub(r"^(?:every|on) ", "", body)):
        return {"FREQ": "WEEKLY", "BYDAY": days}
    else:
        raise UserInputError(
            N_('I could not read "{text}" as a repeat rule.'), USAGE, text=body[:60]
        )
    if not 1 <= interval <= 100:
        raise UserInputError(N_("A rule can repeat every 1 to 100 days, weeks or months."), USAGE)
    parts = {"FREQ": freq} | ({"INTERVAL": str(interval)} if interval > 1 else {})
    return parts if on is None else parts | _on(freq, on)


def _on(freq: str, on: str) -> dict[str, str]:
    """The "on ..." part: weekdays for weekly rules, a day of the month for monthly ones."""
    if freq == "WEEKLY" and (days := _weekdays(on)):
        return {"BYDAY": days}
    if freq == "MONTHLY":
        day = on.removeprefix("the ").removeprefix("day ")
        ordinal, _, name = day.partition(" ")
        if ordinal in _ORDINALS and (number := weekday(name.removesuffix("s"))) is not None:
            return {"BYDAY": f"{_ORDINALS[ordinal]}{_DAY_CODES[number]}"}
        if day == "last day":
            return {"BYMONTHDAY": "-1"}
        if match := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", day):
            if 1 <= int(match[1]) <= 28:
                return {"BYMONTHDAY": match[1]}
            raise UserInputError(
                N_(
                    "Not every month has a day {day}. Use a day up to 28, or "
                    '"monthly on the last day".'
                ),
                USAGE,
                day=match[1],
            )
    raise UserInputError(
        N_(
            'I could not read "on {text}". A weekly rule takes days ("on thursday"). A monthly '
            'rule takes a day of the month ("on the last tuesday", "on the 15th").'
        ),
        USAGE,
        text=on[:60],
    )


def _weekdays(words: str) -> str | None:
    """BYDAY codes for "monday", "mondays and thursdays", "mon, wed", "weekdays"; else None."""
    numbers: set[int] = set()
    for word in re.split(r", ?| and | ", words):
        if word in ("weekday", "weekdays"):
            numbers |= {0, 1, 2, 3, 4}
            continue
        number = weekday(word)
        if number is None:
            number = weekday(word.removesuffix("s"))
        if number is None:
            return None
        numbers.add(number)
    return ",".join(_DAY_CODES[n] for n in sorted(numbers))


def _raw(rule: str, tz: ZoneInfo) -> str:
    """Validate an RRULE value typed by hand, refusing what the bot should never run."""
    parts = _parts(rule)
    freq = parts.get("FREQ")
    if freq in ("SECONDLY", "MINUTELY", "HOURLY") or any(
        "," in parts.get(key, "") for key in ("BYHOUR", "BYMINUTE", "BYSECOND")
    ):
        raise _too_often()
    if freq not in _UNITS:
        raise UserInputError(
            N_("An RRULE needs FREQ set to DAILY, WEEKLY, MONTHLY or YEARLY."), USAGE
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise UserInputError(N_("An RRULE can have COUNT or UNTIL, not both."), USAGE)
    _bounded(parts, "COUNT", 1, 1000)
    _bounded(parts, "INTERVAL", 1, 100)
    if "UNTIL" in parts:
        _until(parts["UNTIL"], tz)
    try:
        probe = _dateutil_rule(parts, _probe_start(int(parts.get("INTERVAL", "1"))))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        raise UserInputError(N_('"{rule}" is not a valid RRULE.'), USAGE, rule=rule[:80]) from None
    if next(iter(probe), None) is None:
        raise UserInputError(N_("That rule never happens."), USAGE)
    return _joined(parts)


def _probe_start(interval: int) -> datetime:
    """Where to look for a first occurrence when checking a rule can happen at all.

    dateutil searches for an impossible rule's first occurrence until the year 9999; a
    start 40 repetitions' worth of years before then keeps that search to milliseconds.
    """
    return datetime(datetime.max.year - 40 * interval, 1, 1)


def _parts(rule: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in rule.strip().strip(";").split(";"):
        key, sep, value = (piece.strip().upper() for piece in item.partition("="))
        if key not in _RFC_KEYS or not sep or not value or key in parts:
            raise UserInputError(
                N_('"{part}" is not an RRULE part I can use.'), USAGE, part=item[:40]
            )
        parts[key] = value
    return parts


def _dateutil_rule(parts: dict[str, str], dtstart: datetime) -> rrule:
    """The rule on naive local time; UNTIL is applied by the caller as an instant, since
    dateutil refuses a UTC UNTIL beside a naive start."""
    return rrulestr(_joined({k: v for k, v in parts.items() if k != "UNTIL"}), dtstart=dtstart)


def _joined(parts: dict[str, str]) -> str:
    return ";".join(f"{key}={value}" for key, value in parts.items())


def _bounded(parts: dict[str, str], key: str, low: int, high: int) -> None:
    value = parts.get(key)
    if value is not None and whole_number(value, low, high) is None:
        raise UserInputError(
            N_("{key} must be a whole number from {low} to {high}."),
            USAGE,
            key=key,
            low=low,
            high=high,
        )


def _until(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as a UTC instant: UTC with "Z", else local wall time; a date means its last second."""
    match = re.fullmatch(r"(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)(Z)?)?", value)
    if match is None or not 2000 <= int(match[1]) <= 2100:
        raise UserInputError(N_("UNTIL must be a date-time between 2000 and 2100."), USAGE)
    year, month, day = (int(match[i]) for i in (1, 2, 3))
    hour, minute, second = (int(match[i]) for i in (4, 5, 6)) if match[4] else (23, 59, 59)
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise UserInputError(N_("UNTIL={value} is not a real date."), USAGE, value=value) from None
    return wall.replace(tzinfo=UTC) if match[7] else localize(wall, tz).astimezone(UTC)


def _too_often() -> UserInputError:
    return UserInputError(N_("A rule can repeat at most daily, at one time of day."), USAGE)


def describe(rec: Recurrence, words: Words = ENGLISH) -> str:
    """The rule in words for people, e.g. "every Monday at 09:30 (Europe/London)"."""
    try:
        said = _describe(_parts(rec.rrule), words)
    except (UserInputError, ValueError, KeyError):
        said = None
    if said is None:
        said = words._("on the rule {rule}", rule=rec.rrule)
    return f"{said} ({rec.tz})"


def _every(freq: str, n: int, words: Words) -> str:
    if freq == "DAILY":
        return words.ngettext("every day", "every {n} days", n)
    if freq == "WEEKLY":
        return words.ngettext("every week", "every {n} weeks", n)
    if freq == "MONTHLY":
        return words.ngettext("every month", "every {n} months", n)
    return words.ngettext("every year", "every {n} years", n)


_ON_THE_NTH_DAY = {
    1: N_("{every} on the first {day}"),
    2: N_("{every} on the second {day}"),
    3: N_("{every} on the third {day}"),
    4: N_("{every} on the fourth {day}"),
    -1: N_("{every} on the last {day}"),
}


def _day_name(code: str, words: Words) -> str:
    return str(get_day_names("wide", locale=words.lang)[_DAY_CODES.index(code)])


def _describe(parts: dict[str, str], words: Words) -> str | None:
    if set(parts) - _DESCRIBED or parts.get("FREQ") not in _UNITS:
        return None
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    said = _every(freq, interval, words)
    byday, monthday = parts.get("BYDAY"), parts.get("BYMONTHDAY")
    if freq == "WEEKLY" and byday and set(byday.split(",")) <= set(_DAY_CODES):
        codes = byday.split(",")
        if codes == ["MO", "TU", "WE", "TH", "FR"]:
            said = (
                words._("every weekday")
                if interval == 1
                else words._("{every} on weekdays", every=said)
            )
        else:
            days = _listed([_day_name(code, words) for code in codes], words)
            said = (
                words._("every {days}", days=days)
                if interval == 1
                else words._("{every} on {days}", every=said, days=days)
            )
    elif freq == "MONTHLY" and byday and (match := re.fullmatch(r"(-1|[1-4])(\w\w)", byday)):
        day = _day_name(match[2], words)
        said = words._(_ON_THE_NTH_DAY[int(match[1])], every=said, day=day)
    elif freq == "MONTHLY" and monthday and re.fullmatch(r"-1|\d{1,2}", monthday):
        if monthday == "-1":
            said = words._("{every} on the last day", every=said)
        else:  # English writes "the 15th"; the catalogs' languages the plain number
            nth = _nth(int(monthday)) if words.lang == "en" else monthday
            said = words._("{every} on the {nth}", every=said, nth=nth)
    elif byday or monthday:
        return None
    if "BYHOUR" in parts or "BYMINUTE" in parts or "BYSECOND" in parts:
        at = time(int(parts["BYHOUR"]), int(parts["BYMINUTE"]), int(parts.get("BYSECOND", 0)))
        clock = f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"
        said = words._("{rule} at {time}", rule=said, time=clock)
    if "COUNT" in parts:
        count = int(parts["COUNT"])
        said = words.ngettext("{rule}, {n} time", "{rule}, {n} times", count, rule=said)
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        said = words._(
            "{rule}, until {date}", rule=said, date=f"{until[:4]}-{until[4:6]}-{until[6:8]}"
        )
    return said


def _listed(names: list[str], words: Words) -> str:
    if len(names) == 1:
        return names[0]
    return words._("{some} and {last}", some=", ".join(names[:-1]), last=names[-1])


def _nth(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def next_times(
    instants: Sequence[datetime], *, community: ZoneInfo, own: ZoneInfo, words: Words = ENGLISH
) -> str:
    """The coming occurrences for a reply: in the community's zone, and beside it the
    organiser's own when that differs, so nobody converts a series' times in their head."""
    lines = []
    for at in instants:
        here = format_datetime(at.astimezone(community), "EEE d MMM y, HH:mm", locale=words.lang)
        line = f"- {here} {community.key}"
        if own.key != community.key:
            mine = format_datetime(at.astimezone(own), "EEE d MMM, HH:mm", locale=words.lang)
            line += " " + words._("({when} your time, {zone})", when=mine, zone=own.key)
        lines.append(line)
    return words._("Next:") + "\n" + "\n".join(lines)
