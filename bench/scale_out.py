"""Several bot processes on one PostgreSQL: fan-out rate and check-in answers a second with
1, 2 and 3 processes, and how long the scheduler's lease takes to move when its leader dies.

    .venv/bin/python bench/scale_out.py [--db postgresql://postgres@127.0.0.1:5432/test]
        [--processes 1,2,3] [--members 3000] [--answerers 60] [--seconds 8]

Each measurement gets a fresh schema in the given database (dropped afterwards).
- fan-out: one nudge to `--members` people through a fake platform limited to `--rate`
  (high by default, so that the bot, not the platform, is what is measured);
- answers: `community-bot run` processes serving the web chat; `--answerers` members, spread
  over the processes, answer in a closed loop for `--seconds`;
- failover: two processes, the scheduler's leader SIGKILLed; seconds until another leads.
On a shared 2-core machine compare the figures of one run with each other, not with others.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from checkin_answers import Member, free_port, fresh_schema, wait_for_post  # noqa: E402

from bot.db import Database  # noqa: E402
from bot.events.models import Nudge  # noqa: E402
from bot.models import Lease, Timer  # noqa: E402
from bot.web import WebServer  # noqa: E402
from tests.fake_platform import FakePlatform  # noqa: E402
from tests.fanout_bot import seed  # noqa: E402

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


async def fanout_bot(db: str, platform: str, rate: float) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fanout_bot", "--db", db, "--platform", platform,
        "--rate", str(rate), "--burst", "100", "--idempotent",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, env=ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    return proc


async def stop(procs: list[asyncio.subprocess.Process]) -> None:
    for p in procs:
        if p.returncode is None:
            p.terminate()
    for p in procs:
        await p.wait()


async def fan_out(base: str, n: int, members: int, rate: float) -> float:
    """Messages a second delivered by `n` processes fanning one nudge out."""
    platform = FakePlatform(idempotent=True, rate=rate, burst=100)
    server = WebServer(platform.app, "127.0.0.1", 0)
    await server.start()
    url = f"http://127.0.0.1:{server.port}"
    async with fresh_schema(base) as db:
        await seed(db, members, nudges=0)
        procs = [await fanout_bot(db, url, rate) for _ in range(n)]  # one by one (APScheduler)
        try:
            await seed_nudge(db)
            await asyncio.wait_for(platform.wait_for(members).wait(), timeout=300)
        finally:
            await stop(procs)
            await server.stop()
    assert platform.first_at is not None and platform.last_at is not None
    return (members - 1) / (platform.last_at - platform.first_at)


async def seed_nudge(db: str) -> None:
    """The nudge to everyone, due now: the processes hear of it through the database."""
    database = Database(db)
    now = datetime.now(UTC)
    async with database.session() as s:
        s.add(
            Nudge(id=1, community_id=1, text="Nudge", audience="member", due_at=now, created_at=now)
        )
        s.add(Timer(key="nudge:1", kind="nudge.send", ref="1", due_at=now))
    await database.close()


async def answers(base: str, n: int, answerers: int, seconds: float) -> float:
    """Check-in answers a second through `n` processes' web chats, closed loop."""
    async with fresh_schema(base) as db, AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        config = tmp / "config.toml"
        config.write_text(
            (ROOT / "config.example.toml")
            .read_text()
            .replace("\n[storage]\n", '\n[storage]\nurl_env = "BENCH_DB"\n')
        )
        ports, procs = [], []
        for i in range(n):
            port = free_port()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(config), "--port", str(port),
                "--data-dir", str(tmp / f"data{i}"),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=tmp,
                env={**ENV, "BENCH_DB": db},
            )  # fmt: skip
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), timeout=60)
            ports.append(port)
            procs.append(proc)
        stack.push_async_callback(stop, procs)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}") as http:
            await http.post(
                "/api/chat/messages",
                json={"room": "main", "user": "ada", "text": '/checkin open "How are you?"'},
            )
            await wait_for_post(http)
        crowd = [Member(f"m{i:04d}", ports[i % n]) for i in range(answerers)]
        listeners = [asyncio.create_task(m.listen()) for m in crowd]
        await asyncio.gather(*(m.ready.wait() for m in crowd))
        done = 0
        until = time.perf_counter() + seconds

        async def loop(m: Member) -> None:
            nonlocal done
            k = 0
            while time.perf_counter() < until:
                await m.answer(f"/checkin answer {k} from {m.name}")
                done += 1
                k += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop(m) for m in crowd))
        elapsed = time.perf_counter() - started
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for m in crowd:
            m.http.close()
    return done / elapsed


async def failover(base: str) -> float:
    """Seconds from SIGKILL of the scheduler's leader until another process leads."""
    platform = FakePlatform()
    server = WebServer(platform.app, "127.0.0.1", 0)
    await server.start()
    async with fresh_schema(base) as db:
        await seed(db, 1, nudges=0)
        procs = [await fanout_bot(db, f"http://127.0.0.1:{server.port}", 100) for _ in range(2)]
        database = Database(db)
        try:
            leader = await leader_of(database)
            assert leader is not None
            victim = next(p for p in procs if p.pid == int(leader.rsplit("-", 2)[1]))
            victim.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            while (await leader_of(database)) in (None, leader):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            return time.monotonic() - killed
        finally:
            await database.close()
            await stop(procs)
            await server.stop()


async def leader_of(db: Database) -> str | None:
    async with db.reader() as s:
        lease = await s.get(Lease, "scheduler")
    return lease.holder if lease and lease.expires_at >= datetime.now(UTC) else None


async def bench(args: argparse.Namespace) -> None:
    counts = [int(x) for x in args.processes.split(",")]
    print(f"PostgreSQL {args.db}; fan-out {args.members} members at most {args.rate:g}/s")
    for n in counts:
        rate = await fan_out(args.db, n, args.members, args.rate)
        print(f"  {n} process(es): fan-out {rate:.0f} messages/s", flush=True)
    for n in counts:
        rate = await answers(args.db, n, args.answerers, args.seconds)
        print(f"  {n} process(es): {rate:.0f} check-in answers/s", flush=True)
    print(f"failover: a new scheduler leader {await failover(args.db):.1f} s after SIGKILL")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--processes", default="1,2,3")
    p.add_argument("--members", type=int, default=3000)
    p.add_argument("--rate", type=float, default=5000.0)
    p.add_argument("--answerers", type=int, default=60)
    p.add_argument("--seconds", type=float, default=8.0)
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
