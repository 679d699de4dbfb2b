"""A Slack community for the ritual scenarios: the fake Slack, some members, and the real
`community-bot run` process configured to talk to it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.bot_process import ROOT, free_port
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, GENERAL, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PEOPLE = {
    "alice": "U0ALICE",
    "bob": "U0BOB",
    "carol": "U0CAROL",
    "dave": "U0DAVE",
    "erin": "U0ERIN",
    "frank": "U0FRANK",
    "grace": "U0GRACE",
}


@dataclass
class SlackCommunity:
    fake: FakeSlack
    process: asyncio.subprocess.Process
    log: Path
    port: int

    def id(self, name: str) -> str:
        return PEOPLE[name]

    async def slash(self, name: str, command: str, text: str, channel: str = GENERAL) -> None:
        await self.fake.slash(PEOPLE[name], channel, command, text)

    async def say(self, name: str, text: str, channel: str = GENERAL, thread: str | None = None):
        return await self.fake.say(PEOPLE[name], channel, text, thread)

    async def from_bot(self, containing: str, channel: str = GENERAL, thread: str | None = None):
        """The bot's message containing `containing`, once it is there."""
        return await self.fake.until(lambda: self.fake.bot_message(channel, containing, thread))

    async def told(self, name: str, containing: str) -> dict:
        """A private answer to `name`: ephemeral where they spoke, or in their DM."""
        user = PEOPLE[name]
        dm = self.fake.dm_channel(user)
        return await self.fake.until(
            lambda: self.fake.ephemeral(user, containing) or self.fake.bot_message(dm, containing)
        )


def config_text(fake: FakeSlack, data: Path, port: int, *, http: bool, **slack: str) -> str:
    lines = [
        "[community]",
        'name = "Slack test community"',
        'organisers = ["slack:U0ALICE"]',
        "[storage]",
        f'data_dir = "{data}"',
        "[web]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "[slack]",
        f'mode = "{"http" if http else "socket"}"',
        f'api_url = "{fake.base_url}"',
        "messages_per_minute = 1200",
        *(f'{k} = "{v}"' for k, v in slack.items()),
    ]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def slack_community(
    tmp_path: Path, *names: str, http: bool = False, fake: FakeSlack | None = None, **slack: str
) -> AsyncIterator[SlackCommunity]:
    """The fake Slack with `names` in #general, and the bot process connected to it."""
    fake = fake or FakeSlack()
    await fake.start()
    for name in names:
        fake.add_user(PEOPLE[name], name.capitalize(), admin=name == "alice")
        fake.channels[GENERAL].members.add(PEOPLE[name])
    port = free_port()
    if http:
        fake.http_target = (f"http://127.0.0.1:{port}/slack", SIGNING_SECRET)
    config = tmp_path / "config.toml"
    config.write_text(config_text(fake, tmp_path / "data", port, http=http, **slack))
    log = tmp_path / "bot.log"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            env=env,
        )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert f":{port}/" in line, line + log.read_text()
        if not http:
            async with asyncio.timeout(20):
                await fake.connected.wait()
        yield SlackCommunity(fake, process, log, port)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        await fake.stop()
    assert fake.violations == [], "calls Slack's spec does not allow"
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in log.read_text(), "a secret reached the log"
