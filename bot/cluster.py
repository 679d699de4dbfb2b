"""Several bot processes on one database: who leads what, and who is still alive.

Most work is shared: any process handles web requests, fires due timers and sends outbox rows
(claimed with `FOR UPDATE SKIP LOCKED`). A few things must run on one process at a time: the
recurring-series scheduler, and the receiving connection of a platform that allows only one
(a Matrix sync loop). Each is a role held by a lease row in the database: its holder renews it
every `RENEW` seconds, and when the holder dies the lease runs out (`LEASE`) and the next
process to look takes it, so a role moves within `LEASE + RENEW` seconds.

Every process also holds a `process:<id>` lease while it lives. An outbox row is claimed in
the name of a process; the scheduler's leader puts back the rows of processes whose lease ran
out, so rows a dead process held are sent again by the living, and rows a living process is
sending are never touched.

Lease times are the processes' own clocks: machines sharing a database keep their clocks in
step (NTP), far closer than `LEASE`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_
from sqlmodel import col, delete, select, update

from bot.context import insert_ignore
from bot.models import Lease

if TYPE_CHECKING:
    from bot.core import Bot

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=6)
RENEW = 2.0
"""Seconds between renewals: a role moves at most `LEASE` + `RENEW` after its holder died."""
PROCESS = "process:"

Hook = Callable[[], Awaitable[None]]


@dataclass
class Role:
    gain: Hook
    lose: Hook
    duty: Hook | None = None
    """Run at every renewal while leading (the scheduler's leader sweeps orphaned rows)."""


def alive_processes(now: datetime) -> Any:
    """The ids of the processes alive at `now`, as a subquery."""
    return select(Lease.holder).where(
        col(Lease.name).startswith(PROCESS), col(Lease.expires_at) >= now
    )


def orphaned(claimed_by: Any, now: datetime) -> Any:
    """A condition on a row's claiming process: none, or one no longer alive."""
    return or_(claimed_by.is_(None), claimed_by.not_in(alive_processes(now)))


class Cluster:
    """This process's leases: renews them and starts or stops what each role runs."""

    def __init__(self, bot: Bot, *, lease: timedelta = LEASE, renew: float = RENEW) -> None:
        self.bot = bot
        self.lease = lease
        self.renew = renew
        self.roles: dict[str, Role] = {}
        self.leading: set[str] = set()
        self.renewed_at: datetime | None = None
        self.wake = asyncio.Event()

    @property
    def process_id(self) -> str:
        return self.bot.process_id

    def role(self, name: str, gain: Hook, lose: Hook, duty: Hook | None = None) -> None:
        self.roles[name] = Role(gain, lose, duty)
        self.bot.metrics.leading.labels(name, self.process_id).set(0)

    async def tick(self) -> None:
        """Renew this process's leases, take free roles, start or stop what changed."""
        now = self.bot.clock.now()
        try:
            held = await self._renew(now)
            self.renewed_at = now
        except Exception:
            log.exception("cluster: renewing the leases failed")
            expired = self.renewed_at is None or now >= self.renewed_at + self.lease
            held = set() if expired else set(self.leading)
        for name in sorted(held - self.leading):
            log.info("cluster: %s now leads %s", self.process_id, name)
            self.leading.add(name)
            self.bot.metrics.leading.labels(name, self.process_id).set(1)
            await self.roles[name].gain()
        for name in sorted(self.leading - held):
            log.warning("cluster: %s no longer leads %s", self.process_id, name)
            self.leading.discard(name)
            self.bot.metrics.leading.labels(name, self.process_id).set(0)
            await self.roles[name].lose()
        for name in sorted(self.leading):
            duty = self.roles[name].duty
            if duty is not None:
                try:
                    await duty()
                except Exception:
                    log.exception("cluster: the %s leader's duty failed", name)

    async def _renew(self, now: datetime) -> set[str]:
        until = now + self.lease
        held = set()
        async with self.bot.db.session() as s:
            for name in [f"{PROCESS}{self.process_id}", *self.roles]:
                if await self._take(s, name, now, until):
                    held.add(name)
            counting = select(func.count()).select_from(alive_processes(now).subquery())
            alive = (await s.exec(counting)).one()
        self.bot.processes = max(1, int(alive))
        return held & set(self.roles)

    async def _take(self, s: Any, name: str, now: datetime, until: datetime) -> bool:
        """Hold the lease `name` until `until`, if it is free, ours, or run out."""
        me = self.process_id
        if await insert_ignore(s, Lease, name=name, holder=me, expires_at=until):
            return True
        result = await s.exec(
            update(Lease)
            .where(
                col(Lease.name) == name,
                or_(col(Lease.holder) == me, col(Lease.expires_at) < now),
            )
            .values(holder=me, expires_at=until)
        )
        return int(result.rowcount) == 1

    async def run(self) -> None:
        """Renew every `renew` seconds until cancelled."""
        while True:
            self.wake.clear()
            await self.bot.clock.sleep_until(
                self.bot.clock.now() + timedelta(seconds=self.renew), self.wake
            )
            await self.tick()

    async def release(self) -> None:
        """On a graceful stop: stop leading and give the leases up, so another process takes
        over at its next renewal rather than when they run out."""
        for name in sorted(self.leading):
            self.leading.discard(name)
            self.bot.metrics.leading.labels(name, self.process_id).set(0)
            try:
                await self.roles[name].lose()
            except Exception:
                log.exception("cluster: stopping %s failed", name)
        try:
            async with self.bot.db.session() as s:
                await s.exec(delete(Lease).where(col(Lease.holder) == self.process_id))
        except Exception:
            log.exception("cluster: releasing the leases failed; they run out by themselves")

    async def leaders(self) -> dict[str, str]:
        """Who leads each role now (for tests, benches and operators)."""
        now = self.bot.clock.now()
        async with self.bot.db.reader() as s:
            rows = (
                await s.exec(
                    select(Lease.name, Lease.holder).where(
                        col(Lease.expires_at) >= now, ~col(Lease.name).startswith(PROCESS)
                    )
                )
            ).all()
        return dict(rows)
