"""iCalendar in and out: importing a file or feed, and each event's .ics download.

An import matches events on their UID, so importing the same feed again updates rather than
duplicates. Input is bounded before it is parsed (5 MB) and after (10,000 occurrences in the
coming year); a calendar that cannot be read is refused with a reason, never half-imported.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, Component, vRecur
from icalendar import Event as VEvent
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import UserInputError
from bot.events import occurrences
from bot.events.calendars import YEAR, ImportReport, Series, compare, read_calendar, split_series
from bot.events.models import Event
from bot.events.plan import replan
from bot.i18n import N_
from bot.public_http import Refused, stream_public

if TYPE_CHECKING:
    from bot.config import Config
    from bot.context import Scope
    from bot.core import Bot

MAX_BYTES = 5 * 1024 * 1024
MAX_OCCURRENCES = 10_000
"""Occurrences in the coming year one import may bring; beyond it events are left out."""
FETCH_TIMEOUT = 15.0
IMPORT_USAGE = "event import <https://…/calendar.ics | /path/to/calendar.ics> [--remind 1d,1h]"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_uid() -> str:
    return f"{uuid.uuid4()}@community-bot"


def calendar_path(event: Event) -> str:
    """The event's .ics download on the bot's own web server."""
    return f"/events/{event.token}.ics"


def calendar_url(bot: Bot, event: Event) -> str:
    web = bot.config.model.web
    base = web.public_url or f"http://{web.host}:{web.port}"
    return base.rstrip("/") + calendar_path(event)


# --- reading ------------------------------------------------------------------------------


async def read_source(source: str, *, allow_private: bool = False) -> bytes:
    """The bytes of an .ics file path or http(s) URL, at most 5 MB, or a `UserInputError`.
    A URL is fetched only from the public internet unless `allow_private`
    (`[events] allow_private_urls`)."""
    if "://" in source:
        return await fetch(source, allow_private=allow_private)
    return await asyncio.to_thread(read_file, source)


def read_file(source: str) -> bytes:
    path = Path(source).expanduser()
    if path.suffix.lower() != ".ics":
        raise UserInputError(
            N_("I only read calendar files whose name ends in .ics."), IMPORT_USAGE
        )
    try:
        if path.stat().st_size > MAX_BYTES:
            raise too_big()
        return path.read_bytes()
    except OSError as exc:
        raise UserInputError(
            N_("I cannot read {name}: {reason}."),
            IMPORT_USAGE,
            name=path.name[:80],
            reason=exc.strerror or exc,
        ) from None


async def fetch(url: str, *, allow_private: bool) -> bytes:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise UserInputError(
            N_("A calendar address starts with http:// or https://."), IMPORT_USAGE
        )
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT) as client,
            stream_public(client, url, allow_private=allow_private) as response,
        ):
            if response.status_code != 200:
                raise UserInputError(
                    N_("That address sent back an error (HTTP {status})."),
                    IMPORT_USAGE,
                    status=response.status_code,
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise too_big()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise too_big()
    except Refused as exc:
        raise UserInputError(exc.reason, IMPORT_USAGE) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise UserInputError(
            N_("I could not fetch that calendar ({error})."), IMPORT_USAGE, error=type(exc).__name__
        ) from None
    return bytes(body)


def too_big() -> UserInputError:
    return UserInputError(
        N_("That calendar is larger than 5 MB, so I don't import it."), IMPORT_USAGE
    )


def parse_calendar(data: bytes, *, default_tz: ZoneInfo) -> tuple[list[Series], list[str]]:
    """The series of an .ics document and the reasons some could not be used."""
    found, refused = split_series(read_calendar(data, usage=IMPORT_USAGE), default_tz=default_tz)
    if not found and not refused:
        raise UserInputError(N_("That calendar has no events (VEVENT) in it."), IMPORT_USAGE)
    return found, refused


async def import_calendar(
    scope: Scope,
    data: bytes,
    *,
    default_tz: ZoneInfo,
    remind: Sequence[int] = (),
    created_by: int | None = None,
) -> ImportReport:
    """Create or update (by UID) the calendar's series and plan their nudges.

    A series `recurring_ical_events` cannot expand is refused with its reason; the others
    are imported, each reported with what changed in its coming year.
    """
    parsed, refused = parse_calendar(data, default_tz=default_tz)
    report = ImportReport(refused=refused, limit=MAX_OCCURRENCES)
    budget = MAX_OCCURRENCES
    community_id = scope.bot.community.id
    now = scope.now.astimezone(default_tz)
    parsed.sort(key=lambda p: p.starts_at)
    for i, item in enumerate(parsed):
        event = Event(
            community_id=community_id,
            uid=item.uid,
            token=new_token(),
            title=item.title,
            starts_at=item.starts_at,
            timezone=item.timezone,
            remind=list(remind),
            source="import",
            created_by=created_by,
            created_at=scope.now,
        )
        _describe(event, item)
        try:
            after = occurrences.between(event, now, now + YEAR, cancelled=True)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            report.refused.append(f"“{item.title[:60]}”: {str(exc)[:120] or type(exc).__name__}")
            continue
        budget -= len(after)
        if budget < 0:
            report.left_out = len(parsed) - i
            break
        existing = (
            await scope.session.exec(
                select(Event).where(
                    col(Event.community_id) == community_id, col(Event.uid) == item.uid
                )
            )
        ).first()
        before = None
        if existing is not None:
            before = occurrences.between(existing, now, now + YEAR, cancelled=True)
            event = _describe(existing, item)
            after = occurrences.between(event, now, now + YEAR, cancelled=True)
        scope.session.add(event)
        await scope.session.flush()
        await replan(scope, event)
        report.series.append(compare(item.title, before, after))
        report.events.append(event)
        if existing:
            report.updated += 1
        else:
            report.created += 1
    return report


def _describe(event: Event, item: Series) -> Event:
    """`event` as the calendar now has it; the bot's own changes to it (cancelling it, or
    some of its occurrences) stay."""
    event.title, event.description, event.link = item.title, item.description, item.link
    event.starts_at, event.timezone, event.rrule = item.starts_at, item.timezone, item.rrule
    event.duration_seconds = int(item.duration.total_seconds())
    event.calendar, event.floating_tz = item.calendar, item.floating_tz
    return event


async def import_offline(config: Config, source: str) -> str:
    """`community-bot events import`: import into the configured database, bot not running.

    The running bot's timer loop picks the planned nudges up within its polling interval.
    """
    from bot.clock import SystemClock
    from bot.core import Bot
    from bot.db import Database
    from bot.routers import ROUTERS

    data = await read_source(source, allow_private=config.model.events.allow_private_urls)
    db = Database(config.database_url())
    try:
        await db.upgrade()
        bot = Bot(config, db, SystemClock(), ROUTERS)
        await bot.prepare()
        async with db.session() as s:
            report = await import_calendar(
                bot.scope(s), data, default_tz=ZoneInfo(bot.community.timezone)
            )
    finally:
        await db.close()
    return report.text()


# --- the .ics download --------------------------------------------------------------------


def to_ical(event: Event, stamp: datetime) -> bytes:
    """One event as a calendar a member can subscribe to or import: read again (by a
    calendar app or by `recurring_ical_events`), it has the occurrences the bot reminds of.

    An imported series goes out as its calendar wrote it; either kind carries the bot's own
    changes as EXDATEs and RECURRENCE-ID overrides.
    """
    if event.calendar:
        calendar = Calendar.from_ical(event.calendar)
    else:
        calendar = Calendar()
        calendar.add("prodid", "-//community-bot//events//EN")
        calendar.add("version", "2.0")
        calendar.add_component(_master(event, stamp))
    masters = [v for v in calendar.walk("VEVENT") if "RECURRENCE-ID" not in v]
    like = masters[0].decoded("DTSTART") if masters and event.calendar else None
    tz = occurrences.floating_zone(event)
    for original, change in event.overrides.items():
        at = occurrences.parse_occurrence(original)
        for replaced in [v for v in calendar.walk("VEVENT") if _same_id(v, at, tz)]:
            calendar.subcomponents.remove(replaced)
        override = occurrences.occurrence_component(event, original, change, like)
        override.add("dtstamp", stamp)
        calendar.add_component(override)
    vevents = calendar.walk("VEVENT")
    for key in event.exdates:
        rid = _recurrence_id(event, key) if event.calendar else None
        if rid is None:
            at = occurrences.parse_occurrence(key)
            for master in masters:
                master.add("exdate", occurrences.written_like(master.decoded("DTSTART"), at, tz))
            continue
        moved = next((v for v in vevents if _same_id(v, rid, tz)), None)
        if moved is not None:
            _cancel(moved)
        else:
            for master in masters:
                master.add("exdate", rid)
    if event.cancelled:
        for vevent in vevents:
            _cancel(vevent)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _recurrence_id(event: Event, key: str) -> date | datetime | None:
    """The RECURRENCE-ID, as its calendar writes it, of the occurrence starting at `key`
    (a moved occurrence's start is not where its rule put it)."""
    assert event.calendar is not None
    tz = occurrences.floating_zone(event)
    at = occurrences.parse_occurrence(key).astimezone(tz)
    for component in occurrences.calendar_query(event.calendar).between(
        at - timedelta(days=1), at + timedelta(days=1)
    ):
        start = occurrences.as_instant(component.decoded("DTSTART"), tz)
        if occurrences.occurrence_key(start) == key:
            value: date | datetime | None = occurrences.recurrence_id(event, component)
            return value
    return None


def _same_id(vevent: Component, original: date | datetime, tz: ZoneInfo) -> bool:
    rid = vevent.get("RECURRENCE-ID")
    if rid is None or rid.params.get("RANGE"):
        return False
    return occurrences.as_instant(rid.dt, tz) == occurrences.as_instant(original, tz)


def _cancel(vevent: Component) -> None:
    vevent.pop("STATUS", None)
    vevent.add("status", "CANCELLED")


def _master(event: Event, stamp: datetime) -> VEvent:
    tz = ZoneInfo(event.timezone)
    rule = occurrences.recurrence(event)
    start = event.starts_at
    if rule is not None:
        start = rule.next_after(start - timedelta(seconds=1), dtstart=start) or start
    vevent = VEvent()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", occurrences.instant(start).astimezone(tz))
    vevent.add("duration", timedelta(seconds=event.duration_seconds))
    vevent.add("summary", event.title)
    if event.description:
        vevent.add("description", event.description)
    if event.link:
        vevent.add("url", event.link)
    if rule is not None:
        vevent.add("rrule", vRecur.from_ical(rule.for_export()))
    return vevent


def http_routes(bot: Bot) -> list[BaseRoute]:
    async def download(request: Request) -> Response:
        token = request.path_params["token"]
        async with bot.db.reader() as s:
            event = (await s.exec(select(Event).where(col(Event.token) == token))).first()
        if event is None:
            return PlainTextResponse("no such event", status_code=404)
        return Response(
            to_ical(event, bot.clock.now()),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="event-{event.id}.ics"'},
        )

    return [Route("/events/{token}.ics", download)]
