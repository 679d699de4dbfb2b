"""A breakout whose people are on two platforms: mixed groups, a room on each platform, and
the bot relaying between them (once, never back, edits carried, pings inert)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlmodel import delete

from adapters.contract import (
    Capability,
    EditMessage,
    MessageId,
    MessageReceived,
    OpenSubSpace,
    Place,
    PlatformName,
    SendMessage,
    Sent,
    SpaceId,
    SubSpaceOpened,
)
from adapters.fake import ALL_CAPABILITIES, FakeAdapter
from bot.errors import PlatformError
from bot.models import OutboxRow, SeenEvent
from bot.testing import Harness

HERE = ["bea", "cal", "dev"]
THERE = ["eli", "fay", "gus"]
PINGS = "@room @everyone <!channel> <!here> @here look"


@asynccontextmanager
async def two_platforms(
    database_url: str, capabilities: Iterable[Capability] = ALL_CAPABILITIES
) -> AsyncIterator[Harness]:
    config = {"community": {"organisers": ["fake:ada"], "spaces": ["fake:main", "other:lounge"]}}
    async with Harness.open(
        database_url, more_platforms=("other",), config=config, capabilities=capabilities
    ) as harness:
        await harness.say("eli", "help", platform="other", space="lounge")
        yield harness


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with two_platforms(database_url) as harness:
        yield harness


def on(h: Harness, platform: str) -> FakeAdapter:
    return h.adapters[PlatformName(platform)]


def rooms(h: Harness, platform: str) -> dict[str, list[str]]:
    """Each sub-space opened on `platform`, by name, with the space it became and its members."""
    found: dict[str, list[str]] = {}
    for r in on(h, platform).records:
        if isinstance(r.action, OpenSubSpace) and isinstance(r.result, SubSpaceOpened):
            found[r.result.place.space] = list(r.action.members)
    return found


def copies(h: Harness, platform: str, words: str) -> list[tuple[Place, str]]:
    """Every message sent on `platform` carrying `words`, and where it went."""
    return [
        (r.action.to, r.text)  # type: ignore[misc]
        for r in on(h, platform).records
        if isinstance(r.action, SendMessage) and words in r.text
    ]


def room_place(platform: str, space: str) -> Place:
    return Place(PlatformName(platform), SpaceId(space))


async def start(h: Harness, extra: str = "", *, then: Callable[[], None] = lambda: None) -> None:
    """Call a breakout in both spaces, three join in each, and the call closes (`then` runs
    just before it does)."""
    await h.say(
        "ada", f'breakout size 3 "What would make this place better?" --in other:lounge{extra}'
    )
    for user in HERE:
        await h.feed(h.message(user, "join"))
    for user in THERE:
        await h.feed(h.message(user, "join", platform="other", space="lounge"))
    then()
    await h.advance(timedelta(seconds=60))


def mates(h: Harness) -> tuple[str, str, str, str]:
    """A member here and one there in the same group, and that group's two rooms."""
    here, there = rooms(h, "fake"), rooms(h, "other")
    for space_here, people_here in here.items():
        name = space_here.rsplit("/", 1)[1]
        space_there = next(s for s in there if s.endswith(name))
        return people_here[0], there[space_there][0], space_here, space_there
    raise AssertionError("no rooms")


async def test_groups_mix_the_platforms_and_get_a_room_on_each(h: Harness) -> None:
    await start(h)
    calls = [t for t in on(h, "other").texts() if t.startswith("Breakout starting")]
    assert len(calls) == 1, "the call reaches the further space too"
    here, there = rooms(h, "fake"), rooms(h, "other")
    assert len(here) == 2 and len(there) == 2
    assert sorted(u for m in here.values() for u in m) == HERE
    assert sorted(u for m in there.values() for u in m) == THERE
    for space in here:
        texts = on(h, "fake").texts(room_place("fake", space))
        assert any(t.startswith("Breakout group") for t in texts)
    for space in there:
        texts = on(h, "other").texts(room_place("other", space))
        assert any(t.startswith("Breakout group") for t in texts)
    summary = [t for t in on(h, "other").texts() if t.startswith("Breakout: 6 people in 2 groups")]
    assert len(summary) == 1


async def test_pairs_from_two_platforms_are_each_mixed(h: Harness) -> None:
    """Six here and six there in pairs: every pair spans both (a shuffle would rarely)."""
    await h.say("ada", 'breakout size 2 "Why?" --in other:lounge')
    for n in range(6):
        await h.feed(h.message(f"here{n}", "join"))
        await h.feed(h.message(f"there{n}", "join", platform="other", space="lounge"))
    await h.advance(timedelta(seconds=60))
    here, there = rooms(h, "fake"), rooms(h, "other")
    assert len(here) == len(there) == 6
    assert all(len(members) == 1 for members in [*here.values(), *there.values()])


async def test_messages_are_relayed_both_ways_once_and_never_echoed(h: Harness) -> None:
    await start(h)
    bea, eli, room_here, room_there = mates(h)
    before_here = len(on(h, "fake").texts(room_place("fake", room_here)))
    await h.feed(h.message(bea, "Shorter meetings", space=room_here))
    assert copies(h, "other", "Shorter meetings") == [
        (room_place("other", room_there), f"{bea.capitalize()} (fake): Shorter meetings")
    ]
    await h.feed(h.message(eli, "And a quiet corner", platform="other", space=room_there))
    assert copies(h, "fake", "And a quiet corner") == [
        (room_place("fake", room_here), f"{eli.capitalize()} (other): And a quiet corner")
    ]
    assert copies(h, "other", "And a quiet corner") == [], "nothing goes back where it came from"
    assert len(on(h, "fake").texts(room_place("fake", room_here))) == before_here + 1
    for other_room in set(rooms(h, "other")) - {room_there}:
        texts = on(h, "other").texts(room_place("other", other_room))
        assert not any("Shorter meetings" in t for t in texts), "another group hears nothing"


async def test_the_bots_own_messages_are_not_relayed(h: Harness) -> None:
    await start(h)
    _, _, room_here, _ = mates(h)
    await h.feed(h.message("bot", "Half time, says the bot", space=room_here))
    assert copies(h, "other", "Half time, says the bot") == []


async def test_a_redelivered_event_is_relayed_once_even_when_forgotten(database_url: str) -> None:
    """On platforms that take no idempotency key, so only the bot's own records stand
    between a redelivery and a second copy."""
    async with two_platforms(database_url, ALL_CAPABILITIES - {Capability.IDEMPOTENT_SEND}) as h:
        await redeliver(h)


async def redeliver(h: Harness) -> None:
    await start(h)
    bea, _, room_here, _ = mates(h)
    said = h.message(bea, "Only once please", space=room_here)
    await h.feed(said)
    await h.feed(said)
    assert len(copies(h, "other", "Only once please")) == 1
    # Days later the record of seen events and the sent outbox rows are cleared; the event
    # is delivered once more: the copy is on record, so there is still only one.
    async with h.bot.db.session() as s:
        await s.exec(delete(SeenEvent))
        await s.exec(delete(OutboxRow))
    await h.feed(said)
    assert len(copies(h, "other", "Only once please")) == 1


async def test_an_edit_edits_the_copies(h: Harness) -> None:
    await start(h)
    bea, _, room_here, room_there = mates(h)
    said = h.message(bea, "Meet on Tuesdays", space=room_here)
    await h.feed(said)
    [copy] = [r for r in on(h, "other").records if "Meet on Tuesdays" in r.text]
    assert isinstance(copy.result, Sent)
    edit = MessageReceived(
        event_id=h.message(bea, "x").event_id,
        actor=said.actor,
        place=said.place,
        message_id=MessageId("edit-1"),
        text="Meet on Wednesdays",
        edits=said.message_id,
    )
    await h.feed(edit)
    edits = [r.action for r in on(h, "other").records if isinstance(r.action, EditMessage)]
    assert len(edits) == 1
    assert edits[0].message_id == copy.result.message_id
    assert edits[0].place == room_place("other", room_there)
    assert edits[0].text == (f"{bea.capitalize()} (fake): ", "Meet on Wednesdays")
    assert copies(h, "other", "Wednesdays") == [], "an edit is not a new message"
    await h.feed(edit)
    assert sum(isinstance(r.action, EditMessage) for r in on(h, "other").records) == 1


async def test_what_a_member_typed_goes_out_as_plain_text(h: Harness) -> None:
    """Plain `str` segments only: each adapter escapes those (tests/breakouts/test_relay_pings)."""
    await start(h)
    bea, _, room_here, _ = mates(h)
    await h.feed(h.message(bea, PINGS, space=room_here))
    [copy] = [r.action for r in on(h, "other").records if PINGS in r.text]
    assert isinstance(copy, SendMessage)
    assert all(isinstance(segment, str) for segment in copy.text)


async def test_a_room_still_opening_gets_what_was_said_once_it_is_open(h: Harness) -> None:
    await start(h, then=lambda: on(h, "other").fail_next(PlatformError("busy", retry_after=30)))
    assert len(rooms(h, "other")) < 2
    here = rooms(h, "fake")
    waiting = [
        space
        for space in here
        if not any(s.endswith(space.rsplit("/", 1)[1]) for s in rooms(h, "other"))
    ]
    assert waiting, "a room on the other platform is still being opened"
    writer = here[waiting[0]][0]
    await h.feed(h.message(writer, "Are you there yet?", space=waiting[0]))
    assert copies(h, "other", "Are you there yet?") == []
    await h.advance(timedelta(seconds=30))
    assert len(rooms(h, "other")) == 2
    [(to, _)] = copies(h, "other", "Are you there yet?")
    assert to.space.endswith(waiting[0].rsplit("/", 1)[1])


async def test_reports_reach_every_room_and_collation_every_space(h: Harness) -> None:
    await start(h, " --minutes 4")
    _, eli, room_here, room_there = mates(h)
    await h.advance(timedelta(minutes=4))
    await h.feed(h.message(eli, "report more light", platform="other", space=room_there))
    assert any(
        "sent your group's report" in t for t in on(h, "fake").texts(room_place("fake", room_here))
    )
    assert copies(h, "fake", "(other): report more light") == [], "a report is not relayed"
    await h.advance(timedelta(minutes=3))
    for platform, space in (("fake", "main"), ("other", "lounge")):
        [collated] = [
            t
            for t in on(h, platform).texts(room_place(platform, space))
            if t.startswith("Breakout reports")
        ]
        assert "more light" in collated and "no report" in collated
    await h.feed(h.message(eli, "anyone still here?", platform="other", space=room_there))
    assert copies(h, "fake", "anyone still here?") == [], "no relaying after the breakout"


async def test_a_late_joiner_from_the_other_platform_is_let_into_that_platforms_room(
    h: Harness,
) -> None:
    await start(h)
    replies = await h.say("hal", "join", platform="other", space="lounge")
    assert any("You're in group" in r for r in replies)
    assert "hal" in [u for m in rooms(h, "other").values() for u in m]


async def test_on_forums_the_further_space_is_told_in_the_topic_its_call_opened(
    database_url: str,
) -> None:
    async with two_platforms(database_url, ALL_CAPABILITIES | {Capability.TOPICS}) as h:
        await h.say("ada", 'breakout size 3 "Why?" --in other:lounge', thread="t1")
        [call] = [r for r in on(h, "other").records if r.text.startswith("Breakout starting")]
        assert isinstance(call.result, Sent) and call.result.thread is not None
        for user in HERE:
            await h.feed(h.message(user, "join", thread="t1"))
        for user in THERE:
            await h.feed(h.message(user, "join", platform="other", space="lounge"))
        await h.advance(timedelta(seconds=60))
        topic = Place(PlatformName("other"), SpaceId("lounge"), call.result.thread)
        assert any(t.startswith("Breakout: 6 people") for t in on(h, "other").texts(topic))
