from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrule, rrulestr
from hypothesis import given
from hypothesis import strategies as st

from bot import recurrence
from bot.errors import UserInputError
from bot.events.calendars import Changes, ImportReport
from bot.i18n import words
from bot.recurrence import Recurrence, describe, parse_recurrence
from bot.when import localize

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = st.sampled_from([LONDON, NEW_YORK, KOLKATA, ZoneInfo("Australia/Lord_Howe")])


def rule(text: str, tz: ZoneInfo = LONDON) -> str:
    return parse_recurrence(text, tz=tz).rrule


def walls(instants: list[datetime]) -> list[tuple[int, int, int, int, int]]:
    return [(t.year, t.month, t.day, t.hour, t.minute) for t in instants]


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", "FREQ=DAILY"),
        ("daily 9am", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"),
        ("every day at noon", "FREQ=DAILY;BYHOUR=12;BYMINUTE=0"),
        ("weekly", "FREQ=WEEKLY"),
        ("monday 09:30", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=30"),
        ("every monday 09:30", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=30"),
        ("Every Monday at 9:30am", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=30"),
        ("mondays", "FREQ=WEEKLY;BYDAY=MO"),
        ("on tuesdays 6pm", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=18;BYMINUTE=0"),
        ("mon, wed and fri 8am", "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=8;BYMINUTE=0"),
        ("weekdays 9am", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0"),
        ("every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("every 2 weeks on thursday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
        (
            "every 2 weeks on thursday 18:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=18;BYMINUTE=0",
        ),
        ("every other week on mon and thu", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"),
        ("every 3 days", "FREQ=DAILY;INTERVAL=3"),
        ("monthly", "FREQ=MONTHLY"),
        ("monthly on the last tuesday", "FREQ=MONTHLY;BYDAY=-1TU"),
        ("monthly on the second tuesday", "FREQ=MONTHLY;BYDAY=2TU"),
        ("monthly on the first monday 18:30", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=18;BYMINUTE=30"),
        ("every month on the 2nd wednesday", "FREQ=MONTHLY;BYDAY=2WE"),
        ("monthly on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("monthly on the 1st at 10:00", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0"),
        ("monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("yearly", "FREQ=YEARLY"),
        ("annually", "FREQ=YEARLY"),
        ("every year", "FREQ=YEARLY"),
    ],
)
def test_parse_recurrence_in_words(text: str, expected: str) -> None:
    parsed = parse_recurrence(text, tz=LONDON)
    assert parsed == Recurrence(expected, "Europe/London")


def test_default_time_applies_only_without_a_time() -> None:
    assert parse_recurrence("weekly", tz=LONDON, default_time=time(10, 15)).rrule == (
        "FREQ=WEEKLY;BYHOUR=10;BYMINUTE=15"
    )
    assert parse_recurrence("daily 8am", tz=LONDON, default_time=time(10, 15)).rrule == (
        "FREQ=DAILY;BYHOUR=8;BYMINUTE=0"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=30", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=30"),
        ("RRULE:FREQ=MONTHLY;BYDAY=-1TU;COUNT=5", "FREQ=MONTHLY;BYDAY=-1TU;COUNT=5"),
        ("rrule:freq=daily;until=20261231T000000Z", "FREQ=DAILY;UNTIL=20261231T000000Z"),
        ("FREQ=DAILY;", "FREQ=DAILY"),
        ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
    ],
)
def test_parse_raw_rrule(text: str, expected: str) -> None:
    assert rule(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hourly", "at most daily"),
        ("every 30 minutes", "at most daily"),
        ("every hour", "at most daily"),
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=MINUTELY;INTERVAL=5", "at most daily"),
        ("FREQ=DAILY;BYHOUR=9,17", "at most daily"),
        ("FREQ=DAILY;BYMINUTE=0,30", "at most daily"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=100000", "COUNT"),
        ("FREQ=DAILY;COUNT=-1", "COUNT"),
        ("FREQ=DAILY;UNTIL=99991231", "UNTIL"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261231", "not both"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=YEARLY;INTERVAL=1000", "INTERVAL"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid RRULE"),
        ("FREQ=FORTNIGHTLY", "FREQ set to DAILY, WEEKLY"),
        ("BYDAY=MO", "FREQ set to DAILY, WEEKLY"),
        ("FREQ=DAILY;FOO=1", '"FOO=1"'),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ=WEEKLY"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never happens"),
        ("FREQ=MONTHLY;BYDAY=-1MO;BYMONTHDAY=1", "never happens"),
        ("FREQ=DAILY;BYSETPOS=2", "never happens"),
        ("sometimes", '"sometimes"'),
        ("every blue moon", "every blue moon"),
        ("", "Please give"),
        ("x" * 10_000, "too long"),
        ("every 🌕", "plain letters"),
        ("كل يوم", "plain letters"),
        ("daily on monday", "on monday"),
        ("monthly on funday", "on funday"),
        ("monthly on the 31st", "day up to 28"),
        ("every 0 weeks", "1 to 100"),
        ("every 500 days", "1 to 100"),
        ("daily 25:00", "25:00"),
        ("9am", '"9am"'),
    ],
)
def test_parse_recurrence_refusals(text: str, says: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_recurrence(text, tz=LONDON)
    assert says in str(caught.value)
    assert caught.value.usage is not None and "every monday 09:30" in caught.value.usage


def test_impossible_raw_rules_are_refused_after_a_bounded_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """dateutil looks for an impossible rule's first occurrence until the year 9999: the
    probe must start at most 40 repetitions before then (counted, not timed)."""
    starts: list[datetime] = []
    probe = recurrence._dateutil_rule

    def recorded(parts: dict[str, str], dtstart: datetime) -> rrule:
        starts.append(dtstart)
        return probe(parts, dtstart)

    monkeypatch.setattr(recurrence, "_dateutil_rule", recorded)
    impossible = {"FREQ=DAILY;BYSETPOS=2": 1, "FREQ=DAILY;INTERVAL=100;BYSETPOS=3": 100}
    for text, interval in impossible.items():
        with pytest.raises(UserInputError, match="never happens"):
            parse_recurrence(text, tz=LONDON)
        assert datetime.max.year - starts[-1].year <= 40 * interval


_PIECES = st.sampled_from(
    ["every", "daily", "weekly", "monthly", "on", "the", "last", "first", "tue", "mondays",
     "weekdays", "2", "other", "weeks", "15th", "31st", "9am", "25:00", "at", "freq=daily",
     "rrule:", ";count=", "byday=mo", "0", "and", ","]
)  # fmt: skip


@given(st.one_of(st.text(max_size=250), st.lists(_PIECES, max_size=7).map(" ".join)))
def test_parse_recurrence_raises_only_user_input_errors(text: str) -> None:
    try:
        parsed = parse_recurrence(text, tz=LONDON)
    except UserInputError as error:
        assert str(error)
    else:
        assert parsed.rrule.startswith("FREQ=")
        assert describe(parsed).endswith("(Europe/London)")


# --- describe ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every monday 09:30", "every Monday at 09:30 (Europe/London)"),
        ("daily", "every day (Europe/London)"),
        ("every 3 days 7am", "every 3 days at 07:00 (Europe/London)"),
        ("weekdays 9am", "every weekday at 09:00 (Europe/London)"),
        ("mon, wed, fri", "every Monday, Wednesday and Friday (Europe/London)"),
        ("every 2 weeks on thursday 18:00", "every 2 weeks on Thursday at 18:00 (Europe/London)"),
        ("monthly on the last tuesday", "every month on the last Tuesday (Europe/London)"),
        (
            "monthly on the first monday 18:30",
            "every month on the first Monday at 18:30 (Europe/London)",
        ),
        ("monthly on the 15th", "every month on the 15th (Europe/London)"),
        ("monthly on the 22nd", "every month on the 22nd (Europe/London)"),
        ("monthly on the 11th", "every month on the 11th (Europe/London)"),
        ("monthly on the last day", "every month on the last day (Europe/London)"),
        ("yearly", "every year (Europe/London)"),
        ("FREQ=MONTHLY;BYDAY=-1TU;COUNT=5", "every month on the last Tuesday, 5 times"),
        ("FREQ=DAILY;UNTIL=20261231T000000Z", "every day, until 2026-12-31"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "on the rule FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
    ],
)
def test_describe(text: str, expected: str) -> None:
    assert describe(parse_recurrence(text, tz=LONDON)).startswith(expected)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("every 2 weeks on thursday 18:00", "es", "cada 2 semanas, los jueves a las 18:00"),
        ("mon, wed, fri", "es", "cada lunes, miércoles y viernes"),
        ("monthly on the last tuesday", "sw", "kila mwezi, Jumanne ya mwisho"),
        ("monthly on the 15th", "es", "cada mes, el día 15"),
        ("FREQ=DAILY;COUNT=3", "sw", "kila siku, mara 3"),
    ],
)
def test_a_rule_is_described_in_the_readers_language(text: str, lang: str, expected: str) -> None:
    assert describe(parse_recurrence(text, tz=LONDON), words(lang)).startswith(expected)


def test_an_import_report_reads_in_the_readers_language() -> None:
    report = ImportReport(created=1, series=[Changes("Choir", new=True, added=12)])
    assert report.text(words("es")).splitlines() == [
        "Importé el calendario. Nuevos: 1. Actualizados: 0.",
        "En el próximo año:",
        "- “Choir”: nuevo, 12 fechas",
    ]
    assert report.text().splitlines()[-1] == "- “Choir”: new, 12 occurrences"


def test_describe_names_the_zone() -> None:
    assert describe(parse_recurrence("daily 9am", tz=KOLKATA)) == (
        "every day at 09:00 (Asia/Kolkata)"
    )


def test_describe_survives_a_damaged_rule() -> None:
    assert describe(Recurrence("FREQ=WEEKLY;BYHOUR=x", "UTC")) == (
        "on the rule FREQ=WEEKLY;BYHOUR=x (UTC)"
    )


# --- occurrences ------------------------------------------------------------------------


MONDAYS = parse_recurrence("every monday 09:30", tz=LONDON)
MONDAY_START = datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)


def test_next_after_keeps_local_time_across_spring_forward() -> None:
    after = datetime(2026, 3, 23, 10, 0, tzinfo=LONDON)
    result = MONDAYS.next_after(after, dtstart=MONDAY_START)
    assert result is not None
    assert walls([result]) == [(2026, 3, 30, 9, 30)]
    assert result.astimezone(UTC) == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)


def test_next_after_keeps_local_time_across_fall_back() -> None:
    after = datetime(2026, 10, 19, 10, 0, tzinfo=LONDON)
    result = MONDAYS.next_after(after, dtstart=MONDAY_START)
    assert result is not None
    assert result.astimezone(UTC) == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)


def test_next_after_is_strictly_after() -> None:
    at_occurrence = datetime(2026, 3, 9, 9, 30, tzinfo=LONDON)
    result = MONDAYS.next_after(at_occurrence, dtstart=MONDAY_START)
    assert result is not None and walls([result]) == [(2026, 3, 16, 9, 30)]


def test_next_after_before_dtstart_is_the_first_occurrence() -> None:
    result = MONDAYS.next_after(datetime(2020, 1, 1, tzinfo=UTC), dtstart=MONDAY_START)
    assert result == MONDAY_START


def test_next_after_new_york_spring_forward() -> None:
    weekly = parse_recurrence("sundays 2:30am", tz=NEW_YORK)
    start = datetime(2026, 3, 1, 2, 30, tzinfo=NEW_YORK)
    found = weekly.occurrences_between(start, datetime(2026, 3, 16, tzinfo=NEW_YORK), dtstart=start)
    assert walls(found) == [(2026, 3, 1, 2, 30), (2026, 3, 8, 3, 30), (2026, 3, 15, 2, 30)]


def test_next_after_new_york_fall_back_is_the_first_pass() -> None:
    daily = parse_recurrence("daily 1:30am", tz=NEW_YORK)
    start = datetime(2026, 10, 1, tzinfo=NEW_YORK)
    result = daily.next_after(datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), dtstart=start)
    assert result is not None
    assert result.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_skipped_hour_in_london_is_moved_forward_once() -> None:
    daily = parse_recurrence("daily 01:30", tz=LONDON)
    start = datetime(2026, 1, 1, tzinfo=LONDON)
    found = daily.occurrences_between(
        datetime(2026, 3, 28, tzinfo=LONDON), datetime(2026, 3, 31, tzinfo=LONDON), dtstart=start
    )
    assert walls(found) == [(2026, 3, 28, 1, 30), (2026, 3, 29, 2, 30), (2026, 3, 30, 1, 30)]


def test_kolkata_occurrences_are_fixed_utc_times() -> None:
    daily = parse_recurrence("daily 9am", tz=KOLKATA)
    start = datetime(2026, 3, 27, tzinfo=KOLKATA)
    found = daily.occurrences_between(start, start + timedelta(days=5), dtstart=start)
    assert {t.astimezone(UTC).time() for t in found} == {time(3, 30)}
    assert len(found) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "monthly on the last tuesday 19:00",
            [(2026, 1, 27, 19, 0), (2026, 2, 24, 19, 0), (2026, 3, 31, 19, 0)],
        ),
        (
            "monthly on the first monday 18:30",
            [(2026, 1, 5, 18, 30), (2026, 2, 2, 18, 30), (2026, 3, 2, 18, 30)],
        ),
        ("monthly on the 15th 12:00", [(2026, 1, 15, 12, 0), (2026, 2, 15, 12, 0)]),
        ("monthly on the last day 12:00", [(2026, 1, 31, 12, 0), (2026, 2, 28, 12, 0)]),
        (
            "weekdays 9am",
            [(2026, 1, 1, 9, 0), (2026, 1, 2, 9, 0), (2026, 1, 5, 9, 0), (2026, 1, 6, 9, 0)],
        ),
        (
            "every 2 weeks on thursday 18:00",
            [(2026, 1, 1, 18, 0), (2026, 1, 15, 18, 0), (2026, 1, 29, 18, 0)],
        ),
        ("yearly 10:00", [(2026, 1, 1, 10, 0), (2027, 1, 1, 10, 0)]),
    ],
)
def test_occurrences_of_each_form(text: str, expected: list[tuple[int, ...]]) -> None:
    start = datetime(2026, 1, 1, tzinfo=NEW_YORK)
    found = parse_recurrence(text, tz=NEW_YORK).occurrences_between(
        start, datetime(2028, 1, 1, tzinfo=NEW_YORK), dtstart=start, limit=len(expected)
    )
    assert walls(found) == expected


def test_rule_without_a_time_takes_dtstart_time_and_day() -> None:
    start = datetime(2026, 1, 7, 14, 45, 33, tzinfo=LONDON)
    found = parse_recurrence("weekly", tz=LONDON).occurrences_between(
        start - timedelta(days=1), datetime(2026, 1, 22, tzinfo=LONDON), dtstart=start
    )
    assert walls(found) == [(2026, 1, 7, 14, 45), (2026, 1, 14, 14, 45), (2026, 1, 21, 14, 45)]


def test_occurrences_between_is_half_open_and_limited() -> None:
    daily = parse_recurrence("daily 9am", tz=LONDON)
    start = datetime(2026, 1, 1, 9, 0, tzinfo=LONDON)
    end = datetime(2026, 1, 4, 9, 0, tzinfo=LONDON)
    assert walls(daily.occurrences_between(start, end, dtstart=start)) == [
        (2026, 1, 1, 9, 0),
        (2026, 1, 2, 9, 0),
        (2026, 1, 3, 9, 0),
    ]
    assert len(daily.occurrences_between(start, end + timedelta(days=400), dtstart=start)) == 100
    assert len(daily.occurrences_between(start, end, dtstart=start, limit=2)) == 2


def test_count_ends_the_rule() -> None:
    limited = parse_recurrence("FREQ=WEEKLY;COUNT=3", tz=LONDON)
    start = datetime(2026, 1, 5, 12, 0, tzinfo=LONDON)
    found = limited.occurrences_between(start, datetime(2027, 1, 1, tzinfo=LONDON), dtstart=start)
    assert walls(found) == [(2026, 1, 5, 12, 0), (2026, 1, 12, 12, 0), (2026, 1, 19, 12, 0)]
    assert limited.next_after(found[-1], dtstart=start) is None


@pytest.mark.parametrize(
    ("until", "last_day"),
    [
        ("20260110", 10),
        ("20260110T090000", 10),
        ("20260110T085959", 9),
        ("20260110T033000Z", 10),
        ("20260110T032959Z", 9),
    ],
)
def test_until_is_inclusive_and_read_in_the_rules_zone(until: str, last_day: int) -> None:
    limited = parse_recurrence(f"FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL={until}", tz=KOLKATA)
    start = datetime(2026, 1, 5, tzinfo=KOLKATA)
    found = limited.occurrences_between(start, datetime(2027, 1, 1, tzinfo=KOLKATA), dtstart=start)
    assert walls(found)[-1] == (2026, 1, last_day, 9, 0)
    assert len(found) == last_day - 4


def test_next_after_accepts_any_zone_for_its_arguments() -> None:
    after = datetime(2026, 3, 23, 10, 0, tzinfo=LONDON).astimezone(NEW_YORK)
    start = MONDAY_START.astimezone(KOLKATA)
    result = MONDAYS.next_after(after, dtstart=start)
    assert result is not None and result.tzinfo == LONDON
    assert walls([result]) == [(2026, 3, 30, 9, 30)]


_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_AWARE = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=ZONES
)


@given(
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=4 * 60, max_value=24 * 60 - 1),
    ZONES,
    _AWARE,
    _AWARE,
)
def test_next_after_is_strictly_after_and_the_next_occurrence(
    day: int, minute: int, tz: ZoneInfo, dtstart: datetime, after: datetime
) -> None:
    at = time(minute // 60, minute % 60)
    rec = parse_recurrence(f"every {_DAYS[day]} {at:%H:%M}", tz=tz)
    result = rec.next_after(after, dtstart=dtstart)
    assert result is not None
    assert result.astimezone(UTC) > after.astimezone(UTC)
    assert (result.weekday(), result.hour, result.minute) == (day, at.hour, at.minute)
    local_start = dtstart.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    previous = result.replace(tzinfo=None) - timedelta(weeks=1)
    assert previous < local_start or localize(previous, tz) <= after


@given(st.sampled_from(["monthly on the last tuesday 19:00", "every 2 weeks on thursday",
                        "weekdays 9am", "monthly on the 15th 12:00", "daily 01:30"]),
       ZONES, _AWARE, _AWARE)  # fmt: skip
def test_next_after_agrees_with_dateutil(
    text: str, tz: ZoneInfo, dtstart: datetime, after: datetime
) -> None:
    rec = parse_recurrence(text, tz=tz)
    result = rec.next_after(after, dtstart=dtstart)
    assert result is not None and result.astimezone(UTC) > after.astimezone(UTC)
    local_start = dtstart.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    expected = (
        localize(wall, tz)
        for wall in rrulestr(rec.rrule, dtstart=local_start)
        if localize(wall, tz).astimezone(UTC) > after.astimezone(UTC)
    )
    assert result.astimezone(UTC) == next(expected).astimezone(UTC)


def test_a_series_begun_on_another_day_first_happens_on_its_day() -> None:
    # Sunday 1 March 2026 at noon: "every 2 weeks on thursday 18:00" first comes on the 5th
    typed = datetime(2026, 3, 1, 12, 0, tzinfo=LONDON)
    rule = parse_recurrence("every 2 weeks on thursday 18:00", tz=LONDON)
    first = rule.first_from(typed)
    assert first == datetime(2026, 3, 5, 18, 0, tzinfo=LONDON)
    assert rule.next_ones(typed, dtstart=first, count=3) == [
        datetime(2026, 3, 5, 18, 0, tzinfo=LONDON),
        datetime(2026, 3, 19, 18, 0, tzinfo=LONDON),
        datetime(2026, 4, 2, 18, 0, tzinfo=LONDON),
    ]
    monthly = parse_recurrence("every 2 months on the 15th 10:00", tz=LONDON)
    assert monthly.first_from(datetime(2026, 3, 20, tzinfo=LONDON)) == datetime(
        2026, 4, 15, 10, 0, tzinfo=LONDON
    )


def test_whether_a_rule_names_its_time_of_day() -> None:
    assert not parse_recurrence("weekly", tz=LONDON).has_time
    assert not parse_recurrence("FREQ=MONTHLY;BYDAY=1MO", tz=LONDON).has_time
    assert parse_recurrence("weekly 9am", tz=LONDON).has_time
