"""The whole bot as a process, talking to a `FakePlatform` (for kill -9 tests and benches).

    python -m tests.fanout_bot --db URL --platform http://127.0.0.1:PORT [--idempotent]
        [--rate 10000] [--burst 1000] [--workers 4]

Prints "ready" once started, runs until SIGTERM (or SIGKILL).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.app import running
from bot.config import parse_config
from bot.context import insert_many_ignore
from bot.core import COMMUNITY_SLUG
from bot.db import Database
from bot.events.models import Nudge
from bot.models import Community, Identity, Member, Timer
from tests.fake_platform import HttpPlatformAdapter


async def serve(args: argparse.Namespace) -> None:
    config = parse_config(
        {
            "community": {"name": "Fan-out", "timezone": "UTC"},
            "storage": {"url_env": "FANOUT_DB"},
            "delivery": {"workers": args.workers, "grace_minutes": 600},
        },
        {"FANOUT_DB": args.db},
        Path.cwd(),
    )
    adapter = HttpPlatformAdapter(
        args.platform, idempotent=args.idempotent, rate=args.rate, burst=args.burst
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with running(config, adapters=[adapter], serve=False):
        print("ready", flush=True)
        await stop.wait()


async def add_community(
    s: Any, members: int, platform: str, user_id: Callable[[int], str], now: datetime
) -> int:
    """A fresh community of `members` people on `platform` (member i is `user_id(i)` there),
    inserted in two statements; returns its id."""
    community = Community(slug=COMMUNITY_SLUG, name="Fan-out", timezone="UTC")
    s.add(community)
    await s.flush()
    cid: int = community.id
    people = range(1, members + 1)
    await insert_many_ignore(
        s,
        Member,
        [
            {
                "id": i,
                "community_id": cid,
                "display_name": f"u{i}",
                "role": 1,
                "paused": False,
                "created_at": now,
            }
            for i in people
        ],
    )
    await insert_many_ignore(
        s,
        Identity,
        [
            {
                "member_id": i,
                "platform": platform,
                "external_id": user_id(i),
                "display_name": f"u{i}",
            }
            for i in people
        ],
    )
    return cid


async def seed(
    url: str,
    members: int,
    *,
    nudges: int = 1,
    due: datetime | None = None,
    platform: str = "fakehttp",
    user_id: Callable[[int], str] = lambda i: f"u{i}",
) -> None:
    """A fresh community of `members` people on `platform` (member i is `user_id(i)` there)
    and `nudges` nudges to all of them, due at `due` (now by default): what the bot process
    then fans out."""
    db = Database(url)
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.session() as s:
        cid = await add_community(s, members, platform, user_id, now)
        for n in range(1, nudges + 1):
            s.add(
                Nudge(
                    id=n,
                    community_id=cid,
                    text=f"Nudge {n}",
                    audience="member",
                    due_at=due or now,
                    created_at=now,
                )
            )
            s.add(Timer(key=f"nudge:{n}", kind="nudge.send", ref=str(n), due_at=due or now))
        if not db.is_sqlite:  # ids were given: move the sequence past them for later members
            await s.exec(
                text("SELECT setval(pg_get_serial_sequence('member', 'id'), :n)"),
                params={"n": members},
            )  # type: ignore[call-overload]
    await db.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--platform", required=True)
    p.add_argument("--idempotent", action="store_true")
    p.add_argument("--rate", type=float, default=10_000.0)
    p.add_argument("--burst", type=int, default=1_000)
    p.add_argument("--workers", type=int, default=4)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
