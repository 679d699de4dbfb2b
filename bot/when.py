"""Reading the times people type: dates, durations, reminder offsets, quiet hours, zones.

Everything here is pure: the current instant and the caller's zone are arguments, so the
same text always means the same instant in tests and in production. Wall-clock readings
are placed on the timeline with `localize`, which settles daylight-saving edge cases the
same way everywhere in the bot.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import time_words
from bot.errors import UserInputError
from bot.i18n import DEFAULT, N_, choose

MAX_INPUT = 200
"""Longest text any parser here will look at; longer input is refused before any work."""

DEFAULT_TIME = time(9, 0)
"""The time of day meant by a day given without one ("2026-12-01", "tomorrow", "tue")."""

MAX_DURATION = timedelta(days=366)

WHEN_USAGE = N_(
    '"2026-12-01 11:30", "next tuesday 18:30", "Tue 11:30", "tomorrow 9am", "17:00", '
    '"in 2h" or "now"'
)
DURATION_USAGE = N_('"90m", "1h30m", "2h", "45s", "1d", "1w", "30 minutes" or a number of minutes')
OFFSETS_USAGE = N_('"1w,1d,1h" or "1w 1d 1h"')
QUIET_USAGE = "me quiet 22:00-07:30"
ZONE_USAGE = "me tz Europe/London"

_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "weds", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), timedelta(weeks=1)),
}

_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?(am|pm)?")
_DURATION = re.compile(r"(?:(\d{1,6}(?:\.\d{1,3})?) ?([a-z]+) ?(?:and )?)+")
_DURATION_PART = re.compile(r"(\d{1,6}(?:\.\d{1,3})?) ?([a-z]+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def normalise(text: str, *, missing: str, usage: str) -> str:
    """Lower-case, single-spaced text in Latin letters (accents allowed: "mañana"), or a
    `UserInputError` (`missing` when there is no text) before any real parsing.

    Capping length first keeps a pasted novel or a flood of emoji cheap to refuse.
    """
    if len(text) > MAX_INPUT:
        raise UserInputError(N_("That is too long ({length} characters)."), usage, length=len(text))
    cleaned = " ".join(text.split()).lower()
    if not cleaned:
        raise UserInputError(missing, usage)
    if not all((c.isascii() and c.isprintable()) or _latin_letter(c) for c in cleaned):
        raise UserInputError(N_("Please write it with plain letters and numbers."), usage)
    return re.sub(r"(\d) (am|pm)\b", r"\1\2", cleaned)


def _latin_letter(char: str) -> bool:
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name` (any letter case), or a `UserInputError`.

    Only names from the installed zone list are looked up, so paths and odd text never
    reach the file system.
    """
    key = name.strip()
    canonical = _zone_keys().get(key.lower()) if len(key) <= 64 else None
    if canonical is not None:
        try:
            return ZoneInfo(canonical)
        except (KeyError, ValueError, OSError):
            pass
    readable = key.isascii() and key.isprintable() and 0 < len(key) <= 64
    if readable:
        raise UserInputError(
            N_(
                'I don\'t know the time zone "{zone}". Use a name like Europe/London or '
                "America/New_York."
            ),
            ZONE_USAGE,
            zone=key,
        )
    raise UserInputError(
        N_("I don't know that time zone. Use a name like Europe/London or America/New_York."),
        ZONE_USAGE,
    )


@functools.cache
def _zone_keys() -> dict[str, str]:
    return {key.lower(): key for key in zoneinfo.available_timezones()}


def localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """Place a naive local wall-clock reading on the timeline of `tz`.

    An ambiguous reading (clocks going back) means its first occurrence (`fold=0`); a
    reading skipped by clocks going forward is moved forward by the length of the gap
    (01:30 on the London spring-forward day becomes 02:30 BST).
    """
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def time_of_day(word: str, *, usage: str | None = None) -> time | None:
    """Read "9am", "9:30pm", "21:00", "12am", "noon"; None if `word` is not time-shaped.

    A bare number is not a time ("15" could be anything), so callers can try this on any
    word; a time-shaped word out of range ("25:00", "13pm") is a `UserInputError`.
    """
    if word in ("noon", "midday"):
        return time(12, 0)
    if word == "midnight":
        return time(0, 0)
    match = _TIME.fullmatch(word)
    if match is None or (match[2] is None and match[4] is None):
        return None
    hour, minute, second = (int(match[i] or 0) for i in (1, 2, 3))
    if match[4] is not None:
        if not 1 <= hour <= 12:
            raise UserInputError(
                N_('"{word}" is not a time: with am or pm the hour is 1 to 12.'), usage, word=word
            )
        hour = hour % 12 + (12 if match[4] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise UserInputError(
            N_('"{word}" is not a time of day. Use 00:00 to 23:59.'), usage, word=word
        )
    return time(hour, minute, second)


def weekday(word: str) -> int | None:
    """Monday=0 for "mon", "Monday", "tues", ...; None for anything else."""
    return _WEEKDAYS.get(word.lower())


def parse_when(text: str, *, now: datetime, tz: ZoneInfo, lang: str = "en") -> datetime:
    """The instant meant by `text`, read in the caller's zone `tz`; aware, in `tz`.

    `text` may be in the member's language `lang` ("martes 18:30", "el próximo martes a
    las 6 de la tarde", "jumanne saa 12 jioni"): what the English reading cannot read is
    translated with `bot.time_words` and read again by the same rules, so a time means the
    same moment in every language. Callers echo the result back, so a misreading shows.

    Relative times ("in 2 days") are exact elapsed time from `now`. A day without a time
    means 09:00 local. A time without a day ("11:30", "tue 11:30") means the next such
    moment strictly after `now` (during a repeated hour that can be its second pass).
    Absolute times in the past are returned as they are; the caller decides whether that
    is allowed. Skipped and repeated wall-clock times are settled by `localize`.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    words = normalise(text, missing=N_("Please give a time."), usage=WHEN_USAGE)
    words = re.sub(r"^(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", r"\1 ", words)
    try:
        try:
            return _read(words, now, tz)
        except _Unreadable:
            if choose(lang) == DEFAULT:
                raise
            try:
                return _read(time_words.to_english(words, lang), now, tz)
            except _Unreadable:
                raise _unreadable(words) from None
    except OverflowError:
        raise UserInputError(N_("That time is too far away."), WHEN_USAGE) from None


def _read(words: str, now: datetime, tz: ZoneInfo) -> datetime:
    if words == "now":
        return now.astimezone(tz)
    if words.startswith("in "):
        delay = _duration(words[3:], usage=WHEN_USAGE)
        return (now.astimezone(UTC) + delay).astimezone(tz)
    return _absolute(words.split(" "), now.astimezone(tz), tz)


def _absolute(words: list[str], local_now: datetime, tz: ZoneInfo) -> datetime:
    if len(words) > 2 and words[-2] == "at":
        del words[-2]
    if len(words) > 1 and words[0] in ("next", "this") and weekday(words[1]) is not None:
        del words[0]
    *day_words, last = words
    at = time_of_day(last, usage=WHEN_USAGE)
    if at is None:
        day_words.append(last)
    wall = DEFAULT_TIME if at is None else at
    today = local_now.date()
    if len(day_words) > 1:
        named = time_words.calendar_day(" ".join(day_words), today)
        if named is None:
            raise _unreadable(" ".join(words))
        return localize(datetime.combine(_date(named.year, named.month, named.day), wall), tz)
    day_word = day_words[0] if day_words else None

    def first_after_now(day: date, step: timedelta) -> datetime:
        reading = datetime.combine(day, wall)
        for candidate in (localize(reading, tz), reading.replace(tzinfo=tz, fold=1)):
            if candidate.astimezone(UTC) > local_now.astimezone(UTC):
                return candidate.astimezone(tz)
        return localize(datetime.combine(day + step, wall), tz)

    if day_word is None:
        return first_after_now(today, timedelta(days=1))
    if day_word in ("today", "tomorrow"):
        day = today + timedelta(days=1 if day_word == "tomorrow" else 0)
        return localize(datetime.combine(day, wall), tz)
    if (number := weekday(day_word)) is not None:
        ahead = timedelta(days=(number - today.weekday()) % 7)
        return first_after_now(today + ahead, timedelta(weeks=1))
    if match := _ISO_DATE.fullmatch(day_word):
        return localize(datetime.combine(_date(*map(int, match.groups())), wall), tz)
    named = time_words.calendar_day(day_word, today)
    if named is None:
        raise _unreadable(" ".join(words))
    return localize(datetime.combine(_date(named.year, named.month, named.day), wall), tz)


def _date(year: int, month: int, day: int) -> date:
    if not 1970 <= year <= 2100:
        raise UserInputError(
            N_("The year {year} is out of range. Use 1970 to 2100."), WHEN_USAGE, year=year
        )
    try:
        return date(year, month, day)
    except ValueError:
        raise UserInputError(
            N_("There is no date {date}. Dates are written year-month-day."),
            WHEN_USAGE,
            date=f"{year:04d}-{month:02d}-{day:02d}",
        ) from None


class _Unreadable(UserInputError):
    """No form of a time matched (as opposed to a time that is out of range)."""


def _unreadable(words: str) -> UserInputError:
    return _Unreadable(N_('I could not read "{text}" as a time.'), WHEN_USAGE, text=words[:60])


def parse_duration(text: str) -> timedelta:
    """A positive length of time of at most 366 days; a plain number means minutes.

    Plain minutes suit `--minutes 15` and `--duration 90`; units can be combined ("1h30m")
    and decimals are allowed ("1.5h"). The result is rounded to whole seconds.
    """
    words = normalise(text, missing=N_("Please give a length of time."), usage=DURATION_USAGE)
    return _duration(words, DURATION_USAGE)


def _duration(words: str, usage: str) -> timedelta:
    if words.startswith("-"):
        raise UserInputError(N_("A length of time cannot be negative."), usage)
    if re.fullmatch(r"\d{1,6}(?:\.\d{1,3})?", words):
        words += "m"
    total = timedelta()
    if _DURATION.fullmatch(words):
        for amount, unit in _DURATION_PART.findall(words):
            if unit not in _UNITS:
                break
            total += float(amount) * _UNITS[unit]
        else:
            return _checked(timedelta(seconds=round(total.total_seconds())), usage)
    raise UserInputError(
        N_('I could not read "{text}" as a length of time.'), usage, text=words[:60]
    )


def _checked(duration: timedelta, usage: str) -> timedelta:
    if duration <= timedelta():
        raise UserInputError(N_("A length of time must be longer than zero."), usage)
    if duration > MAX_DURATION:
        raise UserInputError(N_("A length of time can be at most 366 days."), usage)
    return duration


def parse_offsets(text: str) -> list[timedelta]:
    """Reminder offsets before an event, largest first, without repeats.

    Offsets are separated by commas or spaces; "1h30m" is one offset, "1h 30m" two, and a
    number followed by a unit word ("1 week") stays together.
    """
    words = normalise(text, missing=N_("Please give a reminder time."), usage=OFFSETS_USAGE)
    pieces: list[str] = []
    for word in re.split(r"[, ]+", words):
        if word in _UNITS and pieces and re.fullmatch(r"[\d.]+", pieces[-1]):
            pieces[-1] += word
        elif word:
            pieces.append(word)
    if not pieces:
        raise UserInputError(N_("Please give at least one reminder time."), OFFSETS_USAGE)
    if len(pieces) > 10:
        raise UserInputError(N_("At most 10 reminder times, please."), OFFSETS_USAGE)
    return sorted({_duration(piece, OFFSETS_USAGE) for piece in pieces}, reverse=True)


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """A daily quiet window "22:00-07:30" as (start, end); it may wrap past midnight."""
    words = normalise(text, missing=N_("Please give quiet hours."), usage=QUIET_USAGE)
    match = re.fullmatch(r"([^ -]+) ?(?:-|to) ?([^ -]+)", words)
    start = time_of_day(match[1], usage=QUIET_USAGE) if match else None
    end = time_of_day(match[2], usage=QUIET_USAGE) if match else None
    if start is None or end is None:
        raise UserInputError(
            N_("Quiet hours are a start and an end time, like 22:00-07:30."), QUIET_USAGE
        )
    if start == end:
        raise UserInputError(N_("Quiet hours need different start and end times."), QUIET_USAGE)
    return start, end


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether the local wall-clock time falls in [start, end), wrapping past midnight."""
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(at: datetime, start: time, end: time, tz: ZoneInfo) -> datetime:
    """The first instant at or after `at` whose local time in `tz` is outside quiet hours.

    Nudges that fall in someone's quiet hours wait until this instant. If the end of the
    window is skipped by clocks going forward, the answer is the moment of the jump.
    """
    local = at.astimezone(tz)
    if not in_quiet_hours(local.time(), start, end):
        return local
    day = local.date() + timedelta(days=1 if start > end and local.time() >= start else 0)
    wall = datetime.combine(day, end)
    first, second = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    if not _exists(first):
        return _jump(second, first, tz)
    return first if first.astimezone(UTC) >= at.astimezone(UTC) else second.astimezone(tz)


def _exists(aware: datetime) -> bool:
    return aware.astimezone(UTC).astimezone(aware.tzinfo).replace(tzinfo=None) == (
        aware.replace(tzinfo=None)
    )


def _jump(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The instant the offset changes, between two instants on either side of a gap."""
    low, high = int(before.timestamp()), int(after.timestamp())
    offset = datetime.fromtimestamp(low, tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, tz)
