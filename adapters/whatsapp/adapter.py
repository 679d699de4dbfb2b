"""The WhatsApp adapter: the Cloud API over httpx, and the webhook on the bot's web server.

This is the thin I/O layer; `adapters.whatsapp.translate` decides what every payload means
and what every request says. What must survive a restart lives in the core's tables: when
each member last wrote (the 24-hour window) and the messages held until they write again in
`AdapterState`, what WhatsApp said about each sent message in `DeliveryReceipt`.

Sending follows the window: free text and reply buttons inside it; outside it, a message
with a `Purpose` goes as its approved template and one without waits for the member's next
message. A 131047 (the window closed after all) takes the same path at once; a throughput
limit (130429) pauses the number, a pair limit (131056) only that member.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.codec import decode_action, encode_action
from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    Direct,
    Done,
    InboundSink,
    MessageId,
    Place,
    SendMessage,
    SendRate,
    Sent,
    UserId,
    plain_text,
    require,
)
from adapters.state import AdapterMemory
from adapters.webhook import SignedWebhook, hmac_sha256_ok
from adapters.whatsapp.templates import TEMPLATES
from adapters.whatsapp.translate import (
    MAX_TEXT,
    OUTSIDE_WINDOW,
    PLATFORM,
    OutsideWindow,
    PairRateLimited,
    Status,
    choices_request,
    place_of,
    platform_error,
    read_webhook,
    sent_id,
    template_request,
    text_request,
    written_at,
)
from bot.clock import Clock
from bot.config import Config, Secret
from bot.db import Database
from bot.errors import ConfigError, PlatformError
from bot.receipts import Receipt, action_sent_as, record
from bot.web import parse_json

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=5)
"""A message sent this close to the window's end may arrive after it: use the template."""
HELD_FOR = timedelta(days=7)
SWEEP_HELD_EVERY_S = 6 * 3600
"""How long free text waits for a member to open the window before it is undeliverable."""
RECENT_MESSAGES = 10_000
RECEIPT_FLUSH_S = 0.1
DEFAULT_RATE = SendRate(80.0, 80)
"""Cloud API throughput per business number until Meta upgrades it."""


class RecipientPace:
    """A token bucket per member: WhatsApp refuses (131056) bursts to the same person."""

    def __init__(self, seconds: float, burst: int, clock: Any) -> None:
        self.seconds, self.burst = seconds, max(1, burst)
        self.time = clock
        self._state: dict[str, tuple[float, float]] = {}

    def wait_for(self, who: str) -> float:
        """Seconds until `who` may get another message (0: now, and the token is taken)."""
        now = self.time()
        tokens, stamp = self._state.get(who, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - stamp) / self.seconds) if self.seconds else 1.0
        if tokens >= 1:
            self._state[who] = (tokens - 1, now)
            return 0.0
        self._state[who] = (tokens, now)
        return (1 - tokens) * self.seconds

    def hold(self, who: str, seconds: float) -> None:
        """The platform said to wait: no tokens for `who` for `seconds`."""
        self._state[who] = (1 - seconds / self.seconds if self.seconds else 1.0, self.time())


class WhatsAppAdapter:
    """One business phone number on the WhatsApp Cloud API."""

    platform = PLATFORM
    capabilities = frozenset({Capability.DIRECT_MESSAGES, Capability.BUTTONS, Capability.REACTIONS})
    max_text = MAX_TEXT

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        phone_number_id: str,
        access_token: Secret,
        app_secret: Secret,
        verify_token: Secret,
        api_base: str = "https://graph.facebook.com",
        api_version: str = "v23.0",
        webhook_path: str = "/whatsapp/webhook",
        command_prefix: str = "/",
        command_paths: Sequence[tuple[str, ...]] = (),
        send_rate: SendRate = DEFAULT_RATE,
        per_member_seconds: float = 6.0,
        per_member_burst: int = 10,
        max_pace_wait: float = 3.0,
        template_language: str = "en",
        max_body: int = 512 * 1024,
        stale_after: timedelta = timedelta(hours=24),
    ) -> None:
        self.db, self.clock = db, clock
        self.memory = AdapterMemory(db, PLATFORM)
        self.phone_number_id = phone_number_id
        self.self_id = UserId(phone_number_id)
        self._token = access_token
        self._app_secret = app_secret
        self._verify_token = verify_token
        self.url = f"{api_base.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self.api_base = api_base.rstrip("/")
        self.webhook_path = webhook_path
        self.command_prefix = command_prefix
        self.prefixes = tuple(dict.fromkeys((command_prefix, "/", "!")))
        self.command_paths = frozenset(command_paths)
        self.send_rate = send_rate
        self.pace = RecipientPace(per_member_seconds, per_member_burst, self._loop_time)
        self.max_pace_wait = max_pace_wait
        self.template_language = template_language
        self.stale_after = stale_after
        self.webhook = SignedWebhook(
            "whatsapp",
            verify=self._verify,
            receive=self._receive,
            delivery_id=self._delivery_id,
            max_body=max_body,
        )
        self.http: httpx.AsyncClient | None = None
        self._sink: InboundSink | None = None
        self._wrote: dict[str, datetime] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._receipts: list[Receipt] = []
        self._receipts_due = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, config: Config, db: Database, clock: Clock) -> WhatsAppAdapter:
        from bot.routers import ROUTERS

        section = config.model.whatsapp
        if section is None:
            raise ConfigError("whatsapp", "the [whatsapp] section is missing")
        # A small burst: Meta counts throughput per second, not on average.
        per_second = section.messages_per_second
        rate = SendRate(per_second, max(2, int(per_second // 10)))
        return cls(
            db,
            clock,
            phone_number_id=section.phone_number_id,
            access_token=config.secret(section.access_token_env),
            app_secret=config.secret(section.app_secret_env),
            verify_token=config.secret(section.verify_token_env),
            api_base=section.api_base,
            api_version=section.api_version,
            webhook_path=section.webhook_path,
            command_prefix=section.command_prefix,
            command_paths=[spec.path for r in ROUTERS for spec in r.commands],
            send_rate=rate,
            per_member_seconds=section.per_member_seconds,
            per_member_burst=section.per_member_burst,
            template_language=section.template_language,
            max_body=section.max_body_bytes,
            stale_after=timedelta(hours=section.stale_after_hours),
        )

    @staticmethod
    def _loop_time() -> float:
        return asyncio.get_running_loop().time()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=5.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            headers={"Authorization": f"Bearer {self._token.reveal()}"},
        )
        for wa_id, at in (await self.memory.with_prefix("wrote:")).items():
            self._wrote[wa_id] = datetime.fromisoformat(at)
        self._flusher = asyncio.create_task(self._flush_receipts_forever())
        self._tasks.add(asyncio.create_task(self._sweep_held_forever()))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self._flush_receipts()
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    async def present(self, place: Place) -> Sequence[Actor]:
        return ()

    # --- the webhook ----------------------------------------------------------------------

    def http_routes(self) -> list[BaseRoute]:
        return [
            Route(self.webhook_path, self._verify_subscription, methods=["GET"]),
            self.webhook.route(self.webhook_path),
        ]

    async def _verify_subscription(self, request: Request) -> Response:
        """Meta's check when the webhook URL is saved: echo the challenge for our token."""
        q = request.query_params
        token = q.get("hub.verify_token", "")
        if q.get("hub.mode") == "subscribe" and hmac_equal(token, self._verify_token.reveal()):
            return PlainTextResponse(q.get("hub.challenge", ""))
        log.warning("whatsapp webhook verification refused: wrong mode or verify token")
        return PlainTextResponse("verification refused", status_code=403)

    def _verify(self, headers: Headers, body: bytes) -> str | None:
        given = headers.get("x-hub-signature-256")
        if given is None:
            return "no X-Hub-Signature-256 header"
        if not hmac_sha256_ok(self._app_secret.reveal().encode(), body, given):
            return "X-Hub-Signature-256 does not match the body"
        return None

    @staticmethod
    def _delivery_id(headers: Headers, body: bytes) -> str | None:
        """Meta resends the same body when not acknowledged: its signature names it."""
        return headers.get("x-hub-signature-256")

    async def _receive(self, headers: Headers, body: bytes) -> Response | None:
        hook = read_webhook(
            parse_json(body),
            phone_number_id=self.phone_number_id,
            prefixes=self.prefixes,
            paths=self.command_paths,
        )
        now = self.clock.now()
        for wa_id, at in hook.wrote.items():
            if now - at <= self.stale_after:
                await self._opened(wa_id, min(at, now))
        if hook.statuses:
            await self._statuses(hook.statuses)
        for event in hook.inbound:
            if event.event_id in self._recent:
                continue
            self._recent[event.event_id] = None
            if len(self._recent) > RECENT_MESSAGES:
                self._recent.popitem(last=False)
            age = now - written_at(event.raw)
            if age > self.stale_after:
                log.info("whatsapp: a message %s old is not handled", age)
                continue
            if self._sink is not None:
                await self._sink(event)
        return None

    async def _opened(self, wa_id: str, at: datetime) -> None:
        """The member wrote: the window is open again, and what waited for it goes now."""
        if self._wrote.get(wa_id) is not None and self._wrote[wa_id] >= at:
            return
        self._wrote[wa_id] = at
        await self.memory.put(f"wrote:{wa_id}", at.isoformat())
        held = await self.memory.with_prefix(f"held:{wa_id}:")
        if held:
            task = asyncio.create_task(self._send_held(wa_id, held))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_held(self, wa_id: str, held: dict[str, str]) -> None:
        """Send what waited, oldest first; what waited longer than `HELD_FOR` is stale
        (yesterday's answer to a command, a relay from a breakout long over) and is reported
        undeliverable instead."""
        for key, raw in sorted(held.items(), key=lambda kv: json.loads(kv[1])["at"]):
            stored = json.loads(raw)
            action = decode_action(stored["action"])
            try:
                self._check_fresh(stored)
                if isinstance(action, SendMessage):
                    await self._send(wa_id, action)
            except PlatformError as exc:
                self._held_failed(action, exc)
            await self.memory.forget(f"held:{wa_id}:{key}")

    def _check_fresh(self, stored: dict[str, Any]) -> None:
        if self.clock.now() - datetime.fromisoformat(stored["at"]) > HELD_FOR:
            raise PlatformError(
                "undeliverable: the member did not write to the bot within "
                f"{HELD_FOR.days} days (WhatsApp's 24-hour window)"
            )

    def _held_failed(self, action: Action, exc: PlatformError) -> None:
        log.warning("whatsapp: a held message to a member failed: %s", exc)
        self._receipt(Receipt("failed", self.clock.now(), action.key, error=str(exc)))

    async def sweep_held(self) -> int:
        """Drop what waited longer than `HELD_FOR` for members who never wrote again, so a
        held message (and the member's words in it) is not kept for ever; returns how many."""
        swept = 0
        for key, raw in (await self.memory.with_prefix("held:")).items():
            stored = json.loads(raw)
            try:
                self._check_fresh(stored)
            except PlatformError as exc:
                self._held_failed(decode_action(stored["action"]), exc)
                await self.memory.forget(f"held:{key}")
                swept += 1
        return swept

    async def _sweep_held_forever(self) -> None:
        while True:
            await self.sweep_held()
            await asyncio.sleep(SWEEP_HELD_EVERY_S)

    async def _statuses(self, statuses: list[Status]) -> None:
        await self._flush_receipts()  # the send's own receipt first, so the callback finds it
        await record(
            self.db,
            PLATFORM,
            [Receipt(s.status, s.at, message_id=s.message_id, error=s.error) for s in statuses],
        )
        for s in statuses:
            if s.status == "failed" and s.code == OUTSIDE_WINDOW:
                await self._outside_after_all(s)

    async def _outside_after_all(self, status: Status) -> None:
        """WhatsApp accepted free text, then failed it with 131047: the window had closed.
        The message goes again the way a closed window allows (its template, or held)."""
        self._wrote.pop(status.recipient, None)
        await self.memory.forget(f"wrote:{status.recipient}")
        stored = await action_sent_as(self.db, PLATFORM, status.message_id)
        action = decode_action(stored) if stored is not None else None
        if isinstance(action, SendMessage):
            log.info("whatsapp: a message failed with 131047; sending it as the window allows")
            task = asyncio.create_task(self._resend(status.recipient, action))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _resend(self, wa_id: str, action: SendMessage) -> None:
        try:
            await self._send(wa_id, action)
        except PlatformError as exc:
            log.warning("whatsapp: resending after 131047 failed: %s", exc)
            self._receipt(Receipt("failed", self.clock.now(), action.key, error=str(exc)))

    # --- sending --------------------------------------------------------------------------

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        if not isinstance(action, SendMessage):
            raise PlatformError(f"WhatsApp cannot {type(action).__name__}", permanent=True)
        to = action.to
        wa_id = to.user_id if isinstance(to, Direct) else to.space
        return await self._send(wa_id, action)

    def window_open(self, wa_id: str) -> bool:
        wrote = self._wrote.get(wa_id)
        return wrote is not None and self.clock.now() < wrote + WINDOW - WINDOW_MARGIN

    async def _send(self, wa_id: str, action: SendMessage) -> ActionResult:
        if self.window_open(wa_id):
            try:
                return await self._post(wa_id, action, self._free_form(wa_id, action))
            except OutsideWindow:
                log.info("whatsapp: 131047 for a member; their window is closed")
                self._wrote.pop(wa_id, None)
                await self.memory.forget(f"wrote:{wa_id}")
        template = TEMPLATES.get(action.purpose.kind) if action.purpose else None
        if template is not None and action.purpose is not None:
            body = template_request(
                wa_id, template.name, self.template_language, template.values(action.purpose)
            )
            return await self._post(wa_id, action, body)
        held = {"at": self.clock.now().isoformat(), "action": encode_action(action)}
        await self.memory.put(f"held:{wa_id}:{action.key}", json.dumps(held))
        self._receipt(Receipt("held", self.clock.now(), action.key))
        log.info("whatsapp: a message waits for the member's next message (24-hour window)")
        return Done()

    def _free_form(self, wa_id: str, action: SendMessage) -> dict[str, Any]:
        text = plain_text(action.text)
        if action.buttons:
            return choices_request(
                wa_id, text, [(b.action, b.value, b.label) for b in action.buttons]
            )
        return text_request(wa_id, text)

    async def _post(self, wa_id: str, action: SendMessage, body: dict[str, Any]) -> Sent:
        wait = self.pace.wait_for(wa_id)
        if wait > self.max_pace_wait:
            raise PlatformError(f"pacing messages to one member: next in {wait:.0f} s")
        if wait:
            await asyncio.sleep(wait)
        if self.http is None:
            raise PlatformError("the WhatsApp adapter is not started")
        try:
            r = await self.http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise PlatformError(f"WhatsApp unreachable: {exc.__class__.__name__}") from None
        try:
            answer = r.json()
        except ValueError:
            answer = None
        if r.status_code >= 400:
            error = platform_error(r.status_code, answer)
            if isinstance(error, PairRateLimited):
                self.pace.hold(wa_id, error.wait)
            raise error
        mid = sent_id(answer)
        if mid is None:
            raise PlatformError("WhatsApp accepted a message but gave no id")
        self._receipt(Receipt("accepted", self.clock.now(), action.key, message_id=mid))
        return Sent(MessageId(mid), place_of(wa_id))

    # --- receipts -------------------------------------------------------------------------

    def _receipt(self, receipt: Receipt) -> None:
        self._receipts.append(receipt)
        self._receipts_due.set()

    async def _flush_receipts(self) -> None:
        chunk, self._receipts = self._receipts, []
        if chunk:
            try:
                await record(self.db, PLATFORM, chunk)
            except Exception:
                log.exception("whatsapp: recording %d delivery receipts failed", len(chunk))

    async def _flush_receipts_forever(self) -> None:
        """Receipts of sends are written together, a moment after the first: one
        transaction for a fan-out's many, not one each."""
        while True:
            await self._receipts_due.wait()
            await asyncio.sleep(RECEIPT_FLUSH_S)
            self._receipts_due.clear()
            await self._flush_receipts()


def hmac_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
