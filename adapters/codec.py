"""Actions to JSON and back, so the delivery outbox can keep them in a table.

A `Secret` in a message's text (a one-time link) is never written: the JSON holds a random
reference and the secret's `stored` form, and the value stays in this process's memory for
`SEALED_FOR`, to be put back when the outbox decodes the action to send it. A copy of the
database so holds no working link; a bot restarted before sending it sends a note instead
(the member asks again; such links last minutes anyway).
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

from adapters.contract import (
    Action,
    Button,
    CloseSubSpace,
    Destination,
    Direct,
    EditMessage,
    Mention,
    MessageId,
    OpenSubSpace,
    Place,
    PlatformName,
    PublishNativeEvent,
    Purpose,
    Secret,
    Segment,
    SendMessage,
    SpaceId,
    TextForm,
    ThreadId,
    UserId,
)


def _place(p: Place) -> dict[str, Any]:
    return {"platform": p.platform, "space": p.space, "thread": p.thread, "direct": p.direct}


def _unplace(d: dict[str, Any]) -> Place:
    thread = d.get("thread")
    return Place(
        PlatformName(d["platform"]),
        SpaceId(d["space"]),
        ThreadId(thread) if thread is not None else None,
        bool(d.get("direct", False)),
    )


def _dest(d: Destination) -> dict[str, Any]:
    if isinstance(d, Direct):
        found: dict[str, Any] = {"direct_to": d.user_id, "platform": d.platform}
        if d.near is not None:
            found["near"] = _place(d.near)
        return found
    return _place(d)


def _undest(d: dict[str, Any]) -> Destination:
    if "direct_to" in d:
        near = _unplace(d["near"]) if d.get("near") else None
        return Direct(PlatformName(d["platform"]), UserId(d["direct_to"]), near)
    return _unplace(d)


SEALED_FOR = 3600.0
"""Seconds a secret waits in memory for its send (its link lasts 15 minutes)."""
LOST = "(a one-time link; the bot restarted before sending it, so ask for a new one)"
_sealed: dict[str, tuple[str, float]] = {}


def _seal(value: str) -> str:
    now = time.monotonic()
    for ref, (_, until) in list(_sealed.items()):
        if until <= now:
            del _sealed[ref]
    ref = secrets.token_hex(16)
    _sealed[ref] = (value, now + SEALED_FOR)
    return ref


def _unseal(ref: str) -> str:
    value, until = _sealed.get(ref, (LOST, 0.0))
    return value if until > time.monotonic() else LOST


def _segment(s: Segment) -> Any:
    if isinstance(s, str):
        return s
    if isinstance(s, Secret):
        return {"secret": _seal(s.value), "stored": s.stored}
    return {"mention": s.user_id, "platform": s.platform, "name": s.display_name}


def _unsegment(s: Any) -> Segment:
    if isinstance(s, str):
        return s
    if "secret" in s:
        return Secret(_unseal(s["secret"]), s["stored"])
    return Mention(PlatformName(s["platform"]), UserId(s["mention"]), s["name"])


def _text(text: tuple[Segment, ...]) -> list[Any]:
    return [_segment(s) for s in text]


def _untext(items: list[Any]) -> tuple[Segment, ...]:
    return tuple(_unsegment(s) for s in items)


def _button(b: Button) -> list[Any]:
    form = [b.form.title, b.form.label, b.form.max_length] if b.form else None
    return [b.action, b.value, b.label, form]


def _unbutton(b: list[Any]) -> Button:
    form = b[3] if len(b) > 3 else None
    return Button(b[0], b[1], b[2], TextForm(*form) if form else None)


def encode_action(action: Action) -> dict[str, Any]:
    if isinstance(action, SendMessage):
        return {
            "type": "send",
            "key": action.key,
            "to": _dest(action.to),
            "text": _text(action.text),
            "buttons": [_button(b) for b in action.buttons],
            "purpose": [action.purpose.kind, [list(p) for p in action.purpose.params]]
            if action.purpose
            else None,
            "broadcast": action.broadcast,
        }
    if isinstance(action, EditMessage):
        return {
            "type": "edit",
            "key": action.key,
            "place": _place(action.place),
            "message_id": action.message_id,
            "text": _text(action.text),
        }
    if isinstance(action, OpenSubSpace):
        return {
            "type": "open_subspace",
            "key": action.key,
            "parent": _place(action.parent),
            "name": action.name,
            "members": list(action.members),
            "private": action.private,
        }
    if isinstance(action, CloseSubSpace):
        return {"type": "close_subspace", "key": action.key, "place": _place(action.place)}
    if isinstance(action, PublishNativeEvent):
        return {
            "type": "publish_native_event",
            "key": action.key,
            "place": _place(action.place),
            "title": action.title,
            "start": action.start.isoformat(),
            "end": action.end.isoformat(),
            "zone": action.zone,
            "rrule": action.rrule,
            "link": action.link,
            "description": action.description,
            "native_id": action.native_id,
            "cancelled": action.cancelled,
        }
    raise TypeError(f"no encoding for {type(action).__name__}")


def decode_action(d: dict[str, Any]) -> Action:
    kind, key = d["type"], d["key"]
    if kind == "send":
        return SendMessage(
            key=key,
            to=_undest(d["to"]),
            text=_untext(d["text"]),
            buttons=tuple(_unbutton(b) for b in d["buttons"]),
            purpose=Purpose(purpose[0], tuple((k, v) for k, v in purpose[1]))
            if (purpose := d.get("purpose"))
            else None,
            broadcast=bool(d.get("broadcast", False)),
        )
    if kind == "edit":
        return EditMessage(
            key=key,
            place=_unplace(d["place"]),
            message_id=MessageId(d["message_id"]),
            text=_untext(d["text"]),
        )
    if kind == "open_subspace":
        return OpenSubSpace(
            key=key,
            parent=_unplace(d["parent"]),
            name=d["name"],
            members=tuple(UserId(m) for m in d["members"]),
            private=d["private"],
        )
    if kind == "close_subspace":
        return CloseSubSpace(key=key, place=_unplace(d["place"]))
    if kind == "publish_native_event":
        return PublishNativeEvent(
            key=key,
            place=_unplace(d["place"]),
            title=d["title"],
            start=datetime.fromisoformat(d["start"]),
            end=datetime.fromisoformat(d["end"]),
            zone=d["zone"],
            rrule=d["rrule"],
            link=d["link"],
            description=d["description"],
            native_id=d["native_id"],
            cancelled=d["cancelled"],
        )
    raise ValueError(f"unknown action type {kind!r}")
