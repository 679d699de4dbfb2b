"""Notes between processes on one PostgreSQL (`LISTEN`/`NOTIFY`): a note reaches the other
processes but never comes back to its sender, and a listening connection the server drops is
made again, every listener told to look again (`RESYNC`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from bot.pubsub import RESYNC, PubSub


class Ear:
    """What one process hears on a topic, with a way to wait for the next thing."""

    def __init__(self, pubsub: PubSub, topic: str) -> None:
        self.heard: list[Any] = []
        self.changed = asyncio.Event()
        pubsub.subscribe(topic, self.hear)

    def hear(self, data: Any) -> None:
        self.heard.append(data)
        self.changed.set()

    async def until(self, count: int) -> list[Any]:
        async with asyncio.timeout(20):
            while len(self.heard) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.heard


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[PubSub, PubSub]]:
    """Two processes' pubsubs on one schema; the first's connections are named, to be found."""
    first, second = PubSub(f"{postgres_url}&application_name=pubsub-first"), PubSub(postgres_url)
    await first.start()
    await second.start()
    yield first, second
    await first.stop()
    await second.stop()


async def test_a_note_reaches_the_other_process_and_not_its_sender(
    two: tuple[PubSub, PubSub],
) -> None:
    first, second = two
    at_first, at_second = Ear(first, "web"), Ear(second, "web")
    first.publish("web", {"room": "main", "n": 1})
    first.publish("web", "x" * 6_000)  # two notes too big for one payload: sent as two
    assert await at_second.until(2) == [{"room": "main", "n": 1}, "x" * 6_000]
    second.publish("web", "from the second")
    # Notes arrive in order: had the first heard its own, they would have come before this.
    assert await at_first.until(1) == ["from the second"]


async def test_a_dropped_listening_connection_is_made_again_and_listeners_resync(
    two: tuple[PubSub, PubSub], postgres_server: str
) -> None:
    first, second = two
    at_first = Ear(first, "wake")
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'pubsub-first' AND query LIKE 'LISTEN%'"
        ).fetchall()
    assert dropped == [(True,)]
    assert await at_first.until(1) == [RESYNC]
    second.publish("wake", ["outbox:web"])
    assert await at_first.until(2) == [RESYNC, ["outbox:web"]]
