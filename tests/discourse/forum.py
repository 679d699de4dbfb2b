"""The fake forum and the adapter wired together on loopback, for adapter and contract tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.contract import InboundSink
from adapters.discourse.adapter import WEBHOOK_PATH, DiscourseAdapter
from bot.config import Secret
from bot.db import Database
from bot.web import WebServer, build_app
from tests.discourse.fake import FakeDiscourse


@dataclass
class Forum:
    fake: FakeDiscourse
    adapter: DiscourseAdapter
    base_url: str
    """The fake's API base URL."""
    webhook_url: str


@asynccontextmanager
async def serve(fake: FakeDiscourse) -> AsyncIterator[str]:
    """The fake's API on a free loopback port; yields its base URL."""
    server = WebServer(fake.app, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


@asynccontextmanager
async def forum(
    db: Database,
    sink: InboundSink,
    fake: FakeDiscourse | None = None,
    **options: object,
) -> AsyncIterator[Forum]:
    """The fake forum, the adapter pointed at it and the adapter's webhook served."""
    fake = fake or FakeDiscourse()
    async with serve(fake) as base_url:
        adapter = DiscourseAdapter(
            db,
            base_url=base_url,
            username=fake.bot,
            api_key=Secret(fake.api_key),
            webhook_secret=Secret(fake.secret),
            requests_per_minute=fake.limit.limit,
            window_seconds=fake.limit.window,
            **options,  # type: ignore[arg-type]
        )
        hooks = WebServer(build_app(adapter.http_routes()), "127.0.0.1", 0)
        await hooks.start()
        fake.webhook_url = f"http://127.0.0.1:{hooks.port}{WEBHOOK_PATH}"
        await adapter.start(sink)
        try:
            yield Forum(fake, adapter, base_url, fake.webhook_url)
        finally:
            await adapter.stop()
            await hooks.stop()
