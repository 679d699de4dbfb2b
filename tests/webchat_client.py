"""A small client of the web chat API for tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx


class ChatClient:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, room: str, user: str, text: str, thread: str | None = None) -> str:
        body: dict[str, Any] = {"room": room, "user": user, "text": text}
        if thread is not None:
            body["thread"] = thread
        r = await self.http.post("/api/chat/messages", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def messages(self, room: str, user: str, after: str = "0") -> list[dict[str, Any]]:
        r = await self.http.get(
            "/api/chat/messages", params={"room": room, "user": user, "after": after}
        )
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["messages"]
        return found

    async def wait_for(
        self,
        room: str,
        user: str,
        pred: Callable[[dict[str, Any]], bool],
        after: str = "0",
        deadline: float = 10.0,
    ) -> dict[str, Any]:
        """Poll until a message matching `pred` appears, failing after `deadline` seconds."""
        async with asyncio.timeout(deadline):
            while True:
                for m in await self.messages(room, user, after):
                    if pred(m):
                        return m
                await asyncio.sleep(0.02)
