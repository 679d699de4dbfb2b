"""Slack's rate limits, kept before each Web API call instead of learnt from 429s.

Slack limits every method per app and workspace by the method's tier (about 1 call a minute
in Tier 1, 20 in Tier 2, 50 in Tier 3, 100 in Tier 4, each with a short burst), and
`chat.postMessage` to about one message a second in each channel; that method's
workspace-wide limit is the outbox's bucket (`[slack] messages_per_minute`). `PacedWebClient`
is the one client every call of the adapter goes through: each call waits for its slot in its
method's schedule (its channel's, for a message), and a 429 holds that schedule back for
Slack's `Retry-After` before the error goes on to the caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.translate import retry_after_s
from bot.errors import PlatformError


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int
    """Calls that may go at once before the steady rate applies: fewer than Slack tolerates,
    so that calls arriving closer together than they left are still within it."""


TIERS: Mapping[int, Limit] = {
    1: Limit(1, 2),
    2: Limit(20, 2),
    3: Limit(50, 4),
    4: Limit(100, 8),
}
METHOD_TIERS: Mapping[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,  # Slack's "special" tier, generous; once a start
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.archive": 2,
    "conversations.create": 2,
    "conversations.info": 3,
    "conversations.invite": 3,
    "conversations.members": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
}
"""Every method the adapter (and the Socket Mode client) calls, with its tier in Slack's
method reference."""
UNLISTED_TIER = 2
"""Slack: "most methods allow at least 20 requests per minute"."""
POST_MESSAGE = "chat.postMessage"
PER_CHANNEL = Limit(60, 1)
"""`chat.postMessage`: one message a second in one channel."""
PATIENCE: Mapping[str, float] = {"views.open": 2.0}
"""The longest a call may wait for its slot: a modal's `trigger_id` lives three seconds, so
a later slot is no use, and the call is refused at once instead."""
IDLE_KEYS = 1024
"""Past this many schedules (one per channel posted to), those gone idle are dropped."""


class Pacer:
    """One schedule per method (per channel for `chat.postMessage`), kept as the time its
    next call is due (GCRA): a burst of calls goes at once, then one per interval."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._due: dict[str, float] = {}

    @staticmethod
    def _schedule(method: str, channel: str | None) -> tuple[str, Limit]:
        if method == POST_MESSAGE and channel:
            return f"{method}:{channel}", PER_CHANNEL
        return method, TIERS[METHOD_TIERS.get(method, UNLISTED_TIER)]

    def delay(self, method: str, channel: str | None = None) -> float | None:
        """Take the call's slot: how many seconds to wait before making it, or None (and
        nothing taken) when that is longer than the method's `PATIENCE`."""
        key, limit = self._schedule(method, channel)
        now = self._clock()
        interval = 60 / limit.per_minute
        due = max(self._due.get(key, now), now)
        wait = max(0.0, due - (limit.burst - 1) * interval - now)
        if wait > PATIENCE.get(method, float("inf")):
            return None
        self._due[key] = due + interval
        if len(self._due) > IDLE_KEYS:
            self._due = {k: at for k, at in self._due.items() if at > now}
        return wait

    def hold(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack answered 429: no call of this kind before `seconds` from now."""
        key, limit = self._schedule(method, channel)
        until = self._clock() + seconds + (limit.burst - 1) * 60 / limit.per_minute
        self._due[key] = max(self._due.get(key, until), until)


class PacedWebClient(AsyncWebClient):
    """slack-sdk's client, each call paced by `pacer` (shared by every client of one bot)."""

    def __init__(self, pacer: Pacer, **options: Any) -> None:
        super().__init__(**options)
        self.pacer = pacer

    async def api_call(self, api_method: str, **options: Any) -> AsyncSlackResponse:
        args = options.get("json") or options.get("params") or options.get("data") or {}
        channel = args.get("channel") if isinstance(args, dict) else None
        channel = str(channel) if channel else None
        wait = self.pacer.delay(api_method, channel)
        if wait is None:
            raise PlatformError(f"Slack {api_method}: too many at once, not tried", permanent=True)
        if wait:
            await asyncio.sleep(wait)
        try:
            return await super().api_call(api_method, **options)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                self.pacer.hold(api_method, channel, retry_after_s(retry_after))
            raise
