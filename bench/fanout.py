"""One nudge to 10,000 members through a rate-limited fake platform, measured.

    .venv/bin/python bench/fanout.py [--members 10000] [--rate 100] [--burst 10]
        [--workers 4] [--db URL]

The bot runs as its own process (`tests.fanout_bot`); the platform runs here, on loopback,
enforcing `--rate` messages a second with bursts of `--burst` and answering 429 with
`Retry-After` beyond it. The adapter declares the same limit as its `send_rate`. Prints
delivered messages a second as a fraction of the limit, 429s, lost and duplicated.
Targets: fraction >= 0.95, nothing lost or duplicated, 429s under 1% of requests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.web import WebServer  # noqa: E402
from tests.fake_platform import FakePlatform  # noqa: E402
from tests.fanout_bot import seed  # noqa: E402


async def bench(args: argparse.Namespace) -> None:
    platform = FakePlatform(rate=args.rate, burst=args.burst)
    server = WebServer(platform.app, "127.0.0.1", 0)
    await server.start()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/fanout.db"
        await seed(db, args.members)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fanout_bot",
            "--db",
            db,
            "--platform",
            f"http://127.0.0.1:{server.port}",
            "--rate",
            str(args.adapter_rate or args.rate),
            "--burst",
            str(args.burst),
            "--workers",
            str(args.workers),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            limit = 60 + 3 * args.members / args.rate
            await asyncio.wait_for(platform.wait_for(args.members).wait(), timeout=limit)
        except TimeoutError:
            print(f"not finished after {limit:.0f} s")
        finally:
            proc.terminate()
            await proc.wait()
            await server.stop()
    delivered = sum(platform.deliveries.values())
    assert platform.first_at is not None and platform.last_at is not None
    span = platform.last_at - platform.first_at
    per_second = (delivered - 1) / span if span else float("inf")
    declared = f", adapter declares {args.adapter_rate:g}/s" if args.adapter_rate else ""
    print(
        f"members {args.members}, limit {args.rate:g}/s burst {args.burst}{declared}, "
        f"workers {args.workers}, db {'postgresql' if args.db else 'sqlite'}"
    )
    print(f"first delivery {platform.first_at - started:.1f} s after the bot process started")
    print(
        f"delivered {delivered} in {span:.1f} s: {per_second:.1f}/s = "
        f"{per_second / args.rate:.3f} of the limit"
    )
    print(
        f"requests {platform.requests}, 429s {platform.limited} "
        f"({100 * platform.limited / max(1, platform.requests):.2f}%)"
    )
    print(f"lost {args.members - len(platform.deliveries)}, duplicated {platform.duplicates}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument(
        "--adapter-rate",
        type=float,
        help="the rate the adapter declares, if not the platform's (a misconfigured adapter: "
        "shows 429s and Retry-After at work)",
    )
    p.add_argument("--db", help="a PostgreSQL URL (default: a temporary SQLite file)")
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
