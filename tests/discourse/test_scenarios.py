"""Rituals on Discourse with the real `community-bot run` process and the fake forum.

The forum runs here on loopback; the bot runs as its own process configured with a
`[discourse]` section pointing at it, receiving the forum's signed webhooks on its web server.
Members act through the fake (a post, an edit, a PM), which signs and delivers the webhook.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from adapters.discourse.adapter import WEBHOOK_PATH
from tests.bot_process import bot_process
from tests.discourse import payloads
from tests.discourse.fake import ChatMessage, FakeDiscourse, Post, Topic
from tests.discourse.forum import serve

pytestmark = pytest.mark.discourse

T = TypeVar("T")
DEADLINE_S = 30.0
ENV = {"DISCOURSE_API_KEY": "test-api-key", "DISCOURSE_WEBHOOK_SECRET": "webhook-secret-123"}


def config(base_url: str) -> str:
    return f"""
[community]
name = "Forum Friends"
timezone = "UTC"
organisers = ["discourse:ada"]

[storage]
data_dir = "data"

[web]
host = "127.0.0.1"

[discourse]
base_url = "{base_url}"
username = "communitybot"
api_key_env = "DISCOURSE_API_KEY"
webhook_secret_env = "DISCOURSE_WEBHOOK_SECRET"
categories = [5]
requests_per_minute = 600
archive_tags = ["community-memory"]

[archive]
place = "discourse:c/12"
"""


@dataclass
class Site:
    fake: FakeDiscourse
    proc: asyncio.subprocess.Process


@asynccontextmanager
async def running(tmp_path: Path, fake: FakeDiscourse, more: str = "") -> AsyncIterator[Site]:
    """The bot process on the fake forum; `more` adds keys to its [discourse] section."""
    async with serve(fake) as base_url:
        path = tmp_path / "bot.toml"
        path.write_text(config(base_url).replace("[archive]", more + "\n[archive]"), "utf-8")
        async with bot_process(tmp_path / "data", config=path, env=ENV) as (proc, chat):
            fake.webhook_url = f"{chat.http.base_url}{WEBHOOK_PATH}".replace(
                "//discourse", "/discourse"
            )
            yield Site(fake, proc)
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
        assert "Traceback" not in err.decode(), err.decode()[-3000:]
        assert fake.problems == []
        assert "webhook-secret-123" not in err.decode() and "test-api-key" not in err.decode()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running(tmp_path, FakeDiscourse(limit=600)) as s:
        yield s


async def until(find: Callable[[], T | None], what: str) -> T:
    """Poll the forum's state until `find` gives something (or fail after the deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while loop.time() < end:
        found = find()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def topic_titled(fake: FakeDiscourse, category: int, start: str) -> Topic | None:
    return next((t for t in fake.topics_in(category) if t.title.startswith(start)), None)


def bot_post(fake: FakeDiscourse, topic_id: int, start: str) -> Post | None:
    return next((p for p in fake.bot_posts(topic_id) if p.text.startswith(start)), None)


def pm_saying(fake: FakeDiscourse, user: str, words: str, after: int = 0) -> Post | None:
    return next((p for p in fake.pms_to(user)[after:] if words in p.text), None)


def group_pms(fake: FakeDiscourse, count: int) -> list[Topic] | None:
    found = [
        t for t in fake.topics.values() if t.archetype == "private_message" and len(t.allowed) > 2
    ]
    return found if len(found) == count else None


async def answer(site: Site, user: str, topic: int, text: str, ack: str) -> Post:
    """Reply in the round's topic and wait for the private acknowledgement."""
    seen = len(site.fake.pms_to(user))
    post = await site.fake.member_posts(user, text, topic_id=topic)
    await until(lambda: pm_saying(site.fake, user, ack, seen), f"{user}'s acknowledgement")
    return post


async def test_a_checkin_in_a_topic_with_an_edit_a_pass_and_its_summary_topic(site: Site) -> None:
    fake = site.fake
    await fake.member_posts(
        "ada", '@communitybot checkin open "What do you bring today?"', category=5
    )
    round_topic = await until(lambda: topic_titled(fake, 5, "Check-in: What do you bring"), "round")
    post = fake.posts[round_topic.posts[0]].text
    assert "Reply in this thread, or say `@communitybot checkin <your answer>`" in post
    await answer(site, "bob", round_topic.id, "Kindness, and @frank listening", "answer is in")
    carol = await answer(site, "carol", round_topic.id, "Curiosity", "answer is in")
    seen = len(fake.pms_to("carol"))
    await fake.member_edits(carol, "Curiosity and patience")
    await until(lambda: pm_saying(fake, "carol", "answer is updated", seen), "carol's update")
    await answer(site, "dan", round_topic.id, "pass", "Pass noted")
    await fake.member_posts("ada", "@communitybot checkin close", topic_id=round_topic.id)

    summary = await until(lambda: bot_post(fake, round_topic.id, "Check-in closed"), "summary")
    assert "2 answers, 1 pass." in summary.text
    assert "• carol: Curiosity and patience" in summary.text
    assert "• bob: Kindness, and @\u2060frank listening" in summary.raw  # frank is not pinged
    assert "dan" not in summary.text
    archived = await until(
        lambda: topic_titled(fake, 12, "Check-in closed: What do you"), "archive"
    )
    assert archived.tags == ["community-memory"]
    assert "• carol: Curiosity and patience" in fake.posts[archived.posts[0]].text


async def test_an_anonymous_round_by_personal_message(site: Site) -> None:
    fake = site.fake
    await fake.member_posts(
        "ada", '@communitybot checkin open "How are you, really?" --anonymous', category=5
    )
    round_topic = await until(lambda: topic_titled(fake, 5, "Check-in: How are you"), "round")
    post = fake.posts[round_topic.posts[0]].text
    assert "answer me privately" in post and "administrators can read direct messages" in post
    bob = await fake.member_messages_bot("bob", "@communitybot checkin Hopeful, mostly")
    await until(lambda: bot_post(fake, bob.topic_id, "Thanks, noted"), "bob's acknowledgement")
    carol = await fake.member_messages_bot("carol", "@communitybot checkin pass")
    await until(lambda: bot_post(fake, carol.topic_id, "Thanks, noted"), "carol's acknowledgement")
    await fake.member_posts("erin", "Tired, to be honest", topic_id=round_topic.id)
    await until(
        lambda: pm_saying(fake, "erin", "did not take that"), "erin told to answer privately"
    )
    await fake.member_posts("ada", "@communitybot checkin close", topic_id=round_topic.id)
    summary = await until(lambda: bot_post(fake, round_topic.id, "Check-in closed"), "summary")
    assert "1 answer, 1 pass." in summary.text and "• Hopeful, mostly" in summary.text
    assert "bob" not in summary.text and "Tired" not in summary.text


PEOPLE = ["bob", "carol", "dan", "erin", "frank", "ada"]


async def six_join_a_breakout(fake: FakeDiscourse) -> int:
    """Ada calls a breakout of two groups in a topic and six people join it; the topic."""
    start = await fake.member_posts(
        "ada",
        '@communitybot breakout 2 groups "What would make this space better?" --join-window 10',
        category=5,
    )
    main = start.topic_id
    await until(lambda: bot_post(fake, main, "Breakout starting"), "the call")
    for user in PEOPLE:
        await fake.member_posts(user, "join", topic_id=main)
    return main


async def test_a_breakout_of_six_in_two_group_messages_with_report_backs(site: Site) -> None:
    fake = site.fake
    main = await six_join_a_breakout(fake)
    groups = await until(lambda: group_pms(fake, 2), "two group PMs")
    assert sorted(u for g in groups for u in g.allowed - {"communitybot"}) == sorted(PEOPLE)
    for group in groups:
        await until(lambda g=group: bot_post(fake, g.id, "Breakout group"), "the provocation")
        writer = sorted(group.allowed - {"communitybot"})[0]
        await fake.member_posts(
            writer, f"report Group of {writer}: listen first", topic_id=group.id
        )
        await until(
            lambda g=group, w=writer: bot_post(fake, g.id, f"{w} sent your group's report"),
            "report",
        )
    await fake.member_posts("ada", "@communitybot breakout end", topic_id=main)
    await until(lambda: bot_post(fake, main, "Breakout ended early"), "reporting")
    await fake.member_posts("ada", "@communitybot breakout end", topic_id=main)
    collated = await until(lambda: bot_post(fake, main, "Breakout reports (2 groups)"), "collation")
    for group in groups:
        writer = sorted(group.allowed - {"communitybot"})[0]
        assert f"Group of {writer}: listen first" in collated.text
    await until(lambda: all(g.closed for g in groups) or None, "the group PMs closed")
    await until(lambda: topic_titled(fake, 12, "Breakout: What would make"), "archive")


async def test_a_nudge_reaches_members_by_personal_message(site: Site) -> None:
    fake = site.fake
    for user in ("bob", "carol"):
        await fake.member_posts(user, "Hello everyone, glad to be here", category=5)
    await fake.member_posts(
        "ada",
        '@communitybot nudge "Bring one question to Thursday" --at "in 2s" --to members',
        category=5,
    )
    for user in ("bob", "carol", "ada"):
        await until(
            lambda u=user: pm_saying(fake, u, "Bring one question to Thursday"), f"{user}'s nudge"
        )


async def test_forged_replayed_and_oversized_webhooks_to_the_running_bot(site: Site) -> None:
    fake = site.fake
    forged = payloads.post(
        post_id=1, topic_id=2, username="mallory", raw='@communitybot checkin open "Forged?"'
    )
    assert (
        await fake.deliver("post_created", forged, signature="sha256=00", retries=0)
    ).status_code == 401
    assert (
        await fake.deliver("post_created", forged, signature=None, retries=0)
    ).status_code == 401
    big = payloads.post(post_id=3, topic_id=2, username="ada", raw="x" * (600 * 1024))
    assert (await fake.deliver("post_created", big, retries=0)).status_code == 413

    opened = await fake.member_posts("ada", '@communitybot checkin open "Real one?"', category=5)
    round_topic = await until(lambda: topic_titled(fake, 5, "Check-in: Real one?"), "round")
    body = {"post": fake._post_json(opened) | {"topic_archetype": "regular"}}
    for event_id in (None, None, 999):  # Discourse's retries (new ids) and a replay of one id
        assert (await fake.deliver("post_created", body, event_id=event_id)).status_code == 200
    assert (await fake.deliver("post_created", body, event_id=999)).status_code == 200
    await fake.member_posts("ada", "@communitybot checkin close", topic_id=round_topic.id)
    await until(lambda: bot_post(fake, round_topic.id, "Check-in closed"), "summary")
    assert topic_titled(fake, 5, "Check-in: Forged?") is None
    assert len([t for t in fake.topics_in(5) if t.title.startswith("Check-in: Real")]) == 1
    assert len([p for p in fake.pms_to("ada") if "Check-in 1 is open" in p.text]) == 1
    assert not [p for p in fake.pms_to("ada") if "still open here" in p.text]  # handled once


async def test_an_imported_post_event_reminds_in_its_topic_and_those_going(tmp_path: Path) -> None:
    fake = FakeDiscourse(limit=600)
    async with running(tmp_path, fake, "import_events = true\nevents_poll_seconds = 5\n"):
        start = datetime.now(UTC) + timedelta(hours=1, seconds=12)
        end = start + timedelta(hours=1)
        event = await fake.member_posts_event(
            "ada", "Community call", stamp(start), stamp(end), ["bob"]
        )
        topic = event["post"]["topic"]["id"]
        reminder = await until(
            lambda: bot_post(fake, topic, "Reminder: “Community call” starts in 1 hour"),
            "the reminder in the event's topic",
        )
        assert reminder.text.rstrip().endswith(" UTC."), reminder.text  # the zone named
        await until(lambda: pm_saying(fake, "bob", "“Community call” starts in 1 hour"), "bob's")
        assert pm_saying(fake, "ada", "Community call") is None  # ada did not say she goes


async def test_a_checkin_as_a_chat_message_in_a_chat_channel(site: Site) -> None:
    fake = site.fake

    def chat_from_bot(start: str) -> object | None:
        return next(
            (
                m
                for m in fake.chat.values()
                if m.username == fake.bot and m.message.startswith(start)
            ),
            None,
        )

    await fake.member_chats("ada", 3, '@communitybot checkin open "One word for today?"')
    await until(lambda: chat_from_bot("Check-in: One word for today?"), "the round in chat")
    seen = len(fake.pms_to("bob"))
    await fake.member_chats("bob", 3, "@communitybot checkin Calm")
    await until(lambda: pm_saying(fake, "bob", "answer is in", seen), "bob's acknowledgement")
    round_message = next(
        m for m in fake.chat.values() if m.username == fake.bot and m.message.startswith("Check-in")
    )
    for user, words in (("carol", "Rested"), ("dan", "Hopeful")):  # replies in its thread
        seen = len(fake.pms_to(user))
        if user == "carol":
            await fake.member_chats(user, 3, words, in_reply_to=round_message)
        else:
            await fake.member_chats(user, 3, words, thread_id=round_message.thread_id)
        await until(lambda u=user, n=seen: pm_saying(fake, u, "answer is in", n), f"{user}'s")
    await fake.member_chats("ada", 3, "@communitybot checkin close")
    summary = await until(lambda: chat_from_bot("Check-in closed"), "the summary in chat")
    text = summary.message  # type: ignore[attr-defined]
    assert "• bob: Calm" in text and "• carol: Rested" in text and "• dan: Hopeful" in text


def in_thread(fake: FakeDiscourse, thread: int, words: str) -> ChatMessage | None:
    return next(
        (
            m
            for m in fake.chat.values()
            if m.thread_id == thread and m.username == fake.bot and words in m.message
        ),
        None,
    )


async def test_a_breakout_of_six_in_two_chat_threads_with_report_backs(tmp_path: Path) -> None:
    fake = FakeDiscourse(limit=600)
    more = 'breakouts = "chat"\nbreakout_channel = 3\n'
    async with running(tmp_path, fake, more):
        main = await six_join_a_breakout(fake)
        threads = await until(
            lambda: list(fake.threads.values()) if len(fake.threads) == 2 else None, "two threads"
        )
        groups: dict[int, list[str]] = {}
        for thread in threads:
            root = fake.chat[thread.original_message_id]
            assert root.channel_id == 3 and root.username == fake.bot
            groups[thread.id] = [u for u in PEOPLE if f"@{u}" in root.message]  # called in
            await until(lambda t=thread.id: in_thread(fake, t, "Breakout group"), "the provocation")
        assert sorted(u for g in groups.values() for u in g) == sorted(PEOPLE)
        for thread_id, members in groups.items():
            writer = members[0]
            await fake.member_chats(
                writer, 3, f"report Group of {writer}: listen first", thread_id=thread_id
            )
            await until(
                lambda t=thread_id, w=writer: in_thread(fake, t, f"{w} sent your group's report"),
                "the report acknowledged in the thread",
            )
        (_, members), (other, _) = groups.items()
        # Both threads are in one channel: a report is a group's only in its own thread.
        await fake.member_chats(members[0], 3, "report stray, in the other thread", thread_id=other)
        await fake.member_chats(members[0], 3, "report stray, in the channel itself")
        await fake.member_posts("ada", "@communitybot breakout end", topic_id=main)
        await until(lambda: bot_post(fake, main, "Breakout ended early"), "reporting")
        await fake.member_posts("ada", "@communitybot breakout end", topic_id=main)
        collated = await until(
            lambda: bot_post(fake, main, "Breakout reports (2 groups)"), "collation"
        )
        for members in groups.values():
            assert f"Group of {members[0]}: listen first" in collated.text
        assert "stray" not in collated.text
        await until(
            lambda: all((t.title or "").endswith(" · ended") for t in threads) or None,
            "the threads marked ended",
        )
        for thread in threads:
            assert in_thread(fake, thread.id, "This breakout has ended")


async def test_an_imported_event_reminds_everyone_going_once_not_only_its_sample(
    tmp_path: Path,
) -> None:
    fake = FakeDiscourse(limit=600)
    going = [f"friend{i:02d}" for i in range(25)]
    async with running(tmp_path, fake, "import_events = true\nevents_poll_seconds = 5\n"):
        start = datetime.now(UTC) + timedelta(hours=1, seconds=12)
        end = start + timedelta(hours=1)
        await fake.member_posts_event("ada", "Big call", stamp(start), stamp(end), going)
        assert len(fake.events[0]["sample_invitees"]) == 10
        for user in going:
            await until(lambda u=user: pm_saying(fake, u, "“Big call” starts in 1 hour"), user)
        assert all(
            len([p for p in fake.pms_to(u) if "“Big call” starts" in p.text]) == 1 for u in going
        )
        assert fake.calls["listEventInvitees"] >= 1


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
