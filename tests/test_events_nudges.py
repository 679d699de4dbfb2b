"""Reminders, follow-ups and nudges on the fake clock: local times, quiet hours, pause,
restarts, cancellation and the dead-letter list, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from adapters.codec import decode_action
from adapters.contract import Capability, SendMessage, plain_text
from adapters.fake import ALL_CAPABILITIES
from bot.errors import PlatformError
from bot.events.models import Event
from bot.events.plan import reminder_due
from bot.models import Identity, OutboxRow, OutboxState, Timer, TimerState
from bot.testing import Harness
from tests.test_checkins import answer_by_button


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def sent(h: Harness, prefix: str) -> dict[str, tuple[datetime, str]]:
    """Sent outbox rows whose key starts with `prefix`: recipient's user id -> (when, text)."""
    async with h.bot.db.reader() as s:
        rows = (
            await s.exec(
                select(OutboxRow, Identity)
                .join(Identity, col(Identity.member_id) == col(OutboxRow.recipient_member_id))
                .where(col(OutboxRow.key).startswith(prefix), OutboxRow.state == "sent")
            )
        ).all()
    found = {}
    for row, ident in rows:
        action = decode_action(row.action)
        assert isinstance(action, SendMessage) and row.sent_at is not None
        found[ident.external_id] = (row.sent_at, plain_text(action.text))
    return found


async def join(h: Harness, user: str, tz: str | None = None) -> None:
    await h.say(user, f"me tz {tz}" if tz else "help")


async def test_monthly_reminders_land_at_local_times_across_dst(harness: Harness) -> None:
    h = harness
    await join(h, "lon", "Europe/London")
    await join(h, "nyc", "America/New_York")
    await join(h, "kol", "Asia/Kolkata")
    [reply] = await h.say(
        "ada",
        'event add "Meetup" 2026-03-10 18:00 --every "monthly on the 2nd tuesday" '
        "--remind 1w,1d,1h --link https://meet.example/x",
    )
    assert "Event 1 added" in reply and "every month on the second Tuesday" in reply
    # London's 18:00 is 18:00 UTC in March (GMT) and 17:00 UTC in April (BST); New York
    # changed clocks on 8 March, between the first reminder and the meeting.
    expected = {
        "20260310T180000Z": {
            "r604800": utc(2026, 3, 3, 18),
            "r86400": utc(2026, 3, 9, 18),
            "r3600": utc(2026, 3, 10, 17),
        },
        "20260414T170000Z": {
            "r604800": utc(2026, 4, 7, 17),
            "r86400": utc(2026, 4, 13, 17),
            "r3600": utc(2026, 4, 14, 16),
        },
    }
    local = {
        "20260310T180000Z": {
            "lon": "Tue 10 Mar 2026, 18:00 Europe/London",
            "nyc": "Tue 10 Mar 2026, 14:00 America/New_York",
            "kol": "Tue 10 Mar 2026, 23:30 Asia/Kolkata",
        },
        "20260414T170000Z": {
            "lon": "Tue 14 Apr 2026, 18:00 Europe/London",
            "nyc": "Tue 14 Apr 2026, 13:00 America/New_York",
            "kol": "Tue 14 Apr 2026, 22:30 Asia/Kolkata",
        },
    }
    # Each occurrence is checked soon after it: the daily sweep drops delivered rows after
    # 30 days.
    for occurrence, reminders in expected.items():
        await h.advance(max(reminders.values()) + timedelta(hours=1) - h.clock.now())
        for which, due in reminders.items():
            got = await sent(h, f"event:1:{occurrence}:{which}:")
            assert set(got) == {"ada", "lon", "nyc", "kol"}, (occurrence, which)
            for user, (at, text) in got.items():
                assert at == due, (occurrence, which, user)
                assert local[occurrence].get(user, "Europe/London") in text
                assert "https://meet.example/x" in text and "/events/" in text
    assert "starts in 1 week" in h.adapter.direct_texts("kol")[1]


def test_a_week_before_is_the_same_wall_clock_time_across_a_change() -> None:
    event = Event(
        community_id=1,
        uid="u",
        token="t",
        title="x",
        starts_at=utc(2026, 3, 31, 17),
        timezone="Europe/London",
        created_at=utc(2026, 1, 1),
    )
    assert reminder_due(event, utc(2026, 3, 31, 17), 604800) == utc(2026, 3, 24, 18)
    assert reminder_due(event, utc(2026, 10, 27, 18), 604800) == utc(2026, 10, 20, 17)
    assert reminder_due(event, utc(2026, 3, 29, 12), 86400 + 3600) == utc(2026, 3, 28, 12)


async def test_quiet_hours_delay_and_pause_suppresses(harness: Harness) -> None:
    h = harness
    await join(h, "kol", "Asia/Kolkata")
    await h.say("kol", "me quiet 17:00-21:00")
    await join(h, "sleepy")
    await h.say("sleepy", "me pause")
    await join(h, "lon", "Europe/London")
    [reply] = await h.say("ada", 'nudge "Share your notes" --at 2026-03-02 12:00')
    assert "Nudge 1 goes to all members" in reply
    await h.advance(timedelta(hours=12))
    got = await sent(h, "nudge:1:")
    assert got["lon"][0] == utc(2026, 3, 2, 12)
    assert got["kol"][0] == utc(2026, 3, 2, 15, 30)  # 21:00 in Kolkata, when quiet hours end
    assert "sleepy" not in got
    async with h.bot.db.reader() as s:
        skipped = (await s.exec(select(OutboxRow).where(OutboxRow.state == "skipped"))).all()
    assert [r.last_error for r in skipped] == ["recipient paused"]


async def test_a_nudge_to_a_role_and_non_responders_explained(harness: Harness) -> None:
    h = harness
    await join(h, "bob")
    await join(h, "cat")
    await h.say("ada", "role catalyst cat")
    await h.say("ada", 'nudge "Prep the breakouts" --at in 1h --to catalysts')
    await h.advance(timedelta(hours=2))
    assert set(await sent(h, "nudge:1:")) == {"ada", "cat"}
    [reply] = await h.say("ada", 'nudge "Answer please" --at in 1h --to non-responders')
    assert "no check-in round" in reply
    [reply] = await h.say("ada", 'nudge "x" --at in 1h --to wizards')
    assert "not a group I can nudge" in reply
    [reply] = await h.say("bob", 'nudge "x" --at in 1h')
    assert "needs the organiser role" in reply


@pytest.mark.parametrize("anonymous", [False, True])
async def test_non_responders_are_those_without_an_answer_when_it_is_sent(
    harness: Harness, anonymous: bool
) -> None:
    h = harness
    for user in ("bob", "cat", "dan"):
        await join(h, user)
    flag = " --anonymous" if anonymous else ""
    prompt = "How is the week?"
    await h.say("ada", f'checkin open "{prompt}"{flag}')
    await answer_by_button(h, "bob", "busy but good", prompt)
    [reply] = await h.say("ada", 'nudge "Still time to check in" --at in 1h --to non-responders')
    assert "not answered check-in 1" in reply
    await answer_by_button(h, "cat", "pass", prompt)
    await h.advance(timedelta(hours=2))
    assert set(await sent(h, "nudge:1:")) == {"ada", "dan"}


async def test_non_responders_of_a_closed_anonymous_round_cannot_be_told(
    harness: Harness,
) -> None:
    h = harness
    await h.say("ada", 'checkin open "Honestly?" --anonymous')
    await h.say("ada", "checkin close")
    [reply] = await h.say("ada", 'nudge "x" --at in 1h --to non-responders')
    assert "anonymous and has closed" in reply


async def test_restart_fires_once_and_downtime_policy(database_url: str) -> None:
    start = utc(2026, 3, 2, 9)
    async with Harness.open(database_url, start=start) as h:
        await join(h, "bob")
        await h.say("ada", 'event add "Soon" 2026-03-03 12:00 --remind 1d,1h')
        await h.say("ada", 'nudge "Late one" --at 2026-03-02 15:00')
        await h.advance(timedelta(hours=2))
        assert not any("Reminder" in t for t in h.adapter.direct_texts("bob"))
    # down from 11:00 to 12:30: the 12:00 reminder is 30 minutes late (within the grace),
    # the nudge is not due yet
    async with Harness.open(database_url, start=utc(2026, 3, 2, 12, 30)) as h:
        assert ["Reminder" in t for t in h.adapter.direct_texts("bob")] == [True]
    async with Harness.open(database_url, start=utc(2026, 3, 2, 12, 40)) as h:
        assert h.adapter.direct_texts("bob") == []  # nothing fires twice
    # down again past the nudge (15:00) by more than the hour of grace: skipped, logged
    async with Harness.open(database_url, start=utc(2026, 3, 2, 16, 30)) as h:
        assert h.adapter.direct_texts("bob") == []
        await h.advance(timedelta(hours=20))
        assert ["starts in 1 hour" in t for t in h.adapter.direct_texts("bob")] == [True]


async def test_a_weekly_event_for_ten_years_costs_a_few_timers(harness: Harness) -> None:
    h = harness
    await h.say(
        "ada",
        'event add "Weekly" tue 18:00 --every "weekly" --remind 1d,1h --followup 1d "Takeaways?"',
    )
    await h.advance(timedelta(days=15))
    async with h.bot.db.reader() as s:
        pending = (await s.exec(select(Timer).where(Timer.state == "pending"))).all()
        done = (await s.exec(select(Timer).where(Timer.state == "done"))).all()
    assert len(pending) <= 3
    assert len(done) >= 2 * 4  # two weeks of plan, 2 reminders and a follow-up
    followups = [t for t in h.adapter.direct_texts("ada") if "Takeaways?" in t]
    assert len(followups) == 2 and followups[0].startswith("After “Weekly”")


async def test_event_cancel_withdraws_pending_nudges(harness: Harness) -> None:
    h = harness
    await join(h, "kol", "Asia/Kolkata")
    await h.say("kol", "me quiet 20:00-08:00")
    await h.say("ada", 'event add "Talk" 2026-03-05 18:00 --remind 2d --tz Europe/London')
    await h.advance(timedelta(days=1, hours=10))  # 3 March 19:00 UTC: kol's reminder waits
    [reply] = await h.say("ada", "event cancel 1")
    assert reply == "“Talk” is cancelled. 1 waiting message was taken back."
    await h.advance(timedelta(days=3))
    assert h.adapter.direct_texts("kol")[-1].startswith("Quiet hours set")
    async with h.bot.db.reader() as s:
        pending = (await s.exec(select(Timer).where(Timer.state == TimerState.PENDING))).all()
    assert pending == []
    [reply] = await h.say("ada", "event list")
    assert "No events coming up" in reply


async def test_cancelling_one_occurrence_is_an_exdate(harness: Harness) -> None:
    h = harness
    await h.say("ada", 'event add "Daily" 2026-03-03 10:00 --every daily --remind 1h')
    [reply] = await h.say("ada", "event cancel 1 2026-03-04")
    assert "“Daily” on Wed 4 Mar 2026, 10:00 Europe/London is cancelled" in reply
    await h.advance(timedelta(days=3))
    days = [t for t in h.adapter.direct_texts("ada") if t.startswith("Reminder")]
    assert len(days) == 2 and "4 Mar" not in " ".join(days)
    async with h.bot.db.reader() as s:
        [event] = (await s.exec(select(Event))).all()
    assert event.exdates == ["20260304T100000Z"]


async def test_event_add_bad_input(harness: Harness) -> None:
    h = harness
    cases = {
        'event add "X" tomorrow 10:00 --tz Mars/Base': 'the time zone "Mars/Base"',
        'event add "X" 2020-01-01 10:00': "in the past",
        'event add "X"': "Give a title in quotes and a start time",
        'event add "X" tomorrow --every hourly': "at most daily",
        'event add "X" tomorrow --link ftp://x': "web address (http or https)",
        'event add "X" tomorrow --followup 1d': "needs a value, then a text in quotes",
        "event cancel 99": "no event 99",
    }
    for command, expected in cases.items():
        [reply] = await h.say("ada", command)
        assert expected in reply, (command, reply)
    await join(h, "bob")
    [reply] = await h.say("bob", 'event add "X" tomorrow')
    assert "needs the organiser role" in reply


async def test_event_list_shows_times_in_the_callers_zone(harness: Harness) -> None:
    h = harness
    await h.say("ada", 'event add "Late" 2026-03-10 18:00 --remind 1d --followup 1d "How was it?"')
    await h.say("ada", "me tz Asia/Kolkata")
    [reply] = await h.say("ada", "event list")
    assert "“Late”: next on Tue 10 Mar 2026, 23:30 Asia/Kolkata" in reply
    assert "reminders go out 1 day before" in reply and "a follow-up 1 day after it" in reply


async def test_rate_limits_retries_and_the_dead_letter_list(database_url: str) -> None:
    async with Harness.open(database_url, config={"delivery": {"max_attempts": 3}}) as h:
        await join(h, "bob")
        await h.say("ada", 'nudge "One" --at in 1m --to organisers')
        h.adapter.fail_next(PlatformError("429 slow down", retry_after=30))
        await h.advance(timedelta(minutes=1))
        async with h.bot.db.reader() as s:
            [row] = (await s.exec(select(OutboxRow).where(OutboxRow.key == "nudge:1:m2"))).all()
        assert (row.state, row.attempts) == ("pending", 0)
        assert row.next_attempt_at == h.clock.now() + timedelta(seconds=30)
        await h.advance(timedelta(seconds=30))
        assert h.adapter.direct_texts("ada")[-1] == "One"

        await h.say("ada", 'nudge "Two" --at in 1m --to organisers')
        h.adapter.fail_next(*[PlatformError("502 bad gateway")] * 3)
        await h.advance(timedelta(hours=1))
        async with h.bot.db.reader() as s:
            [row] = (await s.exec(select(OutboxRow).where(OutboxRow.key == "nudge:2:m2"))).all()
        assert (row.state, row.attempts) == (OutboxState.DEAD, 3)
        [failures] = await h.say("ada", "nudge failures")
        assert f"{row.id}. fake, 3 tries: “Two” — 502 bad gateway" in failures
        replies = await h.say("ada", f"nudge retry {row.id}")
        assert sorted(replies) == [f"Message {row.id} will be sent again.", "Two"]
        [none] = await h.say("ada", "nudge failures")
        assert none == "No messages failed to send."


async def test_members_without_direct_messages_are_skipped_with_a_log(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    no_dms = [c for c in ALL_CAPABILITIES if c is not Capability.DIRECT_MESSAGES]
    async with Harness.open(database_url, capabilities=no_dms) as h:
        await join(h, "bob")
        await h.say("ada", 'nudge "Hello" --at in 1m')
        with caplog.at_level(logging.INFO, logger="bot.events.nudges"):
            await h.advance(timedelta(minutes=2))
        assert "nudge:1: 2 members have no platform with direct messages" in caplog.text
        async with h.bot.db.reader() as s:
            rows = await s.exec(select(OutboxRow).where(col(OutboxRow.key).startswith("nudge:")))
            assert rows.all() == []


async def test_a_followup_can_open_a_check_in_round_with_its_question(harness: Harness) -> None:
    h = harness
    await join(h, "bob")
    await h.say(
        "ada",
        'event add "Meetup" 2026-03-03 18:00 --followup 1d "What did you take away?" '
        "--followup-checkin",
    )
    await h.advance(timedelta(days=2, hours=12))
    posts = h.adapter.texts(h.place("main"))
    assert any("After “Meetup”: What did you take away?" in t for t in posts)
    assert any("What did you take away?" in t for t in h.adapter.direct_texts("bob"))
    await h.say("bob", "checkin the breakout on trust")
    await h.advance(timedelta(days=2))
    [summary] = [t for t in h.adapter.texts(h.place("main")) if "the breakout on trust" in t]
    assert "1 answer" in summary


async def test_followup_checkin_needs_a_followup(harness: Harness) -> None:
    [reply] = await harness.say("ada", 'event add "Meetup" tomorrow 18:00 --followup-checkin')
    assert "goes with `--followup`" in reply


@pytest.mark.parametrize("micro", [1, 123_456, 499_999, 500_000, 999_999])
async def test_a_relative_start_gets_its_reminder_and_followup(sqlite_url: str, micro: int) -> None:
    """ "in 4m" keeps the clock's microseconds; the reminder and follow-up still find their
    occurrence (one whole-second form of its time in the event, timers and lookups)."""
    start = datetime(2026, 3, 2, 9, 0, 17, micro, tzinfo=UTC)
    async with Harness.open(sqlite_url, start=start) as h:
        await h.say("ada", 'event add "Quick sync" in 4m --remind 2m --followup 1m "How was it?"')
        await h.advance(timedelta(minutes=6))
        texts = h.adapter.direct_texts("ada")
        assert [t.split(",")[0] for t in texts if t.startswith("Reminder")] == [
            "Reminder: “Quick sync” starts in 2 minutes"
        ]
        assert [t for t in texts if t.endswith("How was it?")] == [
            "After “Quick sync” (Mon 2 Mar 2026, 09:04 Europe/London): How was it?"
        ]


async def test_a_rule_on_another_day_first_happens_on_its_day(harness: Harness) -> None:
    # Sunday 1 March 2026, 12:00 London: "every 2 weeks on thursday" first comes on the 5th
    h = harness
    h.clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    [reply] = await h.say(
        "ada", 'event add "Hack night" today 18:00 --every "every 2 weeks on thursday 18:00"'
    )
    assert "next on Thu 5 Mar 2026, 18:00 Europe/London" in reply
    assert reply.endswith(
        "Next:\n- Thu 5 Mar 2026, 18:00 Europe/London\n- Thu 19 Mar 2026, 18:00 Europe/London"
        "\n- Thu 2 Apr 2026, 18:00 Europe/London"
    )


async def test_a_rule_without_a_time_says_which_it_took_and_both_zones(harness: Harness) -> None:
    h = harness
    await h.say("ada", "me tz America/New_York")
    [reply] = await h.say("ada", 'event add "Call" 2026-03-03 18:00 --every weekly')
    assert "“weekly” has no time of day, so it is at 18:00 (America/New_York)" in reply
    assert reply.endswith(
        "Next:\n"
        "- Tue 3 Mar 2026, 23:00 Europe/London (Tue 3 Mar, 18:00 your time, America/New_York)\n"
        "- Tue 10 Mar 2026, 22:00 Europe/London (Tue 10 Mar, 18:00 your time, America/New_York)\n"
        "- Tue 17 Mar 2026, 22:00 Europe/London (Tue 17 Mar, 18:00 your time, America/New_York)"
    )


async def test_one_occurrence_moved_and_retitled_is_reminded_where_it_went(
    harness: Harness,
) -> None:
    h = harness
    await h.say("ada", 'event add "Circle" 2026-03-03 18:00 --every "tuesdays 18:00" --remind 1h')
    [reply] = await h.say(
        "ada", 'event change 1 2026-03-10 --to "2026-03-11 19:30" --title "Circle (Wednesday)"'
    )
    assert reply.startswith(
        "Changed “Circle” on Tue 10 Mar 2026, 18:00 Europe/London. It is now “Circle "
        "(Wednesday)” on Wed 11 Mar 2026, 19:30 Europe/London (your time)"
    )
    [refused] = await h.say("ada", "event change 1 2026-03-12 --title x")
    assert "has no date ahead on 2026-03-12" in refused
    await h.advance(timedelta(days=16))
    reminders = [t for t in h.adapter.direct_texts("ada") if t.startswith("Reminder")]
    assert [r.split(" (your time)")[0] for r in reminders] == [
        "Reminder: “Circle” starts in 1 hour, on Tue 3 Mar 2026, 18:00 Europe/London",
        "Reminder: “Circle (Wednesday)” starts in 1 hour, on Wed 11 Mar 2026, 19:30 Europe/London",
        "Reminder: “Circle” starts in 1 hour, on Tue 17 Mar 2026, 18:00 Europe/London",
    ]
