"""Actions to JSON and back, so the delivery outbox can keep them in a table."""

from __future__ import annotations

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
    Purpose,
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
        return {"direct_to": d.user_id, "platform": d.platform}
    return _place(d)


def _undest(d: dict[str, Any]) -> Destination:
    if "direct_to" in d:
        return Direct(PlatformName(d["platform"]), UserId(d["direct_to"]))
    return _unplace(d)


def _text(text: tuple[Segment, ...]) -> list[Any]:
    return [
        s
        if isinstance(s, str)
        else {"mention": s.user_id, "platform": s.platform, "name": s.display_name}
        for s in text
    ]


def _untext(items: list[Any]) -> tuple[Segment, ...]:
    return tuple(
        s
        if isinstance(s, str)
        else Mention(PlatformName(s["platform"]), UserId(s["mention"]), s["name"])
        for s in items
    )


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
    raise ValueError(f"unknown action type {kind!r}")
