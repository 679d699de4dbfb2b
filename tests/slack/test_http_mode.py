"""HTTP mode: Slack's signed requests reach the core once; anything unsigned never does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from adapters.contract import CommandInvoked, Inbound, MessageReceived
from adapters.slack.adapter import SlackAdapter
from bot.config import Secret
from bot.web import build_app
from tests.contract.subjects import open_db
from tests.slack import payloads as p
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, sign

pytestmark = pytest.mark.slack
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class Endpoint:
    def __init__(self) -> None:
        self.http: httpx.AsyncClient | None = None
        self.received: list[Inbound] = []
        self.arrived = asyncio.Condition()

    async def sink(self, event: Inbound) -> None:
        async with self.arrived:
            self.received.append(event)
            self.arrived.notify_all()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        assert self.http is not None
        return await self.http.post(path, content=body, headers=headers)

    async def reached(self, count: int) -> list[Inbound]:
        """The events the core got, once there are `count` (bolt acks before it hands over)."""
        async with asyncio.timeout(10), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)
        return self.received

    async def expect_only(self, refused: str) -> None:
        """A good request sent after a refused one arrives alone: the refused one never did."""
        body = event_body("Ev0GOOD")
        assert refused != "Ev0GOOD"
        r = await self.post("/slack/events", body, json_headers(body))
        assert r.status_code == 200
        assert [e.event_id for e in await self.reached(1)] == ["Ev0GOOD"]


@pytest.fixture
async def endpoint(fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Endpoint]:
    db = await open_db(tmp_path)
    adapter = SlackAdapter(
        db,
        bot_token=Secret(BOT_TOKEN),
        signing_secret=Secret(SECRET),
        mode="http",
        base_url=fake_slack.base_url,
    )
    endpoint = Endpoint()
    await adapter.start(endpoint.sink)
    app = build_app(adapter.http_routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot.test"
    ) as http:
        endpoint.http = http
        yield endpoint
    await adapter.stop()
    await db.close()


def event_body(event_id: str = "Ev0HTTP1") -> bytes:
    return json.dumps(p.callback(p.message("Hello over HTTP"), event_id)).encode()


def json_headers(body: bytes, at: float | None = None) -> dict[str, str]:
    return sign(SECRET, body, at) | {"Content-Type": "application/json"}


async def test_a_signed_event_reaches_the_core(endpoint: Endpoint) -> None:
    body = event_body()
    r = await endpoint.post("/slack/events", body, json_headers(body))
    assert r.status_code == 200
    assert [type(e) for e in await endpoint.reached(1)] == [MessageReceived]


async def test_a_signed_slash_command_is_acknowledged_and_reaches_the_core(
    endpoint: Endpoint,
) -> None:
    body = urlencode(p.slash("/checkin", "pass")).encode()
    headers = sign(SECRET, body) | {"Content-Type": "application/x-www-form-urlencoded"}
    r = await endpoint.post("/slack/commands", body, headers)
    assert r.status_code == 200
    (command,) = await endpoint.reached(1)
    assert isinstance(command, CommandInvoked) and command.text == "checkin pass"


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda h: h | {"X-Slack-Signature": "v0=" + "0" * 64}, id="bad signature"),
        pytest.param(lambda h: {"Content-Type": "application/json"}, id="no headers"),
        pytest.param(
            lambda h: {k: v for k, v in h.items() if k != "X-Slack-Signature"}, id="no signature"
        ),
    ],
)
async def test_an_unsigned_request_is_refused_and_never_reaches_the_core(
    endpoint: Endpoint, spoil
) -> None:
    body = event_body("Ev0SPOILT")
    r = await endpoint.post("/slack/events", body, spoil(json_headers(body)))
    assert r.status_code == 401
    await endpoint.expect_only("Ev0SPOILT")


async def test_a_request_signed_over_five_minutes_ago_is_refused(endpoint: Endpoint) -> None:
    body = event_body()
    r = await endpoint.post("/slack/events", body, json_headers(body, time.time() - 301))
    assert r.status_code == 401
    assert endpoint.received == []
    fresh = await endpoint.post("/slack/events", body, json_headers(body, time.time() - 200))
    assert fresh.status_code == 200 and len(await endpoint.reached(1)) == 1


async def test_a_body_changed_after_signing_is_refused(endpoint: Endpoint) -> None:
    body = event_body()
    headers = json_headers(body)
    r = await endpoint.post("/slack/events", body.replace(b"Hello", b"Hullo"), headers)
    assert r.status_code == 401
    await endpoint.expect_only("Ev0HTTP1")


async def test_slacks_retry_of_an_event_is_handled_once(endpoint: Endpoint) -> None:
    body = event_body("Ev0RETRY")
    first = await endpoint.post("/slack/events", body, json_headers(body))
    await endpoint.reached(1)
    retry_headers = json_headers(body) | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "x"}
    again = await endpoint.post("/slack/events", body, retry_headers)
    assert first.status_code == again.status_code == 200
    assert len(endpoint.received) == 1


async def test_url_verification_answers_the_challenge(endpoint: Endpoint) -> None:
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    r = await endpoint.post("/slack/events", body, json_headers(body))
    assert r.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in r.text
