"""The bot's own HTTP server: the web chat API, health, and later webhooks and the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)


class BadRequest(Exception):
    """A request the caller got wrong: answered with `status` and `reason`, never a 500."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes: at once when Content-Length says so,
    and while streaming when it is absent or lies, so nothing larger is ever held."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(413, f"body larger than {limit} bytes")
    return bytes(body)


MAX_DEPTH = 32
"""How deeply a JSON body may nest; no request of ours needs more than a few levels."""


def parse_json(body: bytes) -> Any:
    """The body as JSON, or 400 saying why: not UTF-8, malformed, NaN or Infinity (not JSON),
    a number too long to read, nested deeper than `MAX_DEPTH`, or a string holding a lone
    UTF-16 surrogate (`"\\ud800"` is valid JSON escaping, but no database can store it)."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError:
        raise BadRequest(400, "malformed JSON: the body is not UTF-8") from None
    except RecursionError:
        raise BadRequest(400, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and the digits limit of int()
        raise BadRequest(400, f"malformed JSON: {exc}") from None
    _check_values(data)
    return data


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A UTF-16 surrogate, which no valid text holds alone (JSON's escapes let one through)."""


def _check_values(data: Any) -> None:
    """Walks the parsed body without recursion: its depth, and every string and key."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if LONE_SURROGATE.search(value):
                raise BadRequest(400, "malformed JSON: a string holds a lone UTF-16 surrogate")
        elif isinstance(value, list | dict):
            if depth > MAX_DEPTH:
                raise BadRequest(400, f"malformed JSON: nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


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
