"""Kill -9 in the middle of a fan-out to 2,000 members, restart: nobody is missed, and only
the requests in flight at the kill are delivered twice (none with an idempotent platform)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from bot.db import Database
from bot.models import OutboxRow, OutboxState
from bot.web import WebServer
from tests.fake_platform import FakePlatform
from tests.fanout_bot import seed

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 2_000
WORKERS = 4


async def start_bot(db: str, platform: str, idempotent: bool) -> asyncio.subprocess.Process:
    args = ["--db", db, "--platform", platform, "--workers", str(WORKERS)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fanout_bot",
        *args,
        *(["--idempotent"] * idempotent),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).strip() == b"ready"
    return proc


async def unfinished(url: str) -> int:
    db = Database(url)
    async with db.reader() as s:
        count = (
            await s.exec(
                select(func.count())
                .select_from(OutboxRow)
                .where(col(OutboxRow.state).in_([OutboxState.PENDING, OutboxState.SENDING]))
            )
        ).one()
    await db.close()
    return int(count)


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
async def test_kill_9_mid_fan_out_then_restart(database_url: str, idempotent: bool) -> None:
    platform = FakePlatform(idempotent=idempotent, delay=0.005)
    server = WebServer(platform.app, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    await seed(database_url, MEMBERS)
    proc = await start_bot(database_url, base, idempotent)
    try:
        await asyncio.wait_for(platform.wait_for(MEMBERS // 4).wait(), timeout=60)
        proc.kill()
        await proc.wait()
        at_kill = len(platform.deliveries)
        assert at_kill < MEMBERS, "the fan-out finished before the kill"
        proc = await start_bot(database_url, base, idempotent)
        await asyncio.wait_for(platform.wait_for(MEMBERS).wait(), timeout=120)
        async with asyncio.timeout(60):  # the last outcomes are being recorded
            while await unfinished(database_url):  # noqa: ASYNC110 - polls another process
                await asyncio.sleep(0.05)
    finally:
        proc.terminate()
        await proc.wait()
        await server.stop()
    print(
        f"killed at {at_kill} delivered; duplicates {platform.duplicates}, "
        f"repeated keys dropped {platform.repeated_keys}"
    )
    assert set(platform.deliveries) == {f"u{i}" for i in range(1, MEMBERS + 1)}
    if idempotent:
        assert platform.duplicates == 0
    else:
        assert platform.duplicates <= WORKERS
