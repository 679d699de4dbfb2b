"""The adapter contract, the same for every adapter: an adapter is done when it passes here.

Each case checks what the member on the platform notices, and skips only where the adapter
does not declare the capability the case needs (and then `CapabilityMissing` is checked).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from adapters.contract import (
    Button,
    Capability,
    CloseSubSpace,
    CommandInvoked,
    Direct,
    Done,
    EditMessage,
    MessageId,
    MessageReceived,
    OpenSubSpace,
    Place,
    ReactionAdded,
    SendMessage,
    Sent,
    SubSpaceOpened,
    ThreadId,
    plain_text,
)
from bot.errors import CapabilityMissing
from bot.long_text import perform_in_parts, split_text
from tests.contract.subjects import Subject


def key(name: str) -> str:
    """Unique per test run: the bot's Matrix device outlives one test's database."""
    return f"contract:{name}:{uuid.uuid4().hex}"


def needs(subject: Subject, capability: Capability) -> None:
    if capability not in subject.adapter.capabilities:
        pytest.skip(f"{subject.adapter.platform} does not declare {capability.value}")


async def send(subject: Subject, to: Place | Direct, text: str, k: str | None = None) -> Sent:
    result = await subject.adapter.perform(SendMessage(key=k or key("send"), to=to, text=(text,)))
    assert isinstance(result, Sent)
    return result


async def test_a_message_sent_to_a_place_reaches_the_member(subject: Subject) -> None:
    room = await subject.room()
    sent = await send(subject, room, "Hello, contract")
    assert sent.place.space == room.space and not sent.place.direct
    await subject.sees_text(sent.place, sent.message_id, "Hello, contract")


async def test_a_reply_in_a_thread_is_in_that_thread(subject: Subject) -> None:
    needs(subject, Capability.THREADS)
    room = await subject.room()
    root = await send(subject, room, "A round opens")
    assert root.thread is not None
    reply = await send(subject, Place(room.platform, room.space, root.thread), "An answer")
    assert reply.place.thread == root.thread
    assert await subject.sees_text(reply.place, reply.message_id, "An answer") == root.thread


async def test_a_broadcast_reply_is_in_its_thread_and_in_the_channel(subject: Subject) -> None:
    needs(subject, Capability.THREAD_BROADCAST)
    room = await subject.room()
    root = await send(subject, room, "A round opens")
    assert root.thread is not None
    thread = Place(room.platform, room.space, root.thread)
    quiet = await send(subject, thread, "An answer")
    summary = await subject.adapter.perform(
        SendMessage(key=key("broadcast"), to=thread, text=("The summary",), broadcast=True)
    )
    assert isinstance(summary, Sent) and summary.place.thread == root.thread
    assert await subject.sees_text(summary.place, summary.message_id, "The summary") == root.thread
    assert await subject.in_channel(summary.place, summary.message_id)
    assert not await subject.in_channel(quiet.place, quiet.message_id)


async def test_a_direct_message_reaches_only_the_member_and_keeps_its_room(
    subject: Subject,
) -> None:
    needs(subject, Capability.DIRECT_MESSAGES)
    to = Direct(subject.adapter.platform, subject.member)
    first = await send(subject, to, "Just for you")
    assert first.place.direct
    await subject.sees_text(first.place, first.message_id, "Just for you")
    second = await send(subject, to, "Again, just for you")
    assert second.place.space == first.place.space
    await subject.sees_text(second.place, second.message_id, "Again, just for you")


async def test_an_edit_replaces_the_text(subject: Subject) -> None:
    needs(subject, Capability.EDITS)
    room = await subject.room()
    sent = await send(subject, room, "Round closes at 10:00")
    edited = await subject.adapter.perform(
        EditMessage(
            key=key("edit"),
            place=sent.place,
            message_id=sent.message_id,
            text=("Round closes at 11:00",),
        )
    )
    assert isinstance(edited, Sent) and edited.message_id == sent.message_id
    await subject.sees_text(sent.place, sent.message_id, "Round closes at 11:00")


async def test_a_sub_space_opens_once_reaches_its_members_and_closes(subject: Subject) -> None:
    needs(subject, Capability.PRIVATE_SUBSPACES)
    room = await subject.room()
    open_key = key("open")
    action = OpenSubSpace(key=open_key, parent=room, name="Group 1", members=(subject.member,))
    opened = await subject.adapter.perform(action)
    assert isinstance(opened, SubSpaceOpened)
    again = await subject.adapter.perform(action)
    assert again == opened, "opening with the same key again is the same sub-space"
    assert await subject.reaches_member(opened.place)
    sent = await send(subject, opened.place, "Your provocation")
    await subject.sees_text(opened.place, sent.message_id, "Your provocation")
    close = CloseSubSpace(key=key("close"), place=opened.place)
    assert isinstance(await subject.adapter.perform(close), Done)
    assert isinstance(await subject.adapter.perform(close), Done), "closing is idempotent"


async def test_the_same_key_twice_is_one_message(subject: Subject) -> None:
    needs(subject, Capability.IDEMPOTENT_SEND)
    room = await subject.room()
    text = f"Exactly once {uuid.uuid4().hex[:6]}"
    k = key("once")
    first = await send(subject, room, text, k)
    second = await send(subject, room, text, k)
    assert second.message_id == first.message_id
    assert await subject.count(room, text) == 1


async def test_what_is_not_declared_is_refused_loudly(subject: Subject) -> None:
    room = await subject.conversation()
    caps = subject.adapter.capabilities
    refused = 0
    if Capability.BUTTONS not in caps:
        button = (Button("join", "yes", "Join"),)
        with pytest.raises(CapabilityMissing):
            await subject.adapter.perform(
                SendMessage(key=key("b"), to=room, text=("?",), buttons=button)
            )
        refused += 1
    if Capability.EDITS not in caps:
        with pytest.raises(CapabilityMissing):
            await subject.adapter.perform(
                EditMessage(key=key("e"), place=room, message_id=MessageId("x"), text=("!",))
            )
        refused += 1
    if Capability.DIRECT_MESSAGES not in caps:
        with pytest.raises(CapabilityMissing):
            await send(subject, Direct(room.platform, subject.member), "hi")
        refused += 1
    if Capability.PRIVATE_SUBSPACES not in caps:
        with pytest.raises(CapabilityMissing):
            await subject.adapter.perform(
                OpenSubSpace(key=key("o"), parent=room, name="g", members=())
            )
        refused += 1
    if Capability.THREAD_BROADCAST not in caps:
        thread = Place(room.platform, room.space, ThreadId("t"))
        with pytest.raises(CapabilityMissing):
            await subject.adapter.perform(
                SendMessage(key=key("t"), to=thread, text=("!",), broadcast=True)
            )
        refused += 1
    if not refused:
        pytest.skip(f"{subject.adapter.platform} declares every capability an action needs")


async def test_commands_messages_and_reactions_arrive_as_their_models(subject: Subject) -> None:
    room = await subject.conversation()
    prefix = subject.adapter.command_prefix  # what the bot tells people to type
    assert prefix and not prefix.isalnum()
    command_id = await subject.says(room, f"{prefix}checkin pass")
    command = await subject.next_inbound(CommandInvoked)
    assert command.text == "checkin pass"
    assert (command.place.space, command.actor.user_id) == (room.space, subject.member)
    assert command.message_id == command_id

    message_id = await subject.says(room, "Just saying hello")
    message = await subject.next_inbound(MessageReceived)
    assert (message.text, message.message_id, message.edits) == (
        "Just saying hello",
        message_id,
        None,
    )

    needs(subject, Capability.REACTIONS)
    call = await send(subject, room, "React to join the breakout")
    await subject.reacts(room, call.message_id, "👍")
    reaction = await subject.next_inbound(ReactionAdded)
    assert (reaction.message_id, reaction.key) == (call.message_id, "👍")
    assert reaction.actor.user_id == subject.member


async def test_a_late_joiner_is_let_into_the_existing_sub_space(subject: Subject) -> None:
    needs(subject, Capability.PRIVATE_SUBSPACES)
    room = await subject.room()
    name = f"Group {uuid.uuid4().hex[:6]}"
    first = await subject.adapter.perform(
        OpenSubSpace(key=key("open"), parent=room, name=name, members=(subject.member,))
    )
    assert isinstance(first, SubSpaceOpened)
    await subject.comes_to(first.place, subject.member)
    assert not await subject.offered(first.place, subject.newcomer), "private until let in"
    late = await subject.adapter.perform(
        OpenSubSpace(
            key=key("late"),
            parent=room,
            name=name,
            members=(subject.member, subject.newcomer),
        )
    )
    assert late == first, "the same parent and name is the same sub-space"
    await subject.comes_to(first.place, subject.newcomer)


async def test_a_text_longer_than_the_platform_takes_arrives_whole_in_parts(
    subject: Subject,
) -> None:
    """What the core's delivery does with a long text: parts that each fit, in order, every
    one seen exactly once, none refused (a refused summary was a dead letter)."""
    room = await subject.room()
    limit = subject.adapter.max_text
    lines = [f"• line {i:04d} " + "word " * 190 for i in range(limit * 5 // 2 // 960)]
    text = "\n".join(lines)
    parts = split_text((text,), limit)
    assert len(parts) >= 3

    async def no_pace() -> None:
        return None

    action = SendMessage(key=key("long"), to=room, text=(text,))
    first = await perform_in_parts(subject.adapter, action, no_pace)
    assert isinstance(first, Sent)
    await subject.sees_text(first.place, first.message_id, plain_text(parts[0]))
    for part in parts:
        async with asyncio.timeout(20):
            while await subject.count(room, plain_text(part)) != 1:
                await subject.refresh()
    joined = "".join(plain_text(p) for p in parts)
    assert "".join(joined.split()) == "".join(text.split())  # only spaces at the cuts go
