"""Scheduled events the platform itself holds (Discord's, Discourse's), kept in step with
community events both ways.

A native event seen on a platform becomes a community event (uid `native:<platform>:<id>`)
and follows its changes, which the community's spaces on the other platforms are told of
(`bot.events.announce`); a community event added with `--publish` is published as a native
event. Either way one `NativeEvent` row links the two, keyed by platform and native id, and
remembers who marked themselves interested: reminders then go to those people only.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel, col, select

from adapters.contract import (
    ActionResult,
    Capability,
    NativeChange,
    NativeEventChanged,
    NativeInterest,
    NativePublished,
    Place,
    PlatformName,
    PublishNativeEvent,
    SpaceId,
)
from bot.context import Context, Scope, insert_ignore
from bot.events.announce import announce
from bot.events.ical import new_token
from bot.events.models import Event
from bot.events.occurrences import next_occurrence
from bot.events.plan import replan
from bot.models import Identity
from bot.router import Router

log = logging.getLogger(__name__)

NATIVE_REMIND = [3600]
"""Reminder offsets (seconds before) for an imported native event: the platform has no
notion of them, and one an hour before is what its own notifications do not cover."""
DEFAULT_DURATION = timedelta(hours=1)


class NativeEvent(SQLModel, table=True):
    """The link between a community event and its native twin on one platform.

    `interested` holds the platform user ids of the people who marked themselves
    interested; `interest_known` is False until the platform has said anything about it.
    """

    __table_args__ = (UniqueConstraint("platform", "native_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", unique=True)
    platform: str = Field(max_length=32)
    native_id: str = Field(max_length=255)
    space: str = Field(max_length=255)
    interested: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interest_known: bool = False


def native_uid(platform: str, native_id: str) -> str:
    return f"native:{platform}:{native_id}"


async def link_of(scope: Scope, platform: str, native_id: str) -> NativeEvent | None:
    query = select(NativeEvent).where(
        col(NativeEvent.platform) == platform, col(NativeEvent.native_id) == native_id
    )
    return (await scope.session.exec(query)).first()


async def on_changed(ctx: Context, change: NativeEventChanged) -> None:
    """Create, update or cancel the community event that mirrors a native one."""
    link = await link_of(ctx, change.platform, change.native_id)
    event = await ctx.session.get(Event, link.event_id) if link else None
    if event is None:
        if change.change is NativeChange.CANCELLED:
            return
        event = Event(
            community_id=ctx.community.id or 0,
            uid=native_uid(change.platform, change.native_id),
            token=new_token(),
            title="",
            starts_at=change.start.replace(microsecond=0),
            timezone=ctx.community.timezone,
            remind=list(NATIVE_REMIND),
            source="native",
            created_at=ctx.now,
        )
    event.title = change.title.strip()[:200] or "Untitled event"
    event.description = change.description
    event.link = change.link[:500] if change.link else None
    start = change.start.replace(microsecond=0)  # occurrences are keyed to the second
    event.starts_at = start
    event.timezone = change.zone or event.timezone
    end = change.end or start + DEFAULT_DURATION
    event.duration_seconds = max(60, int((end - start).total_seconds()))
    if event.source == "native" or change.rrule is not None:
        event.rrule = change.rrule  # a published event keeps a rule the platform could not hold
    event.cancelled = change.change is NativeChange.CANCELLED
    ctx.session.add(event)
    await ctx.session.flush()
    assert event.id is not None
    if link is None:
        link = NativeEvent(
            event_id=event.id,
            platform=change.platform,
            native_id=change.native_id,
            space=change.place.space,
        )
    if change.interested is not None:
        for actor in change.interested:
            await ctx.bot.member_for(ctx.session, actor, ctx.now)
        link.interested = sorted({a.user_id for a in change.interested})
        link.interest_known = True
    ctx.session.add(link)
    await replan(ctx, event)
    if event.source == "native":
        await announce(ctx, [event], origin=change.platform)
    log.info(
        "native %s event %s %s: event %s",
        change.platform,
        change.native_id,
        change.change.value,
        event.id,
    )


async def on_interest(ctx: Context, interest: NativeInterest) -> None:
    """Someone marked themselves interested in a native event, or no longer."""
    link = await link_of(ctx, interest.platform, interest.native_id)
    if link is None:
        return
    who = set(link.interested)
    if interest.interested:
        who.add(interest.actor.user_id)
    else:
        who.discard(interest.actor.user_id)
    link.interested, link.interest_known = sorted(who), True
    ctx.session.add(link)


async def interested_members(scope: Scope, event: Event) -> set[int] | None:
    """The members to remind of a native event: those who marked themselves interested.
    None (everyone) for a community event with no native twin or no word on interest."""
    if event.id is None:
        return None
    link = (
        await scope.session.exec(select(NativeEvent).where(NativeEvent.event_id == event.id))
    ).first()
    if link is None or not link.interest_known:
        return None
    if not link.interested:
        return set()
    rows = await scope.session.exec(
        select(Identity.member_id).where(
            col(Identity.platform) == link.platform,
            col(Identity.external_id).in_(link.interested),
        )
    )
    return set(rows.all())


async def native_home(scope: Scope, event: Event) -> Place | None:
    """Where a native event lives when that is a conversation of its own (a forum topic, on a
    platform with `Capability.TOPICS`): its reminders are posted there too."""
    if event.id is None:
        return None
    link = (
        await scope.session.exec(select(NativeEvent).where(NativeEvent.event_id == event.id))
    ).first()
    if link is None or Capability.TOPICS not in scope.capabilities(link.platform):
        return None
    return Place(PlatformName(link.platform), SpaceId(link.space))


async def publish(ctx: Context, event: Event) -> bool:
    """Publish a community event as a native event where it was added; False where the
    platform has none."""
    if Capability.NATIVE_EVENTS not in ctx.capabilities(ctx.platform):
        return False
    assert event.id is not None
    upcoming = next_occurrence(event, ctx.now)
    first = upcoming.start if upcoming else event.starts_at
    end = upcoming.end if upcoming else first + timedelta(seconds=event.duration_seconds)
    place = ctx.event.place.top()
    await ctx.perform(
        PublishNativeEvent(
            key=f"event:{event.id}:native:{ctx.platform}",
            place=place,
            title=event.title,
            start=first,
            end=end,
            zone=event.timezone,
            rrule=event.rrule,
            link=event.link,
            description=event.description,
        ),
        ctx.platform,
        on_result=f"native.published:{event.id}:{ctx.platform}:{place.space}",
    )
    return True


async def withdraw(scope: Scope, event: Event) -> bool:
    """Cancel the native twin of a cancelled community event; False when it has none."""
    link = (
        await scope.session.exec(select(NativeEvent).where(NativeEvent.event_id == event.id))
    ).first()
    if link is None or Capability.NATIVE_EVENTS not in scope.capabilities(link.platform):
        return False
    await scope.perform(
        PublishNativeEvent(
            key=f"event:{event.id}:native:{link.platform}:cancel",
            place=Place(PlatformName(link.platform), SpaceId(link.space)),
            title=event.title,
            start=event.starts_at,
            end=event.starts_at + timedelta(seconds=event.duration_seconds),
            zone=event.timezone,
            native_id=link.native_id,
            cancelled=True,
        ),
        link.platform,
    )
    return True


async def on_published(scope: Scope, ref: str, result: ActionResult) -> None:
    """Record the native id a publication got, so the platform's later changes to that
    event update this community event rather than import a second one."""
    if not isinstance(result, NativePublished):
        return
    event_id, platform, space = ref.split(":", 2)
    await insert_ignore(
        scope.session,
        NativeEvent,
        event_id=int(event_id),
        platform=platform,
        native_id=result.native_id,
        space=space,
        interested=[],
        interest_known=False,
    )


router = Router(
    "native events",
    inbound={NativeEventChanged: on_changed, NativeInterest: on_interest},
    results={"native.published": on_published},
)
