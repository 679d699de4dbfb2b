"""A fake Discord on loopback: the HTTP API (every request checked against Discord's OpenAPI
spec) and the gateway (HELLO, IDENTIFY, READY, dispatches with sequence numbers, heartbeats,
RESUME replaying what was missed).

It keeps what a member would see (messages by channel, threads and their members, scheduled
events) and what the bot did (every request with its time, interaction responses). Anything
the spec does not allow is answered 400 and recorded in `problems`, which tests assert empty;
so is going over the global limit of 50 requests a second. `limit_next` answers a route's next
request with a 429 carrying `retry_after` and a `Via` header, as Discord's edge does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord import payloads as p
from tests.openapi_check import load_spec

TOKEN = "fake-bot-token"
GLOBAL_LIMIT = 50
INTERACTION_PATHS = re.compile(r"^/(interactions|webhooks)/")
JSON = "application/json"
BODY = web.RequestKey("body", object)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Discord answers `Content-Type: application/json` exactly (discord.py checks it)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


@dataclass
class Call:
    method: str
    path: str
    at: float
    body: Any
    status: int = 200


@dataclass
class Limit:
    pattern: re.Pattern[str]
    retry_after: float
    is_global: bool = False


@dataclass
class Channel:
    id: str
    type: int
    guild_id: str | None = None
    parent_id: str | None = None
    name: str = ""
    recipient: str | None = None
    members: set[str] = field(default_factory=set)
    archived: bool = False
    locked: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "name": self.name, "flags": 0}
        if self.guild_id:
            data["guild_id"] = self.guild_id
            data.update(
                position=0,
                permission_overwrites=[],
                nsfw=False,
                topic=None,
                last_message_id=None,
                rate_limit_per_user=0,
            )
        if self.parent_id:
            data["parent_id"] = self.parent_id
        if self.type in (11, 12):
            data["thread_metadata"] = {
                "archived": self.archived,
                "locked": self.locked,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-03-02T09:00:00.000000+00:00",
            }
            data["owner_id"] = p.BOT
            data["member_count"] = len(self.members)
            data["message_count"] = 0
        if self.recipient:
            data["recipients"] = [p.user(self.recipient, f"user{self.recipient[-3:]}")]
            data["last_message_id"] = None
        return data


class FakeDiscord:
    def __init__(self, *, enforce_global: bool = True) -> None:
        self.enforce_global = enforce_global
        """Answer a request over the global limit with a global 429 (and record a problem);
        a bench under load turns it off and reads `busiest_second` instead, since a loaded
        fake stamps requests late and in bunches."""
        self.spec = load_spec("discord-openapi.json")
        self.problems: list[str] = []
        self.calls: list[Call] = []
        self.limits: list[Limit] = []
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self.users: dict[str, str] = {}
        self.channels: dict[str, Channel] = {
            p.CHANNEL: Channel(p.CHANNEL, 0, p.GUILD, name="general"),
        }
        self.messages: dict[str, dict[str, Any]] = {}
        self.by_channel: dict[str, list[str]] = {}
        self.nonces: dict[tuple[str, str], str] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        """interaction id -> the callback body the bot answered with."""
        self.answered: dict[str, float] = {}
        self.originals: dict[str, dict[str, Any]] = {}
        self.followups: list[dict[str, Any]] = []
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.interest: dict[str, set[str]] = {}
        """scheduled event id -> who marked themselves Interested."""
        self._query: dict[str, str] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.identified: list[dict[str, Any]] = []
        self.resumed: list[dict[str, Any]] = []
        self._interactions: dict[str, dict[str, Any]] = {}
        self._new = asyncio.Event()
        self._log: list[dict[str, Any]] = []
        """Every dispatch of the session with its sequence number, for RESUME."""
        self.session = f"session-{next(self._ids)}"
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self._window: deque[float] = deque()
        self.busiest_second = 0
        self.bucket_size, self.bucket_seconds = 5, 5.0
        self._buckets: dict[str, deque[float]] = {}
        """The most requests (interaction answers aside) received within one second."""
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.latency = 0.0
        """Seconds each HTTP answer takes (a real API's round trip), for the bench."""

    # --- running ---------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._check])
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def next_id(self) -> str:
        return str(next(self._ids))

    # --- HTTP ------------------------------------------------------------------------------

    @web.middleware
    async def _check(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)  # type: ignore[no-any-return]
        body = await request.read()
        path = request.path.removeprefix("/api/v10")
        call = Call(request.method, path, time.monotonic(), json.loads(body) if body else None)
        self.calls.append(call)
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            call.status = 401
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        checked = self.spec.check(
            request.method,
            request.path,
            query=request.query_string,
            headers=dict(request.headers),
            body=body,
        )
        if not checked.ok:
            self.problems.extend(checked.problems)
            call.status = 400
            return _json(
                {"message": "Invalid Form Body", "code": 50035, "errors": list(checked.problems)},
                400,
            )
        if not INTERACTION_PATHS.match(path):
            now = call.at
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            self._window.append(now)
            self.busiest_second = max(self.busiest_second, len(self._window))
            if len(self._window) > GLOBAL_LIMIT and self.enforce_global:
                self.problems.append(f"over the global limit at {path}")
                return self._limited(call, 1.0, is_global=True)
        bucket = self._bucket(request.method, path, call.at)
        if bucket is not None and bucket[0] < 0:
            self.problems.append(f"over the route bucket at {request.method} {path}")
            return self._limited(call, bucket[1], is_global=False)
        for limit in self.limits:
            if limit.pattern.search(f"{request.method} {path}"):
                self.limits.remove(limit)
                return self._limited(call, limit.retry_after, is_global=limit.is_global)
        if self.latency:
            await asyncio.sleep(self.latency)
        request[BODY] = call.body
        response: web.StreamResponse = await handler(request)
        call.status = response.status
        if bucket is not None:
            remaining, reset_after = bucket
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(self.bucket_size),
                    "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                    "X-RateLimit-Bucket": "messages",
                }
            )
        return response

    def _bucket(self, method: str, path: str, now: float) -> tuple[int, float] | None:
        """Creating messages is limited per channel, as on Discord: `bucket_size` requests a
        `bucket_seconds` window. Returns (remaining, reset after), remaining < 0 when over."""
        match = re.fullmatch(r"/channels/(\d+)/messages", path)
        if method != "POST" or match is None:
            return None
        window = self._buckets.setdefault(match.group(1), deque())
        while window and now - window[0] >= self.bucket_seconds:
            window.popleft()
        window.append(now)
        reset_after = window[0] + self.bucket_seconds - now
        return self.bucket_size - len(window), reset_after

    def _limited(self, call: Call, retry_after: float, *, is_global: bool) -> web.Response:
        call.status = 429
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if not is_global:
            headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(retry_after),
                    "X-RateLimit-Bucket": "fakebucket",
                }
            )
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        return _json(body, 429, headers)

    def limit_next(self, pattern: str, retry_after: float) -> None:
        """The next request matching `METHOD /path` regex gets a 429."""
        self.limits.append(Limit(re.compile(pattern), retry_after))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method, path, body = request.method, request.path.removeprefix("/api/v10"), request[BODY]
        self._query = dict(request.query)
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, f"{method} {path}")
            if match:
                return handler(body, *match.groups())
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _routes(self) -> list[tuple[str, Any]]:
        return [
            (r"GET /users/@me", lambda b: _json(p.user(p.BOT, "Community Bot", bot=True))),
            (r"GET /oauth2/applications/@me", lambda b: _json(self._application())),
            (r"PUT /applications/(\d+)/guilds/(\d+)/commands", self._set_commands),
            (r"POST /channels/(\d+)/messages", self._create_message),
            (r"PATCH /channels/(\d+)/messages/(\d+)", self._edit_message),
            (r"POST /channels/(\d+)/messages/(\d+)/threads", self._thread_from_message),
            (r"POST /channels/(\d+)/threads", self._create_thread),
            (r"PUT /channels/(\d+)/thread-members/(\d+)", self._add_member),
            (r"PATCH /channels/(\d+)", self._update_channel),
            (r"POST /users/@me/channels", self._create_dm),
            (r"GET /guilds/(\d+)/threads/active", self._active_threads),
            (r"POST /interactions/(\d+)/([^/]+)/callback", self._callback),
            (r"PATCH /webhooks/(\d+)/([^/]+)/messages/@original", self._edit_original),
            (r"DELETE /webhooks/(\d+)/([^/]+)/messages/@original", self._delete_original),
            (r"POST /webhooks/(\d+)/([^/]+)", self._followup),
            (r"POST /guilds/(\d+)/scheduled-events", self._create_event),
            (r"PATCH /guilds/(\d+)/scheduled-events/(\d+)", self._update_event),
            (r"GET /guilds/(\d+)/scheduled-events/(\d+)/users", self._event_users),
        ]

    def _application(self) -> dict[str, Any]:
        return {
            "id": p.APP,
            "name": "Community Bot",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "00" * 32,
            "flags": 0,
            "team": None,
            "summary": "",
            "owner": p.user("200", "Ada"),
            "rpc_origins": [],
            "interactions_endpoint_url": None,
        }

    def _set_commands(self, body: Any, app: str, guild: str) -> web.Response:
        self.commands[guild] = body
        return _json(
            [
                {
                    **c,
                    "id": self.next_id(),
                    "application_id": app,
                    "guild_id": guild,
                    "version": "1",
                    "default_member_permissions": None,
                }
                for c in body
            ]
        )

    def _message(
        self, channel: str, author: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        mid = self.next_id()
        message = {
            "id": mid,
            "type": 0,
            "channel_id": channel,
            "author": author,
            "content": body.get("content", ""),
            "timestamp": "2026-03-02T09:00:00.000000+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds", []),
            "pinned": False,
            "flags": body.get("flags", 0),
            "components": body.get("components", []),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        self.messages[mid] = message
        self.by_channel.setdefault(channel, []).append(mid)
        return message

    def _create_message(self, body: Any, channel: str) -> web.Response:
        if channel not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self.nonces.get((channel, str(nonce)))
            if earlier is not None:
                return _json(self.messages[earlier])
        message = self._message(channel, p.user(p.BOT, "Community Bot", bot=True), body)
        if nonce is not None:
            self.nonces[(channel, str(nonce))] = message["id"]
        return _json(message)

    def _edit_message(self, body: Any, channel: str, mid: str) -> web.Response:
        message = self.messages.get(mid)
        if message is None or message["channel_id"] != channel:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        message["edited_timestamp"] = "2026-03-02T09:01:00.000000+00:00"
        return _json(message)

    def _thread_from_message(self, body: Any, channel: str, mid: str) -> web.Response:
        if mid in self.channels:
            return _json(
                {"message": "A thread has already been created for this message", "code": 160004},
                400,
            )
        if mid not in self.messages:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        thread = Channel(mid, 11, p.GUILD, channel, body["name"])
        self.channels[mid] = thread
        self.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return _json(thread.payload(), 201)

    def _create_thread(self, body: Any, channel: str) -> web.Response:
        thread = Channel(self.next_id(), body.get("type", 11), p.GUILD, channel, body["name"])
        thread.members.add(p.BOT)
        self.channels[thread.id] = thread
        self.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return _json(thread.payload(), 201)

    def _add_member(self, body: Any, thread: str, user: str) -> web.Response:
        channel = self.channels.get(thread)
        if channel is None or channel.type not in (10, 11, 12):
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        channel.members.add(user)
        return web.Response(status=204)

    def _update_channel(self, body: Any, cid: str) -> web.Response:
        channel = self.channels.get(cid)
        if channel is None:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        channel.archived = bool(body.get("archived", channel.archived))
        channel.locked = bool(body.get("locked", channel.locked))
        return _json(channel.payload())

    def _create_dm(self, body: Any) -> web.Response:
        user = str(body["recipient_id"])
        found = next((c for c in self.channels.values() if c.recipient == user), None)
        if found is None:
            found = Channel(self.next_id(), 1, recipient=user)
            self.channels[found.id] = found
        return _json(found.payload())

    def _active_threads(self, body: Any, guild: str) -> web.Response:
        threads = [
            c.payload()
            for c in self.channels.values()
            if c.type in (11, 12) and not c.archived and c.guild_id == guild
        ]
        return _json({"threads": threads, "members": []})

    def _callback(self, body: Any, iid: str, token: str) -> web.Response:
        if iid in self.responses:
            return _json(
                {"message": "Interaction has already been acknowledged.", "code": 40060}, 400
            )
        self.responses[iid] = body
        self.answered[iid] = time.monotonic()
        return web.Response(status=204)

    def _edit_original(self, body: Any, app: str, token: str) -> web.Response:
        iid = token.removeprefix("tok-")
        message = self._message(
            self._interaction_channel(iid), p.user(p.BOT, "Bot", bot=True), body
        )
        self.originals[iid] = message
        return _json(message)

    def _delete_original(self, body: Any, app: str, token: str) -> web.Response:
        self.originals.pop(token.removeprefix("tok-"), None)
        return web.Response(status=204)

    def _followup(self, body: Any, app: str, token: str) -> web.Response:
        iid = token.removeprefix("tok-")
        author = p.user(p.BOT, "Bot", bot=True)
        if body.get("flags", 0) & 64:
            message = {
                "id": self.next_id(),
                "channel_id": self._interaction_channel(iid),
                "content": body.get("content", ""),
                "flags": 64,
                "author": author,
            }
        else:
            message = self._message(self._interaction_channel(iid), author, body)
        self.followups.append({**message, "interaction": iid})
        return _json(message)

    def _interaction_channel(self, iid: str) -> str:
        return str(self._interactions.get(iid, {}).get("channel_id", p.CHANNEL))

    def _create_event(self, body: Any, guild: str) -> web.Response:
        event = {
            **p.scheduled_event(self.next_id()),
            **body,
            "creator_id": p.BOT,
            "creator": p.user(p.BOT, "Bot", bot=True),
            "guild_id": guild,
            "status": 1,
        }
        self.scheduled[event["id"]] = event
        self.dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        return _json(event)

    def _event_users(self, body: Any, guild: str, eid: str) -> web.Response:
        query = self._query
        limit, after = int(query.get("limit", "100")), query.get("after")
        users = sorted(self.interest.get(eid, set()), key=int)
        if after:
            users = [u for u in users if int(u) > int(after)]
        return _json(
            [
                {"guild_scheduled_event_id": eid, "user": p.user(u, self.users.get(u, "Someone"))}
                for u in users[:limit]
            ]
        )

    def _update_event(self, body: Any, guild: str, eid: str) -> web.Response:
        event = self.scheduled.get(eid)
        if event is None:
            return _json({"message": "Unknown Guild Scheduled Event", "code": 10070}, 404)
        event.update(body)
        self.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event)
        return _json(event)

    # --- gateway ---------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        )
        writer: asyncio.Task[None] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2 and writer is None:
                    if data.get("token") != TOKEN:
                        await ws.close(code=4004)
                        break
                    self.identified.append(data)
                    start = len(self._log)
                    self.dispatch("READY", self._ready())
                    self.dispatch("GUILD_CREATE", self._guild())
                    writer = asyncio.create_task(self._write(ws, start))
                elif op == 6 and writer is None:
                    self.resumed.append(data)
                    if data.get("session_id") != self.session:
                        await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
                        continue
                    start = int(data.get("seq") or 0)
                    self.dispatch("RESUMED", {})
                    writer = asyncio.create_task(self._write(ws, start))
        finally:
            if writer is not None:
                writer.cancel()
            if self._socket is ws:
                self._socket = None
                self._socket_ready.clear()
        return ws

    async def _write(self, ws: web.WebSocketResponse, cursor: int) -> None:
        """Send the session's dispatches from `cursor` on, in order, as they come."""
        self._socket = ws
        self._socket_ready.set()
        while not ws.closed:
            while cursor < len(self._log) and self._socket is ws:
                await ws.send_str(json.dumps(self._log[cursor]))
                cursor += 1
            self._new.clear()
            await self._new.wait()

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": p.user(p.BOT, "Community Bot", bot=True),
            "guilds": [{"id": p.GUILD, "unavailable": True}],
            "session_id": self.session,
            "resume_gateway_url": self.gateway,
            "shard": None,
            "application": {"id": p.APP, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "session_type": "normal",
            "auth": {},
        }

    def _guild(self) -> dict[str, Any]:
        return {
            "id": p.GUILD,
            "name": "Community",
            "icon": None,
            "owner_id": "200",
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [
                {
                    "id": p.GUILD,
                    "name": "@everyone",
                    "permissions": "0",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": p.CATALYST_ROLE,
                    "name": "Catalyst",
                    "permissions": "0",
                    "position": 1,
                    "color": 0,
                    "hoist": True,
                    "managed": False,
                    "mentionable": True,
                    "flags": 0,
                },
            ],
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "stickers": [],
            "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "voice_states": [],
            "members": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": list(self.scheduled.values()),
            "soundboard_sounds": [],
            "application_command_counts": {},
            "channels": [
                c.payload() for c in self.channels.values() if c.guild_id and c.type in (0, 2, 4, 5)
            ],
            "threads": [
                c.payload() for c in self.channels.values() if c.type in (11, 12) and not c.archived
            ],
        }

    def dispatch(self, kind: str, data: dict[str, Any]) -> int:
        """Queue a dispatch for the bot: sent now if connected, else on its RESUME."""
        frame = {"op": 0, "t": kind, "s": len(self._log) + 1, "d": data}
        self._log.append(frame)
        self._new.set()
        return int(frame["s"])

    async def drop(self) -> None:
        """Cut the gateway connection as a network failure would (the session lives on)."""
        ws, self._socket = self._socket, None
        self._socket_ready.clear()
        if ws is not None:
            await ws.close(code=4000, message=b"dropped")

    async def connected(self) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), 20)

    # --- members acting --------------------------------------------------------------------

    def say(self, user: str, content: str, *, channel: str = p.CHANNEL, name: str = "") -> str:
        """A member writes in a channel, a thread or (a DM channel id) a DM; returns its id."""
        ch = self.channels.get(channel)
        guild = ch.guild_id if ch else None
        author = p.user(user, name or self.users.get(user, f"User{user[-3:]}"))
        message = self._message(channel, author, {"content": content})
        data = {
            **message,
            **(
                {
                    "guild_id": guild,
                    "member": {
                        k: v
                        for k, v in p.member(user, author["global_name"]).items()
                        if k != "user"
                    },
                }
                if guild
                else {}
            ),
        }
        self.dispatch("MESSAGE_CREATE", data)
        return str(message["id"])

    def edit(self, mid: str, content: str) -> None:
        message = self.messages[mid]
        message["content"] = content
        message["edited_timestamp"] = f"2026-03-02T09:{len(self._log) % 60:02d}:00.000000+00:00"
        ch = self.channels.get(message["channel_id"])
        self.dispatch(
            "MESSAGE_UPDATE",
            {**message, **({"guild_id": ch.guild_id} if ch and ch.guild_id else {})},
        )

    def dm_channel(self, user: str) -> str:
        found = next((c for c in self.channels.values() if c.recipient == user), None)
        if found is None:
            found = Channel(self.next_id(), 1, recipient=user)
            self.channels[found.id] = found
        return found.id

    def _interact(self, data: dict[str, Any]) -> str:
        self._interactions[data["id"]] = data
        self.dispatch("INTERACTION_CREATE", data)
        return str(data["id"])

    def slash(
        self,
        user: str,
        name: str,
        options: list[dict[str, Any]],
        *,
        channel: str = p.CHANNEL,
        roles: list[str] | None = None,
    ) -> str:
        iid = self.next_id()
        return self._interact(
            p.slash(
                iid,
                name,
                options,
                uid=user,
                uname=self.users.get(user, f"User{user[-3:]}"),
                channel=channel,
                roles=roles,
            )
        )

    def press(self, user: str, message_id: str, custom_id: str) -> str:
        message = self.messages[message_id]
        channel = self.channels.get(message["channel_id"])
        guild = channel.guild_id if channel else None
        iid = self.next_id()
        data = p.interaction(
            iid,
            3,
            {"custom_id": custom_id, "component_type": 2},
            uid=user,
            uname=self.users.get(user, f"User{user[-3:]}"),
            channel=message["channel_id"],
            guild=guild,
        )
        data["message"] = message
        return self._interact(data)

    def submit(self, user: str, message_id: str, custom_id: str, text: str) -> str:
        message = self.messages[message_id]
        channel = self.channels.get(message["channel_id"])
        guild = channel.guild_id if channel else None
        iid = self.next_id()
        data = p.interaction(
            iid,
            5,
            {
                "custom_id": custom_id,
                "components": [
                    {"type": 1, "components": [{"type": 4, "custom_id": "text", "value": text}]}
                ],
            },
            uid=user,
            uname=self.users.get(user, f"User{user[-3:]}"),
            channel=message["channel_id"],
            guild=guild,
        )
        data["message"] = message
        return self._interact(data)

    async def answered_within(self, iid: str, seconds: float = 3.0) -> dict[str, Any]:
        """The bot's callback for an interaction, which must come within `seconds`."""
        started = time.monotonic()
        while iid not in self.responses:
            if time.monotonic() - started > seconds:
                raise AssertionError(f"interaction {iid} was not answered within {seconds} s")
            await asyncio.sleep(0.01)
        return self.responses[iid]

    # --- what members see ------------------------------------------------------------------

    def texts(self, channel: str) -> list[str]:
        return [self._text(self.messages[m]) for m in self.by_channel.get(channel, [])]

    @staticmethod
    def _text(message: dict[str, Any]) -> str:
        if message.get("embeds"):
            embed = message["embeds"][0]
            return f"{embed.get('title', '')}\n{embed.get('description', '')}".strip()
        return str(message.get("content", ""))

    def bot_calls(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]


@asynccontextmanager
async def fake_discord(*, enforce_global: bool = True) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(enforce_global=enforce_global)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
