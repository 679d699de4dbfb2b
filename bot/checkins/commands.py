"""The `checkin` commands and the messages that answer a round (thread replies, DMs)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial

from sqlmodel import col, select

from adapters.contract import (
    ButtonPressed,
    MessageReceived,
    Secret,
)
from bot.checkins import export, rounds
from bot.checkins.models import CheckinRound, CheckinSeries
from bot.checkins.series import as_series
from bot.community_spaces import named_spaces
from bot.context import Context
from bot.errors import Cmd, NotYet, UserInputError
from bot.grammar import QUOTES, CommandSpec, Flag, Invocation
from bot.i18n import N_
from bot.models import Role
from bot.numerals import row_id
from bot.prompts import library_for
from bot.recurrence import describe, next_times, parse_recurrence
from bot.when import parse_duration, parse_when, zone

OPEN_USAGE = N_(
    'checkin open "<prompt>" | <prompt-id> [--until <when>] [--anonymous] [--dm] '
    "[--remind <when>] [--every <recurrence>] [--in <platform:space>,...|community]"
)
ANSWER_USAGE = N_("checkin <your answer> | checkin pass")
EXPORT_USAGE = N_("checkin export csv|json|md [<round-id>]")


def _moment(text: str, ctx: Context, flag: str) -> datetime:
    """An absolute or relative time ("tue 17:00", "in 2h", "2h") that must be in the future."""
    try:
        at = parse_when(text, now=ctx.now, tz=ctx.tz, lang=ctx.words.lang)
    except UserInputError as exc:
        try:
            at = ctx.now + parse_duration(text)
        except UserInputError:
            raise UserInputError(
                N_("`--{option}`: {problem}"), OPEN_USAGE, option=flag, problem=exc
            ) from None
    if at <= ctx.now:
        raise UserInputError(
            N_("`--{option} {typed}` is in the past."), OPEN_USAGE, option=flag, typed=text[:40]
        )
    return at


def _offset(text: str, flag: str) -> timedelta:
    """For a recurring round, `--until`/`--remind` are lengths of time after each opening."""
    try:
        return parse_duration(text.strip().removeprefix("in "))
    except UserInputError as exc:
        raise UserInputError(
            N_(
                "With `--every`, `--{option}` is a length of time after each round opens, "
                "for example `--{option} 2h`. {problem}"
            ),
            OPEN_USAGE,
            option=flag,
            problem=exc,
        ) from None


def _prompt(ctx: Context, inv: Invocation) -> tuple[str, str | None]:
    """The prompt text and library id: a quoted text is a free prompt, a bare word an id."""
    if not inv.args:
        raise UserInputError(N_("Give a question in quotes, or a prompt id."), OPEN_USAGE)
    if len(inv.args) > 1:
        raise UserInputError(
            N_("Put a question of several words in quotes, or give one prompt id."), OPEN_USAGE
        )
    text = inv.args[0]
    if inv.rest.lstrip()[:1] in QUOTES:
        if not text.strip():
            raise UserInputError(N_("The question is empty."), OPEN_USAGE)
        return text, None
    config = ctx.bot.config
    prompt = library_for(config).get(text)
    if prompt.kind == "provocation":
        raise UserInputError(
            N_(
                "`{id}` is a prompt for breakouts. Pick a check-in prompt, or write your own "
                "question in quotes."
            ),
            id=prompt.id,
        )
    return prompt.text, prompt.id


REMIND_BEFORE_CLOSE = N_("The reminder must come before the round closes.")
NONE_OPEN = N_("There is no check-in open here.")
PRIVATE_ONLY = N_(
    "This check-in is anonymous, so I did not take that answer: a reply there shows your "
    "name. Answer me here, in private, instead."
)


async def open_command(ctx: Context, inv: Invocation) -> None:
    place = ctx.event.place
    if place.direct:
        raise UserInputError(
            N_(
                "Open a check-in in the space where people should answer, not in a private chat "
                "with me."
            )
        )
    text, prompt_id = _prompt(ctx, inv)
    until, remind = inv.flag("until"), inv.flag("remind")
    every, spaces = inv.flag("every"), inv.flag("in")
    if every is not None:
        if spaces is not None:
            raise UserInputError(
                N_("A check-in that repeats opens in one space. Leave out `--in`.")
            )
        await _open_series(ctx, text, prompt_id, every, until, remind, inv)
        return
    also = await named_spaces(ctx, spaces, OPEN_USAGE) if spaces is not None else ()
    for where in (place.top(), *also):
        existing = await rounds.open_round_in(ctx, where)
        if existing is not None:
            if where == place.top():
                raise UserInputError(
                    N_(
                        "Check-in {id} (“{prompt}”) is still open here. "
                        "Close it with {close} first."
                    ),
                    id=existing.id,
                    prompt=existing.prompt[:60],
                    close=Cmd("checkin close"),
                )
            raise UserInputError(
                N_(
                    "Check-in {id} (“{prompt}”) is still open in {space}. "
                    "Close it with {close} first."
                ),
                id=existing.id,
                prompt=existing.prompt[:60],
                space=f"{where.platform}:{where.space}",
                close=Cmd("checkin close"),
            )
    deadline = _moment(until, ctx, "until") if until else None
    remind_at = _moment(remind, ctx, "remind") if remind else None
    if deadline and remind_at and remind_at >= deadline:
        raise UserInputError(REMIND_BEFORE_CLOSE, OPEN_USAGE)
    r = await rounds.open_round(
        ctx,
        ctx.community.id or 0,
        place.top(),
        rounds.RoundPlan(
            prompt=text,
            prompt_id=prompt_id,
            anonymous=inv.switch("anonymous"),
            dm=inv.switch("dm"),
            deadline=deadline,
            remind_at=remind_at,
            also=also,
        ),
        opened_by=ctx.member,
    )
    await ctx.audit(ctx.community, ctx.member, "checkin.open", round_id=r.id)
    await ctx.reply(ctx._("Check-in {id} is open.", id=r.id), private=True)


async def _open_series(
    ctx: Context,
    text: str,
    prompt_id: str | None,
    every: str,
    until: str | None,
    remind: str | None,
    inv: Invocation,
) -> None:
    tz = zone(ctx.community.timezone)
    recurrence = parse_recurrence(every, tz=tz)
    taken = ""
    if not recurrence.has_time:
        local = ctx.now.astimezone(tz)
        recurrence = parse_recurrence(every, tz=tz, default_time=time(local.hour, local.minute))
        taken = ctx._(
            "“{every}” has no time of day, so it runs at {time}, the time you typed it. To "
            "choose another time, add one, like “{example}”.",
            every=every[:60],
            time=f"{local:%H:%M}",
            example=f"{every[:40]} 18:00",
        )
    dtstart = recurrence.first_from(ctx.now) or ctx.now
    close_after = _offset(until, "until") if until else None
    remind_after = _offset(remind, "remind") if remind else None
    if close_after and remind_after and remind_after >= close_after:
        raise UserInputError(REMIND_BEFORE_CLOSE, OPEN_USAGE)
    row = CheckinSeries(
        community_id=ctx.community.id or 0,
        platform=ctx.platform,
        space=ctx.event.place.space,
        prompt=text,
        prompt_id=prompt_id,
        anonymous=inv.switch("anonymous"),
        dm=inv.switch("dm"),
        close_after_s=int(close_after.total_seconds()) if close_after else None,
        remind_after_s=int(remind_after.total_seconds()) if remind_after else None,
        rrule=recurrence.rrule,
        tz=recurrence.tz,
        dtstart=dtstart,
        created_by_member_id=ctx.member.id,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    coming = recurrence.next_ones(ctx.now, dtstart=dtstart, count=3)
    first = coming[0] if coming else None
    if first is None:
        raise UserInputError(N_("“{every}” never comes again."), OPEN_USAGE, every=every[:60])
    ctx.after_commit.append(partial(ctx.bot.scheduler.ensure, as_series(row)))
    await ctx.audit(ctx.community, ctx.member, "checkin.series", series_id=row.id)
    opened = ctx._(
        "Check-in series {id}: {rule}, I'll open “{prompt}” here.",
        id=row.id,
        rule=describe(recurrence, ctx.words),
        prompt=text,
    )
    first_one = (
        ctx._("The first one opens now.")
        if first <= ctx.now
        else ctx._(
            "The first one opens {when}.", when=rounds.local(first, recurrence.tz, ctx.words)
        )
    )
    stop = ctx._("Stop it with {stop}.", stop=ctx.cmd("checkin stop"))
    lines = " ".join(t for t in (opened, first_one, taken, stop) if t)
    await ctx.reply(lines + "\n" + next_times(coming, community=tz, own=ctx.tz))


async def answer_command(ctx: Context, inv: Invocation) -> None:
    place = ctx.event.place
    locked = False
    if place.direct:
        r = await rounds.round_asked(ctx, ctx.member.id or 0, only_open=True)
        if r is None:
            r = await rounds.open_private_round(ctx, ctx.platform, ctx.community.id or 0)
            if r is not None:
                await rounds.mark_asked(ctx, r, ctx.member.id or 0)
        if r is None:
            raise UserInputError(
                N_("No check-in has asked you here. Answer in the space where it was opened.")
            )
    else:
        r = await rounds.open_round_in(ctx, place, locked=True)
        locked = r is not None
        r = r or await rounds.latest_round_in(ctx, place)
        if r is None:
            raise UserInputError(
                N_("There is no check-in open here. A catalyst can open one with {open}."),
                ANSWER_USAGE,
                open=Cmd("checkin open"),
            )
        if rounds.private_only(ctx, r, ctx.platform):
            raise UserInputError(PRIVATE_ONLY)
    await rounds.answer(ctx, r, inv.rest, locked=locked)


async def _round_here(ctx: Context) -> CheckinRound:
    r = await rounds.open_round_in(ctx, ctx.event.place)
    if r is None:
        raise UserInputError(NONE_OPEN)
    return r


async def status_command(ctx: Context, inv: Invocation) -> None:
    r = await _round_here(ctx)
    t = rounds.tally(await rounds.answers_of(ctx, r.id or 0))
    text = ctx._(
        "Check-in {id} (“{prompt}”): {answered} answered, {passed} passed.",
        id=r.id,
        prompt=r.prompt[:80],
        answered=t.answered,
        passed=t.passed,
    )
    if not r.anonymous:
        waiting = sorted(m.display_name for m in await rounds.not_yet(ctx, r))
        text += " " + (
            ctx._("Not yet: {names}.", names=", ".join(waiting))
            if waiting
            else ctx._("Everyone has answered.")
        )
    await ctx.reply(text, private=True)


async def close_command(ctx: Context, inv: Invocation) -> None:
    r = await _round_here(ctx)
    await rounds.close_round(ctx, r, languages=inv.switch("languages"))
    await ctx.audit(ctx.community, ctx.member, "checkin.close", round_id=r.id)


async def export_command(ctx: Context, inv: Invocation) -> None:
    if not inv.args or inv.args[0].lower() not in export.FORMATS or len(inv.args) > 2:
        raise UserInputError(N_("Name a file type: csv, json or md."), EXPORT_USAGE)
    fmt = inv.args[0].lower()
    if len(inv.args) == 2:
        round_id = row_id(inv.args[1])
        if round_id is None:
            raise UserInputError(N_("A round id is a number."), EXPORT_USAGE)
        r = await ctx.session.get(CheckinRound, round_id)
        if r is None or r.community_id != ctx.community.id:
            raise UserInputError(
                N_("There is no check-in {id}."), EXPORT_USAGE, id=inv.args[1][:20]
            )
    else:
        found = await rounds.latest_round_in(ctx, ctx.event.place)
        if found is None:
            raise UserInputError(N_("There has not been a check-in here yet."), EXPORT_USAGE)
        r = found
    link = await export.make_link(ctx, r.id or 0, fmt)
    await ctx.audit(ctx.community, ctx.member, "checkin.export", round_id=r.id, format=fmt)
    minutes = int(export.LINK_LIFETIME.total_seconds() // 60)
    await ctx.reply(
        ctx._(
            "Check-in {id} as {format}. The link works for {minutes} minutes: ",
            id=r.id,
            format=fmt.upper(),
            minutes=minutes,
        ),
        Secret(link, export.STORED),
        private=True,
    )


async def answer_message(ctx: Context, event: MessageReceived) -> bool:
    """A reply in a round's thread or to its post, or a DM from someone a round asked
    directly, answers it."""
    place = event.place
    r: CheckinRound | None = None
    if place.thread is not None:
        r = await rounds.round_of_thread(ctx, place)
    if r is None and event.replies_to is not None:
        # A reply to the round's post answers it too: a plain reply, or one in a thread the
        # platform opened on that post (Discourse chat: the thread is not the post's id).
        r = await rounds.round_of_post(ctx, place, event.replies_to)
    if place.thread is not None or event.replies_to is not None:
        if r is None and await rounds.posting_in(ctx, place):
            raise NotYet("a round's post here has not come back from the platform yet")
        if r is not None and place.thread is not None and rounds.private_only(ctx, r, ctx.platform):
            await ctx.reply(ctx._(PRIVATE_ONLY), private=True)
            return True
    if r is None and place.direct:
        member_id = ctx.member.id or 0
        r = await rounds.round_asked(ctx, member_id, only_open=True)
        if r is None:
            last = await rounds.round_asked(ctx, member_id, only_open=False)
            recent = last and last.closed_at and ctx.now - last.closed_at < timedelta(days=7)
            r = last if recent else None
    if r is None:
        return False
    await rounds.answer(ctx, r, event.text)
    return True


async def _round_of_button(ctx: Context, event: ButtonPressed) -> CheckinRound:
    r = None
    if event.value.isascii() and event.value.isdigit() and len(event.value) < 19:
        r = await ctx.session.get(CheckinRound, int(event.value))
    if r is None or r.community_id != ctx.community.id:
        raise UserInputError(N_("That check-in is gone."))
    return r


async def answer_button(ctx: Context, event: ButtonPressed) -> None:
    """Answer: with the form's text where the platform has forms; else how to answer."""
    r = await _round_of_button(ctx, event)
    if event.text is not None:
        await rounds.answer(ctx, r, event.text, by_button=True)
        return
    answer = ctx.cmd(ctx._("checkin <your answer>"))
    text = (
        ctx._("Reply to my message with your answer, or say {answer}.", answer=answer)
        if event.place.direct
        else ctx._("Reply in the thread, or say {answer}.", answer=answer)
    )
    await ctx.reply(text, private=True)


async def pass_button(ctx: Context, event: ButtonPressed) -> None:
    await rounds.answer(ctx, await _round_of_button(ctx, event), rounds.PASS, by_button=True)


async def series_in(ctx: Context) -> list[CheckinSeries]:
    rows = await ctx.session.exec(
        select(CheckinSeries).where(
            CheckinSeries.platform == ctx.platform,
            CheckinSeries.space == ctx.event.place.space,
            col(CheckinSeries.active),
        )
    )
    return list(rows.all())


async def stop_command(ctx: Context, inv: Invocation) -> None:
    """Stop the recurring check-ins of this space (rounds already open stay open)."""
    stopped = await series_in(ctx)
    if not stopped:
        raise UserInputError(N_("No repeating check-in runs here."))
    for row in stopped:
        row.active = False
        ctx.session.add(row)
        ctx.after_commit.append(partial(ctx.bot.scheduler.remove, as_series(row).job_id))
        await ctx.audit(ctx.community, ctx.member, "checkin.stop", series_id=row.id)
    await ctx.reply(
        ctx._(
            "Stopped the repeating check-in {ids} here.", ids=", ".join(str(r.id) for r in stopped)
        )
    )


COMMANDS = [
    CommandSpec(
        ("checkin", "open"),
        OPEN_USAGE,
        N_("open a check-in round here"),
        open_command,
        role=Role.CATALYST,
        flags={
            "until": Flag.VALUE,
            "anonymous": Flag.SWITCH,
            "dm": Flag.SWITCH,
            "remind": Flag.VALUE,
            "every": Flag.VALUE,
            "in": Flag.VALUE,
        },
    ),
    CommandSpec(
        ("checkin", "status"),
        "checkin status",
        N_("how many answered the open check-in"),
        status_command,
        takes_rest=False,
    ),
    CommandSpec(
        ("checkin", "close"),
        "checkin close [--languages]",
        N_(
            "close the open check-in and post its summary. `--languages` shows the language of "
            "each answer."
        ),
        close_command,
        role=Role.CATALYST,
        takes_rest=False,
        flags={"languages": Flag.SWITCH},
    ),
    CommandSpec(
        ("checkin", "stop"),
        "checkin stop",
        N_("stop the repeating check-ins of this space"),
        stop_command,
        role=Role.CATALYST,
        takes_rest=False,
    ),
    CommandSpec(
        ("checkin", "export"),
        EXPORT_USAGE,
        N_("a link to the answers as a file"),
        export_command,
        role=Role.CATALYST,
    ),
    CommandSpec(
        ("checkin",),
        ANSWER_USAGE,
        N_("answer the open check-in (answer again to change it)"),
        answer_command,
        free_text=True,
    ),
]
