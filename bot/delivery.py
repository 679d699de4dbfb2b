"""The delivery outbox: every outbound action reaches its platform once, at the right time.

Rows are claimed in batches (state `sending`, the next batch claimed while one is sent) and
performed by `delivery.workers` concurrent workers under the adapter's token bucket. A row
due now with nothing to check (a reply) is queued already claimed and handed over when its
transaction commits (`take`), so it goes out at once without a claim. A row still `sending`
at start-up was claimed when the bot stopped: it goes back to `pending` and is sent again. So
that this cannot double more than the requests in flight, each worker of an adapter without
idempotent sends records its row's outcome before it lets another row go: at most `workers`
rows are ever performed but unrecorded. An adapter that declares
`Capability.IDEMPOTENT_SEND` passes the row's key to its platform, which drops a repeat; its
outcomes are recorded in small batches, since a resend costs nothing there.

Failures: a 429 (`PlatformError.retry_after`) pauses the adapter's whole outbox for
`Retry-After` and requeues the row (and those claimed with it) without counting an attempt;
5xx and network errors are retried with exponential backoff and jitter; a permanent error,
or `delivery.max_attempts` failures, make the row dead (organisers see it with
`nudge failures`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import col, select, update

from adapters.codec import decode_action
from adapters.contract import Adapter, Capability, Done, Sent, SubSpaceOpened
from bot.errors import PlatformError
from bot.models import Claimed, Member, OutboxRow, OutboxState
from bot.reach import reroute
from bot.when import in_quiet_hours, quiet_hours_end
from bot.worker import drain_forever

if TYPE_CHECKING:
    from bot.context import Scope
    from bot.core import Bot

log = logging.getLogger(__name__)

MAX_CLAIM = 500
RECORD_BATCH = 25
CLAIM_SECONDS = 2.0
"""A claim holds about this many seconds of sending at the adapter's rate (at least one row
per worker, at most `MAX_CLAIM`), so a claimed row waits little before it is sent."""


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


Outcome = tuple[Claimed, Any]
"""A row sent, and what the adapter answered (a result or the exception)."""

RECORD_DELAY = 0.02
"""Seconds the outcomes of handed-over rows may wait to be recorded together."""

LINGER = 0.005
"""Seconds the worker waits after a wake-up before claiming: under load, one claim and one
record transaction then serve every row queued meanwhile instead of one row each."""


@functools.cache
def update_statement(columns: tuple[str, ...]) -> Any:
    """One UPDATE of these columns by row id, built once and run for many rows at a time:
    building an ORM update for each row cost more than the rest of its delivery."""
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    return (
        table.update()
        .where(table.c.id == bindparam("row_id"))
        .values({c: bindparam(c) for c in columns})
    )


def backoff(attempts: int) -> float:
    """Exponential backoff (2 s, 4 s, 8 s … capped at 10 minutes) with jitter: each retry
    waits between half and all of its step, so rows that failed together spread out."""
    step = min(600.0, 2.0**attempts)
    return random.uniform(step / 2, step)


class Outbox:
    """Claims and performs due outbox rows for one adapter."""

    def __init__(self, bot: Bot, adapter: Adapter) -> None:
        self.bot = bot
        self.adapter = adapter
        self.platform = adapter.platform
        delivery = bot.config.model.delivery
        self.workers = delivery.workers
        self.max_attempts = delivery.max_attempts
        rate = adapter.send_rate
        self.claim_size = max(self.workers, min(MAX_CLAIM, int(rate.per_second * CLAIM_SECONDS)))
        self.bucket: TokenBucket | None = None
        self.paused_until: datetime | None = None
        """Set by a 429: until then no row is sent, each goes back to wait (on the bot's
        clock, so the fake clock drives it in tests)."""
        self.wake = asyncio.Event()
        bot.on_wake(f"outbox:{self.platform}", self.wake.set)
        self.taken: deque[Claimed] = deque()
        """Rows handed over already claimed, waiting to be sent."""
        self.was_taken = asyncio.Event()
        bot.on_hand_off(self.platform, self.take)
        self.idempotent = Capability.IDEMPOTENT_SEND in adapter.capabilities
        self.slots = asyncio.Semaphore(self.workers)
        """Shared by the hand-off workers and every claimed batch being sent, so that all of
        them together keep to `workers` rows in flight."""

    def _bucket(self) -> TokenBucket:
        """The adapter's rate at full speed, with half its burst: the other half stays with
        the platform as headroom, so network jitter in a steady stream is not answered 429."""
        if self.bucket is None:
            rate = self.adapter.send_rate
            self.bucket = TokenBucket(rate.per_second, rate.burst // 2)
        return self.bucket

    async def recover(self) -> int:
        """Put rows that were claimed when the bot stopped back in the queue."""
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

    async def _claim(self, now: datetime) -> tuple[list[Claimed], int]:
        """Due rows to send now, and how many due rows were looked at (some held back)."""
        async with self.bot.db.session() as s:
            stmt = (
                select(OutboxRow)
                .where(
                    col(OutboxRow.state) == OutboxState.PENDING,
                    col(OutboxRow.platform) == self.platform,
                    col(OutboxRow.next_attempt_at) <= now,
                )
                .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
                .limit(self.claim_size)
            )
            if not self.bot.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await s.exec(stmt)).all())
            ids = {r.recipient_member_id for r in rows if r.recipient_member_id is not None}
            found = await s.exec(select(Member).where(col(Member.id).in_(ids))) if ids else ()
            members = {m.id: m for m in found}
            claimed = []
            for row in rows:
                member = members.get(row.recipient_member_id or 0)
                if self._held_back(row, member, now):
                    continue
                row.state = OutboxState.SENDING
                row.attempts += 1
                claimed.append(Claimed.of(row))
            return claimed, len(rows)

    def _held_back(self, row: OutboxRow, member: Member | None, now: datetime) -> bool:
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
        if member is None or member.paused:
            row.state, row.last_error = OutboxState.SKIPPED, "recipient paused"
            return True
        if member.quiet_start is not None and member.quiet_end is not None:
            tz = ZoneInfo(member.timezone or self.bot.community.timezone)
            if in_quiet_hours(now.astimezone(tz).time(), member.quiet_start, member.quiet_end):
                row.next_attempt_at = quiet_hours_end(now, member.quiet_start, member.quiet_end, tz)
                row.grace_until = None
                return True
        return False

    def take(self, row: Claimed) -> None:
        self.taken.append(row)
        self.was_taken.set()

    async def deliver_due(self) -> int:
        """Perform the rows handed over and every row due now; returns how many it handled.

        While one batch is being sent the next is claimed, so the workers never wait for a
        claim and a long fan-out keeps the adapter at its full rate.
        """
        rows = list(self.taken)
        self.taken.clear()
        handled = len(rows)
        if rows:
            await self._send(rows)
        rows, looked = await self._claim(self.bot.clock.now())
        handled += looked
        while rows:
            sending = asyncio.create_task(self._send(rows))
            following: list[Claimed] = []
            if looked >= self.claim_size:
                following, looked = await self._claim(self.bot.clock.now())
                handled += looked
            await sending
            rows = following
        return handled

    async def _send(self, rows: list[Claimed]) -> None:
        """Send `rows` with `workers` concurrent workers.

        Without idempotent sends each worker records its row before taking the next, which
        bounds the rows a crash can send twice by `workers`. With them a repeat is dropped
        by the platform, so outcomes are recorded `RECORD_BATCH` at a time, in one
        transaction, which is what lets a fan-out keep up with a fast platform. A row with a
        result hook is recorded at once: a ritual learns where its post went (a round's
        thread) before people can reply there.
        """
        queue = deque(rows)
        batch = RECORD_BATCH if self.idempotent else 1
        done: list[Outcome] = []

        async def worker() -> None:
            while queue:
                row = queue.popleft()
                async with self.slots:
                    done.append((row, await self._perform(row)))
                    if len(done) >= batch or row.on_result:
                        chunk = done[:]
                        done.clear()
                        await self._record(chunk)

        try:
            await asyncio.gather(*(worker() for _ in range(min(self.workers, len(rows)))))
        finally:  # also when stopping: what was sent is not sent again at the next start
            if done:
                await self._record(done)

    async def _perform(self, row: Claimed) -> Any:
        now = self.bot.clock.now()
        if self.paused_until is not None and now < self.paused_until:
            wait = (self.paused_until - now).total_seconds()
            return PlatformError("waiting out the platform's rate limit", retry_after=wait)
        await self._bucket().take()
        try:
            return await self.adapter.perform(decode_action(row.action))
        except PlatformError as exc:
            if exc.retry_after is not None:
                until = self.bot.clock.now() + timedelta(seconds=exc.retry_after)
                self.paused_until = max(until, self.paused_until or until)
            return exc
        except Exception as exc:  # a network error, a bug in the adapter
            log.warning("outbox %s: %s failed: %r", row.id, self.platform, exc)
            return exc

    async def _record(self, outcomes: list[Outcome]) -> None:
        try:
            async with self.bot.db.session() as s:
                scope = self.bot.scope(s)
                updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
                for row, outcome in outcomes:
                    values = await self._apply(scope, row, outcome)
                    updates[tuple(sorted(values))].append({"row_id": row.id, **values})
                    if values["state"] == OutboxState.PENDING:  # a retry: the loop must see it
                        scope.woken.add(f"outbox:{self.platform}")
                for columns, params in updates.items():
                    await s.exec(update_statement(columns), params=params)
            scope.committed()
        except Exception:
            ids = [row.id for row, _ in outcomes]
            log.exception("outbox %s: recording the outcome failed; it stays claimed", ids)

    async def _apply(self, scope: Scope, row: Claimed, outcome: Any) -> dict[str, Any]:
        """The columns to write for a row's outcome (and its result hook, once sent)."""
        now = scope.now
        if isinstance(outcome, Sent | SubSpaceOpened | Done):
            if row.on_result:
                hook, _, ref = row.on_result.partition(":")
                await self.bot.result_hooks[hook](scope, ref, outcome)
            return {"state": OutboxState.SENT, "sent_at": now, "result": result_json(outcome)}
        if isinstance(outcome, PlatformError) and outcome.retry_after is not None:
            return {
                "state": OutboxState.PENDING,
                "attempts": row.attempts - 1,
                "next_attempt_at": now + timedelta(seconds=outcome.retry_after),
                "last_error": str(outcome)[:2000],
            }
        if (isinstance(outcome, PlatformError) and outcome.permanent) or (
            row.attempts >= self.max_attempts
        ):
            log.error(
                "outbox %s to %s is dead after %d attempts: %s",
                row.id,
                self.platform,
                row.attempts,
                outcome,
            )
            error = str(outcome)
            if isinstance(outcome, PlatformError) and outcome.permanent:
                moved = await reroute(scope, row.id, error)
                error = f"moved to {moved}: {error}" if moved else error
            return {"state": OutboxState.DEAD, "last_error": error[:2000]}
        return {
            "state": OutboxState.PENDING,
            "last_error": str(outcome)[:2000],
            "next_attempt_at": now + timedelta(seconds=backoff(row.attempts)),
        }

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
        """Deliver forever: send rows as they are handed over and, beside that, drain what
        is due, then sleep until the next row or a wake-up."""
        await asyncio.gather(
            self._send_taken_forever(),
            drain_forever(
                f"outbox worker for {self.platform}",
                self.bot.clock,
                self.wake,
                self.deliver_due,
                self.next_due,
                linger=LINGER,
            ),
        )

    async def _send_taken_forever(self) -> None:
        """Send rows as they are handed over: each worker takes the oldest one waiting, so a
        reply never waits for a whole batch ahead of it. With idempotent sends the outcomes
        are recorded once `RECORD_BATCH` have collected or `RECORD_DELAY` after the first: a
        steady trickle of replies costs one record transaction for many, and a crash
        meanwhile only resends what the platform drops as a repeat."""
        done: list[Outcome] = []
        collected = asyncio.Event()

        async def record() -> None:
            chunk = done[:]
            done.clear()
            await self._record(chunk)

        async def worker() -> None:
            while True:
                while not self.taken:
                    self.was_taken.clear()
                    await self.was_taken.wait()
                row = self.taken.popleft()
                async with self.slots:
                    done.append((row, await self._perform(row)))
                    if not self.idempotent or len(done) >= RECORD_BATCH or row.on_result:
                        await record()
                    else:
                        collected.set()

        async def recorder() -> None:
            while True:
                await collected.wait()
                await asyncio.sleep(RECORD_DELAY)
                collected.clear()
                if done:
                    await record()

        try:
            await asyncio.gather(recorder(), *(worker() for _ in range(self.workers)))
        finally:
            if done:  # stopping: keep what was sent from being sent again
                await record()
