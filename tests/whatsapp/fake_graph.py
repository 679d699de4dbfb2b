"""A fake WhatsApp Cloud API on loopback: the Graph API the bot calls, and the members' phones
that post signed webhooks back to the bot.

Every request the bot sends is checked against the official OpenAPI description
(`../shared/specs/whatsapp-business-openapi.yaml`); a departure is answered with a Graph error
and kept in `problems`, which the fixture asserts empty. The fake answers as the Cloud API
does: a free-form message to a member who has not written in 24 hours is refused with 131047,
more than `per_second` messages a second (bursts of a tenth) with 130429, a burst to one
member beyond `pair_burst` with 131056, and accepted messages get `sent` then `delivered`
status callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.web import WebServer, build_app
from tests.openapi_check import Checked, load_spec
from tests.whatsapp import payloads

SPEC = "whatsapp-business-openapi.yaml"
TOKEN = "EAAtesttoken123"
DEADLINE_S = 20.0


@dataclass(frozen=True)
class Accepted:
    to: str
    body: dict[str, Any]
    wamid: str

    @property
    def kind(self) -> str:
        return str(self.body["type"])

    @property
    def text(self) -> str:
        """What the member reads: the body of a text, an interactive message or a template's
        parameters joined."""
        if self.kind == "text":
            return str(self.body["text"]["body"])
        if self.kind == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        params = [
            p["text"]
            for c in self.body["template"].get("components", [])
            for p in c.get("parameters", [])
        ]
        return " | ".join([self.body["template"]["name"], *params])

    def choices(self) -> list[tuple[str, str]]:
        """(id, title) of the reply buttons or list rows."""
        interactive = self.body.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"]]
        return [(r["id"], r["title"]) for s in action.get("sections", []) for r in s["rows"]]


def graph_error(code: int, message: str, details: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details},
                "fbtrace_id": uuid.uuid4().hex[:20],
            }
        },
        status,
    )


class FakeGraph:
    def __init__(
        self,
        app_secret: str,
        *,
        phone_number_id: str = payloads.PHONE_NUMBER_ID,
        per_second: float = 1000.0,
        pair_burst: int = 1000,
        statuses: bool = True,
    ) -> None:
        self.spec = load_spec(SPEC)
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.per_second = per_second
        self.pair_burst = pair_burst
        self.statuses = statuses
        self.accepted: list[Accepted] = []
        self.problems: list[str] = []
        self.refused: list[tuple[str, int]] = []
        """(recipient, error code) of every refused send."""
        self.wrote: dict[str, float] = {}
        self.fail_next: defaultdict[str, deque[int]] = defaultdict(deque)
        self.webhook_url: str | None = None
        self._good: dict[tuple[str, ...], Checked] = {}
        self.burst = max(2.0, per_second // 10)
        """Throughput as a token bucket, like tests/fake_platform.py: `per_second` with
        bursts of a tenth of it (what the adapter declares)."""
        self._tokens, self._stamp = self.burst, time.monotonic()
        self._pairs: defaultdict[str, deque[float]] = defaultdict(deque)
        self._server = WebServer(
            build_app([Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE"])]),
            "127.0.0.1",
            0,
        )
        self._client = httpx.AsyncClient(timeout=10)
        self._tasks: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Event()

    async def __aenter__(self) -> FakeGraph:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        await self._server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    # --- the Graph API ---------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        checked = self._check(request, body)
        if not checked.ok:
            self.problems.extend(checked.problems)
            return graph_error(100, "Invalid parameter", "; ".join(checked.problems)[:500])
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return graph_error(190, "Invalid OAuth access token", "bad token", 401)
        if checked.operation_id != "sendMessage":
            self.problems.append(f"unexpected operation {checked.operation_id}")
            return graph_error(100, "Unsupported", "not faked")
        if checked.path_params.get("Phone-Number-ID") != self.phone_number_id:
            return graph_error(100, "Invalid parameter", "unknown phone number id")
        message: dict[str, Any] = checked.body
        to = str(message["to"])
        refusal = self._refusal(to, message)
        if refusal is not None:
            self.refused.append((to, refusal[0]))
            self.changed.set()
            return graph_error(*refusal)
        mid = payloads.wamid()
        self.accepted.append(Accepted(to, message, mid))
        self.changed.set()
        if self.statuses and self.webhook_url:
            self._spawn(self._report(to, mid))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": mid}],
            }
        )

    def _check(self, request: Request, body: bytes) -> Checked:
        """The spec's verdict on a request. A request that differs from one already found
        good only in its recipient (a fan-out: one body, many `to`) is that request again,
        so its verdict is reused: checking costs about 9 ms, more than the bot's send."""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        shape = None
        if isinstance(parsed, dict) and isinstance(parsed.get("to"), str):
            headers = tuple(
                sorted((k, v) for k, v in request.headers.items() if k != "content-length")
            )
            blank = json.dumps({**parsed, "to": ""}, sort_keys=True)
            shape = (request.method, request.url.path, str(request.url.query), headers, blank)
            known = self._good.get(shape)
            if known is not None:
                return replace(known, body=parsed)
        checked = self.spec.check(
            request.method,
            request.url.path,
            query=str(request.url.query),
            headers=dict(request.headers),
            body=body,
        )
        if checked.ok and shape is not None:
            self._good[shape] = checked
        return checked

    def _refusal(self, to: str, message: dict[str, Any]) -> tuple[int, str, str] | None:
        if self.fail_next[to]:
            code = self.fail_next[to].popleft()
            return code, f"error {code}", f"forced by the test: {code}"
        now = time.monotonic()
        refill = (now - self._stamp) * self.per_second
        self._tokens, self._stamp = min(self.burst, self._tokens + refill), now
        if self._tokens < 1:
            return 130429, "Rate limit hit", "Cloud API message throughput has been reached."
        pair = self._pairs[to]
        while pair and now - pair[0] >= 6.0:
            pair.popleft()
        if len(pair) >= self.pair_burst:
            return 131056, "Pair rate limit hit", "Too many messages sent to this recipient."
        wrote = self.wrote.get(to)
        if message["type"] != "template" and (wrote is None or time.time() - wrote > 86400):
            return (
                131047,
                "Re-engagement message",
                "More than 24 hours have passed since the recipient last replied.",
            )
        self._tokens -= 1
        pair.append(now)
        return None

    async def _report(self, to: str, mid: str) -> None:
        for state in ("sent", "delivered"):
            await self.post(payloads.status(to, mid, state))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the members' phones ---------------------------------------------------------------

    async def post(
        self, payload: dict[str, Any], *, secret: str | None = None, url: str | None = None
    ) -> httpx.Response:
        """Post a webhook to the bot, signed with the app secret (or `secret`)."""
        body, headers = payloads.signed(secret or self.app_secret, payload)
        target = url or self.webhook_url
        assert target is not None, "no webhook URL yet"
        return await self._client.post(target, content=body, headers=headers)

    async def says(self, wa_id: str, name: str, text: str, *, at: float | None = None) -> str:
        mid = payloads.wamid()
        when = time.time() if at is None else at
        self.wrote[wa_id] = max(self.wrote.get(wa_id, 0.0), when)
        r = await self.post(payloads.text(wa_id, name, text, at=when, mid=mid))
        assert r.status_code == 200, r.text
        return mid

    async def presses(self, wa_id: str, name: str, message: Accepted, title: str) -> None:
        """Press the reply button (or pick the list row) titled `title` on `message`."""
        choice = next(i for i, t in message.choices() if t == title)
        kind = "button_reply" if message.body["interactive"]["type"] == "button" else "list_reply"
        self.wrote[wa_id] = time.time()
        payload = payloads.button_reply(wa_id, name, message.wamid, choice, title, kind=kind)
        r = await self.post(payload)
        assert r.status_code == 200, r.text

    # --- what members received -------------------------------------------------------------

    def to(self, wa_id: str) -> list[Accepted]:
        return [a for a in self.accepted if a.to == wa_id]

    async def until(self, check: Callable[[], Any], what: str = "") -> Any:
        """Wait until `check()` is truthy (re-checked whenever a request arrives)."""
        async with asyncio.timeout(DEADLINE_S):
            while not (found := check()):
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.5)
        return found

    async def receives(self, wa_id: str, contains: str) -> Accepted:
        def found() -> Accepted | None:
            return next((a for a in self.to(wa_id) if contains in a.text), None)

        got: Accepted = await self.until(found)
        return got
