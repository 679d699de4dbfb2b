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


def _unpurpose(d: list[Any] | None) -> Purpose | None:
    if d is None:
        return None
    kind, params = d
    return Purpose(kind, tuple((str(k), str(v)) for k, v in params))


def encode_action(action: Action) -> dict[str, Any]:
    if isinstance(action, SendMessage):
        return {
            "type": "send",
            "key": action.key,
            "to": _dest(action.to),
            "text": _text(action.text),
            "buttons": [[b.action, b.value, b.label] for b in action.buttons],
            **(
                {"purpose": [action.purpose.kind, [list(p) for p in action.purpose.params]]}
                if action.purpose
                else {}
            ),
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
            buttons=tuple(Button(*b) for b in d["buttons"]),
            purpose=_unpurpose(d.get("purpose")),
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
