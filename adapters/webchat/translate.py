"""What web chat clients send, checked and read; what the bot stores, as clients see it.

Pure functions, no I/O: every rule about a field (a name, a room, a text, a message id, a
token) and about what becomes a command is here, tested directly; `adapters.webchat.adapter`
serves HTTP and the WebSocket and stores messages with them.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Protocol

from adapters.contract import (
    Actor,
    Button,
    CommandInvoked,
    EventId,
    Inbound,
    MessageId,
    MessageReceived,
    Place,
    PlatformName,
    SpaceId,
    ThreadId,
    UserId,
)
from bot.numerals import row_id, whole_number
from bot.web import BadRequest

PLATFORM = PlatformName("web")
MAX_NAME = 64
MAX_ROOM = 200
MAX_REACTION = 32
COMMAND_PREFIXES = ("/", "!")


class Stored(Protocol):
    """A stored message, as a row or as just inserted."""

    @property
    def id(self) -> int | None: ...
    @property
    def room(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def thread(self) -> str | None: ...
    @property
    def buttons(self) -> list[Any] | None: ...
    @property
    def ts(self) -> Any: ...


def button_row(b: Button) -> list[Any]:
    """A button as the store keeps it: action, value, label and its form, if it has one."""
    form = b.form and {"title": b.form.title, "label": b.form.label, "max": b.form.max_length}
    return [b.action, b.value, b.label, form]


def button_json(row: list[Any]) -> dict[str, Any]:
    """A stored button for the API: `form` only when it asks for text."""
    action, value, label, *rest = row
    found = {"action": action, "value": value, "label": label}
    return found | {"form": rest[0]} if rest and rest[0] else found


def form_text(form: dict[str, Any] | None, value: Any) -> str | None:
    """The text submitted with a button: required by a button with a form, else refused."""
    if form is None:
        if value is not None:
            raise BadRequest(400, "that button takes no text")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(400, "that button's form needs some 'text'")
    if len(value) > int(form["max"]):
        raise BadRequest(400, f"'text' is longer than {form['max']} characters")
    return text(value)


def message_json(m: Stored) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "room": m.room,
        "user": m.user,
        "text": m.text,
        "thread": m.thread,
        "ts": m.ts.isoformat(),
        "buttons": [button_json(b) for b in m.buttons or []],
    }


def place_of(room: str, thread: str | None) -> Place:
    """A web room as a place; a room named `@user` is that user's DM with the bot."""
    return Place(
        PLATFORM, SpaceId(room), ThreadId(thread) if thread else None, room.startswith("@")
    )


def text(value: Any, field: str = "text") -> str:
    """A message's text: any string (`bot.web.parse_json` has refused what cannot be stored)."""
    if not isinstance(value, str):
        raise BadRequest(400, f"'{field}' must be a string")
    return value


def name(value: Any, field: str, limit: int) -> str:
    """A user, room or reaction name: non-blank, short, no control characters."""
    given = text(value, field)
    if not given.strip():
        raise BadRequest(400, f"'{field}' must be a non-empty string")
    if len(given) > limit:
        raise BadRequest(400, f"'{field}' is longer than {limit} characters")
    if any(ord(c) < 32 for c in given):
        raise BadRequest(400, f"'{field}' contains control characters")
    return given.strip()


def message_id(value: Any, field: str = "message") -> int:
    """The id of a stored message, as a client sends it (a string of ASCII digits)."""
    found = row_id(value)
    if found is None:
        raise BadRequest(400, f"'{field}' must be the id of a message")
    return found


def thread_id(value: Any) -> str | None:
    """A thread is named by the id of its first message; None when not given."""
    return None if value is None else str(message_id(value, "thread"))


def after(value: Any) -> int:
    """Where a reader is: the last message id it has, 0 for none."""
    found = whole_number("0" if value is None else value)
    if found is None:
        raise BadRequest(400, "'after' must be a message id")
    return found


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (the scheme in any case, as
    HTTP has it); None for any other form."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def skeleton(value: str) -> str:
    """A name as a reader sees it: compatibility forms folded (NFKC: full-width and styled
    letters), case folded, and everything but letters and digits dropped (spaces,
    punctuation, zero-width and other invisible characters)."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    folded = unicodedata.normalize("NFKC", folded)
    return "".join(c for c in folded if c.isalnum())


def looks_like(value: str, other: str) -> bool:
    """Whether a reader could take `value` for `other` (`Community-Bot`, `community\u200bbot`)."""
    return skeleton(value) == skeleton(other)


def inbound(m: Stored, locale: str | None = None) -> Inbound:
    """A person's message, stored, as the core's event: a command if it starts with a
    prefix, else a message. `locale` is the language their browser asks for."""
    assert m.id is not None
    common: dict[str, Any] = {
        "event_id": EventId(f"msg-{m.id}"),
        "actor": Actor(PLATFORM, UserId(m.user), m.user, locale=locale),
        "place": place_of(m.room, m.thread),
        "raw": {"id": m.id, "room": m.room, "text": m.text[:200]},
    }
    stripped = m.text.lstrip()
    if stripped[:1] in COMMAND_PREFIXES and len(stripped) > 1:
        return CommandInvoked(text=stripped[1:], message_id=MessageId(str(m.id)), **common)
    return MessageReceived(message_id=MessageId(str(m.id)), text=m.text, **common)
