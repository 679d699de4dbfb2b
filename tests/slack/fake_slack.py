"""A local Slack for the tests: the Web API over HTTP and a Socket Mode WebSocket.

Every Web API call is validated against Slack's published spec (`tests.slack.spec`); a call
Slack would refuse as malformed is recorded in `violations` (the fixture fails the test on
any) and answered `invalid_arguments`. Answers have the shapes Slack gives, with its errors
(`channel_not_found`, `not_in_channel`, `is_archived`, `already_in_channel`, `name_taken`,
`expired_trigger_id`...) and its limits: about one message a second per channel, an
optional workspace-wide message rate, method tiers, and 429 with `Retry-After`.

Members act through the helpers (`say`, `edit`, `react`, `slash`, `press`, `submit`): each
stores what Slack would store and delivers the payload Slack would send, over the Socket
Mode connection (waiting for the app's ack) or, in HTTP mode, as a signed POST to the
bot's request URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import re
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.web import WebServer, build_app
from tests.slack.spec import problems

T = TypeVar("T")
TEAM = "T0001"
BOT = "U0BOT"
BOT_ID = "B0BOT"
BOT_TOKEN = "xoxb-0001-test"
APP_TOKEN = "xapp-1-test"
GENERAL = "C0GENERAL"
ACK_DEADLINE_S = 10.0
TRIGGER_LIFETIME_S = 3.0

TIER_PER_MINUTE: Mapping[int, int] = {1: 1, 2: 20, 3: 50, 4: 100}
"""Slack's documented floor for each tier; the fake allows bursts of a tenth of a minute's
worth (at least 3) on top."""
METHOD_TIERS: Mapping[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.archive": 2,
    "conversations.create": 2,
    "conversations.info": 3,
    "conversations.invite": 3,
    "conversations.members": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
}
"""The tier of each method the fake implements, from Slack's method reference;
`chat.postMessage` is special: see `FakeSlack.per_channel` and `post_per_minute`."""


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Bucket:
    """`rate` per second with bursts of `burst`; `take` answers the wait when empty."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> float | None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    members: set[str] = field(default_factory=set)
    is_archived: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_private": self.is_private or self.is_im,
            "is_archived": self.is_archived,
            "is_member": BOT in self.members,
            "created": 1767225600,
            "creator": BOT,
            "num_members": len(self.members),
        }

    def find(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)


@dataclass
class Posted:
    """A message the bot posted, as the bench counts them."""

    channel: str
    ts: str
    text: str
    at: float


class FakeSlack:
    def __init__(
        self,
        *,
        per_channel: float = 1.0,
        channel_burst: float = 2.0,
        post_per_minute: float | None = None,
        echo_bot_messages: bool = True,
    ) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.undirectable: set[str] = set()
        """People the bot cannot open a direct conversation with (as with a member of
        another organisation in a shared channel): a DM to them answers `channel_not_found`,
        while they still speak in channels."""
        self.violations: list[str] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.posted: list[Posted] = []
        self.limited = 0
        """How many calls were answered 429."""
        self.failures: defaultdict[str, deque[tuple[int, str, int | None]]] = defaultdict(deque)
        self.per_channel, self.channel_burst = per_channel, channel_burst
        self._channel_buckets: dict[str, Bucket] = {}
        self._post_bucket = (
            Bucket(post_per_minute / 60, max(1.0, post_per_minute / 60))
            if post_per_minute
            else None
        )
        self._tier_buckets = {
            method: Bucket(TIER_PER_MINUTE[tier] / 60, max(3.0, TIER_PER_MINUTE[tier] / 10))
            for method, tier in METHOD_TIERS.items()
        }
        self.echo_bot_messages = echo_bot_messages
        self._clock = itertools.count(1)
        self._triggers: dict[str, tuple[str, float]] = {}
        self._sockets: list[WebSocket] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connected = asyncio.Event()
        self.changed = asyncio.Condition()
        """Notified after every call that changed something members can see."""
        self.http_target: tuple[str, str] | None = None
        """(the bot's `/slack` base URL, signing secret): deliver by signed HTTP POSTs to
        its events, commands and interactions URLs instead of over the socket."""
        self._server: WebServer | None = None
        self.add_user(BOT, "communitybot", bot=True)
        self.add_channel(GENERAL, "general", members=(BOT,))

    # --- setup ----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        admin: bool = False,
        owner: bool = False,
        bot: bool = False,
        locale: str = "en-US",
    ) -> str:
        self.users[user_id] = {
            "locale": locale,
            "id": user_id,
            "team_id": TEAM,
            "name": name.lower(),
            "deleted": False,
            "real_name": name,
            "tz": "Europe/London",
            "tz_offset": 0,
            "profile": {"display_name": name, "real_name": name, "team": TEAM},
            "is_admin": admin or owner,
            "is_owner": owner,
            "is_bot": bot,
            "is_app_user": False,
            "updated": 1767225600,
        }
        return user_id

    def add_channel(
        self, channel_id: str, name: str, *, private: bool = False, members: tuple[str, ...] = ()
    ) -> Channel:
        channel = Channel(channel_id, name, is_private=private, members=set(members))
        self.channels[channel_id] = channel
        return channel

    def fail_next(self, method: str, error: str, status: int = 200, retry_after: int | None = None):
        """Answer the next call of `method` with this error (429 needs `retry_after`)."""
        self.failures[method].append((status, error, retry_after))

    async def start(self) -> None:
        routes = [
            Route("/api/{method}", self._api, methods=["GET", "POST"]),
            WebSocketRoute("/link/", self._link),
        ]
        self._server = WebServer(build_app(routes), "127.0.0.1", 0)
        await self._server.start()

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._server is not None:
            await self._server.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}/api/"

    # --- the Web API ----------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        auth = request.headers.get("authorization", "")
        args: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        from_json = request.headers.get("content-type", "").startswith("application/json")
        if body and from_json:
            args.update(json.loads(body))
        elif body:
            args.update(parse_qsl(body.decode(), keep_blank_values=True))
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        wanted = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        found = problems(method, args, bearer=auth.startswith("Bearer "), from_json=from_json)
        if found:
            self.violations.extend(found)
            return _answer({"ok": False, "error": "invalid_arguments", "problems": found})
        if token != wanted:
            return _answer({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        args.pop("token", None)
        if self.failures[method]:
            status, error, retry_after = self.failures[method].popleft()
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            if status == 429:
                self.limited += 1
            return _answer({"ok": False, "error": error}, status, headers)
        wait = self._limit(method, args)
        if wait is not None:
            self.limited += 1
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
            return _answer({"ok": False, "error": "ratelimited"}, 429, headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            self.violations.append(f"the fake does not implement {method}")
            return _answer({"ok": False, "error": "unknown_method"})
        try:
            result = await handler(args)
        except SlackError as exc:
            return _answer({"ok": False, "error": exc.error})
        self.calls.append((method, args))
        async with self.changed:
            self.changed.notify_all()
        return _answer({"ok": True, **result})

    def _limit(self, method: str, args: Mapping[str, Any]) -> float | None:
        if method != "chat.postMessage":
            bucket = self._tier_buckets.get(method)
            if bucket is None:
                self.violations.append(f"the fake knows no rate limit tier for {method}")
                return None
            return bucket.take()
        channel = str(args.get("channel", ""))
        bucket = self._channel_buckets.setdefault(
            self.dm_channel(channel) if channel.startswith("U") else channel,
            Bucket(self.per_channel, self.channel_burst),
        )
        wait = bucket.take()
        if wait is None and self._post_bucket is not None:
            wait = self._post_bucket.take()
            if wait is not None:
                bucket.tokens += 1  # not sent: give the channel its token back
        return wait

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    def _channel(self, channel_id: Any) -> Channel:
        channel = self.channels.get(str(channel_id))
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _dm_of(self, user_id: str) -> str:
        """The bot's DM channel with a user, opened on first use (as Slack does)."""
        if user_id not in self.users or user_id in self.undirectable:
            raise SlackError("channel_not_found")
        dm = f"D{user_id[1:]}"
        if dm not in self.channels:
            self.channels[dm] = Channel(dm, dm, is_im=True, members={BOT, user_id})
        return dm

    def _blocks(self, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        raw = args.get("blocks")
        if raw is None:
            return []
        blocks = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(blocks, list) or len(blocks) > 50:
            raise SlackError("invalid_blocks")
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            if block.get("type") == "section" and not 0 < len(text) <= 3000:
                raise SlackError("invalid_blocks")
        return blocks

    async def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://community.slack.com/",
            "team": "Community",
            "user": "communitybot",
            "team_id": TEAM,
            "user_id": BOT,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    async def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self._server is not None
        return {"url": f"ws://127.0.0.1:{self._server.port}/link/?ticket={uuid.uuid4()}"}

    async def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        target = str(args["channel"])
        channel = self._channel(self._dm_of(target) if target.startswith("U") else target)
        if channel.is_archived:
            raise SlackError("is_archived")
        if BOT not in channel.members:
            raise SlackError("not_in_channel")
        text, blocks = args.get("text"), self._blocks(args)
        if not text and not blocks:
            raise SlackError("no_text")
        if text is not None and len(text) > 40000:
            raise SlackError("msg_too_long")
        thread = args.get("thread_ts")
        if thread is not None and channel.find(str(thread)) is None:
            raise SlackError("thread_not_found")
        broadcast = args.get("reply_broadcast") in (True, "true", "1")
        if broadcast and thread is None:
            self.violations.append("chat.postMessage: reply_broadcast without thread_ts")
        message = {
            "type": "message",
            "user": BOT,
            "bot_id": BOT_ID,
            "text": text or "",
            "blocks": blocks,
            "ts": self._ts(),
            "team": TEAM,
        }
        if thread is not None:
            message["thread_ts"] = str(thread)
            if broadcast:
                message["subtype"] = "thread_broadcast"
        channel.messages.append(message)
        self.posted.append(Posted(channel.id, message["ts"], message["text"], time.monotonic()))
        if self.echo_bot_messages and (self._sockets or self.http_target):
            event = {**message, "channel": channel.id, "event_ts": message["ts"]}
            event["channel_type"] = _channel_type(channel)
            asyncio.get_running_loop().create_task(self._push_quietly(_callback(event)))
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        user = str(args["user"])
        if user not in channel.members:
            raise SlackError("user_not_in_channel")
        if BOT not in channel.members and not channel.is_im:
            raise SlackError("not_in_channel")
        ts = self._ts()
        self.ephemerals.append(
            {"channel": channel.id, "user": user, "text": args.get("text", ""), "ts": ts}
        )
        return {"message_ts": ts}

    async def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        message = channel.find(str(args["ts"]))
        if message is None:
            raise SlackError("message_not_found")
        if message.get("user") != BOT:
            raise SlackError("cant_update_message")
        if "text" in args:
            message["text"] = args["text"]
        if "blocks" in args:
            message["blocks"] = self._blocks(args)
        message["edited"] = {"user": BOT, "ts": self._ts()}
        return {"channel": channel.id, "ts": message["ts"], "text": message["text"]}

    async def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args["trigger_id"])
        known = self._triggers.pop(trigger, None)
        if known is None:
            raise SlackError("invalid_trigger_id")
        user, issued = known
        if time.monotonic() - issued > TRIGGER_LIFETIME_S:
            raise SlackError("expired_trigger_id")
        view = json.loads(args["view"]) if isinstance(args["view"], str) else args["view"]
        if view.get("type") != "modal" or len(view.get("title", {}).get("text", "")) > 24:
            raise SlackError("invalid_arguments")
        view_id = f"V{uuid.uuid4().hex[:10].upper()}"
        self.views[view_id] = {"user": user, "view": view, "id": view_id}
        return {"view": {"id": view_id, "team_id": TEAM, **view, "hash": self._ts()}}

    async def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        if not re.fullmatch(r"[a-z0-9_-]{1,80}", name):
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self.channels.values()):
            raise SlackError("name_taken")
        private = args.get("is_private") in (True, "true", "1")
        channel_id = f"{'G' if private else 'C'}{uuid.uuid4().hex[:9].upper()}"
        channel = self.add_channel(channel_id, name, private=private, members=(BOT,))
        return {"channel": channel.json()}

    async def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.is_archived:
            raise SlackError("is_archived")
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            raise SlackError("no_user")
        for user in users:
            if user not in self.users:
                raise SlackError("user_not_found")
            if user in channel.members:
                raise SlackError("already_in_channel")
        channel.members.update(users)
        return {"channel": channel.json()}

    async def _conversations_archive(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.is_archived:
            raise SlackError("already_archived")
        channel.is_archived = True
        return {}

    async def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(args.get("channel")).json()}

    async def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        members = sorted(channel.members)
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = members[start : start + limit]
        more = start + limit < len(members)
        return {
            "members": page,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        if str(args.get("include_locale")).lower() in {"1", "true"}:
            return {"user": user}
        return {"user": {k: v for k, v in user.items() if k != "locale"}}

    async def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.usergroups.get(str(args["usergroup"]))
        if found is None:
            raise SlackError("no_such_subteam")
        return {"users": found}

    # --- Socket Mode and HTTP delivery ----------------------------------------------------

    async def _link(self, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A0APP"},
                }
            )
        )
        self._sockets.append(ws)
        self.connected.set()
        try:
            while True:
                ack = json.loads(await ws.receive_text())
                waiting = self._acks.pop(str(ack.get("envelope_id")), None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(ack)
        except WebSocketDisconnect:
            pass
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.connected.clear()

    async def push(self, kind: str, payload: dict[str, Any], retry: int = 0) -> dict[str, Any]:
        """Deliver a payload as Slack would and return the app's acknowledgement."""
        if self.http_target is not None:
            return await self._post(kind, payload, retry)
        async with asyncio.timeout(ACK_DEADLINE_S):
            await self.connected.wait()
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": retry, "retry_reason": "timeout" if retry else ""}
        acked = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = acked
        await self._sockets[-1].send_text(json.dumps(envelope))
        async with asyncio.timeout(ACK_DEADLINE_S):
            return await acked

    async def _push_quietly(self, payload: dict[str, Any]) -> None:
        with contextlib.suppress(TimeoutError, RuntimeError, IndexError):
            await self.push("events_api", payload)

    async def _post(self, kind: str, payload: dict[str, Any], retry: int) -> dict[str, Any]:
        assert self.http_target is not None
        base, secret = self.http_target
        if kind == "events_api":
            url, ctype = f"{base}/events", "application/json"
            body = json.dumps(payload).encode()
        elif kind == "slash_commands":
            url, ctype = f"{base}/commands", "application/x-www-form-urlencoded"
            body = urlencode(payload).encode()
        else:
            url, ctype = f"{base}/interactions", "application/x-www-form-urlencoded"
            body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = sign(secret, body) | {"Content-Type": ctype}
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with httpx.AsyncClient() as http:
            r = await http.post(url, content=body, headers=headers)
        return {"status": r.status_code, "body": r.text}

    # --- what members do ------------------------------------------------------------------

    async def say(
        self,
        user: str,
        channel_id: str,
        text: str,
        thread_ts: str | None = None,
        *,
        retries: int = 0,
    ) -> str:
        """`user` writes in a channel; `retries` delivers the same event that many times
        more, as Slack does when an acknowledgement is late (same `event_id`)."""
        channel = self._channel(channel_id)
        ts = self._ts()
        event: dict[str, Any] = {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": text,
            "user": user,
            "ts": ts,
            "team": TEAM,
            "channel": channel.id,
            "event_ts": ts,
            "channel_type": _channel_type(channel),
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        channel.messages.append({k: v for k, v in event.items() if k != "channel_type"})
        payload = _callback(event)
        for attempt in range(retries + 1):
            await self.push("events_api", payload, retry=attempt)
        if f"<@{BOT}>" in text and not channel.is_im:
            mention = {k: event[k] for k in ("type", "user", "text", "ts", "channel", "event_ts")}
            await self.push("events_api", _callback(mention | {"type": "app_mention"}))
        return ts

    async def edit(self, user: str, channel_id: str, ts: str, text: str) -> None:
        channel = self._channel(channel_id)
        message = channel.find(ts)
        assert message is not None and message["user"] == user
        previous = dict(message)
        message["text"] = text
        message["edited"] = {"user": user, "ts": self._ts()}
        event_ts = self._ts()
        event = {
            "type": "message",
            "subtype": "message_changed",
            "message": dict(message),
            "previous_message": previous,
            "channel": channel.id,
            "hidden": True,
            "ts": event_ts,
            "event_ts": event_ts,
            "channel_type": _channel_type(channel),
        }
        await self.push("events_api", _callback(event))

    async def react(self, user: str, channel_id: str, ts: str, name: str) -> None:
        event = {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item_user": BOT,
            "item": {"type": "message", "channel": channel_id, "ts": ts},
            "event_ts": self._ts(),
        }
        await self.push("events_api", _callback(event))

    async def joins(self, user: str, channel_id: str) -> None:
        self._channel(channel_id).members.add(user)
        event = {
            "type": "member_joined_channel",
            "user": user,
            "channel": channel_id,
            "channel_type": "C",
            "team": TEAM,
            "event_ts": self._ts(),
        }
        await self.push("events_api", _callback(event))

    def _user_ref(self, user: str) -> dict[str, Any]:
        name = self.users[user]["name"]
        return {"id": user, "username": name, "name": name, "team_id": TEAM}

    def _trigger(self, user: str) -> str:
        trigger = f"{next(self._clock)}.{int(time.time())}.{uuid.uuid4().hex[:16]}"
        self._triggers[trigger] = (user, time.monotonic())
        return trigger

    async def slash(self, user: str, channel_id: str, command: str, text: str) -> dict[str, Any]:
        channel = self._channel(channel_id)
        payload = {
            "token": "verification-token",
            "team_id": TEAM,
            "team_domain": "community",
            "channel_id": channel.id,
            "channel_name": "directmessage" if channel.is_im else channel.name,
            "user_id": user,
            "user_name": self.users[user]["name"],
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": f"https://hooks.slack.com/commands/{TEAM}/1/x",
            "trigger_id": self._trigger(user),
        }
        return await self.push("slash_commands", payload)

    async def press(self, user: str, channel_id: str, ts: str, label: str) -> dict[str, Any]:
        """Press the button labelled `label` on a message the bot posted."""
        channel = self._channel(channel_id)
        message = channel.find(ts)
        assert message is not None, f"no message {ts} in {channel_id}"
        button = next(
            element
            for block in message.get("blocks", [])
            if block.get("type") == "actions"
            for element in block["elements"]
            if element["text"]["text"] == label
        )
        payload = {
            "type": "block_actions",
            "user": self._user_ref(user),
            "api_app_id": "A0APP",
            "token": "verification-token",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel.id,
                "is_ephemeral": False,
            },
            "trigger_id": self._trigger(user),
            "team": {"id": TEAM, "domain": "community"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name},
            "message": {k: v for k, v in message.items()},
            "state": {"values": {}},
            "response_url": f"https://hooks.slack.com/actions/{TEAM}/1/x",
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "type": "button",
                    "action_ts": self._ts(),
                }
            ],
        }
        return await self.push("interactive", payload)

    def view_for(self, user: str) -> dict[str, Any] | None:
        """The last modal opened for `user`."""
        found = [v for v in self.views.values() if v["user"] == user]
        return found[-1] if found else None

    async def submit(self, user: str, view_id: str, text: str) -> dict[str, Any]:
        opened = self.views.pop(view_id)
        view = opened["view"]
        block = view["blocks"][0]
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "community"},
            "user": self._user_ref(user),
            "api_app_id": "A0APP",
            "token": "verification-token",
            "trigger_id": self._trigger(user),
            "view": {
                **view,
                "id": view_id,
                "team_id": TEAM,
                "hash": self._ts(),
                "state": {
                    "values": {
                        block["block_id"]: {
                            block["element"]["action_id"]: {
                                "type": "plain_text_input",
                                "value": text,
                            }
                        }
                    }
                },
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return await self.push("interactive", payload)

    # --- reading ----------------------------------------------------------------------------

    async def until(self, found: Callable[[], T | None], deadline: float = 20.0) -> T:
        """Wait until `found()` gives something (checked after every call the bot makes)."""
        async with asyncio.timeout(deadline), self.changed:
            while True:
                value = found()
                if value is not None and value is not False:
                    return value
                await self.changed.wait()

    def bot_message(
        self, channel_id: str, containing: str, thread_ts: str | None = None
    ) -> dict[str, Any] | None:
        """The bot's latest message in a channel (or one thread) containing `containing`."""
        channel = self.channels.get(channel_id)
        for m in reversed(channel.messages if channel else []):
            if m.get("user") != BOT or containing not in plain(m["text"]):
                continue
            if thread_ts is None or m.get("thread_ts") == thread_ts:
                return m
        return None

    @staticmethod
    def in_channel(message: Mapping[str, Any]) -> bool:
        """Whether Slack shows the message in the channel itself: a top-level message or a
        thread reply also sent to the channel (`reply_broadcast`)."""
        thread = message.get("thread_ts")
        return thread in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"

    def ephemeral(self, user: str, containing: str) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in reversed(self.ephemerals)
                if e["user"] == user and containing in plain(e["text"])
            ),
            None,
        )

    def dm_channel(self, user: str) -> str:
        return f"D{user[1:]}"

    def texts(self, channel_id: str, thread_ts: str | None = None) -> list[str]:
        """What the bot posted in a channel (or a thread of it), oldest first."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return []
        return [
            m["text"]
            for m in channel.messages
            if m.get("user") == BOT and (thread_ts is None or m.get("thread_ts") == thread_ts)
        ]


def plain(mrkdwn: str) -> str:
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def sign(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for a body sent at `at` (now by default)."""
    stamp = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def _answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None):
    return JSONResponse(body, status, headers=headers)


def _channel_type(channel: Channel) -> str:
    return "im" if channel.is_im else "group" if channel.is_private else "channel"


def _callback(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "verification-token",
        "team_id": TEAM,
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-fake",
    }
