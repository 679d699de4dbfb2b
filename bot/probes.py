"""What an operator's monitoring asks the bot: `/metrics` and `/readyz` (beside `/healthz`).

`/healthz` says the process answers; `/readyz` says it can do its work: the database answers
and every adapter that holds a connection to its platform has it up. A load balancer sends
traffic only where `/readyz` is 200; an orchestrator restarts what fails `/healthz`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.contract import Adapter, ReportsConnection
from bot.core import Bot
from bot.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)
DATABASE_TIMEOUT = 2.0


async def database_answers(bot: Bot) -> bool:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), bot.db.reader() as s:
            await s.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:
        log.warning("readiness: the database does not answer: %r", exc)
        return False
    return True


def probe_routes(
    bot: Bot, adapters: Sequence[Adapter], runs_here: Callable[[Adapter], bool]
) -> list[BaseRoute]:
    """`runs_here` tells the adapters this process started from those another one leads."""

    async def metrics(request: Request) -> Response:
        body = await bot.metrics.exposition(bot.db, bot.clock.now())
        return Response(body, media_type=CONTENT_TYPE)

    async def readyz(request: Request) -> Response:
        checks = {"database": await database_answers(bot)}
        for adapter in adapters:
            if isinstance(adapter, ReportsConnection) and runs_here(adapter):
                checks[f"adapter:{adapter.platform}"] = adapter.connected
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return [Route("/metrics", metrics), Route("/readyz", readyz)]
