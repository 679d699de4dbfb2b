"""The numbers an operator watches, in Prometheus's format at `/metrics`.

Each bot has its own registry (tests run several bots in one process). What changes on the
hot path (an event handled, a row sent) is counted there, at the cost of a dictionary look-up
and an addition; what lives in the database (the outbox's depth and age) is read only when
scraped, so a busy bot pays nothing for it between scrapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from bot.db import Database
from bot.models import OutboxRow, OutboxState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WATCHED_STATES = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.DEAD)
"""Outbox states worth a gauge: sent and skipped rows only grow until housekeeping."""
KINDS = ("message", "command", "button", "reaction", "member_joined", "other")
OUTCOMES = ("sent", "retry", "rate_limited", "dead", "skipped")
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 3600.0)


class OutboxSnapshot:
    """Depth and age of each platform's outbox by state, as last read (`refresh`)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, datetime | None]] = []
        self.now: datetime | None = None

    async def refresh(self, db: Database, now: datetime) -> None:
        async with db.reader() as s:
            stmt = (
                select(
                    OutboxRow.platform,
                    OutboxRow.state,
                    func.count(),
                    func.min(OutboxRow.created_at),
                )
                .where(col(OutboxRow.state).in_(WATCHED_STATES))
                .group_by(col(OutboxRow.platform), col(OutboxRow.state))
            )
            self.rows = [tuple(r) for r in (await s.exec(stmt)).all()]  # type: ignore[misc]
        self.now = now


class _OutboxCollector(Collector):
    def __init__(self, snapshot: OutboxSnapshot, platforms: Iterable[str]) -> None:
        self.snapshot = snapshot
        self.platforms = list(platforms)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "community_bot_outbox_rows",
            "Outbox rows by platform and state.",
            labels=["platform", "state"],
        )
        age = GaugeMetricFamily(
            "community_bot_outbox_oldest_age_seconds",
            "Age of the oldest outbox row by platform and state (0 when there is none).",
            labels=["platform", "state"],
        )
        seen = {(p, s): (n, oldest) for p, s, n, oldest in self.snapshot.rows}
        platforms = sorted(set(self.platforms) | {p for p, _ in seen})
        for platform in platforms:
            for state in WATCHED_STATES:
                n, oldest = seen.get((platform, state.value), (0, None))
                depth.add_metric([platform, state.value], n)
                late = (
                    (self.snapshot.now - oldest).total_seconds()
                    if oldest is not None and self.snapshot.now is not None
                    else 0.0
                )
                age.add_metric([platform, state.value], max(0.0, late))
        yield depth
        yield age


class Metrics:
    """One bot's series. The names are part of the operator's dashboards: keep them stable."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.inbound = Counter(
            "community_bot_inbound_events", "Inbound events by platform and kind.",
            ["platform", "kind"], registry=r,
        )  # fmt: skip
        self.handler_seconds = Histogram(
            "community_bot_handler_seconds", "Time to handle one inbound event, by kind.",
            ["kind"], buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "community_bot_deliveries", "Outbox rows performed, by platform and outcome "
            "(sent, retry, rate_limited, dead, skipped).", ["platform", "outcome"], registry=r,
        )  # fmt: skip
        self.rate_limited = Counter(
            "community_bot_rate_limited", "429s (Retry-After) answered by a platform.",
            ["platform"], registry=r,
        )  # fmt: skip
        self.timer_lateness = Histogram(
            "community_bot_timer_lateness_seconds", "How long after its due time a timer fired.",
            buckets=LATE_BUCKETS, registry=r,
        )  # fmt: skip
        self.leading = Gauge(
            "community_bot_leading", "1 where this process leads the role (the scheduler, a "
            "platform's receiving connection), else 0.", ["role", "process"], registry=r,
        )  # fmt: skip
        self.outbox = OutboxSnapshot()
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def watch(self, platforms: Iterable[str]) -> None:
        """Show every series for these platforms from the start, at zero until it moves: a
        dashboard (and `rate()`) needs the series to exist before its first event."""
        platforms = list(platforms)
        self.registry.register(_OutboxCollector(self.outbox, platforms))
        for platform in platforms:
            self.rate_limited.labels(platform)
            for kind in KINDS:
                self.inbound_for(platform, kind)
            for outcome in OUTCOMES:
                self.delivered(platform, outcome)
        for kind in KINDS:
            self.handler_for(kind)

    def inbound_for(self, platform: str, kind: str) -> Counter:
        child: Counter = self._child(self.inbound, platform, kind)
        return child

    def delivered(self, platform: str, outcome: str) -> Counter:
        child: Counter = self._child(self.deliveries, platform, outcome)
        return child

    def handler_for(self, kind: str) -> Histogram:
        child: Histogram = self._child(self.handler_seconds, kind)
        return child

    def _child(self, metric: Any, *labels: str) -> Any:
        """The child for these labels, found once: `labels()` each time costs more."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    async def exposition(self, db: Database, now: datetime) -> bytes:
        await self.outbox.refresh(db, now)
        return generate_latest(self.registry)
