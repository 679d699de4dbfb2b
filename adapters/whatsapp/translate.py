"""WhatsApp Cloud API webhooks to our inbound models, our actions to Graph API bodies: pure.

Nothing here performs I/O, so every rule (what counts as a command without a prefix, how a
reply button's id carries the core's action and value, what an error code means for a retry)
is tested on recorded payloads. The I/O layer (`adapters.whatsapp.adapter`) verifies and
de-duplicates the webhook first, then hands the parsed JSON here.

WhatsApp is one-to-one: every conversation is a member's phone (their `wa_id`) and the
business number, so every place here is a direct one whose space is the `wa_id`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.contract import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    EventId,
    Inbound,
    MessageId,
    MessageReceived,
    Place,
    PlatformName,
    ReactionAdded,
    SpaceId,
    UserId,
)
from bot.errors import PlatformError

PLATFORM = PlatformName("whatsapp")
MAX_TEXT = 4096
"""The most characters a text message's body may carry."""
MAX_BUTTONS = 3
"""Reply buttons one interactive message may carry; more choices become a list message."""
MAX_ROWS = 10
BUTTON_TITLE = 20
ROW_TITLE = 24
INTERACTIVE_BODY = 1024
LIST_LABEL = "Choose"
ID_SEPARATOR = "|"
"""Between the core's action and value in a reply button's (or list row's) id."""

#: Code -> what it means. 131047: more than 24 hours since the member last wrote.
OUTSIDE_WINDOW = 131047
#: Cloud API throughput for the number reached: slow the whole number down.
THROUGHPUT = 130429
#: Too many messages to the same member in a short time: wait before writing to them again.
PAIR_RATE = 131056
#: Codes a later retry of the same request may cure (Meta: "try again later").
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 131000, 131016, 133004})
THROUGHPUT_PAUSE_S = 1.0
"""Meta counts throughput per second: a second's pause is enough."""
PAIR_PAUSE_S = 6.0
STATUSES = ("sent", "delivered", "read", "failed")


class OutsideWindow(PlatformError):
    """The member has not written for 24 hours: only an approved template may reach them."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class PairRateLimited(PlatformError):
    """Too many messages to one member: that member waits, nobody else does."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


# --- inbound ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A status callback for a message the bot sent."""

    message_id: str
    status: str
    recipient: str
    at: datetime
    error: str | None = None
    code: int | None = None


@dataclass
class Webhook:
    """Everything one webhook delivery said, already translated."""

    inbound: list[Inbound] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    wrote: dict[str, datetime] = field(default_factory=dict)
    """wa_id -> when they last wrote: each message opens the 24-hour window again."""


def place_of(wa_id: str) -> Place:
    return Place(PLATFORM, SpaceId(wa_id), None, True)


def written_at(msg: Mapping[str, Any]) -> datetime:
    """When a message or status was written, by its `timestamp` (epoch seconds)."""
    return written_at_raw(msg.get("timestamp"))


def written_at_raw(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, UTC)


def command_text(
    text: str, prefixes: Sequence[str], paths: Collection[tuple[str, ...]]
) -> str | None:
    """The command in `text` without its prefix, or None when it is not a command.

    With a prefix (`/checkin pass`, `!help`) anything is a command, as elsewhere. Without one
    (people on a phone rarely type `/`) the text is a command only when it starts with a
    command's whole path of words, in any case: `Checkin pass`, `ME TZ Europe/Paris`; so
    `me too` or `joining late` stay messages.
    """
    stripped = text.strip()
    for prefix in prefixes:
        if stripped.startswith(prefix) and stripped[len(prefix) :].strip():
            return stripped[len(prefix) :].strip()
    words = stripped.split()
    lowered = [w.lower() for w in words]
    for path in paths:
        if tuple(lowered[: len(path)]) == path:
            return stripped
    return None


def _button_ids(raw: str) -> tuple[str, str] | None:
    action, sep, value = raw.partition(ID_SEPARATOR)
    return (action, value) if sep and action else None


def _message(
    msg: Mapping[str, Any],
    names: Mapping[str, str],
    *,
    prefixes: Sequence[str],
    paths: Collection[tuple[str, ...]],
) -> Inbound | None:
    sender, mid, kind = msg.get("from"), msg.get("id"), msg.get("type")
    if not isinstance(sender, str) or not isinstance(mid, str) or not sender or not mid:
        return None
    common: dict[str, Any] = {
        "event_id": EventId(mid),
        "actor": Actor(PLATFORM, UserId(sender), names.get(sender) or f"+{sender}"),
        "place": place_of(sender),
        "raw": msg,
    }
    context_id = (msg.get("context") or {}).get("id")
    replied_to = MessageId(context_id) if isinstance(context_id, str) else MessageId("")

    if kind == "text":
        body = (msg.get("text") or {}).get("body")
        if not isinstance(body, str) or not body.strip():
            return None
        command = command_text(body, prefixes, paths)
        if command is not None:
            return CommandInvoked(**common, text=command, message_id=MessageId(mid))
        return MessageReceived(**common, message_id=MessageId(mid), text=body)

    if kind == "interactive":
        interactive = msg.get("interactive") or {}
        reply = interactive.get(str(interactive.get("type")))
        if interactive.get("type") not in ("button_reply", "list_reply") or not isinstance(
            reply, Mapping
        ):
            return None
        ids = _button_ids(str(reply.get("id", "")))
        if ids is None:
            title = str(reply.get("title") or "")
            return (
                MessageReceived(**common, message_id=MessageId(mid), text=title) if title else None
            )
        return ButtonPressed(**common, message_id=replied_to, action=ids[0], value=ids[1])

    if kind == "button":  # a template's quick-reply button
        button = msg.get("button") or {}
        ids = _button_ids(str(button.get("payload", "")))
        if ids is not None:
            return ButtonPressed(**common, message_id=replied_to, action=ids[0], value=ids[1])
        text = str(button.get("text") or "")
        return MessageReceived(**common, message_id=MessageId(mid), text=text) if text else None

    if kind == "reaction":
        reaction = msg.get("reaction") or {}
        target, emoji = reaction.get("message_id"), reaction.get("emoji")
        if isinstance(target, str) and isinstance(emoji, str) and emoji:  # "" = taken back
            return ReactionAdded(**common, message_id=MessageId(target), key=emoji)
        return None

    if kind == "edit":
        edit = msg.get("edit") or {}
        original, new = edit.get("original_message_id"), edit.get("message") or {}
        body = (new.get("text") or {}).get("body") if new.get("type") == "text" else None
        if isinstance(original, str) and isinstance(body, str) and body.strip():
            return MessageReceived(
                **common, message_id=MessageId(mid), text=body, edits=MessageId(original)
            )
        return None

    return None  # media, locations, contacts, system notices: nothing a ritual reads


def _status(raw: Mapping[str, Any]) -> Status | None:
    mid, state, recipient = raw.get("id"), raw.get("status"), raw.get("recipient_id")
    if not isinstance(mid, str) or state not in STATUSES or not isinstance(recipient, str):
        return None
    error, code = None, None
    errors = raw.get("errors") or []
    if errors and isinstance(errors[0], Mapping):
        first = errors[0]
        code = first.get("code") if isinstance(first.get("code"), int) else None
        detail = (first.get("error_data") or {}).get("details")
        error = f"{code}: {first.get('title') or first.get('message') or 'failed'}"
        if isinstance(detail, str) and detail:
            error += f" ({detail})"
    return Status(mid, str(state), recipient, written_at_raw(raw.get("timestamp")), error, code)


def read_webhook(
    payload: Any,
    *,
    phone_number_id: str,
    prefixes: Sequence[str] = ("/", "!"),
    paths: Collection[tuple[str, ...]] = (),
) -> Webhook:
    """Translate one webhook body; changes for another phone number are left alone."""
    found = Webhook()
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        return found
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            if change.get("field") != "messages" or not isinstance(value, Mapping):
                continue
            if str((value.get("metadata") or {}).get("phone_number_id")) != phone_number_id:
                continue
            names = {
                str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
                for c in value.get("contacts") or []
                if isinstance(c, Mapping)
            }
            for msg in value.get("messages") or []:
                if not isinstance(msg, Mapping):
                    continue
                inbound = _message(msg, names, prefixes=prefixes, paths=paths)
                sender = msg.get("from")
                if isinstance(sender, str) and sender:
                    at = written_at_raw(msg.get("timestamp"))
                    found.wrote[sender] = max(at, found.wrote.get(sender, at))
                if inbound is not None:
                    found.inbound.append(inbound)
            for raw in value.get("statuses") or []:
                status = _status(raw) if isinstance(raw, Mapping) else None
                if status is not None:
                    found.statuses.append(status)
    return found


# --- outbound -----------------------------------------------------------------------------


def _base(to: str, kind: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind}


def text_request(to: str, body: str) -> dict[str, Any]:
    return {**_base(to, "text"), "text": {"body": body[:MAX_TEXT], "preview_url": False}}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def choices_request(to: str, body: str, choices: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """Reply buttons for up to three choices, a list message for up to ten.

    Each choice is (action, value, label); its id carries `action|value` back to us.
    """
    if not choices or len(choices) > MAX_ROWS:
        raise PlatformError(
            f"WhatsApp offers 1 to {MAX_ROWS} choices, not {len(choices)}", permanent=True
        )
    ids = [f"{action}{ID_SEPARATOR}{value}" for action, value, _ in choices]
    interactive: dict[str, Any] = {"body": {"text": _clip(body, INTERACTIVE_BODY)}}
    if len(choices) <= MAX_BUTTONS:
        interactive["type"] = "button"
        interactive["action"] = {
            "buttons": [
                {"type": "reply", "reply": {"id": i, "title": _clip(label, BUTTON_TITLE)}}
                for i, (_, _, label) in zip(ids, choices, strict=True)
            ]
        }
    else:
        interactive["type"] = "list"
        interactive["action"] = {
            "button": LIST_LABEL,
            "sections": [
                {
                    "rows": [
                        {"id": i, "title": _clip(label, ROW_TITLE)}
                        for i, (_, _, label) in zip(ids, choices, strict=True)
                    ]
                }
            ],
        }
    return {**_base(to, "interactive"), "interactive": interactive}


_SPACES = re.compile(r"\s+")


def template_param(value: str) -> str:
    """Meta refuses template parameters with new lines, tabs or runs of spaces."""
    return _clip(_SPACES.sub(" ", value).strip() or "-", 1024)


def template_request(to: str, name: str, language: str, params: Sequence[str]) -> dict[str, Any]:
    template: dict[str, Any] = {
        "name": name,
        "language": {"policy": "deterministic", "code": language},
    }
    if params:
        template["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": template_param(p)} for p in params],
            }
        ]
    return {**_base(to, "template"), "template": template}


def sent_id(body: Any) -> str | None:
    """The `wamid` of a message the Graph API accepted."""
    try:
        mid = body["messages"][0]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return mid if isinstance(mid, str) else None


def platform_error(status: int, body: Any) -> PlatformError:
    """What an error answer means for the delivery: a template, a wait, a retry, or never."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return PlatformError(
            f"WhatsApp answered HTTP {status}", permanent=400 <= status < 500 and status != 429
        )
    code = error.get("code")
    detail = (error.get("error_data") or {}).get("details") or error.get("message") or ""
    text = f"WhatsApp error {code}: {detail}"[:500]
    if code == OUTSIDE_WINDOW:
        return OutsideWindow(text)
    if code == THROUGHPUT or status == 429:
        return PlatformError(text, retry_after=THROUGHPUT_PAUSE_S)
    if code == PAIR_RATE:
        return PairRateLimited(text, PAIR_PAUSE_S)
    if code in TRANSIENT_CODES or status >= 500:
        return PlatformError(text)
    return PlatformError(text, permanent=True)
