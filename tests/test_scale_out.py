"""Three bot processes on one PostgreSQL: a `--dm` round to 2,000 members through a
rate-limited platform, the leading process SIGKILLed in the middle. Every member is asked
exactly once (at most once more without idempotent sends), and a new leader is elected
within 10 seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from adapters.contract import Actor, CommandInvoked, EventId, Place, PlatformName, SpaceId, UserId
from adapters.fake import FakeAdapter
from bot.app import running
from bot.config import parse_config
from bot.db import Database
from bot.models import Lease, OutboxRow, OutboxState
from bot.scheduler import ManualScheduler
from bot.web import WebServer
from tests.fake_platform import PLATFORM, FakePlatform, HttpPlatformAdapter
from tests.fanout_bot import seed

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 2_000
PROCESSES = 3
WORKERS = 4
RATE, BURST = 300.0, 20
FAILOVER_LIMIT = 10.0


async def start_bot(db: str, platform: str, idempotent: bool) -> asyncio.subprocess.Process:
    args = ["--db", db, "--platform", platform, "--workers", str(WORKERS)]
    args += ["--rate", str(RATE), "--burst", str(BURST)] + ["--idempotent"] * idempotent
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fanout_bot", *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), timeout=60)).strip() == b"ready"
    return proc


async def open_dm_round(db: str, platform: str) -> None:
    """An organiser (on a platform of their own, so they are not among those counted)
    opens a `--dm` round; the queued questions are left to the bot processes."""
    config = parse_config(
        {"community": {"organisers": ["fake:boss"]}, "storage": {"url_env": "DB"}},
        {"DB": db},
        Path.cwd(),
    )
    adapters = [FakeAdapter(), HttpPlatformAdapter(platform, idempotent=False, rate=1, burst=1)]
    async with running(
        config, adapters=adapters, scheduler=ManualScheduler(), serve=False, background=False
    ) as run:
        await run.bot.handle(
            CommandInvoked(
                event_id=EventId(uuid.uuid4().hex),
                actor=Actor(PlatformName("fake"), UserId("boss"), "Boss"),
                place=Place(PlatformName("fake"), SpaceId("main")),
                text='checkin open "How are you arriving?" --dm',
            )
        )


async def scheduler_leader(db: Database) -> str | None:
    async with db.reader() as s:
        lease = await s.get(Lease, "scheduler")
    if lease is None or lease.expires_at < datetime.now(UTC):
        return None
    return lease.holder


async def unfinished(db: Database) -> int:
    async with db.reader() as s:
        stmt = (
            select(func.count())
            .select_from(OutboxRow)
            .where(
                col(OutboxRow.platform) == PLATFORM,
                col(OutboxRow.state).in_([OutboxState.PENDING, OutboxState.SENDING]),
            )
        )
        return int((await s.exec(stmt)).one())


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
async def test_three_processes_fan_out_and_survive_the_leaders_death(
    postgres_url: str, idempotent: bool
) -> None:
    platform = FakePlatform(idempotent=idempotent, rate=RATE, burst=BURST, delay=0.005)
    server = WebServer(platform.app, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    await seed(postgres_url, MEMBERS, nudges=0)
    db = Database(postgres_url)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(PROCESSES):  # one by one: APScheduler creates its table on first start
            procs.append(await start_bot(postgres_url, base, idempotent))
        leader = await scheduler_leader(db)
        assert leader is not None
        by_pid = {p.pid: p for p in procs}
        victim = by_pid[int(leader.rsplit("-", 2)[1])]
        await open_dm_round(postgres_url, base)
        await asyncio.wait_for(platform.wait_for(MEMBERS // 4).wait(), timeout=60)
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await victim.wait()
        at_kill = len(platform.deliveries)
        assert at_kill < MEMBERS, "the fan-out finished before the kill"
        async with asyncio.timeout(FAILOVER_LIMIT + 5):
            while (new := await scheduler_leader(db)) in (None, leader):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        failover = time.monotonic() - killed_at
        await asyncio.wait_for(platform.wait_for(MEMBERS).wait(), timeout=120)
        async with asyncio.timeout(60):  # the last outcomes are being recorded
            while await unfinished(db):  # noqa: ASYNC110 - polls other processes
                await asyncio.sleep(0.1)
    finally:
        for p in procs:
            if p.returncode is None:
                p.terminate()
        for p in procs:
            await p.wait()
        await db.close()
        await server.stop()
    print(
        f"killed the leader at {at_kill} delivered; new leader {new} after {failover:.1f} s; "
        f"duplicates {platform.duplicates}, repeated keys dropped {platform.repeated_keys}, "
        f"429s {platform.limited} of {platform.requests} requests"
    )
    assert failover < FAILOVER_LIMIT
    assert set(platform.deliveries) == {f"u{i}" for i in range(1, MEMBERS + 1)}
    assert max(platform.deliveries.values()) <= 2
    if idempotent:
        assert platform.duplicates == 0
    else:
        assert platform.duplicates <= WORKERS  # only what the dead process had in flight
