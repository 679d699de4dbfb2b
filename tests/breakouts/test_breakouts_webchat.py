"""The breakout ritual through the web chat API of a running bot, on a controllable clock.

Nine people join (by reply, reaction and button), `breakout size 3 "<text>" --minutes 1`
makes three private rooms of three, each room sees the provocation, the half-time warning and
the report-back request on time, two groups report and the main room gets the collation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Running, running
from bot.clock import FakeClock
from bot.config import parse_config
from bot.scheduler import ManualScheduler
from tests.webchat_client import ChatClient

PEOPLE = ["bea", "cal", "dev", "eli", "fay", "gus", "hal", "ivy", "jon"]
PROVOCATION = "What would make this network twice as useful to you?"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class Live:
    run: Running
    clock: FakeClock
    chat: ChatClient

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.run.settle()

    async def post(self, room: str, user: str, text: str) -> None:
        await self.chat.post(room, user, text)
        await self.run.settle()

    async def bot_texts(self, room: str, user: str) -> list[dict[str, Any]]:
        return [m for m in await self.chat.messages(room, user) if m["user"] == "community-bot"]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    config = parse_config(
        {"community": {"organisers": ["web:ada"]}, "storage": {"data_dir": str(tmp_path)}},
        {},
        tmp_path,
    )
    clock = FakeClock(START)
    async with running(
        config, clock=clock, scheduler=ManualScheduler(), serve=True, background=False, port=0
    ) as run:
        assert run.web is not None
        chat = ChatClient(f"http://127.0.0.1:{run.web.port}")
        try:
            yield Live(run, clock, chat)
        finally:
            await chat.close()


async def test_nine_people_three_rooms_time_box_and_collated_reports(live: Live) -> None:
    await live.post("main", "ada", f'/breakout size 3 "{PROVOCATION}" --minutes 1')
    [call] = [m for m in await live.bot_texts("main", "ada") if "Breakout starting" in m["text"]]
    assert call["buttons"] == [{"action": "breakout.join", "value": "1", "label": "Join"}]

    for user in PEOPLE[:5]:
        await live.post("main", user, "join")
    for user in PEOPLE[5:7]:
        r = await live.chat.http.post(
            "/api/chat/reactions",
            json={"room": "main", "user": user, "message": call["id"], "key": "+1"},
        )
        assert r.status_code == 200
    for user in PEOPLE[7:]:
        r = await live.chat.http.post(
            "/api/chat/buttons",
            json={
                "room": "main",
                "user": user,
                "message": call["id"],
                "action": "breakout.join",
                "value": "1",
            },
        )
        assert r.status_code == 200
    await live.run.settle()
    assert "You're in" in (await live.bot_texts("@ivy", "ivy"))[-1]["text"]

    await live.advance(timedelta(seconds=60))
    split_at = START + timedelta(seconds=60)
    room_of: dict[str, str] = {}
    for user in PEOPLE:
        r = await live.chat.http.get("/api/chat/rooms", params={"user": user})
        mine = [x["room"] for x in r.json()["rooms"] if x["room"].startswith("main/")]
        assert len(mine) == 1, (user, mine)
        room_of[user] = mine[0]
    groups: dict[str, list[str]] = {}
    for user, room in room_of.items():
        groups.setdefault(room, []).append(user)
    assert sorted(len(g) for g in groups.values()) == [3, 3, 3]

    for room, members in groups.items():
        for user in members:
            [intro] = await live.bot_texts(room, user)
            assert PROVOCATION in intro["text"]
            assert all(f"@{m}" in intro["text"] for m in members)
        outsider = next(u for u in PEOPLE if u not in members)
        r = await live.chat.http.get("/api/chat/messages", params={"room": room, "user": outsider})
        assert r.status_code == 403

    await live.advance(timedelta(seconds=29))
    for room, members in groups.items():
        assert len(await live.bot_texts(room, members[0])) == 1
    await live.advance(timedelta(seconds=1))
    for room, members in groups.items():
        latest = (await live.bot_texts(room, members[0]))[-1]
        assert latest["text"] == "Half time: 30 seconds left."
        assert datetime.fromisoformat(latest["ts"]) == split_at + timedelta(seconds=30)

    await live.advance(timedelta(seconds=30))
    for room, members in groups.items():
        texts = await live.bot_texts(room, members[0])
        assert [t["text"][:12] for t in texts[1:]] == ["Half time: 3", "Time is up. "]
        assert datetime.fromisoformat(texts[-1]["ts"]) == split_at + timedelta(minutes=1)

    rooms = sorted(groups)
    reports = {rooms[0]: "Meet monthly, in person", rooms[1]: "A shared map of who does what"}
    for room, text in reports.items():
        await live.post(room, groups[room][1], f"report {text}")
    await live.advance(timedelta(minutes=3) - timedelta(seconds=1))
    assert not any("Breakout reports" in m["text"] for m in await live.bot_texts("main", "ada"))
    await live.advance(timedelta(seconds=1))
    [collated] = [
        m["text"] for m in await live.bot_texts("main", "ada") if "Breakout reports" in m["text"]
    ]
    assert f"The question: {PROVOCATION}" in collated
    for room, members in groups.items():
        block = collated.split(f"({', '.join(sorted(members, key=PEOPLE.index))}):\n")[1]
        expected = reports.get(room, "no report")
        assert block.split("\n")[0] == expected
    assert collated.count("no report") == 1


async def test_a_late_joiner_is_let_into_the_smallest_room(live: Live) -> None:
    await live.post("main", "ada", '/breakout 2 groups "Why?" --minutes 5')
    for user in PEOPLE[:5]:
        await live.post("main", user, "join")
    await live.advance(timedelta(seconds=60))
    await live.post("main", "kim", "join")
    told = (await live.bot_texts("@kim", "kim"))[-1]["text"]
    room = told.split("your group's room is ")[1].split(".")[0]
    r = await live.chat.http.get("/api/chat/rooms", params={"user": "kim"})
    assert room in [x["room"] for x in r.json()["rooms"]]
    texts = [m["text"] for m in await live.bot_texts(room, "kim")]
    assert any("Why?" in t for t in texts) and "@kim joined your group." in texts
    intro = next(t for t in texts if t.startswith("Breakout group"))
    assert intro.split("\n")[0].count("@") == 2, "kim joins the group of two, not of three"
