"""Imported events told to the community's spaces on the other platforms.

An event that came from one platform (a Discord scheduled event, a Discourse post event) or
from a calendar feed is news to the members elsewhere: each of the community's spaces
(`[community] spaces`) on another platform is told when it appears, when its title, time or
link changes, and when it is cancelled. `Event.announced` is a digest of what was told last,
so a platform that sends every event again when it reconnects tells nobody anything twice;
`Event.announcements` counts the tellings, and each telling's outbox key carries that count,
so it is queued once, in the transaction that changed the event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.context import Scope
from bot.events.ical import calendar_url
from bot.events.models import Event
from bot.events.occurrences import local_when, next_occurrence
from bot.i18n import Words

SHOWN = 10
"""Events told of in one message; a calendar import that brings more says how many more."""


def digest(event: Event) -> str:
    """What an announcement says of the event, as a digest: a change to anything else (its
    description, an override the bot made) is not news."""
    told = (
        event.title,
        event.starts_at.isoformat(),
        str(event.duration_seconds),
        event.timezone,
        event.rrule or "",
        event.link or "",
        str(event.cancelled),
    )
    return hashlib.sha256("\n".join(told).encode()).hexdigest()[:32]


def is_news(scope: Scope, event: Event) -> bool:
    """Whether to tell of the event: something changed since the spaces were last told, it is
    not over, and it was not cancelled before anyone was told of it."""
    if digest(event) == event.announced:
        return False
    if event.cancelled:
        return bool(event.announced)
    return next_occurrence(event, scope.now) is not None


def news(scope: Scope, event: Event, words: Words) -> str:
    """What to tell of an event that `is_news`, in `words`' language."""
    if event.cancelled:
        return words._("Event cancelled: “{title}”.", title=event.title)
    upcoming = next_occurrence(event, scope.now)
    assert upcoming is not None
    when = local_when(upcoming.start, ZoneInfo(event.timezone), words.lang)
    lines = [
        words._("Event changed: “{title}”, {when}.", title=upcoming.title, when=when)
        if event.announced
        else words._("New event: “{title}”, {when}.", title=upcoming.title, when=when)
    ]
    if event.link:
        lines.append(words._("Join: {link}", link=event.link))
    lines.append(words._("Add it to your calendar: {link}", link=calendar_url(scope.bot, event)))
    return "\n".join(lines)


async def announce(scope: Scope, events: Sequence[Event], *, origin: str | None) -> int:
    """Tell the community's spaces, except those on `origin` (the platform the events came
    from), what is new about `events`, in one message in each space's language; returns how
    many were news."""
    spaces = [place for place in scope.community_spaces() if place.platform != origin]
    if not spaces:
        return 0
    told = [event for event in events if is_news(scope, event)]
    if not told:
        return 0
    texts = {}
    for place in spaces:
        words = scope.words_in(place.platform, place.space)
        parts = [news(scope, event, words) for event in told[:SHOWN]]
        if len(told) > SHOWN:
            more = len(told) - SHOWN
            parts.append(words.ngettext("… and {n} more event.", "… and {n} more events.", more))
        texts[place] = "\n\n".join(parts)
    for event in told:
        event.announced, event.announcements = digest(event), event.announcements + 1
        scope.session.add(event)
    tellings = ",".join(f"{event.id}.{event.announcements}" for event in told)
    for place in spaces:
        where = f"{tellings}|{place.platform}|{place.space}"
        key = f"event:news:{hashlib.sha256(where.encode()).hexdigest()[:32]}"
        await scope.send(place, texts[place], key=key)
    return len(told)
