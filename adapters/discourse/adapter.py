"""The Discourse adapter: the REST API over httpx, and the forum's signed webhook.

This is the thin I/O layer; `adapters.discourse.translate` decides what every webhook means
and what every request says. The forum posts events to `/discourse/webhook` on the bot's web
server through the one signed-webhook receiver (`adapters.webhook`). What must survive a
restart lives in the core's `AdapterState` table: each member's PM topic with the bot, each
breakout group's PM topic or chat thread (with who was invited), and each chat thread's
original message (so a reply in a thread under a round's message answers the round).

Every request, whatever action it serves, passes one rolling-window limiter counting exactly
as Discourse does (60 admin API requests a minute by default), so a multi-request action can
never push the bot over; a 429 pauses the limiter and becomes a `PlatformError` with the
`wait_seconds` Discourse asked for, which the outbox honours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    CloseSubSpace,
    Direct,
    Done,
    EditMessage,
    InboundSink,
    MessageId,
    NativeChange,
    OpenSubSpace,
    Place,
    SendMessage,
    SendRate,
    Sent,
    SubSpaceOpened,
    ThreadId,
    UserId,
    require,
)
from adapters.discourse import translate as t
from adapters.discourse.translate import PLATFORM, Site
from adapters.state import AdapterMemory
from adapters.webhook import SignedWebhook, hmac_sha256_ok
from bot.config import Config, Secret
from bot.db import Database
from bot.errors import CapabilityMissing, ConfigError, PlatformError
from bot.web import parse_json

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/discourse/webhook"
CLOSING_NOTE = "This breakout has ended and its conversation is closed. Thank you all!"
REQUEST_TIMEOUT_S = 30.0
GOING_REFRESH = timedelta(minutes=30)
"""How often, at most, an event's whole going list is read again (it can take many requests)."""


class RollingWindow:
    """At most `limit` requests in any `window` seconds: Discourse's own rolling count.

    A request counts from when it is sent until `window` after its answer came back: the
    forum stamps it somewhere in between, so counting from the answer can never undercount.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._stamps: deque[float] = deque()
        self._in_flight = 0
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    def _wait(self, now: float) -> float | None:
        while self._stamps and now - self._stamps[0] >= self.window:
            self._stamps.popleft()
        wait = self._paused_until - now
        if len(self._stamps) + self._in_flight >= self.limit:
            if not self._stamps:
                return None  # every slot is in flight: wait for an answer, not for time
            wait = max(wait, self._stamps[0] + self.window - now)
        return wait

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        async with self._changed:
            while True:
                wait = self._wait(loop.time())
                if wait is not None and wait <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._stamps.append(loop.time())
                self._changed.notify_all()

    def pause(self, seconds: float) -> None:
        """Nothing more until `seconds` from now (the platform said to wait)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)


class DiscourseAdapter:
    """One bot user on one Discourse forum."""

    platform = PLATFORM
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.DIRECT_MESSAGES,
            Capability.PRIVATE_SUBSPACES,
            Capability.EDITS,
            Capability.TOPICS,
        }
    )

    def __init__(
        self,
        db: Database,
        *,
        base_url: str,
        username: str,
        api_key: Secret,
        webhook_secret: Secret,
        categories: Sequence[int] = (),
        chat_channels: Sequence[int] = (),
        requests_per_minute: int = 60,
        window_seconds: float = 60.0,
        archive_tags: Sequence[str] = (),
        dm_title: str = "Messages from the community bot",
        min_post_length: int = 20,
        min_title_length: int = 15,
        max_post_length: int = 32_000,
        chat_max_length: int = 6_000,
        max_webhook_body: int = 512 * 1024,
        import_events: bool = False,
        events_category: int | None = None,
        events_every: float = 300.0,
        breakouts: str = "pm",
        breakout_channel: int | None = None,
        invitees_page: int = t.INVITEES_PAGE,
        going_refresh: timedelta = GOING_REFRESH,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.self_id = UserId(username)
        self.username = username
        self.command_prefix = f"@{username} "
        self.base_url = base_url.rstrip("/")
        # A chat message may carry 6,000 characters (`chat_maximum_message_length`); posts
        # 32,000. The core splits to the smaller, so a text fits wherever it is sent.
        self.max_text = min(max_post_length, chat_max_length)
        self.send_rate = SendRate(
            per_second=requests_per_minute / window_seconds,
            burst=max(2, min(requests_per_minute // 6, 20)),
        )
        self.window = RollingWindow(requests_per_minute, window_seconds)
        self.memory = AdapterMemory(db, PLATFORM)
        self.categories = frozenset(categories)
        self.chat_channels = frozenset(chat_channels)
        if breakouts == "chat" and breakout_channel is None:
            raise ConfigError("discourse.breakout_channel", "breakouts in chat need a channel")
        self.breakout_channel = breakout_channel if breakouts == "chat" else None
        self.invitees_page = invitees_page
        self.going_refresh = going_refresh
        self.archive_tags = tuple(archive_tags)
        self.dm_title = dm_title
        self.min_post_length = min_post_length
        self.min_title_length = min_title_length
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self._transport = transport
        self.import_events_enabled = import_events
        self.events_category = events_category
        self.events_every = events_every
        self._events_task: asyncio.Task[None] | None = None
        self.http: httpx.AsyncClient | None = None
        self._sink: InboundSink | None = None
        self._dms: dict[str, int] = {}
        self._breakout_topics: set[int] = set()
        self._thread_roots: dict[int, int] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.webhook = SignedWebhook(
            "discourse",
            verify=self._verify,
            receive=self._receive,
            delivery_id=_delivery_id,
            max_body=max_webhook_body,
        )

    @classmethod
    def from_config(cls, config: Config, db: Database) -> DiscourseAdapter:
        section = config.model.discourse
        if section is None:
            raise ConfigError("discourse", "the [discourse] section is missing")
        return cls(
            db,
            base_url=section.base_url,
            username=section.username,
            api_key=config.secret(section.api_key_env),
            webhook_secret=config.secret(section.webhook_secret_env),
            categories=section.categories,
            chat_channels=section.chat_channels,
            requests_per_minute=section.requests_per_minute,
            window_seconds=section.rate_window_seconds,
            archive_tags=section.archive_tags,
            dm_title=f"Messages from {config.model.community.name}",
            min_post_length=section.min_post_length,
            min_title_length=section.min_title_length,
            max_post_length=section.max_post_length,
            chat_max_length=section.chat_max_length,
            max_webhook_body=section.max_webhook_body,
            import_events=section.import_events,
            events_category=section.events_category,
            events_every=section.events_poll_seconds,
            breakouts=section.breakouts,
            breakout_channel=section.breakout_channel,
        )

    def http_routes(self) -> list[BaseRoute]:
        return [self.webhook.route(WEBHOOK_PATH)]

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        """Remember who has a PM topic and which topics are breakouts; then take webhooks."""
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Api-Key": self._api_key.reveal(),
                "Api-Username": self.username,
                "Accept": "application/json",
            },
            timeout=REQUEST_TIMEOUT_S,
            transport=self._transport,
            follow_redirects=True,
        )
        self._dms = {u: int(v) for u, v in (await self.memory.with_prefix("dm:")).items()}
        self._breakout_topics = {int(k) for k in await self.memory.with_prefix("breakout:")}
        roots = await self.memory.with_prefix("thread:")
        self._thread_roots = {int(k): int(v) for k, v in roots.items()}
        self._sink = sink
        if self.import_events_enabled:
            self._events_task = asyncio.create_task(self._poll_events(), name="discourse-events")

    async def stop(self) -> None:
        self._sink = None
        if self._events_task is not None:
            self._events_task.cancel()
            await asyncio.gather(self._events_task, return_exceptions=True)
            self._events_task = None
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    # --- receiving ------------------------------------------------------------------------

    def _verify(self, headers: Headers, body: bytes) -> str | None:
        given = headers.get("x-discourse-event-signature")
        if not given:
            return "no X-Discourse-Event-Signature header"
        if not hmac_sha256_ok(self._webhook_secret.reveal().encode(), body, given):
            return "X-Discourse-Event-Signature does not match the body"
        return None

    async def _receive(self, headers: Headers, body: bytes) -> Response | None:
        data = parse_json(body)
        event = headers.get("x-discourse-event", "")
        unknown = t.unknown_thread(event, data, self._site())
        if unknown is not None and self._listens(t.chat_place(unknown[0])):
            await self._learn_thread(*unknown)
        inbound = t.to_inbound(event, data, self._site(), datetime.now(UTC))
        if inbound is None or not self._listens(inbound.place):
            return None
        if self._sink is None:
            raise PlatformError("the Discourse adapter is not started")
        await self._sink(inbound)
        return None

    def _site(self) -> Site:
        home = min(self.categories) if self.categories else None
        return Site(self.username, self._breakout_topics, home, self._thread_roots)

    def _listens(self, place: Place) -> bool:
        """Only the configured categories and chat channels (and the breakout channel); PMs
        and chat DMs always."""
        w = t.where(place)
        if w.kind == "category":
            return not self.categories or w.id in self.categories
        if w.kind == "chat" and not place.direct:
            return not self.chat_channels or w.id in self.chat_channels | {self.breakout_channel}
        return True

    async def _learn_thread(self, channel: int, thread: int) -> None:
        """Find a chat thread's original message; without it, the reply's own `in_reply_to`
        (if any) stands in."""
        try:
            found = await self.call(
                "GET", f"/chat/api/channels/{channel}/threads/{thread}", "reading a chat thread"
            )
        except PlatformError as exc:
            log.warning("discourse: chat thread %s not read: %s", thread, exc)
            return
        root = t.thread_root(found)
        if root is not None:
            await self._remember_thread(thread, root)

    async def _remember_thread(self, thread: int, root: int) -> None:
        self._thread_roots[thread] = root
        await self.memory.put(f"thread:{thread}", str(root))

    # --- discourse-post-event -------------------------------------------------------------

    async def _poll_events(self) -> None:
        while self._sink is not None:
            try:
                await self.import_events()
            except PlatformError as exc:
                log.warning("discourse: importing post events failed: %s", exc)
            await asyncio.sleep(self.events_every)

    async def import_events(self) -> int:
        """Hand the core every post event that is new or changed since the last look, and a
        cancellation for one still ahead that is gone; returns how many were handed over."""
        params = {"include_details": "true"}
        if self.events_category is not None:
            params["category_id"] = str(self.events_category)
        data = await self.call(
            "GET", "/discourse-post-event/events.json", "listing events", params=params
        )
        if self._sink is None:
            return 0
        known = await self.memory.with_prefix("post-event:")
        handed = 0
        current = t.read_events(data, self.base_url)
        for listed in current:
            seen = known.get(str(listed.id))
            kept = json.loads(seen) if seen is not None else None
            event, read = await self._whole_going(listed, kept)
            digest = t.event_digest(event)
            if kept is not None and kept["digest"] == digest:
                continue
            change = NativeChange.CHANGED if seen is not None else NativeChange.CREATED
            await self._sink(t.event_changed(event, change, self.username))
            await self.memory.put(f"post-event:{event.id}", _remembered(event, digest, read))
            handed += 1
        now = datetime.now(UTC)
        for native_id in set(known) - {str(e.id) for e in current}:
            event = _recalled(json.loads(known[native_id]))
            if (event.ends_at or event.starts_at) > now:
                await self._sink(t.event_changed(event, NativeChange.CANCELLED, self.username))
                handed += 1
            await self.memory.forget(f"post-event:{native_id}")
        return handed

    async def _whole_going(
        self, event: t.PostEvent, kept: dict[str, Any] | None
    ) -> tuple[t.PostEvent, dict[str, Any] | None]:
        """The event with everyone going, where its sample holds only some of them; and what
        the last full read was (the sample and count it was made for, and when).

        A long list costs many requests (see `_going`), so it is read again only when the
        sample or count changed since, and then at most once per `going_refresh`; in between,
        the list last read plus the current sample stands in.
        """
        sample, count = event.going, event.going_count
        now = datetime.now(UTC)
        if sample is None or count is None or len(sample) >= count:
            return event, None
        last = kept.get("read") if kept is not None else None
        if (event.ends_at or event.starts_at) < now and last is None:
            return event, None
        if kept is not None and last is not None:
            fresh = last["sample"] == [list(sample), count]
            recent = now - datetime.fromisoformat(last["at"]) < self.going_refresh
            if fresh or recent or (event.ends_at or event.starts_at) < now:
                known = set(kept["going"]) | (set() if fresh else set(sample))
                return replace(event, going=tuple(sorted(known))), last
        going = await self._going(event.id)
        if len(going) < count:
            log.warning("discourse: event %s: %d of %d going found", event.id, len(going), count)
        read = {"sample": [list(sample), count], "at": now.isoformat()}
        return replace(event, going=tuple(sorted(going))), read

    async def _going(self, event_id: int) -> set[str]:
        """Everyone going, from the invitees route: it answers at most a page and has no
        offset, so a full answer is asked again split by its `filter` (a part of the
        username), narrower until each answer fits a page."""
        path = f"/discourse-post-event/events/{event_id}/invitees.json"
        going: set[str] = set()
        pending, asked = [""], {""}
        while pending:
            part = pending.pop()
            answer = await self.call(
                "GET", path, "listing who is going", params=t.invitees_query(part)
            )
            page = t.read_going(answer)
            going.update(page)
            if len(page) >= self.invitees_page and len(part) < t.FILTER_DEPTH:
                split = [f for f in t.narrower(part) if f not in asked]
                asked.update(split)
                pending.extend(split)
        return going

    # --- requests -------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One API request within the limit; an error answer becomes a `PlatformError`."""
        if self.http is None:
            raise PlatformError("the Discourse adapter is not started")
        try:
            async with self.window.slot():
                response = await self.http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise PlatformError(f"Discourse {what} failed: {type(exc).__name__}") from exc
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}
        if response.status_code >= 400:
            error = t.platform_error(
                what, response.status_code, data, response.headers.get("retry-after")
            )
            if error.retry_after is not None:
                self.window.pause(error.retry_after)
            raise error
        return data

    # --- sending --------------------------------------------------------------------------

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        if isinstance(action, SendMessage):
            return await self._send(action)
        if isinstance(action, EditMessage):
            return await self._edit(action)
        if isinstance(action, OpenSubSpace):
            return await self._open(action)
        if isinstance(action, CloseSubSpace):
            return await self._close(action)
        raise PlatformError(f"discourse cannot perform {type(action).__name__}", permanent=True)

    def _body(self, raw: str) -> str:
        return t.padded(raw, self.min_post_length)

    async def _send(self, action: SendMessage) -> Sent:
        text = t.render(action.text)
        raw = self._body(text)
        if isinstance(action.to, Direct):
            return await self._direct(action.to.user_id, raw, action.key)
        place = action.to
        w = t.where(place)
        if w.kind == "chat":
            body = t.chat_message(text, w.thread)
            sent = await self.call("POST", f"/chat/api/channels/{w.id}/messages", "chat", json=body)
            return Sent(MessageId(str(sent["message_id"])), place, place.thread)
        if w.kind == "pm":
            post = await self.call("POST", "/posts.json", "reply", json=t.reply(w.id, raw))
            return Sent(MessageId(str(post["id"])), self._pm(w.id), None)
        if w.kind == "topic":
            post = await self.call("POST", "/posts.json", "reply", json=t.reply(w.id, raw))
            return Sent(MessageId(str(post["id"])), place, None)
        if w.thread is not None:
            post = await self.call("POST", "/posts.json", "reply", json=t.reply(w.thread, raw))
            return Sent(MessageId(str(post["id"])), place, place.thread)
        purpose = action.purpose
        tags = self.archive_tags if purpose is not None and purpose.kind == "archive" else ()
        title = t.title_of(raw, self.min_title_length, self.username)
        post = await self._create(t.new_topic(title, raw, w.id, action.key, tags), action.key)
        topic = int(post["topic_id"])
        return Sent(MessageId(str(post["id"])), t.category_place(w.id, topic), ThreadId(str(topic)))

    def _pm(self, topic_id: int) -> Place:
        return t.pm_place(topic_id, direct=topic_id not in self._breakout_topics)

    async def _create(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """Open a topic or PM. A retry after a lost answer finds the topic its first try
        opened (by `external_id`); a title used before gets a short distinguishing suffix."""
        try:
            created: dict[str, Any] = await self.call("POST", "/posts.json", "new topic", json=body)
            return created
        except PlatformError as exc:
            if t.title_taken(exc):
                body = {**body, "title": f"{body['title'][:240]} · {body['external_id'][3:9]}"}
                again: dict[str, Any] = await self.call(
                    "POST", "/posts.json", "new topic", json=body
                )
                return again
            if "external" not in str(exc).lower():
                raise
        topic = await self.call(
            "GET", f"/t/external_id/{body['external_id']}.json", "finding a topic"
        )
        first = topic["post_stream"]["posts"][0]
        return {"id": first["id"], "topic_id": topic["id"]}

    async def _direct(self, user: str, raw: str, key: str) -> Sent:
        """A PM to one member: their PM topic with the bot, opened on first use."""
        async with self._locks[f"dm:{user}"]:
            topic = self._dms.get(user)
            if topic is None:
                title = t.title_of(self.dm_title, self.min_title_length, self.username)
                body = t.new_pm(title, raw, [user], f"dm:{user}")
                post = await self._create(body, key)
                topic = int(post["topic_id"])
                self._dms[user] = topic
                await self.memory.put(f"dm:{user}", str(topic))
                return Sent(MessageId(str(post["id"])), t.pm_place(topic), None)
        post = await self.call("POST", "/posts.json", "direct reply", json=t.reply(topic, raw))
        return Sent(MessageId(str(post["id"])), t.pm_place(topic), None)

    async def _edit(self, action: EditMessage) -> Sent:
        text = t.render(action.text)
        w = t.where(action.place)
        if w.kind == "chat":
            path = f"/chat/api/channels/{w.id}/messages/{action.message_id}"
            await self.call("PUT", path, "chat edit", json={"message": text})
        else:
            body = t.edit(self._body(text))
            await self.call("PUT", f"/posts/{action.message_id}.json", "edit", json=body)
        return Sent(action.message_id, action.place, action.place.thread)

    async def _open(self, action: OpenSubSpace) -> SubSpaceOpened:
        """A group PM (or a chat thread, per config) for a breakout; the same parent and name
        again lets newcomers in.

        Remembered by parent and name (not by key), so a retried open finds what its first
        try made and a late joiner's open adds them to the group they were given.
        """
        subspace = f"{action.parent.space}\n{action.name}"
        ref = "subspace:" + hashlib.sha256(subspace.encode()).hexdigest()[:32]
        members: list[str] = [m for m in dict.fromkeys(action.members) if m != self.username]
        async with self._locks[ref]:
            if self.breakout_channel is not None:
                return await self._open_thread(self.breakout_channel, ref, action.name, members)
            stored = await self.memory.get(ref)
            if stored is None:
                raw = self._body(_group_intro(action.name, members))
                title = t.title_of(action.name, self.min_title_length, "breakout")
                post = await self._create(t.new_pm(title, raw, members, ref), ref)
                topic = int(post["topic_id"])
                invited = members
            else:
                number, _, listed = stored.partition("|")
                topic, invited = int(number), listed.split(",") if listed else []
                for user in members:
                    if user not in invited:
                        await self.call(
                            "POST", f"/t/{topic}/invite.json", "invite", json={"user": user}
                        )
                        invited = [*invited, user]
            self._breakout_topics.add(topic)
            await self.memory.put(f"breakout:{topic}", "1")
            await self.memory.put(ref, f"{topic}|{','.join(invited)}")
        return SubSpaceOpened(t.pm_place(topic, direct=False))

    async def _open_thread(
        self, channel: int, ref: str, name: str, members: list[str]
    ) -> SubSpaceOpened:
        """A chat thread for a group: a message in the channel mentioning its members (the
        mention is what calls them in), and the thread opened on it.

        Each step is remembered before the next, so a retry neither posts a second message
        nor opens a second thread (the plugin finds the thread a message already has). A
        late joiner needs nothing here: the core's note to the group mentions them.
        """
        stored = await self.memory.get(f"{ref}:chat")
        if stored is None:
            text = _group_intro(name, members)
            path = f"/chat/api/channels/{channel}/messages"
            body = t.chat_message(text, None)
            sent = await self.call("POST", path, "breakout message", json=body)
            stored = f"root:{sent['message_id']}"
            await self.memory.put(f"{ref}:chat", stored)
        kind, _, number = stored.partition(":")
        if kind == "root":
            root = int(number)
            thread = await self.call(
                "POST",
                f"/chat/api/channels/{channel}/threads",
                "breakout thread",
                json=t.new_chat_thread(root, name),
            )
            number = str(thread["id"])
            await self._remember_thread(int(number), root)
            await self.memory.put(f"{ref}:chat", f"thread:{number}")
        return SubSpaceOpened(t.chat_place(channel, int(number)))

    async def _close(self, action: CloseSubSpace) -> Done:
        """Post a closing note and close the group's topic (it stays readable).

        A chat thread cannot be closed through the API (`Chat::UpdateThread` takes only a
        title), so there closing is the note and the thread's title marked as ended.
        """
        w = t.where(action.place)
        if w.kind == "chat" and w.thread is not None:
            return await self._close_thread(w.id, w.thread)
        if w.kind != "pm":
            raise PlatformError(f"{action.place.space} is not a breakout topic", permanent=True)
        topic = await self.call("GET", f"/t/{w.id}.json", "reading the breakout topic")
        if topic.get("closed"):
            return Done()  # closed already (a retry after closing)
        raw = self._body(CLOSING_NOTE)
        await self.call("POST", "/posts.json", "closing note", json=t.reply(w.id, raw))
        await self.call("PUT", f"/t/{w.id}/status.json", "closing", json=t.close_topic())
        return Done()

    async def _close_thread(self, channel: int, thread: int) -> Done:
        path = f"/chat/api/channels/{channel}/threads/{thread}"
        found = await self.call("GET", path, "reading the breakout thread")
        title = t.thread_title_of(found)
        if title.endswith(t.ENDED):
            return Done()  # closed already (a retry after closing)
        if await self.memory.get(f"closed:{thread}") is None:
            body = t.chat_message(CLOSING_NOTE, thread)
            await self.call("POST", f"/chat/api/channels/{channel}/messages", "closing", json=body)
            await self.memory.put(f"closed:{thread}", "1")
        await self.call("PUT", path, "ending a thread", json={"title": t.ended_title(title)})
        return Done()

    async def present(self, place: Place) -> Sequence[Actor]:
        raise CapabilityMissing(PLATFORM, Capability.PRESENCE.value)


def _group_intro(name: str, members: Sequence[str]) -> str:
    names = ", ".join(f"@{m}" for m in members)
    return f"{name}\n\nThis breakout group is {names}."


def _remembered(event: t.PostEvent, digest: str, read: dict[str, Any] | None) -> str:
    """What is kept of an imported event: enough to cancel it if it disappears, and who is
    going with when that was read in full."""
    return json.dumps(
        {
            "digest": digest,
            "read": read,
            "going": list(event.going or ()),
            "id": event.id,
            "title": event.title,
            "start": event.starts_at.isoformat(),
            "end": event.ends_at.isoformat() if event.ends_at else None,
            "topic": event.topic_id,
            "url": event.url,
        }
    )


def _recalled(kept: dict[str, Any]) -> t.PostEvent:
    return t.PostEvent(
        id=kept["id"],
        title=kept["title"],
        starts_at=datetime.fromisoformat(kept["start"]),
        ends_at=datetime.fromisoformat(kept["end"]) if kept["end"] else None,
        timezone=None,
        url=kept["url"],
        topic_id=kept["topic"],
        category_id=None,
        going=None,
        going_count=None,
        location=None,
        creator=None,
    )


def _delivery_id(headers: Headers, body: bytes) -> str | None:
    return headers.get("x-discourse-event-id")
