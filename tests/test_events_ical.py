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
    assert reply == "Imported the calendar: 2 new, 0 updated."
    weekly, once = await events(h)
    assert (weekly.timezone, weekly.rrule, weekly.exdates) == (
        "America/New_York",
        "FREQ=WEEKLY",
        ["20260310T160000Z"],
    )
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
    assert reply == "Imported the calendar: 0 new, 2 updated."
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
        assert "Usage: event import" in reply
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
    assert "left out the last 3 events" in reply
    assert "“Storm”: COUNT must be a whole number from 1 to 1000." in reply
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
    assert reply == "Imported the calendar: 2 new, 0 updated."
    [reply] = await harness.say("ada", f"event import {feed_server}/huge.ics")
    assert "larger than 5 MB" in reply
    [reply] = await harness.say("ada", f"event import {feed_server}/missing.ics")
    assert "answered HTTP 404" in reply
    [reply] = await harness.say("ada", f"event import {feed_server}/cal.ics")
    assert reply == "Imported the calendar: 0 new, 2 updated."


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
    assert h.adapter.texts()[-1] == "Imported the calendar: 2 new, 0 updated."
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
    assert vevent["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=2TU"
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
