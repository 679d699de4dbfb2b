"""The whole bot as one `async with`: storage, adapters, workers, scheduler, web server.

Each component starts and stops through one `AsyncExitStack`, so a failure while starting
unwinds what had started, and SIGTERM stops everything in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from adapters.contract import Adapter, PlatformName
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.core import Bot
from bot.db import Database, sync_url
from bot.delivery import Outbox
from bot.router import Router
from bot.routers import ROUTERS
from bot.scheduler import APScheduler, Scheduler
from bot.timers import Timers
from bot.web import WebServer, build_app

log = logging.getLogger(__name__)


def platform_adapters(config: Config, db: Database, clock: Clock) -> list[Adapter]:
    """The adapters the config asks for; the web chat is always there."""
    from adapters.webchat.adapter import WebChat

    web = config.model.web
    tokens = (
        {config.secret(u.token_env).reveal(): u.name for u in web.users}
        if web.auth == "token"
        else None
    )
    found: list[Adapter] = [WebChat(db, clock, bot_name=web.bot_name, tokens=tokens)]
    if config.model.matrix is not None:
        from adapters.matrix import MatrixAdapter

        found.append(MatrixAdapter.from_config(config, db))
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
        found = list(adapters) if adapters is not None else platform_adapters(config, db, clock)
        if scheduler is None:
            grace = timedelta(minutes=config.model.delivery.grace_minutes)
            scheduler = APScheduler(scheduler_store_url(config), grace)
        bot = Bot(config, db, clock, routers, {a.platform: a for a in found}, scheduler)
        stack.push_async_callback(bot.stop_background)
        await bot.prepare()
        outboxes = {a.platform: Outbox(bot, a) for a in found}
        for outbox in outboxes.values():
            recovered = await outbox.recover()
            if recovered:
                log.warning(
                    "%d %s deliveries were in flight at the last stop; resending",
                    recovered,
                    outbox.platform,
                )
        timers = Timers(bot)
        await scheduler.start(bot.fire_series)
        stack.push_async_callback(scheduler.stop)
        for adapter in found:
            await adapter.start(bot.handle)
            stack.push_async_callback(adapter.stop)
        web = None
        if serve:
            routes = [r for a in found for r in getattr(a, "http_routes", list)()]
            routes += [route for r in routers for make in r.http for route in make(bot)]
            web = WebServer(
                build_app(routes),
                host or config.model.web.host,
                config.model.web.port if port is None else port,
            )
            await web.start()
            stack.push_async_callback(web.stop)
            host = f"[{web.host}]" if ":" in web.host else web.host
            bot.web_url = bot.web_url or f"http://{host}:{web.port}"
        run = Running(bot, outboxes, timers, web)
        if background:
            run.tasks = [asyncio.create_task(o.run()) for o in outboxes.values()]
            run.tasks.append(asyncio.create_task(timers.run()))
            stack.push_async_callback(_cancel, run.tasks)
        yield run


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
