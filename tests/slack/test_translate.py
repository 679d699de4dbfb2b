"""The Slack translation on recorded payloads: no network, no slack-bolt."""

from __future__ import annotations

import pytest

from adapters.contract import (
    Button,
    ButtonPressed,
    CommandInvoked,
    MemberJoined,
    MemberLeft,
    Mention,
    MessageReceived,
    PlatformName,
    ReactionAdded,
    TextForm,
    UserId,
)
from adapters.slack.translate import (
    ButtonValue,
    Directory,
    Wording,
    block_action,
    blocks,
    channel_name,
    event_to_inbound,
    form_metadata,
    message_args,
    platform_error,
    readable,
    render,
    sections,
    slash_command,
    view_submission,
)
from tests.slack import payloads as p

pytestmark = pytest.mark.slack

COMMANDS = {"/checkin": "checkin", "/cb-breakout": "breakout", "/help": "help"}
DIRECTORY = Directory(self_id=p.BOT, names={p.ALICE: "Alice", p.BOB: "Bob"}, commands=COMMANDS)


def inbound(event: dict, event_id: str = "Ev0001"):
    return event_to_inbound(p.callback(event, event_id), DIRECTORY)


def test_a_channel_message_is_a_message_with_its_event_id() -> None:
    got = inbound(p.message("I'd like more listening"))
    assert isinstance(got, MessageReceived)
    assert got.event_id == "Ev0001"
    assert got.text == "I'd like more listening"
    assert got.message_id == "1767225600.000100"
    assert (got.place.space, got.place.thread, got.place.direct) == (p.GENERAL, None, False)
    assert got.actor.display_name == "Alice"


def test_a_thread_reply_is_in_its_thread_and_a_dm_is_direct() -> None:
    reply = inbound(p.message("Curiosity", ts="1767225601.000200", thread_ts="1767225600.000100"))
    assert reply is not None and reply.place.thread == "1767225600.000100"
    dm = inbound(p.message("My answer", channel=p.DM_ALICE, channel_type="im"))
    assert dm is not None and dm.place.direct and dm.place.space == p.DM_ALICE


def test_a_thread_root_is_not_in_a_thread() -> None:
    root = inbound(p.message("Root", ts="1767225600.000100", thread_ts="1767225600.000100"))
    assert root is not None and root.place.thread is None


def test_an_edit_replaces_the_original_message() -> None:
    got = inbound(p.message_changed("Kindness, really", "Kindness", thread_ts="1767225000.000001"))
    assert isinstance(got, MessageReceived)
    assert got.edits == "1767225600.000100"
    assert got.text == "Kindness, really"
    assert got.place.thread == "1767225000.000001"
    assert got.message_id != got.edits


def test_a_change_that_keeps_the_words_is_not_an_edit() -> None:
    assert inbound(p.message_changed("Same", "Same")) is None


def test_own_and_other_bots_and_bookkeeping_messages_are_dropped() -> None:
    assert inbound(p.message("echo", user=p.BOT)) is None
    assert inbound(p.message("beep", bot_id="B0OTHER")) is None
    assert inbound(p.message("joined", subtype="channel_join")) is None
    assert inbound(p.message("gone", subtype="message_deleted")) is None


def test_commands_in_messages_slash_names_and_mentions() -> None:
    typed = inbound(p.message("/checkin pass"))
    assert isinstance(typed, CommandInvoked) and typed.text == "checkin pass"
    assert typed.message_id == "1767225600.000100"
    mention = inbound(p.message(f"<@{p.BOT}> breakout 2 groups"))
    assert isinstance(mention, CommandInvoked) and mention.text == "breakout 2 groups"
    chat = inbound(p.message(f"<@{p.BOT}> thanks for this!"))
    assert isinstance(chat, MessageReceived)


def test_an_app_mention_is_not_handled_twice() -> None:
    """The same words arrive as a `message` too; only that one is handled."""
    assert inbound(p.app_mention(f"<@{p.BOT}> hello")) is None
    command = inbound(p.app_mention(f"<@{p.BOT}> checkin status"))
    assert isinstance(command, CommandInvoked) and command.text == "checkin status"


def test_slash_command_uses_its_configured_name() -> None:
    got = slash_command(p.slash("/cb-breakout", "2 groups --minutes 10"), DIRECTORY)
    assert isinstance(got, CommandInvoked)
    assert got.text == "breakout 2 groups --minutes 10"
    assert got.event_id == "command:111.222.aaa"
    assert got.place.space == p.GENERAL and not got.place.direct
    assert slash_command(p.slash("/breakout", "2 groups"), DIRECTORY) is None, "not ours"
    dm = slash_command(p.slash("/checkin", "pass", channel=p.DM_ALICE), DIRECTORY)
    assert dm is not None and dm.place.direct


def test_a_slash_command_names_people_by_id() -> None:
    got = slash_command(p.slash("/checkin", f"open &lt;x&gt; <@{p.BOB}|bob>"), DIRECTORY)
    assert got is not None and got.text == f"checkin open <x> @{p.BOB}"


def test_reactions_and_membership() -> None:
    reaction = inbound(p.reaction_added("1767225600.000100"))
    assert isinstance(reaction, ReactionAdded)
    assert (reaction.message_id, reaction.key) == ("1767225600.000100", "raised_hands")
    joined = inbound(p.member_joined())
    assert isinstance(joined, MemberJoined) and joined.actor.user_id == p.BOB
    assert inbound(p.member_joined(user=p.BOT)) is None


def test_markup_reads_as_plain_text() -> None:
    text = (
        f"ask <@{p.BOB}> in <#C0X|random>: <!here> &amp; <https://example.org|the doc> "
        "<mailto:a@b.org|a@b.org>"
    )
    assert readable(text, {p.BOB: "Bob"}) == (
        "ask @Bob in #random: @here & the doc (https://example.org) a@b.org (mailto:a@b.org)"
    )


@pytest.mark.parametrize(
    "typed", ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S1>", "<@U0BOB>", "<http://x>"]
)
def test_what_a_member_typed_never_pings(typed: str) -> None:
    rendered = render((f"Alice said: {typed}",))
    assert "<" not in rendered and ">" not in rendered
    assert rendered == "Alice said: " + typed.replace("<", "&lt;").replace(">", "&gt;")


def test_mentions_render_as_slack_mentions_only_for_slack_people() -> None:
    slack = Mention(PlatformName("slack"), UserId(p.BOB), "Bob")
    matrix = Mention(PlatformName("matrix"), UserId("@ada:x.org"), "Ada <3")
    assert (
        render(("Hi ", slack, " and ", matrix, " & co")) == f"Hi <@{p.BOB}> and @Ada &lt;3 &amp; co"
    )


def test_long_text_is_cut_into_sections_without_breaking_entities() -> None:
    text = "a" * 2998 + "&amp;" + "b" * 10
    pieces = sections(text)
    assert all(len(piece) <= 3000 for piece in pieces)
    assert "".join(pieces) == text
    assert pieces[1].startswith("&amp;")
    lines = "\n".join(["x" * 1000] * 5)
    assert [len(piece) for piece in sections(lines)] == [2001, 2001, 1000]  # cut at line ends


def test_buttons_carry_the_core_action_and_come_back_as_presses() -> None:
    form = TextForm("Check-in", "Your answer", 500)
    args = message_args(
        p.GENERAL,
        ("A round opens",),
        (Button("checkin.answer", "7", "Answer", form), Button("checkin.pass", "7", "Pass")),
    )
    assert args["parse"] == "none" and "link_names" not in args
    actions = args["blocks"][-1]
    assert actions["type"] == "actions" and len(actions["elements"]) == 2
    answer = actions["elements"][0]
    pressed = block_action(p.block_actions(answer["value"], ts="1767225600.000100"), DIRECTORY)
    assert pressed is not None
    assert pressed.button == ButtonValue("checkin.answer", "7", form)
    event = pressed.inbound()
    assert isinstance(event, ButtonPressed)
    assert (event.action, event.value, event.message_id) == (
        "checkin.answer",
        "7",
        "1767225600.000100",
    )
    assert block_action(p.block_actions("{}", ts="1", action_id="other.app"), DIRECTORY) is None


def test_a_form_submission_is_the_press_of_its_button_with_the_text() -> None:
    value = ButtonValue("checkin.answer", "7", TextForm("Check-in", "Your answer", 500)).encode()
    pressed = block_action(p.block_actions(value, ts="1767225600.000100"), DIRECTORY)
    assert pressed is not None
    got = view_submission(p.view_submission(form_metadata(pressed), "Patience"), DIRECTORY)
    assert got is not None
    submitted, text = got
    assert text == "Patience"
    assert (submitted.button.action, submitted.button.value) == ("checkin.answer", "7")
    assert submitted.place == pressed.place and submitted.message_id == pressed.message_id
    assert view_submission(p.view_submission("not json", "x"), DIRECTORY) is None


def test_breakout_channel_names_are_valid_and_distinct() -> None:
    one, two = channel_name(p.GENERAL, "Group 1"), channel_name(p.GENERAL, "Group 2")
    assert one != two and one.startswith("group-1-")
    assert channel_name("C0OTHER", "Group 1") != one
    long = channel_name(p.GENERAL, "Ä " * 100)
    assert len(long) <= 80 and long == long.lower() and " " not in long


def test_errors_say_whether_to_retry() -> None:
    limited = platform_error("sending", "ratelimited", 429, "7")
    assert limited.retry_after == 7.0
    assert platform_error("sending", "channel_not_found", 200, None).permanent
    assert not platform_error("sending", "internal_error", 200, None).permanent
    assert not platform_error("sending", None, 503, None).permanent


def test_blocks_without_buttons_are_sections_only() -> None:
    assert [b["type"] for b in blocks("hello", ())] == ["section"]


def test_command_hints_use_the_configured_slash_names() -> None:
    names = {"checkin": "/cb-checkin", "me": "/cb-me", "help": "/help"}
    text = ("Say `/checkin pass` or `/me tz <zone>`; `/help`. Not /checkin or `/checkout`.",)
    assert render(text, Wording(names)) == (
        "Say `/cb-checkin pass` or `/cb-me tz &lt;zone&gt;`; `/help`. Not /checkin or `/checkout`."
    )


def test_leaving_a_channel_is_a_member_leaving() -> None:
    left = inbound(p.member_left())
    assert isinstance(left, MemberLeft)
    assert (left.actor.user_id, left.place.space) == (p.BOB, p.GENERAL)


def test_the_bots_own_edits_are_not_answers() -> None:
    """`chat.update` on the bot's round post comes back as `message_changed` by the bot."""
    event = p.message_changed("Round closed", "Round open")
    event["message"] |= {"user": p.BOT, "bot_id": "B0BOT"}
    assert inbound(event) is None


def test_names_and_roles_come_from_the_directory() -> None:
    directory = Directory(p.BOT, {p.ALICE: "Alice"}, COMMANDS, {p.ALICE: "organiser"})
    got = event_to_inbound(p.callback(p.message("hi")), directory)
    assert got is not None and got.actor.display_name == "Alice"
    assert got.actor.roles == ("organiser",)
    other = event_to_inbound(p.callback(p.message("hi", user=p.BOB)), directory)
    assert other is not None and other.actor.roles == () and other.actor.display_name == p.BOB


def test_a_channel_the_bot_opened_becomes_a_link_and_nothing_else_does() -> None:
    wording = Wording(channels=frozenset({"G0GROUP12"}))
    text = ("Your group's room is G0GROUP12. GOODMORNINGALL and G0OTHER999 stay text.",)
    assert render(text, wording) == (
        "Your group's room is <#G0GROUP12>. GOODMORNINGALL and G0OTHER999 stay text."
    )


def test_a_file_shared_without_words_is_not_a_message() -> None:
    assert inbound(p.message("", subtype="file_share")) is None
    shared = inbound(p.message("Our notes", subtype="file_share"))
    assert isinstance(shared, MessageReceived) and shared.text == "Our notes"


def test_a_broadcast_thread_reply_is_also_sent_to_the_channel() -> None:
    args = message_args("C1", ("Check-in closed",), thread="1.2", broadcast=True)
    assert (args["thread_ts"], args["reply_broadcast"]) == ("1.2", True)
    assert "reply_broadcast" not in message_args("C1", ("In the thread only",), thread="1.2")
