"""Breakouts end to end on the harness: gather, split, sub-spaces of each kind, time box,
report-back, collation, early end, late joiners, restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.contract import (
    Capability,
    CloseSubSpace,
    OpenSubSpace,
    Place,
    PlatformName,
    SendMessage,
    SpaceId,
    SubSpaceOpened,
    ThreadId,
)
from bot.breakouts.session import LAST_WARNING, time_box
from bot.testing import Harness

PEOPLE = ["bea", "cal", "dev", "eli", "fay", "gus"]
MAIN = Place(PlatformName("fake"), SpaceId("main"))


def rooms(h: Harness) -> dict[str, list[str]]:
    """Each opened sub-space and its members, as the platform was asked to make them."""
    found: dict[str, list[str]] = {}
    for r in h.adapter.records:
        if isinstance(r.action, OpenSubSpace) and isinstance(r.result, SubSpaceOpened):
            found[r.result.place.space] = list(r.action.members)
    return found


def room_texts(h: Harness, space: str) -> list[str]:
    return h.adapter.texts(Place(PlatformName("fake"), SpaceId(space)))


async def gather(h: Harness, command: str, people: list[str] = PEOPLE) -> None:
    await h.say("ada", command)
    for user in people:
        await h.feed(h.message(user, "join"))
    await h.advance(timedelta(seconds=60))


async def test_a_member_is_refused_with_the_role_needed(harness: Harness) -> None:
    replies = await harness.say("bea", 'breakout size 3 "Why?"')
    assert any("needs the catalyst or organiser role" in r for r in replies)
    assert not any("Breakout starting" in t for t in harness.adapter.texts(MAIN))


async def test_private_rooms_multi_part_time_box_reports_and_collation(harness: Harness) -> None:
    h = harness
    await gather(h, "breakout 2 groups care-space-agreement --minutes 6")
    opened = rooms(h)
    assert len(opened) == 2
    assert sorted(u for members in opened.values() for u in members) == sorted(PEOPLE)
    for space in opened:
        assert any("Part 1 of 2: Together, pick the three" in t for t in room_texts(h, space))
    first = sorted(opened)[0]

    await h.advance(timedelta(minutes=3) - timedelta(seconds=1))
    assert not any("Part 2 of 2" in t for t in room_texts(h, first))
    await h.advance(timedelta(seconds=1))
    for space in opened:
        texts = room_texts(h, space)
        assert any(t.startswith("Part 2 of 2: Which of the three slips") for t in texts)
        assert "Half time: 3 minutes left." in texts
    await h.advance(timedelta(minutes=1))
    assert any(t.startswith("2 minutes left") for t in room_texts(h, first))
    assert not any(t.startswith("Time is up") for t in room_texts(h, first))
    await h.advance(timedelta(minutes=2))
    for space in opened:
        assert any(t.startswith("Time is up. Please report back") for t in room_texts(h, space))

    writer = opened[first][0]
    await h.feed(h.message(writer, "report first draft", space=first))
    await h.feed(h.message(opened[first][1], "report we keep listening", space=first))
    await h.say(writer, "report we keep listening, and slow down")
    assert sum("sent your group's report" in t for t in room_texts(h, first)) == 3
    collated_before = [t for t in h.adapter.texts(MAIN) if t.startswith("Breakout reports")]
    assert collated_before == []
    await h.advance(timedelta(minutes=3))
    [collated] = [t for t in h.adapter.texts(MAIN) if t.startswith("Breakout reports")]
    assert "The question: Together, pick the three behaviours" in collated
    assert "we keep listening, and slow down" in collated
    assert "first draft" not in collated
    assert collated.count("no report") == 1
    closed = [
        r.action.place.space for r in h.adapter.records if isinstance(r.action, CloseSubSpace)
    ]
    assert sorted(closed) == sorted(opened)
    # Nothing more happens afterwards.
    count = len(h.adapter.records)
    await h.advance(timedelta(minutes=30))
    assert len(h.adapter.records) == count


async def test_short_box_skips_the_two_minute_warning(harness: Harness) -> None:
    await gather(harness, 'breakout size 3 "Why?" --minutes 4')
    await harness.advance(timedelta(minutes=4))
    texts = [t for space in rooms(harness) for t in room_texts(harness, space)]
    assert texts.count("Half time: 2 minutes left.") == 2
    assert not any(t.startswith("2 minutes left") for t in texts)
    assert sum(t.startswith("Time is up") for t in texts) == 2


async def test_threads_where_there_are_no_private_rooms(database_url: str) -> None:
    caps = {Capability.THREADS, Capability.DIRECT_MESSAGES, Capability.REACTIONS}
    async with Harness.open(database_url, capabilities=caps) as h:
        await gather(h, 'breakout size 3 "What now?" --minutes 2')
        assert rooms(h) == {}
        intros = [
            r
            for r in h.adapter.records
            if isinstance(r.action, SendMessage) and r.text.startswith("Breakout group")
        ]
        assert len(intros) == 2 and all(r.to == MAIN for r in intros)
        threads = {r.result.message_id: r for r in intros}  # type: ignore[union-attr]
        await h.advance(timedelta(minutes=2))
        for thread in threads:
            texts = h.adapter.texts(Place(PlatformName("fake"), SpaceId("main"), ThreadId(thread)))
            assert "Half time: 1 minute left." in texts
            assert any(t.startswith("Time is up") for t in texts)
        thread, intro = next(iter(threads.items()))
        member = next(s.user_id for s in intro.action.text if not isinstance(s, str))  # type: ignore[attr-defined]
        await h.feed(h.message(member, "report threads work", thread=thread))
        await h.advance(timedelta(minutes=3))
        [collated] = [t for t in h.adapter.texts(MAIN) if t.startswith("Breakout reports")]
        assert "threads work" in collated and "no report" in collated


async def test_relayed_direct_messages_where_there_is_nothing_else(database_url: str) -> None:
    async with Harness.open(database_url, capabilities={Capability.DIRECT_MESSAGES}) as h:
        await gather(h, 'breakout 1 groups "What now?" --minutes 5', PEOPLE[:3])
        for user in PEOPLE[:3]:
            assert any(t.startswith("Breakout group 1 of 1") for t in h.adapter.direct_texts(user))
        dm = {"space": "dm-bea", "direct": True}
        await h.feed(h.message("bea", "I think we should start small", **dm))
        for other in PEOPLE[1:3]:
            assert "Bea: I think we should start small" in h.adapter.direct_texts(other)
        assert not any("start small" in t for t in h.adapter.direct_texts("bea"))
        await h.feed(h.message("cal", "report start small", space="dm-cal", direct=True))
        assert not any(t.startswith("Cal: report") for t in h.adapter.direct_texts("bea"))
        await h.advance(timedelta(minutes=8))
        [collated] = [t for t in h.adapter.texts(MAIN) if t.startswith("Breakout reports")]
        assert "Group 1 (Bea, Cal, Dev):\nstart small" in collated
        assert any("no longer pass messages on" in t for t in h.adapter.direct_texts("dev"))
        before = len(h.adapter.direct_texts("cal"))
        await h.feed(h.message("bea", "still there?", **dm))
        assert len(h.adapter.direct_texts("cal")) == before


async def test_breakout_end_cuts_the_box_short_and_timers_do_nothing(harness: Harness) -> None:
    h = harness
    await gather(h, 'breakout size 3 "Why?" --minutes 10')
    replies = await h.say("ada", "breakout end")
    assert any("ended early" in r for r in replies)
    opened = rooms(h)
    for space in opened:
        assert any(t.startswith("Time is up") for t in room_texts(h, space))
    replies = await h.say("ada", "breakout end")
    assert any("The reports are above" in r for r in replies)
    assert sum(t.startswith("Breakout reports") for t in h.adapter.texts(MAIN)) == 1
    count = len(h.adapter.records)
    await h.advance(timedelta(minutes=15))
    assert len(h.adapter.records) == count
    assert any("No breakout" in r for r in await h.say("ada", "breakout end"))


async def test_late_joiner_goes_to_the_smallest_group(harness: Harness) -> None:
    h = harness
    await gather(h, 'breakout 2 groups "Why?" --minutes 10', PEOPLE[:5])
    small = min(rooms(h).items(), key=lambda kv: len(kv[1]))
    assert len(small[1]) == 2
    replies = await h.say("zed", "join")
    assert any("You're in group" in r and small[0] in r and "Why?" in r for r in replies)
    assert "zed" in rooms(h)[small[0]]
    assert any("Zed joined your group" in t for t in room_texts(h, small[0]))
    # Joining again does not move anyone.
    await h.say("zed", "join")
    assert sum("zed" in members for members in rooms(h).values()) == 1


async def test_joining_by_reaction_and_button(harness: Harness) -> None:
    h = harness
    await h.say("ada", 'breakout size 2 "Why?"')
    call = next(r for r in h.adapter.records if r.text.startswith("Breakout starting"))
    assert isinstance(call.action, SendMessage) and call.action.buttons
    button = call.action.buttons[0]
    mid = call.result.message_id  # type: ignore[union-attr]
    await h.feed(h.react("bea", mid, "+1"))
    await h.feed(h.press("cal", mid, button.action, button.value))
    await h.feed(h.react("dev", "another-message", "+1"))
    await h.advance(timedelta(seconds=60))
    assert sorted(u for m in rooms(h).values() for u in m) == ["bea", "cal"]


async def test_from_present_and_where_presence_is_unknown(database_url: str) -> None:
    async with Harness.open(database_url) as h:
        h.adapter.present_users["main"] = ["ada", "bea", "cal", "dev", "eli", "bot"]
        await h.say("ada", 'breakout size 2 "Why?" --from present')
        assert sorted(u for m in rooms(h).values() for u in m) == ["bea", "cal", "dev", "eli"]
    caps = {Capability.THREADS, Capability.DIRECT_MESSAGES}
    async with Harness.open(database_url, capabilities=caps) as h:
        replies = await h.say("ada", 'breakout "Why?" --from present')
        assert any("does not" in r and "--from reactions" in r for r in replies)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ('breakout "Why?" --from checkin', "no check-in round here yet"),
        ("breakout 3 fish", "`3` what?"),
        ("breakout size 1", "from 2 to 50"),
        ('breakout "Why?" --minutes 0', "`--minutes` takes a whole number"),
        ("breakout care-mistake", "Did you mean 'care-mistakes'"),
        ("breakout care-arriving", "is a checkin prompt, not a provocation"),
        ("breakout why not", "put your own question in quotes"),
    ],
)
async def test_bad_commands_are_explained(sqlite_url: str, command: str, expected: str) -> None:
    async with Harness.open(sqlite_url) as h:
        replies = await h.say("ada", command)
        assert any(expected in r for r in replies), replies
        assert not any("Breakout starting" in t for t in h.adapter.texts(MAIN))


async def test_one_breakout_at_a_time_and_too_few_people(harness: Harness) -> None:
    h = harness
    await h.say("ada", 'breakout "Why?"')
    assert any("already going on" in r for r in await h.say("ada", 'breakout "Again?"'))
    await h.feed(h.message("bea", "join"))
    await h.advance(timedelta(seconds=60))
    assert "Only 1 person joined, so there is no breakout this time." in h.adapter.texts(MAIN)
    assert any("Breakout starting" in r for r in await h.say("ada", 'breakout "Again?"'))


async def test_the_next_breakout_avoids_the_last_ones_pairs(harness: Harness) -> None:
    h = harness
    people = PEOPLE[:4]
    await gather(h, 'breakout size 2 "One?" --minutes 1', people)
    first = [set(m) for m in rooms(h).values()]
    await h.say("ada", "breakout end")
    await h.say("ada", "breakout end")
    await gather(h, 'breakout size 2 "Two?" --minutes 1', people)
    second = [set(m) for space, m in rooms(h).items() if space.startswith("main/Breakout 2")]
    assert len(second) == 2 and not any(g in first for g in second)


async def test_a_breakout_survives_a_restart(sqlite_url: str) -> None:
    async with Harness.open(sqlite_url) as h:
        await gather(h, 'breakout size 3 "Why?" --minutes 6')
        opened = rooms(h)
        await h.advance(timedelta(minutes=2))
        start = h.clock.now()
    async with Harness.open(sqlite_url, start=start + timedelta(seconds=90)) as h:
        # Half time fell due while the bot was down: it fires once on start.
        space = next(iter(opened))
        assert room_texts(h, space) == ["Half time: 3 minutes left."]
        await h.say(opened[space][0], "report kept across restarts")
        await h.advance(timedelta(minutes=10))
        texts = room_texts(h, space)
        assert texts.count("Half time: 3 minutes left.") == 1
        assert sum(t.startswith("2 minutes left") for t in texts) == 1
        [collated] = [t for t in h.adapter.texts(MAIN) if t.startswith("Breakout reports")]
        assert "kept across restarts" in collated


async def test_report_outside_a_group_is_refused(harness: Harness) -> None:
    replies = await harness.say("bea", "report hello")
    assert any("not in a breakout group" in r for r in replies)
    assert any("no breakout to join" in r for r in await harness.say("bea", "join"))


async def test_from_checkin_takes_those_who_answered_the_last_round(harness: Harness) -> None:
    h = harness
    await h.say("ada", 'checkin open "How are you arriving?"')
    for user in ["bea", "cal", "dev"]:
        await h.say(user, f"checkin arriving as {user}")
    await h.say("eli", "checkin pass")
    await h.feed(h.message("fay", "just chatting"))
    await h.say("ada", "checkin close")
    await h.say("ada", 'breakout size 2 "What did you hear?" --from checkin')
    opened = rooms(h)
    assert sorted(u for members in opened.values() for u in members) == ["bea", "cal", "dev", "eli"]


async def test_from_checkin_never_reveals_who_answered_an_anonymous_round(
    harness: Harness,
) -> None:
    h = harness
    await h.say("ada", 'checkin open "Honestly?" --anonymous')
    await h.say("bea", "checkin fine")
    replies = await h.say("ada", 'breakout "Why?" --from checkin')
    assert any("was anonymous" in r for r in replies)
    assert rooms(h) == {}


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 5])
def test_parts_then_the_wrap_up_then_times_up_for_every_box(parts: int) -> None:
    for minutes in range(1, 241):
        box = timedelta(minutes=minutes)
        plan = time_box(box, parts)
        order = [step for _, step in plan if step != "half"]
        wrap_up = ["last"] if box > 2 * LAST_WARNING else []
        assert order == [f"part:{k}" for k in range(1, parts)] + wrap_up + ["end"], minutes
        offsets = [offset for offset, step in plan if step != "half"]
        assert offsets == sorted(set(offsets)), minutes  # nothing due at the same moment
        assert (box / 2, "half") in plan and plan[-1] == (box, "end")


async def test_a_three_part_provocation_in_five_minutes_arrives_in_order(
    harness: Harness,
) -> None:
    h = harness
    await gather(h, "breakout 2 groups connection-barriers --minutes 5")
    await h.advance(timedelta(minutes=6))
    for space in rooms(h):
        said = [
            t.split(":")[0]
            for t in room_texts(h, space)
            if t.startswith(("Part ", "2 minutes left", "Time is up"))
        ]
        assert said == [
            "Part 2 of 3",
            "Part 3 of 3",
            "2 minutes left",
            "Time is up. Please report back",
        ]
        assert any("Part 1 of 3" in t for t in room_texts(h, space))
