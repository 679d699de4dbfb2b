"""A harness that runs the real core on a fake clock and a recording adapter.

`await harness.feed(event)` returns once every handler has finished and everything due has
been delivered, so a test then asserts on what the fake adapter recorded. Nothing sleeps:
time moves only with `advance`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.contract import (
    Actor,
    ButtonPressed,
    Capability,
    CommandInvoked,
    EventId,
    Inbound,
    MessageId,
    MessageReceived,
    Place,
    PlatformName,
    ReactionAdded,
    SpaceId,
    ThreadId,
    UserId,
)
from adapters.fake import ALL_CAPABILITIES, FakeAdapter
from bot.app import Running, running
from bot.clock import FakeClock
from bot.config import parse_config
from bot.router import Router
from bot.routers import ROUTERS
from bot.scheduler import ManualScheduler

DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Harness:
    def __init__(
        self,
        run: Running,
        clock: FakeClock,
        adapters: Sequence[FakeAdapter],
        scheduler: ManualScheduler,
    ) -> None:
        self.run = run
        self.bot = run.bot
        self.clock = clock
        self.adapter = adapters[0]
        self.adapters = {a.platform: a for a in adapters}
        """Every platform by name; `adapter` is the first (`fake`), where events come from
        unless a test names another with `platform=`."""
        self.scheduler = scheduler

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        database_url: str,
        *,
        start: datetime = DEFAULT_START,
        timezone: str = "Europe/London",
        organisers: Sequence[str] = ("fake:ada",),
        capabilities: Iterable[Capability] = ALL_CAPABILITIES,
        routers: Sequence[Router] = ROUTERS,
        config: Mapping[str, Any] | None = None,
        more_platforms: Sequence[str] = (),
    ) -> AsyncIterator[Harness]:
        data: dict[str, Any] = {
            "community": {
                "name": "Test community",
                "timezone": timezone,
                "organisers": list(organisers),
            },
            "storage": {"url_env": "HARNESS_DB"},
        }
        data.update(config or {})
        cfg = parse_config(data, {"HARNESS_DB": database_url}, Path.cwd())
        clock = FakeClock(start)
        adapters = [FakeAdapter(p, capabilities) for p in ("fake", *more_platforms)]
        scheduler = ManualScheduler()
        async with running(
            cfg,
            clock=clock,
            adapters=adapters,
            routers=routers,
            scheduler=scheduler,
            serve=False,
            background=False,
        ) as run:
            harness = cls(run, clock, adapters, scheduler)
            await harness.settle()
            yield harness

    async def settle(self) -> None:
        """Fire due series and timers and deliver due actions until nothing is left."""
        while True:
            fired = await self.scheduler.fire_due(self.clock.now())
            await self.run.settle()
            if not fired:
                return

    async def feed(self, event: Inbound) -> None:
        await self.bot.handle(event)
        await self.settle()

    async def advance(self, delta: timedelta) -> None:
        """Move time forward in steps, firing everything due on the way, in order."""
        end = self.clock.now() + delta
        while True:
            nexts = [await self.run.timers.next_due()]
            nexts += [await outbox.next_due() for outbox in self.run.outboxes.values()]
            due = [d for d in nexts if d is not None and d <= end]
            step = min([end, *due])
            self.clock.set(max(step, self.clock.now()))
            await self.settle()
            if self.clock.now() >= end:
                return

    # --- building events ------------------------------------------------------------------

    def place(
        self,
        space: str = "main",
        thread: str | None = None,
        direct: bool = False,
        platform: str | None = None,
    ) -> Place:
        return Place(
            PlatformName(platform or self.adapter.platform),
            SpaceId(space),
            ThreadId(thread) if thread else None,
            direct,
        )

    def _common(self, user: str, place: Place) -> dict[str, Any]:
        return {
            "event_id": EventId(uuid.uuid4().hex),
            "actor": Actor(place.platform, UserId(user), user.capitalize()),
            "place": place,
        }

    def command(self, user: str, text: str, **where: Any) -> CommandInvoked:
        return CommandInvoked(text=text, **self._common(user, self.place(**where)))

    def message(self, user: str, text: str, **where: Any) -> MessageReceived:
        return MessageReceived(
            message_id=MessageId(uuid.uuid4().hex),
            text=text,
            **self._common(user, self.place(**where)),
        )

    def press(
        self,
        user: str,
        message_id: str,
        action: str,
        value: str,
        *,
        text: str | None = None,
        **where: Any,
    ) -> ButtonPressed:
        """A button press; `text` is what was typed in the button's form, if it has one."""
        return ButtonPressed(
            message_id=MessageId(message_id),
            action=action,
            value=value,
            text=text,
            **self._common(user, self.place(**where)),
        )

    def react(self, user: str, message_id: str, key: str, **where: Any) -> ReactionAdded:
        return ReactionAdded(
            message_id=MessageId(message_id), key=key, **self._common(user, self.place(**where))
        )

    async def say(self, user: str, text: str, **where: Any) -> list[str]:
        """Run a command as `user` and return the texts the bot sent in answer (on the
        platform it was said on)."""
        adapter = self.adapters[where.get("platform") or self.adapter.platform]
        before = len(adapter.records)
        await self.feed(self.command(user, text, **where))
        return [r.text for r in adapter.records[before:] if r.text]
