"""The one receiving path for signed webhooks: Slack's HTTP mode, Discourse, WhatsApp.

Every platform that posts to the bot signs the raw body with a shared secret. This endpoint
reads the body under a cap, checks the signature before anything parses it, drops a delivery
it has just seen, and acknowledges fast: platforms retry what is not acknowledged within a few
seconds, and a retry must not do the work twice. The core drops re-delivered events by their
`event_id` in the database as well, so a retry that reaches another process is handled once too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.web import BadRequest, read_body

log = logging.getLogger(__name__)

Verify = Callable[[Headers, bytes], str | None]
"""None when the request's signature is good, else a short reason for the log (no secret)."""
Receive = Callable[[Headers, bytes], Awaitable[Response | None]]
"""Translates a verified body and hands its events to the core; may answer the platform."""
DeliveryId = Callable[[Headers, bytes], str | None]
"""The platform's id of this delivery, the same on every retry of it."""

DEFAULT_MAX_BODY = 1024 * 1024
ACK_WITHIN_S = 2.0
"""Slack gives three seconds; what takes longer finishes after the acknowledgement."""


def hmac_sha256_ok(
    secret: bytes, message: bytes, given: str | None, prefix: str = "sha256="
) -> bool:
    """Whether `given` is `prefix` + the hex HMAC-SHA256 of `message`, compared in constant time."""
    if not given:
        return False
    expected = (prefix + hmac.new(secret, message, hashlib.sha256).hexdigest()).encode()
    return hmac.compare_digest(expected, given.encode("utf-8", "surrogateescape"))


class RecentIds:
    """The last `size` delivery ids seen, oldest forgotten first."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, delivery: str) -> bool:
        return delivery in self._ids

    def add(self, delivery: str) -> None:
        self._ids[delivery] = None
        self._ids.move_to_end(delivery)
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def discard(self, delivery: str) -> None:
        self._ids.pop(delivery, None)


def _no_id(headers: Headers, body: bytes) -> str | None:
    return None


class SignedWebhook:
    """A Starlette endpoint for one platform's signed webhook."""

    def __init__(
        self,
        name: str,
        *,
        verify: Verify,
        receive: Receive,
        delivery_id: DeliveryId = _no_id,
        max_body: int = DEFAULT_MAX_BODY,
        ack_within: float = ACK_WITHIN_S,
    ) -> None:
        self.name = name
        self.verify = verify
        self.receive = receive
        self.delivery_id = delivery_id
        self.max_body = max_body
        self.ack_within = ack_within
        self.recent = RecentIds()
        self._late: set[asyncio.Task[Response | None]] = set()

    def route(self, path: str) -> Route:
        """The POST route for the bot's web server."""
        return Route(path, self.handle, methods=["POST"])

    async def handle(self, request: Request) -> Response:
        try:
            body = await read_body(request, self.max_body)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, exc.status)
        reason = self.verify(request.headers, body)
        if reason is not None:
            log.warning("%s webhook refused: %s", self.name, reason)
            return JSONResponse({"error": "the request's signature is missing or wrong"}, 401)
        delivery = self.delivery_id(request.headers, body)
        if delivery is not None:
            if delivery in self.recent:
                log.info("%s webhook: delivery %s seen already; dropped", self.name, delivery)
                return JSONResponse({"ok": True})
            self.recent.add(delivery)
        task = asyncio.ensure_future(self.receive(request.headers, body))
        try:
            response = await asyncio.wait_for(asyncio.shield(task), self.ack_within)
        except TimeoutError:
            self._late.add(task)
            task.add_done_callback(self._finished_late)
            return JSONResponse({"ok": True})
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, exc.status)
        except Exception:
            log.exception("%s webhook: delivery %s could not be handled", self.name, delivery)
            if delivery is not None:
                self.recent.discard(delivery)  # so the platform's retry is tried again
            return JSONResponse({"error": "that event could not be handled"}, 400)
        return response or JSONResponse({"ok": True})

    def _finished_late(self, task: asyncio.Task[Response | None]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "%s webhook: handling after the acknowledgement failed",
                self.name,
                exc_info=task.exception(),
            )
