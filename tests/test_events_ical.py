"""iCalendar import (file, feed, CLI) and the per-event .ics download."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.cli import main
from bot.db import Database
from bot.events import ical
from bot.events.models import Event
from bot.testing import Harness
from bot.web import WebServer, build_app

FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly-1@example.org
SUMMARY:{title}
DTSTART;TZID=America/New_York:20260303T{hour}0000
DURATION:PT1H
RRULE:FREQ=WEEKLY
EXDATE;TZID=America/New_York:20260310T{hour}0000
URL:https://meet.example/weekly
END:VEVENT
BEGIN:VEVENT
UID:once-1@example.org
SUMMARY:Launch
DTSTART:20260305T150000Z
DTEND:20260305T170000Z
END:VEVENT
END:VCALENDAR
"""


def feed(title: str = "Standup", hour: str = "12") -> str:
    return FEED.format(title=title, hour=hour).replace("\n", "\r\n")


LOOPBACK_FEEDS = {"events": {"allow_private_urls": True}}
"""The feed server of these tests listens on loopback, which imports refuse by default."""


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, config=LOOPBACK_FEEDS) as h:
        yield h


async def events(h: Harness) -> list[Event]:
    async with h.bot.db.reader() as s:
        return list((await s.exec(select(Event).order_by(Event.id))).all())


async def test_import_a_file_then_reimport_updates_by_uid(harness: Harness, tmp_path: Path) -> None:
    h = harness
    path = tmp_path / "feed.ics"
    path.write_text(feed())
    [reply] = await h.say("ada", f"event import {path} --remind 1h")
    assert reply.splitlines() == [
        "Imported the calendar: 2 new, 0 updated.",
        "In the coming year:",
        "- “Standup”: new, 52 occurrences",
        "- “Launch”: new, 1 occurrence",
    ]
    weekly, once = await events(h)
    assert (weekly.timezone, weekly.rrule) == ("America/New_York", "FREQ=WEEKLY")
    assert weekly.calendar is not None and "EXDATE;TZID=America/New_York" in weekly.calendar
    assert once.duration_seconds == 7200
    await h.advance(timedelta(days=16))
    reminders = [t for t in h.adapter.direct_texts("ada") if t.startswith("Reminder")]
    # 3 March 12:00 EST, (10 March cancelled), 17 March 12:00 EDT, and the launch
    assert [r.split(" starts")[0] for r in reminders] == [
        "Reminder: “Standup”",
        "Reminder: “Launch”",
        "Reminder: “Standup”",
    ]
    assert "Tue 17 Mar 2026, 16:00 Europe/London" in reminders[2]

    path.write_text(feed(title="Daily standup", hour="13"))
    [reply] = await h.say("ada", f"event import {path}")
    assert reply.splitlines()[0] == "Imported the calendar: 0 new, 2 updated."
    # every occurrence from 24 March on moved from 12:00 to 13:00 (New York)
    assert "- “Daily standup”: 52 moved" in reply
    assert "- “Launch”: no change" in reply
    weekly, _ = await events(h)
    assert weekly.title == "Daily standup" and weekly.remind == [3600]
    assert weekly.starts_at == datetime(2026, 3, 3, 18, tzinfo=UTC)
    await h.advance(timedelta(days=7))
    assert "Daily standup" in h.adapter.direct_texts("ada")[-1]
    assert "Tue 24 Mar 2026, 17:00 Europe/London" in h.adapter.direct_texts("ada")[-1]


async def test_bad_calendars_are_refused_with_a_reason(harness: Harness, tmp_path: Path) -> None:
    h = harness
    broken = tmp_path / "broken.ics"
    broken.write_text("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:nonsense\r\n")
    big = tmp_path / "big.ics"
    big.write_bytes(b"x" * (5 * 1024 * 1024 + 1))
    empty = tmp_path / "empty.ics"
    empty.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    cases = {
        f"event import {broken}": "not an iCalendar file I can read",
        f"event import {big}": "larger than 5 MB",
        f"event import {empty}": "has no events",
        f"event import {tmp_path / 'missing.ics'}": "I cannot read missing.ics",
        "event import /etc/passwd": "name ends in .ics",
        "event import file:///etc/passwd.ics": "starts with http",
    }
    for command, expected in cases.items():
        [reply] = await h.say("ada", command)
        assert expected in reply, (command, reply)
        assert "Usage: `!event import" in reply
    assert await events(h) == []


async def test_too_many_occurrences_are_capped_and_said(harness: Harness, tmp_path: Path) -> None:
    daily = "".join(
        f"BEGIN:VEVENT\r\nUID:d{i}\r\nSUMMARY:Daily {i}\r\nDTSTART:20260310T{i % 24:02d}0000Z"
        "\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"
        for i in range(30)
    )
    endless = "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Storm\r\nDTSTART:20260310T100000Z\r\n"
    endless += "RRULE:FREQ=DAILY;COUNT=10000\r\nEND:VEVENT\r\n"
    path = tmp_path / "many.ics"
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{daily}{endless}END:VCALENDAR\r\n")
    [reply] = await harness.say("ada", f"event import {path}")
    assert reply.startswith("Imported the calendar: 27 new, 0 updated.")
    assert "more than 10,000 occurrences in the coming year" in reply
    # in order of start: Storm (as long as the calendar says) comes after Daily 10
    assert "- “Storm”: new, 358 occurrences" in reply
    assert "left out the last 4 events" in reply
    assert len(await events(harness)) == 27


@dataclass
class SlowFeed:
    """`/slow.ics` says it was asked, then answers only once told to."""

    asked: asyncio.Event = field(default_factory=asyncio.Event)
    answer: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
def slow_feed() -> SlowFeed:
    return SlowFeed()


@pytest.fixture
async def feed_server(slow_feed: SlowFeed) -> AsyncIterator[str]:
    async def calendar(request: Request) -> Response:
        return Response(feed(), media_type="text/calendar")

    async def slow(request: Request) -> Response:
        slow_feed.asked.set()
        await slow_feed.answer.wait()
        return Response(feed(), media_type="text/calendar")

    async def huge(request: Request) -> Response:
        return Response(b"x" * (6 * 1024 * 1024), media_type="text/calendar")

    async def missing(request: Request) -> Response:
        return Response("gone", status_code=404)

    app = build_app(
        [
            Route("/cal.ics", calendar),
            Route("/slow.ics", slow),
            Route("/huge.ics", huge),
            Route("/missing.ics", missing),
        ]
    )
    server = WebServer(app, "127.0.0.1", 0)
    await server.start()
    yield f"http://127.0.0.1:{server.port}"
    await server.stop()


async def test_import_a_feed_by_url(harness: Harness, feed_server: str) -> None:
    [reply] = await harness.say("ada", f"event import {feed_server}/cal.ics")
    assert reply.startswith("Imported the calendar: 2 new, 0 updated.")
    [reply] = await harness.say("ada", f"event import {feed_server}/huge.ics")
    assert "larger than 5 MB" in reply
    [reply] = await harness.say("ada", f"event import {feed_server}/missing.ics")
    assert "sent back an error (HTTP 404)" in reply
    [reply] = await harness.say("ada", f"event import {feed_server}/cal.ics")
    assert reply.startswith("Imported the calendar: 0 new, 2 updated.")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_by_default_an_import_refuses_the_bots_own_network(
    database_url: str, feed_server: str, slow_feed: SlowFeed, host: str
) -> None:
    url = feed_server.replace("127.0.0.1", host) + "/slow.ics"
    async with Harness.open(database_url) as h:
        [reply] = await h.say("ada", f"event import {url}")
        assert "private, loopback or link-local address" in reply
        assert await events(h) == []
    assert not slow_feed.asked.is_set()  # refused before any request was made


async def test_a_slow_calendar_server_holds_nobody_else_up(
    harness: Harness, feed_server: str, slow_feed: SlowFeed
) -> None:
    h = harness
    await h.bot.handle(h.command("ada", f"event import {feed_server}/slow.ics"))
    async with asyncio.timeout(10):
        await slow_feed.asked.wait()
    await h.bot.handle(h.command("bob", "help"))  # answered while the download waits
    outbox = h.run.outboxes[h.adapter.platform]
    await outbox.deliver_due()
    assert h.adapter.direct_texts("bob")[0].startswith("What you can do")
    assert not slow_feed.answer.is_set() and await events(h) == []
    slow_feed.answer.set()
    await h.settle()
    assert h.adapter.texts()[-1].startswith("Imported the calendar: 2 new, 0 updated.")
    assert len(await events(h)) == 2


async def test_every_event_has_an_ics_download(harness: Harness) -> None:
    h = harness
    [reply] = await h.say(
        "ada",
        'event add "Meetup" 2026-03-10 18:00 --every "monthly on the 2nd tuesday" '
        "--duration 90m --link https://meet.example/m",
    )
    await h.say("ada", "event cancel 1 2026-04-14")
    [event] = await events(h)
    url = ical.calendar_url(h.bot, event)
    assert url in reply and len(event.token) >= 32
    app = build_app(ical.http_routes(h.bot))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get(f"/events/{event.token}.ics")
        assert (await c.get("/events/guess.ics")).status_code == 404
    assert response.headers["content-type"].startswith("text/calendar")
    [vevent] = Calendar.from_ical(response.content).walk("VEVENT")
    assert vevent.decoded("DTSTART") == datetime(2026, 3, 10, 18, tzinfo=UTC)
    assert str(vevent.decoded("DTSTART").tzinfo) == "Europe/London"
    assert vevent.decoded("DURATION") == timedelta(minutes=90)
    assert vevent["RRULE"].to_ical() == b"FREQ=MONTHLY;BYMINUTE=0;BYHOUR=18;BYDAY=2TU"
    assert vevent["EXDATE"].dts[0].dt == datetime(2026, 4, 14, 17, tzinfo=UTC)
    # importing our own export updates the same event
    report = await reimport(h, response.content)
    assert (report.created, report.updated) == (0, 1)


async def reimport(h: Harness, data: bytes) -> ical.ImportReport:
    async with h.bot.db.session() as s:
        return await ical.import_calendar(
            h.bot.scope(s), data, default_tz=ZoneInfo("Europe/London")
        )


def test_the_cli_imports_into_the_configured_database(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[community]\ntimezone = "Europe/London"\n[storage]\ndata_dir = "data"\n')
    path = tmp_path / "feed.ics"
    path.write_text(feed())
    assert main(["events", "import", str(path), "--config", str(config)]) == 0
    assert main(["events", "import", str(path), "--config", str(config)]) == 0
    assert main(["events", "import", str(tmp_path / "nope.ics"), "--config", str(config)]) == 1

    async def count() -> list[str]:
        db = Database(f"sqlite:///{tmp_path / 'data' / 'community-bot.db'}")
        async with db.reader() as s:
            titles = [e.title for e in (await s.exec(select(Event))).all()]
        await db.close()
        return titles

    assert sorted(asyncio.run(count())) == ["Launch", "Standup"]


async def test_the_calendar_link_works_for_every_rule(harness: Harness) -> None:
    h = harness
    rules = [
        "weekdays 9am",
        "mondays and thursdays 18:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630",
        "FREQ=YEARLY;BYMONTH=3,6,9,12;BYDAY=1MO;BYHOUR=10;BYMINUTE=0",
    ]
    for rule in rules:
        await h.say("ada", f'event add "R" 2026-03-03 18:00 --every "{rule}" --remind 1h')
    app = build_app(ical.http_routes(h.bot))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for event in await events(h):
            response = await c.get(f"/events/{event.token}.ics")
            assert response.status_code == 200, event.rrule
            [vevent] = Calendar.from_ical(response.content).walk("VEVENT")
            assert "RRULE" in vevent
    until = Calendar.from_ical(ical.to_ical((await events(h))[2], h.clock.now()))
    # a local UNTIL goes out in UTC: the last second of 30 June in London (BST)
    assert b"UNTIL=20260630T225959Z" in until.to_ical()


MOVED = """BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:meetup@example.org
DTSTART;TZID=Europe/London:20260303T180000
DURATION:PT2H
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Meetup
END:VEVENT
BEGIN:VEVENT
UID:meetup@example.org
RECURRENCE-ID;TZID=Europe/London:20260310T180000
DTSTART;TZID=Europe/London:20260311T190000
DURATION:PT2H
SUMMARY:Meetup (moved to Wednesday)
END:VEVENT
BEGIN:VEVENT
UID:meetup@example.org
RECURRENCE-ID;TZID=Europe/London:20260317T180000
DTSTART;TZID=Europe/London:20260317T180000
SUMMARY:Meetup
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""


async def test_reminders_follow_moved_retitled_and_cancelled_occurrences(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    path = tmp_path / "moved.ics"
    path.write_text(MOVED.replace("\n", "\r\n"))
    [reply] = await h.say("ada", f"event import {path} --remind 1h")
    assert reply.splitlines()[:3] == [
        "Imported the calendar: 1 new, 0 updated.",
        "In the coming year:",
        "- “Meetup”: new, 3 occurrences, 1 moved, 1 cancelled",
    ]
    # the calendar puts it back, then moves it again: each import says so, per series
    path.write_text(MOVED.replace("20260311T190000", "20260310T180000").replace("\n", "\r\n"))
    [reply] = await h.say("ada", f"event import {path}")
    assert "- “Meetup”: 1 moved" in reply
    path.write_text(MOVED.replace("\n", "\r\n"))
    [reply] = await h.say("ada", f"event import {path}")
    assert "- “Meetup”: 1 moved" in reply
    await h.advance(timedelta(days=30))
    reminders = [t for t in h.adapter.direct_texts("ada") if t.startswith("Reminder")]
    assert [r.split(" (your time)")[0] for r in reminders] == [
        "Reminder: “Meetup” starts in 1 hour, on Tue 3 Mar 2026, 18:00 Europe/London",
        "Reminder: “Meetup (moved to Wednesday)” starts in 1 hour, "
        "on Wed 11 Mar 2026, 19:00 Europe/London",
        "Reminder: “Meetup” starts in 1 hour, on Tue 24 Mar 2026, 18:00 Europe/London",
    ]


async def test_the_organisers_cancellations_survive_a_reimport(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    path = tmp_path / "feed.ics"
    path.write_text(feed())
    await h.say("ada", f"event import {path} --remind 1h")
    await h.say("ada", "event cancel 1 2026-03-17")  # one occurrence of the weekly
    await h.say("ada", "event cancel 2")  # the whole launch
    [reply] = await h.say("ada", f"event import {path}")
    assert reply.startswith("Imported the calendar: 0 new, 2 updated.")
    weekly, launch = await events(h)
    assert weekly.exdates == ["20260317T160000Z"] and launch.cancelled
    await h.advance(timedelta(days=16))
    reminders = [t for t in h.adapter.direct_texts("ada") if t.startswith("Reminder")]
    assert [r.split(" (your time)")[0].split(", on ")[1] for r in reminders] == [
        "Tue 3 Mar 2026, 17:00 Europe/London"
    ]
