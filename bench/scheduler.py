"""100,000 pending nudges: start-up time after a restart, firing lateness, peak memory.

    .venv/bin/python bench/scheduler.py [--pending 100000] [--firing 10000] [--window 60]
        [--db URL]

Seeds a community of one member and `--pending` ad-hoc nudges (timer rows), of which
`--firing` fall due evenly over `--window` seconds shortly after the restart and the rest
days later. Starts the bot process once, stops it, starts it again (the measured start:
process spawn to ready), waits for the window to pass, then reads from the database when
each nudge's timer fired (its outbox row's creation) and was delivered, against its due
time. Peak memory is the bot process's VmHWM. Targets: start < 10 s, p99 lateness < 1 s,
< 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, insert, text  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bot.core import COMMUNITY_SLUG  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.events.models import Nudge  # noqa: E402
from bot.models import Community, Identity, Member, OutboxRow, Timer  # noqa: E402
from bot.web import WebServer  # noqa: E402
from tests.fake_platform import FakePlatform  # noqa: E402

CHUNK = 5_000


async def seed(url: str, pending: int, firing: int, start: datetime, window: float) -> None:
    db = Database(url)
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.session() as s:
        community = Community(slug=COMMUNITY_SLUG, name="Bench", timezone="UTC")
        s.add(community)
        await s.flush()
        member = Member(community_id=community.id or 0, display_name="ada", created_at=now)
        s.add(member)
        await s.flush()
        s.add(
            Identity(
                member_id=member.id or 0, platform="fakehttp", external_id="ada", display_name="ada"
            )
        )
    for low in range(1, pending + 1, CHUNK):
        ids = range(low, min(pending, low + CHUNK - 1) + 1)
        due = {
            n: start + timedelta(seconds=window * (n - 1) / firing)
            if n <= firing
            else start + timedelta(days=1 + n % 30)
            for n in ids
        }
        async with db.session() as s:
            await s.exec(
                insert(Nudge).values(
                    [
                        {
                            "id": n,
                            "community_id": community.id,
                            "text": f"n{n}",
                            "audience": "member",
                            "due_at": due[n],
                            "created_at": now,
                        }
                        for n in ids
                    ]
                )
            )
            await s.exec(
                insert(Timer).values(
                    [
                        {
                            "key": f"nudge:{n}",
                            "kind": "nudge.send",
                            "ref": str(n),
                            "due_at": due[n],
                            "state": "pending",
                            "attempts": 0,
                        }
                        for n in ids
                    ]
                )
            )
    if not db.is_sqlite:
        async with db.session() as s:  # after a bulk load, as autovacuum would later
            await s.exec(text("ANALYZE"))  # type: ignore[call-overload]
    await db.close()


async def retime(url: str, firing: int, start: datetime, window: float) -> None:
    """While the bot is down: the first `firing` nudges fall due over the window from `start`."""
    db = Database(url)
    rows = [
        {
            "n": n,
            "timer_key": f"nudge:{n}",
            "due": start + timedelta(seconds=window * (n - 1) / firing),
        }
        for n in range(1, firing + 1)
    ]
    nudges, timers = Nudge.__table__, Timer.__table__  # type: ignore[attr-defined]
    async with db.session() as s:
        for table, match in (
            (nudges, nudges.c.id == bindparam("n")),
            (timers, timers.c.key == bindparam("timer_key")),
        ):
            stmt = table.update().where(match).values(due_at=bindparam("due"))
            await s.exec(stmt, params=rows)
    await db.close()


async def start_bot(db: str, platform: str) -> tuple[asyncio.subprocess.Process, float]:
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fanout_bot",
        "--db",
        db,
        "--platform",
        platform,
        "--idempotent",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
    assert line.strip() == b"ready", line
    return proc, time.monotonic() - began


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


async def bench(args: argparse.Namespace) -> None:
    platform = FakePlatform(idempotent=True)
    server = WebServer(platform.app, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/scheduler.db"
        began = time.monotonic()
        await seed(url, args.pending, args.firing, datetime.now(UTC) + timedelta(days=1), 0)
        print(
            f"seeded {args.pending} pending nudges in {time.monotonic() - began:.1f} s "
            f"({'postgresql' if args.db else 'sqlite'})"
        )
        proc, first = await start_bot(url, base)
        proc.terminate()
        await proc.wait()
        start = datetime.now(UTC) + timedelta(seconds=args.lead)
        await retime(url, args.firing, start, args.window)
        proc, restart = await start_bot(url, base)
        print(f"start-up with them pending: {restart:.2f} s (first start {first:.2f} s)")
        opens = (start - datetime.now(UTC)).total_seconds()
        print(f"the window opens {opens:.1f} s after the restarted bot is ready")
        wait = (start - datetime.now(UTC)).total_seconds() + args.window
        try:
            done = platform.wait_for(messages=args.firing)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=max(wait, 1) + 60)
            memory = peak_mb(proc.pid)
        finally:
            proc.terminate()
            await proc.wait()
            await server.stop()
        db = Database(url)
        async with db.reader() as s:
            due = dict((await s.exec(select(Nudge.id, Nudge.due_at))).all())
            rows = (
                await s.exec(
                    select(OutboxRow.key, OutboxRow.created_at, OutboxRow.sent_at).where(
                        col(OutboxRow.key).like("nudge:%")
                    )
                )
            ).all()
        await db.close()
    timed = [(due[int(key.split(":")[1])], made, sent) for key, made, sent in rows]
    fired = sorted((made - at).total_seconds() for at, made, _ in timed)
    sent = sorted((done - at).total_seconds() for at, _, done in timed if done is not None)
    print(
        f"fired {len(fired)} of {args.firing} due over {args.window:g} s; the platform "
        f"received {platform.deliveries.total()}, {len(sent)} recorded as sent at the stop"
    )
    if len(fired) > 1:
        print(
            f"firing lateness p50 {percentile(fired, 0.5):.3f} s, "
            f"p99 {percentile(fired, 0.99):.3f} s, max {fired[-1]:.3f} s"
        )
    if len(sent) > 1:
        print(
            f"delivery lateness p50 {percentile(sent, 0.5):.3f} s, "
            f"p99 {percentile(sent, 0.99):.3f} s"
        )
    print(f"peak memory of the bot process {memory:.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pending", type=int, default=100_000)
    p.add_argument("--firing", type=int, default=10_000)
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument(
        "--lead",
        type=float,
        default=15.0,
        help="seconds from the restart to the first due nudge",
    )
    p.add_argument("--db", help="a PostgreSQL URL (default: a temporary SQLite file)")
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
