"""Matrix events to our inbound models, our actions to Matrix requests: pure functions.

Nothing here performs I/O or imports nio, so every rule (what counts as a command, how a thread
reply or an edit is read, how a mention becomes a pill, why `@room` never pings) is tested on
recorded event dicts. The I/O layer (`adapters.matrix.adapter`) hands these functions the raw
event (`event.source` for nio events, already decrypted in encrypted rooms) and what it knows
about the room, and sends whatever they build.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.contract import (
    Actor,
    CommandInvoked,
    EventId,
    Inbound,
    MemberJoined,
    MemberLeft,
    Mention,
    MessageId,
    MessageReceived,
    Place,
    PlatformName,
    ReactionAdded,
    Segment,
    SpaceId,
    ThreadId,
    UserId,
    plain_text,
)
from bot.errors import PlatformError

PLATFORM = PlatformName("matrix")
HTML_FORMAT = "org.matrix.custom.html"
#: What people write. `m.notice` is what bots write, so reading it could start a bot loop.
TEXT_MSGTYPES = frozenset({"m.text", "m.emote"})
WORD_JOINER = "\u2060"
_ROOM_MENTION = re.compile(r"@(room)\b", re.IGNORECASE)
#: Errors a retry may cure; every other `M_*` code means the request itself is refused.
TRANSIENT_ERRCODES = frozenset({"M_UNKNOWN", "M_UNKNOWN_TOKEN"})


@dataclass(frozen=True)
class RoomView:
    """What the I/O layer knows about the room an event happened in."""

    room_id: str
    direct: bool = False
    names: Mapping[str, str] = field(default_factory=dict)
    """user id -> display name, for the people the sync has told us about."""

    def actor(self, user_id: str) -> Actor:
        return Actor(PLATFORM, UserId(user_id), self.names.get(user_id) or localpart(user_id))


def localpart(user_id: str) -> str:
    """`@alice:example.org` -> `alice`, the fallback when no display name is known."""
    return user_id.removeprefix("@").split(":", 1)[0]


# --- inbound ------------------------------------------------------------------------------


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@someone> quoted text` lines a reply carries before the answer."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).lstrip("\n")


def _thread_of(relates: Mapping[str, Any]) -> ThreadId | None:
    if relates.get("rel_type") == "m.thread" and isinstance(relates.get("event_id"), str):
        return ThreadId(relates["event_id"])
    return None


def _text_of(content: Mapping[str, Any]) -> str | None:
    if content.get("msgtype") not in TEXT_MSGTYPES or not isinstance(content.get("body"), str):
        return None
    body: str = content["body"]
    relates = content.get("m.relates_to") or {}
    is_thread_fallback = relates.get("rel_type") == "m.thread"
    if "m.in_reply_to" in relates and not is_thread_fallback:
        body = strip_reply_fallback(body)
    return body


def to_inbound(
    event: Mapping[str, Any], room: RoomView, *, self_id: str, prefix: str
) -> Inbound | None:
    """The inbound model for one timeline event, or None for what the core need not see.

    Own events are dropped here (the core drops them too, but a bot that answers itself is
    the one loop worth guarding twice). Commands are text starting with `prefix`; an edit
    (`m.replace`) is a `MessageReceived` carrying the new text and the original's id.
    """
    sender = event.get("sender")
    event_id = event.get("event_id")
    if not isinstance(sender, str) or not isinstance(event_id, str) or sender == self_id:
        return None
    kind = event.get("type")
    content = event.get("content") or {}
    relates = content.get("m.relates_to") or {}
    common: dict[str, Any] = {
        "event_id": EventId(event_id),
        "actor": room.actor(sender),
        "raw": event,
    }
    top = Place(PLATFORM, SpaceId(room.room_id), None, room.direct)

    if kind == "m.room.member":
        state_key = event.get("state_key")
        prev = (event.get("unsigned") or {}).get("prev_content") or {}
        if (
            content.get("membership") == "join"
            and prev.get("membership") != "join"
            and state_key == sender
        ):
            return MemberJoined(**common, place=top)
        gone = left_user(event)
        if gone is not None and gone != self_id and prev.get("membership") == "join":
            # a leave, a kick or a ban: the actor is who is gone, not who removed them
            return MemberLeft(**{**common, "actor": room.actor(gone)}, place=top)
        return None

    if kind == "m.reaction":
        target, key = relates.get("event_id"), relates.get("key")
        if relates.get("rel_type") == "m.annotation" and isinstance(target, str) and key:
            return ReactionAdded(**common, place=top, message_id=MessageId(target), key=str(key))
        return None

    if kind != "m.room.message":
        return None

    if relates.get("rel_type") == "m.replace":
        original = relates.get("event_id")
        new = content.get("m.new_content")
        text = _text_of(new) if isinstance(new, Mapping) else None
        if not isinstance(original, str) or text is None:
            return None
        return MessageReceived(
            **common,
            place=top,
            message_id=MessageId(event_id),
            text=text,
            edits=MessageId(original),
        )

    text = _text_of(content)
    if text is None:
        return None
    thread = _thread_of(relates)
    place = Place(PLATFORM, SpaceId(room.room_id), thread, room.direct)
    if prefix and text.startswith(prefix) and text[len(prefix) :].strip():
        return CommandInvoked(
            **common,
            place=place,
            text=text[len(prefix) :].strip(),
            message_id=MessageId(event_id),
        )
    replied = (relates.get("m.in_reply_to") or {}).get("event_id")
    return MessageReceived(
        **common,
        place=place,
        message_id=MessageId(event_id),
        text=text,
        replies_to=MessageId(replied) if thread is None and isinstance(replied, str) else None,
    )


def relation_of(original: Mapping[str, Any]) -> tuple[ThreadId | None, MessageId | None]:
    """The thread an edited message was in, or the message it replied to: an edit
    (`m.replace`) carries neither, so an edited answer is placed where its original was."""
    relates = (original.get("content") or {}).get("m.relates_to") or {}
    thread = _thread_of(relates)
    replied = (relates.get("m.in_reply_to") or {}).get("event_id")
    if thread is None and isinstance(replied, str):
        return None, MessageId(replied)
    return thread, None


def _own_membership(event: Mapping[str, Any], self_id: str) -> str | None:
    """The bot's new membership if this event changes it (not a profile change), else None."""
    if event.get("type") != "m.room.member" or event.get("state_key") != self_id:
        return None
    now = (event.get("content") or {}).get("membership")
    prev = ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership")
    return now if isinstance(now, str) and now != prev else None


def since_bot_arrived(events: Sequence[Mapping[str, Any]], self_id: str) -> list[Mapping[str, Any]]:
    """The events said to the bot: after its invite (or its join, if it came uninvited).

    History from before the bot was asked in is not answered; what someone wrote between
    inviting the bot and its joining (the first message of a new DM) is.
    """
    start, invited_at = 0, None
    for index, event in enumerate(events):
        membership = _own_membership(event, self_id)
        if membership == "invite":
            invited_at = index + 1
        elif membership == "join":
            start = invited_at if invited_at is not None else index + 1
            invited_at = None
    return list(events[start:])


def left_user(event: Mapping[str, Any]) -> str | None:
    """Who left (or was removed from) the room with this member event, if anyone."""
    if event.get("type") != "m.room.member":
        return None
    membership = (event.get("content") or {}).get("membership")
    state_key = event.get("state_key")
    return state_key if membership in ("leave", "ban") and isinstance(state_key, str) else None


@dataclass(frozen=True)
class Invite:
    """What an invite's stripped state tells us before we decide to join."""

    inviter: str | None
    direct: bool
    aliases: frozenset[str]


def read_invite(invite_state: Iterable[Mapping[str, Any]], self_id: str) -> Invite:
    inviter, direct, aliases = None, False, set[str]()
    for event in invite_state:
        content = event.get("content") or {}
        if event.get("type") == "m.room.member" and event.get("state_key") == self_id:
            inviter = event.get("sender")
            direct = bool(content.get("is_direct"))
        elif event.get("type") == "m.room.canonical_alias":
            alias = content.get("alias")
            if isinstance(alias, str):
                aliases.add(alias)
            aliases.update(a for a in content.get("alt_aliases") or () if isinstance(a, str))
    return Invite(inviter if isinstance(inviter, str) else None, direct, frozenset(aliases))


# --- outbound -----------------------------------------------------------------------------


def neutralise_room_mention(text: str) -> str:
    """`@room` -> `@\u2060room`: reads the same, matches no client's or server's @room rule."""
    return _ROOM_MENTION.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)


def pill(user_id: str, name: str) -> str:
    """A Matrix mention pill, as Element and other clients render and notify it."""
    href = f"https://matrix.to/#/{html.escape(user_id, quote=True)}"
    return f'<a href="{href}">{html.escape(name)}</a>'


def render(text: Sequence[Segment]) -> dict[str, Any]:
    """`m.text` content: a plain body, HTML with pills, and `m.mentions` naming only them.

    `m.mentions` is always present and never has `room: true`, so servers and clients that
    follow it (Matrix 1.7+) ping exactly the mentioned people; `@room` in the text is also
    broken with a word joiner for clients that still match the body.
    """
    plain: list[str] = []
    formatted: list[str] = []
    mentioned: list[str] = []
    for segment in text:
        if isinstance(segment, Mention) and segment.platform == PLATFORM:
            name = neutralise_room_mention(segment.display_name)
            plain.append(name)
            formatted.append(pill(segment.user_id, name))
            if segment.user_id not in mentioned:
                mentioned.append(segment.user_id)
        else:
            words = neutralise_room_mention(plain_text((segment,)))
            plain.append(words)
            formatted.append(html.escape(words, quote=False).replace("\n", "<br>\n"))
    return {
        "msgtype": "m.text",
        "body": "".join(plain),
        "format": HTML_FORMAT,
        "formatted_body": "".join(formatted),
        "m.mentions": {"user_ids": mentioned},
    }


def message_content(text: Sequence[Segment], thread: str | None = None) -> dict[str, Any]:
    """A message for a room, or for the thread rooted at `thread` (with the reply fallback)."""
    content = render(text)
    if thread is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": thread},
        }
    return content


def edit_content(message_id: str, text: Sequence[Segment]) -> dict[str, Any]:
    """An `m.replace` edit; the outer `m.mentions` is empty so an edit never pings again."""
    new = render(text)
    return {
        "msgtype": "m.text",
        "body": f"* {new['body']}",
        "format": HTML_FORMAT,
        "formatted_body": f"* {new['formatted_body']}",
        "m.new_content": new,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": message_id},
    }


def txn_id(key: str, room_id: str) -> str:
    """The transaction id for an action: the same key in the same room is one event.

    Synapse remembers a device's transaction ids (for a day), so a retried outbox row gets
    the first attempt's event back instead of a second message. The room is part of it
    because an id is only de-duplicated within its room.
    """
    return "cb" + hashlib.sha256(f"{room_id}\n{key}".encode()).hexdigest()[:40]


def subspace_request(
    name: str, members: Iterable[str], space: str | None, server: str
) -> dict[str, Any]:
    """`room_create` arguments for a breakout room: private, invite-only, named, in the space."""
    initial_state: list[dict[str, Any]] = []
    if space is not None:
        initial_state.append(
            {
                "type": "m.space.parent",
                "state_key": space,
                "content": {"via": [server], "canonical": True},
            }
        )
    return {
        "name": name[:255],
        "invite": list(dict.fromkeys(members)),
        "initial_state": initial_state,
    }


def archived_name(name: str | None) -> str:
    current = name or "Breakout room"
    return current if current.startswith("(archived) ") else f"(archived) {current}"


def server_name(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else user_id


def platform_error(
    what: str, errcode: str | None, message: str, retry_after_ms: int | None
) -> PlatformError:
    """Our error for a Matrix error response: rate limits carry their delay in seconds."""
    text = f"Matrix {what} failed: {errcode or 'error'} {message}".strip()
    if errcode == "M_LIMIT_EXCEEDED" or retry_after_ms is not None:
        delay = (retry_after_ms if retry_after_ms is not None else 5000) / 1000
        return PlatformError(f"{text} (retry after {delay:.1f} s)", retry_after=delay)
    permanent = errcode is not None and errcode not in TRANSIENT_ERRCODES
    return PlatformError(text, permanent=permanent)
