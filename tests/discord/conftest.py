"""A fake Discord and the adapter connected to it, with a recording sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from adapters.contract import Inbound
from adapters.discord import DiscordAdapter
from bot.config import Secret
from tests.discord.fake_discord import TOKEN, FakeDiscord, fake_discord
from tests.discord.payloads import GUILD

InboundT = TypeVar("InboundT", bound=Inbound)
DEADLINE_S = 15.0


@dataclass
class Connected:
    fake: FakeDiscord
    adapter: DiscordAdapter
    inbound: asyncio.Queue[Inbound] = field(default_factory=asyncio.Queue)

    async def sink(self, event: Inbound) -> None:
        await self.inbound.put(event)

    async def next(self, kind: type[InboundT]) -> InboundT:
        async with asyncio.timeout(DEADLINE_S):
            while True:
                event = await self.inbound.get()
                if isinstance(event, kind):
                    return event


def adapter_for(fake: FakeDiscord, **options: object) -> DiscordAdapter:
    return DiscordAdapter(
        Secret(TOKEN),
        guilds=[GUILD],
        api_base=fake.api_base,
        gateway=fake.gateway,
        guild_ready_timeout=0.05,
        prompts={"energy": "How is your energy today?", "win": "One small win this week?"},
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with fake_discord() as fake:
        yield fake
        assert fake.problems == [], "requests the spec does not allow"


@pytest.fixture
async def connected(discord_fake: FakeDiscord) -> AsyncIterator[Connected]:
    adapter = adapter_for(discord_fake, message_content=True)
    link = Connected(discord_fake, adapter)
    await adapter.start(link.sink)
    try:
        yield link
    finally:
        await adapter.stop()
