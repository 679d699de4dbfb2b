"""Nudges to members: reminders, follow-ups and ad-hoc nudges, one outbox row per recipient.

Each recipient gets a DM on the first of their platforms that has direct messages, with times
written in their own zone. Pause and quiet hours are applied when the outbox claims the row
(so a member who resumes before the nudge is due still gets it); `not_after` drops a reminder
once its event has started and `grace_until` drops a nudge the bot, being down, could only
send too late. A timer that fires later than the grace sends nothing and says so in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from adapters.contract import (
    Direct,
    Place,
    PlatformName,
    Purpose,
    SendMessage,
    SpaceId,
    UserId,
)
from bot.checkins.models import CheckinRound
from bot.checkins.rounds import RoundPlan, not_yet, open_round, open_round_in
from bot.context import Queued, Scope
from bot.events.ical import calendar_url
from bot.events.models import Nudge
from bot.events.native import interested_members, native_home
from bot.events.occurrences import local_when, occurrence_at
from bot.events.plan import followup_due, grace, live_event, reminder_due
from bot.i18n import ENGLISH, Words
from bot.models import Identity, Member, Role
from bot.reach import dm_order

log = logging.getLogger(__name__)

Render = Callable[[ZoneInfo, Words], str]
"""A fan-out's text for one recipient's time zone and language."""
"""The text for a recipient in the given zone."""


_UNIT_WORDS: tuple[tuple[int, Callable[[Words, int], str]], ...] = (
    (604800, lambda words, n: words.ngettext("{n} week", "{n} weeks", n)),
    (86400, lambda words, n: words.ngettext("{n} day", "{n} days", n)),
    (3600, lambda words, n: words.ngettext("{n} hour", "{n} hours", n)),
    (60, lambda words, n: words.ngettext("{n} minute", "{n} minutes", n)),
)


def offset_words(seconds: int, words: Words = ENGLISH) -> str:
    """3600 -> "1 hour", 90000 -> "1 day 1 hour": how far ahead a reminder is."""
    parts = []
    for size, unit in _UNIT_WORDS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(unit(words, count))
    return " ".join(parts) or words._("a moment")


async def fan_out(
    scope: Scope,
    *,
    min_role: Role,
    key: str,
    render: Render,
    due: datetime,
    not_after: datetime | None = None,
    only: Collection[int] | None = None,
    purpose: Callable[[ZoneInfo], Purpose] | None = None,
) -> int:
    """Queue one DM per member with at least `min_role` (and among `only`, when given);
    returns how many were queued. `purpose` says what the DM is for, with its parameters
    in the member's zone (a platform may need it to pick a template)."""
    community = scope.bot.community
    reachable = scope.memo.get(("reachable", min_role))
    if reachable is None:
        reachable = await reachable_members(scope, min_role, key)
        scope.memo[("reachable", min_role)] = reachable
    texts: dict[tuple[str, str], str] = {}
    purposes: dict[str, Purpose] = {}
    queued = []
    for member, identity in reachable:
        if only is not None and member.id not in only:
            continue
        tz_name = member.timezone or community.timezone
        words = scope.words_for(member)
        if (tz_name, words.lang) not in texts:
            texts[tz_name, words.lang] = render(ZoneInfo(tz_name), words)
        if purpose is not None and tz_name not in purposes:
            purposes[tz_name] = purpose(ZoneInfo(tz_name))
        action = SendMessage(
            key=f"{key}:m{member.id}",
            to=Direct(PlatformName(identity.platform), UserId(identity.external_id)),
            text=(texts[tz_name, words.lang],),
            purpose=purposes.get(tz_name),
        )
        queued.append(
            Queued(
                action,
                identity.platform,
                recipient=member,
                at=due,
                not_after=not_after,
                grace_until=due + grace(scope.bot),
            )
        )
    await scope.perform_many(queued)
    return len(queued)


async def reachable_members(
    scope: Scope, min_role: Role, key: str
) -> list[tuple[Member, Identity]]:
    """Members with at least `min_role`, each with the identity their DMs go to (`dm_order`),
    among those still in the community's spaces; those with no platform that has direct
    messages are logged and left out."""
    rows = await scope.session.exec(
        select(Member, Identity)
        .join(Identity, col(Identity.member_id) == col(Member.id))
        .where(
            col(Member.community_id) == scope.bot.community.id,
            col(Member.role) >= int(min_role),
            col(Identity.left_at).is_(None),
        )
        .order_by(col(Member.id), col(Identity.id))
    )
    identities: dict[int, list[Identity]] = {}
    members: dict[int, Member] = {}
    for member, identity in rows.all():
        assert member.id is not None
        members[member.id] = member
        identities.setdefault(member.id, []).append(identity)
    reachable: dict[int, tuple[Member, Identity]] = {}
    for member_id, member in members.items():
        usable = dm_order(scope, member, identities[member_id])
        if usable:
            reachable[member_id] = (member, usable[0])
    if unreachable := len(members) - len(reachable):
        log.info("%s: %d members have no platform with direct messages; skipped", key, unreachable)
    return list(reachable.values())


def _purpose(scope: Scope, kind: str, **params: str) -> Purpose:
    community = scope.bot.config.model.community.name
    return Purpose(kind, (("community", community), *params.items()))


def too_late(scope: Scope, what: str, due: datetime) -> bool:
    """The downtime policy: more than the grace late, a nudge is skipped (and logged)."""
    if scope.now > due + grace(scope.bot):
        log.warning("%s was due %s; too late after downtime, not sent", what, due.isoformat())
        return True
    return False


async def on_remind(scope: Scope, ref: str) -> None:
    """The `event.remind` timer: remind every member of one occurrence."""
    event_id, key, offset = ref.split("@")
    event = await live_event(scope, event_id)
    occurrence = occurrence_at(event, key) if event is not None else None
    if event is None or occurrence is None or int(offset) not in event.remind:
        return
    at, title = occurrence.start, occurrence.title
    due = reminder_due(event, at, int(offset))
    if scope.now >= at:
        log.info("reminder for event %s at %s: the event has started; not sent", event_id, key)
        return
    if too_late(scope, f"reminder for event {event_id}", due):
        return
    url = calendar_url(scope.bot, event)

    def render(tz: ZoneInfo, words: Words) -> str:
        lines = [
            words._(
                "Reminder: “{title}” starts in {offset}, on {when} (your time).",
                title=title,
                offset=offset_words(int(offset), words),
                when=local_when(at, tz, words.lang),
            )
        ]
        if event.link:
            lines.append(words._("Join at {url}", url=event.link))
        lines.append(words._("Add it to your calendar: {url}", url=url))
        return "\n".join(lines)

    await fan_out(
        scope,
        min_role=Role.MEMBER,
        key=f"event:{event_id}:{key}:r{offset}",
        render=render,
        due=due,
        not_after=at,
        only=await interested_members(scope, event),
        purpose=lambda tz: _purpose(
            scope,
            "event.reminder",
            title=event.title,
            when=f"in {offset_words(int(offset))}, on {local_when(at, tz)}",
        ),
    )
    home = await native_home(scope, event)
    if home is not None:
        zone = ZoneInfo(event.timezone)
        words = scope.words_in(home.platform, home.space)
        text = words._(
            "Reminder: “{title}” starts in {offset}, on {when}.",
            title=event.title,
            offset=offset_words(int(offset), words),
            when=local_when(at, zone, words.lang),
        )
        await scope.send(home, text, key=f"event:{event_id}:{key}:r{offset}:home", not_after=at)


async def on_followup(scope: Scope, ref: str) -> None:
    """The `event.followup` timer: the question after an occurrence, by direct message or
    as a check-in round (which asks everyone directly too, and keeps the answers)."""
    event_id, key = ref.split("@")
    event = await live_event(scope, event_id)
    occurrence = occurrence_at(event, key) if event is not None else None
    if event is None or occurrence is None or event.followup_seconds is None:
        return
    at, title = occurrence.start, occurrence.title
    due = followup_due(event, at)
    if too_late(scope, f"follow-up for event {event_id}", due):
        return
    text = event.followup_text or ""
    if event.followup_space and event.followup_platform:
        place = Place(PlatformName(event.followup_platform), SpaceId(event.followup_space))
        if await open_round_in(scope, place) is None:
            await open_round(
                scope,
                event.community_id,
                place,
                RoundPlan(
                    prompt=scope.words_in(place.platform, place.space)._(
                        "After “{title}”: {text}", title=title, text=text
                    ),
                    dm=True,
                    deadline=due + FOLLOWUP_ROUND_OPEN,
                ),
            )
            return
        log.info("follow-up for event %s: a round is open in %s; asking by DM", event_id, place)

    def render(tz: ZoneInfo, words: Words) -> str:
        return words._(
            "After “{title}” ({when}): {text}",
            title=title,
            when=local_when(at, tz, words.lang),
            text=text,
        )

    await fan_out(
        scope,
        min_role=Role.MEMBER,
        key=f"event:{event_id}:{key}:f",
        render=render,
        due=due,
        purpose=lambda tz: _purpose(scope, "event.followup", title=event.title, text=text),
    )


async def on_nudge(scope: Scope, ref: str) -> None:
    """The `nudge.send` timer: an ad-hoc nudge goes out to its audience."""
    nudge = await scope.session.get(Nudge, int(ref))
    if nudge is None or too_late(scope, f"nudge {ref}", nudge.due_at):
        return
    only: set[int] | None = None
    audience, _, round_id = nudge.audience.partition(":")
    if audience == NON_RESPONDERS:
        only = await non_responders(scope, int(round_id))
        if only is None:
            log.warning("nudge %s: round %s can no longer say who has not answered", ref, round_id)
            return
    await fan_out(
        scope,
        min_role=Role.MEMBER if only is not None else Role.parse(audience),
        key=f"nudge:{nudge.id}",
        render=lambda tz, words: nudge.text,
        due=nudge.due_at,
        only=only,
        purpose=lambda tz: _purpose(scope, "nudge", text=nudge.text),
    )


NON_RESPONDERS = "non-responders"
FOLLOWUP_ROUND_OPEN = timedelta(days=2)
"""How long a follow-up's check-in round stays open."""


async def non_responders(scope: Scope, round_id: int) -> set[int] | None:
    """Members who have not answered a check-in round, known only while it can say so (an
    anonymous round forgets who answered when it closes)."""
    r = await scope.session.get(CheckinRound, round_id)
    if r is None or (r.anonymous and r.hmac_key is None):
        return None
    return {m.id for m in await not_yet(scope, r) if m.id is not None}
