"""One nudge to 2,000 WhatsApp members through the real bot process and the fake Cloud API.

    .venv/bin/python bench/whatsapp_fanout.py [--members 2000] [--rate 80] [--inside 0.5]
        [--workers 4]

The bot runs as `community-bot run` with a `[whatsapp]` section at `messages_per_second =
--rate`; the fake Cloud API (tests/whatsapp/fake_graph.py) checks every request against the
official spec, refuses more than the rate in any second with 130429 and free text outside
the 24-hour window with 131047. A fraction `--inside` of the members wrote recently (free
text), the rest get the nudge's template. Prints delivered messages a second as a fraction
of the rate, refusals, lost and duplicated. Targets: >= 0.95 of the rate, 0 lost, 0 doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.state import AdapterMemory  # noqa: E402
from bot.db import Database  # noqa: E402
from tests.bot_process import bot_process  # noqa: E402
from tests.fanout_bot import seed  # noqa: E402
from tests.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN  # noqa: E402
from tests.whatsapp.fake_graph import TOKEN, FakeGraph  # noqa: E402

CONFIG = """
[community]
name = "Fan-out"
timezone = "UTC"

[delivery]
grace_minutes = 600
workers = {workers}

[whatsapp]
phone_number_id = "{phone}"
access_token_env = "WA_TOKEN"
app_secret_env = "WA_APP_SECRET"
verify_token_env = "WA_VERIFY"
api_base = "{base}"
messages_per_second = {rate}
"""


def phone(i: int) -> str:
    return f"4477{i:08d}"


async def bench(args: argparse.Namespace) -> None:
    async with FakeGraph(APP_SECRET, per_second=args.rate, statuses=False) as graph:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            url = f"sqlite:///{data / 'community-bot.db'}"
            await seed(url, args.members, platform="whatsapp", user_id=phone)
            inside = int(args.members * args.inside)
            db = Database(url)
            memory = AdapterMemory(db, "whatsapp")
            now = datetime.now(UTC)
            for i in range(1, inside + 1):  # they wrote a moment ago: the window is open
                await memory.put(f"wrote:{phone(i)}", now.isoformat())
                graph.wrote[phone(i)] = now.timestamp()
            await db.close()
            config = Path(tmp) / "config.toml"
            config.write_text(
                CONFIG.format(
                    phone=graph.phone_number_id,
                    base=graph.base_url,
                    rate=args.rate,
                    workers=args.workers,
                )
            )
            env = {"WA_TOKEN": TOKEN, "WA_APP_SECRET": APP_SECRET, "WA_VERIFY": VERIFY_TOKEN}
            started = time.monotonic()
            first: float | None = None
            async with bot_process(data, config, env) as (proc, _chat):
                assert proc.stderr is not None
                drain = asyncio.create_task(proc.stderr.read())  # a full pipe would block it
                limit = 60 + 3 * args.members / args.rate
                try:
                    async with asyncio.timeout(limit):
                        while len({a.to for a in graph.accepted}) < args.members:
                            if first is None and graph.accepted:
                                first = time.monotonic()
                            graph.changed.clear()
                            await graph.changed.wait()
                except TimeoutError:
                    print(f"not finished after {limit:.0f} s")
                finished = time.monotonic()
                proc.terminate()
                await proc.wait()
                await drain
    delivered = len(graph.accepted)
    span = finished - (first or finished)
    per_second = (delivered - 1) / span if span else float("inf")
    counts = Counter(a.to for a in graph.accepted)
    kinds = Counter(a.kind for a in graph.accepted)
    refused = Counter(code for _, code in graph.refused)
    print(
        f"members {args.members} ({inside} inside the 24-hour window), "
        f"rate {args.rate:g}/s, workers {args.workers}, spec problems {len(graph.problems)}"
    )
    print(f"first delivery {(first or started) - started:.1f} s after the bot process started")
    print(
        f"delivered {delivered} in {span:.1f} s: {per_second:.1f}/s = "
        f"{per_second / args.rate:.3f} of the limit"
    )
    print(f"sent as {dict(kinds)}, refused {dict(refused) or 0}")
    print(f"lost {args.members - len(counts)}, duplicated {sum(n - 1 for n in counts.values())}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=2000)
    p.add_argument("--rate", type=float, default=80.0)
    p.add_argument("--inside", type=float, default=0.5)
    p.add_argument("--workers", type=int, default=4, help="[delivery] workers")
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
