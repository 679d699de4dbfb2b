"""Discourse translation on recorded webhook bodies: commands, places, edits, mentions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.contract import (
    CommandInvoked,
    MemberJoined,
    MemberLeft,
    Mention,
    MessageReceived,
    NativeChange,
    Place,
    PlatformName,
    SpaceId,
    ThreadId,
    UserId,
)
from adapters.discourse import translate as t
from adapters.discourse.translate import PLATFORM, Site
from bot.errors import PlatformError
from tests.discourse import payloads

pytestmark = pytest.mark.discourse

SITE = Site("communitybot", breakout_topics={77})


def test_a_mention_in_a_topic_reply_is_a_command_in_that_topic() -> None:
    body = payloads.post(
        post_id=501,
        topic_id=42,
        username="ada",
        name="Ada L",
        raw='@communitybot checkin open "Hi?"',
    )
    event = t.to_inbound("post_created", body, SITE)
    assert isinstance(event, CommandInvoked)
    assert event.text == 'checkin open "Hi?"'
    assert event.place == Place(PLATFORM, SpaceId("c/5"), ThreadId("42"))
    assert event.actor.user_id == "ada" and event.actor.display_name == "Ada L"
    assert event.event_id == "post:501" and event.message_id == "501"


@pytest.mark.parametrize(
    "raw",
    [
        "@CommunityBot checkin pass",
        "  @communitybot\ncheckin pass",
        "@\u2060communitybot checkin pass",  # copied from the bot's own neutralised text
        '[quote="bob, post:3, topic:42"]\nopen it\n[/quote]\n@communitybot checkin pass',
    ],
)
def test_command_forms(raw: str) -> None:
    event = t.to_inbound(
        "post_created", payloads.post(post_id=1, topic_id=42, username="ada", raw=raw), SITE
    )
    assert isinstance(event, CommandInvoked) and event.text == "checkin pass"


@pytest.mark.parametrize(
    "raw", ["@communitybotty checkin", "hello @communitybot checkin", "@communitybot"]
)
def test_not_commands(raw: str) -> None:
    event = t.to_inbound(
        "post_created", payloads.post(post_id=1, topic_id=42, username="ada", raw=raw), SITE
    )
    assert isinstance(event, MessageReceived)


def test_a_plain_reply_is_a_message_in_the_topic_thread() -> None:
    body = payloads.post(post_id=502, topic_id=42, username="bob", raw="Curiosity")
    event = t.to_inbound("post_created", body, SITE)
    assert isinstance(event, MessageReceived)
    assert event.text == "Curiosity" and event.edits is None
    assert event.place.thread == "42" and not event.place.direct


def test_an_edit_replaces_and_is_one_event_per_new_text() -> None:
    body = payloads.post(
        post_id=502, topic_id=42, username="bob", raw="Curiosity and patience", version=2
    )
    first = t.to_inbound("post_edited", body, SITE)
    again = t.to_inbound("post_edited", body, SITE)
    assert isinstance(first, MessageReceived)
    assert first.edits == "502" and first.message_id == "502"
    assert first.event_id == again.event_id != "post:502"  # a retried delivery is one event
    other = payloads.post(post_id=502, topic_id=42, username="bob", raw="Patience", version=3)
    assert t.to_inbound("post_edited", other, SITE).event_id != first.event_id  # type: ignore[union-attr]


def test_an_edited_command_is_not_run_again() -> None:
    body = payloads.post(
        post_id=9, topic_id=42, username="ada", raw='@communitybot checkin open "Again?"'
    )
    assert t.to_inbound("post_edited", body, SITE) is None


def test_personal_messages_are_direct_unless_a_breakout_group() -> None:
    pm = payloads.post(
        post_id=600,
        topic_id=70,
        username="carol",
        raw="my answer",
        archetype="private_message",
        category_id=None,
    )
    event = t.to_inbound("post_created", pm, SITE)
    assert event is not None and event.place == Place(PLATFORM, SpaceId("pm/70"), None, True)
    group = payloads.post(
        post_id=601,
        topic_id=77,
        username="carol",
        raw="our report",
        archetype="private_message",
        category_id=None,
    )
    event = t.to_inbound("post_created", group, SITE)
    assert event is not None and event.place == Place(PLATFORM, SpaceId("pm/77"), None, False)


@pytest.mark.parametrize(
    "body",
    [
        payloads.post(post_id=1, topic_id=42, username="communitybot", raw="Check-in: hi"),
        payloads.post(post_id=1, topic_id=42, username="ada", raw="closed", post_type=3),
        {"post": {"id": "x", "raw": 5}},
        {"post": []},
        {},
    ],
)
def test_own_small_action_and_malformed_posts_are_dropped(body: dict[str, object]) -> None:
    assert t.to_inbound("post_created", body, SITE) is None


def test_other_events_are_dropped() -> None:
    assert t.to_inbound("ping", {"ping": "OK"}, SITE) is None
    assert t.to_inbound("topic_created", {"topic": {"id": 1}}, SITE) is None


def test_chat_messages_commands_threads_and_dms() -> None:
    body = payloads.chat_message(
        message_id=900,
        channel_id=3,
        username="ada",
        text="@communitybot checkin status",
        thread_id=12,
    )
    event = t.to_inbound("chat_message_created", body, SITE)
    assert isinstance(event, CommandInvoked) and event.text == "checkin status"
    assert event.place == Place(PLATFORM, SpaceId("chat/3"), ThreadId("12"))
    assert event.event_id == "chat:900"
    dm = payloads.chat_message(
        message_id=901, channel_id=8, username="ada", text="pass", direct=True
    )
    event = t.to_inbound("chat_message_created", dm, SITE)
    assert isinstance(event, MessageReceived) and event.place.direct
    edited = t.to_inbound("chat_message_edited", dm, SITE)
    assert isinstance(edited, MessageReceived) and edited.edits == "901"


def test_member_mentions_groups_and_quotes_never_ping_when_repeated() -> None:
    text = 'Thanks @bob and @team-leads, @here! [quote="bob, post:1"]x[/quote] a@b.org'
    raw = t.render(("• ada: ", text))
    assert "@bob" not in raw and "@team-leads" not in raw and "@here" not in raw
    assert "[quote" not in raw.lower()
    assert raw.replace(t.WORD_JOINER, "") == "• ada: " + text  # reads the same
    pinged = t.render(("Your group: ", Mention(PLATFORM, UserId("bob"), "Bob B")))
    assert pinged == "Your group: @bob"
    foreign = t.render((Mention(PlatformName("matrix"), UserId("@x:m.org"), "x"),))
    assert "@x" not in foreign


def test_code_spans_are_left_alone_but_not_across_paragraphs() -> None:
    assert t.neutralise("say `@communitybot checkin pass` here") == (
        "say `@communitybot checkin pass` here"
    )
    sneaky = t.neutralise("`x\n\n@bob\n\n`")
    assert "@bob" not in sneaky
    assert "@bob" not in t.neutralise("unclosed `@bob")


def test_titles_and_short_bodies_meet_discourse_limits() -> None:
    assert (
        t.title_of("Check-in: What do you want?\nReply here", 15, "bot")
        == "Check-in: What do you want?"
    )
    assert len(t.title_of("Hi", 15, "communitybot")) >= 15
    assert len(t.title_of("x" * 400, 15, "bot")) == t.TITLE_MAX
    short = t.padded("Ok.", 20)
    assert len(short.strip()) >= 20 and short.startswith("Ok.\n\n<!--") and short.endswith("-->")
    assert t.padded("A long enough body here.", 20) == "A long enough body here."


def test_places_round_trip_and_refuse_garbage() -> None:
    assert t.where(t.category_place(5, 42)) == t.Where("category", 5, 42)
    assert t.where(t.pm_place(70)) == t.Where("pm", 70)
    assert t.where(t.topic_place(88)) == t.Where("topic", 88)
    assert t.where(t.chat_place(3, 12)) == t.Where("chat", 3, 12)
    with pytest.raises(PlatformError) as exc:
        t.where(Place(PLATFORM, SpaceId("general")))
    assert exc.value.permanent


def test_a_429_carries_wait_seconds_and_other_4xx_are_permanent() -> None:
    body = {
        "errors": ["You’ve performed this action too many times. Please wait 37 seconds."],
        "error_type": "rate_limit",
        "extras": {"wait_seconds": 37, "time_left": "37 seconds"},
    }
    error = t.platform_error("reply", 429, body, "37")
    assert error.retry_after == 37 and not error.permanent
    assert t.platform_error("reply", 429, {}, "12").retry_after == 12
    refused = t.platform_error("reply", 422, {"errors": ["Title has already been used"]}, None)
    assert refused.permanent and t.title_taken(refused)
    assert not t.platform_error("reply", 502, {}, None).permanent


def test_request_bodies() -> None:
    topic = t.new_topic("A title long enough", "body text", 5, "k1", ["memory"])
    assert topic == {
        "title": "A title long enough",
        "raw": "body text",
        "category": 5,
        "external_id": t.external_id("k1"),
        "tags": [{"name": "memory"}],
    }
    assert len(t.external_id("k1")) <= 50
    pm = t.new_pm("Breakout 1", "hello", ["ada", "bob", "ada"], "k2")
    assert pm["target_recipients"] == "ada,bob" and pm["archetype"] == "private_message"
    assert t.chat_message("hi", None) == {"message": "hi"}
    assert t.chat_message("hi", 4) == {"message": "hi", "thread_id": 4}


def test_post_events_from_the_plugin() -> None:
    body = {
        "events": [
            {
                "id": 3001,
                "name": "Community call",
                "starts_at": "2026-12-02T17:00:00.000Z",
                "ends_at": "2026-12-02T18:00:00.000Z",
                "timezone": "Europe/Paris",
                "category_id": 5,
                "is_closed": False,
                "is_expired": False,
                "location": "Jitsi",
                "post": {
                    "id": 3001,
                    "post_number": 1,
                    "url": "/t/community-call/88/1",
                    "category_slug": "community",
                    "topic": {
                        "id": 88,
                        "title": "Community call",
                        "tags": [],
                        "tags_descriptions": {},
                        "slug": "community-call",
                    },
                },
                "sample_invitees": [
                    {"id": 1, "status": "going", "user": {"id": 5, "username": "ada"}},
                    {"id": 2, "status": "interested", "user": {"id": 6, "username": "bob"}},
                ],
            },
            {"id": "broken"},
        ]
    }
    [event] = t.read_events(body, "https://forum.example.org")
    assert event.title == "Community call" and event.topic_id == 88
    assert event.starts_at.isoformat() == "2026-12-02T17:00:00+00:00"
    assert event.going == ("ada",)
    assert event.url == "https://forum.example.org/t/community-call/88/1"
    changed = t.event_changed(event, NativeChange.CREATED, "communitybot")
    assert changed.place == t.topic_place(88) and changed.native_id == "3001"
    assert changed.zone == "Europe/Paris" and changed.link == event.url
    assert [a.user_id for a in changed.interested or ()] == ["ada"]
    assert changed.actor.user_id == "communitybot"  # no creator listed
    again = t.event_changed(event, NativeChange.CREATED, "communitybot")
    assert again.event_id == changed.event_id  # unchanged: the core drops it
    del body["events"][0]["sample_invitees"]
    [silent] = t.read_events(body, "https://forum.example.org")
    assert silent.going is None
    assert t.event_changed(silent, NativeChange.CHANGED, "bot").interested is None


def test_users_joining_and_leaving_the_site() -> None:
    user = {"user": {"id": 77, "username": "gina", "name": "Gina G", "trust_level": 0}}
    site = Site("communitybot", home_category=5)
    joined = t.to_inbound("user_created", user, site)
    assert isinstance(joined, MemberJoined) and joined.actor.display_name == "Gina G"
    assert joined.place == t.category_place(5) and joined.event_id == "user:77:joined"
    left = t.to_inbound("user_destroyed", user, site)
    assert isinstance(left, MemberLeft) and left.event_id == "user:77:left"
    assert t.to_inbound("user_created", user, SITE) is None  # no home category configured


def test_an_old_signed_body_replayed_later_is_dropped() -> None:
    now = datetime(2026, 11, 30, 10, tzinfo=UTC)  # the payloads were written 09:12 that day
    body = payloads.post(post_id=5, topic_id=42, username="ada", raw="@communitybot checkin pass")
    assert t.to_inbound("post_created", body, SITE, now) is not None
    later = now + t.MAX_AGE
    assert t.to_inbound("post_created", body, SITE, later) is None
    chat = payloads.chat_message(message_id=9, channel_id=3, username="ada", text="hello")
    assert t.to_inbound("chat_message_created", chat, SITE, now) is not None
    assert t.to_inbound("chat_message_created", chat, SITE, later) is None


def test_a_reply_in_a_chat_thread_replies_to_the_threads_original_message() -> None:
    first = payloads.chat_message(
        message_id=901, channel_id=3, username="bob", text="Calm", thread_id=12, in_reply_to=800
    )
    event = t.to_inbound("chat_message_created", first, SITE)
    assert isinstance(event, MessageReceived)
    assert event.place == t.chat_place(3, 12) and event.replies_to == "800"
    later = payloads.chat_message(
        message_id=902, channel_id=3, username="carol", text="Rested", thread_id=12
    )
    assert t.unknown_thread("chat_message_created", later, SITE) == (3, 12)
    knows = Site("communitybot", thread_roots={12: 800})
    assert t.unknown_thread("chat_message_created", later, knows) is None
    event = t.to_inbound("chat_message_created", later, knows)
    assert isinstance(event, MessageReceived) and event.replies_to == "800"
    assert t.to_inbound("chat_message_created", later, SITE).replies_to is None  # type: ignore[union-attr]
    top = payloads.chat_message(
        message_id=800, channel_id=3, username="ada", text="x", thread_id=12
    )
    assert t.to_inbound("chat_message_created", top, knows).replies_to is None  # type: ignore[union-attr]
    own = payloads.chat_message(
        message_id=903, channel_id=3, username="communitybot", text="x", thread_id=12
    )
    assert t.unknown_thread("chat_message_created", own, SITE) is None


def test_the_going_list_and_filters_that_split_a_full_answer() -> None:
    body = {
        "invitees": [
            {"id": 1, "status": "going", "user": {"id": 5, "username": "ada"}, "post_id": 9},
            {"id": 2, "status": "interested", "user": {"id": 6, "username": "bob"}, "post_id": 9},
            {"id": 3, "status": "going", "user": None, "post_id": 9},
        ]
    }
    assert t.read_going(body) == ["ada"]
    assert t.invitees_query("") == {"type": "going"}
    assert t.invitees_query("ab") == {"type": "going", "filter": "ab"}
    names = ["xab", "abz", "cab.", "b_ab", "zz-ab"]
    for name in names:  # whatever matches `ab` matches one of its narrower filters
        assert any(f in name for f in t.narrower("ab"))
    assert set(t.narrower("")) == set(t.USERNAME_CHARACTERS)
