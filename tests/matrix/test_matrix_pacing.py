"""A first DM costs the homeserver two requests (the room, then the message), and Synapse
counts a room's creation against the same limit as messages: the adapter paces both."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nio import RoomCreateResponse, RoomSendResponse

from adapters.contract import Direct, SendMessage, SendRate, UserId
from adapters.matrix import MatrixAdapter
from adapters.matrix.translate import PLATFORM
from bot.config import Secret
from tests.contract.subjects import open_db


class Homeserver:
    """Stands in for nio's client: answers at once, noting when each request came."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.requests: list[tuple[str, float]] = []
        self.olm = None
        self.rooms: dict[str, Any] = {}

    async def room_create(self, **_: Any) -> RoomCreateResponse:
        self.requests.append(("create", self.loop.time()))
        return RoomCreateResponse(room_id=f"!dm{len(self.requests)}:localhost")

    async def room_send(self, room_id: str, *_: Any, **__: Any) -> RoomSendResponse:
        self.requests.append(("send", self.loop.time()))
        return RoomSendResponse(event_id=f"$e{len(self.requests)}", room_id=room_id)


async def test_creating_dm_rooms_is_paced_with_the_messages(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    try:
        adapter = MatrixAdapter(
            db,
            homeserver="http://127.0.0.1:9",
            user_id="@communitybot:localhost",
            access_token=Secret("unused"),
            send_rate=SendRate(per_second=50.0, burst=4),
        )
        server = Homeserver()
        adapter.client = server  # type: ignore[assignment]
        for n in range(10):  # ten first DMs: twenty requests
            to = Direct(PLATFORM, UserId(f"@member{n}:localhost"))
            await adapter.perform(SendMessage(key=f"dm:{n}", to=to, text=("Hello",)))
    finally:
        await db.close()
    kinds = [kind for kind, _ in server.requests]
    assert kinds == ["create", "send"] * 10
    # Twenty requests at 50 a second with a burst of 2: 18 / 50 s at least, a lower bound
    # that a slower machine only lengthens. Pacing the messages alone would allow 8 / 50 s.
    assert server.requests[-1][1] - server.requests[0][1] >= 18 / 50
