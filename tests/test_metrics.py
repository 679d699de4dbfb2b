"""`/metrics` and `/readyz` on a running bot: every series is there and moves with its thing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.contract import Actor, CommandInvoked, EventId, Place, PlatformName, SpaceId, UserId
from adapters.fake import FakeAdapter
from bot.app import Running, running
from bot.clock import FakeClock
from bot.config import parse_config
from bot.errors import PlatformError
from bot.scheduler import ManualScheduler
from bot.testing import DEFAULT_START

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Connectable(FakeAdapter):
    """A fake adapter whose connection to its platform a test can cut (for `/readyz`)."""

    connected = True


@dataclass
class Scraped:
    samples: Samples

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]


@dataclass
class Ops:
    run: Running
    clock: FakeClock
    adapter: Connectable
    http: httpx.AsyncClient

    async def scrape(self) -> Scraped:
        r = await self.http.get("/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        samples: Samples = {}
        for family in text_string_to_metric_families(r.text):
            for s in family.samples:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
        return Scraped(samples)

    async def command(self, text: str) -> None:
        place = Place(PlatformName("fake"), SpaceId("main"))
        actor = Actor(PlatformName("fake"), UserId("ada"), "Ada")
        event = CommandInvoked(
            event_id=EventId(uuid.uuid4().hex), actor=actor, place=place, text=text
        )
        await self.run.bot.handle(event)


@pytest.fixture
async def ops(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Ops]:
    config = parse_config(
        {"community": {"organisers": ["fake:ada"]}, "storage": {"url_env": "DB"}},
        {"DB": sqlite_url},
        tmp_path,
    )
    clock = FakeClock(DEFAULT_START)
    adapter = Connectable()
    async with running(
        config,
        clock=clock,
        adapters=[adapter],
        scheduler=ManualScheduler(),
        background=False,
        host="127.0.0.1",
        port=0,
    ) as run:
        assert run.web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.web.port}") as http:
            yield Ops(run, clock, adapter, http)


async def test_every_series_is_there_from_the_start(ops: Ops) -> None:
    m = await ops.scrape()
    assert m("community_bot_inbound_events_total", platform="fake", kind="command") == 0
    assert m("community_bot_handler_seconds_count", kind="command") == 0
    assert m("community_bot_outbox_rows", platform="fake", state="pending") == 0
    assert m("community_bot_outbox_oldest_age_seconds", platform="fake", state="pending") == 0
    assert m("community_bot_deliveries_total", platform="fake", outcome="sent") == 0
    assert m("community_bot_rate_limited_total", platform="fake") == 0
    assert m("community_bot_timer_lateness_seconds_count") == 0
    assert m("community_bot_leading", role="scheduler", process=ops.run.bot.process_id) == 1


async def test_events_handlers_and_deliveries_move_their_series(ops: Ops) -> None:
    await ops.command("help")
    m = await ops.scrape()
    assert m("community_bot_inbound_events_total", platform="fake", kind="command") == 1
    assert m("community_bot_handler_seconds_count", kind="command") == 1
    assert m("community_bot_handler_seconds_sum", kind="command") > 0
    # The reply is queued, claimed, not yet sent: the workers are the test's to run.
    assert m("community_bot_outbox_rows", platform="fake", state="sending") == 1
    await ops.run.settle()
    m = await ops.scrape()
    assert m("community_bot_deliveries_total", platform="fake", outcome="sent") == 1
    assert m("community_bot_outbox_rows", platform="fake", state="sending") == 0


async def test_a_429_counts_and_the_waiting_row_ages(ops: Ops) -> None:
    ops.adapter.fail_next(PlatformError("429 slow down", retry_after=120))
    await ops.command("help")
    await ops.run.settle()
    m = await ops.scrape()
    assert m("community_bot_rate_limited_total", platform="fake") == 1
    assert m("community_bot_deliveries_total", platform="fake", outcome="rate_limited") == 1
    assert m("community_bot_outbox_rows", platform="fake", state="pending") == 1
    ops.clock.advance(timedelta(seconds=90))
    m = await ops.scrape()
    assert m("community_bot_outbox_oldest_age_seconds", platform="fake", state="pending") >= 90
    ops.clock.advance(timedelta(seconds=60))
    await ops.run.settle()
    m = await ops.scrape()
    assert m("community_bot_outbox_rows", platform="fake", state="pending") == 0
    assert m("community_bot_deliveries_total", platform="fake", outcome="sent") == 1


async def test_a_late_timer_is_measured_late(ops: Ops) -> None:
    async with ops.run.bot.transaction() as scope:
        await scope.schedule("housekeeping", "daily", scope.now, key="sweep-now")
    ops.clock.advance(timedelta(seconds=7))
    assert await ops.run.timers.run_due() == 1
    m = await ops.scrape()
    assert m("community_bot_timer_lateness_seconds_count") == 1
    assert m("community_bot_timer_lateness_seconds_sum") == pytest.approx(7)


async def test_readyz_needs_the_database_and_every_connection(ops: Ops) -> None:
    r = await ops.http.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": True, "adapter:fake": True}
    ops.adapter.connected = False
    r = await ops.http.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["adapter:fake"] is False
    assert (await ops.http.get("/healthz")).status_code == 200
