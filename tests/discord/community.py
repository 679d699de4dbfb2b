"""The real `community-bot run` process on the fake Discord, and its members."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.bot_process import bot_process
from tests.discord import payloads as p
from tests.discord.fake_discord import TOKEN, FakeDiscord, fake_discord

T = TypeVar("T")
DEADLINE_S = 30.0

ADA = "1100000000000000200"
"""The organiser."""
PEOPLE = {
    ADA: "Ada",
    "1100000000000000201": "Bea",
    "1100000000000000202": "Cyd",
    "1100000000000000203": "Dan",
    "1100000000000000204": "Eve",
    "1100000000000000205": "Fay",
    "1100000000000000206": "Gus",
}
BEA, CYD, DAN, EVE, FAY, GUS = list(PEOPLE)[1:]


def config_text(fake: FakeDiscord, data: Path, workers: int = 4) -> str:
    return f"""
[community]
name = "Discord community"
timezone = "Europe/London"
organisers = ["discord:{ADA}"]

[storage]
data_dir = "{data}"

[web]
host = "127.0.0.1"
auth = "open"

[delivery]
workers = {workers}

[discord]
token_env = "DISCORD_TEST_TOKEN"
guilds = ["{p.GUILD}"]
message_content = true
members_intent = true
api_base = "{fake.api_base}"
gateway = "{fake.gateway}"
"""


async def until(check: Callable[[], T | None], what: str, deadline: float = DEADLINE_S) -> T:
    """Poll `check` until it returns something truthy, failing after `deadline` seconds."""
    started = time.monotonic()
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() - started > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Community:
    fake: FakeDiscord
    log: list[str] = field(default_factory=list)
    """What the bot wrote on stderr (its log)."""

    def bot_posts(self, channel: str = p.CHANNEL) -> list[dict[str, Any]]:
        return [
            self.fake.messages[m]
            for m in self.fake.by_channel.get(channel, [])
            if self.fake.messages[m]["author"]["id"] == p.BOT
        ]

    async def post(self, containing: str, channel: str = p.CHANNEL) -> dict[str, Any]:
        """The bot's post in `channel` whose text contains `containing`."""
        return await until(
            lambda: next(
                (m for m in self.bot_posts(channel) if containing in self.fake._text(m)), None
            ),
            f"a post with {containing!r}",
        )

    async def dm(self, user: str, containing: str) -> dict[str, Any]:
        """The bot's direct message to `user` containing `containing`."""
        return await self.post(containing, channel=self.fake.dm_channel(user))

    async def followup(self, iid: str, containing: str = "") -> dict[str, Any]:
        """The bot's answer to an interaction (its edited original or a follow-up)."""

        def found() -> dict[str, Any] | None:
            answers = [f for f in self.fake.followups if f["interaction"] == iid]
            if iid in self.fake.originals:
                answers.append(self.fake.originals[iid])
            return next((a for a in answers if containing in self.fake._text(a)), None)

        return await until(found, f"an answer to {iid} with {containing!r}")

    async def command(self, user: str, name: str, sub: str | None = None, **options: Any) -> str:
        """`user` runs a slash command; it must be acknowledged within 3 seconds."""
        typed = {str: 3, int: 4, bool: 5}
        given = [{"type": typed[type(v)], "name": k, "value": v} for k, v in options.items()]
        if sub is not None:
            given = [{"type": 1, "name": sub, "options": given}]
        iid = self.fake.slash(user, name, given)
        await self.fake.answered_within(iid, 3.0)
        return iid


@asynccontextmanager
async def community(tmp_path: Path) -> AsyncIterator[Community]:
    async with fake_discord() as fake:
        fake.users.update(PEOPLE)
        data = tmp_path / "data"
        config = tmp_path / "discord.toml"
        config.write_text(config_text(fake, data))
        env = {"DISCORD_TEST_TOKEN": TOKEN}
        async with bot_process(data, config, env) as (proc, _chat):
            c = Community(fake)
            assert proc.stderr is not None
            reader = asyncio.create_task(_read(proc.stderr, c.log))
            try:
                await until(lambda: fake.commands.get(p.GUILD), "slash commands synced")
                yield c
            finally:
                proc.terminate()
                await proc.wait()
                await reader
        assert fake.problems == [], "requests the spec does not allow"


async def _read(stream: asyncio.StreamReader, into: list[str]) -> None:
    """Drain the bot's log so it never blocks on a full pipe."""
    async for line in stream:
        into.append(line.decode(errors="replace"))
