"""Slack payloads to our inbound models, our actions to Web API arguments: pure functions.

Nothing here performs I/O or imports slack-bolt, so every rule is tested on recorded payloads:
what counts as a command (a slash command, a message starting with one, or a mention of the
bot followed by a command word), how a thread reply, a DM or an edit (`message_changed`) is
read, and how the bot's text is written so that what a member typed never pings anyone:
`&`, `<` and `>` are escaped, so `<!channel>`, `<!here>` and `<!everyone>` cannot form, and
only the people the core names as `Mention`s become `<@U…>`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.contract import (
    Actor,
    Button,
    ButtonPressed,
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
    Secret,
    Segment,
    SpaceId,
    TextForm,
    ThreadId,
    UserId,
)
from bot.errors import PlatformError

PLATFORM = PlatformName("slack")
SLASH_COMMANDS = ("checkin", "breakout", "event", "nudge", "me", "role", "help", "report")
"""The command language's first words registered as slash commands (names configurable).
`join` is not one: Slack's own `/join` owns the name; people join by button, reaction or
by replying `join`."""
COMMAND_WORDS = (*SLASH_COMMANDS, "join")
"""What may follow a mention of the bot to make a command (`@bot checkin pass`)."""

SECTION_LIMIT = 3000
"""Characters in one section block's text: Slack refuses a longer one."""
MAX_TEXT = 12000
"""What one message may carry: four full sections (Slack allows 50 blocks, but a message
longer than this reads badly; the core splits longer texts)."""
BUTTON_PREFIX = "cb"
#: Message subtypes people write; every other subtype (joins, bot messages, deletions,
#: `message_replied` bookkeeping) is not something said to the bot.
SPOKEN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
#: Errors a retry may cure; every other error code means the request itself is refused.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


@dataclass(frozen=True)
class Directory:
    """What the I/O layer knows: the bot's own user id, people's names, command names."""

    self_id: str
    names: Mapping[str, str]
    """user id -> display name, for the people resolved so far."""
    commands: Mapping[str, str]
    """slash command as registered (`/checkin`) -> the command word it stands for."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """user id -> the role the workspace gives them, where the config maps one."""
    locales: Mapping[str, str] = field(default_factory=dict)
    """user id -> the language their Slack is set to (`users.info`'s `locale`, `es-LA`)."""

    def actor(self, user_id: str, fallback: str | None = None) -> Actor:
        name = self.names.get(user_id) or fallback or user_id
        role = self.roles.get(user_id)
        roles = (role,) if role else ()
        return Actor(PLATFORM, UserId(user_id), name, roles, locale=self.locales.get(user_id))


# --- inbound ------------------------------------------------------------------------------


def unescape(text: str) -> str:
    """Slack's escaped text as people wrote it: `&lt;` -> `<` and so on."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def readable(text: str, names: Mapping[str, str], *, ids: bool = False) -> str:
    """Slack's message markup as plain text: `<@U1>` -> `@Ada` (or `@U1` with `ids`, which
    is what a command argument needs), `<#C1|general>` -> `#general`, `<!here>` -> `@here`,
    `<https://x|label>` -> `label (https://x)`; then entities are unescaped."""

    def one(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            user = target[1:]
            return f"@{user}" if ids else f"@{label or names.get(user) or user}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            word = target[1:].split("^", 1)[0]
            return f"@{label or word}" if word in ("here", "channel", "everyone") else label or ""
        return f"{label} ({target})" if label and label != target else target

    return unescape(_LINK.sub(one, text))


def _place(channel: str, thread: str | None, channel_type: str | None = None) -> Place:
    direct = channel_type == "im" or (channel_type is None and channel.startswith("D"))
    return Place(PLATFORM, SpaceId(channel), ThreadId(thread) if thread else None, direct)


def _command_in(text: str, directory: Directory) -> str | None:
    """The command in a message, if it is one: `/checkin pass` (a slash command's name
    typed as text) or `@bot checkin pass`; None for anything else."""
    stripped = text.strip()
    mention = f"<@{directory.self_id}>"
    if stripped.startswith(mention):
        rest = stripped[len(mention) :].strip()
        word = rest.split(maxsplit=1)[0].lower() if rest else ""
        return rest if word in COMMAND_WORDS else None
    first, _, rest = stripped.partition(" ")
    named = directory.commands.get(first.lower())
    return None if named is None else f"{named} {rest.strip()}".strip()


def event_to_inbound(envelope: Mapping[str, Any], directory: Directory) -> Inbound | None:
    """The inbound model for one Events API callback, or None for what the core need not see.

    The `event_id` of the callback is the model's id, so Slack's retries of the same event
    (`X-Slack-Retry-Num`) are dropped by the core as re-deliveries. The bot's own messages
    and other bots' are dropped here.
    """
    event = envelope.get("event") or {}
    event_id = envelope.get("event_id")
    if not isinstance(event_id, str) or not isinstance(event, Mapping):
        return None
    kind = event.get("type")
    common: dict[str, Any] = {"event_id": EventId(event_id), "raw": envelope}
    if kind in ("message", "app_mention"):
        return _message(event, directory, common)
    user = event.get("user")
    if not isinstance(user, str) or user == directory.self_id:
        return None
    if kind == "reaction_added":
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return None
        return ReactionAdded(
            **common,
            actor=directory.actor(user),
            place=_place(str(item["channel"]), None),
            message_id=MessageId(str(item["ts"])),
            key=str(event.get("reaction", "")),
        )
    if kind in ("member_joined_channel", "member_left_channel") and event.get("channel"):
        place = _place(str(event["channel"]), None, None)
        model = MemberJoined if kind == "member_joined_channel" else MemberLeft
        return model(**common, actor=directory.actor(user), place=place)
    return None


def _message(
    event: Mapping[str, Any], directory: Directory, common: Mapping[str, Any]
) -> Inbound | None:
    channel = event.get("channel")
    if not isinstance(channel, str):
        return None
    channel_type = event.get("channel_type")
    if event.get("subtype") == "message_changed":
        new = event.get("message") or {}
        user, ts = new.get("user"), new.get("ts")
        if not isinstance(user, str) or user == directory.self_id or new.get("bot_id"):
            return None
        if not isinstance(ts, str) or not isinstance(new.get("text"), str):
            return None
        if (event.get("previous_message") or {}).get("text") == new["text"]:
            return None  # an unfurl or a thread's reply count changed, not the words
        return MessageReceived(
            **common,
            actor=directory.actor(user),
            place=_place(channel, new.get("thread_ts"), channel_type),
            message_id=MessageId(f"{ts}:edit:{event.get('event_ts', '')}"),
            text=readable(new["text"], directory.names),
            edits=MessageId(ts),
        )
    user, ts, text = event.get("user"), event.get("ts"), event.get("text")
    if event.get("subtype") not in SPOKEN_SUBTYPES or event.get("bot_id"):
        return None
    if not isinstance(user, str) or user == directory.self_id:
        return None
    if not isinstance(ts, str) or not isinstance(text, str) or not text.strip():
        return None  # a file shared without words says nothing to the bot
    thread = event.get("thread_ts")
    place = _place(channel, thread if thread != ts else None, channel_type)
    actor = directory.actor(user)
    command = _command_in(text, directory)
    if command is not None:
        return CommandInvoked(
            **common,
            actor=actor,
            place=place,
            text=readable(command, directory.names, ids=True),
            message_id=MessageId(ts),
        )
    if event.get("type") == "app_mention":
        return None  # the same text arrives as a `message` event: answer it once
    return MessageReceived(
        **common,
        actor=actor,
        place=place,
        message_id=MessageId(ts),
        text=readable(text, directory.names),
    )


def slash_command(payload: Mapping[str, Any], directory: Directory) -> CommandInvoked | None:
    """A slash command as the command it stands for (`/checkin pass` -> `checkin pass`).

    Slash commands carry no event id; their `trigger_id` is unique per invocation.
    """
    word = directory.commands.get(str(payload.get("command", "")).lower())
    user, channel, trigger = (
        payload.get("user_id"),
        payload.get("channel_id"),
        payload.get("trigger_id"),
    )
    if word is None or not isinstance(user, str) or not isinstance(channel, str):
        return None
    if not isinstance(trigger, str):
        return None
    rest = readable(str(payload.get("text") or ""), directory.names, ids=True).strip()
    direct = payload.get("channel_name") == "directmessage" or channel.startswith("D")
    return CommandInvoked(
        event_id=EventId(f"command:{trigger}"),
        actor=directory.actor(user, payload.get("user_name")),
        place=Place(PLATFORM, SpaceId(channel), None, direct),
        text=f"{word} {rest}".strip(),
        raw=payload,
    )


@dataclass(frozen=True)
class ButtonValue:
    """What the bot puts in a button's `value`: the core's action and value, and the form
    to open first (title, label, max length) for a button that asks for text."""

    action: str
    value: str
    form: TextForm | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {"a": self.action, "v": self.value}
        if self.form is not None:
            data["f"] = [self.form.title, self.form.label, self.form.max_length]
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> ButtonValue | None:
        try:
            data = json.loads(raw)
            form = data.get("f")
            return cls(
                str(data["a"]),
                str(data["v"]),
                TextForm(str(form[0]), str(form[1]), int(form[2])) if form else None,
            )
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None


@dataclass(frozen=True)
class Pressed:
    """A press of one of the bot's buttons, read from a `block_actions` payload."""

    button: ButtonValue
    actor: Actor
    place: Place
    message_id: MessageId
    trigger_id: str
    event_id: EventId
    raw: Mapping[str, Any]

    def inbound(self, text: str | None = None) -> ButtonPressed:
        return ButtonPressed(
            event_id=self.event_id,
            actor=self.actor,
            place=self.place,
            message_id=self.message_id,
            action=self.button.action,
            value=self.button.value,
            text=text,
            raw=self.raw,
        )


def block_action(payload: Mapping[str, Any], directory: Directory) -> Pressed | None:
    """The bot's button pressed on a message, or None (another app's element, a modal)."""
    actions = payload.get("actions") or []
    user = (payload.get("user") or {}).get("id")
    channel = (payload.get("channel") or {}).get("id")
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    if not actions or not isinstance(user, str) or not isinstance(channel, str):
        return None
    action = actions[0]
    if not str(action.get("action_id", "")).startswith(f"{BUTTON_PREFIX}."):
        return None
    button = ButtonValue.decode(str(action.get("value", "")))
    ts = container.get("message_ts") or message.get("ts")
    trigger = payload.get("trigger_id")
    if button is None or not isinstance(ts, str) or not isinstance(trigger, str):
        return None
    thread = message.get("thread_ts")
    fallback = (payload.get("user") or {}).get("name")
    return Pressed(
        button=button,
        actor=directory.actor(user, fallback),
        place=_place(channel, thread if thread != ts else None),
        message_id=MessageId(ts),
        trigger_id=trigger,
        event_id=EventId(f"action:{trigger}"),
        raw=payload,
    )


# --- outbound -----------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three escapes: user text can then form no `<!here>`, `<@U…>` or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_COMMAND_HINT = re.compile(r"`/([a-z]+)(?=[\s`])")


def renamed(text: str, commands: Mapping[str, str]) -> str:
    """The core writes commands as `` `/checkin pass` ``; where the config gave a command
    another slash name, say that one (`` `/cb-checkin pass` ``)."""
    return _COMMAND_HINT.sub(lambda m: f"`{commands.get(m.group(1), '/' + m.group(1))}", text)


@dataclass(frozen=True)
class Wording:
    """How the bot's words are written in this workspace: the slash commands' configured
    names, and the channels it knows (a breakout's channel named in the text becomes a
    `<#C…>` link, which Slack shows as `#its-name`)."""

    commands: Mapping[str, str] = field(default_factory=dict)
    channels: frozenset[str] = frozenset()

    def write(self, text: str) -> str:
        text = escape(renamed(text, self.commands) if self.commands else text)
        if self.channels:
            text = _CHANNEL_ID.sub(
                lambda m: f"<#{m.group(0)}>" if m.group(0) in self.channels else m.group(0), text
            )
        return text


_CHANNEL_ID = re.compile(r"(?<![<#@\w])[CGD][A-Z0-9]{8,}(?![\w>])")


def render(text: Sequence[Segment], wording: Wording | None = None) -> str:
    """mrkdwn for the segments: text escaped, Slack mentions as `<@U…>`, others as `@name`;
    command names and channels as `wording` says."""
    wording = wording or Wording()
    out: list[str] = []
    for segment in text:
        if isinstance(segment, Mention) and segment.platform == PLATFORM:
            out.append(f"<@{segment.user_id}>")
        elif isinstance(segment, Mention):
            out.append(escape(f"@{segment.display_name}"))
        elif isinstance(segment, Secret):
            out.append(escape(segment.value))
        else:
            out.append(wording.write(segment))
    return "".join(out)


def sections(mrkdwn: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Rendered text cut into pieces of at most `limit` characters, at line ends where it
    can, and never inside an entity (`&amp;`) or a mention (`<@U…>`)."""
    pieces: list[str] = []
    rest = mrkdwn
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = limit
            for opener, closer in (("&", ";"), ("<", ">")):
                start = rest.rfind(opener, 0, cut)
                if start >= 0 and rest.find(closer, start) >= cut:
                    cut = start
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def blocks(mrkdwn: str, buttons: Sequence[Button]) -> list[dict[str, Any]]:
    """Block Kit for a message: its text in sections, then one actions block of buttons."""
    found: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece or " "}}
        for piece in sections(mrkdwn)
    ]
    if buttons:
        elements = []
        for index, button in enumerate(buttons):
            elements.append(
                {
                    "type": "button",
                    "action_id": f"{BUTTON_PREFIX}.{index}",
                    "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
                    "value": ButtonValue(button.action, button.value, button.form).encode()[:2000],
                }
            )
        found.append({"type": "actions", "elements": elements})
    return found


def message_args(
    channel: str,
    text: Sequence[Segment],
    buttons: Sequence[Button] = (),
    thread: str | None = None,
    wording: Wording | None = None,
    *,
    broadcast: bool = False,
) -> dict[str, Any]:
    """`chat.postMessage` arguments. `text` is the notification fallback, `blocks` what
    people read; nothing is parsed by Slack (`parse="none"`, no `link_names`), so only
    the `<@U…>` the bot wrote itself mention anyone. A `broadcast` reply in a thread is
    also shown in the channel (`reply_broadcast`)."""
    mrkdwn = render(text, wording)
    args: dict[str, Any] = {
        "channel": channel,
        "text": mrkdwn,  # the notification and fallback text: Slack takes 40,000 characters
        "blocks": blocks(mrkdwn, buttons),
        "parse": "none",
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if thread is not None:
        args["thread_ts"] = thread
        if broadcast:
            args["reply_broadcast"] = True
    return args


def modal_view(title: str, label: str, max_length: int, metadata: str) -> dict[str, Any]:
    """A modal with one multi-line text field; `metadata` comes back with the submission."""
    return {
        "type": "modal",
        "callback_id": f"{BUTTON_PREFIX}.form",
        "title": {"type": "plain_text", "text": title[:24] or "Answer"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata[:3000],
        "blocks": [
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": label[:2000] or "Your answer"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": max(1, min(max_length, 3000)),
                },
            }
        ],
    }


def channel_name(parent: str, name: str) -> str:
    """A private channel's name for a breakout group: lowercase, no spaces, at most 80
    characters, and unique per parent and group name (a suffix from both)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "breakout"
    suffix = hashlib.sha256(f"{parent}\n{name}".encode()).hexdigest()[:6]
    return f"{slug[:70]}-{suffix}"


def retry_after_s(header: str | None) -> float:
    """Seconds to wait from a 429's `Retry-After` (1 when it is missing or unreadable)."""
    try:
        return float(header) if header is not None else 1.0
    except ValueError:
        return 1.0


def platform_error(
    what: str, error: str | None, status: int, retry_after: str | None
) -> PlatformError:
    """Our error for a Slack error answer: a 429 carries `Retry-After` (seconds)."""
    text = f"Slack {what} failed: {error or f'HTTP {status}'}"
    if status == 429 or error == "ratelimited":
        delay = retry_after_s(retry_after)
        return PlatformError(f"{text} (retry after {delay:.0f} s)", retry_after=delay)
    transient = status >= 500 or error in TRANSIENT_ERRORS
    return PlatformError(text, permanent=not transient)


def form_metadata(pressed: Pressed) -> str:
    """What a modal carries back (`private_metadata`): the button and where it was pressed."""
    return json.dumps(
        {
            "a": pressed.button.action,
            "v": pressed.button.value,
            "c": pressed.place.space,
            "t": pressed.place.thread,
            "m": pressed.message_id,
        },
        separators=(",", ":"),
    )


def view_submission(payload: Mapping[str, Any], directory: Directory) -> tuple[Pressed, str] | None:
    """A submitted form as the press of the button that opened it, and the text typed."""
    view = payload.get("view") or {}
    user = (payload.get("user") or {}).get("id")
    if view.get("callback_id") != f"{BUTTON_PREFIX}.form" or not isinstance(user, str):
        return None
    try:
        meta = json.loads(view.get("private_metadata") or "")
        button = ButtonValue(str(meta["a"]), str(meta["v"]))
        channel, thread, ts = str(meta["c"]), meta.get("t"), str(meta["m"])
    except (ValueError, KeyError, TypeError):
        return None
    field = ((view.get("state") or {}).get("values") or {}).get("answer", {}).get("text", {})
    text = field.get("value")
    if not isinstance(text, str):
        return None
    pressed = Pressed(
        button=button,
        actor=directory.actor(user, (payload.get("user") or {}).get("name")),
        place=_place(channel, thread),
        message_id=MessageId(ts),
        trigger_id=str(payload.get("trigger_id", "")),
        event_id=EventId(f"view:{view.get('id')}:{view.get('hash', '')}"),
        raw=payload,
    )
    return pressed, text
