"""The bot's own HTTP server: the web chat API, health, and later webhooks and the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def gone(request: Request, exc: Exception) -> Response:
    """A client that went away mid-request is routine: one quiet line, not a traceback."""
    log.info("client %s left during %s %s", request.client, request.method, request.url.path)
    return Response(status_code=400)


def build_app(routes: Sequence[BaseRoute]) -> Starlette:
    return Starlette(
        routes=[Route("/healthz", healthz), *routes],
        exception_handlers={ClientDisconnect: gone},
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the bot's run loop owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    """uvicorn inside our event loop; `start` returns once it listens, `port` is the real one."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ws_max_size=64 * 1024,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self.host = host
        self.port = port

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        log.info("web server listening on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
