"""A fake chat platform over HTTP (loopback) and the adapter the bot uses to reach it.

The platform counts every message per recipient, so tests and benches can tell lost from
doubled deliveries. It can enforce a rate limit the way real platforms do (a token bucket,
answering 429 with `Retry-After`), take a little time per request, and, when idempotent,
drop a repeated idempotency key as Matrix does with a reused transaction id.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    Direct,
    InboundSink,
    MessageId,
    Place,
    PlatformName,
    SendMessage,
    SendRate,
    Sent,
    SpaceId,
    UserId,
    plain_text,
    require,
)
from bot.errors import PlatformError

PLATFORM = PlatformName("fakehttp")


class FakePlatform:
    """The server side: `app` serves `POST /send`; the counters are what tests read."""

    def __init__(
        self,
        *,
        idempotent: bool = False,
        rate: float | None = None,
        burst: int = 1,
        delay: float = 0.0,
    ) -> None:
        self.idempotent = idempotent
        self.rate, self.burst, self.delay = rate, burst, delay
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.deliveries: Counter[str] = Counter()
        self.keys: dict[str, str] = {}
        self.requests = 0
        self.limited = 0
        self.repeated_keys = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.reached = asyncio.Event()
        self.target = self.target_messages = 0
        self.app = Starlette(routes=[Route("/send", self.send, methods=["POST"])])

    def wait_for(self, recipients: int = 0, *, messages: int = 0) -> asyncio.Event:
        """An event set once `recipients` distinct people, or `messages` in all, got one."""
        self.target, self.target_messages = recipients, messages
        self.reached = asyncio.Event()
        self._check()
        return self.reached

    def _check(self) -> None:
        if (self.target and len(self.deliveries) >= self.target) or (
            self.target_messages and self.deliveries.total() >= self.target_messages
        ):
            self.reached.set()

    def _admit(self) -> float | None:
        """None when a token is free, else the seconds until one is."""
        if self.rate is None:
            return None
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate

    async def send(self, request: Request) -> Response:
        self.requests += 1
        body = await request.json()
        wait = self._admit()
        if wait is not None:
            self.limited += 1
            return JSONResponse(
                {"error": "rate limited", "retry_after": wait},
                status_code=429,
                headers={"Retry-After": str(math.ceil(wait))},
            )
        key = body.get("key")
        if self.idempotent and key in self.keys:
            self.repeated_keys += 1
            return JSONResponse({"id": self.keys[key]})
        to = str(body["to"])
        self.deliveries[to] += 1
        message_id = f"m{self.requests}"
        if self.idempotent and key:
            self.keys[key] = message_id
        self.first_at = self.first_at or time.monotonic()
        self.last_at = time.monotonic()
        self._check()
        if self.delay:
            await asyncio.sleep(self.delay)
        return JSONResponse({"id": message_id})

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.deliveries.values())


class HttpPlatformAdapter:
    """The bot's side: direct messages only, sent one HTTP request each."""

    platform = PLATFORM
    self_id = UserId("bot")
    command_prefix = "!"
    max_text = 4096

    def __init__(self, base_url: str, *, idempotent: bool, rate: float, burst: int) -> None:
        self.base_url = base_url
        self.idempotent = idempotent
        caps = {Capability.DIRECT_MESSAGES}
        self.capabilities = frozenset(
            caps | ({Capability.IDEMPOTENT_SEND} if idempotent else set())
        )
        self.send_rate = SendRate(rate, burst)
        self.client: httpx.AsyncClient | None = None

    async def start(self, sink: InboundSink) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=10.0, limits=limits)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        assert self.client is not None
        if not isinstance(action, SendMessage) or not isinstance(action.to, Direct):
            raise PlatformError("the fake platform only takes direct messages", permanent=True)
        body = {"to": action.to.user_id, "text": plain_text(action.text)}
        if self.idempotent:
            body["key"] = action.key
        response = await self.client.post("/send", json=body)
        if response.status_code == 429:
            raise PlatformError("429 rate limited", retry_after=response.json()["retry_after"])
        if response.status_code >= 400:
            raise PlatformError(
                f"HTTP {response.status_code}", permanent=response.status_code < 500
            )
        place = Place(PLATFORM, SpaceId(f"dm-{action.to.user_id}"), direct=True)
        return Sent(MessageId(response.json()["id"]), place)

    async def present(self, place: Place) -> Sequence[Actor]:
        return []
