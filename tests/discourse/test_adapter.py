"""The Discourse adapter against the fake forum: webhooks in, spec-valid requests out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from adapters.contract import (
    CloseSubSpace,
    CommandInvoked,
    Direct,
    EditMessage,
    Inbound,
    MessageReceived,
    NativeChange,
    NativeEventChanged,
    OpenSubSpace,
    Purpose,
    SendMessage,
    Sent,
    SubSpaceOpened,
    UserId,
)
from adapters.discourse import translate as t
from adapters.discourse.adapter import CLOSING_NOTE
from adapters.discourse.translate import PLATFORM
from bot.db import Database
from bot.errors import PlatformError
from tests.contract.subjects import open_db
from tests.discourse import payloads
from tests.discourse.fake import FakeDiscourse
from tests.discourse.forum import Forum, forum

pytestmark = pytest.mark.discourse


class Heard:
    def __init__(self) -> None:
        self.events: list[Inbound] = []
        self.arrived = asyncio.Event()

    async def __call__(self, event: Inbound) -> None:
        self.events.append(event)
        self.arrived.set()

    async def next(self) -> Inbound:
        async with asyncio.timeout(10):
            while not self.events:
                self.arrived.clear()
                await self.arrived.wait()
        return self.events.pop(0)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_db(tmp_path)
    yield database
    await database.close()


@pytest.fixture
async def heard() -> Heard:
    return Heard()


@pytest.fixture
async def site(db: Database, heard: Heard) -> AsyncIterator[Forum]:
    async with forum(db, heard, archive_tags=("community-memory",)) as f:
        yield f
        assert f.fake.problems == []


async def send(site: Forum, to: object, text: str, key: str, **kw: object) -> Sent:
    result = await site.adapter.perform(SendMessage(key=key, to=to, text=(text,), **kw))  # type: ignore[arg-type]
    assert isinstance(result, Sent)
    return result


async def test_a_command_reply_reaches_the_core_once_however_often_delivered(
    site: Forum, heard: Heard
) -> None:
    root = await send(site, t.category_place(5), "Check-in: how are you arriving?", "k1")
    post = await site.fake.member_posts(
        "ada", "@communitybot checkin pass", topic_id=int(root.thread or 0)
    )
    event = await heard.next()
    assert isinstance(event, CommandInvoked) and event.text == "checkin pass"
    assert event.place == t.category_place(5, int(root.thread or 0))
    # The very same delivery again (same X-Discourse-Event-Id): acknowledged, dropped at the edge.
    body = {"post": site.fake._post_json(post) | {"topic_archetype": "regular"}}
    replay = await site.fake.deliver("post_created", body, event_id=1)
    assert replay.status_code == 200
    # Discourse's own retry carries a new event id: it reaches the core with the same event_id,
    # which the core's SeenEvent table drops.
    retry = await site.fake.deliver("post_created", body)
    assert retry.status_code == 200
    again = await heard.next()
    assert again.event_id == event.event_id
    assert heard.events == []


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
async def test_a_forged_or_unsigned_webhook_is_refused_and_nothing_reaches_the_core(
    site: Forum, heard: Heard, signature: str | None
) -> None:
    body = payloads.post(
        post_id=1, topic_id=2, username="mallory", raw="@communitybot role organiser mallory"
    )
    response = await site.fake.deliver("post_created", body, signature=signature, retries=0)
    assert response.status_code == 401
    assert heard.events == []


async def test_a_body_signed_with_another_secret_is_refused(site: Forum, heard: Heard) -> None:
    raw = json.dumps(payloads.post(post_id=1, topic_id=2, username="ada", raw="hi there")).encode()
    forged = FakeDiscourse(secret="not-the-forum-secret")
    response = await site.fake.deliver("post_created", raw, signature=forged.sign(raw), retries=0)
    assert response.status_code == 401 and heard.events == []


async def test_an_oversized_or_malformed_webhook_gets_a_clean_4xx(
    site: Forum, heard: Heard
) -> None:
    big = payloads.post(post_id=1, topic_id=2, username="ada", raw="x" * (600 * 1024))
    assert (await site.fake.deliver("post_created", big, retries=0)).status_code == 413
    malformed = b'{"post": {"id": 1,'
    assert (await site.fake.deliver("post_created", malformed, retries=0)).status_code == 400

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    async with httpx.AsyncClient() as client:  # no Content-Length, streamed past the cap
        response = await client.post(site.webhook_url, content=chunks())
    assert response.status_code == 413
    assert heard.events == []


async def test_posts_outside_the_configured_categories_are_ignored(
    db: Database, heard: Heard
) -> None:
    async with forum(db, heard, categories=(5,)) as site:
        await site.fake.member_posts("ada", "@communitybot checkin pass", category=12)
        await site.fake.member_posts("ada", "@communitybot checkin status", category=5)
        event = await heard.next()
        assert isinstance(event, CommandInvoked) and event.text == "checkin status"
        assert heard.events == []


async def test_a_topic_a_reply_an_edit_and_an_archived_summary(site: Forum) -> None:
    root = await send(
        site, t.category_place(5), "Check-in: what do you bring today?\nReply here.", "r1"
    )
    topic = site.fake.topics[int(root.thread or 0)]
    assert topic.title == "Check-in: what do you bring today?" and topic.category_id == 5
    reply = await send(site, root.place, "Thanks @bob, noted.", "r2")
    assert reply.place.thread == root.thread
    assert site.fake.posts[int(reply.message_id)].raw == "Thanks @\u2060bob, noted."
    await site.adapter.perform(
        EditMessage(
            key="r3", place=reply.place, message_id=reply.message_id, text=("Edited, yes.",)
        )
    )
    assert site.fake.posts[int(reply.message_id)].text == "Edited, yes."
    archived = await send(
        site,
        t.category_place(12),
        "Check-in closed: what do you bring today?\n3 answers.",
        "r4",
        purpose=Purpose("archive", (("ritual", "checkin"),)),
    )
    assert site.fake.topics[int(archived.thread or 0)].tags == ["community-memory"]


async def test_a_repeated_title_gets_a_suffix_and_a_retried_topic_is_found_not_doubled(
    site: Forum,
) -> None:
    first = await send(site, t.category_place(5), "Check-in: how was your week?", "week-1")
    second = await send(site, t.category_place(5), "Check-in: how was your week?", "week-2")
    assert first.thread != second.thread
    again = await send(site, t.category_place(5), "Check-in: how was your week?", "week-1")
    assert (again.message_id, again.thread) == (first.message_id, first.thread)
    assert len(site.fake.topics_in(5)) == 2


async def test_direct_messages_share_one_pm_topic_per_member(site: Forum, heard: Heard) -> None:
    first = await send(site, Direct(PLATFORM, UserId("ada")), "Thanks, your answer is in.", "d1")
    second = await send(site, Direct(PLATFORM, UserId("ada")), "Ok.", "d2")
    assert first.place == second.place and first.place.direct
    assert [p.text for p in site.fake.pms_to("ada")] == ["Thanks, your answer is in.", "Ok."]
    assert site.fake.pms_to("bob") == []
    topic = int(first.place.space.split("/")[1])
    await site.fake.member_posts("ada", "pass", topic_id=topic)
    event = await heard.next()
    assert isinstance(event, MessageReceived) and event.place == first.place


async def test_a_breakout_group_pm_opens_once_lets_a_late_joiner_in_and_closes(
    site: Forum, heard: Heard
) -> None:
    open_ = OpenSubSpace(
        key="o1",
        parent=t.category_place(5),
        name="Breakout group 1",
        members=(UserId("ada"), UserId("bob")),
    )
    opened = await site.adapter.perform(open_)
    assert isinstance(opened, SubSpaceOpened) and not opened.place.direct
    topic = site.fake.topics[int(opened.place.space.split("/")[1])]
    assert topic.allowed == {"communitybot", "ada", "bob"}
    assert await site.adapter.perform(open_) == opened
    late = OpenSubSpace(
        key="o2",
        parent=open_.parent,
        name=open_.name,
        members=(UserId("ada"), UserId("bob"), UserId("carol")),
    )
    assert await site.adapter.perform(late) == opened
    assert topic.allowed == {"communitybot", "ada", "bob", "carol"}
    assert site.fake.calls["inviteToTopic"] == 1
    await site.fake.member_posts("bob", "Our report: we agreed on three things.", topic_id=topic.id)
    report = await heard.next()
    assert report.place == opened.place and not report.place.direct
    await site.adapter.perform(CloseSubSpace(key="c1", place=opened.place))
    await site.adapter.perform(CloseSubSpace(key="c1", place=opened.place))
    assert topic.closed and len(site.fake.bot_posts(topic.id)) == 2  # opening post + one note


async def test_chat_messages_and_their_edits(site: Forum, heard: Heard) -> None:
    sent = await send(site, t.chat_place(3), "Check-in: one word?", "c1")
    assert site.fake.chat[int(sent.message_id)].message == "Check-in: one word?"
    thread = site.fake.thread_on(site.fake.chat[int(sent.message_id)]).id
    threaded = await send(site, t.chat_place(3, thread), "In the thread", "c2")
    assert site.fake.chat[int(threaded.message_id)].thread_id == thread
    with pytest.raises(PlatformError, match="thread is not valid"):  # the plugin checks it
        await send(site, t.chat_place(3, thread + 1), "In no thread", "c2b")
    await site.adapter.perform(
        EditMessage(key="c3", place=sent.place, message_id=sent.message_id, text=("Two words?",))
    )
    assert site.fake.chat[int(sent.message_id)].message == "Two words?"
    await site.fake.member_chats("ada", 3, '@communitybot checkin open "Hi?"')
    event = await heard.next()
    assert isinstance(event, CommandInvoked) and event.place == t.chat_place(3)


async def test_requests_stay_within_the_rolling_limit(db: Database, heard: Heard) -> None:
    fake = FakeDiscourse(limit=5, window=0.5)
    async with forum(db, heard, fake=fake) as site:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(
            *(
                send(site, Direct(PLATFORM, UserId("ada")), f"Message number {i}", f"m{i}")
                for i in range(12)
            )
        )
        assert fake.limit.refused == 0 and fake.limit.most_in_a_window <= 5
        assert loop.time() - started >= 1.0  # 12 requests at 5 per half second: three windows
        assert len(fake.pms_to("ada")) == 12


async def test_a_429_is_honoured_with_its_wait_seconds(db: Database, heard: Heard) -> None:
    fake = FakeDiscourse(limit=2, window=30.0)
    async with forum(db, heard, fake=fake) as site:
        site.adapter.window.limit = 100  # misconfigured: believes it may send more
        await send(site, t.category_place(5), "Check-in one, today", "a")
        await send(site, t.category_place(5), "Check-in two, today", "b")
        with pytest.raises(PlatformError) as exc:
            await send(site, t.category_place(5), "Check-in three, today", "c")
        assert exc.value.retry_after is not None and 25 <= exc.value.retry_after <= 30
        assert not exc.value.permanent
        assert site.adapter.window._paused_until > asyncio.get_running_loop().time() + 20


async def test_a_refused_request_is_a_permanent_error(site: Forum) -> None:
    with pytest.raises(PlatformError) as exc:
        await send(site, t.category_place(99), "A topic in no category", "x")
    assert exc.value.permanent and "Category" in str(exc.value)


async def test_post_events_are_imported_once_changed_and_cancelled(
    db: Database, heard: Heard
) -> None:
    async with forum(db, heard, import_events=False) as site:
        fake = site.fake
        event = await fake.member_posts_event(
            "ada", "Community call", "2099-12-02T17:00:00.000Z", "2099-12-02T18:00:00.000Z", ["bob"]
        )
        await heard.next()  # the event's post itself, as a message
        assert await site.adapter.import_events() == 1
        [created] = heard.events
        assert isinstance(created, NativeEventChanged) and created.change is NativeChange.CREATED
        assert created.place == t.topic_place(event["post"]["topic"]["id"])
        assert [a.user_id for a in created.interested or ()] == ["bob"]
        assert created.actor.user_id == "ada"
        heard.events.clear()
        assert await site.adapter.import_events() == 0
        event["name"] = "Community call (moved)"
        assert await site.adapter.import_events() == 1
        assert heard.events[-1].change is NativeChange.CHANGED  # type: ignore[attr-defined]
        fake.events.clear()
        assert await site.adapter.import_events() == 1
        cancelled = heard.events[-1]
        assert isinstance(cancelled, NativeEventChanged)
        assert cancelled.change is NativeChange.CANCELLED and cancelled.title.startswith(
            "Community"
        )
        assert await site.adapter.import_events() == 0
        assert fake.calls["listEvents"] == 5


async def test_a_reminder_to_the_topic_place_is_a_reply(site: Forum) -> None:
    post = await site.fake.member_posts("ada", "A topic where an event lives", category=5)
    sent = await send(site, t.topic_place(post.topic_id), "Reminder: starts in 1 hour", "rem")
    assert site.fake.posts[int(sent.message_id)].topic_id == post.topic_id


async def test_an_old_signed_body_replayed_with_a_new_event_id_is_dropped(
    site: Forum, heard: Heard
) -> None:
    old = payloads.post(
        post_id=7,
        topic_id=2,
        username="ada",
        raw='@communitybot checkin open "Again?"',
        created_at="2020-01-01T10:00:00.000Z",
    )
    response = await site.fake.deliver("post_created", old, retries=0)
    assert response.status_code == 200  # genuine, so acknowledged, but not acted on
    fresh = await site.fake.member_posts("ada", "@communitybot checkin status", category=5)
    event = await heard.next()
    assert event.message_id == str(fresh.id)  # type: ignore[attr-defined]
    assert heard.events == []


async def test_a_breakout_group_as_a_chat_thread_opens_once_and_closes(
    db: Database, heard: Heard
) -> None:
    async with forum(db, heard, breakouts="chat", breakout_channel=3) as site:
        fake = site.fake
        open_ = OpenSubSpace(
            key="o1",
            parent=t.category_place(5, 77),
            name="Breakout 1 · group 1",
            members=(UserId("ada"), UserId("bob")),
        )
        opened = await site.adapter.perform(open_)
        assert isinstance(opened, SubSpaceOpened) and opened.place.space == "chat/3"
        [thread] = fake.threads.values()
        assert opened.place.thread == str(thread.id) and thread.title == open_.name
        root = fake.chat[thread.original_message_id]
        assert root.username == fake.bot and "@ada, @bob" in root.message  # they are called in
        late = OpenSubSpace(
            key="o2", parent=open_.parent, name=open_.name, members=(*open_.members, UserId("dan"))
        )
        assert await site.adapter.perform(open_) == opened
        assert await site.adapter.perform(late) == opened
        assert len(fake.threads) == 1 and fake.calls["createChatMessage"] == 1
        await fake.member_chats("bob", 3, "report We agreed on three things", thread_id=thread.id)
        said = await heard.next()
        assert isinstance(said, MessageReceived) and said.place == opened.place
        await site.adapter.perform(CloseSubSpace(key="c1", place=opened.place))
        await site.adapter.perform(CloseSubSpace(key="c1", place=opened.place))
        notes = [
            m for m in fake.chat.values() if m.thread_id == thread.id and m.username == fake.bot
        ]
        assert [n.message for n in notes] == [root.message, CLOSING_NOTE]  # one note
        assert thread.title == "Breakout 1 · group 1 · ended"
        assert fake.problems == []


async def test_a_reply_in_a_chat_thread_replies_to_the_threads_original_message(
    site: Forum, heard: Heard
) -> None:
    fake = site.fake
    sent = await send(site, t.chat_place(3), "Check-in: one word?", "c1")
    root = fake.chat[int(sent.message_id)]
    await fake.member_chats("bob", 3, "Calm", in_reply_to=root)  # the plugin opens the thread
    first = await heard.next()
    thread = fake.thread_on(root).id
    assert isinstance(first, MessageReceived) and first.replies_to == sent.message_id
    assert first.place == t.chat_place(3, thread)
    await fake.member_chats("carol", 3, "Rested", thread_id=thread)  # no in_reply_to now
    second = await heard.next()
    assert isinstance(second, MessageReceived) and second.replies_to == sent.message_id
    assert fake.calls["getChatThread"] == 1  # looked up once, then known
    await fake.member_chats("dan", 3, "Fine", thread_id=thread)
    assert (await heard.next()).replies_to == sent.message_id  # type: ignore[attr-defined]
    assert fake.calls["getChatThread"] == 1


async def test_everyone_going_is_read_from_the_invitees_route_past_its_page(
    db: Database, heard: Heard
) -> None:
    going = [
        "ann",
        "bea",
        "cy",
        "dov",
        "eli",
        "fay",
        "gus",
        "hal",
        "ivy",
        "jo",
        "kit",
        "lu",
        "max",
        "ned",
        "oz",
        "pia",
        "quin",
        "rex",
        "sue",
        "tom",
    ]
    going += ["uma", "vic", "wes", "xia", "yuri", "zoe", "anna", "joanna", "mia_2", "o.k"]
    fake = FakeDiscourse(invitees_page=5, limit=6000)
    async with forum(db, heard, fake=fake, invitees_page=5, going_refresh=timedelta(0)) as site:
        await fake.member_posts_event(
            "ada", "Community call", "2099-12-02T17:00:00.000Z", "2099-12-02T18:00:00.000Z", going
        )
        await heard.next()  # the event's post itself
        assert await site.adapter.import_events() == 1
        [created] = heard.events
        assert isinstance(created, NativeEventChanged)
        names = [a.user_id for a in created.interested or ()]
        assert sorted(names) == sorted(going)  # everyone, each once, not the sample of 10
        asked = fake.calls["listEventInvitees"]
        assert asked > 1  # the first answer was full: asked again, split
        heard.events.clear()
        assert await site.adapter.import_events() == 0
        assert fake.calls["listEventInvitees"] == asked  # nothing changed: not read again
        fake.events[0]["stats"]["going"] += 1
        fake.going[fake.events[0]["id"]].append("newcomer")
        fake.users["newcomer"] = 999
        site.adapter.going_refresh = timedelta(hours=1)  # read a moment ago: not again yet
        assert await site.adapter.import_events() == 0
        assert fake.calls["listEventInvitees"] == asked
        site.adapter.going_refresh = timedelta(0)
        assert await site.adapter.import_events() == 1
        changed = heard.events[-1]
        assert isinstance(changed, NativeEventChanged)
        assert "newcomer" in [a.user_id for a in changed.interested or ()]
        assert fake.problems == [] and fake.limit.refused == 0
