"""Several bots on one database: one leader per role that moves when it dies, shared work
that is never taken from a living process, and a web chat live across processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import websockets
from sqlmodel import col, select

from adapters.contract import Direct, PlatformName, SendMessage, UserId
from adapters.fake import FakeAdapter
from bot.app import Running, running
from bot.clock import FakeClock
from bot.cluster import LEASE
from bot.config import Config, parse_config
from bot.models import OutboxRow, OutboxState
from bot.scheduler import ManualScheduler
from bot.testing import DEFAULT_START
from tests.webchat_client import ChatClient


def config_for(url: str, tmp_path: Path) -> Config:
    return parse_config(
        {"community": {"organisers": ["web:ada"]}, "storage": {"url_env": "DB"}},
        {"DB": url},
        tmp_path,
    )


@asynccontextmanager
async def bots(url: str, tmp_path: Path, clock: FakeClock, n: int) -> AsyncIterator[list[Running]]:
    """`n` bots on one database and one fake clock; the test runs their workers."""
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(n):
            found.append(
                await stack.enter_async_context(
                    running(
                        config_for(url, tmp_path),
                        clock=clock,
                        adapters=[FakeAdapter()],
                        scheduler=ManualScheduler(),
                        serve=False,
                        background=False,
                    )
                )
            )
        yield found


def scheduler_of(run: Running) -> ManualScheduler:
    scheduler = run.bot.scheduler
    assert isinstance(scheduler, ManualScheduler)
    return scheduler


async def test_one_process_leads_the_scheduler_and_another_takes_over_when_it_dies(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(DEFAULT_START)
    async with bots(database_url, tmp_path, clock, 2) as (a, b):
        assert a.cluster is not None and b.cluster is not None
        assert a.cluster.leading == {"scheduler"} and scheduler_of(a).leading
        assert b.cluster.leading == set() and not scheduler_of(b).leading
        assert await b.cluster.leaders() == {"scheduler": a.bot.process_id}
        clock.advance(LEASE / 2)
        await a.cluster.tick()  # a renews: b must still wait
        await b.cluster.tick()
        assert b.cluster.leading == set()
        clock.advance(LEASE + timedelta(seconds=1))  # a stopped renewing: it is gone
        await b.cluster.tick()
        assert b.cluster.leading == {"scheduler"} and scheduler_of(b).leading
        await a.cluster.tick()  # a comes back from a long pause and finds it lost the lease
        assert a.cluster.leading == set() and not scheduler_of(a).leading
        assert a.bot.metrics.leading.labels("scheduler", a.bot.process_id)._value.get() == 0


async def test_a_living_process_keeps_its_claimed_rows_and_a_dead_ones_go_back(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(DEFAULT_START)
    async with bots(database_url, tmp_path, clock, 2) as (a, b):
        async with a.bot.transaction() as scope:  # a reply: handed to a's outbox, claimed
            await scope.perform(
                SendMessage(key="k1", to=Direct(PlatformName("fake"), UserId("bob")), text=("hi",)),
                "fake",
            )

        async def states() -> list[tuple[str, str | None]]:
            async with a.bot.db.reader() as s:
                rows = await s.exec(select(OutboxRow.state, OutboxRow.claimed_by))
                return [tuple(r) for r in rows.all()]  # type: ignore[misc]

        assert await states() == [(OutboxState.SENDING, a.bot.process_id)]
        assert await b.outboxes[PlatformName("fake")].recover() == 0
        clock.advance(LEASE + timedelta(seconds=1))
        await b.cluster.tick()  # b takes the scheduler and, as its duty, the dead one's rows
        assert await states() == [(OutboxState.PENDING, None)]
        await b.settle()
        assert await states() == [(OutboxState.SENT, b.bot.process_id)]


@pytest.mark.postgres
async def test_a_browser_on_one_process_sees_what_is_posted_through_another(
    postgres_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        web = []
        for _ in range(2):
            run = await stack.enter_async_context(
                running(
                    config_for(postgres_url, tmp_path),
                    scheduler=ManualScheduler(),
                    port=0,
                )
            )
            assert run.web is not None
            web.append(run.web.port)
        ws = await stack.enter_async_context(
            websockets.connect(f"ws://127.0.0.1:{web[0]}/api/chat/ws?user=carol&room=main")
        )
        chat = ChatClient(f"http://127.0.0.1:{web[1]}")
        stack.push_async_callback(chat.close)
        await chat.post("main", "bob", "hello from the other process")
        await chat.post("main", "bob", "x" * 10_000)  # too long for a note: sent by id
        seen = []
        async with asyncio.timeout(10):
            while len(seen) < 2:
                event = json.loads(await ws.recv())
                seen.append((event["type"], event["message"]["user"], event["message"]["text"]))
    assert seen == [
        ("message", "bob", "hello from the other process"),
        ("message", "bob", "x" * 10_000),
    ]


@pytest.mark.postgres
async def test_work_queued_by_one_process_wakes_the_others(
    postgres_url: str, tmp_path: Path
) -> None:
    """b has no adapter for the platform: only a can send, and a learns of b's row at once,
    not at its next look 30 s later."""
    adapter = FakeAdapter()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            running(
                config_for(postgres_url, tmp_path),
                adapters=[adapter],
                scheduler=ManualScheduler(),
                serve=False,
            )
        )
        b = await stack.enter_async_context(
            running(
                config_for(postgres_url, tmp_path),
                adapters=[FakeAdapter("other")],
                scheduler=ManualScheduler(),
                serve=False,
            )
        )
        await asyncio.sleep(0.5)  # both idle: their loops sleep until the 30 s horizon
        async with b.bot.transaction() as scope:
            await scope.perform(
                SendMessage(key="k", to=Direct(PlatformName("fake"), UserId("bob")), text=("hi",)),
                "fake",
                at=scope.now,
                not_after=scope.now + timedelta(hours=1),  # not a hand-off: a queued row
            )
        async with asyncio.timeout(5):
            while not adapter.direct_texts("bob"):  # noqa: ASYNC110 - another bot sends
                await asyncio.sleep(0.02)
        async with a.bot.db.reader() as s:
            row = (await s.exec(select(OutboxRow).where(col(OutboxRow.key) == "k"))).one()
        assert row.claimed_by == a.bot.process_id
