"""The rituals on a real Synapse, as members on real nio clients live them (issue 7).

Each scenario is a `community(...)` and what its members say and see. Waits are on events
with deadlines; the breakout's time box runs on a `FakeClock` the test moves (see there).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nio import RoomGetStateEventResponse

from adapters.matrix import MatrixAdapter
from bot.clock import FakeClock
from tests.matrix.people import Community, Event, community
from tests.synapse import MatrixUser, SynapseServer

pytestmark = pytest.mark.matrix

ANSWER_IN = "your answer is in"


async def round_thread(c: Community, name: str, prompt: str) -> str:
    """The round's thread (its post's event id), once the bot knows it as the round's.

    The bot records the thread when the delivery batch that carried the post is recorded,
    which may be after the post is visible (the same batch opens DM rooms); a reply in the
    thread before then is handled again shortly (see test_checkins). A `checkin status`
    answer is delivered in a later batch: once it arrives, the thread is known.
    """
    who = c.people[name]
    post = await who.wait_event(c.room, c.from_bot(f"Check-in: {prompt}"))
    await who.say(c.room, "!checkin status")
    await who.wait_event(await c.dm(name), c.from_bot("0 answered"))
    return str(post["event_id"])


async def seen_all(c: Community, name: str) -> list[str]:
    """Everything the bot said in `name`'s DM, once a marker sent now has been answered there.

    The marker's answer is delivered after every message queued before it, so anything the
    bot sent twice would be in the DM by then.
    """
    who, dm = c.people[name], await c.dm(name)
    before = len(who.events(dm, c.from_bot("me tz <zone>")))
    await who.say(dm, "!help me")
    await who.until(lambda: len(who.events(dm, c.from_bot("me tz <zone>"))) > before)
    return [e["content"]["body"] for e in who.events(dm, c.from_bot())]


async def test_a_round_answered_in_the_thread_and_by_dm_is_summed_up_in_the_room(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    prompt = "What brought you here?"
    async with community(
        synapse, matrix_users, tmp_path, "alice", "bob", "carol", exempt_from_rate_limit=True
    ) as c:
        alice, bob, carol = (c.people[n] for n in ("alice", "bob", "carol"))
        await carol.say(c.room, "Hello all, carol here")  # the bot meets carol: she is asked
        await alice.say(c.room, f'!checkin open "{prompt}" --dm')

        root = await round_thread(c, "bob", prompt)
        await bob.say(c.room, "The people", thread=root)
        dm = await c.dm("carol")
        await carol.wait_event(dm, c.from_bot(prompt))
        await carol.say(dm, "Curiosity, mostly")
        await bob.wait_event(await c.dm("bob"), c.from_bot(ANSWER_IN))
        await carol.wait_event(dm, c.from_bot(ANSWER_IN))

        await alice.say(c.room, "!checkin close")
        summary = await alice.wait_event(c.room, c.from_bot("Check-in closed"))

    body = summary["content"]["body"]
    assert "2 answers, 0 passes" in body
    assert ": The people" in body and ": Curiosity, mostly" in body


async def test_a_breakout_of_six_into_two_rooms_reports_back_to_the_main_room(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    """The time box runs on a FakeClock that only the test moves.

    Everything else happens in real time (the sync loop, the outbox, Synapse), but the join
    window, the minute of talk and the report-back window pass exactly when the test has
    seen what must come first: no wall-clock wait, no race with a timer, and the test takes
    seconds rather than the minutes the shortest real breakout lasts.
    """
    names = ("alice", "bob", "carol", "dave", "erin", "frank")
    provocation = "What would make this place better?"
    clock = FakeClock(datetime.now(UTC))
    async with community(
        synapse,
        matrix_users,
        tmp_path,
        *names,
        in_space=True,
        clock=clock,
        exempt_from_rate_limit=True,
    ) as c:
        people = [c.people[n] for n in names]
        alice, bob, carol, dave, erin, frank = people
        await alice.say(
            c.room, f'!breakout 2 groups "{provocation}" --minutes 1 --report-minutes 1'
        )
        call = await bob.wait_event(c.room, c.from_bot("Breakout starting!"))
        # Bob's and carol's `join` are answered after the call's delivery was recorded, so
        # reactions to the call count from then on.
        await bob.say(c.room, "join")
        await carol.say(c.room, "join")
        await carol.wait_event(await c.dm("carol"), c.from_bot("You're in"))
        for reacting in (dave, erin, frank):
            await reacting.react(c.room, call["event_id"], "👍")
        await alice.say(c.room, "join")  # after everyone else's: her answer means all are in
        await alice.wait_event(await c.dm("alice"), c.from_bot("You're in"))

        clock.advance(timedelta(minutes=1))  # the call closes: the bot splits and opens rooms
        rooms = {p.user_id: await p.accept_invite(_breakout_invite) for p in people}
        for p in people:
            await p.wait_event(rooms[p.user_id], c.from_bot(provocation))
        groups = {room: [p for p in people if rooms[p.user_id] == room] for room in rooms.values()}
        assert sorted(len(g) for g in groups.values()) == [3, 3]
        for room in groups:
            child = await alice.client.room_get_state_event(c.space or "", "m.space.child", room)
            assert isinstance(child, RoomGetStateEventResponse) and child.content.get("via")

        clock.advance(timedelta(minutes=1))  # the minute is up: each group is asked to report
        reports = {}
        for n, (room, members) in enumerate(groups.items(), start=1):
            await members[0].wait_event(room, c.from_bot("Time is up"))
            reports[room] = f"Group idea {n}: more pairing"
            prefix = "report" if n == 1 else "!report"  # a plain line, and the command
            await members[-1].say(room, f"{prefix} {reports[room]}")
            await members[0].wait_event(room, c.from_bot("sent your group's report"))

        clock.advance(timedelta(minutes=1))  # the report-back window closes
        collated = await bob.wait_event(c.room, c.from_bot("Breakout reports (2 groups)"))
        for room, members in groups.items():
            await members[0].wait_event(room, c.from_bot("archived"))

    body = collated["content"]["body"]
    assert f"The question: {provocation}" in body
    assert all(text in body for text in reports.values())
    announced = bob.events(c.room, c.from_bot("Breakout: 6 people in 2 groups"))
    assert len(announced) == 1


def _breakout_invite(_room: str, state: list[Event]) -> bool:
    return any(
        e.get("type") == "m.room.name" and str(e["content"].get("name", "")).startswith("Breakout")
        for e in state
    )


async def test_answers_sent_while_the_bot_was_down_count_once_after_the_restart(
    synapse: SynapseServer,
    matrix_users: dict[str, MatrixUser],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompt = "One word for this week?"
    async with community(
        synapse,
        matrix_users,
        tmp_path,
        "alice",
        "bob",
        "carol",
        "dave",
        exempt_from_rate_limit=True,
    ) as c:
        alice, bob, carol, dave = (c.people[n] for n in ("alice", "bob", "carol", "dave"))
        await alice.say(c.room, f'!checkin open "{prompt}"')
        root = await round_thread(c, "bob", prompt)
        await bob.say(c.room, "Busy", thread=root)
        await bob.wait_event(await c.dm("bob"), c.from_bot(ANSWER_IN))

        await c.stop()
        # More than one sync's worth: the first answers come through the gap (/messages).
        monkeypatch.setattr(MatrixAdapter, "timeline_limit", 2)
        await carol.say(c.room, "Hopeful", thread=root)
        await dave.say(c.room, "!checkin Rested")
        await alice.say(c.room, "!checkin close")
        await c.start()

        summary = await alice.wait_event(c.room, c.from_bot("Check-in closed"))
        dms = {name: await seen_all(c, name) for name in ("bob", "carol", "dave")}

    body = summary["content"]["body"]
    assert "3 answers, 0 passes" in body
    assert all(f": {word}" in body for word in ("Busy", "Hopeful", "Rested"))
    for name, said in dms.items():
        acks = [s for s in said if "Thanks" in s]
        assert len(acks) == 1 and ANSWER_IN in acks[0], (name, said)
    assert len(alice.events(c.room, c.from_bot("Check-in closed"))) == 1


async def test_a_check_in_answer_in_an_encrypted_room_is_read_and_counted(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    prompt = "How are you arriving?"
    bot = matrix_users["communitybot"]
    async with community(
        synapse, matrix_users, tmp_path / "bot", "frank", encrypted=tmp_path / "keys"
    ) as c:
        frank = c.people["frank"]
        await frank.wait_event(c.room, _joined(bot.user_id))
        await frank.say(c.room, f'!checkin open "{prompt}"')
        post = await frank.wait_event(c.room, c.from_bot(f"Check-in: {prompt}"))
        answer = await frank.say(c.room, "!checkin Slowly, with tea")
        await frank.say(c.room, "!checkin close")
        summary = await frank.wait_event(c.room, c.from_bot("Check-in closed"))

    assert "1 answer, 0 passes" in summary["content"]["body"]
    assert ": Slowly, with tea" in summary["content"]["body"]
    assert {answer, post["event_id"], summary["event_id"]} <= frank.decrypted, "all encrypted"


def _joined(user_id: str) -> Callable[[Event], bool]:
    def pred(event: Event) -> bool:
        return bool(
            event.get("type") == "m.room.member"
            and event.get("state_key") == user_id
            and event["content"].get("membership") == "join"
        )

    return pred


async def test_a_nudge_reaches_a_member_in_their_dm_once(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    """Scheduled for two hours ahead on the bot's FakeClock, then the clock is moved there."""
    text = "Session tonight at 19:00: bring one question"
    clock = FakeClock(datetime.now(UTC))
    async with community(
        synapse,
        matrix_users,
        tmp_path,
        "alice",
        "bob",
        clock=clock,
        exempt_from_rate_limit=True,
    ) as c:
        alice, bob = c.people["alice"], c.people["bob"]
        await bob.say(c.room, "Hi all, bob here")  # the bot meets bob: he is a member
        await alice.say(c.room, f'!nudge "{text}" --at "in 2h" --to members')
        await alice.wait_event(c.room, c.from_bot("goes to all members"))

        clock.advance(timedelta(hours=2))
        dm = await c.dm("bob")
        await bob.wait_event(dm, c.from_bot(text))
        said = await seen_all(c, "bob")

    assert [s for s in said if text in s] == [text], said
    assert not bob.events(c.room, c.from_bot(text)), "a nudge is private"


async def test_thread_edits_and_plain_replies_to_the_post_are_answers(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    """As members use Element: an answer edited in the thread replaces it; a plain reply
    (not in the thread) to the round's post answers too."""
    prompt = "What are you reading?"
    async with community(
        synapse, matrix_users, tmp_path, "alice", "bob", "carol", exempt_from_rate_limit=True
    ) as c:
        alice, bob, carol = (c.people[n] for n in ("alice", "bob", "carol"))
        await alice.say(c.room, f'!checkin open "{prompt}"')
        root = await round_thread(c, "bob", prompt)
        first = await bob.say(c.room, "A novel", thread=root)
        await bob.wait_event(await c.dm("bob"), c.from_bot(ANSWER_IN))
        await bob.edit(c.room, first, "A novel about whales")
        await bob.wait_event(await c.dm("bob"), c.from_bot("your answer is updated"))
        await carol.send(
            c.room,
            {
                "msgtype": "m.text",
                "body": f"> <{c.bot.user_id}> Check-in: {prompt}\n\nPoems, mostly",
                "m.relates_to": {"m.in_reply_to": {"event_id": root}},
            },
        )
        await carol.wait_event(await c.dm("carol"), c.from_bot(ANSWER_IN))
        await alice.say(c.room, "!checkin close")
        summary = await alice.wait_event(c.room, c.from_bot("Check-in closed"))
    body = summary["content"]["body"]
    assert "2 answers, 0 passes" in body
    assert ": A novel about whales" in body and ": Poems, mostly" in body
    assert ": A novel\n" not in body + "\n"
