"""The delivery outbox: every outbound action reaches its platform once, at the right time.

Rows are claimed in batches (state `sending`), performed with the adapter's rate limit, and
marked `sent` with the platform's answer. A row still `sending` at start-up was in flight when
the bot stopped: it goes back to `pending`, so it is sent again (and only an adapter without
idempotent sends can then deliver it twice, at most one batch of such rows).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update

from adapters.codec import decode_action
from adapters.contract import Adapter, Capability, Done, Sent, SubSpaceOpened
from bot.errors import PlatformError
from bot.models import Member, OutboxRow, OutboxState
from bot.when import in_quiet_hours, quiet_hours_end

if TYPE_CHECKING:
    from bot.core import Bot

log = logging.getLogger(__name__)


class TokenBucket:
    """Allows `rate` actions a second with bursts of `burst`; time comes from the event loop."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.tokens = float(self.burst)
        self.stamp = asyncio.get_running_loop().time()

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)

    def hold(self, seconds: float) -> None:
        """A platform said slow down: spend the tokens of the next `seconds`."""
        self.tokens = min(self.tokens, 0) - seconds * self.rate


def result_json(result: Any) -> dict[str, Any]:
    if isinstance(result, Sent):
        return {
            "message_id": result.message_id,
            "thread": result.thread,
            "space": result.place.space,
        }
    if isinstance(result, SubSpaceOpened):
        return {"space": result.place.space, "thread": result.place.thread}
    return {}


MAX_BATCH = 64
LINGER = 0.005
"""Seconds the worker waits after a wake-up before claiming: under load, one claim and one
record transaction then serve every row queued meanwhile instead of one row each."""


def claim_batch(adapter: Adapter, workers: int) -> int:
    """How many rows to claim per transaction: `workers`, or for an adapter whose sends are
    idempotent as many as its bucket allows at once (up to 64), since a batch resent after a
    crash is harmless there and each claim and record is a transaction of its own."""
    if Capability.IDEMPOTENT_SEND in adapter.capabilities:
        return max(workers, min(MAX_BATCH, adapter.send_rate.burst))
    return workers


def backoff(attempts: int) -> float:
    """Exponential backoff with full jitter, capped at 10 minutes."""
    return random.uniform(0, min(600.0, 2.0**attempts))


class Outbox:
    """Claims and performs due outbox rows for one adapter."""

    def __init__(self, bot: Bot, adapter: Adapter) -> None:
        self.bot = bot
        self.adapter = adapter
        self.platform = adapter.platform
        self.batch = claim_batch(adapter, bot.config.model.delivery.workers)
        self.max_attempts = bot.config.model.delivery.max_attempts
        self.bucket: TokenBucket | None = None
        self.wake = asyncio.Event()
        bot.on_wake(f"outbox:{self.platform}", self.wake.set)

    async def recover(self) -> int:
        """Put rows that were in flight when the bot stopped back in the queue."""
        async with self.bot.db.session() as s:
            result = await s.exec(
                update(OutboxRow)
                .where(
                    col(OutboxRow.platform) == self.platform,
                    col(OutboxRow.state) == OutboxState.SENDING,
                )
                .values(state=OutboxState.PENDING)
            )
            return int(result.rowcount)

    async def _claim(self, now: datetime) -> list[OutboxRow]:
        async with self.bot.db.session() as s:
            stmt = (
                select(OutboxRow)
                .where(
                    col(OutboxRow.state) == OutboxState.PENDING,
                    col(OutboxRow.platform) == self.platform,
                    col(OutboxRow.next_attempt_at) <= now,
                )
                .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
                .limit(self.batch)
            )
            if not self.bot.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await s.exec(stmt)).all())
            claimed = []
            for row in rows:
                if await self._held_back(s, row, now):
                    continue
                row.state = OutboxState.SENDING
                row.attempts += 1
                claimed.append(row)
            return claimed

    async def _held_back(self, s: Any, row: OutboxRow, now: datetime) -> bool:
        """Apply deadlines and the recipient's pause and quiet hours; True if not sent now."""
        if row.not_after is not None and now >= row.not_after:
            row.state, row.last_error = OutboxState.SKIPPED, "its moment has passed"
            log.info("outbox %s skipped: past its not-after time", row.id)
            return True
        if row.grace_until is not None and now > row.grace_until:
            row.state, row.last_error = OutboxState.SKIPPED, "too late after downtime"
            log.warning("outbox %s skipped: due %s, too late to send", row.id, row.next_attempt_at)
            return True
        if row.recipient_member_id is None:
            return False
        member = await s.get(Member, row.recipient_member_id)
        if member is None or member.paused:
            row.state, row.last_error = OutboxState.SKIPPED, "recipient paused"
            return True
        if member.quiet_start is not None and member.quiet_end is not None:
            tz = ZoneInfo(member.timezone or self.bot.community.timezone)
            if in_quiet_hours(now.astimezone(tz).time(), member.quiet_start, member.quiet_end):
                row.next_attempt_at = quiet_hours_end(now, member.quiet_start, member.quiet_end, tz)
                if row.grace_until is not None:
                    row.grace_until = None
                return True
        return False

    async def deliver_due(self) -> int:
        """Claim and perform one batch of due rows; returns how many were claimed."""
        now = self.bot.clock.now()
        rows = await self._claim(now)
        if not rows:
            return 0
        outcomes = await asyncio.gather(*(self._perform(row) for row in rows))
        woken: set[str] = set()
        async with self.bot.db.session() as s:
            scope = self.bot.scope(s)
            for row, outcome in zip(rows, outcomes, strict=True):
                await self._record(scope, row, outcome)
            woken = scope.woken
        self.bot.wake(woken)
        return len(rows)

    async def _perform(self, row: OutboxRow) -> Any:
        if self.bucket is None:
            rate = self.adapter.send_rate
            self.bucket = TokenBucket(rate.per_second, rate.burst)
        await self.bucket.take()
        try:
            return await self.adapter.perform(decode_action(row.action))
        except PlatformError as exc:
            if exc.retry_after is not None:
                self.bucket.hold(exc.retry_after)
            return exc
        except Exception as exc:  # a network error, a bug in the adapter
            log.warning("outbox %s: %s failed: %r", row.id, self.platform, exc)
            return exc

    async def _record(self, scope: Any, row: OutboxRow, outcome: Any) -> None:
        now = scope.now
        if isinstance(outcome, Sent | SubSpaceOpened | Done):
            row.state, row.sent_at, row.result = OutboxState.SENT, now, result_json(outcome)
            if row.on_result:
                hook, _, ref = row.on_result.partition(":")
                await self.bot.result_hooks[hook](scope, ref, outcome)
        elif isinstance(outcome, PlatformError) and outcome.retry_after is not None:
            row.state, row.last_error = OutboxState.PENDING, str(outcome)
            row.attempts -= 1
            row.next_attempt_at = now + timedelta(seconds=outcome.retry_after)
        elif (
            (isinstance(outcome, PlatformError)
            and outcome.permanent)
            or row.attempts >= self.max_attempts
        ):
            row.state, row.last_error = OutboxState.DEAD, str(outcome)[:2000]
            log.error(
                "outbox %s to %s is dead after %d attempts: %s",
                row.id,
                self.platform,
                row.attempts,
                outcome,
            )
        else:
            row.state, row.last_error = OutboxState.PENDING, str(outcome)[:2000]
            row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts))
        scope.session.add(row)

    async def next_due(self) -> datetime | None:
        async with self.bot.db.reader() as s:
            stmt = (
                select(OutboxRow.next_attempt_at)
                .where(
                    col(OutboxRow.state) == OutboxState.PENDING,
                    col(OutboxRow.platform) == self.platform,
                )
                .order_by(col(OutboxRow.next_attempt_at))
                .limit(1)
            )
            return (await s.exec(stmt)).first()

    async def run(self) -> None:
        """Deliver forever: drain what is due, then sleep until the next row or a wake-up."""
        while True:
            self.wake.clear()
            try:
                # A short batch means nothing else was due: what is queued meanwhile sets
                # `wake`, so there is no need to look again straight away.
                while await self.deliver_due() >= self.batch:
                    pass
                due = await self.next_due()
            except Exception:
                log.exception("outbox worker for %s failed; retrying", self.platform)
                due = None
            now = self.bot.clock.now()
            horizon = now + timedelta(seconds=30)
            await self.bot.clock.sleep_until(min(due, horizon) if due else horizon, self.wake)
            if self.wake.is_set():
                # Woken by a commit: let the rows committed just after it join the batch.
                await asyncio.sleep(LINGER)


def local_time(at: datetime, tz: str) -> time:
    return at.astimezone(ZoneInfo(tz)).time()
