from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserInputError
from bot.i18n import words
from bot.when import (
    in_quiet_hours,
    localize,
    parse_duration,
    parse_offsets,
    parse_quiet_hours,
    parse_when,
    quiet_hours_end,
    time_of_day,
    zone,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ZONES = st.sampled_from([ZoneInfo("UTC"), LONDON, NEW_YORK, KOLKATA, LORD_HOWE])

# Tuesday 16 June 2026, 10:00 BST.
NOW = datetime(2026, 6, 16, 10, 0, tzinfo=LONDON)


def when(text: str, now: datetime = NOW, tz: ZoneInfo = LONDON) -> datetime:
    return parse_when(text, now=now, tz=tz)


def wall(dt: datetime) -> tuple[int, int, int, int, int, int]:
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


# --- zone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("  America/New_York ", "America/New_York"),
        ("UTC", "UTC"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_zone_resolves_iana_names_in_any_case(name: str, key: str) -> None:
    assert zone(name).key == key


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Base",
        "../../etc/passwd",
        "../etc",
        "/etc/localtime",
        "Europe/../Europe/London",
        "",
        "   ",
        "x" * 10_000,
        "Europe/London\x00",
        "🌍/Earth",
        "אירופה/לונדון",
        "Europe/Lоndon",  # Cyrillic "о"
    ],
)
def test_zone_refuses_unknown_names_with_an_example(name: str) -> None:
    with pytest.raises(UserInputError) as caught:
        zone(name)
    assert "Europe/London" in str(caught.value)
    assert caught.value.usage is not None


def test_zone_message_names_the_zone() -> None:
    with pytest.raises(UserInputError, match='"Mars/Base"'):
        zone("Mars/Base")


@given(st.text(max_size=80))
def test_zone_raises_only_user_input_errors(name: str) -> None:
    try:
        assert isinstance(zone(name), ZoneInfo)
    except UserInputError as error:
        assert str(error)


# --- time of day ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("9am", time(9)),
        ("9:30pm", time(21, 30)),
        ("21:00", time(21)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("12:30am", time(0, 30)),
        ("00:00", time(0)),
        ("23:59", time(23, 59)),
        ("11:30:15", time(11, 30, 15)),
        ("noon", time(12)),
        ("midnight", time(0)),
        ("9", None),
        ("15th", None),
        ("tuesday", None),
    ],
)
def test_time_of_day(word: str, expected: time | None) -> None:
    assert time_of_day(word) == expected


@pytest.mark.parametrize("word", ["25:00", "13pm", "0am", "12:60", "9:75am"])
def test_time_of_day_out_of_range(word: str) -> None:
    with pytest.raises(UserInputError, match=word):
        time_of_day(word)


# --- parse_when -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 11:30", (2026, 12, 1, 11, 30, 0)),
        ("2026-12-01T11:30", (2026, 12, 1, 11, 30, 0)),
        ("2026-12-01t11:30:45", (2026, 12, 1, 11, 30, 45)),
        ("2026-12-01", (2026, 12, 1, 9, 0, 0)),
        ("2026-12-01 at 9pm", (2026, 12, 1, 21, 0, 0)),
        ("Tue 11:30", (2026, 6, 16, 11, 30, 0)),
        ("tuesday 11:30", (2026, 6, 16, 11, 30, 0)),
        ("tue 9am", (2026, 6, 23, 9, 0, 0)),
        ("wed", (2026, 6, 17, 9, 0, 0)),
        ("Monday 8:15pm", (2026, 6, 22, 20, 15, 0)),
        ("sun 12am", (2026, 6, 21, 0, 0, 0)),
        ("tomorrow 9am", (2026, 6, 17, 9, 0, 0)),
        ("tomorrow 9 am", (2026, 6, 17, 9, 0, 0)),
        ("tomorrow at 09:30", (2026, 6, 17, 9, 30, 0)),
        ("tomorrow", (2026, 6, 17, 9, 0, 0)),
        ("today 17:00", (2026, 6, 16, 17, 0, 0)),
        ("today 8:00", (2026, 6, 16, 8, 0, 0)),
        ("11:30", (2026, 6, 16, 11, 30, 0)),
        ("9:59", (2026, 6, 17, 9, 59, 0)),
        ("10:00", (2026, 6, 17, 10, 0, 0)),
        ("12pm", (2026, 6, 16, 12, 0, 0)),
        ("12am", (2026, 6, 17, 0, 0, 0)),
        ("in 2h", (2026, 6, 16, 12, 0, 0)),
        ("in 30s", (2026, 6, 16, 10, 0, 30)),
        ("in 90m", (2026, 6, 16, 11, 30, 0)),
        ("in 1h30m", (2026, 6, 16, 11, 30, 0)),
        ("in 1 hour and 30 minutes", (2026, 6, 16, 11, 30, 0)),
        ("in 1.5h", (2026, 6, 16, 11, 30, 0)),
        ("in 2 days", (2026, 6, 18, 10, 0, 0)),
        ("in 1 week", (2026, 6, 23, 10, 0, 0)),
        ("in 5", (2026, 6, 16, 10, 5, 0)),
        ("now", (2026, 6, 16, 10, 0, 0)),
        ("  NOW  ", (2026, 6, 16, 10, 0, 0)),
        ("TOMORROW   9AM", (2026, 6, 17, 9, 0, 0)),
    ],
)
def test_parse_when_accepted_forms(text: str, expected: tuple[int, ...]) -> None:
    result = when(text)
    assert result.tzinfo is LONDON
    assert wall(result) == expected


def test_result_is_in_the_callers_zone_whatever_zone_now_is_in() -> None:
    now_utc = NOW.astimezone(UTC)
    result = when("tomorrow 9am", now=now_utc, tz=KOLKATA)
    assert result.tzinfo is KOLKATA
    assert wall(result) == (2026, 6, 17, 9, 0, 0)
    assert result.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("clock", "expected_day"),
    [((11, 29), 16), ((11, 30), 23), ((11, 31), 23), ((0, 0), 16)],
)
def test_weekday_is_today_only_while_that_time_is_ahead(
    clock: tuple[int, int], expected_day: int
) -> None:
    now = datetime(2026, 6, 16, *clock, tzinfo=LONDON)
    assert wall(when("Tue 11:30", now=now)) == (2026, 6, expected_day, 11, 30, 0)


def test_time_alone_rolls_to_tomorrow_once_passed() -> None:
    now = datetime(2026, 6, 16, 23, 59, tzinfo=LONDON)
    assert wall(when("23:58", now=now)) == (2026, 6, 17, 23, 58, 0)
    assert wall(when("23:59:30", now=now)) == (2026, 6, 16, 23, 59, 30)


def test_past_absolute_times_are_returned() -> None:
    assert wall(when("2026-01-01 10:00")) == (2026, 1, 1, 10, 0, 0)
    assert when("today 8:00") < NOW


# --- daylight saving --------------------------------------------------------------------


def test_nonexistent_time_moves_forward_by_the_gap_london() -> None:
    result = when("2026-03-29 01:30")
    assert wall(result) == (2026, 3, 29, 2, 30, 0)
    assert result.utcoffset() == timedelta(hours=1)


def test_ambiguous_time_is_the_first_occurrence_london() -> None:
    result = when("2026-10-25 01:30")
    assert wall(result) == (2026, 10, 25, 1, 30, 0)
    assert result.utcoffset() == timedelta(hours=1)
    assert result.astimezone(UTC).hour == 0


def test_nonexistent_and_ambiguous_times_new_york() -> None:
    gap = when("2026-03-08 02:30", tz=NEW_YORK)
    assert wall(gap) == (2026, 3, 8, 3, 30, 0)
    assert gap.utcoffset() == timedelta(hours=-4)
    fold = when("2026-11-01 01:30", tz=NEW_YORK)
    assert wall(fold) == (2026, 11, 1, 1, 30, 0)
    assert fold.utcoffset() == timedelta(hours=-4)


def test_tomorrow_keeps_the_wall_clock_across_spring_forward() -> None:
    now = datetime(2026, 3, 28, 10, 0, tzinfo=LONDON)
    result = when("tomorrow 9am", now=now)
    assert wall(result) == (2026, 3, 29, 9, 0, 0)
    assert result.astimezone(UTC).hour == 8


def test_relative_times_are_elapsed_time_across_dst() -> None:
    now = datetime(2026, 3, 28, 12, 0, tzinfo=LONDON)
    result = when("in 1 day", now=now)
    assert result.astimezone(UTC) - now.astimezone(UTC) == timedelta(days=1)
    assert wall(result) == (2026, 3, 29, 13, 0, 0)
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=LONDON)
    assert wall(when("in 24h", now=autumn)) == (2026, 10, 25, 11, 0, 0)


def test_kolkata_has_no_dst() -> None:
    now = datetime(2026, 3, 28, 12, 0, tzinfo=KOLKATA)
    assert wall(when("2026-03-29 01:30", now=now, tz=KOLKATA)) == (2026, 3, 29, 1, 30, 0)
    assert wall(when("in 2 days", now=now, tz=KOLKATA)) == (2026, 3, 30, 12, 0, 0)


def test_localize_rules() -> None:
    assert wall(localize(datetime(2026, 3, 29, 1, 0), LONDON)) == (2026, 3, 29, 2, 0, 0)
    first = localize(datetime(2026, 10, 25, 1, 59), LONDON)
    assert (first.fold, first.utcoffset()) == (0, timedelta(hours=1))


# --- parse_when refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Please give a time"),
        ("   ", "Please give a time"),
        ("x" * 10_000, "too long"),
        ("in 2h" + " " * 300, "too long"),
        ("🎉", "plain letters"),
        ("tomorrow 🕘", "plain letters"),
        ("מחר 9am", "plain letters"),
        ("\u202etomorrow", "plain letters"),
        ("tomorrow\x00", "plain letters"),
        ("in -2h", "negative"),
        ("in 0m", "longer than zero"),
        ("in 0.001s", "longer than zero"),
        ("in 367 days", "366 days"),
        ("in 2 fortnights", "length of time"),
        ("in", "could not read"),
        ("2026-02-30", "no date 2026-02-30"),
        ("0001-01-01 10:00", "year 1"),
        ("25:00", "25:00"),
        ("13pm", "13pm"),
        ("tomorrow 9", "could not read"),
        ("tue wed 9am", "could not read"),
        ("next soon", "could not read"),
        ("1 smarch 10:00", "could not read"),
        ("1/12/2026", "could not read"),
        ("soon", "could not read"),
    ],
)
def test_parse_when_refusals_say_what_was_wrong(text: str, says: str) -> None:
    with pytest.raises(UserInputError) as caught:
        when(text)
    assert says in str(caught.value)
    assert caught.value.usage is not None
    assert "tomorrow 9am" in caught.value.usage


def test_parse_when_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("now", now=datetime(2026, 1, 1), tz=LONDON)


_WORDS = st.sampled_from(
    ["in", "at", "tomorrow", "today", "tue", "now", "2026-03-29", "9am", "12pm", "01:30", "h",
     "m", "d", "w", "-", "0", "99999", "2", ".", ":", "t", " ", "1.5", "366", "days", "martes",
     "mañana", "a las", "de la tarde", "saa", "kumi na mbili", "jioni", "kesho", "december",
     "31", "next", "9999"]
)  # fmt: skip


@given(
    st.one_of(st.text(max_size=300), st.lists(_WORDS, max_size=6).map("".join)),
    st.datetimes(timezones=ZONES),
    ZONES,
    st.sampled_from(["en", "es", "sw"]),
)
def test_parse_when_raises_only_user_input_errors(
    text: str, now: datetime, tz: ZoneInfo, lang: str
) -> None:
    try:
        result = parse_when(text, now=now, tz=tz, lang=lang)
    except UserInputError as error:
        assert str(error)
    else:
        assert result.tzinfo is tz


@given(
    st.integers(min_value=1, max_value=366 * 24 * 60),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=ZONES),
    ZONES,
)
def test_in_n_minutes_is_exactly_n_minutes_later(minutes: int, now: datetime, tz: ZoneInfo) -> None:
    result = parse_when(f"in {minutes}m", now=now, tz=tz)
    assert result.astimezone(UTC) - now.astimezone(UTC) == timedelta(minutes=minutes)
    assert result.tzinfo is tz


# --- durations and offsets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("45s", timedelta(seconds=45)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("30 minutes", timedelta(minutes=30)),
        ("2 hours", timedelta(hours=2)),
        ("1 hour and 15 mins", timedelta(minutes=75)),
        ("1.5h", timedelta(minutes=90)),
        ("15", timedelta(minutes=15)),
        (" 45 ", timedelta(minutes=45)),
        ("366d", timedelta(days=366)),
        ("2 HOURS", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0", "longer than zero"),
        ("0m", "longer than zero"),
        ("-5", "negative"),
        ("-1h", "negative"),
        ("367d", "366 days"),
        ("53w", "366 days"),
        ("999999w", "366 days"),
        ("abc", "abc"),
        ("1x", "1x"),
        ("h", '"h"'),
        ("", "Please give"),
        ("9" * 10_000, "too long"),
        ("½h", "plain letters"),
    ],
)
def test_parse_duration_refusals(text: str, says: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_duration(text)
    assert says in str(caught.value)
    assert caught.value.usage is not None and "1h30m" in caught.value.usage


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1w,1d,1h", [timedelta(weeks=1), timedelta(days=1), timedelta(hours=1)]),
        ("1w 1d 1h", [timedelta(weeks=1), timedelta(days=1), timedelta(hours=1)]),
        ("1h, 1w, 1d", [timedelta(weeks=1), timedelta(days=1), timedelta(hours=1)]),
        ("1 week, 1 day", [timedelta(weeks=1), timedelta(days=1)]),
        ("1h,60m,3600s", [timedelta(hours=1)]),
        ("1h30m", [timedelta(minutes=90)]),
        ("1h 30m", [timedelta(hours=1), timedelta(minutes=30)]),
        ("30, 10", [timedelta(minutes=30), timedelta(minutes=10)]),
        ("1d,", [timedelta(days=1)]),
    ],
)
def test_parse_offsets(text: str, expected: list[timedelta]) -> None:
    assert parse_offsets(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Please give"),
        (",", "at least one"),
        ("1w,soon", "soon"),
        ("1h,-1h", "negative"),
        (",".join(f"{n}m" for n in range(1, 12)), "At most 10"),
    ],
)
def test_parse_offsets_refusals(text: str, says: str) -> None:
    with pytest.raises(UserInputError, match=says):
        parse_offsets(text)


@given(st.text(max_size=250))
def test_duration_parsers_raise_only_user_input_errors(text: str) -> None:
    for parse in (parse_duration, parse_offsets):
        try:
            parse(text)
        except UserInputError as error:
            assert str(error)


# --- quiet hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-07:30", (time(22), time(7, 30))),
        ("22:00 - 07:30", (time(22), time(7, 30))),
        ("10pm to 7am", (time(22), time(7))),
        ("13:00-14:00", (time(13), time(14))),
    ],
)
def test_parse_quiet_hours(text: str, expected: tuple[time, time]) -> None:
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("22:00", "start and an end"),
        ("22:00-", "start and an end"),
        ("night", "start and an end"),
        ("22:00-22:00", "different"),
        ("22:00-25:00", "25:00"),
        ("🌙-☀️", "plain letters"),
    ],
)
def test_parse_quiet_hours_refusals(text: str, says: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_quiet_hours(text)
    assert says in str(caught.value)
    assert caught.value.usage == "me quiet 22:00-07:30"


@pytest.mark.parametrize(
    ("local", "expected"),
    [(time(21, 59), False), (time(22), True), (time(3), True), (time(7, 29), True),
     (time(7, 30), False), (time(12), False)],
)  # fmt: skip
def test_in_quiet_hours_wrapping_midnight(local: time, expected: bool) -> None:
    assert in_quiet_hours(local, time(22), time(7, 30)) is expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [(time(12, 59), False), (time(13), True), (time(13, 59), True), (time(14), False)],
)
def test_in_quiet_hours_same_day(local: time, expected: bool) -> None:
    assert in_quiet_hours(local, time(13), time(14)) is expected


def test_quiet_hours_end_outside_window_is_now() -> None:
    at = datetime(2026, 6, 16, 12, 0, tzinfo=LONDON)
    assert quiet_hours_end(at, time(22), time(7, 30), LONDON) == at


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 6, 16, 23, 0), (2026, 6, 17, 7, 30, 0)),
        (datetime(2026, 6, 17, 3, 0), (2026, 6, 17, 7, 30, 0)),
        (datetime(2026, 6, 16, 22, 0), (2026, 6, 17, 7, 30, 0)),
    ],
)
def test_quiet_hours_end_wrapping(at: datetime, expected: tuple[int, ...]) -> None:
    result = quiet_hours_end(at.replace(tzinfo=LONDON), time(22), time(7, 30), LONDON)
    assert wall(result) == expected


def test_quiet_hours_end_keeps_local_morning_across_spring_forward() -> None:
    at = datetime(2026, 3, 28, 23, 0, tzinfo=LONDON)
    result = quiet_hours_end(at, time(22), time(7, 30), LONDON)
    assert wall(result) == (2026, 3, 29, 7, 30, 0)
    assert result.astimezone(UTC).hour == 6


def test_quiet_hours_end_skipped_by_the_gap_is_the_jump() -> None:
    at = datetime(2026, 3, 29, 0, 45, tzinfo=LONDON)
    result = quiet_hours_end(at, time(0, 30), time(1, 30), LONDON)
    assert result.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wall(result) == (2026, 3, 29, 2, 0, 0)


def test_quiet_hours_end_in_the_repeated_hour() -> None:
    start, end = time(0, 30), time(1, 30)
    first_pass = datetime(2026, 10, 25, 0, 45, tzinfo=LONDON)
    assert quiet_hours_end(first_pass, start, end, LONDON).astimezone(UTC) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    second_pass = datetime(2026, 10, 25, 1, 15, fold=1, tzinfo=LONDON)
    assert quiet_hours_end(second_pass, start, end, LONDON).astimezone(UTC) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )


def test_quiet_hours_end_new_york_spring_forward() -> None:
    at = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK)
    result = quiet_hours_end(at, time(23), time(2, 30), NEW_YORK)
    assert wall(result) == (2026, 3, 8, 3, 0, 0)
    assert result.astimezone(UTC) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


_MINUTES = st.integers(min_value=0, max_value=24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=ZONES),
    _MINUTES,
    _MINUTES,
    ZONES,
)
def test_quiet_hours_end_is_the_first_instant_outside(
    at: datetime, start: time, end: time, tz: ZoneInfo
) -> None:
    result = quiet_hours_end(at, start, end, tz)
    assert result.astimezone(UTC) >= at.astimezone(UTC)
    assert not in_quiet_hours(result.astimezone(tz).time(), start, end)
    if result.astimezone(UTC) > at.astimezone(UTC):
        just_before = (result.astimezone(UTC) - timedelta(seconds=1)).astimezone(tz)
        assert in_quiet_hours(just_before.time(), start, end)


def test_time_alone_during_the_repeated_hour_means_the_pass_still_ahead() -> None:
    second_pass = datetime(2026, 10, 25, 1, 15, fold=1, tzinfo=LONDON)
    result = when("01:30", now=second_pass)
    assert result.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert result.fold == 1
    first_pass = datetime(2026, 10, 25, 1, 15, tzinfo=LONDON)
    assert when("01:30", now=first_pass).astimezone(UTC) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert wall(when("01:10", now=second_pass)) == (2026, 10, 26, 1, 10, 0)


def test_time_alone_in_the_gap_moves_forward() -> None:
    now = datetime(2026, 3, 29, 0, 0, tzinfo=LONDON)
    assert wall(when("01:30", now=now)) == (2026, 3, 29, 2, 30, 0)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=ZONES),
    ZONES,
    _MINUTES,
    st.sampled_from([None, "mon", "tue", "wednesday", "thu", "fri", "sat", "sun"]),
)
def test_time_forms_are_the_next_such_moment(
    now: datetime, tz: ZoneInfo, at: time, day: str | None
) -> None:
    text = f"{at:%H:%M}" if day is None else f"{day} {at:%H:%M}"
    result = parse_when(text, now=now, tz=tz)
    ahead = result.astimezone(UTC) - now.astimezone(UTC)
    assert timedelta(0) < ahead <= timedelta(days=1 if day is None else 7, hours=1)
    if (result.hour, result.minute) == (at.hour, at.minute) and day is not None:
        assert result.strftime("%a").lower() == day[:3]


# --- times in the member's language ----------------------------------------------------

THURSDAY = datetime(2026, 6, 18, 10, 0, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "next tuesday 18:30", (2026, 6, 23, 18, 30, 0)),
        ("es", "martes 18:30", (2026, 6, 23, 18, 30, 0)),
        ("es", "el próximo martes a las 18:30", (2026, 6, 23, 18, 30, 0)),
        ("es", "el martes que viene a las 6:30 de la tarde", (2026, 6, 23, 18, 30, 0)),
        ("es", "el próximo martes a las 6 de la tarde", (2026, 6, 23, 18, 0, 0)),
        ("es", "mañana a las 9", (2026, 6, 19, 9, 0, 0)),
        ("es", "mañana a las 9 de la noche", (2026, 6, 19, 21, 0, 0)),
        ("es", "Hoy 17:00", (2026, 6, 18, 17, 0, 0)),
        ("es", "1 de diciembre a las 18:30", (2026, 12, 1, 18, 30, 0)),
        ("es", "en 2 horas", (2026, 6, 18, 12, 0, 0)),
        ("es", "ahora", (2026, 6, 18, 10, 0, 0)),
        ("es", "tuesday 18:30", (2026, 6, 23, 18, 30, 0)),
        ("sw", "jumanne 18:30", (2026, 6, 23, 18, 30, 0)),
        ("sw", "jumanne ijayo saa 18:30", (2026, 6, 23, 18, 30, 0)),
        ("sw", "jumanne saa kumi na mbili na nusu jioni", (2026, 6, 23, 18, 30, 0)),
        ("sw", "jumanne saa 12 jioni", (2026, 6, 23, 18, 0, 0)),
        ("sw", "kesho saa tatu asubuhi", (2026, 6, 19, 9, 0, 0)),
        ("sw", "kesho saa sita usiku", (2026, 6, 19, 0, 0, 0)),
        ("sw", "leo saa mbili usiku", (2026, 6, 18, 20, 0, 0)),
        ("sw", "1 desemba 18:30", (2026, 12, 1, 18, 30, 0)),
        ("en", "1 december 6pm", (2026, 12, 1, 18, 0, 0)),
        ("en", "december 1st 2027 at 9am", (2027, 12, 1, 9, 0, 0)),
    ],
)
def test_times_in_the_members_language(lang: str, text: str, expected: tuple[int, ...]) -> None:
    result = parse_when(text, now=THURSDAY, tz=LONDON, lang=lang)
    assert result.tzinfo is LONDON
    assert wall(result) == expected


def test_a_weekday_means_the_same_moment_in_every_language() -> None:
    """On a Tuesday morning "martes 18:30" is tonight, as "tue 18:30" always was."""
    for text, lang in (("tue 18:30", "en"), ("martes 18:30", "es"), ("jumanne 18:30", "sw")):
        assert wall(parse_when(text, now=NOW, tz=LONDON, lang=lang)) == (2026, 6, 16, 18, 30, 0)


@pytest.mark.parametrize(
    ("lang", "text", "says"),
    [
        ("es", "martes 25:00", "25:00"),
        ("es", "mañana algo", 'could not read "mañana algo"'),
        ("es", "pronto", "could not read"),
        ("sw", "jumanne saa 13 jioni", "could not read"),
        ("sw", "kesho 🎉", "plain letters"),
        ("en", "martes 18:30", "could not read"),
        ("es", "1/12/2026", "could not read"),
    ],
)
def test_times_in_the_members_language_refused(lang: str, text: str, says: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_when(text, now=THURSDAY, tz=LONDON, lang=lang)
    assert says in str(caught.value)


def test_a_refusal_reads_in_the_members_language() -> None:
    with pytest.raises(UserInputError) as caught:
        parse_when("martes pronto", now=THURSDAY, tz=LONDON, lang="es")
    assert caught.value.text(words("es")) == 'No entendí "martes pronto" como una hora.'
    assert caught.value.text(words("sw")) == 'Sikuelewa "martes pronto" kama wakati.'
