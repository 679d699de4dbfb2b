"""A breakout across the web chat and Matrix, in the real `community-bot run` process.

Three people are in the web chat's main room and three in a Matrix room (the suite's real
Synapse); the community's spaces are both. `breakout size 3 ... --from present --in
community` makes two groups, each with people on both platforms, each with a room on both;
what is said in one room of a group reaches its other room once, named, never back where
it came from, and a Matrix edit edits the web chat's copy. Waits are on messages with
deadlines, never sleeps.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.translate import WORD_JOINER
from tests.bot_process import bot_process
from tests.matrix.fixtures import BOT_USER
from tests.matrix.people import DEADLINE_S, Event, Person, person, sent_by
from tests.synapse import MatrixUser, SynapseServer
from tests.webchat_client import ChatClient

pytestmark = pytest.mark.matrix

BOT = "community-bot"
ON_WEB = ("dave", "erin", "frank")
ON_MATRIX = ("alice", "bob", "carol")
TOKEN_ENV = "MIXED_BREAKOUT_MATRIX_TOKEN"
QUESTION = "What should we try next month?"


@dataclass
class Mixed:
    web: ChatClient
    people: dict[str, Person]
    room: str
    bot_id: str
    log: list[str]

    async def web_wait(self, room: str, user: str, containing: str) -> dict[str, Any]:
        return await self.web.wait_for(
            room,
            user,
            lambda m: m["user"] == BOT and containing in m["text"],
            deadline=DEADLINE_S,
        )

    async def web_bot_texts(self, room: str, user: str) -> list[str]:
        return [m["text"] for m in await self.web.messages(room, user) if m["user"] == BOT]

    def from_bot(self, containing: str) -> Any:
        return sent_by(self.bot_id, containing=containing)


def _config(data: Path, room: str, synapse: SynapseServer, bot: MatrixUser) -> str:
    return "\n".join(
        [
            "[community]",
            'name = "One community, two platforms"',
            'organisers = ["web:ada"]',
            f'spaces = ["web:main", "matrix:{room}"]',
            "[storage]",
            f'data_dir = "{data}"',
            "[web]",
            'auth = "open"',
            "[matrix]",
            f'homeserver = "{synapse.base_url}"',
            f'user_id = "{bot.user_id}"',
            f'access_token_env = "{TOKEN_ENV}"',
            f'rooms = ["{room}"]',
            "exempt_from_rate_limit = true",
        ]
    )


@pytest.fixture
async def mixed(
    tmp_path: Path, synapse: SynapseServer, matrix_users: dict[str, MatrixUser]
) -> AsyncIterator[Mixed]:
    bot = matrix_users[BOT_USER]
    async with AsyncExitStack() as stack:
        people = {
            n: await stack.enter_async_context(person(synapse, matrix_users[n])) for n in ON_MATRIX
        }
        owner, *others = people.values()
        room = await owner.create_room(
            "Community", invite=(bot.user_id, *(o.user_id for o in others))
        )
        for other in others:
            await other.accept_invite(lambda r, _s: r == room)
        config = tmp_path / "community.toml"
        config.write_text(_config(tmp_path / "data", room, synapse, bot))
        env = {TOKEN_ENV: bot.access_token}
        proc, web = await stack.enter_async_context(bot_process(tmp_path / "data", config, env))
        log: list[str] = []
        assert proc.stderr is not None
        reader = asyncio.create_task(_drain(proc.stderr, log))
        await owner.wait_event(
            room,
            lambda e: (
                e.get("type") == "m.room.member"
                and e.get("state_key") == bot.user_id
                and e["content"].get("membership") == "join"
            ),
        )
        yield Mixed(web, people, room, bot.user_id, log)
        proc.terminate()
        await proc.wait()
        await reader
    text = "".join(log)
    assert "Traceback" not in text, text[-4000:]


async def _drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    async for line in stream:
        into.append(line.decode(errors="replace"))


def _same_as(copy: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The web chat's copy once edited."""
    return lambda msg: msg["id"] == copy["id"] and msg["text"] != copy["text"]


def _group_of(text: str) -> int:
    found = re.search(r"Breakout group (\d+) of", text)
    assert found, text
    return int(found.group(1))


def _breakout_invite(_room: str, state: list[Event]) -> bool:
    return any(
        e.get("type") == "m.room.name" and str(e["content"].get("name", "")).startswith("Breakout")
        for e in state
    )


async def test_six_on_two_platforms_make_mixed_groups_relayed_both_ways_once(
    mixed: Mixed,
) -> None:
    m = mixed
    for name in ON_WEB:  # present in the web chat's main room: they take part
        await m.web.post("main", name, f"hello, {name} here")
    await m.web.post("main", "ada", f'/breakout size 3 "{QUESTION}" --from present --in community')

    # Each group has a room on each platform: find them by the group's number in the intro.
    web_rooms: dict[int, tuple[str, list[str]]] = {}
    for name in ON_WEB:
        rooms = await m.web.http.get("/api/chat/rooms", params={"user": name})
        [mine] = [r["room"] for r in rooms.json()["rooms"] if r["room"].startswith("main/")]
        intro = await m.web_wait(mine, name, "Breakout group")
        number = _group_of(intro["text"])
        web_rooms.setdefault(number, (mine, []))[1].append(name)
    matrix_rooms: dict[int, tuple[str, list[str]]] = {}
    for name, member in m.people.items():
        joined = await member.accept_invite(_breakout_invite)
        intro = await member.wait_event(joined, m.from_bot("Breakout group"))
        number = _group_of(intro["content"]["body"])
        matrix_rooms.setdefault(number, (joined, []))[1].append(name)
    assert sorted(web_rooms) == sorted(matrix_rooms) == [1, 2], "every group spans both"

    for number in (1, 2):
        web_room, web_people = web_rooms[number]
        matrix_room, matrix_people = matrix_rooms[number]
        writer, reader = web_people[0], m.people[matrix_people[0]]
        hello = f"group {number}: @room shall we start with the garden?"
        await m.web.post(web_room, writer, hello)
        got = await reader.wait_event(matrix_room, m.from_bot("shall we start with the garden"))
        inert = hello.replace("@room", f"@{WORD_JOINER}room")
        assert got["content"]["body"] == f"{writer} (web): {inert}"
        assert got["content"]["m.mentions"] == {"user_ids": []}, "the relay pings no one"

        answer = f"group {number}: yes, and the library after"
        said = await reader.say(matrix_room, answer)
        copy = await m.web_wait(web_room, writer, answer)
        assert copy["text"].endswith(f"(matrix): {answer}")
        await reader.edit(matrix_room, said, f"group {number}: yes, and the market after")
        edited = await m.web.wait_for(web_room, writer, _same_as(copy), deadline=DEADLINE_S)
        assert edited["text"].endswith("the market after")

        # A last word each way: once it has arrived, anything relayed twice would have too.
        await m.web.post(web_room, writer, f"group {number}: done on the web")
        await reader.wait_event(matrix_room, m.from_bot(f"group {number}: done on the web"))
        await reader.say(matrix_room, f"group {number}: done on matrix")
        await m.web_wait(web_room, writer, f"group {number}: done on matrix")

        assert len(reader.events(matrix_room, m.from_bot("shall we start with the garden"))) == 1
        web_texts = await m.web_bot_texts(web_room, writer)
        assert sum(f"group {number}: yes, and" in t for t in web_texts) == 1
        assert not any("shall we start" in t for t in web_texts), "nothing echoed back"
        assert not reader.events(matrix_room, m.from_bot(answer)), "nothing echoed back"
        other_web_room = web_rooms[3 - number][0]
        other_writer = web_rooms[3 - number][1][0]
        assert not any(
            f"group {number}:" in t for t in await m.web_bot_texts(other_web_room, other_writer)
        ), "another group hears nothing"
