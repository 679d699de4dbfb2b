"""A `--dm` check-in round to 1,000 Slack members through the fake Slack, measured.

    .venv/bin/python bench/slack_fanout.py [--members 1000] [--rate 20] [--workers 4]

The real `community-bot run` process talks to the fake Slack (tests/slack/fake_slack.py) in
Socket Mode; an organiser opens the round with `/checkin open "..." --dm`, and the bot DMs
every member with `chat.postMessage`. The fake enforces Slack's limits: one message a second
per channel (with a burst of two) and a workspace-wide `--rate` messages a second, answering
429 with `Retry-After` beyond them. Slack documents no fixed workspace-wide figure for
`chat.postMessage`, so `--rate` is what the bot's `[slack] messages_per_minute` is set to.
Prints delivered DMs a second as a fraction of that limit, 429s, lost and duplicated.
Targets: >= 0.95 of the limit, nothing lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bot_process import free_port  # noqa: E402
from tests.fanout_bot import seed  # noqa: E402
from tests.slack.community import config_text  # noqa: E402
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, GENERAL, FakeSlack  # noqa: E402

PROMPT = "What do you bring to this week?"
ORGANISER = "U0ALICE"


async def bench(args: argparse.Namespace) -> None:
    fake = FakeSlack(post_per_minute=args.rate * 60, echo_bot_messages=False)
    await fake.start()
    fake.add_user(ORGANISER, "Alice", admin=True)
    fake.channels[GENERAL].members.add(ORGANISER)
    users = [f"U{i:07d}" for i in range(1, args.members + 1)]
    for user in users:
        fake.add_user(user, user)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        await seed(
            f"sqlite:///{data / 'community-bot.db'}",
            args.members,
            nudges=0,
            platform="slack",
            user_id="U{:07d}".format,
        )
        config = Path(tmp) / "config.toml"
        text = config_text(fake, data, free_port(), http=False)
        text = text.replace(
            "messages_per_minute = 1200", f"messages_per_minute = {args.rate * 60:g}"
        )
        config.write_text(text + f"[delivery]\nworkers = {args.workers}\n")
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            async with asyncio.timeout(120):  # ready: connected, and its web server listening
                await fake.connected.wait()
                await proc.stdout.readline()
            started = time.monotonic()
            await fake.slash(ORGANISER, GENERAL, "/checkin", f'open "{PROMPT}" --dm')
            wanted = {fake.dm_channel(u) for u in users}

            def asked() -> set[str]:
                return {p.channel for p in fake.posted if PROMPT in p.text} & wanted

            limit = 60 + 3 * args.members / args.rate
            try:
                await fake.until(lambda: len(asked()) == len(wanted) or None, limit)
            except TimeoutError:
                print(f"not finished after {limit:.0f} s")
            await asyncio.sleep(2)  # anything sent twice would arrive meanwhile
        finally:
            proc.terminate()
            await proc.wait()
            await fake.stop()
    dms = [p for p in fake.posted if PROMPT in p.text and p.channel in wanted]
    per_channel = Counter(p.channel for p in dms)
    first, last = min(p.at for p in dms), max(p.at for p in dms)
    rate = (len(dms) - 1) / (last - first) if last > first else float("inf")
    print(
        f"members {args.members}, Slack limits: {args.rate:g} messages/s in the workspace, "
        f"1/s per channel; workers {args.workers}"
    )
    print(f"first DM {first - started:.1f} s after the command")
    print(
        f"delivered {len(dms)} DMs in {last - first:.1f} s: {rate:.1f}/s = "
        f"{rate / args.rate:.3f} of the limit"
    )
    print(f"requests answered 429: {fake.limited}; spec violations: {len(fake.violations)}")
    doubled = sum(n - 1 for n in per_channel.values())
    print(f"lost {len(wanted - set(per_channel))}, duplicated {doubled}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=1000)
    p.add_argument("--rate", type=float, default=20.0, help="workspace-wide messages a second")
    p.add_argument("--workers", type=int, default=4)
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
