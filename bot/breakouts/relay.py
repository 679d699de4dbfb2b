"""Relaying a breakout group's messages between its rooms: each platform it spans has one, and
a group on a platform with nothing better than direct messages talks through the bot.

Every copy goes through the outbox under a key made of the inbound event's id and the
destination, and is recorded (`RelayedCopy`) under that key in the same transaction: a
re-delivered event, or one handled again after a restart, makes no second copy. A copy never
goes back to the room its original was written in, and the bot's own messages never reach
a handler. What a member wrote stays plain text segments, which every adapter escapes, so
`@room`, `@everyone`, `@here` or `<!channel>` in it pings no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from adapters.contract import (
    ActionResult,
    Capability,
    Destination,
    EditMessage,
    MessageReceived,
    Sent,
)
from bot.breakouts.models import BreakoutRoom, RelayedCopy
from bot.context import Scope, insert_ignore_id
from bot.errors import NotYet

COPIED = "breakout.relayed"
"""The result hook that records where a copy was posted."""


@dataclass(frozen=True)
class Target:
    """Where one copy goes: a room, or one member's direct conversation for a relayed room;
    `to` is None while the room is still being opened (the copy waits for it)."""

    room: BreakoutRoom
    to: Destination | None
    suffix: str


def author(name: str, platform: str, mixed: bool) -> str:
    """The prefix that says who wrote a copy (and where, when the group spans platforms)."""
    return f"{name} ({platform}): " if mixed else f"{name}: "


async def relay(
    scope: Scope, event: MessageReceived, prefix: str, targets: Sequence[Target]
) -> None:
    """Copy a member's message to each target, once per inbound event."""
    for target in targets:
        key = f"breakout:relay:{event.platform}:{event.event_id}:{target.suffix}"
        copy_id = await insert_ignore_id(
            scope.session,
            RelayedCopy,
            key=key,
            room_id=target.room.id,
            source_platform=event.platform,
            source_message=event.message_id,
            waiting=prefix + event.text if target.to is None else None,
            platform=target.room.platform,
            space=None,
            thread=None,
            direct=False,
            message_id=None,
        )
        if copy_id is not None and target.to is not None:
            await scope.send(
                target.to, prefix, event.text, key=key, on_result=f"{COPIED}:{copy_id}"
            )


async def send_waiting(scope: Scope, room: BreakoutRoom) -> None:
    """The room is open: send the copies that waited for it, in the order they came."""
    place = room.place
    if place is None:
        return
    waiting = await scope.session.exec(
        select(RelayedCopy)
        .where(RelayedCopy.room_id == room.id, col(RelayedCopy.waiting).is_not(None))
        .order_by(col(RelayedCopy.id))
    )
    for copy in waiting.all():
        await scope.send(place, copy.waiting or "", key=copy.key, on_result=f"{COPIED}:{copy.id}")
        copy.waiting = None
        scope.session.add(copy)


async def carry_edit(scope: Scope, event: MessageReceived, prefix: str) -> bool:
    """An edit of a relayed message edits its copies (on a platform without edits, the new
    text follows as a message of its own); False when the original was not relayed."""
    assert event.edits is not None
    copies = (
        await scope.session.exec(
            select(RelayedCopy)
            .where(
                RelayedCopy.source_platform == event.platform,
                RelayedCopy.source_message == event.edits,
            )
            .order_by(col(RelayedCopy.id))
        )
    ).all()
    for copy in copies:
        sent = copy.sent
        if sent is None and copy.waiting is not None:
            copy.waiting = prefix + event.text
            scope.session.add(copy)
            continue
        if sent is None:
            raise NotYet  # the copy is on its way: edit it once the platform has said where
        place, message_id = sent
        key = f"breakout:relay-edit:{event.platform}:{event.event_id}:{copy.id}"
        if Capability.EDITS in scope.capabilities(copy.platform):
            action = EditMessage(
                key=key, place=place, message_id=message_id, text=(prefix, event.text)
            )
            await scope.perform(action, copy.platform)
        else:
            edited = scope.words_in(place.platform, place.space)._("(edited)")
            await scope.send(place, prefix, f"{edited} ", event.text, key=key)
    return bool(copies)


async def on_copied(scope: Scope, ref: str, result: ActionResult) -> None:
    """A copy was posted: remember where, so an edit of its original can edit it."""
    copy = await scope.session.get(RelayedCopy, int(ref))
    if copy is not None and isinstance(result, Sent):
        copy.space, copy.thread = result.place.space, result.place.thread
        copy.direct, copy.message_id = result.place.direct, result.message_id
        scope.session.add(copy)
