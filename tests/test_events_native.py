"""Native scheduled events (a Discord guild's, a Discourse post's) kept in step with
community events: imported, changed, cancelled, reminders to the interested, published."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from adapters.codec import decode_action, encode_action
from adapters.contract import (
    Actor,
    EventId,
    NativeChange,
    NativeEventChanged,
    NativeInterest,
    PlatformName,
    PublishNativeEvent,
    UserId,
)
from bot.events.models import Event
from bot.events.native import NativeEvent
from bot.testing import Harness

START = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)


def actor(h: Harness, user: str) -> Actor:
    return Actor(h.adapter.platform, UserId(user), user.capitalize())


def changed(
    h: Harness,
    change: NativeChange,
    *,
    title: str = "Game night",
    start: datetime = START,
    interested: tuple[str, ...] | None = None,
    rrule: str | None = None,
) -> NativeEventChanged:
    return NativeEventChanged(
        event_id=EventId(uuid.uuid4().hex),
        actor=actor(h, "ada"),
        place=h.place("guild"),
        change=change,
        native_id="9001",
        title=title,
        start=start,
        end=start + timedelta(hours=2),
        zone="Europe/Paris",
        rrule=rrule,
        link="https://example.org/voice",
        description="Bring snacks",
        interested=None if interested is None else tuple(actor(h, u) for u in interested),
    )


async def events(h: Harness) -> list[Event]:
    async with h.bot.db.reader() as s:
        return list((await s.exec(select(Event))).all())


async def test_a_native_event_is_imported_then_follows_its_changes(harness: Harness) -> None:
    h = harness
    await h.feed(changed(h, NativeChange.CREATED, rrule="FREQ=WEEKLY;BYDAY=TH"))
    [event] = await events(h)
    assert (event.title, event.source, event.timezone) == ("Game night", "native", "Europe/Paris")
    assert event.duration_seconds == 7200 and event.rrule == "FREQ=WEEKLY;BYDAY=TH"
    assert event.link == "https://example.org/voice" and event.description == "Bring snacks"
    await h.feed(changed(h, NativeChange.CHANGED, title="Board game night"))
    [event] = await events(h)
    assert event.title == "Board game night" and event.rrule is None and not event.cancelled
    await h.feed(changed(h, NativeChange.CANCELLED))
    [event] = await events(h)
    assert event.cancelled


async def test_a_cancelled_unknown_native_event_imports_nothing(harness: Harness) -> None:
    await harness.feed(changed(harness, NativeChange.CANCELLED))
    assert await events(harness) == []


async def test_reminders_go_to_the_interested_only(harness: Harness) -> None:
    h = harness
    for user in ("bea", "cyd", "dan"):
        await h.say(user, "help")
    await h.feed(changed(h, NativeChange.CREATED, interested=("bea",)))
    await h.feed(
        NativeInterest(
            event_id=EventId("i1"),
            actor=actor(h, "cyd"),
            place=h.place("guild"),
            native_id="9001",
            interested=True,
        )
    )
    await h.advance(START - h.clock.now())
    reminded = {
        r.to.user_id
        for r in h.adapter.records
        if r.to is not None and "Reminder" in r.text and hasattr(r.to, "user_id")
    }
    assert reminded == {"bea", "cyd"}


async def test_without_word_on_interest_everyone_is_reminded(harness: Harness) -> None:
    h = harness
    for user in ("bea", "cyd"):
        await h.say(user, "help")
    await h.feed(changed(h, NativeChange.CREATED))
    await h.advance(START - h.clock.now())
    reminded = {r.to.user_id for r in h.adapter.records if "Reminder" in r.text and r.to}
    assert {"bea", "cyd", "ada"} <= reminded


async def test_event_add_publish_links_the_native_twin(harness: Harness) -> None:
    h = harness
    [reply] = await h.say(
        "ada", 'event add "Weekly call" 2026-03-10 18:00 --every weekly --publish'
    )
    assert "published as a scheduled event" in reply
    [publish] = [r.action for r in h.adapter.records if isinstance(r.action, PublishNativeEvent)]
    assert publish.rrule is not None and "WEEKLY" in publish.rrule
    assert publish.end - publish.start == timedelta(hours=1)
    assert decode_action(encode_action(publish)) == publish
    async with h.bot.db.reader() as s:
        [link] = (await s.exec(select(NativeEvent))).all()
    # The platform reporting its own copy of the event updates it; it is not imported twice.
    assert link.platform == PlatformName("fake")
    change = changed(h, NativeChange.CHANGED, title="Weekly call (moved)")
    await h.feed(
        NativeEventChanged(
            **{**change.__dict__, "native_id": link.native_id, "raw": {}}  # type: ignore[arg-type]
        )
    )
    assert [e.title for e in await events(h)] == ["Weekly call (moved)"]
