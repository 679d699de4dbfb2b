"""The platform-neutral boundary between the adapters and the core.

Every adapter turns what its platform sends into the frozen inbound models below and performs
the outbound actions below; the core sees nothing else. Models carry typed ids and the raw
payload (for debugging only) and never a reference back to their adapter.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NewType, Protocol, runtime_checkable

from bot.errors import CapabilityMissing

PlatformName = NewType("PlatformName", str)
UserId = NewType("UserId", str)
"""A user's id on its own platform (Slack `U123`, Matrix `@ada:example.org`, web `ada`)."""
SpaceId = NewType("SpaceId", str)
"""A channel, room, topic, group or web room: where a conversation happens."""
ThreadId = NewType("ThreadId", str)
MessageId = NewType("MessageId", str)
EventId = NewType("EventId", str)
"""The platform's id of one delivery, used to drop re-deliveries of the same event."""


@dataclass(frozen=True)
class Actor:
    """Who did something. `role` is what the platform itself makes them, where the config
    maps it (Slack workspace admins -> `organiser`, a user group -> `catalyst`): the core
    raises the member's role to it, never lowers it."""

    platform: PlatformName
    user_id: UserId
    display_name: str
    roles: tuple[str, ...] = field(default=(), compare=False)
    """Community roles (`catalyst`, `organiser`) the platform grants this person, from the
    config's mapping of platform roles (a Discord "Catalyst" role); the core raises the
    member's role to the highest of them, and never lowers it."""
    locale: str | None = field(default=None, compare=False)
    """The language the platform says this person uses (Slack's user locale, a Discord
    interaction's locale, a browser's `Accept-Language`), as a BCP 47 tag, where it says."""


@dataclass(frozen=True)
class Place:
    """Where a conversation happens; `direct` marks the private conversation with the bot."""

    platform: PlatformName
    space: SpaceId
    thread: ThreadId | None = None
    direct: bool = False

    def top(self) -> Place:
        """The same space outside any thread."""
        return Place(self.platform, self.space, None, self.direct)


@dataclass(frozen=True)
class Direct:
    """A private conversation with one user, which the adapter finds or creates.

    `near` is where the private answer belongs (the conversation the user spoke in): a
    platform that can show a message to one person inside a conversation (Slack's ephemeral
    messages) shows it there; the others ignore it and use the DM.
    """

    platform: PlatformName
    user_id: UserId
    near: Place | None = field(default=None, compare=False)


Destination = Place | Direct


# --- inbound ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Inbound:
    event_id: EventId
    actor: Actor
    place: Place
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def platform(self) -> PlatformName:
        return self.place.platform


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Inbound):
    """Plain text a person wrote; `edits` is set when it replaces an earlier message,
    `replies_to` when it answers one: a plain reply, or a message in a thread the platform
    opened on that message under another id (a Discourse chat thread)."""

    message_id: MessageId
    text: str
    edits: MessageId | None = None
    replies_to: MessageId | None = None


@dataclass(frozen=True, kw_only=True)
class CommandInvoked(Inbound):
    """A command in the one command language, its platform prefix already removed."""

    text: str
    message_id: MessageId | None = None


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Inbound):
    """A button was pressed; `text` is what the person typed when the button had a form."""

    message_id: MessageId
    action: str
    value: str
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReactionAdded(Inbound):
    message_id: MessageId
    key: str


@dataclass(frozen=True, kw_only=True)
class MemberJoined(Inbound):
    """Someone joined a space the bot is in."""


@dataclass(frozen=True, kw_only=True)
class MemberLeft(Inbound):
    """Someone left, or was removed from, a space the bot is in."""


class NativeChange(enum.StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class NativeEventChanged(Inbound):
    """A scheduled event the platform itself holds (a Discord Guild Scheduled Event, a
    Discourse post event) was created, changed or cancelled (needs `Capability.NATIVE_EVENTS`).

    `native_id` is the platform's id of the event; `start` and `end` are aware instants,
    `zone` an IANA name where the platform gives one, `rrule` an RFC 5545 rule where the
    recurrence is expressible. `interested` lists who marked themselves interested/going;
    None where the platform does not say (then the bot keeps what it knew). The actor is the
    event's creator where known, else the platform's system account.
    """

    change: NativeChange
    native_id: str
    title: str
    start: datetime
    end: datetime | None = None
    zone: str | None = None
    rrule: str | None = None
    link: str | None = None
    description: str | None = None
    interested: tuple[Actor, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class NativeInterest(Inbound):
    """The actor marked themselves interested in a native event (or, `interested=False`, no
    longer)."""

    native_id: str
    interested: bool


InboundSink = Callable[[Inbound], Awaitable[None]]


# --- outbound -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """A person named in a message: adapters render it as their platform's mention."""

    platform: PlatformName
    user_id: UserId
    display_name: str


@dataclass(frozen=True)
class Secret:
    """A part of a message no stored copy may hold: a one-time sign-in or download link.

    Adapters send `value`. Whatever they keep holds `stored` in its place (`stored_text`),
    and the outbox keeps `value` only in the bot's memory (`adapters.codec`), so a copy of
    the database hands out no working link."""

    value: str
    stored: str


Segment = str | Mention | Secret
"""Plain text is always sent as text: an adapter must neutralise `@everyone`-like markup in it."""


@dataclass(frozen=True)
class TextForm:
    """The text a button asks for before it counts: a modal with one field.

    On a platform with `Capability.MODALS` the adapter opens it itself when the button is
    pressed (Slack and Discord allow only a moment for that), and the submission reaches the
    core as `ButtonPressed` with `text`. What is typed there never becomes a chat message.
    """

    title: str
    label: str
    max_length: int = 3000


@dataclass(frozen=True)
class Button:
    action: str
    value: str
    label: str
    form: TextForm | None = None


@dataclass(frozen=True)
class Purpose:
    """What a message is for (`checkin.invite`, `event.reminder`, `nudge`...) and its named
    parameters, so an adapter can choose its form: a platform that only lets a pre-approved
    template through at times (WhatsApp outside its 24-hour window) builds one from these."""

    kind: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Action:
    """Something the core asks an adapter to do.

    `key` is the idempotency key: unique per action, stable across retries, so a platform that
    accepts one (Matrix transaction ids, Discord nonces) never performs it twice.
    """

    key: str


@dataclass(frozen=True, kw_only=True)
class SendMessage(Action):
    to: Destination
    text: tuple[Segment, ...]
    buttons: tuple[Button, ...] = ()
    purpose: Purpose | None = None
    broadcast: bool = False
    """A reply in `to`'s thread that the platform also shows in the channel, for what
    follows up on a thread's root and concerns everyone (a round's summary); needs
    `Capability.THREAD_BROADCAST`."""

    def __post_init__(self) -> None:
        if self.broadcast and not (isinstance(self.to, Place) and self.to.thread is not None):
            raise ValueError("only a reply in a thread can be broadcast")


@dataclass(frozen=True, kw_only=True)
class EditMessage(Action):
    place: Place
    message_id: MessageId
    text: tuple[Segment, ...]


@dataclass(frozen=True, kw_only=True)
class OpenSubSpace(Action):
    """A space for a few people under `parent`: a private room, channel or thread.

    Opening one that exists (the same `parent` and `name`) adds `members` to it: that is how
    a late joiner is let into a breakout group.
    """

    parent: Place
    name: str
    members: tuple[UserId, ...]
    private: bool = True


@dataclass(frozen=True, kw_only=True)
class CloseSubSpace(Action):
    place: Place


@dataclass(frozen=True, kw_only=True)
class PublishNativeEvent(Action):
    """Create the platform's own scheduled event for a community event, in the community
    that holds `place`; with `native_id`, update that one instead (`cancelled` cancels it).

    `rrule` is the community event's RFC 5545 rule: the adapter sends it where the platform
    can express it and otherwise publishes the next occurrence alone.
    """

    place: Place
    title: str
    start: datetime
    end: datetime
    zone: str
    rrule: str | None = None
    link: str | None = None
    description: str | None = None
    native_id: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class Sent:
    """What a send produced; `thread` is the thread rooted at the message, where threads exist."""

    message_id: MessageId
    place: Place
    thread: ThreadId | None = None


@dataclass(frozen=True)
class SubSpaceOpened:
    place: Place


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class NativePublished:
    """The platform's id of the scheduled event a `PublishNativeEvent` created or updated."""

    native_id: str


ActionResult = Sent | SubSpaceOpened | Done | NativePublished


# --- the adapter contract -----------------------------------------------------------------


class Capability(enum.StrEnum):
    THREADS = "threads"
    PRIVATE_SUBSPACES = "private sub-spaces"
    DIRECT_MESSAGES = "direct messages"
    BUTTONS = "buttons"
    MODALS = "modals"
    EDITS = "edits"
    REACTIONS = "reactions"
    PRESENCE = "presence"
    IDEMPOTENT_SEND = "idempotent send"
    NATIVE_EVENTS = "native scheduled events"
    MEMBERSHIP = "membership"
    """The adapter reports who is in the community's configured spaces: `MemberJoined` for
    each person there (those present at start too) and `MemberLeft` when they leave or are
    removed. Only those people are members; anyone else writing privately is refused."""
    ONE_RECEIVER = "one receiving connection"
    """The platform allows one receiving connection per account (a Matrix sync loop, a
    Discord gateway shard): of several processes, only the elected one starts the adapter."""
    TOPICS = "topics"
    """A forum: a message to a space outside any thread opens a new topic, so what follows up
    on a post (a round's summary, a breakout's reports) belongs in its thread."""
    THREAD_BROADCAST = "thread replies shown in the channel"
    """A reply in a thread can also be shown in the channel (Slack's "Also send to
    #channel"): what follows up on a post goes in its thread and still reaches everyone
    (`SendMessage.broadcast`)."""


ACTION_NEEDS: Mapping[type[Action], Capability | None] = {
    SendMessage: None,
    EditMessage: Capability.EDITS,
    OpenSubSpace: Capability.PRIVATE_SUBSPACES,
    CloseSubSpace: Capability.PRIVATE_SUBSPACES,
    PublishNativeEvent: Capability.NATIVE_EVENTS,
}


@dataclass(frozen=True)
class SendRate:
    """The token bucket the delivery worker keeps for one adapter: steady rate and burst."""

    per_second: float
    burst: int


@runtime_checkable
class Adapter(Protocol):
    """One platform, translated. Holds no ritual logic.

    `start` begins receiving and returns once the adapter is ready; inbound events go to
    `sink`. `perform` raises `PlatformError` (with `retry_after` for rate limits) and
    `CapabilityMissing` for what the platform cannot do; it never fails silently.
    """

    platform: PlatformName
    capabilities: frozenset[Capability]
    send_rate: SendRate
    self_id: UserId
    command_prefix: str
    """What people type before a command here (`!` on Matrix, `/` in the web chat); the bot
    writes commands with it when it tells people what to say."""
    max_text: int
    """The most characters one message may carry here; the core splits longer texts."""

    async def start(self, sink: InboundSink) -> None: ...

    async def stop(self) -> None: ...

    async def perform(self, action: Action) -> ActionResult: ...

    async def present(self, place: Place) -> Sequence[Actor]:
        """Who the platform reports as present in a space (needs `Capability.PRESENCE`)."""
        ...


@runtime_checkable
class ReportsConnection(Protocol):
    """An adapter holding a connection to its platform (a sync loop, a gateway) says whether
    it is up; the bot reports it at `/readyz`. Adapters without one leave this out."""

    @property
    def connected(self) -> bool: ...


@runtime_checkable
class CommandsInThreads(Protocol):
    """An adapter whose platform takes commands another way inside a thread says how (Slack
    runs no slash command in a thread: people mention the bot there); the bot then writes a
    command meant for a thread with this prefix. Adapters without the difference leave it out."""

    @property
    def thread_command_prefix(self) -> str: ...


def require(adapter: Adapter, action: Action) -> None:
    """Refuse, loudly, an action the adapter has not declared it can do.

    A direct message to a platform without DMs and a button on one without buttons are refused
    too: the core is expected to plan around the gaps, not to find them at send time.
    """
    needed = ACTION_NEEDS.get(type(action))
    if needed is not None and needed not in adapter.capabilities:
        raise CapabilityMissing(adapter.platform, needed.value)
    if isinstance(action, SendMessage):
        if isinstance(action.to, Direct) and Capability.DIRECT_MESSAGES not in adapter.capabilities:
            raise CapabilityMissing(adapter.platform, Capability.DIRECT_MESSAGES.value)
        if action.buttons and Capability.BUTTONS not in adapter.capabilities:
            raise CapabilityMissing(adapter.platform, Capability.BUTTONS.value)
        if any(b.form for b in action.buttons) and Capability.MODALS not in adapter.capabilities:
            raise CapabilityMissing(adapter.platform, Capability.MODALS.value)
        if action.broadcast and Capability.THREAD_BROADCAST not in adapter.capabilities:
            raise CapabilityMissing(adapter.platform, Capability.THREAD_BROADCAST.value)


def plain_text(text: Sequence[Segment]) -> str:
    """The text as a person reads it, mentions written as `@name`."""
    return "".join(_plain(s, reveal=True) for s in text)


def stored_text(text: Sequence[Segment]) -> str:
    """The text as an adapter may keep it: each `Secret` replaced by its `stored` form."""
    return "".join(_plain(s, reveal=False) for s in text)


def _plain(segment: Segment, *, reveal: bool) -> str:
    if isinstance(segment, str):
        return segment
    if isinstance(segment, Secret):
        return segment.value if reveal else segment.stored
    return f"@{segment.display_name}"
