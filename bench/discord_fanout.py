"""A `--dm` check-in round to 1,000 members through the fake Discord, measured.

    .venv/bin/python bench/discord_fanout.py [--members 1000] [--workers 8]

The bot runs as the real `community-bot run` process on the Discord adapter; the fake Discord
runs here, checking every request against the OpenAPI spec and Discord's global limit of 50
requests a second. An organiser opens the round with `/checkin open ... dm:true`; each member
costs two requests (open the DM channel, send the question). Prints requests a second as a
fraction of the 50 Discord allows, and members whose question was lost or came twice.
Targets: fraction >= 0.95, 0 lost, 0 duplicated, no request refused.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bot_process import bot_process  # noqa: E402
from tests.discord import payloads as p  # noqa: E402
from tests.discord.community import ADA, config_text, until  # noqa: E402
from tests.discord.fake_discord import GLOBAL_LIMIT, TOKEN, fake_discord  # noqa: E402
from tests.fanout_bot import seed  # noqa: E402

PROMPT = "What is one thing you are looking forward to?"
FIRST_MEMBER = 1_200_000_000_000_000_000


def member_id(i: int) -> str:
    return str(FIRST_MEMBER + i)


async def bench(members: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        await seed(
            f"sqlite:///{data / 'community-bot.db'}",
            members,
            nudges=0,
            platform="discord",
            user_id=member_id,
        )
        async with fake_discord(enforce_global=False) as fake:
            config = Path(tmp) / "discord.toml"
            config.write_text(config_text(fake, data, workers))
            async with bot_process(data, config, {"DISCORD_TEST_TOKEN": TOKEN}) as (proc, _):
                assert proc.stderr is not None
                drain = asyncio.create_task(_drain(proc.stderr))
                await until(lambda: fake.commands.get(p.GUILD), "slash commands synced", 60)
                started = time.monotonic()
                fake.slash(
                    ADA,
                    "checkin",
                    [
                        {
                            "type": 1,
                            "name": "open",
                            "options": [
                                {"type": 3, "name": "prompt", "value": PROMPT},
                                {"type": 5, "name": "dm", "value": True},
                            ],
                        }
                    ],
                )
                asked = Counter[str]()

                def all_asked() -> bool:
                    asked.clear()
                    for channel in fake.channels.values():
                        if channel.recipient is None:
                            continue
                        for mid in fake.by_channel.get(channel.id, []):
                            if PROMPT in fake.messages[mid].get("content", ""):
                                asked[channel.recipient] += 1
                    return len(asked) >= members

                try:
                    await until(all_asked, "every member asked", 30 + 4 * members / GLOBAL_LIMIT)
                except AssertionError as exc:
                    print(exc)
                elapsed = time.monotonic() - started
                proc.terminate()
                await proc.wait()
                drain.cancel()
    paced = [
        c
        for c in fake.calls
        if c.path.startswith(("/users/@me/channels", "/channels/"))
        and c.method == "POST"
        and c.at >= started
    ]
    span = paced[-1].at - paced[0].at if len(paced) > 1 else 0.0
    rate = (len(paced) - 1) / span if span else 0.0
    wanted = {member_id(i) for i in range(1, members + 1)}
    print(f"members {members}, {len(paced)} requests in {span:.1f} s ({elapsed:.1f} s in all)")
    print(f"{rate:.1f} requests/s = {rate / GLOBAL_LIMIT:.3f} of the limit")
    print(f"lost {len(wanted - set(asked))}, duplicated {sum(n - 1 for n in asked.values())}")
    print(f"busiest second as the fake received it: {fake.busiest_second} requests")
    print(f"requests the spec refused: {len(fake.problems)}")
    for problem in fake.problems[:5]:
        print(" ", problem)


async def _drain(stream: asyncio.StreamReader) -> None:
    async for _line in stream:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8, help="the bot's delivery workers")
    args = parser.parse_args()
    asyncio.run(bench(args.members, args.workers))


if __name__ == "__main__":
    main()
