"""Discourse webhooks to our inbound models, our actions to Discourse request bodies: pure.

Where things are, as `Place`s:
- a category is the space `c/<category id>`; a topic in it is that space with the topic id as
  the thread: a reply in the topic is in that thread, and sending to the category without a
  thread opens a new topic (its title is the text's first line);
- a topic addressed by itself is `t/<topic id>` (where a post event lives: its reminders);
- a personal message (PM) topic is the space `pm/<topic id>`: `direct` unless the bot opened it
  as a breakout group;
- a chat channel is `chat/<channel id>`, a chat thread its thread; a chat DM channel is direct.
  A message in a chat thread `replies_to` the thread's original message (a round's message
  there is answered by a thread reply, as a topic is by a reply in it).

People are known by username (what mentions and PM recipients are written with).

Nothing here performs I/O, so every rule (what counts as a command, how an edit is read and
de-duplicated, why a member's `@name`, `@group` or `[quote=...]` never pings when the bot repeats
it) is tested on recorded webhook payloads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    NativeChange,
    NativeEventChanged,
    Place,
    PlatformName,
    Secret,
    Segment,
    SpaceId,
    ThreadId,
    UserId,
)
from bot.errors import PlatformError

PLATFORM = PlatformName("discourse")
WORD_JOINER = "\u2060"
#: Characters the bot puts after `@` to break a mention; a copied command may carry them.
_INVISIBLE = dict.fromkeys(map(ord, "\u2060\u200d\u200b\ufeff"))
#: `@name`, `@group`, `@here`/`@all` (chat): Discourse's mention rule needs a letter, digit,
#: `_`, `.` or `-` right after `@`; a word joiner there reads the same and matches nothing.
_MENTION = re.compile(r"@(?=[\w.\-])")
#: `[quote="alice, post:3, topic:7"]` notifies alice that she was quoted.
_QUOTE_TAG = re.compile(r"\[(?=quote\b)", re.IGNORECASE)
#: An inline code span (no blank line inside, as Markdown allows): nothing in it pings.
_CODE_SPAN = re.compile(r"(`+)((?:(?!\n[ \t]*\n).)+?)\1", re.DOTALL)
_LEADING_QUOTES = re.compile(r"\A\s*(\[quote[^\]]*\].*?\[/quote\]\s*)+", re.IGNORECASE | re.DOTALL)
REGULAR_POST = 1
MAX_AGE = timedelta(days=7)
"""Older deliveries are dropped: Discourse's retries end within hours, and the core forgets
event ids after 14 days, so an old signed body replayed later must not run again."""
PRIVATE_MESSAGE = "private_message"
TITLE_MAX = 255
CHAT_THREAD_TITLE_MAX = 100


# --- places --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """A place decoded: what kind of space and its numeric ids."""

    kind: str  # "category", "topic", "pm" or "chat"
    id: int
    thread: int | None = None


def category_place(category_id: int, topic_id: int | None = None) -> Place:
    thread = ThreadId(str(topic_id)) if topic_id is not None else None
    return Place(PLATFORM, SpaceId(f"c/{category_id}"), thread)


def topic_place(topic_id: int) -> Place:
    """A topic addressed by itself (where a post event lives): sending there replies in it."""
    return Place(PLATFORM, SpaceId(f"t/{topic_id}"))


def pm_place(topic_id: int, *, direct: bool = True) -> Place:
    return Place(PLATFORM, SpaceId(f"pm/{topic_id}"), None, direct)


def chat_place(channel_id: int, thread_id: int | None = None, *, direct: bool = False) -> Place:
    thread = ThreadId(str(thread_id)) if thread_id is not None else None
    return Place(PLATFORM, SpaceId(f"chat/{channel_id}"), thread, direct)


_KINDS = {"c": "category", "t": "topic", "pm": "pm", "chat": "chat"}


def where(place: Place) -> Where:
    """Decode a place; a malformed one is a permanent error (it can never be sent to)."""
    prefix, _, number = place.space.partition("/")
    kind = _KINDS.get(prefix)
    thread = place.thread
    if kind is None or not number.isdigit() or (thread is not None and not thread.isdigit()):
        raise PlatformError(f"{place.space!r} is not a Discourse place", permanent=True)
    return Where(kind, int(number), int(thread) if thread is not None else None)


# --- inbound -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """What the I/O layer knows when it translates a webhook."""

    bot_username: str
    breakout_topics: Collection[int] = ()
    """PM topics the bot opened as breakout groups: not direct conversations."""
    home_category: int | None = None
    """Where forum-wide events (a user joining the site) are placed; None drops them."""
    thread_roots: Mapping[int, int] = field(default_factory=dict)
    """Chat thread id -> its original message id, as far as the adapter has learnt them."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def strip_quotes(raw: str) -> str:
    """A reply's own words: the `[quote]...[/quote]` blocks it opens with removed."""
    return _LEADING_QUOTES.sub("", raw).strip()


def command_text(text: str, bot_username: str) -> str | None:
    """The command after a leading `@<bot>` mention, or None when the text is not one."""
    plain = text.translate(_INVISIBLE).lstrip()
    mention = f"@{bot_username}".lower()
    head = plain[: len(mention)]
    rest = plain[len(mention) :]
    if head.lower() != mention or (rest and not rest[0].isspace()):
        return None
    return rest.strip() or None


def to_inbound(
    event: str, body: Mapping[str, Any], site: Site, now: datetime | None = None
) -> Inbound | None:
    """The inbound model for one webhook delivery, or None for what the core need not see.

    `event` is the `X-Discourse-Event` header (`post_created`, `chat_message_edited`...).
    The event id is taken from the payload, not from `X-Discourse-Event-Id`: Discourse gives
    each retry of a delivery a new id, while a post's id (and an edit's new text) stays the
    same. A command is a post or chat message starting with `@<bot>`; an edited command is
    not run again (an edit of `checkin open` must not open a second round), an edited reply
    replaces the answer it was. With `now`, a post or message written (or edited) more than
    `MAX_AGE` before it is dropped as a replay.
    """
    if now is not None and _too_old(event, body, now):
        return None
    if event in ("post_created", "post_edited"):
        post = body.get("post")
        return _post(post, event == "post_edited", site) if isinstance(post, Mapping) else None
    if event in ("user_created", "user_destroyed"):
        user = body.get("user")
        return _user(user, event == "user_created", site) if isinstance(user, Mapping) else None
    if event in ("chat_message_created", "chat_message_edited"):
        chat = body.get("chat_message")
        if not isinstance(chat, Mapping):
            return None
        return _chat(chat, event == "chat_message_edited", site)
    return None


def _too_old(event: str, body: Mapping[str, Any], now: datetime) -> bool:
    item: Any = body.get("post")
    if event.startswith("chat_message"):
        chat = body.get("chat_message")
        item = chat.get("message") if isinstance(chat, Mapping) else None
    if not isinstance(item, Mapping):
        return False
    stamp = item.get("updated_at") if event.endswith("edited") else item.get("created_at")
    written = _when(stamp or item.get("created_at"))
    return written is not None and now - written > MAX_AGE


def _actor(user: Mapping[str, Any]) -> Actor | None:
    username = user.get("username")
    if not isinstance(username, str) or not username:
        return None
    name = user.get("name")
    return Actor(PLATFORM, UserId(username), name if isinstance(name, str) and name else username)


def _is_bot(actor: Actor, site: Site) -> bool:
    return actor.user_id.lower() == site.bot_username.lower()


def _user(user: Mapping[str, Any], joined: bool, site: Site) -> Inbound | None:
    """A new forum user joins the community (so nudges reach them); a deleted one leaves."""
    user_id, actor = _int(user.get("id")), _actor(user)
    if user_id is None or actor is None or site.home_category is None or _is_bot(actor, site):
        return None
    place = category_place(site.home_category)
    if joined:
        return MemberJoined(event_id=EventId(f"user:{user_id}:joined"), actor=actor, place=place)
    return MemberLeft(event_id=EventId(f"user:{user_id}:left"), actor=actor, place=place)


def _post(post: Mapping[str, Any], edited: bool, site: Site) -> Inbound | None:
    post_id, topic_id = _int(post.get("id")), _int(post.get("topic_id"))
    raw = post.get("raw")
    actor = _actor(post)
    if post_id is None or topic_id is None or not isinstance(raw, str) or actor is None:
        return None
    if _is_bot(actor, site) or post.get("post_type") != REGULAR_POST or post.get("deleted_at"):
        return None
    if post.get("topic_archetype") == PRIVATE_MESSAGE:
        place = pm_place(topic_id, direct=topic_id not in site.breakout_topics)
    else:
        category = _int(post.get("category_id"))
        if category is None:
            return None
        place = category_place(category, topic_id)
    return _message(f"post:{post_id}", post_id, strip_quotes(raw), edited, place, actor, post, site)


def _chat(chat: Mapping[str, Any], edited: bool, site: Site) -> Inbound | None:
    message, channel = chat.get("message"), chat.get("channel")
    if not isinstance(message, Mapping) or not isinstance(channel, Mapping):
        return None
    message_id, channel_id = _int(message.get("id")), _int(channel.get("id"))
    text, user = message.get("message"), message.get("user")
    actor = _actor(user) if isinstance(user, Mapping) else None
    if message_id is None or channel_id is None or not isinstance(text, str) or actor is None:
        return None
    if _is_bot(actor, site) or message.get("deleted_at"):
        return None
    direct = channel.get("chatable_type") == "DirectMessage"
    thread = _int(message.get("thread_id"))
    place = chat_place(channel_id, thread, direct=direct)
    root = _thread_root(message, thread, site)
    replies_to = MessageId(str(root)) if root is not None and root != message_id else None
    ref = f"chat:{message_id}"
    return _message(ref, message_id, text, edited, place, actor, chat, site, replies_to)


def _thread_root(message: Mapping[str, Any], thread: int | None, site: Site) -> int | None:
    """The original message of the thread a chat message is in: known to the site, else the
    message it replied to (the plugin opens a thread on the message a member replies to)."""
    if thread is None:
        return None
    if thread in site.thread_roots:
        return site.thread_roots[thread]
    in_reply_to = message.get("in_reply_to")
    return _int(in_reply_to.get("id")) if isinstance(in_reply_to, Mapping) else None


def unknown_thread(event: str, body: Mapping[str, Any], site: Site) -> tuple[int, int] | None:
    """(channel, thread) of a member's chat message in a thread whose original message the
    site does not know yet: the adapter looks that up before translating."""
    chat = body.get("chat_message") if event.startswith("chat_message") else None
    message = chat.get("message") if isinstance(chat, Mapping) else None
    channel = chat.get("channel") if isinstance(chat, Mapping) else None
    if not isinstance(message, Mapping) or not isinstance(channel, Mapping):
        return None
    thread, channel_id = _int(message.get("thread_id")), _int(channel.get("id"))
    user = message.get("user")
    actor = _actor(user) if isinstance(user, Mapping) else None
    if thread is None or channel_id is None or thread in site.thread_roots:
        return None
    if actor is None or _is_bot(actor, site):
        return None
    return channel_id, thread


def _message(
    ref: str,
    message_id: int,
    text: str,
    edited: bool,
    place: Place,
    actor: Actor,
    raw: Mapping[str, Any],
    site: Site,
    replies_to: MessageId | None = None,
) -> Inbound | None:
    mid = MessageId(str(message_id))
    command = command_text(text, site.bot_username)
    common: dict[str, Any] = {"actor": actor, "place": place, "raw": raw}
    said: dict[str, Any] = {"message_id": mid, "text": text, "replies_to": replies_to}
    if edited:
        if command is not None:
            return None
        event_id = EventId(f"{ref}:edit:{_digest(text)}")
        return MessageReceived(**common, **said, event_id=event_id, edits=mid)
    if command is not None:
        return CommandInvoked(**common, event_id=EventId(ref), text=command, message_id=mid)
    return MessageReceived(**common, **said, event_id=EventId(ref))


# --- outbound ------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text the bot repeats: no `@mention`, `@group` or `[quote]` in it notifies anyone.

    Code spans are left as they are (Discourse finds no mention in code), so a command the bot
    shows in backticks can be copied as it reads.
    """
    out: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_neutralise_prose(text[last : span.start()]))
        out.append(span.group(0))
        last = span.end()
    out.append(_neutralise_prose(text[last:]))
    return "".join(out)


def _neutralise_prose(text: str) -> str:
    return _QUOTE_TAG.sub("[" + WORD_JOINER, _MENTION.sub("@" + WORD_JOINER, text))


def render(text: Sequence[Segment]) -> str:
    """Raw markdown for a post or chat message; only `Mention`s of Discourse users ping."""
    out: list[str] = []
    for segment in text:
        if isinstance(segment, Mention) and segment.platform == PLATFORM:
            out.append(f"@{segment.user_id}")
        elif isinstance(segment, Mention):
            out.append(neutralise(f"@{segment.display_name}"))
        elif isinstance(segment, Secret):
            out.append(segment.value)
        else:
            out.append(neutralise(segment))
    return "".join(out)


def padded(raw: str, minimum: int) -> str:
    """A body Discourse will take: it refuses raw text shorter than `min_post_length`, so a
    short one gets an HTML comment, which counts in the raw text and never shows."""
    missing = minimum - len(raw.strip())
    if missing <= 0:
        return raw
    return f"{raw}\n\n<!-- {'-' * max(0, missing - 9)} -->"


def title_of(raw: str, minimum: int, fallback: str) -> str:
    """A topic title from the text's first line, within Discourse's length limits."""
    first = next((line.strip() for line in raw.splitlines() if line.strip()), "")
    title = first.lstrip("#>*_ ").strip() or fallback
    if len(title) < minimum:
        title = f"{title} ({fallback})"
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    return title


def external_id(key: str) -> str:
    """A topic's `external_id` for an action key: the same key never opens two topics."""
    return "cb-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def new_topic(
    title: str, raw: str, category: int, key: str, tags: Sequence[str] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "raw": raw,
        "category": category,
        "external_id": external_id(key),
    }
    if tags:
        body["tags"] = [{"name": tag} for tag in tags]  # tag names alone are deprecated
    return body


def new_pm(title: str, raw: str, recipients: Sequence[str], key: str) -> dict[str, Any]:
    return {
        "title": title,
        "raw": raw,
        "archetype": PRIVATE_MESSAGE,
        "target_recipients": ",".join(dict.fromkeys(recipients)),
        "external_id": external_id(key),
    }


def reply(topic_id: int, raw: str) -> dict[str, Any]:
    return {"topic_id": topic_id, "raw": raw}


def edit(raw: str) -> dict[str, Any]:
    return {"post": {"raw": raw}}


def new_chat_thread(original_message_id: int, title: str) -> dict[str, Any]:
    """`POST /chat/api/channels/{id}/threads` (`Chat::CreateThread`): a thread on a message."""
    return {"original_message_id": original_message_id, "title": thread_title(title)}


def thread_title(title: str, room: int = CHAT_THREAD_TITLE_MAX) -> str:
    """Within `Chat::Thread::MAX_TITLE_LENGTH` (or `room`)."""
    return title if len(title) <= room else title[: room - 1] + "…"


def thread_root(body: Any) -> int | None:
    """The original message id in a `GET .../threads/{id}` answer (`{"thread": {...}}`)."""
    thread = body.get("thread") if isinstance(body, Mapping) else None
    original = thread.get("original_message") if isinstance(thread, Mapping) else None
    return _int(original.get("id")) if isinstance(original, Mapping) else None


ENDED = " · ended"


def thread_title_of(body: Any) -> str:
    """The title in a `GET .../threads/{id}` answer ("" when it has none)."""
    thread = body.get("thread") if isinstance(body, Mapping) else None
    title = thread.get("title") if isinstance(thread, Mapping) else None
    return title if isinstance(title, str) else ""


def ended_title(title: str) -> str:
    """A thread's title marked as ended: the chat API's nearest thing to closing a thread."""
    return (thread_title(title, CHAT_THREAD_TITLE_MAX - len(ENDED)) or "Breakout") + ENDED


def chat_message(message: str, thread_id: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if thread_id is not None:
        body["thread_id"] = thread_id
    return body


def close_topic() -> dict[str, Any]:
    return {"status": "closed", "enabled": "true"}


def platform_error(
    what: str, status: int, body: Any, retry_after_header: str | None
) -> PlatformError:
    """Our error for a Discourse error response; a 429 carries its `wait_seconds`."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    reason = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    text = f"Discourse {what} failed: HTTP {status} {reason}".strip()
    if status == 429:
        extras = body.get("extras") if isinstance(body, Mapping) else None
        wait = extras.get("wait_seconds") if isinstance(extras, Mapping) else None
        if not isinstance(wait, int | float) and retry_after_header:
            wait = float(retry_after_header) if retry_after_header.isdigit() else None
        delay = float(wait) if isinstance(wait, int | float) and wait >= 0 else 10.0
        return PlatformError(f"{text} (retry after {delay:.0f} s)", retry_after=delay)
    return PlatformError(text, permanent=400 <= status < 500 and status != 408)


def title_taken(error: PlatformError) -> bool:
    """Discourse refuses a topic title used before (unless a site allows duplicates)."""
    return "title has already been used" in str(error).lower()


# --- discourse-post-event ------------------------------------------------------------------


@dataclass(frozen=True)
class PostEvent:
    """One event of the discourse-post-event plugin, as `/discourse-post-event/events.json`
    lists it: the post it lives in, and the people the plugin says are going."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str | None
    url: str
    topic_id: int
    category_id: int | None
    going: tuple[str, ...] | None
    """Who the plugin says is going; None when it says nothing (no `sample_invitees`)."""
    going_count: int | None
    """How many are going (`stats.going`): more than `going` holds when that is a sample."""
    location: str | None
    creator: str | None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Whole seconds: the core keys occurrences by the second, and the plugin's are minutes.
    return moment.replace(microsecond=0) if moment.tzinfo is not None else None


def read_events(body: Any, base_url: str) -> list[PostEvent]:
    """The events of an `events.json` answer; malformed entries are skipped, not fatal.

    `going` comes from `sample_invitees` (with `include_details=true`), the plugin's first few
    going; `going_count` says whether the invitees route must be read for the rest.
    """
    events = body.get("events") if isinstance(body, Mapping) else None
    found: list[PostEvent] = []
    for item in events if isinstance(events, list) else []:
        if not isinstance(item, Mapping):
            continue
        post = item.get("post")
        topic = post.get("topic") if isinstance(post, Mapping) else None
        event_id, starts = _int(item.get("id")), _when(item.get("starts_at"))
        topic_id = _int(topic.get("id")) if isinstance(topic, Mapping) else None
        if event_id is None or starts is None or topic_id is None or not isinstance(post, Mapping):
            continue
        assert isinstance(topic, Mapping)
        name = item.get("name") or topic.get("title") or f"Event {event_id}"
        given = post.get("url")
        url = given if isinstance(given, str) else f"/t/{topic_id}"
        invitees = item.get("sample_invitees")
        going = tuple(read_going({"invitees": invitees})) if isinstance(invitees, list) else None
        stats = item.get("stats")
        location = item.get("location")
        creator = item.get("creator")
        creator_name = creator.get("username") if isinstance(creator, Mapping) else None
        found.append(
            PostEvent(
                id=event_id,
                title=str(name),
                starts_at=starts,
                ends_at=_when(item.get("ends_at")),
                timezone=item.get("timezone") if isinstance(item.get("timezone"), str) else None,
                url=base_url.rstrip("/") + url if url.startswith("/") else url,
                topic_id=topic_id,
                category_id=_int(item.get("category_id")),
                going=going,
                going_count=_int(stats.get("going")) if isinstance(stats, Mapping) else None,
                location=location if isinstance(location, str) else None,
                creator=creator_name if isinstance(creator_name, str) else None,
            )
        )
    return found


INVITEES_PAGE = 200
"""The most `GET /discourse-post-event/events/{id}/invitees.json` answers (it has no offset)."""
USERNAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_.-"
"""What a (lower-cased, ASCII) Discourse username is made of."""
FILTER_DEPTH = 4


def narrower(filter_: str) -> list[str]:
    """Filters that together match every username `filter_` matches (the route's `filter` is
    a substring of the username): the route answers at most a page, so a full answer is
    asked again, split. A username holding `ab` holds `abx` or, where it ends so, `xab`;
    only one that is the filter itself is in neither (the count check notices it)."""
    if not filter_:
        return list(USERNAME_CHARACTERS)
    return [filter_ + c for c in USERNAME_CHARACTERS] + [c + filter_ for c in USERNAME_CHARACTERS]


def invitees_query(filter_: str) -> dict[str, str]:
    return {"type": "going", "filter": filter_} if filter_ else {"type": "going"}


def read_going(body: Any) -> list[str]:
    """The usernames going in an invitees answer (`{"invitees": [...]}`)."""
    invitees = body.get("invitees") if isinstance(body, Mapping) else None
    return [
        str(invitee["user"]["username"])
        for invitee in (invitees if isinstance(invitees, list) else [])
        if isinstance(invitee, Mapping)
        and invitee.get("status") == "going"
        and isinstance(invitee.get("user"), Mapping)
        and isinstance(invitee["user"].get("username"), str)
    ]


def event_digest(event: PostEvent) -> str:
    """What an import compares to tell a changed event from one seen before."""
    fields = (event.title, event.starts_at, event.ends_at, event.timezone, event.url, event.going)
    return _digest(repr(fields))


def event_changed(event: PostEvent, change: NativeChange, bot_username: str) -> NativeEventChanged:
    """A post event as the core's native event; it lives in (and is reminded in) its topic.

    The event id is the event's content: an unchanged event seen again is dropped by the core.
    """
    creator = event.creator or bot_username
    going = event.going
    return NativeEventChanged(
        event_id=EventId(f"post-event:{event.id}:{change.value}:{event_digest(event)}"),
        actor=Actor(PLATFORM, UserId(creator), creator),
        place=topic_place(event.topic_id),
        change=change,
        native_id=str(event.id),
        title=event.title,
        start=event.starts_at,
        end=event.ends_at,
        zone=event.timezone,
        link=event.url,
        description=f"Where: {event.location}" if event.location else None,
        interested=None if going is None else tuple(Actor(PLATFORM, UserId(u), u) for u in going),
    )
