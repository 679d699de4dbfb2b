"""Discord gateway payloads to our inbound models, our actions to Discord requests: pure.

Nothing here performs I/O or imports discord.py, so every rule (how a slash command's options
become the one command language, how a thread reply is placed, why `@everyone` never pings,
how a recurrence crosses over) is tested on recorded payloads. The I/O layer
(`adapters.discord.adapter`) hands these functions the raw dispatch (`t` and `d`) with what it
knows (`View`), and sends whatever they build.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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
    NativeChange,
    NativeEventChanged,
    NativeInterest,
    Place,
    PlatformName,
    PublishNativeEvent,
    Secret,
    Segment,
    SpaceId,
    TextForm,
    ThreadId,
    UserId,
)
from bot.errors import PlatformError

PLATFORM = PlatformName("discord")
EPHEMERAL = 1 << 6
"""Message flag: only the person who used the command sees the answer."""
MAX_CONTENT = 2000
CUSTOM_ID_SEP = "|"
FORM_MARK = "+"
"""Starts the custom id of a button that opens a form: the press opens it at once."""
FORM_FIELD = "text"
PRIVATE_THREAD = 12
EXTERNAL_EVENT = 3
GUILD_ONLY = 2
CANCELED = 4
SYSTEM = Actor(PLATFORM, UserId("discord"), "Discord")
"""Who a native event change comes from when Discord does not name its creator."""

# Interaction types and callback types (discord.com/developers/docs/interactions).
APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
DEFERRED_MESSAGE, DEFERRED_UPDATE, AUTOCOMPLETE_RESULT, MODAL = 5, 6, 8, 9

_EVERYONE = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_DM_MESSAGE_TYPES = frozenset({0, 19})
"""DEFAULT and REPLY: what people write. Joins, pins and thread notices are not messages."""


@dataclass(frozen=True)
class View:
    """What the I/O layer knows when a dispatch arrives."""

    self_id: str
    session: str = ""
    seq: int = 0
    parents: Mapping[str, str] = field(default_factory=dict)
    """thread id -> the channel it hangs under (threads are channels on Discord)."""
    guilds: frozenset[str] = frozenset()
    """The configured guilds; empty takes every guild the bot is in."""
    prefix: str = "!"
    roles: Mapping[str, str] = field(default_factory=dict)
    """Discord role id -> the community role it grants (from the config's mapping)."""

    def dispatch_id(self, kind: str) -> EventId:
        """An id for a dispatch without an id of its own: a resumed session replays missed
        dispatches with their sequence numbers, so a replay is recognised as one."""
        return EventId(f"{kind}:{self.session}:{self.seq}")


def display_name(user: Mapping[str, Any], member: Mapping[str, Any] | None = None) -> str:
    nick = (member or {}).get("nick")
    return str(nick or user.get("global_name") or user.get("username") or user.get("id", "?"))


def actor_of(
    user: Mapping[str, Any],
    member: Mapping[str, Any] | None = None,
    roles: Mapping[str, str] | None = None,
    locale: object = None,
) -> Actor:
    """The person; `locale` is the language an interaction says their client uses."""
    held = (member or {}).get("roles") or []
    granted = tuple(sorted({roles[str(r)] for r in held if str(r) in roles})) if roles else ()
    name = display_name(user, member)
    spoken = locale if isinstance(locale, str) and locale else None
    return Actor(PLATFORM, UserId(str(user["id"])), name, granted, locale=spoken)


def place_of(channel_id: str, guild_id: str | None, view: View) -> Place:
    if guild_id is None:
        return Place(PLATFORM, SpaceId(channel_id), direct=True)
    parent = view.parents.get(channel_id)
    if parent is not None:
        return Place(PLATFORM, SpaceId(parent), ThreadId(channel_id))
    return Place(PLATFORM, SpaceId(channel_id))


def readable(content: str, mentions: Sequence[Mapping[str, Any]]) -> str:
    """`<@123>` as `@name`, so the core reads what people see."""
    names = {str(m["id"]): display_name(m, m.get("member")) for m in mentions}
    return _USER_MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), content)


def to_inbound(kind: str, data: Mapping[str, Any], view: View) -> Inbound | None:
    """One gateway dispatch as an inbound model, or None for what the core does not hear."""
    guild = data.get("guild_id")
    if guild is not None and view.guilds and str(guild) not in view.guilds:
        return None
    if kind in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        return message(kind, data, view)
    if kind == "INTERACTION_CREATE":
        return interaction(data, view)
    if kind in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"):
        model = MemberJoined if kind == "GUILD_MEMBER_ADD" else MemberLeft
        return model(
            event_id=view.dispatch_id("member"),
            actor=actor_of(data["user"], data, view.roles),
            place=Place(PLATFORM, SpaceId(str(guild))),
            raw=data,
        )
    if kind.startswith("GUILD_SCHEDULED_EVENT_USER_"):
        return NativeInterest(
            event_id=view.dispatch_id("interest"),
            actor=Actor(PLATFORM, UserId(str(data["user_id"])), str(data["user_id"])),
            place=Place(PLATFORM, SpaceId(str(guild))),
            native_id=str(data["guild_scheduled_event_id"]),
            interested=kind.endswith("_ADD"),
            raw=data,
        )
    if kind.startswith("GUILD_SCHEDULED_EVENT_"):
        return scheduled_event(kind, data, view)
    return None


def message(kind: str, data: Mapping[str, Any], view: View) -> Inbound | None:
    author = data.get("author")
    content = data.get("content")
    if not author or author.get("bot") or data.get("webhook_id") or not isinstance(content, str):
        return None  # an update without content changed only embeds or flags
    if str(author["id"]) == view.self_id or not content.strip():
        return None
    if kind == "MESSAGE_CREATE" and data.get("type", 0) not in _DM_MESSAGE_TYPES:
        return None
    guild = data.get("guild_id")
    common: dict[str, Any] = {
        "actor": actor_of(author, data.get("member"), view.roles),
        "place": place_of(str(data["channel_id"]), str(guild) if guild else None, view),
        "raw": data,
    }
    text = readable(content, data.get("mentions") or [])
    mid = MessageId(str(data["id"]))
    if kind == "MESSAGE_UPDATE":
        stamp = data.get("edited_timestamp") or view.seq
        return MessageReceived(
            event_id=EventId(f"edit:{mid}:{stamp}"), message_id=mid, text=text, edits=mid, **common
        )
    if text.startswith(view.prefix) and len(text) > len(view.prefix):
        return CommandInvoked(
            event_id=EventId(f"msg:{mid}"), text=text[len(view.prefix) :], message_id=mid, **common
        )
    return MessageReceived(event_id=EventId(f"msg:{mid}"), message_id=mid, text=text, **common)


def interaction(data: Mapping[str, Any], view: View) -> Inbound | None:
    """A slash command as a command; a button press or a modal submission as a press."""
    kind = data.get("type")
    member = data.get("member")
    user = (member or {}).get("user") or data.get("user")
    channel = data.get("channel_id") or (data.get("channel") or {}).get("id")
    if not user or not channel:
        return None
    guild = data.get("guild_id")
    common: dict[str, Any] = {
        "event_id": EventId(str(data["id"])),
        "actor": actor_of(user, member, view.roles, data.get("locale")),
        "place": place_of(str(channel), str(guild) if guild else None, view),
        "raw": data,
    }
    body = data.get("data") or {}
    if kind == APPLICATION_COMMAND:
        text = command_text(body)
        return CommandInvoked(text=text, **common) if text else None
    if kind in (COMPONENT, MODAL_SUBMIT):
        button = str(body.get("custom_id", "")).removeprefix(FORM_MARK)
        action, _, value = button.partition(CUSTOM_ID_SEP)
        if not action:
            return None
        message_id = (data.get("message") or {}).get("id", "")
        text = form_text(body) if kind == MODAL_SUBMIT else None
        return ButtonPressed(
            message_id=MessageId(str(message_id)), action=action, value=value, text=text, **common
        )
    return None


def form_text(body: Mapping[str, Any]) -> str:
    """The typed text of a modal submission (an action row or a label holding the input)."""
    for row in body.get("components") or []:
        inner = row.get("components") or ([row["component"]] if "component" in row else [])
        for c in inner:
            if c.get("custom_id") == FORM_FIELD:
                return str(c.get("value") or "")
    return ""


# --- application commands ------------------------------------------------------------------

STRING, INTEGER, BOOLEAN, USER = 3, 4, 5, 6
SUB_COMMAND = 1


@dataclass(frozen=True)
class Opt:
    """One option of a slash command and how it reads in the command language.

    `form` is where the value goes: `{}` positional (quoted when it has spaces), `--{name}`
    for a flag; `raw` passes the text unquoted (a free-text answer, a time).
    """

    name: str
    description: str
    kind: int = STRING
    required: bool = False
    form: str = "--{name} {}"
    raw: bool = False
    autocomplete: bool = False
    choices: tuple[str, ...] = ()


def _pos(name: str, description: str, kind: int = STRING, **kw: Any) -> Opt:
    return Opt(name, description, kind, form="{}", **kw)


@dataclass(frozen=True)
class Sub:
    name: str
    description: str
    options: tuple[Opt, ...] = ()
    words: str | None = None
    """The command words it stands for; by default `<command> <sub-command>`."""


@dataclass(frozen=True)
class Slash:
    name: str
    description: str
    subs: tuple[Sub, ...] = ()
    options: tuple[Opt, ...] = ()


_WHEN = "when, e.g. 2026-03-10 18:00 or friday 18:00"
SLASH_COMMANDS: tuple[Slash, ...] = (
    Slash(
        "checkin",
        "Check-in rounds",
        subs=(
            Sub(
                "open",
                "Open a check-in round here",
                (
                    _pos(
                        "prompt",
                        "a prompt id or your own question",
                        required=True,
                        autocomplete=True,
                    ),
                    Opt("anonymous", "answers without names", BOOLEAN),
                    Opt("dm", "ask everyone by direct message too", BOOLEAN),
                    Opt("until", "when the round closes", raw=True),
                    Opt("remind", "when to remind who has not answered", raw=True),
                    Opt("every", "repeat, e.g. weekly on monday 10:00"),
                ),
            ),
            Sub(
                "answer",
                "Answer the open check-in",
                (_pos("text", "your answer", required=True, raw=True),),
                words="checkin",
            ),
            Sub("pass", "Pass on the open check-in"),
            Sub("status", "How many answered"),
            Sub("close", "Close the round and post its summary"),
            Sub("stop", "Stop the recurring check-ins here"),
            Sub(
                "export",
                "A link to the answers as a file",
                (
                    _pos("format", "file format", required=True, choices=("csv", "json", "md")),
                    _pos("round", "round number", INTEGER),
                ),
            ),
        ),
    ),
    Slash(
        "breakout",
        "Breakout groups",
        subs=(
            Sub(
                "start",
                "Split the people here into groups",
                (
                    Opt("groups", "how many groups", INTEGER, form="{} groups"),
                    Opt("size", "people per group", INTEGER, form="size {}"),
                    _pos("provocation", "a provocation id or your own question"),
                    Opt("minutes", "how long", INTEGER),
                    Opt("from", "who takes part", choices=("reactions", "present", "checkin")),
                    Opt("join-window", "seconds to press Join (10 to 3600)", INTEGER),
                    Opt("report-minutes", "time for report-backs", INTEGER),
                ),
                words="breakout",
            ),
            Sub("end", "End the breakout here early"),
            Sub("join", "Join the breakout here", words="join"),
            Sub(
                "report",
                "Send your group's report-back",
                (_pos("text", "the report", required=True, raw=True),),
                words="report",
            ),
        ),
    ),
    Slash(
        "event",
        "Community events",
        subs=(
            Sub(
                "add",
                "Schedule an event",
                (
                    _pos("title", "the event's title", required=True),
                    _pos("when", _WHEN, required=True, raw=True),
                    Opt("tz", "time zone, e.g. Europe/London"),
                    Opt("duration", "minutes or e.g. 1h30"),
                    Opt("link", "where it happens (http/https)"),
                    Opt("every", "repeat, e.g. monthly on the 2nd tuesday"),
                    Opt("remind", "e.g. 1d,1h"),
                    Opt("publish", "also create a Discord scheduled event", BOOLEAN),
                ),
            ),
            Sub("list", "Upcoming events"),
            Sub(
                "cancel",
                "Cancel an event or one occurrence",
                (
                    _pos("id", "event number", INTEGER, required=True),
                    _pos("date", "only the occurrence on this day", raw=True),
                ),
            ),
            Sub(
                "import",
                "Import an .ics calendar (again = update)",
                (
                    _pos("source", "https address of the calendar", required=True),
                    Opt("remind", "e.g. 1d,1h"),
                ),
            ),
        ),
    ),
    Slash(
        "nudge",
        "Nudges",
        subs=(
            Sub(
                "send",
                "Send a nudge at a time",
                (
                    _pos("text", "what to say", required=True),
                    Opt("at", _WHEN, required=True, raw=True),
                    Opt("to", "members, non-responders or a role"),
                ),
                words="nudge",
            ),
            Sub("failures", "Deliveries that failed"),
            Sub(
                "retry",
                "Try a failed delivery again",
                (_pos("id", "delivery number", INTEGER, required=True),),
            ),
        ),
    ),
    Slash(
        "me",
        "Your settings",
        subs=(
            Sub("tz", "Set your time zone", (_pos("zone", "e.g. Europe/London", required=True),)),
            Sub(
                "quiet",
                "Hours without nudges",
                (_pos("hours", "hh:mm-hh:mm or off", required=True),),
            ),
            Sub("pause", "Stop all nudges to you"),
            Sub("resume", "Start nudges again"),
            Sub("dashboard", "A link to the organiser dashboard"),
        ),
    ),
    Slash(
        "role",
        "Give someone a role",
        options=(
            _pos("role", "the role", required=True, choices=("member", "catalyst", "organiser")),
            Opt("user", "who", USER, required=True, form="discord:{}"),
        ),
    ),
    Slash("help", "What you can do", options=(_pos("command", "a command to explain"),)),
)
_BY_NAME = {s.name: s for s in SLASH_COMMANDS}


def command_payloads() -> list[dict[str, Any]]:
    """The application commands as Discord's bulk-overwrite request body."""

    def option(o: Opt) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": o.kind,
            "name": o.name,
            "description": o.description[:100],
            "required": o.required,
        }
        if o.autocomplete:
            body["autocomplete"] = True
        if o.choices:
            body["choices"] = [{"name": c, "value": c} for c in o.choices]
        return body

    def ordered(options: Sequence[Opt]) -> list[dict[str, Any]]:
        return [option(o) for o in sorted(options, key=lambda o: not o.required)]

    commands = []
    for s in SLASH_COMMANDS:
        options = [
            {
                "type": SUB_COMMAND,
                "name": sub.name,
                "description": sub.description[:100],
                "options": ordered(sub.options),
            }
            for sub in s.subs
        ] or ordered(s.options)
        commands.append(
            {"name": s.name, "type": 1, "description": s.description, "options": options}
        )
    return commands


def quote(value: str) -> str:
    """A value as one token of the command language."""
    if value and not re.search(r"[\s\"“”']", value) and not value.startswith("--"):
        return value
    if '"' not in value:
        return f'"{value}"'
    return "“" + value.replace("”", "'") + "”"


def command_text(body: Mapping[str, Any]) -> str | None:
    """A slash command's name, sub-command and options as the command it stands for."""
    slash = _BY_NAME.get(str(body.get("name")))
    if slash is None:
        return None
    given = list(body.get("options") or [])
    words, declared = slash.name, slash.options
    if given and given[0].get("type") == SUB_COMMAND:
        sub = next((s for s in slash.subs if s.name == given[0].get("name")), None)
        if sub is None:
            return None
        words, declared = sub.words or f"{slash.name} {sub.name}", sub.options
        given = list(given[0].get("options") or [])
    values = {str(o.get("name")): o.get("value") for o in given}
    parts = [words]
    for opt in declared:
        value = values.get(opt.name)
        if value is None or value is False:
            continue
        if opt.kind == BOOLEAN:
            parts.append(f"--{opt.name}")
            continue
        text = str(value)
        parts.append(opt.form.format(text if opt.raw else quote(text), name=opt.name))
    return " ".join(parts)


def focused_option(body: Mapping[str, Any]) -> str | None:
    """The text typed so far in the option being autocompleted."""
    stack = list(body.get("options") or [])
    while stack:
        o = stack.pop()
        if o.get("focused"):
            return str(o.get("value") or "")
        stack.extend(o.get("options") or [])
    return None


def autocomplete_response(typed: str, choices: Mapping[str, str]) -> dict[str, Any]:
    """Up to 25 `id -> title` choices matching what was typed (id or title)."""
    low = typed.lower()
    hits = [(k, v) for k, v in choices.items() if low in k.lower() or low in v.lower()]
    return {
        "type": AUTOCOMPLETE_RESULT,
        "data": {"choices": [{"name": f"{k}: {v}"[:100], "value": k} for k, v in hits[:25]]},
    }


# --- outbound ------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """`@everyone`/`@here` shown but inert (allowed_mentions stops the ping as well)."""
    return _EVERYONE.sub("@\u200b\\1", text)


def render(text: Sequence[Segment]) -> tuple[str, list[str]]:
    """Content and the user ids it may ping: only the bot's own `Mention`s of Discord users.

    Whatever a member typed (`<@&role>`, `<@id>`, `@here`) stays text that pings no one.
    """
    parts, users = [], []
    for seg in text:
        if isinstance(seg, Mention):
            if seg.platform == PLATFORM and seg.user_id.isdigit():
                parts.append(f"<@{seg.user_id}>")
                users.append(str(seg.user_id))
            else:
                parts.append(f"@{seg.display_name}")
        elif isinstance(seg, Secret):
            parts.append(seg.value)
        else:
            parts.append(neutralise(seg))
    return "".join(parts)[:MAX_CONTENT], sorted(set(users))[:100]


def allowed_mentions(users: Sequence[str]) -> dict[str, Any]:
    return {"parse": [], "users": list(users), "replied_user": False}


def nonce(key: str) -> str:
    """The message nonce for an action key: 25 characters, the same on every retry."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


def custom_id(button: Button) -> str:
    mark = FORM_MARK if button.form else ""
    return f"{mark}{button.action}{CUSTOM_ID_SEP}{button.value}"[:100]


def form_opener(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the modal's custom id, the button's label) when a press should open a form."""
    body = data.get("data") or {}
    pressed = str(body.get("custom_id", ""))
    if data.get("type") != COMPONENT or not pressed.startswith(FORM_MARK):
        return None
    label = "Answer"
    for row in (data.get("message") or {}).get("components") or []:
        for c in row.get("components") or []:
            if c.get("custom_id") == pressed and c.get("label"):
                label = str(c["label"])
    return pressed.removeprefix(FORM_MARK), label


def components(buttons: Sequence[Button]) -> list[dict[str, Any]]:
    """Buttons in action rows of five (Discord's limit), at most five rows."""
    rows = []
    for i in range(0, min(len(buttons), 25), 5):
        rows.append(
            {
                "type": 1,
                "components": [
                    {
                        "type": 2,
                        "style": 1 if j == 0 else 2,
                        "label": b.label[:80],
                        "custom_id": custom_id(b),
                    }
                    for j, b in enumerate(buttons[i : i + 5], start=i)
                ],
            }
        )
    return rows


def message_body(
    text: Sequence[Segment],
    *,
    key: str,
    buttons: Sequence[Button] = (),
    embed: bool = False,
) -> dict[str, Any]:
    """A create-message body: idempotent by nonce, pinging only explicit mentions.

    `embed` puts the text in an embed (a summary): its first line as the title.
    """
    content, users = render(text)
    body: dict[str, Any] = {
        "allowed_mentions": allowed_mentions(users),
        "nonce": nonce(key),
        "enforce_nonce": True,
    }
    if embed:
        title, _, rest = content.partition("\n")
        body["embeds"] = [{"title": title[:256], "description": rest[:4096], "type": "rich"}]
    else:
        body["content"] = content
    if buttons:
        body["components"] = components(buttons)
    return body


def edit_body(text: Sequence[Segment]) -> dict[str, Any]:
    content, users = render(text)
    return {"content": content, "allowed_mentions": allowed_mentions(users)}


def followup_body(text: Sequence[Segment], *, private: bool) -> dict[str, Any]:
    """An interaction's answer; `private` ones only the caller sees (refusals, own data)."""
    content, users = render(text)
    body: dict[str, Any] = {"content": content, "allowed_mentions": allowed_mentions(users)}
    if private:
        body["flags"] = EPHEMERAL
    return body


def modal_response(button_id: str, form: TextForm) -> dict[str, Any]:
    """The interaction callback that opens a form with one paragraph field."""
    return {
        "type": MODAL,
        "data": {
            "custom_id": button_id,
            "title": form.title[:45],
            "components": [
                {
                    "type": 1,
                    "components": [
                        {
                            "type": 4,
                            "custom_id": FORM_FIELD,
                            "style": 2,
                            "label": form.label[:45],
                            "min_length": 1,
                            "max_length": max(1, min(form.max_length, 4000)),
                            "required": True,
                        }
                    ],
                }
            ],
        },
    }


def private_thread_body(name: str) -> dict[str, Any]:
    return {
        "name": name[:100] or "breakout",
        "type": PRIVATE_THREAD,
        "invitable": False,
        "auto_archive_duration": 1440,
    }


def close_thread_body() -> dict[str, Any]:
    return {"archived": True, "locked": True}


# --- scheduled events ------------------------------------------------------------------------

_FREQ = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rrule_of(rule: Mapping[str, Any] | None) -> str | None:
    """Discord's recurrence rule as RFC 5545."""
    if not rule:
        return None
    freq = rule.get("frequency")
    if not isinstance(freq, int) or not 0 <= freq < len(_FREQ):
        return None
    parts = [f"FREQ={_FREQ[freq]}"]
    if (interval := rule.get("interval")) and interval != 1:
        parts.append(f"INTERVAL={interval}")
    days = [_DAYS[d] for d in rule.get("by_weekday") or [] if 0 <= d < 7]
    days += [f"{n['n']}{_DAYS[n['day']]}" for n in rule.get("by_n_weekday") or []]
    if days:
        parts.append("BYDAY=" + ",".join(days))
    if months := rule.get("by_month"):
        parts.append("BYMONTH=" + ",".join(str(m) for m in months))
    if month_days := rule.get("by_month_day"):
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in month_days))
    if count := rule.get("count"):
        parts.append(f"COUNT={count}")
    elif end := parse_time(rule.get("end")):
        parts.append(f"UNTIL={end:%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


def recurrence_rule(rrule: str | None, start: datetime) -> dict[str, Any] | None:
    """RFC 5545 as Discord's recurrence rule, or None when Discord cannot express it.

    Discord takes daily (optionally on a set of weekdays), weekly or every other week on one
    day, monthly on the n-th weekday, and yearly on one date; nothing with a count or an end.
    """
    if not rrule:
        return None
    fields = dict(p.split("=", 1) for p in rrule.upper().split(";") if "=" in p)
    freq = fields.pop("FREQ", "")
    interval = int(fields.pop("INTERVAL", "1"))
    by_day = [d for d in fields.pop("BYDAY", "").split(",") if d]
    if fields.keys() - {"WKST", "BYMONTHDAY", "BYMONTH"} or freq not in _FREQ:
        return None
    rule: dict[str, Any] = {
        "start": iso(start),
        "frequency": _FREQ.index(freq),
        "interval": interval,
    }
    weekday = start.weekday()
    if freq == "DAILY" and interval == 1 and not fields:
        if by_day:
            if any(d not in _DAYS for d in by_day):
                return None
            rule["by_weekday"] = sorted(_DAYS.index(d) for d in by_day)
        return rule
    if freq == "WEEKLY" and interval in (1, 2) and not fields:
        days = by_day or [_DAYS[weekday]]
        if len(days) != 1 or days[0] not in _DAYS:
            return None
        rule["by_weekday"] = [_DAYS.index(days[0])]
        return rule
    if freq == "MONTHLY" and interval == 1 and not fields and len(by_day) == 1:
        match = re.fullmatch(r"([1-5])(MO|TU|WE|TH|FR|SA|SU)", by_day[0])
        if match is None:
            return None
        rule["by_n_weekday"] = [{"n": int(match[1]), "day": _DAYS.index(match[2])}]
        return rule
    if freq == "YEARLY" and interval == 1 and not by_day:
        rule["by_month"] = [int(fields.get("BYMONTH", start.month))]
        rule["by_month_day"] = [int(fields.get("BYMONTHDAY", start.day))]
        return rule
    return None


def event_link(data: Mapping[str, Any]) -> str:
    location = str((data.get("entity_metadata") or {}).get("location") or "")
    if location.startswith(("https://", "http://")):
        return location
    return f"https://discord.com/events/{data['guild_id']}/{data['id']}"


def scheduled_event(kind: str, data: Mapping[str, Any], view: View) -> Inbound | None:
    start = parse_time(data.get("scheduled_start_time"))
    if start is None:
        return None
    if kind.endswith("_DELETE") or data.get("status") == CANCELED:
        change = NativeChange.CANCELLED
    else:
        change = NativeChange.CREATED if kind.endswith("_CREATE") else NativeChange.CHANGED
    creator = data.get("creator")
    return NativeEventChanged(
        event_id=view.dispatch_id("sched"),
        actor=actor_of(creator) if creator else SYSTEM,
        place=Place(PLATFORM, SpaceId(str(data.get("channel_id") or data["guild_id"]))),
        change=change,
        native_id=str(data["id"]),
        title=str(data.get("name") or ""),
        start=start,
        end=parse_time(data.get("scheduled_end_time")),
        rrule=rrule_of(data.get("recurrence_rule")),
        link=event_link(data),
        description=data.get("description") or None,
        raw=data,
    )


def guild_events(data: Mapping[str, Any], view: View) -> list[NativeEventChanged]:
    """The scheduled events a server has when the bot connects (in GUILD_CREATE), each as a
    change: events made or changed while the bot was away are imported and brought up to date."""
    found = []
    for raw in data.get("guild_scheduled_events") or []:
        event = scheduled_event(
            "GUILD_SCHEDULED_EVENT_UPDATE", {**raw, "guild_id": data["id"]}, view
        )
        if isinstance(event, NativeEventChanged):
            found.append(replace(event, event_id=EventId(f"{event.event_id}:{event.native_id}")))
    return found


def interested_of(users: Sequence[Mapping[str, Any]], roles: Mapping[str, str]) -> list[Actor]:
    """People from a scheduled event's users list (those who marked themselves Interested)."""
    return [actor_of(u["user"], u.get("member"), roles) for u in users if u.get("user")]


def scheduled_event_body(action: PublishNativeEvent) -> dict[str, Any]:
    """A Guild Scheduled Event for a community event: external, with its link as location."""
    if action.cancelled:
        return {"status": CANCELED}
    body: dict[str, Any] = {
        "name": action.title[:100],
        "privacy_level": GUILD_ONLY,
        "scheduled_start_time": iso(action.start),
        "scheduled_end_time": iso(action.end),
        "entity_type": EXTERNAL_EVENT,
        "entity_metadata": {"location": (action.link or "See the event's description")[:100]},
        "description": (action.description or "")[:1000],
    }
    rule = recurrence_rule(action.rrule, action.start)
    if rule is not None:
        body["recurrence_rule"] = rule
    return body


# --- errors ---------------------------------------------------------------------------------


def platform_error(what: str, status: int, body: Any) -> PlatformError:
    """Our error for a Discord error response: 429s carry their delay, 5xx are retried."""
    message = body.get("message", "") if isinstance(body, Mapping) else str(body)[:200]
    code = body.get("code") if isinstance(body, Mapping) else None
    text = f"Discord {what} failed: {status} {message} (code {code})"
    if status == 429:
        delay = float(body.get("retry_after", 1.0)) if isinstance(body, Mapping) else 1.0
        return PlatformError(f"{text}; retry after {delay:.2f} s", retry_after=delay)
    return PlatformError(text, permanent=400 <= status < 500)
