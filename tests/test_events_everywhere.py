"""Events across platforms: an event imported on one platform (or from a calendar) is told to
the community's spaces on the others, once per change; reminders follow `me reach`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from adapters.contract import (
    NativeChange,
    Place,
    PlatformName,
    SpaceId,
)
from bot.models import OutboxRow
from bot.testing import Harness
from tests.test_events_ical import feed
from tests.test_events_native import START, changed
from tests.test_identities import link

SPACES = {"community": {"organisers": ["fake:ada"], "spaces": ["fake:main", "other:lounge"]}}
LOUNGE = Place(PlatformName("other"), SpaceId("lounge"))
MAIN = Place(PlatformName("fake"), SpaceId("main"))


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, more_platforms=("other",), config=SPACES) as harness:
        yield harness


def news(h: Harness, platform: str, place: Place) -> list[str]:
    return [t for t in h.adapters[PlatformName(platform)].texts(place) if "event" in t.lower()]


async def test_a_native_event_is_told_to_the_other_platforms_spaces_once_per_change(
    h: Harness,
) -> None:
    await h.feed(changed(h, NativeChange.CREATED))
    [told] = news(h, "other", LOUNGE)
    assert told.startswith("New event: “Game night”, Thu 5 Mar 2026, 19:00 Europe/Paris.")
    assert "Join: https://example.org/voice" in told
    assert "Add it to your calendar: http" in told and ".ics" in told
    assert news(h, "fake", MAIN) == [], "not told back to the platform it came from"

    await h.feed(changed(h, NativeChange.CHANGED))  # the same event again: nothing new
    assert len(news(h, "other", LOUNGE)) == 1

    await h.feed(changed(h, NativeChange.CHANGED, start=START + timedelta(hours=1)))
    moved = news(h, "other", LOUNGE)[-1]
    assert moved.startswith("Event changed: “Game night”, Thu 5 Mar 2026, 20:00 Europe/Paris.")

    await h.feed(changed(h, NativeChange.CANCELLED))
    assert news(h, "other", LOUNGE)[-1] == "Event cancelled: “Game night”."
    assert len(news(h, "other", LOUNGE)) == 3 and news(h, "fake", MAIN) == []

    # the same three states again, as they were: each is news again, told once more each
    await h.feed(changed(h, NativeChange.CHANGED, start=START + timedelta(hours=1)))
    assert news(h, "other", LOUNGE)[-1].startswith("Event changed")
    assert len(news(h, "other", LOUNGE)) == 4


async def test_a_platform_sending_every_event_again_after_a_restart_tells_nothing_twice(
    sqlite_url: str,
) -> None:
    async with Harness.open(sqlite_url, more_platforms=("other",), config=SPACES) as h:
        await h.feed(changed(h, NativeChange.CREATED))
        assert len(news(h, "other", LOUNGE)) == 1
    async with Harness.open(sqlite_url, more_platforms=("other",), config=SPACES) as h:
        await h.feed(changed(h, NativeChange.CHANGED))  # Discord's GUILD_CREATE on reconnect
        assert news(h, "other", LOUNGE) == []
        async with h.bot.db.reader() as s:
            keys = (
                await s.exec(select(OutboxRow.key).where(col(OutboxRow.key).startswith("event:n")))
            ).all()
    assert len(keys) == 1


async def test_a_cancelled_event_nobody_was_told_of_is_not_news(h: Harness) -> None:
    await h.feed(changed(h, NativeChange.CREATED, start=h.clock.now() - timedelta(days=1)))
    await h.feed(changed(h, NativeChange.CANCELLED, start=h.clock.now() - timedelta(days=1)))
    assert news(h, "other", LOUNGE) == [], "a past event is no news, nor its cancellation"


async def test_a_published_event_is_not_told_as_imported(h: Harness) -> None:
    await h.say("ada", 'event add "Weekly call" 2026-03-10 18:00 --publish')
    assert news(h, "other", LOUNGE) == []


async def test_a_calendar_import_is_told_to_every_community_space_in_one_message(
    h: Harness, tmp_path: Path
) -> None:
    path = tmp_path / "feed.ics"
    path.write_text(feed())
    await h.say("ada", f"event import {path}")
    for platform, place in (("fake", MAIN), ("other", LOUNGE)):
        [told] = news(h, platform, place)
        assert told.startswith("New event: “Standup”, Tue 3 Mar 2026, 12:00 America/New_York.")
        assert "\n\nNew event: “Launch”, Thu 5 Mar 2026, 15:00 UTC." in told
    await h.say("ada", f"event import {path}")
    assert len(news(h, "other", LOUNGE)) == 1, "an unchanged calendar is no news"
    path.write_text(feed(title="Daily standup"))
    await h.say("ada", f"event import {path}")
    [_, again] = news(h, "other", LOUNGE)
    assert again.startswith("Event changed: “Daily standup”") and "Launch" not in again


async def test_a_large_calendar_is_told_in_one_message_that_counts_the_rest(
    h: Harness, tmp_path: Path
) -> None:
    many = "".join(
        f"BEGIN:VEVENT\r\nUID:e{n}@example.org\r\nSUMMARY:Talk {n}\r\n"
        f"DTSTART:202604{n + 1:02}T180000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"
        for n in range(14)
    )
    path = tmp_path / "many.ics"
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{many}END:VCALENDAR\r\n")
    await h.say("ada", f"event import {path}")
    [told] = news(h, "other", LOUNGE)
    assert told.count("New event:") == 10 and told.endswith("… and 4 more events.")


async def test_a_reminder_reaches_the_member_on_the_platform_they_chose(h: Harness) -> None:
    await link(h, "bob", "fake", "other")
    await h.say("bob", "me reach other")
    await h.say("ada", 'event add "Town hall" 2026-03-03 18:00 --remind 1h')
    await h.advance(timedelta(days=1, hours=8, minutes=30))
    other = h.adapters[PlatformName("other")]
    assert any(t.startswith("Reminder: “Town hall”") for t in other.direct_texts("bob"))
    assert not [t for t in h.adapter.direct_texts("bob") if "Town hall" in t]
    assert any(t.startswith("Reminder: “Town hall”") for t in h.adapter.direct_texts("ada"))


async def test_announcements_without_other_platforms_running_are_not_kept_pending(
    sqlite_url: str,
) -> None:
    only_here = {"community": {**SPACES["community"], "spaces": ["fake:main", "gone:room"]}}
    async with Harness.open(sqlite_url, config=only_here) as h:
        await h.feed(changed(h, NativeChange.CREATED))
        await h.feed(replace(changed(h, NativeChange.CHANGED), title="Game night!"))
        assert news(h, "fake", MAIN) == []
        async with h.bot.db.reader() as s:
            rows = (await s.exec(select(OutboxRow.platform))).all()
        assert "gone" not in rows
