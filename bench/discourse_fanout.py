"""A check-in round's reminders to 500 members by Discourse personal message, measured.

    .venv/bin/python bench/discourse_fanout.py [--members 500] [--limit 100] [--window 10]

The forum is the fake Discourse (tests/discourse/fake.py) on loopback, enforcing `--limit`
admin API requests in any rolling `--window` seconds and answering 429 beyond it, as Discourse
does (60 a minute by default; the bench scales the window down so it runs in about a minute).
The bot is the real `community-bot run` process with a `[discourse]` section declaring the same
limit. A round is seeded with its reminder due now; every member gets one PM (a PM topic each).
Prints the delivery rate (PMs a second between the first and the last) as a fraction of the
limit, the most requests seen in any window and the 429s (within the limit means at most
`--limit` in every window and no 429; the rolling window lets a first burst through, so the
fraction can be a little above 1), lost and duplicated.
Targets: within the limit, >= 0.95 of it, 0 lost, 0 duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.checkins.models import CheckinRound  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.models import Timer  # noqa: E402
from tests.bot_process import bot_process  # noqa: E402
from tests.discourse.fake import FakeDiscourse  # noqa: E402
from tests.discourse.forum import serve  # noqa: E402
from tests.fanout_bot import add_community  # noqa: E402

ENV = {"DISCOURSE_API_KEY": "test-api-key", "DISCOURSE_WEBHOOK_SECRET": "webhook-secret-123"}


def config(base_url: str, limit: int, window: float) -> str:
    return f"""
[community]
name = "Fan-out"
timezone = "UTC"
[storage]
data_dir = "data"
[discourse]
base_url = "{base_url}"
username = "communitybot"
api_key_env = "DISCOURSE_API_KEY"
webhook_secret_env = "DISCOURSE_WEBHOOK_SECRET"
requests_per_minute = {limit}
rate_window_seconds = {window}
"""


async def seed(url: str, members: int) -> None:
    """`members` people on Discourse and an open round whose reminder is due now."""
    db = Database(url)
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.session() as s:
        cid = await add_community(s, members, "discourse", "u{}".format, now)
        r = CheckinRound(
            community_id=cid,
            platform="discourse",
            space="c/5",
            prompt="How is your week?",
            opened_at=now,
        )
        s.add(r)
        await s.flush()
        s.add(Timer(key=f"checkin:{r.id}:remind", kind="checkin.remind", ref=str(r.id), due_at=now))
    await db.close()


async def bench(args: argparse.Namespace) -> None:
    names = tuple(f"u{i}" for i in range(1, args.members + 1))
    fake = FakeDiscourse(members=names, limit=args.limit, window=args.window)
    async with serve(fake) as base_url:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            await seed(f"sqlite:///{data / 'community-bot.db'}", args.members)
            path = Path(tmp) / "bot.toml"
            path.write_text(config(base_url, args.limit, args.window), encoding="utf-8")
            started = time.monotonic()
            async with bot_process(data, config=path, env=ENV) as (proc, _):
                deadline = started + 60 + 3 * args.members * args.window / args.limit
                while time.monotonic() < deadline:
                    if len(fake.pm_counts) >= args.members:
                        break
                    await asyncio.sleep(0.1)
                else:
                    print(f"not finished after {deadline - started:.0f} s")
                await asyncio.sleep(2 * args.window / args.limit)  # anything doubled would show
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
    counts = {u: fake.pm_counts[u] for u in names}
    stamps = sorted(fake.pm_times)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    rate = (len(stamps) - 1) / span if span else float("inf")
    allowed = args.limit / args.window
    print(
        f"members {args.members}, limit {args.limit} requests per {args.window:g} s ({allowed:g}/s)"
    )
    print(f"first PM {stamps[0] - started:.1f} s after the bot process started")
    print(
        f"delivered {len(stamps)} in {span:.1f} s: {rate:.2f}/s = {rate / allowed:.3f} of the limit"
    )
    print(
        f"most requests in any {args.window:g} s window {fake.limit.most_in_a_window} "
        f"(limit {args.limit}), 429s {fake.limit.refused}, spec problems {len(fake.problems)}"
    )
    lost = sum(1 for c in counts.values() if c == 0)
    doubled = sum(c - 1 for c in counts.values() if c > 1)
    within = fake.limit.refused == 0 and fake.limit.most_in_a_window <= args.limit
    print(f"within the limit: {'yes' if within else 'NO'}")
    print(f"lost {lost}, duplicated {doubled}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=500)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--window", type=float, default=10.0)
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
