"""A breakout across the web chat and another platform, in the real `community-bot run` process.

Three people are in the web chat's main room and three in the other platform's community
space (a Matrix room on the suite's real Synapse, or the fake Slack's #general); the
community's spaces are both. `breakout size 3 ... --from present --in community` makes two
groups, each with people on both platforms, each with a room on both; what is said in one
room of a group reaches its other room once, named, pinging no one, never back where it came
from, and an edit there edits the web chat's copy. Waits are on messages with deadlines,
never sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.community.conftest import DEADLINE_S, Community, from_bot

ON_WEB = ("dave", "erin", "frank")
ON_OTHER = ("alice", "bob", "carol")
QUESTION = "What should we try next month?"


@pytest.fixture
def there() -> tuple[str, ...]:
    return ON_OTHER


def _same_as(copy: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The web chat's copy once edited."""
    return lambda msg: msg["id"] == copy["id"] and msg["text"] != copy["text"]


def _group_of(text: str) -> int:
    found = re.search(r"Breakout group (\d+) of", text)
    assert found, text
    return int(found.group(1))


async def test_six_on_two_platforms_make_mixed_groups_relayed_both_ways_once(
    community_on: Community,
) -> None:
    c = community_on
    other = c.other
    for name in ON_WEB:  # present in the web chat's main room: they take part
        await c.web_says(name, f"hello, {name} here")
    await c.web_says("ada", f'/breakout size 3 "{QUESTION}" --from present --in community')

    async def web_heard(room: str, user: str, containing: str) -> dict[str, Any]:
        return await c.web.wait_for(room, user, from_bot(containing), deadline=DEADLINE_S)

    async def web_bot_texts(room: str, user: str) -> list[str]:
        return [m["text"] for m in await c.web.messages(room, user) if from_bot("")(m)]

    # Each group has a room on each platform: find them by the group's number in the intro.
    web_rooms: dict[int, tuple[str, list[str]]] = {}
    for name in ON_WEB:
        rooms = await c.web.http.get("/api/chat/rooms", params={"user": name})
        [mine] = [r["room"] for r in rooms.json()["rooms"] if r["room"].startswith("main/")]
        intro = await web_heard(mine, name, "Breakout group")
        web_rooms.setdefault(_group_of(intro["text"]), (mine, []))[1].append(name)
    other_rooms: dict[int, tuple[str, list[str]]] = {}
    for name in ON_OTHER:
        space, intro_text = await other.brought_into(name, "Breakout group")
        other_rooms.setdefault(_group_of(intro_text), (space, []))[1].append(name)
    assert sorted(web_rooms) == sorted(other_rooms) == [1, 2], "every group spans both"

    for number in (1, 2):
        web_room, web_people = web_rooms[number]
        space, other_people = other_rooms[number]
        writer, reader = web_people[0], other_people[0]
        hello = f"group {number}: {other.ping} shall we start with the garden?"
        await c.web.post(web_room, writer, hello)
        got, pings = await other.heard(reader, space, "shall we start with the garden")
        assert got == f"{writer} (web): {hello}"
        assert not pings, "the relay pings no one"

        answer = f"group {number}: yes, and the library after"
        said = await other.say(reader, answer, space=space)
        copy = await web_heard(web_room, writer, answer)
        assert copy["text"].endswith(f"({other.platform}): {answer}")
        await other.edit(reader, space, said, f"group {number}: yes, and the market after")
        edited = await c.web.wait_for(web_room, writer, _same_as(copy), deadline=DEADLINE_S)
        assert edited["text"].endswith("the market after")

        # A last word each way: once it has arrived, anything relayed twice would have too.
        await c.web.post(web_room, writer, f"group {number}: done on the web")
        await other.heard(reader, space, f"group {number}: done on the web")
        await other.say(reader, f"group {number}: done on {other.platform}", space=space)
        await web_heard(web_room, writer, f"group {number}: done on {other.platform}")

        assert len(other.bot_texts(reader, space, "shall we start with the garden")) == 1
        web_texts = await web_bot_texts(web_room, writer)
        assert sum(f"group {number}: yes, and" in t for t in web_texts) == 1
        assert not any("shall we start" in t for t in web_texts), "nothing echoed back"
        assert not other.bot_texts(reader, space, answer), "nothing echoed back"
        other_web_room, (other_writer, *_) = web_rooms[3 - number]
        assert not any(
            f"group {number}:" in t for t in await web_bot_texts(other_web_room, other_writer)
        ), "another group hears nothing"
