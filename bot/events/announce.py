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


def news(scope: Scope, event: Event) -> str | None:
    """What to tell of the event, or None: nothing changed since the spaces were last told,
    it is over, or it was cancelled before anyone was told of it."""
    if digest(event) == event.announced:
        return None
    if event.cancelled:
        return f"Event cancelled: “{event.title}”." if event.announced else None
    upcoming = next_occurrence(event, scope.now)
    if upcoming is None:
        return None
    when = local_when(upcoming.start, ZoneInfo(event.timezone))
    head = "Event changed" if event.announced else "New event"
    lines = [f"{head}: “{upcoming.title}”, {when}."]
    if event.link:
        lines.append(f"Join: {event.link}")
    lines.append(f"Add it to your calendar: {calendar_url(scope.bot, event)}")
    return "\n".join(lines)


async def announce(scope: Scope, events: Sequence[Event], *, origin: str | None) -> int:
    """Tell the community's spaces, except those on `origin` (the platform the events came
    from), what is new about `events`, in one message; returns how many were news."""
    spaces = [place for place in scope.community_spaces() if place.platform != origin]
    if not spaces:
        return 0
    told: list[tuple[Event, str]] = []
    for event in events:
        text = news(scope, event)
        if text is None:
            continue
        event.announced, event.announcements = digest(event), event.announcements + 1
        scope.session.add(event)
        told.append((event, text))
    if not told:
        return 0
    parts = [text for _, text in told[:SHOWN]]
    if len(told) > SHOWN:
        parts.append(f"… and {len(told) - SHOWN} more events.")
    tellings = ",".join(f"{event.id}.{event.announcements}" for event, _ in told)
    for place in spaces:
        where = f"{tellings}|{place.platform}|{place.space}"
        key = f"event:news:{hashlib.sha256(where.encode()).hexdigest()[:32]}"
        await scope.send(place, "\n\n".join(parts), key=key)
    return len(told)
