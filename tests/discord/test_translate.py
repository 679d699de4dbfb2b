"""The pure translation, on recorded gateway and interaction payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.contract import (
    Button,
    ButtonPressed,
    CommandInvoked,
    MemberJoined,
    MemberLeft,
    Mention,
    MessageReceived,
    NativeChange,
    NativeEventChanged,
    NativeInterest,
    Place,
    PublishNativeEvent,
    SpaceId,
    TextForm,
    ThreadId,
    UserId,
)
from adapters.discord import translate as t
from tests.discord import payloads as p

pytestmark = pytest.mark.discord

VIEW = t.View(self_id=p.BOT, session="s1", seq=7, parents={p.THREAD: p.CHANNEL})


def test_a_channel_message_and_a_text_command() -> None:
    msg = t.to_inbound("MESSAGE_CREATE", p.message_create("501", "200", "Ada", "hello"), VIEW)
    assert isinstance(msg, MessageReceived)
    assert msg.text == "hello" and msg.place == Place(t.PLATFORM, SpaceId(p.CHANNEL))
    assert msg.actor.display_name == "Ada" and msg.event_id == "msg:501"
    cmd = t.to_inbound(
        "MESSAGE_CREATE", p.message_create("502", "200", "Ada", "!checkin pass"), VIEW
    )
    assert isinstance(cmd, CommandInvoked) and cmd.text == "checkin pass"


def test_thread_replies_are_placed_under_their_channel_and_dms_are_direct() -> None:
    reply = t.to_inbound(
        "MESSAGE_CREATE", p.message_create("503", "201", "Bea", "fine", channel=p.THREAD), VIEW
    )
    assert reply is not None
    assert reply.place == Place(t.PLATFORM, SpaceId(p.CHANNEL), ThreadId(p.THREAD))
    dm = t.to_inbound(
        "MESSAGE_CREATE", p.message_create("504", "201", "Bea", "hi", channel="9", guild=None), VIEW
    )
    assert dm is not None and dm.place.direct and dm.place.space == "9"


def test_mentions_read_as_names_and_bots_and_system_messages_are_ignored() -> None:
    data = p.message_create("505", "200", "Ada", "hi <@201>", mentions=[p.user("201", "Bea")])
    msg = t.to_inbound("MESSAGE_CREATE", data, VIEW)
    assert isinstance(msg, MessageReceived) and msg.text == "hi @Bea"
    own = p.message_create("506", p.BOT, "Bot", "my post")
    assert t.to_inbound("MESSAGE_CREATE", own, VIEW) is None
    other_bot = p.message_create("507", "300", "Other", "beep")
    other_bot["author"]["bot"] = True
    assert t.to_inbound("MESSAGE_CREATE", other_bot, VIEW) is None
    pin = p.message_create("508", "200", "Ada", "")
    pin["type"] = 6
    assert t.to_inbound("MESSAGE_CREATE", pin, VIEW) is None


def test_an_edit_replaces_and_each_edit_is_a_distinct_event() -> None:
    edit = t.to_inbound("MESSAGE_UPDATE", p.message_update("501", "200", "Ada", "better"), VIEW)
    assert isinstance(edit, MessageReceived) and edit.edits == "501" and edit.text == "better"
    assert edit.event_id != "msg:501"
    embed_only = {"id": "501", "channel_id": p.CHANNEL, "guild_id": p.GUILD, "embeds": []}
    assert t.to_inbound("MESSAGE_UPDATE", embed_only, VIEW) is None


def test_other_guilds_are_not_heard_when_guilds_are_configured() -> None:
    view = t.View(self_id=p.BOT, guilds=frozenset({"42"}))
    assert t.to_inbound("MESSAGE_CREATE", p.message_create("1", "2", "A", "x"), view) is None


@pytest.mark.parametrize(
    ("name", "options", "text"),
    [
        (
            "checkin",
            [
                {
                    "type": 1,
                    "name": "open",
                    "options": [
                        {"type": 3, "name": "prompt", "value": "energy"},
                        {"type": 5, "name": "anonymous", "value": True},
                        {"type": 3, "name": "until", "value": "friday 17:00"},
                    ],
                }
            ],
            "checkin open energy --anonymous --until friday 17:00",
        ),
        (
            "checkin",
            [
                {
                    "type": 1,
                    "name": "open",
                    "options": [
                        {"type": 3, "name": "prompt", "value": "How is your week?"},
                        {"type": 5, "name": "dm", "value": False},
                    ],
                }
            ],
            'checkin open "How is your week?"',
        ),
        ("checkin", [{"type": 1, "name": "pass", "options": []}], "checkin pass"),
        (
            "checkin",
            [
                {
                    "type": 1,
                    "name": "answer",
                    "options": [{"type": 3, "name": "text", "value": 'tired but "ok"'}],
                }
            ],
            'checkin tired but "ok"',
        ),
        (
            "breakout",
            [
                {
                    "type": 1,
                    "name": "start",
                    "options": [
                        {"type": 4, "name": "groups", "value": 2},
                        {"type": 3, "name": "provocation", "value": "What surprised you?"},
                        {"type": 4, "name": "minutes", "value": 15},
                    ],
                }
            ],
            'breakout 2 groups "What surprised you?" --minutes 15',
        ),
        (
            "event",
            [
                {
                    "type": 1,
                    "name": "add",
                    "options": [
                        {"type": 3, "name": "title", "value": "Game night"},
                        {"type": 3, "name": "when", "value": "2026-03-10 18:00"},
                        {"type": 3, "name": "every", "value": "weekly"},
                        {"type": 5, "name": "publish", "value": True},
                    ],
                }
            ],
            'event add "Game night" 2026-03-10 18:00 --every weekly --publish',
        ),
        (
            "nudge",
            [
                {
                    "type": 1,
                    "name": "send",
                    "options": [
                        {"type": 3, "name": "text", "value": "Say hi"},
                        {"type": 3, "name": "at", "value": "tomorrow 9:00"},
                    ],
                }
            ],
            'nudge "Say hi" --at tomorrow 9:00',
        ),
        (
            "role",
            [
                {"type": 3, "name": "role", "value": "catalyst"},
                {"type": 6, "name": "user", "value": "201"},
            ],
            "role catalyst discord:201",
        ),
        (
            "me",
            [
                {
                    "type": 1,
                    "name": "tz",
                    "options": [{"type": 3, "name": "zone", "value": "Europe/Paris"}],
                }
            ],
            "me tz Europe/Paris",
        ),
        ("help", [], "help"),
    ],
)
def test_slash_commands_become_the_command_language(
    name: str, options: list[dict[str, object]], text: str
) -> None:
    event = t.to_inbound("INTERACTION_CREATE", p.slash("900", name, options), VIEW)
    assert isinstance(event, CommandInvoked)
    assert event.text == text and event.event_id == "900" and event.actor.user_id == "200"


def test_an_interaction_carries_the_users_client_language() -> None:
    body = {**p.slash("902", "help", []), "locale": "es-ES"}
    event = t.to_inbound("INTERACTION_CREATE", body, VIEW)
    assert event is not None and event.actor.locale == "es-ES"
    message = t.to_inbound("MESSAGE_CREATE", p.message_create("503", "200", "Ada", "hi"), VIEW)
    assert message is not None and message.actor.locale is None, "a message says no language"


def test_unknown_commands_and_sub_commands_are_ignored() -> None:
    assert t.to_inbound("INTERACTION_CREATE", p.slash("901", "nope", []), VIEW) is None
    odd = p.slash("902", "checkin", [{"type": 1, "name": "explode", "options": []}])
    assert t.to_inbound("INTERACTION_CREATE", odd, VIEW) is None


def test_a_button_press_and_a_modal_submission() -> None:
    press = p.interaction(
        "910", 3, {"custom_id": "checkin.pass|12", "component_type": 2}, message_id="600"
    )
    event = t.to_inbound("INTERACTION_CREATE", press, VIEW)
    assert isinstance(event, ButtonPressed)
    assert (event.action, event.value, event.message_id, event.text) == (
        "checkin.pass",
        "12",
        "600",
        None,
    )
    submit = p.interaction(
        "911",
        5,
        {
            "custom_id": "checkin.answer|12",
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "text", "value": "great"}]}
            ],
        },
        message_id="600",
    )
    event = t.to_inbound("INTERACTION_CREATE", submit, VIEW)
    assert isinstance(event, ButtonPressed) and event.text == "great"
    label = {
        "custom_id": "checkin.answer|12",
        "components": [
            {"type": 18, "component": {"type": 4, "custom_id": "text", "value": "via label"}}
        ],
    }
    event = t.to_inbound("INTERACTION_CREATE", p.interaction("912", 5, label), VIEW)
    assert isinstance(event, ButtonPressed) and event.text == "via label"


def test_a_dm_interaction_is_direct() -> None:
    press = p.interaction(
        "913", 3, {"custom_id": "checkin.pass|3", "component_type": 2}, guild=None, channel="77"
    )
    event = t.to_inbound("INTERACTION_CREATE", press, VIEW)
    assert event is not None and event.place.direct and event.actor.user_id == "200"


def test_members_joining_and_leaving() -> None:
    joined = t.to_inbound("GUILD_MEMBER_ADD", {**p.member("201", "Bea"), "guild_id": p.GUILD}, VIEW)
    assert isinstance(joined, MemberJoined) and joined.actor.display_name == "Bea"
    left = t.to_inbound(
        "GUILD_MEMBER_REMOVE", {"guild_id": p.GUILD, "user": p.user("201", "Bea")}, VIEW
    )
    assert isinstance(left, MemberLeft) and left.place.space == p.GUILD


def test_scheduled_events_and_interest() -> None:
    weekly = {
        "start": "2026-03-05T18:00:00+00:00",
        "end": None,
        "frequency": 2,
        "interval": 1,
        "by_weekday": [3],
        "by_n_weekday": None,
        "by_month": None,
        "by_month_day": None,
        "by_year_day": None,
        "count": None,
    }
    made = t.to_inbound(
        "GUILD_SCHEDULED_EVENT_CREATE", p.scheduled_event("700", recurrence=weekly), VIEW
    )
    assert isinstance(made, NativeEventChanged) and made.change is NativeChange.CREATED
    assert made.start == datetime(2026, 3, 5, 18, tzinfo=UTC)
    assert made.end == datetime(2026, 3, 5, 20, tzinfo=UTC)
    assert made.rrule == "FREQ=WEEKLY;BYDAY=TH" and made.link == "https://meet.example/game"
    assert made.title == "Game night" and made.actor.user_id == "200"
    voice = p.scheduled_event("701", location="")
    voice["entity_type"], voice["entity_metadata"] = 2, None
    event = t.to_inbound("GUILD_SCHEDULED_EVENT_UPDATE", voice, VIEW)
    assert isinstance(event, NativeEventChanged) and event.change is NativeChange.CHANGED
    assert event.link == f"https://discord.com/events/{p.GUILD}/701"
    cancelled = t.to_inbound(
        "GUILD_SCHEDULED_EVENT_UPDATE", p.scheduled_event("700", status=4), VIEW
    )
    assert isinstance(cancelled, NativeEventChanged)
    assert cancelled.change is NativeChange.CANCELLED
    gone = t.to_inbound("GUILD_SCHEDULED_EVENT_DELETE", p.scheduled_event("700"), VIEW)
    assert isinstance(gone, NativeEventChanged) and gone.change is NativeChange.CANCELLED
    data = {"guild_scheduled_event_id": "700", "user_id": "201", "guild_id": p.GUILD}
    add = t.to_inbound("GUILD_SCHEDULED_EVENT_USER_ADD", data, VIEW)
    assert isinstance(add, NativeInterest) and add.interested and add.native_id == "700"
    remove = t.to_inbound("GUILD_SCHEDULED_EVENT_USER_REMOVE", data, t.View(p.BOT, "s1", 8))
    assert isinstance(remove, NativeInterest) and not remove.interested
    assert remove.event_id != add.event_id


@pytest.mark.parametrize(
    ("rrule", "expected"),
    [
        ("FREQ=WEEKLY", {"frequency": 2, "interval": 1, "by_weekday": [3]}),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", {"frequency": 2, "interval": 2, "by_weekday": [1]}),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            {"frequency": 3, "interval": 1, "by_weekday": [0, 1, 2, 3, 4]},
        ),
        (
            "FREQ=MONTHLY;BYDAY=2TU",
            {"frequency": 1, "interval": 1, "by_n_weekday": [{"n": 2, "day": 1}]},
        ),
        ("FREQ=YEARLY", {"frequency": 0, "interval": 1, "by_month": [3], "by_month_day": [5]}),
        ("FREQ=WEEKLY;BYDAY=MO,TH", None),
        ("FREQ=WEEKLY;COUNT=4", None),
        ("FREQ=MONTHLY;BYMONTHDAY=15", None),
        ("FREQ=HOURLY", None),
    ],
)
def test_recurrence_crosses_over_where_discord_can_express_it(
    rrule: str, expected: dict[str, object] | None
) -> None:
    start = datetime(2026, 3, 5, 18, tzinfo=UTC)  # a Thursday
    rule = t.recurrence_rule(rrule, start)
    if expected is None:
        assert rule is None
        return
    assert rule is not None and rule.pop("start") == "2026-03-05T18:00:00Z"
    assert rule == expected
    back = t.rrule_of(rule)
    assert back is not None and back.split(";")[0] == rrule.split(";")[0]


def test_only_the_bots_own_mentions_ping() -> None:
    body = t.message_body(
        (
            "@everyone look, <@&555> and <@201> typed by a member, and ",
            Mention(t.PLATFORM, UserId("202"), "Cyd"),
            " @here",
        ),
        key="k1",
    )
    assert body["allowed_mentions"] == {"parse": [], "users": ["202"], "replied_user": False}
    assert "@everyone" not in body["content"] and "@here" not in body["content"]
    assert "<@202>" in body["content"]
    other = t.message_body((Mention(t.PLATFORM, UserId("web-ann"), "Ann"),), key="k")
    assert other["content"] == "@Ann" and other["allowed_mentions"]["users"] == []


def test_the_nonce_is_stable_per_key_and_enforced() -> None:
    a, b = t.message_body(("x",), key="reply:1"), t.message_body(("y",), key="reply:1")
    assert a["nonce"] == b["nonce"] and len(a["nonce"]) <= 25 and a["enforce_nonce"] is True
    assert t.message_body(("x",), key="reply:2")["nonce"] != a["nonce"]


def test_buttons_go_in_rows_of_five_and_a_form_opens_a_modal() -> None:
    buttons = tuple(Button("a", str(i), f"B{i}") for i in range(7))
    rows = t.message_body(("pick",), key="k", buttons=buttons)["components"]
    assert [len(r["components"]) for r in rows] == [5, 2]
    assert rows[1]["components"][0]["custom_id"] == "a|5"
    modal = t.modal_response("checkin.answer|4", TextForm("Check-in", "Your answer", 9000))
    field = modal["data"]["components"][0]["components"][0]
    assert modal["type"] == 9 and field["max_length"] == 4000 and field["custom_id"] == "text"


def test_summaries_are_embeds_and_texts_fit_a_message() -> None:
    body = t.message_body(("Round 3 summary\n5 answered",), key="k", embed=True)
    assert "content" not in body
    assert body["embeds"][0]["title"] == "Round 3 summary"
    assert len(t.render(("x" * 3000,))[0]) == t.MAX_CONTENT


def test_a_published_event_is_an_external_scheduled_event() -> None:
    start = datetime(2026, 3, 10, 18, tzinfo=UTC)
    action = PublishNativeEvent(
        key="e1",
        place=Place(t.PLATFORM, SpaceId(p.CHANNEL)),
        title="Weekly call",
        start=start,
        end=start.replace(hour=19),
        zone="Europe/London",
        rrule="FREQ=WEEKLY;COUNT=3",
        link="https://meet.example/x",
    )
    body = t.scheduled_event_body(action)
    assert body["entity_type"] == 3 and body["entity_metadata"] == {
        "location": "https://meet.example/x"
    }
    assert body["scheduled_start_time"] == "2026-03-10T18:00:00Z" and "recurrence_rule" not in body


def test_errors_keep_rate_limits_retryable() -> None:
    limited = t.platform_error(
        "send",
        429,
        {"message": "You are being rate limited.", "retry_after": 0.35, "global": False},
    )
    assert limited.retry_after == 0.35 and not limited.permanent
    assert t.platform_error("send", 403, {"message": "Missing Access", "code": 50001}).permanent
    assert not t.platform_error("send", 502, "Bad gateway").permanent


def test_autocomplete_offers_matching_prompt_ids() -> None:
    body = {
        "name": "checkin",
        "options": [
            {
                "type": 1,
                "name": "open",
                "options": [{"type": 3, "name": "prompt", "value": "ener", "focused": True}],
            }
        ],
    }
    assert t.focused_option(body) == "ener"
    answer = t.autocomplete_response("ener", {"energy": "How is your energy?", "win": "A win"})
    assert answer["data"]["choices"] == [{"name": "energy: How is your energy?", "value": "energy"}]


def test_the_command_payloads_are_well_formed() -> None:
    commands = t.command_payloads()
    names = [c["name"] for c in commands]
    assert names == ["checkin", "breakout", "event", "nudge", "me", "role", "help"]
    for c in commands:
        for o in c["options"]:
            assert o["name"].islower() and len(o["name"]) <= 32
            inner = o.get("options", [])
            required = [x["required"] for x in inner]
            assert required == sorted(required, reverse=True)  # required options first


def test_mapped_discord_roles_travel_with_the_actor() -> None:
    view = t.View(self_id=p.BOT, roles={p.CATALYST_ROLE: "catalyst"})
    data = p.slash("920", "help", [], roles=[p.CATALYST_ROLE, "999"])
    event = t.to_inbound("INTERACTION_CREATE", data, view)
    assert event is not None and event.actor.roles == ("catalyst",)
    plain = t.to_inbound("INTERACTION_CREATE", p.slash("921", "help", [], roles=["999"]), view)
    assert plain is not None and plain.actor.roles == ()
