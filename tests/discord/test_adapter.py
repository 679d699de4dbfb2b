"""The Discord adapter against the fake Discord: gateway, HTTP, interactions, limits."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from adapters.contract import (
    Button,
    ButtonPressed,
    CommandInvoked,
    Direct,
    MessageReceived,
    NativeEventChanged,
    NativePublished,
    Place,
    PlatformName,
    PublishNativeEvent,
    SendMessage,
    Sent,
    SpaceId,
    TextForm,
    UserId,
)
from adapters.discord.adapter import GlobalPacer
from tests.discord import payloads as p
from tests.discord.conftest import Connected, adapter_for
from tests.discord.fake_discord import FakeDiscord

pytestmark = pytest.mark.discord

ROOM = Place(PlatformName("discord"), SpaceId(p.CHANNEL))


async def test_it_identifies_with_only_the_intents_it_uses_and_syncs_commands(
    connected: Connected,
) -> None:
    fake = connected.fake
    [identify] = fake.identified
    # guilds 1<<0, guild messages 1<<9, DMs 1<<12, message content 1<<15, events 1<<16
    assert identify["intents"] == (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15) | (1 << 16)
    names = [c["name"] for c in fake.commands[p.GUILD]]
    assert names == ["checkin", "breakout", "event", "nudge", "me", "role", "help"]


async def test_messages_and_text_commands_arrive(connected: Connected) -> None:
    fake = connected.fake
    mid = fake.say("201", "!checkin pass")
    command = await connected.next(CommandInvoked)
    assert command.text == "checkin pass" and command.message_id == mid
    fake.say("201", "hello")
    message = await connected.next(MessageReceived)
    assert message.text == "hello" and message.place == ROOM


async def test_a_send_pings_nobody_it_did_not_name_and_a_retry_is_one_message(
    connected: Connected,
) -> None:
    action = SendMessage(key="reply:x:1", to=ROOM, text=("@everyone <@&1> hi",))
    first = await connected.adapter.perform(action)
    connected.adapter._done.clear()  # as after a restart: only the nonce stops a second one
    second = await connected.adapter.perform(action)
    assert isinstance(first, Sent) and isinstance(second, Sent)
    assert first.message_id == second.message_id
    [call, again] = connected.fake.bot_calls("POST", rf"/channels/{p.CHANNEL}/messages")
    assert call.body["allowed_mentions"]["parse"] == [] and call.body["enforce_nonce"] is True
    assert call.body["nonce"] == again.body["nonce"]
    assert connected.fake.texts(p.CHANNEL) == ["@\u200beveryone <@&1> hi"]


async def test_a_429_waits_its_retry_after(connected: Connected) -> None:
    fake = connected.fake
    fake.limit_next(rf"POST /channels/{p.CHANNEL}/messages", 0.4)
    await connected.adapter.perform(SendMessage(key="k429", to=ROOM, text=("after a wait",)))
    limited, sent = fake.bot_calls("POST", rf"/channels/{p.CHANNEL}/messages")
    assert limited.status == 429 and sent.status == 200
    assert sent.at - limited.at >= 0.4
    assert fake.texts(p.CHANNEL) == ["after a wait"]


async def test_a_direct_message_opens_the_dm_channel_once(connected: Connected) -> None:
    to = Direct(PlatformName("discord"), UserId("201"))
    a = await connected.adapter.perform(SendMessage(key="d1", to=to, text=("one",)))
    b = await connected.adapter.perform(SendMessage(key="d2", to=to, text=("two",)))
    assert isinstance(a, Sent) and isinstance(b, Sent) and a.place == b.place and a.place.direct
    assert len(connected.fake.bot_calls("POST", "/users/@me/channels")) == 1
    assert connected.fake.texts(a.place.space) == ["one", "two"]


async def test_a_slash_command_is_deferred_at_once_and_answered_in_place(
    connected: Connected,
) -> None:
    fake = connected.fake
    iid = fake.slash("201", "checkin", [{"type": 1, "name": "status", "options": []}])
    assert (await fake.answered_within(iid, 3.0)) == {"type": 5}
    command = await connected.next(CommandInvoked)
    assert command.text == "checkin status" and command.event_id == iid
    reply = SendMessage(key=f"reply:discord:{iid}:1", to=command.place, text=("2 answered",))
    await connected.adapter.perform(reply)
    assert fake.originals[iid]["content"] == "2 answered"


async def test_a_refusal_is_ephemeral(connected: Connected) -> None:
    fake = connected.fake
    iid = fake.slash("201", "checkin", [{"type": 1, "name": "close", "options": []}])
    command = await connected.next(CommandInvoked)
    private = Direct(PlatformName("discord"), command.actor.user_id)
    await connected.adapter.perform(
        SendMessage(key=f"reply:discord:{iid}:1", to=private, text=("needs the catalyst role",))
    )
    [followup] = fake.followups
    assert followup["flags"] == 64 and iid not in fake.originals
    assert "needs the catalyst role" not in fake.texts(p.CHANNEL)


async def test_a_form_button_opens_a_modal_and_its_text_arrives(connected: Connected) -> None:
    fake = connected.fake
    buttons = (
        Button("checkin.answer", "7", "Answer", form=TextForm("Check-in", "Your answer")),
        Button("checkin.pass", "7", "Pass"),
    )
    sent = await connected.adapter.perform(
        SendMessage(key="round7", to=ROOM, text=("How are you?",), buttons=buttons)
    )
    assert isinstance(sent, Sent) and sent.thread == sent.message_id
    assert sent.message_id in fake.channels, "a round post gets its thread for replies"
    iid = fake.press("201", sent.message_id, "+checkin.answer|7")
    modal = await fake.answered_within(iid)
    assert modal["type"] == 9 and modal["data"]["title"] == "Check-in"
    assert connected.inbound.empty(), "opening the form is the adapter's own business"
    sid = fake.submit("201", sent.message_id, modal["data"]["custom_id"], "Rested")
    assert (await fake.answered_within(sid))["type"] == 6
    pressed = await connected.next(ButtonPressed)
    assert (pressed.action, pressed.value, pressed.text) == ("checkin.answer", "7", "Rested")
    pid = fake.press("202", sent.message_id, "checkin.pass|7")
    await fake.answered_within(pid)
    passed = await connected.next(ButtonPressed)
    assert (passed.action, passed.text, passed.actor.user_id) == ("checkin.pass", None, "202")


async def test_thread_replies_and_edits_arrive_placed_in_their_thread(
    connected: Connected,
) -> None:
    fake = connected.fake
    sent = await connected.adapter.perform(
        SendMessage(
            key="r1", to=ROOM, text=("Round",), buttons=(Button("checkin.pass", "1", "Pass"),)
        )
    )
    assert isinstance(sent, Sent) and sent.thread is not None
    mid = fake.say("201", "my answer", channel=sent.thread)
    answer = await connected.next(MessageReceived)
    assert answer.place.thread == sent.thread and answer.place.space == p.CHANNEL
    fake.edit(mid, "my better answer")
    edit = await connected.next(MessageReceived)
    assert edit.edits == mid and edit.text == "my better answer"


async def test_autocomplete_offers_prompt_ids(connected: Connected) -> None:
    fake = connected.fake
    data = p.interaction(
        fake.next_id(),
        4,
        {
            "name": "checkin",
            "options": [
                {
                    "type": 1,
                    "name": "open",
                    "options": [{"type": 3, "name": "prompt", "value": "ener", "focused": True}],
                }
            ],
        },
    )
    iid = fake._interact(data)
    answer = await fake.answered_within(iid)
    assert answer["data"]["choices"] == [
        {"name": "energy: How is your energy today?", "value": "energy"}
    ]


async def test_the_gateway_resumes_after_a_drop_without_losing_or_repeating(
    connected: Connected,
) -> None:
    fake = connected.fake
    fake.say("201", "before")
    assert (await connected.next(MessageReceived)).text == "before"
    await fake.drop()
    fake.say("202", "during 1")
    fake.say("203", "during 2")
    await fake.connected()
    fake.say("204", "after")
    texts = [(await connected.next(MessageReceived)).text for _ in range(3)]
    assert texts == ["during 1", "during 2", "after"]
    [resume] = fake.resumed
    assert resume["session_id"] == fake.session and resume["seq"] >= 3
    assert len(fake.identified) == 1, "resumed, not a new session"
    await asyncio.sleep(0.2)
    assert connected.inbound.empty(), "nothing repeated"


async def test_the_pacer_keeps_to_its_limit_in_any_window() -> None:
    pacer = GlobalPacer(limit=20, per=0.2)
    stamps = []
    for _ in range(60):
        await pacer.acquire()
        stamps.append(time.monotonic())
    for i in range(len(stamps) - 20):
        assert stamps[i + 20] - stamps[i] >= 0.2 - 1e-3


async def test_a_configured_role_name_is_mapped_to_its_community_role(
    discord_fake: FakeDiscord,
) -> None:
    adapter = adapter_for(discord_fake, roles={"catalyst": "catalyst"})
    link = Connected(discord_fake, adapter)
    await adapter.start(link.sink)
    try:
        discord_fake.slash("201", "help", [], roles=[p.CATALYST_ROLE])
        command = await link.next(CommandInvoked)
        assert command.actor.roles == ("catalyst",)
        [identify] = discord_fake.identified
        assert not identify["intents"] & (1 << 15), "no message content unless configured"
    finally:
        await adapter.stop()


async def test_a_channels_message_bucket_is_waited_for_not_overrun(connected: Connected) -> None:
    fake = connected.fake
    fake.bucket_size, fake.bucket_seconds = 3, 0.6
    for n in range(7):
        await connected.adapter.perform(SendMessage(key=f"b{n}", to=ROOM, text=(f"m{n}",)))
    calls = fake.bot_calls("POST", rf"/channels/{p.CHANNEL}/messages")
    assert [c.status for c in calls] == [200] * 7, "no 429: the bucket was respected"
    assert calls[3].at - calls[0].at >= 0.6 - 0.05
    assert fake.texts(p.CHANNEL) == [f"m{n}" for n in range(7)]


async def test_a_published_event_is_created_once_and_its_echo_is_not_imported(
    connected: Connected,
) -> None:
    start = datetime(2026, 3, 10, 18, tzinfo=UTC)
    action = PublishNativeEvent(
        key="pub1",
        place=ROOM,
        title="Weekly call",
        start=start,
        end=start + timedelta(hours=1),
        zone="Europe/London",
        rrule="FREQ=WEEKLY",
        link="https://meet.example/x",
    )
    result = await connected.adapter.perform(action)
    assert isinstance(result, NativePublished)
    event = connected.fake.scheduled[result.native_id]
    assert event["recurrence_rule"]["frequency"] == 2 and event["name"] == "Weekly call"
    moved = await connected.adapter.perform(
        PublishNativeEvent(
            **{
                **action.__dict__,
                "key": "pub2",
                "native_id": result.native_id,
                "title": "Weekly call (moved)",
            }
        )
    )
    assert moved == result and event["name"] == "Weekly call (moved)"
    change = await connected.next(NativeEventChanged)  # the update's echo; the create's is not
    assert change.native_id == result.native_id and change.title == "Weekly call (moved)"


async def test_without_message_content_it_says_so_at_start(
    discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = adapter_for(discord_fake)
    await adapter.start(Connected(discord_fake, adapter).sink)
    try:
        assert any("message-content intent is off" in r.getMessage() for r in caplog.records)
    finally:
        await adapter.stop()


async def test_events_made_while_away_are_imported_with_who_is_interested(
    discord_fake: FakeDiscord,
) -> None:
    event = p.scheduled_event("1300000000000009999", name="Book club")
    discord_fake.scheduled[event["id"]] = event
    discord_fake.interest[event["id"]] = {str(1100000000000000300 + i) for i in range(130)}
    adapter = adapter_for(discord_fake)
    link = Connected(discord_fake, adapter)
    await adapter.start(link.sink)
    try:
        imported = await link.next(NativeEventChanged)
        assert imported.title == "Book club" and imported.interested is not None
        assert len(imported.interested) == 130, "every page of the Interested list"
        pages = discord_fake.bot_calls("GET", r"/guilds/\d+/scheduled-events/\d+/users")
        assert len(pages) == 2
    finally:
        await adapter.stop()
