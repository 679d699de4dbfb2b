"""The whole bot on a real Synapse, with members on real nio clients.

Each test creates its own rooms and its own bot database (so its own sync token and DM
rooms); the homeserver and the accounts are shared by the session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix import MatrixAdapter
from tests.matrix.people import Person, bot_config, bot_running, highlights, person, sent_by
from tests.synapse import MatrixUser, SynapseServer

pytestmark = pytest.mark.matrix

HELP = "What you can do"


@pytest.fixture
async def alice(synapse: SynapseServer, matrix_users: dict[str, MatrixUser]):  # type: ignore[no-untyped-def]
    async with person(synapse, matrix_users["alice"]) as p:
        yield p


@pytest.fixture
async def bob(synapse: SynapseServer, matrix_users: dict[str, MatrixUser]):  # type: ignore[no-untyped-def]
    async with person(synapse, matrix_users["bob"]) as p:
        yield p


async def community_room(owner: Person, bot: MatrixUser, *others: Person) -> str:
    """A room the organiser created and invited the bot (and `others`) to."""
    room = await owner.create_room(
        "Community",
        invite=(bot.user_id, *(o.user_id for o in others)),
        # A moderator bot, so an @room it sent would be allowed to ping everyone.
        power_level_override={"users": {bot.user_id: 50}},
    )
    for other in others:
        await other.accept_invite(lambda r, _s: r == room)
    return room


async def test_help_is_answered_in_a_dm_created_on_first_use_and_kept_across_restarts(
    synapse: SynapseServer,
    matrix_users: dict[str, MatrixUser],
    alice: Person,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = matrix_users["communitybot"]
    room = await community_room(alice, bot)
    config = bot_config(synapse, bot, tmp_path, rooms=[room])
    async with bot_running(config):
        await alice.say(room, "!help")
        dm = await alice.accept_dm_from(bot.user_id)
        reply = await alice.wait_event(dm, sent_by(bot.user_id, containing=HELP))
        assert "role <catalyst|organiser|member> <user>" in reply["content"]["body"]
        assert reply["content"]["m.mentions"] == {"user_ids": []}

    # While the bot is down: more than one sync's worth of messages, two of them commands.
    monkeypatch.setattr(MatrixAdapter, "timeline_limit", 3)
    await alice.say(room, "!help role")
    for n in range(4):
        await alice.say(room, f"chatter {n}")
    await alice.say(room, "!help me")

    async with bot_running(config):
        await alice.wait_event(dm, sent_by(bot.user_id, containing="me tz <zone>"))
        await alice.wait_event(dm, sent_by(bot.user_id, containing="role <catalyst"))
    async with bot_running(config):
        await alice.say(room, "!help")
        await alice.until(lambda: len(alice.events(dm, sent_by(bot.user_id, containing=HELP))) == 4)

    assert not alice.invites, "the DM room was remembered, not created again"
    replies = [e["content"]["body"] for e in alice.events(dm, sent_by(bot.user_id))]
    assert len(replies) == 4, replies  # help, help role, help me, help: none twice, none lost
    full = [r for r in replies if "me tz <zone>" in r and "role <catalyst" in r]
    assert len(full) == 2
    # `help role` was further back than one sync's timeline: it came through the gap.
    assert sum("role <catalyst" in r and "me tz" not in r for r in replies) == 1
    assert sum("me tz" in r and "role <catalyst" not in r for r in replies) == 1


async def test_first_start_does_not_answer_history(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], alice: Person, tmp_path: Path
) -> None:
    bot = matrix_users["communitybot"]
    room = await community_room(alice, bot)
    await alice.say(room, "!help from before the bot came")
    async with bot_running(bot_config(synapse, bot, tmp_path, rooms=[room])):
        await alice.say(room, "!help me")
        dm = await alice.accept_dm_from(bot.user_id)
        await alice.wait_event(dm, sent_by(bot.user_id, containing="me tz <zone>"))
        await alice.say(room, "!help role")
        await alice.wait_event(dm, sent_by(bot.user_id, containing="role <catalyst"))
    assert len(alice.events(dm, sent_by(bot.user_id))) == 2


async def test_a_command_in_a_thread_is_answered_in_the_thread_and_room_never_pings(
    synapse: SynapseServer,
    matrix_users: dict[str, MatrixUser],
    alice: Person,
    bob: Person,
    tmp_path: Path,
) -> None:
    bot = matrix_users["communitybot"]
    room = await community_room(alice, bot, bob)
    await bob.client.set_displayname("@room Bob")
    async with bot_running(bot_config(synapse, bot, tmp_path, rooms=[room])):
        root = await alice.say(room, "Roles for this season")
        await bob.say(room, "hello, I'm new")
        await alice.wait_event(room, sent_by(bob.user_id, containing="new"))
        await alice.say(room, "!role catalyst matrix:@bob:localhost", thread=root)
        reply = await alice.wait_event(room, sent_by(bot.user_id, containing="is now a catalyst"))

    content = reply["content"]
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == root
    assert content["body"].startswith("@\u2060room Bob is now a catalyst")
    assert content["m.mentions"] == {"user_ids": []}
    notes = [n for n in await alice.notifications() if n["event"]["event_id"] == reply["event_id"]]
    assert notes, "the reply notified alice as an ordinary message"
    assert not any(highlights(n) for n in notes), notes
