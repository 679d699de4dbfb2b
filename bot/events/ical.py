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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, Component
from icalendar import Event as VEvent
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import UserInputError
from bot.events.models import Event
from bot.events.plan import occurrence_key, recurrence, replan
from bot.public_http import Refused, stream_public
from bot.recurrence import parse_recurrence
from bot.when import localize

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
        raise UserInputError("I only read calendar files whose name ends in .ics.", IMPORT_USAGE)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise too_big()
        return path.read_bytes()
    except OSError as exc:
        raise UserInputError(
            f"I cannot read {path.name[:80]}: {exc.strerror or exc}.", IMPORT_USAGE
        ) from None


async def fetch(url: str, *, allow_private: bool) -> bytes:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise UserInputError("A calendar address starts with http:// or https://.", IMPORT_USAGE)
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT) as client,
            stream_public(client, url, allow_private=allow_private) as response,
        ):
            if response.status_code != 200:
                raise UserInputError(
                    f"The calendar address answered HTTP {response.status_code}.", IMPORT_USAGE
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
            f"I could not fetch that calendar ({type(exc).__name__}).", IMPORT_USAGE
        ) from None
    return bytes(body)


def too_big() -> UserInputError:
    return UserInputError("That calendar is larger than 5 MB; I don't import it.", IMPORT_USAGE)


@dataclass
class Parsed:
    uid: str
    title: str
    description: str | None
    starts_at: datetime
    timezone: str
    duration: timedelta
    link: str | None
    rrule: str | None
    exdates: list[str]
    cancelled: bool


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    refused: list[str] = field(default_factory=list)
    left_out: int = 0

    def text(self) -> str:
        lines = [f"Imported the calendar: {self.created} new, {self.updated} updated."]
        if self.left_out:
            lines.append(
                f"It has more than {MAX_OCCURRENCES:,} occurrences in the coming year, so I "
                f"left out the last {self.left_out} events; split the calendar to import them."
            )
        if self.refused:
            lines.append(f"Not imported ({len(self.refused)}):")
            lines += [f"- {reason}" for reason in self.refused[:10]]
            if len(self.refused) > 10:
                lines.append(f"- … and {len(self.refused) - 10} more")
        return "\n".join(lines)


def parse_calendar(data: bytes, *, default_tz: ZoneInfo) -> tuple[list[Parsed], list[str]]:
    """The events of an .ics document and the reasons some could not be used."""
    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise UserInputError(
            f"That is not an iCalendar file I can read ({str(exc)[:120]}).", IMPORT_USAGE
        ) from None
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise UserInputError("That file is not an iCalendar (VCALENDAR) file.", IMPORT_USAGE)
    found: list[Parsed] = []
    refused: list[str] = []
    for component in calendar.walk("VEVENT"):
        try:
            found.append(_parse_event(component, default_tz))
        except (UserInputError, ValueError, KeyError, TypeError) as exc:
            name = str(component.get("SUMMARY") or component.get("UID") or "an event")[:60]
            reason = exc.message if isinstance(exc, UserInputError) else str(exc)[:120]
            refused.append(f"“{name}”: {reason}")
    if not found and not refused:
        raise UserInputError("That calendar has no events (VEVENT) in it.", IMPORT_USAGE)
    return found, refused


def _parse_event(component: Component, default_tz: ZoneInfo) -> Parsed:
    uid = str(component.get("UID") or "").strip()
    if not uid or len(uid) > 255:
        raise UserInputError("it has no UID (or one longer than 255 characters)")
    if "DTSTART" not in component:
        raise UserInputError("it has no start time (DTSTART)")
    start, tz = _instant(component.decoded("DTSTART"), default_tz)
    if "DURATION" in component:
        duration = component.decoded("DURATION")
    elif "DTEND" in component:
        duration = _instant(component.decoded("DTEND"), tz)[0] - start
    else:
        duration = timedelta(hours=1)
    if not timedelta() <= duration <= timedelta(days=366):
        raise UserInputError("its duration is negative or longer than a year")
    rule = None
    if "RRULE" in component:
        rules = component.get("RRULE")
        if isinstance(rules, list):
            raise UserInputError("it has more than one RRULE")
        rule = parse_recurrence(rules.to_ical().decode(), tz=tz).rrule
    exdates = []
    for value in _as_list(component.get("EXDATE")):
        for item in value.dts:
            exdates.append(occurrence_key(_instant(item.dt, tz)[0]))
    link = str(component.get("URL") or "").strip() or None
    return Parsed(
        uid=uid,
        title=str(component.get("SUMMARY") or "Untitled event").strip()[:200],
        description=str(component.get("DESCRIPTION") or "").strip()[:5000] or None,
        starts_at=start,
        timezone=tz.key,
        duration=duration,
        link=link if link and len(link) <= 500 else None,
        rrule=rule,
        exdates=exdates,
        cancelled=str(component.get("STATUS") or "").upper() == "CANCELLED",
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _instant(value: Any, default_tz: ZoneInfo) -> tuple[datetime, ZoneInfo]:
    """An iCalendar date or date-time as an aware instant and the zone its rule is read in.

    Floating times and all-day dates are read in the community's zone (an all-day event
    starts at midnight there); UTC times keep the community's zone for their rule.
    """
    if isinstance(value, datetime):
        tz = value.tzinfo
        if tz is None:
            return localize(value, default_tz).astimezone(UTC), default_tz
        key = getattr(tz, "key", None)
        zone = ZoneInfo(key) if isinstance(key, str) else default_tz
        return value.astimezone(UTC), zone
    if isinstance(value, date):
        return localize(datetime.combine(value, time()), default_tz).astimezone(UTC), default_tz
    raise UserInputError("its start time is not a date or date-time")


def upcoming(parsed: Parsed, now: datetime, limit: int) -> int:
    """How many occurrences `parsed` has in the coming year (at most `limit`)."""
    if parsed.rrule is None:
        return int(now <= parsed.starts_at < now + timedelta(days=366))
    event = Event(
        community_id=0,
        uid="",
        token="",
        title="",
        starts_at=parsed.starts_at,
        timezone=parsed.timezone,
        rrule=parsed.rrule,
        created_at=now,
    )
    rule = recurrence(event)
    assert rule is not None
    return len(
        rule.occurrences_between(
            now, now + timedelta(days=366), dtstart=parsed.starts_at, limit=limit
        )
    )


async def import_calendar(
    scope: Scope,
    data: bytes,
    *,
    default_tz: ZoneInfo,
    remind: Sequence[int] = (),
    created_by: int | None = None,
) -> ImportReport:
    """Create or update (by UID) the calendar's events and plan their nudges."""
    parsed, refused = parse_calendar(data, default_tz=default_tz)
    report = ImportReport(refused=refused)
    budget = MAX_OCCURRENCES
    community_id = scope.bot.community.id
    parsed.sort(key=lambda p: p.starts_at)
    for i, item in enumerate(parsed):
        budget -= upcoming(item, scope.now, budget + 1)
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
        event = existing or Event(
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
        event.title, event.description, event.link = item.title, item.description, item.link
        event.starts_at, event.timezone, event.rrule = item.starts_at, item.timezone, item.rrule
        event.duration_seconds = int(item.duration.total_seconds())
        event.exdates, event.cancelled = item.exdates, item.cancelled
        scope.session.add(event)
        await scope.session.flush()
        await replan(scope, event)
        if existing:
            report.updated += 1
        else:
            report.created += 1
    return report


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
    """One event as a calendar a member can subscribe to or import."""
    calendar = Calendar()
    calendar.add("prodid", "-//community-bot//events//EN")
    calendar.add("version", "2.0")
    vevent = VEvent()
    tz = ZoneInfo(event.timezone)
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", event.starts_at.astimezone(tz))
    vevent.add("duration", timedelta(seconds=event.duration_seconds))
    vevent.add("summary", event.title)
    if event.description:
        vevent.add("description", event.description)
    if event.link:
        vevent.add("url", event.link)
    if event.rrule:
        vevent.add("rrule", _rrule_dict(event.rrule))
    for key in event.exdates:
        vevent.add("exdate", datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    if event.cancelled:
        vevent.add("status", "CANCELLED")
    calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _rrule_dict(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.split(";"))


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
