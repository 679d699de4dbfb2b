"""Discord on discord.py: the gateway session and the REST calls, nothing else.

discord.py keeps the gateway (heartbeats, RESUME with session id and sequence after a drop)
and each route's rate-limit bucket (a 429 waits its `retry_after`); the raw dispatches it
receives are handed to `translate`. Every REST call passes the global pacer first, so the
bot stays under Discord's 50 requests a second across all routes (interaction responses are
exempt, as on Discord). Interactions are acknowledged at once (a modal opens, a command is
deferred) and the core's replies to them become the interaction's answer: public ones edit
the deferred response, private ones (refusals) are ephemeral.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    CloseSubSpace,
    Destination,
    Direct,
    Done,
    EditMessage,
    Inbound,
    InboundSink,
    MessageId,
    NativePublished,
    OpenSubSpace,
    Place,
    PublishNativeEvent,
    SendMessage,
    SendRate,
    Sent,
    SpaceId,
    SubSpaceOpened,
    TextForm,
    ThreadId,
    UserId,
    require,
)
from adapters.discord import translate as t
from bot.config import Config, Secret
from bot.db import Database
from bot.errors import ConfigError, PlatformError

log = logging.getLogger(__name__)

GLOBAL_LIMIT = 50
"""Requests a second Discord allows a bot across all routes."""
PACED = GLOBAL_LIMIT - 1
"""What the pacer lets out in any second: one under the limit, so requests that reach Discord
a few milliseconds apart from when they left never make 51 in its window."""
PENDING_TTL = 14 * 60.0
"""An interaction's token answers for 15 minutes; after that, replies go as messages."""
ANSWER_GRACE = 5.0
"""Seconds after a command was handled before an unanswered deferral is taken away."""
READY_TIMEOUT = 60.0
REMEMBERED = 10_000
"""Actions whose results are remembered, so a retried key returns the first result."""


class GlobalPacer:
    """At most `limit` requests in any `per`-second window."""

    def __init__(
        self,
        limit: int = GLOBAL_LIMIT,
        per: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.per, self.clock = limit, per, clock
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                while self._sent and now - self._sent[0] >= self.per:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self._sent[0] + self.per - now)


@dataclass
class Pending:
    """An interaction acknowledged and waiting for the core's answer."""

    token: str
    place: Place
    user: str
    at: float
    command: bool
    original_used: bool = False


class _Client(discord.Client):
    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter

    async def on_socket_raw_receive(self, msg: str) -> None:
        await self.adapter.received(msg)

    async def on_ready(self) -> None:
        self.adapter.ready.set()


class DiscordAdapter:
    platform = t.PLATFORM
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.PRIVATE_SUBSPACES,
            Capability.DIRECT_MESSAGES,
            Capability.BUTTONS,
            Capability.MODALS,
            Capability.EDITS,
            Capability.IDEMPOTENT_SEND,
            Capability.NATIVE_EVENTS,
        }
    )
    max_text = t.MAX_CONTENT
    send_rate = SendRate(float(GLOBAL_LIMIT), GLOBAL_LIMIT)

    def __init__(
        self,
        token: Secret,
        *,
        guilds: Sequence[str] = (),
        roles: Mapping[str, str] | None = None,
        message_content: bool = False,
        members_intent: bool = False,
        command_prefix: str = "!",
        api_base: str = "https://discord.com/api/v10",
        gateway: str = "wss://gateway.discord.gg/",
        prompts: Mapping[str, str] | None = None,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self._token = token
        self.guilds = frozenset(guilds)
        self.roles = {name.casefold(): role for name, role in (roles or {}).items()}
        """Discord role name (any case) -> community role."""
        self._role_ids: dict[str, str] = {}
        self.message_content = message_content
        self.members_intent = members_intent
        self.command_prefix = command_prefix
        self.api_base = api_base.rstrip("/")
        self.gateway = gateway
        self.prompts = dict(prompts or {})
        self.guild_ready_timeout = guild_ready_timeout
        self.self_id = UserId("")
        self.application_id = ""
        self.ready = asyncio.Event()
        self.pacer = GlobalPacer(PACED)
        self._client: _Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._sink: InboundSink | None = None
        self._parents: dict[str, str] = {}
        self._guild_of: dict[str, str] = {}
        self._dms: dict[str, str] = {}
        self._subspaces: dict[tuple[str, str], str] = {}
        self._forms: dict[str, TextForm] = {}
        self._pending: dict[str, Pending] = {}
        self._done: OrderedDict[str, ActionResult] = OrderedDict()
        self._background: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_config(cls, config: Config, db: Database) -> DiscordAdapter:
        from bot.prompts import library_for

        section = config.model.discord
        if section is None:
            raise ConfigError("discord", "the [discord] section is missing")
        prompts = {p.id: p.text for p in library_for(config).all() if p.kind == "checkin"}
        return cls(
            config.secret(section.token_env),
            guilds=section.guilds,
            roles=section.roles,
            message_content=section.message_content,
            members_intent=section.members_intent,
            command_prefix=section.command_prefix,
            api_base=section.api_base,
            gateway=section.gateway,
            prompts=prompts,
        )

    def intents(self) -> discord.Intents:
        """Only what is used: servers and threads, messages, DMs and scheduled events, plus
        the privileged intents the config says were switched on."""
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.guild_scheduled_events = True
        intents.members = self.members_intent
        intents.message_content = self.message_content
        return intents

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink
        # discord.py reads both as class attributes: one Discord per process.
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway)
        client = _Client(
            self,
            intents=self.intents(),
            enable_debug_events=True,
            max_ratelimit_timeout=30.0,
            guild_ready_timeout=self.guild_ready_timeout,
            chunk_guilds_at_startup=False,  # the member list is not kept: nothing reads it
            member_cache_flags=discord.MemberCacheFlags.none(),
        )
        self._client = client
        await client.login(self._token.reveal())
        assert client.user is not None
        self.self_id = UserId(str(client.user.id))
        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord gateway")
        self._task.add_done_callback(self._gateway_ended)
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait(
            {ready, self._task}, timeout=READY_TIMEOUT, return_when="FIRST_COMPLETED"
        )
        if not self.ready.is_set():
            ready.cancel()
            failed = self._task.exception() if self._task.done() else None
            await self.stop()
            raise PlatformError(f"Discord: the gateway did not become ready: {failed!r}")
        self.application_id = str(client.application_id)
        await self._sync_commands()
        if not self.message_content:
            log.warning(
                "Discord: the message-content intent is off, so `%s` commands and thread "
                "replies are not read; /checkin, the buttons, forms and DMs work",
                self.command_prefix,
            )
        log.info("Discord: connected as %s to %d servers", self.self_id, len(self._known_guilds()))

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("Discord: the gateway connection ended", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._client is not None:
            await self._client.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._client, self._task = None, None

    def _known_guilds(self) -> set[str]:
        return set(self.guilds) or set(self._guild_of.values())

    async def _sync_commands(self) -> None:
        """The slash commands, in each configured server (a guild's update is immediate)."""
        for guild in sorted(self._known_guilds()):
            await self._request(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                json=t.command_payloads(),
                application_id=self.application_id,
                guild_id=guild,
            )

    # --- inbound --------------------------------------------------------------------------

    def _view(self, seq: int) -> t.View:
        ws = self._client.ws if self._client else None
        session = getattr(ws, "session_id", None) or ""
        return t.View(
            self_id=self.self_id,
            session=session,
            seq=seq,
            parents=self._parents,
            guilds=self.guilds,
            prefix=self.command_prefix,
            roles=self._role_ids,
        )

    async def received(self, msg: str | bytes) -> None:
        """One gateway message, as discord.py received it (already decompressed)."""
        payload = json.loads(msg)
        if payload.get("op") != 0:
            return
        kind, data, seq = payload.get("t"), payload.get("d") or {}, payload.get("s") or 0
        self._learn(kind, data)
        try:
            if kind == "INTERACTION_CREATE":
                await self._interaction(data, self._view(seq))
                return
            if kind == "GUILD_SCHEDULED_EVENT_CREATE" and str(data.get("creator_id")) == str(
                self.self_id
            ):
                return  # our own publication: its id comes back as the action's result
            if kind == "GUILD_CREATE":
                await self._import_events(data, self._view(seq))
            event = t.to_inbound(kind, data, self._view(seq))
            if event is not None:
                await self._deliver(event)
        except Exception:
            log.exception("Discord: handling a %s dispatch failed", kind)

    async def _import_events(self, guild: Mapping[str, Any], view: t.View) -> None:
        """The server's scheduled events on connecting, each with who is Interested."""
        if self.guilds and str(guild.get("id")) not in self.guilds:
            return
        for event in t.guild_events(guild, view):
            people = await self._interested(str(guild["id"]), event.native_id)
            await self._deliver(dataclasses.replace(event, interested=tuple(people)))

    async def _interested(self, guild: str, native_id: str) -> list[Actor]:
        people: list[Actor] = []
        after: str | None = None
        while True:
            page = await self._request(
                "GET",
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users",
                params={"limit": "100", **({"after": after} if after else {})},
                guild_id=guild,
                guild_scheduled_event_id=native_id,
            )
            people += t.interested_of(page, self._role_ids)
            if len(page) < 100:
                return people
            after = str(page[-1]["user"]["id"])

    def _learn(self, kind: str, data: Mapping[str, Any]) -> None:
        """Which server a channel is in and which channel a thread hangs under."""
        if kind == "GUILD_CREATE":
            guild = str(data["id"])
            self._guild_of[guild] = guild
            for channel in [*(data.get("channels") or []), *(data.get("threads") or [])]:
                self._channel(channel, guild)
            for role in data.get("roles") or []:
                self._role(role)
        elif kind in ("GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE"):
            self._role(data.get("role") or {})
        elif kind in ("CHANNEL_CREATE", "THREAD_CREATE", "THREAD_UPDATE"):
            self._channel(data, data.get("guild_id"))
        elif kind == "THREAD_LIST_SYNC":
            for thread in data.get("threads") or []:
                self._channel(thread, data.get("guild_id"))

    def _role(self, role: Mapping[str, Any]) -> None:
        """A server role the config maps to a community role (matched by name)."""
        granted = self.roles.get(str(role.get("name", "")).casefold())
        if granted is not None and "id" in role:
            self._role_ids[str(role["id"])] = granted

    def _channel(self, channel: Mapping[str, Any], guild: Any) -> None:
        cid = str(channel["id"])
        if guild is not None:
            self._guild_of[cid] = str(guild)
        if channel.get("type") in (10, 11, 12) and channel.get("parent_id"):
            self._parents[cid] = str(channel["parent_id"])

    async def _deliver(self, event: Inbound) -> None:
        if self._sink is not None:
            await self._sink(event)

    async def _interaction(self, data: Mapping[str, Any], view: t.View) -> None:
        iid, token = str(data["id"]), str(data["token"])
        kind = data.get("type")
        if kind == t.AUTOCOMPLETE:
            typed = t.focused_option(data.get("data") or {}) or ""
            await self._callback(iid, token, t.autocomplete_response(typed, self.prompts))
            return
        opener = t.form_opener(data)
        if opener is not None:
            button, label = opener
            form = self._forms.get(button.partition(t.CUSTOM_ID_SEP)[0]) or TextForm(label, label)
            await self._callback(iid, token, t.modal_response(button, form))
            return
        event = t.to_inbound("INTERACTION_CREATE", data, view)
        if event is None:
            await self._callback(
                iid,
                token,
                {"type": 4, "data": {"content": "I don't know that one.", "flags": t.EPHEMERAL}},
            )
            return
        command = kind == t.APPLICATION_COMMAND or not data.get("message")
        deferral = t.DEFERRED_MESSAGE if command else t.DEFERRED_UPDATE
        await self._callback(iid, token, {"type": deferral})
        pending = Pending(token, event.place, event.actor.user_id, time.monotonic(), command)
        self._pending[iid] = pending
        self._forget_old()
        await self._deliver(event)
        if command:
            self._spawn(self._tidy(pending))

    async def _callback(self, iid: str, token: str, body: Mapping[str, Any]) -> None:
        """Interaction responses are outside the global limit: no pacing, answer at once."""
        assert self._client is not None
        route = discord.http.Route(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=iid,
            interaction_token=token,
        )
        try:
            await self._client.http.request(route, json=body)
        except discord.HTTPException as exc:
            log.warning("Discord: answering interaction %s failed: %s", iid, exc.status)

    async def _tidy(self, pending: Pending) -> None:
        """Take away a deferred "thinking…" the core never answered in public."""
        await asyncio.sleep(ANSWER_GRACE)
        if not pending.original_used:
            pending.original_used = True
            await self._delete_original(pending)

    async def _delete_original(self, pending: Pending) -> None:
        try:
            await self._webhook("DELETE", pending, "/messages/@original")
        except (discord.HTTPException, aiohttp.ClientError) as exc:
            log.info("Discord: removing a deferred answer failed: %s", exc)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for iid in [i for i, p in self._pending.items() if now - p.at > PENDING_TTL]:
            del self._pending[iid]

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- outbound -------------------------------------------------------------------------

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        if action.key in self._done:
            return self._done[action.key]
        try:
            result = await self._perform(action)
        except discord.RateLimited as exc:
            raise PlatformError(
                f"Discord rate limit: retry after {exc.retry_after:.2f} s",
                retry_after=exc.retry_after,
            ) from None
        except discord.HTTPException as exc:
            raise t.platform_error(
                type(action).__name__, exc.status, {"message": exc.text, "code": exc.code}
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise PlatformError(f"Discord unreachable: {exc!r}") from None
        self._done[action.key] = result
        if len(self._done) > REMEMBERED:
            self._done.popitem(last=False)
        return result

    async def _perform(self, action: Action) -> ActionResult:
        if isinstance(action, SendMessage):
            pending = self._answering(action)
            if pending is not None:
                return await self._answer(pending, action)
            return await self._send(action)
        if isinstance(action, EditMessage):
            channel = action.place.thread or action.place.space
            await self._request(
                "PATCH",
                "/channels/{channel_id}/messages/{message_id}",
                json=t.edit_body(action.text),
                channel_id=channel,
                message_id=action.message_id,
            )
            return Sent(action.message_id, action.place)
        if isinstance(action, OpenSubSpace):
            return await self._open(action)
        if isinstance(action, CloseSubSpace):
            await self._request(
                "PATCH",
                "/channels/{channel_id}",
                json=t.close_thread_body(),
                channel_id=action.place.thread or action.place.space,
            )
            return Done()
        if isinstance(action, PublishNativeEvent):
            return await self._publish(action)
        raise TypeError(f"unknown action {action!r}")

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        **parts: str,
    ) -> Any:
        assert self._client is not None
        await self.pacer.acquire()
        route = discord.http.Route(method, path, **parts)
        options: dict[str, Any] = {}
        if json is not None:
            options["json"] = json
        if params:
            options["params"] = dict(params)
        return await self._client.http.request(route, **options)

    async def _webhook(
        self, method: str, pending: Pending, tail: str = "", json: Any = None
    ) -> Any:
        """An interaction's follow-up call: by its token, outside the global limit."""
        assert self._client is not None
        route = discord.http.Route(
            method,
            "/webhooks/{webhook_id}/{webhook_token}" + tail,
            webhook_id=self.application_id,
            webhook_token=pending.token,
        )
        if json is None:
            return await self._client.http.request(route)
        return await self._client.http.request(route, json=json)

    def _answering(self, action: SendMessage) -> Pending | None:
        """The interaction a reply answers: the core keys replies `reply:<platform>:<event>:n`
        and an interaction's event id is its own id."""
        parts = action.key.split(":")
        if len(parts) < 4 or parts[0] != "reply" or parts[1] != self.platform:
            return None
        pending = self._pending.get(parts[2])
        if pending is None or time.monotonic() - pending.at > PENDING_TTL:
            return None
        to = action.to
        if isinstance(to, Direct):
            return pending if to.user_id == pending.user else None
        return pending if to.top() == pending.place.top() else None

    async def _answer(self, pending: Pending, action: SendMessage) -> ActionResult:
        private = isinstance(action.to, Direct) or pending.place.direct
        body = t.followup_body(action.text, private=private and not pending.place.direct)
        if action.buttons:
            body["components"] = t.components(action.buttons)
            self._remember_forms(action)
        if pending.command and not pending.original_used and not private:
            pending.original_used = True
            body.pop("flags", None)
            data = await self._webhook("PATCH", pending, "/messages/@original", body)
        else:
            data = await self._webhook("POST", pending, "", body)
            if pending.command and not pending.original_used:
                pending.original_used = True
                await self._delete_original(pending)
        return Sent(MessageId(str(data["id"])), pending.place)

    def _remember_forms(self, action: SendMessage) -> None:
        for button in action.buttons:
            if button.form is not None:
                self._forms[button.action] = button.form

    async def _send(self, action: SendMessage) -> Sent:
        channel, place = await self._target(action.to)
        purpose = action.purpose.kind if action.purpose else ""
        body = t.message_body(
            action.text, key=action.key, buttons=action.buttons, embed=purpose.endswith("summary")
        )
        self._remember_forms(action)
        data = await self._request(
            "POST", "/channels/{channel_id}/messages", json=body, channel_id=channel
        )
        mid = str(data["id"])
        if place.direct or place.thread is not None:
            return Sent(MessageId(mid), place)
        if action.buttons:
            await self._thread_from(place.space, mid, t.render(action.text)[0])
        return Sent(MessageId(mid), place, ThreadId(mid))

    async def _target(self, to: Destination) -> tuple[str, Place]:
        """The channel to post in: a DM channel (opened once), a thread (started from its
        root message on first use) or the channel itself."""
        if isinstance(to, Direct):
            channel = self._dms.get(to.user_id)
            if channel is None:
                data = await self._request(
                    "POST", "/users/@me/channels", json={"recipient_id": to.user_id}
                )
                channel = self._dms[to.user_id] = str(data["id"])
            return channel, Place(self.platform, SpaceId(channel), direct=True)
        if to.thread is not None:
            if to.thread not in self._parents:
                await self._thread_from(to.space, to.thread, "Thread")
            return to.thread, to
        return to.space, to

    async def _thread_from(self, channel: str, message_id: str, text: str) -> None:
        """A public thread rooted at a message (its id is the message's): where replies go."""
        name = (text.split("\n", 1)[0].strip() or "Thread")[:100]
        try:
            await self._request(
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                json={"name": name, "auto_archive_duration": 1440},
                channel_id=channel,
                message_id=message_id,
            )
        except discord.HTTPException as exc:
            if exc.code != 160004:  # "A thread has already been created for this message"
                raise
        self._parents[message_id] = channel

    async def _open(self, action: OpenSubSpace) -> SubSpaceOpened:
        """A private thread under the channel, its members added; the same parent and name
        is the same thread, so a late joiner is added to it."""
        parent = action.parent.space
        name = action.name[:100]
        thread = self._subspaces.get((parent, name)) or await self._find_thread(parent, name)
        if thread is None:
            data = await self._request(
                "POST",
                "/channels/{channel_id}/threads",
                json=t.private_thread_body(name),
                channel_id=parent,
            )
            thread = str(data["id"])
        self._subspaces[(parent, name)] = thread
        self._parents[thread] = parent
        for member in action.members:
            await self._request(
                "PUT",
                "/channels/{channel_id}/thread-members/{user_id}",
                channel_id=thread,
                user_id=member,
            )
        return SubSpaceOpened(Place(self.platform, SpaceId(parent), ThreadId(thread)))

    async def _find_thread(self, parent: str, name: str) -> str | None:
        """After a restart: the open thread of that name under the channel, if any."""
        guild = self._guild_of.get(parent)
        if guild is None:
            return None
        data = await self._request("GET", "/guilds/{guild_id}/threads/active", guild_id=guild)
        for thread in data.get("threads") or []:
            if str(thread.get("parent_id")) == parent and thread.get("name") == name:
                return str(thread["id"])
        return None

    async def _publish(self, action: PublishNativeEvent) -> NativePublished:
        guild = self._guild_of.get(action.place.space) or next(iter(sorted(self.guilds)), None)
        if guild is None:
            raise PlatformError(
                f"Discord: no server known for {action.place.space}", permanent=True
            )
        body = t.scheduled_event_body(action)
        if action.native_id is None:
            data = await self._request(
                "POST", "/guilds/{guild_id}/scheduled-events", json=body, guild_id=guild
            )
        else:
            data = await self._request(
                "PATCH",
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
                json=body,
                guild_id=guild,
                guild_scheduled_event_id=action.native_id,
            )
        return NativePublished(str(data["id"]))

    async def present(self, place: Place) -> Sequence[Actor]:
        return []
