"""The WhatsApp adapter against the fake Cloud API, its webhook served on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.contract import Inbound
from adapters.whatsapp import WhatsAppAdapter
from bot.clock import SystemClock
from bot.config import Secret
from bot.db import Database
from bot.routers import ROUTERS
from bot.web import WebServer, build_app
from tests.whatsapp.fake_graph import TOKEN, FakeGraph

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"


@dataclass
class Wired:
    adapter: WhatsAppAdapter
    graph: FakeGraph
    db: Database
    inbound: asyncio.Queue[Inbound]
    webhook_url: str

    async def next_inbound(self) -> Inbound:
        async with asyncio.timeout(10):
            return await self.inbound.get()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(APP_SECRET) as g:
        yield g
        assert g.problems == [], "requests departed from the spec"


def make_adapter(db: Database, graph: FakeGraph, **options: Any) -> WhatsAppAdapter:
    return WhatsAppAdapter(
        db,
        SystemClock(),
        phone_number_id=graph.phone_number_id,
        access_token=Secret(TOKEN),
        app_secret=Secret(APP_SECRET),
        verify_token=Secret(VERIFY_TOKEN),
        api_base=graph.base_url,
        command_paths=[spec.path for r in ROUTERS for spec in r.commands],
        **options,
    )


@pytest.fixture
async def wired(tmp_path: Path, graph: FakeGraph) -> AsyncIterator[Wired]:
    db = Database(f"sqlite:///{tmp_path / 'wa.db'}")
    await db.upgrade()
    adapter = make_adapter(db, graph, max_body=4096)
    inbound: asyncio.Queue[Inbound] = asyncio.Queue()
    await adapter.start(inbound.put)
    server = WebServer(build_app(adapter.http_routes()), "127.0.0.1", 0)
    await server.start()
    url = f"http://127.0.0.1:{server.port}{adapter.webhook_path}"
    graph.webhook_url = url
    try:
        yield Wired(adapter, graph, db, inbound, url)
    finally:
        await adapter.stop()
        await server.stop()
        await db.close()
