"""The `event` and `nudge` commands (organisers only) and the events router."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from adapters.contract import Destination
from bot.checkins.models import CheckinRound
from bot.context import Context
from bot.errors import UserInputError
from bot.events import ical, native
from bot.events.announce import announce
from bot.events.failures import dead_letters, preview, requeue
from bot.events.models import Event, Nudge
from bot.events.nudges import (
    NON_RESPONDERS,
    offset_words,
    on_followup,
    on_nudge,
    on_remind,
)
from bot.events.occurrences import (
    Occurrence,
    instant,
    local_when,
    next_occurrence,
    occurrence_key,
    recurrence,
    upcoming,
)
from bot.events.plan import ensure_plans, on_plan, plan_next, replan
from bot.grammar import CommandSpec, Flag, Invocation
from bot.i18n import ENGLISH, N_, Words
from bot.models import Community, Member, Role
from bot.numerals import row_id
from bot.recurrence import describe, next_times, parse_recurrence
from bot.router import Router
from bot.when import parse_duration, parse_offsets, parse_when, zone

if TYPE_CHECKING:
    from bot.core import Bot

ADD_USAGE = (
    'event add "<title>" <when> [--tz <zone>] [--duration <d>] [--link <url>] '
    '[--every <recurrence>] [--remind <offsets>] [--followup <offset> "<text>" '
    "[--followup-checkin]] [--publish]"
)
CHANGE_USAGE = 'event change <id> <date> [--to <when>] [--title "<title>"]'
NUDGE_USAGE = 'nudge "<text>" --at <when> [--to members|non-responders|<role>]'
LIST_LIMIT = 20


def reminders(inv: Invocation) -> list[int]:
    """`--remind` as seconds before each occurrence, largest first."""
    given = inv.flag("remind")
    return [int(r.total_seconds()) for r in parse_offsets(given)] if given else []


async def event_add(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) < 2:
        raise UserInputError(N_("Give a title in quotes and a start time."), ADD_USAGE)
    title = inv.args[0].strip()
    if not title or len(title) > 200:
        raise UserInputError(N_("A title is 1 to 200 characters."), ADD_USAGE)
    tz_name = inv.flag("tz")
    tz = zone(tz_name) if tz_name else ctx.tz
    start = parse_when(" ".join(inv.args[1:]), now=ctx.now, tz=tz, lang=ctx.words.lang)
    if start <= ctx.now:
        raise UserInputError(
            N_("{when} is in the past."), ADD_USAGE, when=local_when(start, tz, ctx.words.lang)
        )
    duration = parse_duration(inv.flag("duration") or "60")
    link = inv.flag("link")
    if link and (urlsplit(link).scheme not in ("http", "https") or len(link) > 500):
        raise UserInputError(
            N_("A link is a web address (http or https) of at most 500 characters."), ADD_USAGE
        )
    every = inv.flag("every")
    rule, start, taken = (
        series_rule(every, start, tz, ctx.words) if every else (None, instant(start), "")
    )
    followup = inv.pair("followup")
    after = parse_duration(followup[0]) if followup else None
    if followup and not 0 < len(followup[1].strip()) <= 1000:
        raise UserInputError(N_("A follow-up text is 1 to 1000 characters."), ADD_USAGE)
    as_round = inv.switch("followup-checkin")
    if as_round and not followup:
        raise UserInputError(N_("`--followup-checkin` goes with `--followup`."), ADD_USAGE)
    if as_round and ctx.event.place.direct:
        raise UserInputError(
            N_("Add the event in the space where its follow-up round should open."), ADD_USAGE
        )
    event = Event(
        community_id=ctx.community.id or 0,
        uid=ical.new_uid(),
        token=ical.new_token(),
        title=title,
        starts_at=start,
        timezone=tz.key,
        duration_seconds=int(duration.total_seconds()),
        link=link,
        rrule=rule,
        remind=reminders(inv),
        followup_seconds=int(after.total_seconds()) if after else None,
        followup_text=followup[1].strip() if followup else None,
        followup_platform=ctx.platform if as_round else None,
        followup_space=ctx.event.place.space if as_round else None,
        created_by=ctx.member.id,
        created_at=ctx.now,
    )
    ahead = list(islice(upcoming(event, ctx.now), 3))
    if not ahead:
        raise UserInputError(N_("That rule has no date after now."), ADD_USAGE)
    ctx.session.add(event)
    await ctx.session.flush()
    await plan_next(ctx, event, after=ctx.now, since=ctx.now)
    await ctx.audit(ctx.community, ctx.member, "event.add", event_id=event.id, title=title)
    published = inv.switch("publish") and await native.publish(ctx, event)
    added = (
        ctx._("Event {id} added and published as a scheduled event here.", id=event.id)
        if published
        else ctx._("Event {id} added.", id=event.id)
    )
    times = next_times(
        [o.start for o in ahead],
        community=zone(ctx.community.timezone),
        own=ctx.tz,
        words=ctx.words,
    )
    await ctx.reply(f"{added}\n{summary(ctx, event)}{taken}\n{times}")


def series_rule(
    every: str, start: datetime, tz: ZoneInfo, words: Words = ENGLISH
) -> tuple[str, datetime, str]:
    """The rule typed with `--every`, its first occurrence from `start` (stored as the
    event's start, so the rule's interval counts from there and the exported DTSTART is an
    occurrence) and, when the rule named no time of day, a line saying which one it took."""
    local = start.astimezone(tz)
    rec = parse_recurrence(every, tz=tz)
    taken = ""
    if not rec.has_time:
        rec = parse_recurrence(every, tz=tz, default_time=time(local.hour, local.minute))
        taken = "\n   " + words._(
            "“{rule}” has no time of day, so it is at {time} ({zone}), when the event starts. "
            "Add a time (“{example}”) to choose another.",
            rule=every[:60],
            time=f"{local:%H:%M}",
            zone=tz.key,
            example=f"{every[:40]} 18:00",
        )
    first = rec.first_from(local)
    if first is None:
        raise UserInputError(N_("That rule has no date after the start."), ADD_USAGE)
    return rec.rrule, instant(first), taken


def summary(ctx: Context, event: Event) -> str:
    """An event as `event list` shows it, times in the caller's zone."""
    rule = recurrence(event)
    at = next_occurrence(event, ctx.now)
    lang = ctx.words.lang
    head = (
        ctx._("next on {when} (your time)", when=local_when(at.start, ctx.tz, lang))
        if at
        else ctx._("no date ahead")
    )
    if rule:
        head = f"{head}, {describe(rule, ctx.words)}"
    lines = [f"{event.id}. “{event.title}”: {head}"]
    if event.remind:
        before = ", ".join(offset_words(r, ctx.words) for r in event.remind)
        lines.append("   " + ctx._("reminders go out {offsets} before", offsets=before))
    if event.followup_seconds is not None:
        after = offset_words(event.followup_seconds, ctx.words)
        lines.append("   " + ctx._("a follow-up {offset} after it", offset=after))
    if event.link:
        lines.append("   " + ctx._("Join at {url}", url=event.link))
    lines.append(
        "   " + ctx._("Add it to your calendar: {url}", url=ical.calendar_url(ctx.bot, event))
    )
    return "\n".join(lines)


async def event_list(ctx: Context, inv: Invocation) -> None:
    events = (
        await ctx.session.exec(
            select(Event).where(
                col(Event.community_id) == ctx.community.id, col(Event.cancelled).is_(False)
            )
        )
    ).all()
    nexts = {e.id: at.start for e in events if (at := next_occurrence(e, ctx.now))}
    ahead = [e for e in events if e.id in nexts]
    if not ahead:
        await ctx.reply(
            ctx._(
                "No events coming up. Add one with {command}.",
                command=ctx.command("event add", ctx.platform),
            )
        )
        return
    ahead.sort(key=lambda e: nexts[e.id])
    more = (
        "\n" + ctx._("… and {count} more", count=len(ahead) - LIST_LIMIT)
        if len(ahead) > LIST_LIMIT
        else ""
    )
    shown = "\n".join(summary(ctx, e) for e in ahead[:LIST_LIMIT])
    await ctx.reply(ctx._("Events coming up:") + f"\n{shown}{more}")


async def event_cancel(ctx: Context, inv: Invocation) -> None:
    event_id = row_id(inv.args[0]) if inv.args else None
    if event_id is None:
        raise UserInputError(N_("Name the event by its number."), inv.spec.usage)
    event = await ctx.session.get(Event, event_id)
    if event is None or event.community_id != ctx.community.id or event.cancelled:
        raise UserInputError(
            N_("There is no event {id} to cancel."), inv.spec.usage, id=inv.args[0][:12]
        )
    if len(inv.args) > 1:
        text = await cancel_occurrence(ctx, event, " ".join(inv.args[1:]))
    else:
        event.cancelled = True
        text = (
            ctx._("“{title}” and its scheduled event are cancelled", title=event.title)
            if await native.withdraw(ctx, event)
            else ctx._("“{title}” is cancelled", title=event.title)
        )
    ctx.session.add(event)
    skipped = await replan(ctx, event)
    await ctx.audit(ctx.community, ctx.member, "event.cancel", event_id=event.id, what=text)
    await ctx.reply(
        ctx.words.ngettext(
            "{what}. {n} waiting message was taken back.",
            "{what}. {n} waiting messages were taken back.",
            skipped,
            what=text,
        )
    )


async def cancel_occurrence(ctx: Context, event: Event, day_text: str) -> str:
    """Add the occurrence on that day (in the event's zone) to its EXDATEs."""
    at = occurrence_on(ctx, event, day_text, inv_usage="event cancel <id> [<date>]")
    event.exdates = [*event.exdates, occurrence_key(at.start)]
    return ctx._(
        "“{title}” on {when} is cancelled",
        title=at.title,
        when=local_when(at.start, ctx.tz, ctx.words.lang),
    )


def occurrence_on(ctx: Context, event: Event, day_text: str, *, inv_usage: str) -> Occurrence:
    """The event's occurrence ahead on that day, read in the event's zone."""
    tz = zone(event.timezone)
    day = parse_when(day_text, now=ctx.now, tz=tz, lang=ctx.words.lang).date()
    at = next((o for o in upcoming(event, ctx.now) if o.start.astimezone(tz).date() >= day), None)
    if at is None or at.start.astimezone(tz).date() != day:
        raise UserInputError(
            N_("“{title}” has no date ahead on {day}."), inv_usage, title=event.title, day=day
        )
    return at


async def event_change(ctx: Context, inv: Invocation) -> None:
    """Move or retitle one occurrence: kept as an override of where the rule (or the
    calendar) put it, so its reminders follow it and a re-import keeps it."""
    if len(inv.args) < 2 or not inv.args[0].isdigit():
        raise UserInputError(N_("Name the event by its number, then the day."), CHANGE_USAGE)
    event = await ctx.session.get(Event, int(inv.args[0]))
    if event is None or event.community_id != ctx.community.id or event.cancelled:
        raise UserInputError(
            N_("There is no event {id} to change."), CHANGE_USAGE, id=inv.args[0][:12]
        )
    to, title = inv.flag("to"), inv.flag("title")
    if not to and title is None:
        raise UserInputError(
            N_('Say what changes: `--to <when>`, `--title "…"` or both.'), CHANGE_USAGE
        )
    at = occurrence_on(ctx, event, " ".join(inv.args[1:]), inv_usage=CHANGE_USAGE)
    original = occurrence_key(at.original)
    change = dict(event.overrides.get(original, {}))
    change["seconds"] = str(int((at.end - at.start).total_seconds()))
    change.setdefault("title", at.title)
    start = at.start
    if to:
        start = instant(parse_when(to, now=ctx.now, tz=zone(event.timezone), lang=ctx.words.lang))
        if start <= ctx.now:
            raise UserInputError(
                N_("{when} is in the past."), CHANGE_USAGE, when=local_when(start, ctx.tz)
            )
        change["start"] = occurrence_key(start)
    if title is not None:
        if not 0 < len(title.strip()) <= 200:
            raise UserInputError(N_("A title is 1 to 200 characters."), CHANGE_USAGE)
        change["title"] = title.strip()
    event.overrides = {**event.overrides, original: change}
    ctx.session.add(event)
    skipped = await replan(ctx, event)
    now_title = change.get("title", at.title)
    await ctx.audit(ctx.community, ctx.member, "event.change", event_id=event.id, **change)
    await ctx.reply(
        ctx.words.ngettext(
            "Changed “{title}” on {was}. It is now “{new_title}” on {when} (your time). "
            "{n} waiting message was taken back.",
            "Changed “{title}” on {was}. It is now “{new_title}” on {when} (your time). "
            "{n} waiting messages were taken back.",
            skipped,
            title=at.title,
            was=local_when(at.start, ctx.tz, ctx.words.lang),
            new_title=now_title,
            when=local_when(start, ctx.tz, ctx.words.lang),
        )
    )


async def event_import(ctx: Context, inv: Invocation) -> None:
    """The calendar is read (downloaded, for an address) after this event's transaction, in
    the background: a slow server would otherwise hold up every event behind it."""
    if len(inv.args) != 1:
        raise UserInputError(N_("Give one file or web address."), ical.IMPORT_USAGE)
    job = ImportJob(
        source=inv.args[0],
        remind=reminders(inv),
        member_id=ctx.member.id,
        answer=ctx.event.place,
        refusal=ctx.private_place(),
        key=ctx.reply_key(),
    )
    ctx.after_commit.append(lambda: ctx.bot.spawn("event import", import_calendar(ctx.bot, job)))


@dataclass(frozen=True)
class ImportJob:
    source: str
    remind: list[int]
    member_id: int | None
    answer: Destination
    refusal: Destination
    key: str


async def import_calendar(bot: Bot, job: ImportJob) -> None:
    """Read the calendar, then import it in a transaction of its own and report."""
    try:
        allow_private = bot.config.model.events.allow_private_urls
        data = await ical.read_source(job.source, allow_private=allow_private)
        async with bot.transaction() as scope:
            community = await scope.session.get(Community, bot.community.id)
            member = await scope.session.get(Member, job.member_id)
            assert community is not None
            report = await ical.import_calendar(
                scope,
                data,
                default_tz=zone(community.timezone),
                remind=job.remind,
                created_by=job.member_id,
            )
            await scope.audit(
                community, member, "event.import", created=report.created, updated=report.updated
            )
            await announce(scope, report.events, origin=None)
            await scope.send(job.answer, report.text(scope.words_for(member)), key=job.key)
    except UserInputError as exc:
        async with bot.transaction() as scope:
            member = await scope.session.get(Member, job.member_id)
            platform = job.refusal.platform
            text = exc.reply_text(
                scope.words_for(member), lambda command: scope.command(command, platform)
            )
            await scope.send(job.refusal, text, key=job.key)


async def nudge(ctx: Context, inv: Invocation) -> None:
    text = " ".join(inv.args).strip()
    when = inv.flag("at")
    if not text or not when:
        raise UserInputError(N_("Give the text in quotes and `--at <when>`."), NUDGE_USAGE)
    if len(text) > 2000:
        raise UserInputError(N_("A nudge is at most 2000 characters."), NUDGE_USAGE)
    due = parse_when(when, now=ctx.now, tz=ctx.tz, lang=ctx.words.lang)
    if due < ctx.now - timedelta(minutes=1):
        raise UserInputError(
            N_("{when} is in the past."), NUDGE_USAGE, when=local_when(due, ctx.tz)
        )
    audience = (inv.flag("to") or "members").strip().lower()
    if audience in (NON_RESPONDERS, "nonresponders"):
        last = await latest_round(ctx)
        stored = f"{NON_RESPONDERS}:{last.id}"
        who = ctx._("everyone who has not answered check-in {id} by then", id=last.id)
    else:
        try:
            role = Role.parse(audience.removesuffix("s"))
        except KeyError:
            raise UserInputError(
                N_(
                    "`{audience}` is not a group I can nudge. Pick members, non-responders, "
                    "catalysts or organisers."
                ),
                NUDGE_USAGE,
                audience=audience[:30],
            ) from None
        stored = role.label
        who = (
            ctx._("all members")
            if role is Role.MEMBER
            else ctx._("every {role} (and above)", role=role.label)
        )
    row = Nudge(
        community_id=ctx.community.id or 0,
        text=text,
        audience=stored,
        due_at=max(due, ctx.now),
        created_by=ctx.member.id,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await ctx.schedule("nudge.send", str(row.id), row.due_at, key=f"nudge:{row.id}")
    await ctx.audit(ctx.community, ctx.member, "nudge.add", nudge_id=row.id, audience=stored)
    await ctx.reply(
        ctx._(
            "Nudge {id} goes to {who} on {when} (your time). Each person gets it in their own "
            "time zone, outside their quiet hours.",
            id=row.id,
            who=who,
            when=local_when(row.due_at, ctx.tz, ctx.words.lang),
        )
    )


async def latest_round(ctx: Context) -> CheckinRound:
    """The community's latest check-in round, if it can still say who has not answered."""
    last = (
        await ctx.session.exec(
            select(CheckinRound)
            .where(CheckinRound.community_id == ctx.community.id)
            .order_by(col(CheckinRound.id).desc())
        )
    ).first()
    if last is None:
        raise UserInputError(
            N_("There has been no check-in round to nudge about yet."), NUDGE_USAGE
        )
    if last.anonymous and last.hmac_key is None:
        raise UserInputError(
            N_(
                "Check-in {id} was anonymous and has closed. Nobody can tell any more who did "
                "not answer it."
            ),
            NUDGE_USAGE,
            id=last.id,
        )
    return last


async def nudge_failures(ctx: Context, inv: Invocation) -> None:
    dead = await dead_letters(ctx, LIST_LIMIT)
    if not dead:
        await ctx.reply(ctx._("No messages failed to send."), private=True)
        return
    retry = ctx.command("nudge retry <id>", ctx.platform)
    lines = [
        ctx._("Messages that failed to send, newest first ({retry} tries again):", retry=retry)
    ]
    for row in dead:
        tries = ctx.words.ngettext("{n} try", "{n} tries", row.attempts)
        lines.append(
            f"{row.id}. {row.platform}, {tries}: “{preview(row)}” — {(row.last_error or '')[:120]}"
        )
    await ctx.reply("\n".join(lines), private=True)


async def nudge_retry(ctx: Context, inv: Invocation) -> None:
    outbox_id = row_id(inv.args[0]) if len(inv.args) == 1 else None
    if outbox_id is None:
        raise UserInputError(N_("Name the failed message by its number."), inv.spec.usage)
    row = await requeue(ctx, ctx.community, ctx.member, outbox_id)
    await ctx.reply(ctx._("Message {id} will be sent again.", id=row.id), private=True)


ORGANISER = Role.ORGANISER
router = Router(
    name="events",
    commands=[
        CommandSpec(
            ("event", "add"),
            ADD_USAGE,
            "schedule an event with reminders and a follow-up",
            event_add,
            role=ORGANISER,
            flags={
                "tz": Flag.VALUE,
                "duration": Flag.VALUE,
                "link": Flag.VALUE,
                "every": Flag.VALUE,
                "remind": Flag.VALUE,
                "followup": Flag.PAIR,
                "followup-checkin": Flag.SWITCH,
                "publish": Flag.SWITCH,
            },
        ),
        CommandSpec(
            ("event", "list"),
            "event list",
            "upcoming events",
            event_list,
            role=ORGANISER,
            takes_rest=False,
        ),
        CommandSpec(
            ("event", "cancel"),
            "event cancel <id> [<date>]",
            "cancel an event, or one occurrence of it",
            event_cancel,
            role=ORGANISER,
        ),
        CommandSpec(
            ("event", "change"),
            CHANGE_USAGE,
            "move or retitle one occurrence of an event",
            event_change,
            role=ORGANISER,
            flags={"to": Flag.VALUE, "title": Flag.VALUE},
        ),
        CommandSpec(
            ("event", "import"),
            ical.IMPORT_USAGE,
            "import events from an .ics file or feed (again = update)",
            event_import,
            role=ORGANISER,
            flags={"remind": Flag.VALUE},
        ),
        CommandSpec(
            ("nudge",),
            NUDGE_USAGE,
            "send a nudge to members at a time",
            nudge,
            role=ORGANISER,
            flags={"at": Flag.VALUE, "to": Flag.VALUE},
        ),
        CommandSpec(
            ("nudge", "failures"),
            "nudge failures",
            "deliveries that failed",
            nudge_failures,
            role=ORGANISER,
            takes_rest=False,
        ),
        CommandSpec(
            ("nudge", "retry"),
            "nudge retry <id>",
            "try a failed delivery again",
            nudge_retry,
            role=ORGANISER,
        ),
    ],
    timers={
        "event.plan": on_plan,
        "event.remind": on_remind,
        "event.followup": on_followup,
        "nudge.send": on_nudge,
    },
    on_start=[ensure_plans],
    http=[ical.http_routes],
)
