"""The whole bot as one `async with`: storage, adapters, workers, scheduler, web server.

Each component starts and stops through one `AsyncExitStack`, so a failure while starting
unwinds what had started, and SIGTERM stops everything in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from adapters.contract import Adapter, Capability, PlatformName
from bot.clock import Clock, SystemClock
from bot.cluster import Cluster, Hook
from bot.config import Config
from bot.core import Bot
from bot.db import Database, sync_url
from bot.delivery import Outbox
from bot.probes import probe_routes
from bot.pubsub import PubSub
from bot.router import Router
from bot.routers import ROUTERS
from bot.scheduler import APScheduler, Scheduler
from bot.timers import Timers
from bot.web import WebServer, build_app

log = logging.getLogger(__name__)


def platform_adapters(
    config: Config, db: Database, clock: Clock, pubsub: PubSub | None = None
) -> list[Adapter]:
    """The adapters the config asks for; the web chat is always there."""
    from adapters.webchat.adapter import WebChat

    web = config.model.web
    tokens = (
        {config.secret(u.token_env).reveal(): u.name for u in web.users}
        if web.auth == "token"
        else None
    )
    found: list[Adapter] = [
        WebChat(
            db,
            clock,
            bot_name=web.bot_name,
            tokens=tokens,
            pubsub=pubsub,
            language=config.model.community.language,
        )
    ]
    if config.model.matrix is not None:
        from adapters.matrix import MatrixAdapter

        found.append(MatrixAdapter.from_config(config, db))
    if config.model.discord is not None:
        from adapters.discord import DiscordAdapter

        found.append(DiscordAdapter.from_config(config, db))
    if config.model.slack is not None:
        from adapters.slack.adapter import SlackAdapter

        found.append(SlackAdapter.from_config(config, db))
    if config.model.discourse is not None:
        from adapters.discourse import DiscourseAdapter

        found.append(DiscourseAdapter.from_config(config, db))
    if config.model.whatsapp is not None:
        from adapters.whatsapp import WhatsAppAdapter

        found.append(WhatsAppAdapter.from_config(config, db, clock))
    return found


def scheduler_store_url(config: Config) -> str:
    """Where APScheduler keeps its jobs: the bot's database, or on SQLite a file of its own
    beside the bot's.

    APScheduler writes its job store synchronously from inside the event loop; on the bot's
    own SQLite file it would wait, loop blocked, for a write transaction the loop can no
    longer finish. A separate file has no writer to wait for.
    """
    url = sync_url(config.database_url())
    if url.drivername == "sqlite" and url.database:
        path = Path(url.database)
        return f"sqlite:///{path.with_name(f'{path.stem}-scheduler.db')}"
    return url.render_as_string(hide_password=False)


@dataclass
class Running:
    bot: Bot
    outboxes: dict[PlatformName, Outbox]
    timers: Timers
    web: WebServer | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    cluster: Cluster | None = None

    def receiver_role(self, adapter: Adapter, background: bool) -> tuple[Hook, Hook]:
        """A platform that allows one receiving connection: its adapter, and the outbox that
        sends through it, run on the process holding its lease."""
        outbox = self.outboxes[adapter.platform]
        running: list[asyncio.Task[None]] = []

        async def gain() -> None:
            await adapter.start(self.bot.handle)
            self.bot.on_hand_off(adapter.platform, outbox.take)
            if background:
                running.append(asyncio.create_task(outbox.run()))

        async def lose() -> None:
            self.bot.no_hand_off(adapter.platform)
            await _cancel(running)
            running.clear()
            await adapter.stop()

        return gain, lose

    async def settle(self) -> None:
        """Finish background work, fire what is due and deliver what is queued until nothing
        is left (for tests)."""
        while True:
            done = await self.bot.background_done()
            done += await self.timers.run_due()
            for outbox in self.outboxes.values():
                done += await outbox.deliver_due()
            if not done:
                return


@asynccontextmanager
async def running(
    config: Config,
    *,
    clock: Clock | None = None,
    adapters: Sequence[Adapter] | None = None,
    routers: Sequence[Router] = ROUTERS,
    scheduler: Scheduler | None = None,
    serve: bool = True,
    background: bool = True,
    host: str | None = None,
    port: int | None = None,
) -> AsyncIterator[Running]:
    """Start the bot; `background=False` leaves the workers to the caller (`settle`)."""
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        db = Database(config.database_url())
        stack.push_async_callback(db.close)
        await db.upgrade()
        pubsub = PubSub(config.database_url())
        found = (
            list(adapters) if adapters is not None else platform_adapters(config, db, clock, pubsub)
        )
        if scheduler is None:
            grace = timedelta(minutes=config.model.delivery.grace_minutes)
            scheduler = APScheduler(scheduler_store_url(config), grace)
        bot = Bot(config, db, clock, routers, {a.platform: a for a in found}, scheduler)
        stack.push_async_callback(bot.stop_background)
        await bot.prepare()
        bot.listen(pubsub)
        await pubsub.start()
        stack.push_async_callback(pubsub.stop)
        outboxes = {a.platform: Outbox(bot, a) for a in found}
        bot.metrics.watch(outboxes)
        timers = Timers(bot)
        await scheduler.start(bot.fire_series)
        stack.push_async_callback(scheduler.stop)
        cluster = Cluster(bot)
        elected = [a for a in found if Capability.ONE_RECEIVER in a.capabilities]
        for adapter in elected:  # until this process leads it, its rows wait in the queue
            bot.no_hand_off(adapter.platform)
        run = Running(bot, outboxes, timers, None, cluster=cluster)
        cluster.role("scheduler", *_scheduler_role(scheduler, outboxes.values()))
        for adapter in elected:
            cluster.role(f"receive:{adapter.platform}", *run.receiver_role(adapter, background))
        stack.push_async_callback(cluster.release)
        await cluster.tick()  # alone, this process leads everything from the start
        for outbox in outboxes.values():
            await _recover(outbox)
        for adapter in found:
            if adapter not in elected:
                await adapter.start(bot.handle)
                stack.push_async_callback(adapter.stop)
        web = None
        if serve:
            routes = [r for a in found for r in getattr(a, "http_routes", list)()]
            routes += [route for r in routers for make in r.http for route in make(bot)]
            routes += probe_routes(
                bot, found, lambda a: a not in elected or f"receive:{a.platform}" in cluster.leading
            )
            web = WebServer(
                build_app(routes),
                host or config.model.web.host,
                config.model.web.port if port is None else port,
            )
            await web.start()
            stack.push_async_callback(web.stop)
            host = f"[{web.host}]" if ":" in web.host else web.host
            bot.web_url = bot.web_url or f"http://{host}:{web.port}"
        run.web = web
        if background:
            elected_platforms = {a.platform for a in elected}
            run.tasks = [
                asyncio.create_task(o.run())
                for o in outboxes.values()
                if o.platform not in elected_platforms
            ]
            run.tasks.append(asyncio.create_task(timers.run()))
            run.tasks.append(asyncio.create_task(cluster.run()))
            stack.push_async_callback(_cancel, run.tasks)
        yield run


async def _recover(outbox: Outbox) -> None:
    recovered = await outbox.recover()
    if recovered:
        log.warning(
            "%d %s deliveries were claimed by a process that is gone; resending",
            recovered,
            outbox.platform,
        )


def _scheduler_role(scheduler: Scheduler, outboxes: Iterable[Outbox]) -> tuple[Hook, Hook, Hook]:
    """The scheduler's leader fires the series and puts back what dead processes held."""

    async def gain() -> None:
        scheduler.lead(True)

    async def lose() -> None:
        scheduler.lead(False)

    async def duty() -> None:
        scheduler.lead(True)
        for outbox in outboxes:
            await _recover(outbox)

    return gain, lose, duty


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
