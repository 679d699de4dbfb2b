"""Follow-ups stay with the post they follow: in its topic on a forum (`Capability.TOPICS`),
in its thread and shown in the channel where the platform can (`THREAD_BROADCAST`)."""

from __future__ import annotations

from datetime import timedelta

from adapters.contract import (
    Capability,
    Place,
    PlatformName,
    SendMessage,
    Sent,
    SpaceId,
    ThreadId,
)
from adapters.fake import ALL_CAPABILITIES
from bot.testing import Harness

FORUM = ALL_CAPABILITIES | {Capability.TOPICS}
PLAIN_FORUM = FORUM - {Capability.BUTTONS, Capability.MODALS}
"""A forum like Discourse: no buttons or forms, so answers come as messages."""
CATEGORY = Place(PlatformName("fake"), SpaceId("main"))


async def test_a_rounds_summary_is_a_reply_in_its_topic(database_url: str) -> None:
    async with Harness.open(database_url, capabilities=FORUM) as h:
        await h.say("ada", 'checkin open "What do you bring?"')
        [post] = [r.result for r in h.adapter.records if r.text.startswith("Check-in: What")]
        assert isinstance(post, Sent) and post.thread is not None
        await h.feed(h.message("bob", "Curiosity", thread=post.thread))
        await h.say("ada", "checkin close", thread=post.thread)
        topic = Place(CATEGORY.platform, CATEGORY.space, ThreadId(post.thread))
        assert any(t.startswith("Check-in closed") for t in h.adapter.texts(topic))
        assert not any(t.startswith("Check-in closed") for t in h.adapter.texts(CATEGORY))


async def test_without_topics_the_summary_goes_to_the_space(harness: Harness) -> None:
    await harness.say("ada", 'checkin open "What do you bring?"')
    await harness.say("ada", "checkin close")
    assert any(t.startswith("Check-in closed") for t in harness.adapter.texts(CATEGORY))


async def test_where_a_thread_reply_can_show_in_the_channel_the_summary_is_both(
    database_url: str,
) -> None:
    async with Harness.open(
        database_url, capabilities=ALL_CAPABILITIES | {Capability.THREAD_BROADCAST}
    ) as h:
        await h.say("ada", 'checkin open "What do you bring?"')
        [post] = [r.result for r in h.adapter.records if r.text.startswith("Check-in: What")]
        assert isinstance(post, Sent) and post.thread is not None
        await h.say("ada", "checkin close")
        [summary] = [r.action for r in h.adapter.records if r.text.startswith("Check-in closed")]
        assert isinstance(summary, SendMessage) and summary.broadcast
        assert summary.to == Place(CATEGORY.platform, CATEGORY.space, ThreadId(post.thread))


async def test_a_breakout_started_in_a_topic_posts_there(database_url: str) -> None:
    async with Harness.open(database_url, capabilities=FORUM) as h:
        await h.say("ada", 'breakout 2 groups "What matters?" --minutes 2', thread="t42")
        for user in ["bea", "cal", "dev", "eli"]:
            await h.feed(h.message(user, "join", thread="t42"))
        await h.advance(timedelta(minutes=20))
        topic = Place(CATEGORY.platform, CATEGORY.space, ThreadId("t42"))
        texts = h.adapter.texts(topic)
        assert any(t.startswith("Breakout reports (2 groups)") for t in texts)
        assert not any(t.startswith("Breakout") for t in h.adapter.texts(CATEGORY))


async def test_an_anonymous_round_on_a_forum_takes_answers_only_privately(
    database_url: str,
) -> None:
    async with Harness.open(database_url, capabilities=PLAIN_FORUM) as h:
        await h.feed(h.message("bob", "hello"))  # bob is known, so he is asked
        await h.say("ada", 'checkin open "How are you, really?" --anonymous')
        [post] = [r for r in h.adapter.records if r.text.startswith("Check-in: How")]
        assert "answer me privately" in post.text and "administrators can read" in post.text
        assert any(t.startswith("Check-in from") for t in h.adapter.direct_texts("bob"))
        assert isinstance(post.result, Sent) and post.result.thread is not None
        replies = await h.say("cal", "checkin Tired, honestly", thread=post.result.thread)
        assert any("did not take that" in t for t in replies)
        await h.feed(h.message("bob", "Hopeful", direct=True, space="dm-bob"))
        await h.say("cal", "checkin Tired", direct=True, space="dm-cal")
        await h.say("ada", "checkin close")
        [summary] = [t for t in h.adapter.texts() if t.startswith("Check-in closed")]
        assert "2 answers" in summary and "• Hopeful" in summary and "• Tired" in summary
        assert "honestly" not in summary
