"""The whole bot on a real Synapse, with members on real nio clients.

Each test creates its own rooms and its own bot database (so its own sync token and DM
rooms); the homeserver and the accounts are shared by the session. A ritual's scenario
(a check-in answered in the thread and by DM, a breakout into rooms, a reminder by DM) is
written the same way: `community(...)`, then `say` and `wait_event` as its members.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.contract import Place, PlatformName, SpaceId
from adapters.matrix import MatrixAdapter
from bot.models import OutboxRow, OutboxState
from tests.matrix.people import (
    bot_config,
    bot_running,
    community,
    highlights,
    person,
    sent_by,
    throttled_account,
)
from tests.synapse import MatrixUser, SynapseServer

MATRIX = PlatformName("matrix")

pytestmark = pytest.mark.matrix

HELP = "What you can do"


async def test_help_is_answered_in_a_dm_created_on_first_use_and_kept_across_restarts(
    synapse: SynapseServer,
    matrix_users: dict[str, MatrixUser],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with community(synapse, matrix_users, tmp_path, "alice") as c:
        alice = c.people["alice"]
        await alice.say(c.room, "!help")
        dm = await c.dm("alice")
        reply = await alice.wait_event(dm, c.from_bot(HELP))
        assert "role <catalyst|organiser|member> <user>" in reply["content"]["body"]
        assert reply["content"]["m.mentions"] == {"user_ids": []}

        # While the bot is down: more than one sync's worth of messages, two of them commands.
        await c.stop()
        monkeypatch.setattr(MatrixAdapter, "timeline_limit", 3)
        await alice.say(c.room, "!help role")
        for n in range(4):
            await alice.say(c.room, f"chatter {n}")
        await alice.say(c.room, "!help me")
        await c.start()
        await alice.wait_event(dm, c.from_bot("me tz <zone>"))
        await alice.wait_event(dm, c.from_bot("role <catalyst"))

        await c.restart()
        await alice.say(c.room, "!help")
        await alice.until(lambda: len(alice.events(dm, c.from_bot(HELP))) == 4)

    assert not alice.invites, "the DM room was remembered, not created again"
    replies = [e["content"]["body"] for e in alice.events(dm, c.from_bot())]
    assert len(replies) == 4, replies  # help, help role, help me, help: none twice, none lost
    full = [r for r in replies if "me tz <zone>" in r and "role <catalyst" in r]
    assert len(full) == 2
    # `help role` was further back than one sync's timeline: it came through the gap.
    assert sum("role <catalyst" in r and "me tz" not in r for r in replies) == 1
    assert sum("me tz" in r and "role <catalyst" not in r for r in replies) == 1


async def test_first_start_does_not_answer_history(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    async with community(synapse, matrix_users, tmp_path, "alice", start=False) as c:
        alice = c.people["alice"]
        await alice.say(c.room, "!help from before the bot came")
        await c.start()
        await alice.say(c.room, "!help me")
        dm = await c.dm("alice")
        await alice.wait_event(dm, c.from_bot("me tz <zone>"))
        await alice.say(c.room, "!help role")
        await alice.wait_event(dm, c.from_bot("role <catalyst"))
    assert len(alice.events(dm, c.from_bot())) == 2


async def test_a_command_in_a_thread_is_answered_in_the_thread_and_room_never_pings(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    async with community(synapse, matrix_users, tmp_path, "alice", "bob") as c:
        alice, bob = c.people["alice"], c.people["bob"]
        await bob.client.set_displayname("@room Bob")
        await alice.wait_event(  # Synapse copies a new name into each room in the background
            c.room,
            lambda e: (
                e.get("type") == "m.room.member"
                and e.get("state_key") == bob.user_id
                and (e.get("content") or {}).get("displayname") == "@room Bob"
            ),
        )
        root = await alice.say(c.room, "Roles for this season")
        await bob.say(c.room, "hello, I'm new")
        await alice.wait_event(c.room, sent_by(bob.user_id, containing="new"))
        await alice.say(c.room, "!role catalyst matrix:@bob:localhost", thread=root)
        reply = await alice.wait_event(c.room, c.from_bot("is now a catalyst"))

    content = reply["content"]
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == root
    assert content["body"].startswith("@\u2060room Bob is now a catalyst")
    assert content["m.mentions"] == {"user_ids": []}
    notes = [n for n in await alice.notifications() if n["event"]["event_id"] == reply["event_id"]]
    assert notes, "the reply notified alice as an ordinary message"
    assert not any(highlights(n) for n in notes), notes


async def test_a_burst_over_synapses_limit_arrives_complete_and_once(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    """Synapse throttles the bot (10 a second, no burst); the outbox waits as told."""
    bot = await throttled_account(synapse, per_second=10)
    user_id = bot.user_id
    texts = [f"burst {n}" for n in range(6)]
    async with person(synapse, matrix_users["erin"]) as erin:
        room = await erin.create_room("Busy evening", invite=(user_id,))
        # Told it is exempt, the bot sends as fast as it can: only Synapse holds it back.
        config = bot_config(synapse, bot, tmp_path, rooms=[room], exempt_from_rate_limit=True)
        async with bot_running(config) as run:
            async with run.bot.transaction() as scope:
                for text in texts:
                    await scope.send(Place(MATRIX, SpaceId(room)), text, key=f"burst:{text}")
            await erin.until(lambda: len(erin.events(room, sent_by(user_id))) == len(texts))
            async with asyncio.timeout(20):  # the last send is recorded just after it arrives
                while True:
                    async with run.bot.db.reader() as s:
                        rows = (await s.exec(select(OutboxRow))).all()
                    if all(r.state == OutboxState.SENT for r in rows):
                        break
                    await asyncio.sleep(0.05)

    bodies = sorted(e["content"]["body"] for e in erin.events(room, sent_by(user_id)))
    assert bodies == texts, "each message once"
    assert {r.state for r in rows} == {OutboxState.SENT}
    assert any("M_LIMIT_EXCEEDED" in (r.last_error or "") for r in rows), "Synapse did throttle"
