"""The Slack adapter against the fake Slack: Socket Mode in, Web API out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.contract import (
    Button,
    ButtonPressed,
    CommandInvoked,
    Direct,
    Inbound,
    Mention,
    MessageReceived,
    OpenSubSpace,
    Place,
    PlatformName,
    SendMessage,
    Sent,
    SpaceId,
    SubSpaceOpened,
    TextForm,
    UserId,
)
from adapters.slack.adapter import SlackAdapter
from bot.config import Secret
from bot.errors import PlatformError
from tests.contract.subjects import open_db
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, GENERAL, FakeSlack

pytestmark = pytest.mark.slack
SLACK = PlatformName("slack")
ALICE = "U0ALICE"


class Inbox:
    def __init__(self) -> None:
        self.events: asyncio.Queue[Inbound] = asyncio.Queue()

    async def sink(self, event: Inbound) -> None:
        await self.events.put(event)

    async def next(self, kind: type[Inbound]) -> Inbound:
        async with asyncio.timeout(10):
            while True:
                event = await self.events.get()
                if isinstance(event, kind):
                    return event


@pytest.fixture
async def adapter(
    fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[tuple[SlackAdapter, Inbox]]:
    fake_slack.add_user(ALICE, "Alice")
    fake_slack.channels[GENERAL].members.add(ALICE)
    db = await open_db(tmp_path)
    adapter = SlackAdapter(
        db,
        bot_token=Secret(BOT_TOKEN),
        app_token=Secret(APP_TOKEN),
        base_url=fake_slack.base_url,
        commands={"checkin": "/cb-checkin"},
        messages_per_minute=600,
    )
    inbox = Inbox()
    await adapter.start(inbox.sink)
    async with asyncio.timeout(10):
        await fake_slack.connected.wait()
    yield adapter, inbox
    await adapter.stop()
    await db.close()


async def test_messages_and_slash_commands_arrive_with_names(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    _, inbox = adapter
    ts = await fake_slack.say(ALICE, GENERAL, "Hello &amp; welcome")
    message = await inbox.next(MessageReceived)
    assert isinstance(message, MessageReceived)
    assert (message.text, message.message_id, message.actor.display_name) == (
        "Hello & welcome",
        ts,
        "Alice",
    )
    ack = await fake_slack.slash(ALICE, GENERAL, "/cb-checkin", "pass")
    assert ack["envelope_id"]
    command = await inbox.next(CommandInvoked)
    assert isinstance(command, CommandInvoked) and command.text == "checkin pass"


async def test_a_person_arrives_with_the_language_their_slack_is_set_to(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    _, inbox = adapter
    fake_slack.add_user("U0BEA", "Bea", locale="es-LA")
    await fake_slack.say("U0BEA", GENERAL, "Hola")
    message = await inbox.next(MessageReceived)
    assert message.actor.display_name == "Bea" and message.actor.locale == "es-LA"
    await fake_slack.slash("U0BEA", GENERAL, "/cb-checkin", "pass")
    command = await inbox.next(CommandInvoked)
    assert command.actor.locale == "es-LA"


async def test_a_message_is_sent_once_per_key_and_pings_only_mentions(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    slack, _ = adapter
    place = Place(SLACK, SpaceId(GENERAL))
    text = ("Hi ", Mention(SLACK, UserId(ALICE), "Alice"), ", you said <!channel>")
    first = await slack.perform(SendMessage(key="k1", to=place, text=text))
    again = await slack.perform(SendMessage(key="k1", to=place, text=text))
    assert isinstance(first, Sent) and again == first
    assert fake_slack.texts(GENERAL) == [f"Hi <@{ALICE}>, you said &lt;!channel&gt;"]


async def test_a_dm_goes_to_the_users_dm_channel(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    slack, _ = adapter
    sent = await slack.perform(SendMessage(key="dm", to=Direct(SLACK, UserId(ALICE)), text=("Hi",)))
    assert isinstance(sent, Sent) and sent.place.direct
    assert fake_slack.texts(sent.place.space) == ["Hi"]


async def test_a_rate_limit_carries_retry_after(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    slack, _ = adapter
    fake_slack.fail_next("chat.postMessage", "ratelimited", 429, retry_after=7)
    with pytest.raises(PlatformError) as caught:
        await slack.perform(SendMessage(key="rl", to=Place(SLACK, SpaceId(GENERAL)), text=("x",)))
    assert caught.value.retry_after == 7.0
    assert fake_slack.texts(GENERAL) == []


async def test_one_channel_gets_at_most_one_message_a_second(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    slack, _ = adapter
    place = Place(SLACK, SpaceId(GENERAL))
    await asyncio.gather(
        *(slack.perform(SendMessage(key=f"p{i}", to=place, text=(f"m{i}",))) for i in range(3))
    )
    times = [p.at for p in fake_slack.posted]
    assert len(times) == 3 and fake_slack.limited == 0
    assert times[2] - times[0] >= 1.9


async def test_bursts_of_channels_and_name_look_ups_keep_to_their_tiers(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    """Four channels at once (Tier 2: 20 a minute, Slack's burst 3) and a dozen names
    (Tier 4: 100 a minute, burst 10): paced, Slack refuses none of them."""
    slack, _ = adapter
    people = [f"U0P{i:02d}" for i in range(12)]
    for user in people:
        fake_slack.add_user(user, f"Person {user}")
    fake_slack.channels[GENERAL].members.update(people)
    general = Place(SLACK, SpaceId(GENERAL))
    opened, present = await asyncio.gather(
        asyncio.gather(
            *(
                slack.perform(
                    OpenSubSpace(key=f"g{n}", parent=general, name=f"Group {n}", members=(ALICE,))
                )
                for n in range(4)
            )
        ),
        slack.present(general),
    )
    assert fake_slack.limited == 0, "no call was answered 429"
    assert len({r.place.space for r in opened if isinstance(r, SubSpaceOpened)}) == 4
    assert {a.display_name for a in present} >= {f"Person {u}" for u in people}


async def test_a_burst_of_presses_opens_every_form_without_a_429(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    """Eleven people press Answer at once: `views.open` (Tier 4, Slack's burst 10) is paced,
    each modal still inside its trigger's three seconds, and Slack refuses none."""
    slack, _ = adapter
    people = [f"U0Q{i:02d}" for i in range(11)]
    for user in people:
        fake_slack.add_user(user, f"Person {user}")
    form = TextForm("Check-in", "Your answer")
    sent = await slack.perform(
        SendMessage(
            key="round",
            to=Place(SLACK, SpaceId(GENERAL)),
            text=("What do you bring today?",),
            buttons=(Button("checkin.answer", "1", "Answer", form),),
        )
    )
    assert isinstance(sent, Sent)
    await asyncio.gather(
        *(fake_slack.press(user, GENERAL, sent.message_id, "Answer") for user in people)
    )
    await fake_slack.until(lambda: all(fake_slack.view_for(u) for u in people))
    assert fake_slack.limited == 0, "no call was answered 429"


async def test_a_button_with_a_form_opens_a_modal_and_its_text_comes_back(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    slack, inbox = adapter
    sent = await slack.perform(
        SendMessage(
            key="round",
            to=Place(SLACK, SpaceId(GENERAL)),
            text=("What do you bring today?",),
            buttons=(Button("checkin.pass", "1", "Pass"),),
        )
    )
    assert isinstance(sent, Sent)
    await fake_slack.press(ALICE, GENERAL, sent.message_id, "Pass")
    pressed = await inbox.next(ButtonPressed)
    assert isinstance(pressed, ButtonPressed)
    assert (pressed.action, pressed.value, pressed.message_id) == (
        "checkin.pass",
        "1",
        sent.message_id,
    )


async def test_admins_are_organisers_and_a_user_group_catalysts_when_configured(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.add_user("U0ADMIN", "Ada", admin=True)
    fake_slack.add_user("U0CAT", "Cat")
    fake_slack.add_user("U0MEM", "Mem")
    fake_slack.usergroups["S0CATALYSTS"] = ["U0CAT"]
    fake_slack.channels[GENERAL].members.update({"U0ADMIN", "U0CAT", "U0MEM"})
    db = await open_db(tmp_path)
    slack = SlackAdapter(
        db,
        bot_token=Secret(BOT_TOKEN),
        app_token=Secret(APP_TOKEN),
        base_url=fake_slack.base_url,
        organisers_from_admins=True,
        catalyst_usergroup="S0CATALYSTS",
    )
    inbox = Inbox()
    await slack.start(inbox.sink)
    try:
        roles = {}
        for user in ("U0ADMIN", "U0CAT", "U0MEM"):
            await fake_slack.say(user, GENERAL, "hello")
            event = await inbox.next(MessageReceived)
            roles[event.actor.user_id] = event.actor.roles
    finally:
        await slack.stop()
        await db.close()
    assert roles == {"U0ADMIN": ("organiser",), "U0CAT": ("catalyst",), "U0MEM": ()}


async def test_an_envelope_is_acknowledged_before_the_core_has_finished(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Slack wants an ack within three seconds; the core may take longer (ack first)."""
    fake_slack.add_user(ALICE, "Alice")
    db = await open_db(tmp_path)
    slack = SlackAdapter(
        db, bot_token=Secret(BOT_TOKEN), app_token=Secret(APP_TOKEN), base_url=fake_slack.base_url
    )
    release = asyncio.Event()
    started: list[Inbound] = []

    async def slow_core(event: Inbound) -> None:
        started.append(event)
        await release.wait()

    await slack.start(slow_core)
    try:
        async with asyncio.timeout(3):
            ack = await fake_slack.slash(ALICE, GENERAL, "/checkin", "pass")
        assert ack["envelope_id"] and not release.is_set()
    finally:
        release.set()
        await slack.stop()
        await db.close()


async def test_a_message_sent_is_not_failed_when_remembering_it_fails(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing the row after Slack took the message would have the outbox send it again."""
    slack, _ = adapter

    async def broken(key: str, value: str) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(slack.memory, "put", broken)
    sent = await slack.perform(
        SendMessage(key="kept", to=Place(SLACK, SpaceId(GENERAL)), text=("Once",))
    )
    assert isinstance(sent, Sent) and fake_slack.texts(GENERAL) == ["Once"]


async def test_a_wrong_token_stops_the_start_with_a_clear_error(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    db = await open_db(tmp_path)
    slack = SlackAdapter(
        db,
        bot_token=Secret("xoxb-wrong"),
        app_token=Secret(APP_TOKEN),
        base_url=fake_slack.base_url,
    )
    try:
        with pytest.raises(PlatformError, match="invalid_auth") as caught:
            await slack.start(Inbox().sink)
        assert caught.value.permanent and "xoxb-wrong" not in str(caught.value)
        assert slack.client.session is None, "nothing left open"
    finally:
        await db.close()


async def test_a_private_answer_is_ephemeral_where_asked_else_a_dm(
    fake_slack: FakeSlack, adapter: tuple[SlackAdapter, Inbox]
) -> None:
    slack, _ = adapter
    near = Place(SLACK, SpaceId(GENERAL))
    to = Direct(SLACK, UserId(ALICE), near)
    shown = await slack.perform(SendMessage(key="e1", to=to, text=("Only you",)))
    assert isinstance(shown, Sent) and shown.place == near
    assert [(e["user"], e["text"]) for e in fake_slack.ephemerals] == [(ALICE, "Only you")]
    assert fake_slack.texts(GENERAL) == [], "nothing in the channel's history"

    fake_slack.fail_next("chat.postEphemeral", "not_in_channel")
    sent = await slack.perform(SendMessage(key="e2", to=to, text=("By DM then",)))
    assert isinstance(sent, Sent) and sent.place.direct
    assert fake_slack.texts(sent.place.space) == ["By DM then"]
