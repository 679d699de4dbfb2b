"""Adapters under the contract suite, each with a member who uses the platform for real.

A subject starts its adapter with a recording sink and offers what a test needs to check
an outcome the way a member would notice it: the text they see for a message (edits
applied), the thread it is in, whether a sub-space reached them, and ways to speak, react
and be heard. Adding an adapter to the suite means writing one more subject.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from adapters.contract import (
    Actor,
    Adapter,
    CommandInvoked,
    EventId,
    Inbound,
    MessageId,
    MessageReceived,
    OpenSubSpace,
    Place,
    PlatformName,
    ReactionAdded,
    SpaceId,
    UserId,
)
from adapters.fake import ALL_CAPABILITIES, FakeAdapter
from adapters.webchat.adapter import WebChat
from bot.clock import FakeClock
from bot.config import Secret
from bot.db import Database
from bot.web import WebServer, build_app
from tests.matrix.people import Person, person
from tests.synapse import MatrixUser, SynapseServer

DEADLINE_S = 20.0
InboundT = TypeVar("InboundT", bound=Inbound)


class Subject(ABC):
    adapter: Adapter
    member: UserId
    newcomer: UserId
    """A second member on the platform, for a late joiner."""

    def __init__(self) -> None:
        self.inbound: asyncio.Queue[Inbound] = asyncio.Queue()

    async def sink(self, event: Inbound) -> None:
        await self.inbound.put(event)

    async def next_inbound(self, kind: type[InboundT]) -> InboundT:
        """The next inbound event of `kind`, skipping others (a member joining, say)."""
        async with asyncio.timeout(DEADLINE_S):
            while True:
                event = await self.inbound.get()
                if isinstance(event, kind):
                    return event

    @abstractmethod
    async def room(self) -> Place:
        """A group conversation the bot and the member are both in."""

    async def conversation(self) -> Place:
        """Where the member and the bot talk: a room, or their direct conversation on a
        platform that has nothing else (WhatsApp)."""
        return await self.room()

    @abstractmethod
    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        """The text the member sees for a message (latest edit applied) and its thread."""

    async def sees_text(self, place: Place, message_id: str, text: str) -> str | None:
        """Wait until the member sees `text` for the message; returns its thread."""
        async with asyncio.timeout(DEADLINE_S):
            while True:
                seen, thread = await self.sees(place, message_id)
                if seen == text:
                    return thread
                await self.refresh()

    async def refresh(self) -> None:
        """Let the member's view catch up (platforms that deliver asynchronously)."""
        await asyncio.sleep(0)

    @abstractmethod
    async def count(self, place: Place, text: str) -> int:
        """How many messages with exactly `text` the member sees in `place`."""

    @abstractmethod
    async def reaches_member(self, place: Place) -> bool:
        """Whether a newly opened sub-space was offered to the member."""

    @abstractmethod
    async def offered(self, place: Place, user: UserId) -> bool:
        """Whether `user` has been offered a sub-space by now (invited to it, shown it)."""

    async def comes_to(self, place: Place, user: UserId) -> None:
        """Wait until `user` is offered the sub-space."""
        async with asyncio.timeout(DEADLINE_S):
            while not await self.offered(place, user):
                await self.refresh()

    @abstractmethod
    async def says(self, place: Place, text: str) -> str:
        """The member writes `text` in `place`; returns the platform's message id."""

    @abstractmethod
    async def reacts(self, place: Place, message_id: str, key: str) -> None: ...

    async def in_channel(self, place: Place, message_id: str) -> bool:
        """Whether the member sees a thread reply in the channel itself too (subjects whose
        adapter declares `THREAD_BROADCAST` say)."""
        raise NotImplementedError(f"{type(self).__name__} cannot tell")


class FakeSubject(Subject):
    """The recording fake; its 'member' reads the records and speaks by feeding models."""

    def __init__(self) -> None:
        super().__init__()
        caps = ALL_CAPABILITIES - {c for c in ALL_CAPABILITIES if c.value == "buttons"}
        self.fake = FakeAdapter(capabilities=caps)
        self.adapter = self.fake
        self.member = UserId("alice")
        self.newcomer = UserId("bob")
        self._n = 0

    async def room(self) -> Place:
        return Place(self.fake.platform, SpaceId("main"))

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        text, thread = "", None
        for record in self.fake.records:
            result = record.result
            if getattr(result, "message_id", None) == message_id and record.text:
                text = record.text
                if thread is None:
                    thread = result.place.thread  # type: ignore[union-attr]
        return text, thread

    async def count(self, place: Place, text: str) -> int:
        return sum(
            1
            for r in self.fake.records
            if r.text == text and getattr(r.result, "place", None) == place and r.to is not None
        )

    async def reaches_member(self, place: Place) -> bool:
        return any(getattr(r.result, "place", None) == place for r in self.fake.records)

    async def offered(self, place: Place, user: UserId) -> bool:
        return any(
            isinstance(r.action, OpenSubSpace)
            and user in r.action.members
            and getattr(r.result, "place", None) == place
            for r in self.fake.records
        )

    def _common(self, place: Place) -> dict[str, Any]:
        self._n += 1
        return {
            "event_id": EventId(f"in-{self._n}"),
            "actor": Actor(self.fake.platform, self.member, "Alice"),
            "place": place,
        }

    async def says(self, place: Place, text: str) -> str:
        common = self._common(place)
        mid = MessageId(common["event_id"])
        if text.startswith("!"):
            await self.sink(CommandInvoked(**common, text=text[1:], message_id=mid))
        else:
            await self.sink(MessageReceived(**common, text=text, message_id=mid))
        return mid

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        await self.sink(
            ReactionAdded(**self._common(place), message_id=MessageId(message_id), key=key)
        )


class WebSubject(Subject):
    """The built-in web chat, driven through its HTTP API in-process."""

    def __init__(self, chat: WebChat, http: httpx.AsyncClient) -> None:
        super().__init__()
        self.adapter = chat
        self.http = http
        self.member = UserId("alice")
        self.newcomer = UserId("bob")

    async def room(self) -> Place:
        return Place(PlatformName("web"), SpaceId(f"contract-{uuid.uuid4().hex[:8]}"))

    async def _messages(self, room: str) -> list[dict[str, Any]]:
        r = await self.http.get("/api/chat/messages", params={"room": room, "user": self.member})
        r.raise_for_status()
        found: list[dict[str, Any]] = r.json()["messages"]
        return found

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        for m in await self._messages(place.space):
            if m["id"] == message_id:
                return str(m["text"]), m["thread"]
        return "", None

    async def count(self, place: Place, text: str) -> int:
        return sum(1 for m in await self._messages(place.space) if m["text"] == text)

    async def reaches_member(self, place: Place) -> bool:
        return await self.offered(place, self.member)

    async def offered(self, place: Place, user: UserId) -> bool:
        r = await self.http.get("/api/chat/rooms", params={"user": user})
        return place.space in {room["room"] for room in r.json()["rooms"]}

    async def says(self, place: Place, text: str) -> str:
        body = {"room": place.space, "user": self.member, "text": text}
        r = await self.http.post("/api/chat/messages", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        body = {"room": place.space, "user": self.member, "message": message_id, "key": key}
        r = await self.http.post("/api/chat/reactions", json=body)
        assert r.status_code == 200, r.text


class MatrixSubject(Subject):
    """The Matrix adapter on the test Synapse; the member is alice on a real nio client,
    the newcomer bob (when a test gives him)."""

    def __init__(
        self, adapter: Adapter, alice: Person, room_id: str, bob: Person | None = None
    ) -> None:
        super().__init__()
        self.adapter = adapter
        self.alice = alice
        self.member = UserId(alice.user_id)
        self.room_id = room_id
        self.people = [p for p in (alice, bob) if p is not None]
        self.newcomer = UserId(self.people[-1].user_id)

    async def room(self) -> Place:
        return Place(PlatformName("matrix"), SpaceId(self.room_id))

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        room = await self._joined(place)
        events = self.alice.timeline.get(room, [])
        original = next((e for e in events if e.get("event_id") == message_id), None)
        if original is None:
            return "", None
        content = original["content"]
        text = content.get("body", "")
        for e in events:
            relates = e.get("content", {}).get("m.relates_to") or {}
            if relates.get("rel_type") == "m.replace" and relates.get("event_id") == message_id:
                text = e["content"]["m.new_content"]["body"]
        relates = content.get("m.relates_to") or {}
        thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        return text, thread

    async def _joined(self, place: Place) -> str:
        """The member joins a room the bot invited them to (a DM, a sub-space) on first sight."""
        if place.space not in self.alice.timeline and place.space in self.alice.invites:
            await self.alice.accept_invite(lambda r, _s: r == place.space)
        return place.space

    async def refresh(self) -> None:
        await self.alice.sync(timeout_ms=200)

    async def count(self, place: Place, text: str) -> int:
        # A marker sent after everything else: once the member sees it, they saw the rest.
        marker = f"marker {uuid.uuid4().hex}"
        await self.alice.say(place.space, marker)
        await self.alice.wait_event(place.space, lambda e: e["content"].get("body") == marker)
        return len(self.alice.events(place.space, lambda e: e["content"].get("body") == text))

    async def reaches_member(self, place: Place) -> bool:
        await self.alice.until(lambda: place.space in self.alice.invites)
        return True

    async def offered(self, place: Place, user: UserId) -> bool:
        who = next(p for p in self.people if p.user_id == user)
        await who.sync(timeout_ms=0)
        return place.space in who.invites or place.space in who.timeline

    async def says(self, place: Place, text: str) -> str:
        return await self.alice.say(place.space, text)

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        await self.alice.react(place.space, message_id, key)


# --- building the subjects ----------------------------------------------------------------


@asynccontextmanager
async def fake_subject() -> AsyncIterator[Subject]:
    subject = FakeSubject()
    await subject.adapter.start(subject.sink)
    yield subject
    await subject.adapter.stop()


@asynccontextmanager
async def web_subject(db: Database) -> AsyncIterator[Subject]:
    chat = WebChat(db, FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    app = build_app(chat.http_routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web.test"
    ) as http:
        subject = WebSubject(chat, http)
        await chat.start(subject.sink)
        yield subject
        await chat.stop()


@asynccontextmanager
async def matrix_subject(
    db: Database, server: SynapseServer, users: dict[str, MatrixUser]
) -> AsyncIterator[Subject]:
    from adapters.matrix import MatrixAdapter

    bot = users["communitybot"]
    async with person(server, users["alice"]) as alice, person(server, users["bob"]) as bob:
        room = await alice.create_room("Contract", invite=(bot.user_id,))
        adapter = MatrixAdapter(
            db,
            homeserver=server.base_url,
            user_id=bot.user_id,
            access_token=Secret(bot.access_token),
            rooms=[room],
            sync_timeout_ms=5000,
        )
        subject = MatrixSubject(adapter, alice, room, bob)
        await adapter.start(subject.sink)
        try:
            yield subject
        finally:
            await adapter.stop()


class WhatsAppSubject(Subject):
    """The WhatsApp adapter on the fake Cloud API; the member is a phone posting signed
    webhooks. WhatsApp has no group conversations, so the cases that need a room skip."""

    def __init__(self, adapter: Adapter, graph: Any) -> None:
        super().__init__()
        self.adapter = adapter
        self.graph = graph
        self.member = UserId("447700900123")
        self.newcomer = UserId("447700900124")

    async def room(self) -> Place:
        import pytest

        pytest.skip("WhatsApp has no group conversations: each is a member's direct one")

    async def conversation(self) -> Place:
        from adapters.whatsapp.translate import place_of

        return place_of(self.member)

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        found = [a for a in self.graph.to(place.space) if a.wamid == message_id]
        return (found[0].text if found else ""), None

    async def count(self, place: Place, text: str) -> int:
        return sum(1 for a in self.graph.to(place.space) if a.text == text)

    async def reaches_member(self, place: Place) -> bool:
        return False

    async def offered(self, place: Place, user: UserId) -> bool:
        return False

    async def says(self, place: Place, text: str) -> str:
        return str(await self.graph.says(place.space, "Alice", text))

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        from tests.whatsapp import payloads

        await self.graph.post(payloads.reaction(place.space, "Alice", message_id, key))


@asynccontextmanager
async def whatsapp_subject(db: Database) -> AsyncIterator[Subject]:
    """The member has written to the bot first (their 24-hour window is open), as anyone
    the bot answers has."""
    from tests.whatsapp.conftest import APP_SECRET, make_adapter
    from tests.whatsapp.fake_graph import FakeGraph

    async with FakeGraph(APP_SECRET) as graph:
        adapter = make_adapter(db, graph)
        subject = WhatsAppSubject(adapter, graph)
        await adapter.start(subject.sink)
        server = WebServer(build_app(adapter.http_routes()), "127.0.0.1", 0)
        await server.start()
        graph.webhook_url = f"http://127.0.0.1:{server.port}{adapter.webhook_path}"
        try:
            await graph.says(subject.member, "Alice", "hello bot")
            await subject.next_inbound(MessageReceived)
            yield subject
            assert graph.problems == [], "requests departed from the spec"
        finally:
            await adapter.stop()
            await server.stop()


async def open_db(path: Path) -> Database:
    db = Database(f"sqlite:///{path / 'contract.db'}")
    await db.upgrade()
    return db


class DiscordSubject(Subject):
    """The Discord adapter on the fake Discord; the member and newcomer are its users."""

    def __init__(self, adapter: Adapter, fake: Any) -> None:
        super().__init__()
        self.adapter = adapter
        self.fake = fake
        self.member = UserId("1100000000000000201")
        self.newcomer = UserId("1100000000000000202")

    async def room(self) -> Place:
        from tests.discord.payloads import CHANNEL

        return Place(PlatformName("discord"), SpaceId(CHANNEL))

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        message = self.fake.messages.get(message_id)
        if message is None:
            return "", None
        channel = self.fake.channels.get(message["channel_id"])
        thread = channel.id if channel is not None and channel.parent_id else None
        return self.fake._text(message), thread

    async def refresh(self) -> None:
        await asyncio.sleep(0.01)

    async def count(self, place: Place, text: str) -> int:
        return self.fake.texts(place.thread or place.space).count(text)

    async def reaches_member(self, place: Place) -> bool:
        return await self.offered(place, self.member)

    async def offered(self, place: Place, user: UserId) -> bool:
        channel = self.fake.channels.get(place.thread or place.space)
        return channel is not None and user in channel.members

    async def says(self, place: Place, text: str) -> str:
        return str(self.fake.say(self.member, text, channel=place.thread or place.space))

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        raise NotImplementedError("the Discord adapter does not declare reactions")


@asynccontextmanager
async def discord_subject() -> AsyncIterator[Subject]:
    from tests.discord.conftest import adapter_for
    from tests.discord.fake_discord import fake_discord

    async with fake_discord() as fake:
        adapter = adapter_for(fake, message_content=True)
        subject = DiscordSubject(adapter, fake)
        await adapter.start(subject.sink)
        try:
            yield subject
        finally:
            await adapter.stop()
        assert fake.problems == [], "requests the spec does not allow"


class SlackSubject(Subject):
    """The Slack adapter in Socket Mode on the fake Slack; the member is alice in #general."""

    def __init__(self, adapter: Adapter, fake: Any) -> None:
        super().__init__()
        self.adapter = adapter
        self.fake = fake
        self.member = UserId("U0ALICE")
        self.newcomer = UserId("U0BOB")

    async def room(self) -> Place:
        return Place(PlatformName("slack"), SpaceId("C0GENERAL"))

    def _message(self, place: Place, message_id: str) -> dict[str, Any] | None:
        channel = self.fake.channels.get(place.space)
        found: dict[str, Any] | None = channel.find(message_id) if channel else None
        return found

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        from adapters.slack.translate import unescape

        message = self._message(place, message_id)
        if message is None:
            return "", None
        return unescape(message["text"]), message.get("thread_ts")

    async def count(self, place: Place, text: str) -> int:
        from adapters.slack.translate import unescape

        return sum(1 for t in self.fake.texts(place.space) if unescape(t) == text)

    async def reaches_member(self, place: Place) -> bool:
        return await self.offered(place, self.member)

    async def offered(self, place: Place, user: UserId) -> bool:
        channel = self.fake.channels.get(place.space)
        return channel is not None and user in channel.members

    async def says(self, place: Place, text: str) -> str:
        ts: str = await self.fake.say(self.member, place.space, text, place.thread)
        return ts

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        await self.fake.react(self.member, place.space, message_id, key)

    async def in_channel(self, place: Place, message_id: str) -> bool:
        message = self._message(place, message_id)
        return message is not None and bool(self.fake.in_channel(message))


@asynccontextmanager
async def slack_subject(db: Database) -> AsyncIterator[Subject]:
    from adapters.slack.adapter import SlackAdapter
    from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, GENERAL, FakeSlack

    fake = FakeSlack()
    await fake.start()
    for user, name in (("U0ALICE", "Alice"), ("U0BOB", "Bob")):
        fake.add_user(user, name)
    fake.channels[GENERAL].members.update({"U0ALICE", "U0BOB"})
    adapter = SlackAdapter(
        db, bot_token=Secret(BOT_TOKEN), app_token=Secret(APP_TOKEN), base_url=fake.base_url
    )
    subject = SlackSubject(adapter, fake)
    await adapter.start(subject.sink)
    try:
        async with asyncio.timeout(DEADLINE_S):
            await fake.connected.wait()
        yield subject
    finally:
        await adapter.stop()
        await fake.stop()
    assert fake.violations == [], "calls Slack's spec does not allow"


class DiscourseSubject(Subject):
    """The Discourse adapter on the fake forum; the member is ada posting through it (the
    forum then signs and sends the webhook), the newcomer bob."""

    def __init__(self, site: Any) -> None:
        super().__init__()
        from tests.discourse.forum import Forum

        self.site: Forum = site
        self.fake = site.fake
        self.adapter = site.adapter
        self.member = UserId("ada")
        self.newcomer = UserId("bob")

    async def room(self) -> Place:
        from adapters.discourse.translate import category_place

        return category_place(5)

    async def sees(self, place: Place, message_id: str) -> tuple[str, str | None]:
        if place.space.startswith("chat/"):
            chat = self.fake.chat.get(int(message_id))
            return (chat.message, place.thread) if chat else ("", None)
        post = self.fake.posts.get(int(message_id))
        if post is None or not self.fake._can_see(self.fake.topics[post.topic_id], self.member):
            return "", None
        topic = self.fake.topics[post.topic_id]
        return post.text, str(topic.id) if topic.category_id is not None else None

    def _topics(self, place: Place) -> list[Any]:
        kind, _, number = place.space.partition("/")
        if kind == "pm":
            return [self.fake.topics[int(number)]]
        if place.thread is not None:
            return [self.fake.topics[int(place.thread)]]
        return self.fake.topics_in(int(number))

    async def count(self, place: Place, text: str) -> int:
        return sum(
            1
            for topic in self._topics(place)
            for p in topic.posts
            if self.fake.posts[p].text == text
        )

    async def reaches_member(self, place: Place) -> bool:
        return await self.offered(place, self.member)

    async def offered(self, place: Place, user: UserId) -> bool:
        return all(user in topic.allowed for topic in self._topics(place))

    async def says(self, place: Place, text: str) -> str:
        kind, _, number = place.space.partition("/")
        if kind == "chat":
            sent = await self.fake.member_chats(self.member, int(number), text)
            return str(sent.id)
        if place.thread is None and kind == "c":
            post = await self.fake.member_posts(self.member, text, category=int(number))
        else:
            topic = int(place.thread) if place.thread is not None else int(number)
            post = await self.fake.member_posts(self.member, text, topic_id=topic)
        return str(post.id)

    async def reacts(self, place: Place, message_id: str, key: str) -> None:
        raise AssertionError("Discourse does not declare reactions")


@asynccontextmanager
async def discourse_subject(db: Database) -> AsyncIterator[Subject]:
    from tests.discourse.forum import forum

    queue: asyncio.Queue[Inbound] = asyncio.Queue()

    async def sink(event: Inbound) -> None:
        await queue.put(event)

    async with forum(db, sink) as site:
        subject = DiscourseSubject(site)
        subject.inbound = queue
        yield subject
        assert site.fake.problems == [], site.fake.problems
