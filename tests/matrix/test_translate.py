"""Matrix translation on recorded event dicts: no server, no nio."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.contract import (
    CommandInvoked,
    MemberJoined,
    MemberLeft,
    Mention,
    MessageReceived,
    PlatformName,
    ReactionAdded,
    UserId,
)
from adapters.matrix.translate import (
    RoomView,
    archived_name,
    edit_content,
    left_user,
    message_content,
    platform_error,
    read_invite,
    relation_of,
    since_bot_arrived,
    strip_reply_fallback,
    subspace_request,
    to_inbound,
    txn_id,
)

BOT = "@communitybot:localhost"
ROOM = RoomView("!room:localhost", names={"@alice:localhost": "Alice A."})


def message(
    body: str, event_id: str = "$e1", sender: str = "@alice:localhost", **extra: Any
) -> dict[str, Any]:
    content = {"msgtype": "m.text", "body": body, **extra}
    return {"type": "m.room.message", "event_id": event_id, "sender": sender, "content": content}


def read(event: dict[str, Any], room: RoomView = ROOM) -> Any:
    return to_inbound(event, room, self_id=BOT, prefix="!")


def test_prefixed_text_is_a_command_without_its_prefix() -> None:
    event = read(message("!checkin open 'How are you?'"))
    assert isinstance(event, CommandInvoked)
    assert event.text == "checkin open 'How are you?'"
    assert event.actor.display_name == "Alice A."
    assert event.place.space == "!room:localhost" and event.place.thread is None
    assert event.message_id == "$e1"


def test_a_lone_prefix_or_other_text_is_a_message() -> None:
    assert isinstance(read(message("!")), MessageReceived)
    plain = read(message("hello !help"))
    assert isinstance(plain, MessageReceived) and plain.text == "hello !help"


def test_thread_replies_carry_their_root() -> None:
    relates = {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$root"},
    }
    event = read(message("> not a quote", **{"m.relates_to": relates}))
    assert isinstance(event, MessageReceived)
    assert event.place.thread == "$root"
    assert event.text == "> not a quote"  # thread fallbacks carry no quoted text


def test_plain_replies_lose_the_quoted_fallback() -> None:
    body = "> <@bob:localhost> what did you ship?\n> second line\n\nthe adapter"
    event = read(message(body, **{"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}))
    assert isinstance(event, MessageReceived) and event.text == "the adapter"
    assert strip_reply_fallback("no quote") == "no quote"


def test_an_edit_brings_the_new_text_and_the_original_id() -> None:
    event = read(
        message(
            "* fixed",
            event_id="$edit",
            **{
                "m.new_content": {"msgtype": "m.text", "body": "fixed"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"},
            },
        )
    )
    assert isinstance(event, MessageReceived)
    assert (event.text, event.edits, event.message_id) == ("fixed", "$orig", "$edit")


def test_reactions_joins_and_own_events() -> None:
    reaction = {
        "type": "m.reaction",
        "event_id": "$r",
        "sender": "@bob:localhost",
        "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$call", "key": "👍"}},
    }
    got = read(reaction)
    assert isinstance(got, ReactionAdded) and (got.message_id, got.key) == ("$call", "👍")
    assert got.actor.display_name == "bob"  # no display name known: the localpart

    join = {
        "type": "m.room.member",
        "event_id": "$j",
        "sender": "@bob:localhost",
        "state_key": "@bob:localhost",
        "content": {"membership": "join"},
    }
    assert isinstance(read(join), MemberJoined)
    rename = {**join, "unsigned": {"prev_content": {"membership": "join"}}}
    assert read(rename) is None
    was_in = {"unsigned": {"prev_content": {"membership": "join"}}}
    leave = {**join, "content": {"membership": "leave"}, **was_in}
    kick = {**leave, "sender": "@alice:localhost"}
    ban = {**kick, "content": {"membership": "ban"}}
    for gone in (leave, kick, ban):
        left = read(gone)
        assert isinstance(left, MemberLeft) and left.actor.user_id == "@bob:localhost"
    assert read({**leave, "unsigned": {}}) is None  # an invite declined: never was in
    assert read({**leave, "state_key": BOT, "sender": "@alice:localhost"}) is None
    assert read(message("!help", sender=BOT)) is None
    assert (
        read({"type": "m.room.encrypted", "event_id": "$x", "sender": "@a:l", "content": {}})
        is None
    )
    assert read(message("", **{"msgtype": "m.image"})) is None


def test_direct_rooms_are_marked() -> None:
    event = read(message("hi"), RoomView("!dm:localhost", direct=True))
    assert event.place.direct


def test_history_before_the_bot_was_asked_in_is_dropped() -> None:
    def own(membership: str, prev: str | None = None) -> dict[str, Any]:
        unsigned = {"prev_content": {"membership": prev}} if prev else {}
        return {
            "type": "m.room.member",
            "state_key": BOT,
            "sender": "@alice:localhost",
            "event_id": f"${membership}",
            "content": {"membership": membership},
            "unsigned": unsigned,
        }

    before, between, after = message("!help", "$1"), message("!help", "$2"), message("!x", "$3")
    joined = own("join", "invite")
    assert since_bot_arrived([before, own("invite"), between, joined, after], BOT) == [
        between,
        joined,
        after,
    ]
    assert since_bot_arrived([before, own("join"), after], BOT) == [after]
    assert since_bot_arrived([before, after], BOT) == [before, after]
    renamed = own("join", "join")
    assert since_bot_arrived([before, renamed, after], BOT) == [before, renamed, after]


def test_invites_say_who_and_whether_direct() -> None:
    state = [
        {
            "type": "m.room.member",
            "state_key": BOT,
            "sender": "@alice:localhost",
            "content": {"membership": "invite", "is_direct": True},
        },
        {
            "type": "m.room.canonical_alias",
            "state_key": "",
            "sender": "@alice:localhost",
            "content": {"alias": "#community:localhost", "alt_aliases": ["#c:localhost"]},
        },
    ]
    invite = read_invite(state, BOT)
    assert invite.inviter == "@alice:localhost" and invite.direct
    assert invite.aliases == {"#community:localhost", "#c:localhost"}


def test_mentions_become_pills_and_only_they_are_mentioned() -> None:
    alice = Mention(PlatformName("matrix"), UserId("@alice:localhost"), "Alice <A>")
    content = message_content(("Welcome ", alice, "! @room & <b>you</b>\nnext"))
    assert content["m.mentions"] == {"user_ids": ["@alice:localhost"]}
    assert "@room" not in content["body"] and "@room" not in content["formatted_body"]
    assert content["body"].startswith("Welcome Alice <A>! @\u2060room")
    assert content["formatted_body"] == (
        'Welcome <a href="https://matrix.to/#/@alice:localhost">Alice &lt;A&gt;</a>'
        "! @\u2060room &amp; &lt;b&gt;you&lt;/b&gt;<br>\nnext"
    )


def test_foreign_mentions_are_plain_text() -> None:
    bob = Mention(PlatformName("web"), UserId("bob"), "Bob")
    content = message_content(("hi ", bob))
    assert content["body"] == "hi @Bob" and content["m.mentions"] == {"user_ids": []}


def test_thread_sends_and_edits() -> None:
    content = message_content(("x",), thread="$root")
    assert content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$root"},
    }
    edit = edit_content("$orig", ("new",))
    assert edit["m.new_content"]["body"] == "new" and edit["body"] == "* new"
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}
    assert edit["m.mentions"] == {}


def test_transaction_ids_are_stable_per_key_and_room() -> None:
    assert txn_id("k", "!a:l") == txn_id("k", "!a:l")
    assert txn_id("k", "!a:l") != txn_id("k", "!b:l") != txn_id("j", "!b:l")
    assert txn_id("reply:matrix:$e/x?:1", "!a:l").isalnum()


def test_breakout_rooms_and_archiving() -> None:
    request = subspace_request("Group 1", ["@a:l", "@b:l", "@a:l"], "!space:l", "l")
    assert request["invite"] == ["@a:l", "@b:l"]
    assert request["initial_state"][0]["type"] == "m.space.parent"
    assert subspace_request("G", [], None, "l")["initial_state"] == []
    assert archived_name("Group 1") == "(archived) Group 1"
    assert archived_name("(archived) Group 1") == "(archived) Group 1"


@pytest.mark.parametrize(
    ("errcode", "retry_ms", "retry_after", "permanent"),
    [
        ("M_LIMIT_EXCEEDED", 2500, 2.5, False),
        ("M_LIMIT_EXCEEDED", None, 5.0, False),
        ("M_FORBIDDEN", None, None, True),
        ("M_UNKNOWN", None, None, False),
        (None, None, None, False),
    ],
)
def test_errors(
    errcode: str | None, retry_ms: int | None, retry_after: float | None, permanent: bool
) -> None:
    error = platform_error("sending", errcode, "nope", retry_ms)
    assert (error.retry_after, error.permanent) == (retry_after, permanent)


def test_a_recorded_429_body_becomes_a_retry_delay() -> None:
    """Synapse's 429 body, as nio's ErrorResponse reads it."""
    from nio import ErrorResponse

    from adapters.matrix.adapter import _error

    body = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 1733}
    error = _error("sending", ErrorResponse.from_dict(body))
    assert error.retry_after == pytest.approx(1.733)
    assert "M_LIMIT_EXCEEDED" in str(error)


def test_notices_from_other_bots_are_not_read() -> None:
    assert read(message("!help", **{"msgtype": "m.notice"})) is None


def test_who_left() -> None:
    leave = {"type": "m.room.member", "state_key": "@a:l", "content": {"membership": "leave"}}
    assert left_user(leave) == "@a:l"
    assert left_user({**leave, "content": {"membership": "join"}}) is None
    assert left_user(message("bye")) is None


def test_a_plain_reply_names_the_message_it_answers_a_thread_reply_does_not() -> None:
    quoted = "> <@communitybot:localhost> Check-in: How?\n\nFine, thanks"
    reply = read(message(quoted, **{"m.relates_to": {"m.in_reply_to": {"event_id": "$post"}}}))
    assert isinstance(reply, MessageReceived)
    assert (reply.replies_to, reply.place.thread, reply.text) == ("$post", None, "Fine, thanks")
    threaded = {"rel_type": "m.thread", "event_id": "$post", "m.in_reply_to": {"event_id": "$x"}}
    in_thread = read(message("Fine", **{"m.relates_to": threaded}))
    assert isinstance(in_thread, MessageReceived)
    assert (in_thread.replies_to, in_thread.place.thread) == (None, "$post")


def test_an_edit_is_placed_where_its_original_was() -> None:
    threaded = message("A novel", **{"m.relates_to": {"rel_type": "m.thread", "event_id": "$p"}})
    assert relation_of(threaded) == ("$p", None)
    replied = message("Poems", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$p"}}})
    assert relation_of(replied) == (None, "$p")
    assert relation_of(message("plain")) == (None, None)
