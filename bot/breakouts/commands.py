"""The breakout commands and the ways people join and report: `breakout`, `join`, `report`.

    breakout [<n> groups | size <k>] [<provocation-id> | "<text>"] [--minutes <m>]
             [--from reactions|present|checkin] [--join-window <s>] [--report-minutes <m>]
             [--in <platform:space>,...|community]
    breakout end

People join by `join` (a command or a plain reply), the Join button, or a reaction to the call,
in any of the breakout's spaces; a group reports back with `report <text>`. A group's messages
are relayed between its rooms when it spans platforms, and in a relayed group (a platform with
nothing better than direct messages) each member's messages to the bot go on to the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from adapters.contract import (
    Button,
    ButtonPressed,
    Capability,
    MessageReceived,
    Place,
    ReactionAdded,
)
from bot.breakouts import relay, session
from bot.breakouts.models import (
    Breakout,
    BreakoutMember,
    BreakoutSpace,
    BreakoutState,
    SubSpaceKind,
)
from bot.checkins.rounds import latest_direct_round, latest_round_in, respondents
from bot.community_spaces import named_spaces
from bot.context import Context, insert_ignore
from bot.errors import UserInputError
from bot.grammar import CommandSpec, Flag, Invocation, tokenize
from bot.i18n import N_
from bot.models import Identity, Role
from bot.numerals import row_id, whole_number
from bot.prompts import PromptLibrary, library_for, question_in
from bot.router import Router

USAGE = (
    'breakout [<n> groups | size <k>] [<provocation-id> | "<text>"] [--minutes <m>] '
    "[--from reactions|present|checkin] [--join-window <s>] [--report-minutes <m>] "
    "[--in <platform:space>,...|community]"
)
DEFAULT_SIZE = 3
"""Threes when the catalyst gives no count or size: everyone gets air time."""
DEFAULT_MINUTES = 10
DEFAULT_REPORT_MINUTES = 3
DEFAULT_JOIN_SECONDS = 60
SOURCES = ("reactions", "present", "checkin")
JOIN_ACTION = "breakout.join"


@dataclass(frozen=True)
class Request:
    """What a `breakout` command asked for, checked."""

    groups: int | None
    size: int | None
    provocation_id: str | None
    parts: tuple[str, ...]
    minutes: int
    report_minutes: int
    join_seconds: int
    source: str


def _number(value: str | None, what: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    text = value.strip().lower().removesuffix("s") if what == "--join-window" else value.strip()
    number = whole_number(text, low, high)
    if number is None:
        raise UserInputError(
            N_("`{flag}` takes a whole number from {low} to {high}."),
            USAGE,
            flag=what,
            low=low,
            high=high,
        )
    return number


def read_request(inv: Invocation, library: PromptLibrary) -> Request:
    """Read the grouping, the provocation and the options; raises `UserInputError`."""
    args = list(inv.args)
    quoted = {t.text for t in tokenize(inv.rest) if t.quoted}
    groups = size = None
    if len(args) >= 2 and args[1].lower() in ("groups", "group") and args[0].isdigit():
        groups = whole_number(args[0], 1, 100)
        if groups is None:
            raise UserInputError(N_("Ask for 1 to 100 groups."), USAGE)
        args = args[2:]
    elif args and args[0].lower() == "size":
        size = whole_number(args[1], 2, 50) if len(args) >= 2 else None
        if size is None:
            raise UserInputError(N_("`size` takes a group size from 2 to 50."), USAGE)
        args = args[2:]
    elif args and args[0].isdigit():
        raise UserInputError(
            N_("`{number}` what? Say `{number} groups` or `size {number}`."),
            USAGE,
            number=args[0],
        )
    if not groups:
        size = size or DEFAULT_SIZE
    provocation_id: str | None = None
    parts: tuple[str, ...] = ()
    if len(args) > 1:
        raise UserInputError(
            N_(
                "I can't tell which words are the question. Give a provocation id, or put your "
                "own question in quotes."
            ),
            USAGE,
        )
    if args and args[0] in quoted:
        parts = (args[0].strip(),)
        if not parts[0]:
            raise UserInputError(N_("The question in quotes is empty."), USAGE)
    elif args:
        prompt = library.get(args[0])
        if prompt.kind != "provocation":
            raise UserInputError(
                N_("'{id}' is a {kind} prompt, not a provocation."),
                USAGE,
                id=prompt.id,
                kind=prompt.kind,
            )
        provocation_id, parts = prompt.id, prompt.parts
    source = (inv.flag("from") or "reactions").lower()
    if source not in SOURCES:
        raise UserInputError(N_("`--from` is one of {sources}."), USAGE, sources=", ".join(SOURCES))
    return Request(
        groups=groups,
        size=size,
        provocation_id=provocation_id,
        parts=parts,
        minutes=_number(inv.flag("minutes"), "--minutes", DEFAULT_MINUTES, 1, 240),
        report_minutes=_number(
            inv.flag("report-minutes"), "--report-minutes", DEFAULT_REPORT_MINUTES, 1, 60
        ),
        join_seconds=_number(
            inv.flag("join-window"), "--join-window", DEFAULT_JOIN_SECONDS, 10, 3600
        ),
        source=source,
    )


async def breakout_command(ctx: Context, inv: Invocation) -> None:
    request = read_request(inv, library_for(ctx.bot.config))
    capabilities = ctx.capabilities(ctx.platform)
    topics = Capability.TOPICS in capabilities
    main = ctx.event.place if topics else ctx.event.place.top()
    relayed = session.subspace_kind(capabilities) == SubSpaceKind.RELAY
    if main.direct and not (relayed and request.source == "checkin"):
        if relayed:
            raise UserInputError(
                N_(
                    "On {platform}, people only talk to me directly. Start the breakout here "
                    "with `--from checkin`: whoever answered the latest direct check-in is in."
                ),
                platform=ctx.platform,
            )
        raise UserInputError(N_("Start a breakout in the space where the session is, not here."))
    if request.source == "present" and Capability.PRESENCE not in capabilities:
        raise UserInputError(
            N_(
                "`--from present` needs a platform that says who is here, and {platform} does "
                "not. Use `--from reactions` instead."
            ),
            USAGE,
            platform=ctx.platform,
        )
    spaces = inv.flag("in")
    also = await named_spaces(ctx, spaces, USAGE) if spaces is not None else ()
    if len({main.platform, *(p.platform for p in also)}) != 1 + len(also):
        raise UserInputError(N_("Name one space on each platform after --in."), USAGE)
    for where in (main, *also):
        if await session.active_in(ctx, where.platform, where.space) is not None:
            end = ctx.command("breakout end", ctx.platform)
            raise UserInputError(N_("A breakout is already going on here. {end} ends it."), end=end)
    breakout = Breakout(
        community_id=ctx.community.id or 0,
        platform=ctx.platform,
        space=main.space,
        thread=main.thread,
        started_by=ctx.member.id or 0,
        provocation_id=request.provocation_id,
        parts=list(request.parts),
        groups_wanted=request.groups,
        group_size=request.size,
        minutes=request.minutes,
        report_minutes=request.report_minutes,
        source=request.source,
        created_at=ctx.now,
    )
    ctx.session.add(breakout)
    await ctx.session.flush()
    assert breakout.id is not None
    extras = [
        BreakoutSpace(breakout_id=breakout.id, platform=p.platform, space=p.space) for p in also
    ]
    ctx.session.add_all(extras)
    await ctx.session.flush()
    await ctx.audit(ctx.community, ctx.member, "breakout.start", breakout_id=breakout.id)
    if request.source == "present":
        await _gather_present(ctx, breakout)
        return
    if request.source == "checkin":
        await _gather_checkin(ctx, breakout)
        return
    window = timedelta(seconds=request.join_seconds)
    await _call(ctx, breakout, request, window, main, f"breakout.call:{breakout.id}")
    for extra in extras:
        await _call(ctx, breakout, request, window, extra.main, f"breakout.space-call:{extra.id}")
    await ctx.schedule(
        "breakout.split", breakout.id, ctx.now + window, key=f"breakout:{breakout.id}:split"
    )


async def _call(
    ctx: Context,
    breakout: Breakout,
    request: Request,
    window: timedelta,
    where: Place,
    on_result: str,
) -> None:
    """The call to join, in one of the breakout's spaces, in the ways its platform offers,
    in that space's language."""
    capabilities = ctx.capabilities(where.platform)
    words = ctx.words_in(where.platform, where.space)
    reacting = Capability.REACTIONS in capabilities
    buttons: tuple[Button, ...] = ()
    if Capability.BUTTONS in capabilities:
        buttons = (Button(JOIN_ACTION, str(breakout.id), words._("Join")),)
    join_time = session.span(window, words)
    if buttons and reacting:
        call = words._(
            "Breakout starting! To join, press Join, react to this message or reply `join` "
            "within {window}.",
            window=join_time,
        )
    elif buttons:
        call = words._(
            "Breakout starting! To join, press Join or reply `join` within {window}.",
            window=join_time,
        )
    elif reacting:
        call = words._(
            "Breakout starting! To join, react to this message or reply `join` within {window}.",
            window=join_time,
        )
    else:
        call = words._(
            "Breakout starting! To join, reply `join` within {window}.", window=join_time
        )
    box = session.span(breakout.box, words)
    then = (
        words._("Then I make groups of about {size} for {time}.", size=request.size, time=box)
        if request.size
        else words._("Then I make {groups} groups for {time}.", groups=request.groups, time=box)
    )
    key = f"breakout:{breakout.id}:call" + ("" if where == breakout.main else f":{where.platform}")
    await ctx.send(
        where,
        f"{call} {then}",
        key=key,
        buttons=buttons,
        on_result=on_result,
    )


async def _gather_present(ctx: Context, breakout: Breakout) -> None:
    for main in (await session.mains_of(ctx, breakout)).values():
        adapter = ctx.bot.adapters[main.platform]
        if Capability.PRESENCE not in adapter.capabilities:
            continue
        for actor in await adapter.present(main):
            if actor.user_id == adapter.self_id:
                continue
            member, identity = await ctx.bot.member_for(ctx.session, actor, ctx.now)
            if member.id != ctx.member.id:  # the catalyst facilitates; `join` puts them in
                await _add(ctx, breakout, member.id or 0, identity.id or 0)
    await session.split_now(ctx, breakout)


async def _gather_checkin(ctx: Context, breakout: Breakout) -> None:
    """Those who answered (or passed) the space's latest check-in round, as they joined it;
    from a direct conversation (a platform of direct conversations only, such as WhatsApp),
    the community's latest round that asked people directly."""
    direct = ctx.event.place.direct
    last = await (latest_direct_round(ctx) if direct else latest_round_in(ctx, breakout.main))
    if last is None:
        raise UserInputError(
            N_("There has been no check-in round here yet. Use `--from reactions` instead."),
            USAGE,
        )
    if last.anonymous:
        raise UserInputError(
            N_(
                "The last check-in here was anonymous, so I don't say who answered it. Use "
                "`--from reactions` instead."
            ),
            USAGE,
        )
    ids = await respondents(ctx, last)
    platforms = list(await session.mains_of(ctx, breakout))
    identities = (
        await ctx.session.exec(
            select(Identity).where(
                col(Identity.member_id).in_(ids), col(Identity.platform).in_(platforms)
            )
        )
    ).all()
    # A member linked on several of the breakout's platforms takes part from the first.
    for identity in sorted(identities, key=lambda i: platforms.index(i.platform)):
        await _add(ctx, breakout, identity.member_id, identity.id or 0)
    await session.split_now(ctx, breakout)


async def _add(ctx: Context, breakout: Breakout, member_id: int, identity_id: int) -> bool:
    return await insert_ignore(
        ctx.session,
        BreakoutMember,
        breakout_id=breakout.id,
        member_id=member_id,
        identity_id=identity_id,
        joined_at=ctx.now,
    )


async def end_command(ctx: Context, inv: Invocation) -> None:
    breakout = await session.active_in(ctx, ctx.platform, ctx.event.place.space)
    if breakout is None:
        raise UserInputError(N_("No breakout is going on here."))
    await ctx.audit(ctx.community, ctx.member, "breakout.end", breakout_id=breakout.id)
    await ctx.reply(await session.end_early(ctx, breakout))


# --- joining -------------------------------------------------------------------------------


async def join(ctx: Context, breakout: Breakout) -> None:
    """Join during the call, or (after the split) the smallest group."""
    if breakout.state == BreakoutState.GATHERING:
        added = await _add(ctx, breakout, ctx.member.id or 0, ctx.identity.id or 0)
        await ctx.reply(
            ctx._("You're in. I make the groups when the time to join is over.")
            if added
            else ctx._("You're already in this breakout."),
            private=True,
        )
        return
    if breakout.state != BreakoutState.RUNNING:
        raise UserInputError(N_("That breakout is over, so there is nothing to join."))
    mine = await session.active_group(ctx, ctx.member.id or 0)
    if mine is not None and mine[0].id == breakout.id:
        group = mine[1]
    else:
        group = await session.place_late(ctx, breakout, ctx.member.id or 0, ctx.identity)
    rooms = await session.rooms_of(ctx, group.id)
    room = next((r for r in rooms if r.platform == ctx.platform), rooms[0])
    asked = question_in(
        ctx.bot.config, breakout.provocation_id, breakout.provocation, ctx.words.lang
    )
    await ctx.reply(
        ctx._(
            "You're in group {number}: {where}.\nThe question: {question}",
            number=group.number,
            where=session.where_to_go(group, room, ctx.words),
            question=asked,
        ),
        private=True,
    )


async def _joinable_here(ctx: Context) -> Breakout | None:
    breakout = await session.active_in(ctx, ctx.platform, ctx.event.place.space)
    if breakout is None or breakout.state not in (BreakoutState.GATHERING, BreakoutState.RUNNING):
        return None
    return breakout


async def join_command(ctx: Context, inv: Invocation) -> None:
    breakout = await _joinable_here(ctx)
    if breakout is None:
        raise UserInputError(N_("There is no breakout to join here."))
    await join(ctx, breakout)


async def join_message(ctx: Context, event: MessageReceived) -> bool:
    if event.text.strip().lower() != "join":
        return False
    breakout = await _joinable_here(ctx)
    if breakout is None:
        return False
    await join(ctx, breakout)
    return True


async def join_button(ctx: Context, event: ButtonPressed) -> None:
    ref = row_id(event.value)
    breakout = await session.load(ctx, ref) if ref is not None else None
    if breakout is None or breakout.state not in (BreakoutState.GATHERING, BreakoutState.RUNNING):
        raise UserInputError(N_("That breakout is over, so there is nothing to join."))
    await join(ctx, breakout)


async def join_reaction(ctx: Context, event: ReactionAdded) -> bool:
    breakout = await _joinable_here(ctx)
    if breakout is None:
        return False
    calls = {breakout.call_message_id} if breakout.platform == ctx.platform else set()
    calls |= {
        s.call_message_id
        for s in await session.further_spaces(ctx, breakout.id or 0)
        if s.platform == ctx.platform
    }
    if event.message_id not in calls:
        return False
    await join(ctx, breakout)
    return True


# --- reports and relays --------------------------------------------------------------------


async def _report(ctx: Context, text: str) -> bool:
    found = await session.active_group(ctx, ctx.member.id or 0)
    if found is None:
        return False
    breakout, group = found
    text = text.strip()
    if not text:
        raise UserInputError(N_("Say what your group wants to share: `report <text>`."))
    await session.record_report(
        ctx,
        breakout,
        group,
        ctx.member.id or 0,
        ctx.identity.display_name,
        text,
        key=f"breakout:report:{ctx.platform}:{ctx.event.event_id}",
    )
    return True


async def report_command(ctx: Context, inv: Invocation) -> None:
    if not await _report(ctx, inv.rest):
        raise UserInputError(N_("You are not in a breakout group that is waiting for a report."))


async def report_message(ctx: Context, event: MessageReceived) -> bool:
    """A plain `report <text>` written where the sender's group talks."""
    words = event.text.strip().split(maxsplit=1)
    if not words or words[0].lower() != "report":
        return False
    found = await session.active_group(ctx, ctx.member.id or 0)
    if found is None:
        return False
    rooms = await session.rooms_of(ctx, found[1].id)
    if not any(session.talks_here(r, event.place) for r in rooms):
        return False
    return await _report(ctx, words[1] if len(words) > 1 else "")


async def relay_message(ctx: Context, event: MessageReceived) -> bool:
    """Pass what a member writes where their group talks on to the group's other rooms (a
    group spanning platforms) or, in a relayed room, to the others' direct conversations."""
    found = await session.active_group(ctx, ctx.member.id or 0)
    if found is None:
        return False
    breakout, group = found
    rooms = await session.rooms_of(ctx, group.id)
    here = next((r for r in rooms if session.talks_here(r, event.place)), None)
    if here is None or (len(rooms) == 1 and here.kind != SubSpaceKind.RELAY):
        return False
    prefix = relay.author(ctx.identity.display_name, ctx.platform, len(rooms) > 1)
    if event.edits is not None:
        return await relay.carry_edit(ctx, event, prefix)
    members = await session.people(ctx, breakout.id or 0, group.id)
    targets: list[relay.Target] = []
    for room in rooms:
        if room.kind == SubSpaceKind.RELAY:
            targets += [
                relay.Target(room, p.direct, f"r{room.id}m{p.member_id}")
                for p in members
                if p.platform == room.platform and p.member_id != ctx.member.id
            ]
        elif room is not here:
            targets.append(relay.Target(room, room.place, f"r{room.id}"))
    await relay.relay(ctx, event, prefix, targets)
    return True


router = Router(
    name="breakouts",
    commands=[
        CommandSpec(
            ("breakout",),
            USAGE,
            "split the people here into groups around a provocation, for a time box",
            breakout_command,
            role=Role.CATALYST,
            flags={
                "minutes": Flag.VALUE,
                "from": Flag.VALUE,
                "join-window": Flag.VALUE,
                "report-minutes": Flag.VALUE,
                "in": Flag.VALUE,
            },
        ),
        CommandSpec(
            ("breakout", "end"),
            "breakout end",
            "end the breakout here early (then collate the reports)",
            end_command,
            role=Role.CATALYST,
            takes_rest=False,
        ),
        CommandSpec(("join",), "join", "join the breakout here", join_command, takes_rest=False),
        CommandSpec(
            ("report",),
            "report <text>",
            "send your breakout group's report-back (the last one counts)",
            report_command,
            free_text=True,
        ),
    ],
    messages=[join_message, report_message, relay_message],
    buttons={JOIN_ACTION: join_button},
    reactions=[join_reaction],
    timers={
        "breakout.split": session.on_split,
        "breakout.part": session.on_part,
        "breakout.warn": session.on_warn,
        "breakout.end": session.on_end,
        "breakout.collate": session.on_collate,
    },
    results={
        "breakout.call": session.on_call_sent,
        "breakout.space-call": session.on_space_call_sent,
        relay.COPIED: relay.on_copied,
        "breakout.opened": session.on_opened,
        "breakout.thread": session.on_thread,
    },
)
