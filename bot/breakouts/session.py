"""A breakout's life after the command: split, sub-spaces, time box, report-back, collation.

Every step is a timer or a result hook that reloads the breakout from the database and acts
only if the breakout is still in the state the step expects, so a step that comes late (after
`breakout end`, or twice after a restart) does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import and_, col, or_, select

from adapters.contract import (
    ActionResult,
    Capability,
    CloseSubSpace,
    Direct,
    Mention,
    OpenSubSpace,
    Place,
    PlatformName,
    Segment,
    Sent,
    SubSpaceOpened,
    ThreadId,
    UserId,
)
from bot.archive import archive
from bot.breakouts import relay
from bot.breakouts.grouping import split
from bot.breakouts.models import (
    Breakout,
    BreakoutGroup,
    BreakoutMember,
    BreakoutRoom,
    BreakoutSpace,
    BreakoutState,
    SubSpaceKind,
)
from bot.context import Scope
from bot.i18n import ENGLISH, Words
from bot.models import Identity
from bot.prompts import parts_in

log = logging.getLogger(__name__)

HISTORY_BREAKOUTS = 10
"""How many of the community's recent breakouts the split tries not to repeat pairs from."""
LAST_WARNING = timedelta(minutes=2)


@dataclass(frozen=True)
class Person:
    member_id: int
    platform: PlatformName
    user_id: UserId
    name: str

    @property
    def mention(self) -> Mention:
        return Mention(self.platform, self.user_id, self.name)

    @property
    def direct(self) -> Direct:
        return Direct(self.platform, self.user_id)


def span(delta: timedelta, words: Words = ENGLISH) -> str:
    """A time span as people say it: "30 seconds", "1 minute", "90 seconds", "5 minutes"."""
    seconds = round(delta.total_seconds())
    if seconds % 60 == 0:
        return words.ngettext("{n} minute", "{n} minutes", seconds // 60)
    if seconds < 180:
        return words.ngettext("{n} second", "{n} seconds", seconds)
    return words.ngettext("about {n} minute", "about {n} minutes", round(seconds / 60))


def names(people: Sequence[Person]) -> str:
    return ", ".join(p.name for p in people)


def mentions(people: Sequence[Person]) -> list[Segment]:
    out: list[Segment] = []
    for n, p in enumerate(people):
        out += [", "] if n else []
        out.append(p.mention)
    return out


def subspace_kind(capabilities: frozenset[Capability]) -> SubSpaceKind:
    """The best place for a group the platform offers."""
    if Capability.PRIVATE_SUBSPACES in capabilities:
        return SubSpaceKind.SUBSPACE
    if Capability.THREADS in capabilities:
        return SubSpaceKind.THREAD
    if Capability.DIRECT_MESSAGES in capabilities:
        return SubSpaceKind.RELAY
    return SubSpaceKind.MAIN


# --- loading -------------------------------------------------------------------------------


async def load(scope: Scope, ref: str | int) -> Breakout | None:
    return await scope.session.get(Breakout, int(ref))


async def active_in(scope: Scope, platform: str, space: str) -> Breakout | None:
    """The breakout not yet closed whose main space (or one of whose `--in` spaces) this is."""
    further = (
        select(BreakoutSpace.breakout_id)
        .where(BreakoutSpace.platform == platform, BreakoutSpace.space == space)
        .scalar_subquery()
    )
    stmt = select(Breakout).where(
        or_(
            and_(Breakout.platform == platform, Breakout.space == space),
            col(Breakout.id).in_(further),
        ),
        col(Breakout.state) != BreakoutState.CLOSED,
    )
    return (await scope.session.exec(stmt)).first()


async def further_spaces(scope: Scope, breakout_id: int) -> list[BreakoutSpace]:
    stmt = (
        select(BreakoutSpace)
        .where(BreakoutSpace.breakout_id == breakout_id)
        .order_by(col(BreakoutSpace.id))
    )
    return list((await scope.session.exec(stmt)).all())


async def mains_of(scope: Scope, breakout: Breakout) -> dict[str, Place]:
    """The breakout's space on each platform it gathers on: its own first, then `--in`'s."""
    found = {breakout.platform: breakout.main}
    for extra in await further_spaces(scope, breakout.id or 0):
        found.setdefault(extra.platform, extra.main)
    return found


async def people(scope: Scope, breakout_id: int, group_id: int | None = None) -> list[Person]:
    """Who joined the breakout (or one group of it), in the order they joined."""
    stmt = (
        select(BreakoutMember, Identity)
        .join(Identity, col(Identity.id) == BreakoutMember.identity_id)
        .where(BreakoutMember.breakout_id == breakout_id)
        .order_by(col(BreakoutMember.joined_at), col(BreakoutMember.id))
    )
    if group_id is not None:
        stmt = stmt.where(BreakoutMember.group_id == group_id)
    rows = (await scope.session.exec(stmt)).all()
    return [
        Person(m.member_id, PlatformName(i.platform), UserId(i.external_id), i.display_name)
        for m, i in rows
    ]


async def rooms_of(scope: Scope, group_id: int | None) -> list[BreakoutRoom]:
    """Where the group talks, one room per platform it spans (the breakout's own first)."""
    stmt = (
        select(BreakoutRoom).where(BreakoutRoom.group_id == group_id).order_by(col(BreakoutRoom.id))
    )
    return list((await scope.session.exec(stmt)).all())


async def groups_of(scope: Scope, breakout_id: int) -> list[BreakoutGroup]:
    stmt = (
        select(BreakoutGroup)
        .where(BreakoutGroup.breakout_id == breakout_id)
        .order_by(col(BreakoutGroup.number))
    )
    return list((await scope.session.exec(stmt)).all())


async def active_group(scope: Scope, member_id: int) -> tuple[Breakout, BreakoutGroup] | None:
    """The member's group in a breakout still running or taking reports (the latest)."""
    stmt = (
        select(Breakout, BreakoutGroup)
        .join(BreakoutMember, col(BreakoutMember.breakout_id) == Breakout.id)
        .join(BreakoutGroup, col(BreakoutGroup.id) == BreakoutMember.group_id)
        .where(
            BreakoutMember.member_id == member_id,
            col(Breakout.state).in_([BreakoutState.RUNNING, BreakoutState.REPORTING]),
        )
        .order_by(col(Breakout.id).desc())
    )
    row = (await scope.session.exec(stmt)).first()
    return (row[0], row[1]) if row else None


async def recent_groups(scope: Scope, community_id: int, before: int) -> list[list[int]]:
    """The member ids of each group in the community's last few breakouts."""
    recent = (
        select(Breakout.id)
        .where(
            Breakout.community_id == community_id,
            col(Breakout.split_at).is_not(None),
            col(Breakout.id) != before,
        )
        .order_by(col(Breakout.split_at).desc())
        .limit(HISTORY_BREAKOUTS)
    )
    stmt = select(BreakoutMember.group_id, BreakoutMember.member_id).where(
        col(BreakoutMember.breakout_id).in_(recent), col(BreakoutMember.group_id).is_not(None)
    )
    found: dict[int, list[int]] = {}
    for group_id, member_id in (await scope.session.exec(stmt)).all():
        found.setdefault(group_id or 0, []).append(member_id)
    return list(found.values())


# --- talking to groups ----------------------------------------------------------------------


async def tell_group(
    scope: Scope, breakout: Breakout, group: BreakoutGroup, *text: Segment, key: str
) -> None:
    """Post to every room the group talks in (one per platform it spans)."""
    mains = await mains_of(scope, breakout)
    for room in await rooms_of(scope, group.id):
        await tell_room(scope, breakout, group, room, mains[room.platform], *text, key=key)


async def tell_room(
    scope: Scope,
    breakout: Breakout,
    group: BreakoutGroup,
    room: BreakoutRoom,
    main: Place,
    *text: Segment,
    key: str,
) -> None:
    """Post to one room of a group: its sub-space or thread, each member's DM, or main."""
    key = f"{key}:{room.platform}"
    if room.kind == SubSpaceKind.RELAY:
        for person in await people(scope, breakout.id or 0, group.id):
            if person.platform == room.platform:
                await scope.send(person.direct, *text, key=f"{key}:m{person.member_id}")
        return
    place = room.place
    if place is None:
        # The sub-space or thread is not known (yet): say it where everyone can see it.
        log.warning(
            "breakout %s group %s has no place yet; posting in main", breakout.id, group.number
        )
        place = main
    if room.kind == SubSpaceKind.MAIN or place == main:
        words = scope.words_in(main.platform, main.space)
        text = (words._("Group {number}: ", number=group.number), *text)
    await scope.send(place, *text, key=key)


def space_words(scope: Scope, breakout: Breakout) -> Words:
    """The breakout's language: its main space's (every group hears the same words)."""
    return scope.words_in(breakout.platform, breakout.main.space)


def room_name(scope: Scope, breakout: Breakout, group: BreakoutGroup) -> str:
    return space_words(scope, breakout)._(
        "Breakout {id} · group {number}", id=breakout.id, number=group.number
    )


def parts_of(scope: Scope, breakout: Breakout, words: Words) -> tuple[str, ...]:
    """The provocation's parts in `words`' language when it came from the library."""
    return parts_in(scope.bot.config, breakout.provocation_id, tuple(breakout.parts), words.lang)


def intro(
    scope: Scope,
    breakout: Breakout,
    group: BreakoutGroup,
    count: int,
    members: Sequence[Person],
) -> list[Segment]:
    words = space_words(scope, breakout)
    parts = parts_of(scope, breakout, words)
    if len(parts) > 1:
        first = words._("Part 1 of {total}: {question}", total=len(parts), question=parts[0])
    else:
        first = "\n".join(parts) if parts else breakout.provocation
    return [
        words._("Breakout group {number} of {count}: ", number=group.number, count=count),
        *mentions(members),
        f"\n{first}\n"
        + words._(
            "You have {time}. When time is up, one of you sends `report <what you want to share>`.",
            time=span(breakout.box, words),
        ),
    ]


def where_to_go(group: BreakoutGroup, room: BreakoutRoom, words: Words = ENGLISH) -> str:
    if room.kind == SubSpaceKind.SUBSPACE and room.space:
        return words._("your group's room is {room}", room=room.space)
    if room.kind == SubSpaceKind.SUBSPACE:
        return words._("your group's room is being opened now")
    if room.kind == SubSpaceKind.THREAD:
        return words._(
            "your group talks in the thread under “Breakout group {number}” in the main space",
            number=group.number,
        )
    if room.kind == SubSpaceKind.RELAY:
        return words._("write to me here: I pass your messages on to your group")
    return words._("your group talks in the main space")


# --- the steps -----------------------------------------------------------------------------


async def split_now(scope: Scope, breakout: Breakout) -> None:
    """Make the groups, open a place for each on each platform it spans, and set the time
    box going. People on several platforms are mixed: each platform's people count as a
    past group, so the split spreads them as it spreads repeated pairs."""
    assert breakout.id is not None
    bid = breakout.id
    joined = await people(scope, bid)
    if len(joined) < 2:
        breakout.state, breakout.closed_at = BreakoutState.CLOSED, scope.now
        scope.session.add(breakout)
        await scope.send(
            breakout.main,
            space_words(scope, breakout).ngettext(
                "Only {n} person joined, so there is no breakout this time.",
                "Only {n} people joined, so there is no breakout this time.",
                len(joined),
            ),
            key=f"breakout:{bid}:too-few",
        )
        return
    history = await recent_groups(scope, breakout.community_id, bid)
    cohorts: dict[str, list[int]] = {}
    for p in joined:
        cohorts.setdefault(p.platform, []).append(p.member_id)
    if len(cohorts) > 1:
        history += list(cohorts.values())
    made = split(
        [p.member_id for p in joined],
        groups=breakout.groups_wanted,
        size=breakout.group_size,
        history=history,
        seed=bid,
    )
    mains = await mains_of(scope, breakout)
    breakout.state = BreakoutState.RUNNING
    breakout.split_at, breakout.ends_at = scope.now, scope.now + breakout.box
    scope.session.add(breakout)
    words = space_words(scope, breakout)
    summary: list[str] = []
    for number, member_ids in enumerate(made, start=1):
        group = BreakoutGroup(breakout_id=bid, number=number)
        scope.session.add(group)
        await scope.session.flush()
        for row in (
            await scope.session.exec(
                select(BreakoutMember).where(
                    BreakoutMember.breakout_id == bid,
                    col(BreakoutMember.member_id).in_(member_ids),
                )
            )
        ).all():
            row.group_id = group.id
            scope.session.add(row)
        chosen = set(member_ids)
        members = [p for p in joined if p.member_id in chosen]
        summary.append(words._("Group {number}: {names}", number=number, names=names(members)))
        for platform in dict.fromkeys(p.platform for p in members):
            room = await add_room(scope, group, mains[platform])
            await _open(scope, breakout, group, room, mains[platform], len(made), members)
    text = (
        words._(
            "Breakout: {people} people in {groups} groups for {time}.",
            people=len(joined),
            groups=len(made),
            time=span(breakout.box, words),
        )
        + "\n"
        + "\n".join(summary)
    )
    for main in mains.values():
        await scope.send(main, text, key=f"breakout:{bid}:groups:{main.platform}")
    await _schedule_time_box(scope, breakout)


async def add_room(scope: Scope, group: BreakoutGroup, main: Place) -> BreakoutRoom:
    """The group's room on `main`'s platform, of the best kind the platform offers (a room
    in the main space itself is known at once)."""
    kind = subspace_kind(scope.capabilities(main.platform))
    room = BreakoutRoom(group_id=group.id or 0, platform=main.platform, kind=kind)
    if kind == SubSpaceKind.MAIN:
        room.space, room.thread = main.space, main.thread
    scope.session.add(room)
    await scope.session.flush()
    return room


async def _open(
    scope: Scope,
    breakout: Breakout,
    group: BreakoutGroup,
    room: BreakoutRoom,
    main: Place,
    count: int,
    members: list[Person],
) -> None:
    bid, text = breakout.id, intro(scope, breakout, group, count, members)
    if room.kind == SubSpaceKind.SUBSPACE:
        await scope.perform(
            OpenSubSpace(
                key=f"breakout:{bid}:open:{room.platform}:b{bid}-g{group.number}",
                parent=main,
                name=room_name(scope, breakout, group),
                members=tuple(p.user_id for p in members if p.platform == room.platform),
            ),
            room.platform,
            on_result=f"breakout.opened:{room.id}",
        )
    elif room.kind == SubSpaceKind.THREAD:
        await scope.send(
            main,
            *text,
            key=f"breakout:{bid}:g{group.number}:intro:{room.platform}",
            on_result=f"breakout.thread:{room.id}",
        )
    else:
        await tell_room(
            scope, breakout, group, room, main, *text, key=f"breakout:{bid}:g{group.number}:intro"
        )


def time_box(box: timedelta, parts: int) -> list[tuple[timedelta, str]]:
    """What happens when in a time box, as (offset from the split, timer ref suffix), in
    the order it happens (timers due together fire in the order they were scheduled).

    Parts come at even steps through the box; the wrap-up warning (for boxes longer than
    twice its lead) comes after the last part, so when even steps would put a part at or
    after it, the parts share the time before it instead. Then time is up.
    """
    wrap_up = box - LAST_WARNING if box > 2 * LAST_WARNING else None
    span_of_parts = box
    if wrap_up is not None and parts > 1 and box * (parts - 1) / parts >= wrap_up:
        span_of_parts = wrap_up
    plan = [(span_of_parts * k / parts, f"part:{k}") for k in range(1, parts)]
    plan.append((box / 2, "half"))
    if wrap_up is not None:
        plan.append((wrap_up, "last"))
    plan.append((box, "end"))
    return sorted(plan, key=lambda step: step[0])


async def _schedule_time_box(scope: Scope, breakout: Breakout) -> None:
    assert breakout.split_at is not None and breakout.ends_at is not None
    bid, start = breakout.id, breakout.split_at
    for offset, step in time_box(breakout.ends_at - start, len(breakout.parts)):
        kind, _, k = step.partition(":")
        if kind == "part":
            await scope.schedule(
                "breakout.part", f"{bid}:{k}", start + offset, key=f"breakout:{bid}:part:{k}"
            )
        elif kind == "end":
            await scope.schedule(
                "breakout.end", f"{bid}", start + offset, key=f"breakout:{bid}:end"
            )
        else:
            await scope.schedule(
                "breakout.warn", f"{bid}:{kind}", start + offset, key=f"breakout:{bid}:{kind}"
            )


async def start_reporting(scope: Scope, breakout: Breakout) -> None:
    """The time box is over: ask every group for its report-back and set the grace period."""
    bid = breakout.id
    breakout.state = BreakoutState.REPORTING
    breakout.report_until = scope.now + breakout.report_box
    scope.session.add(breakout)
    words = space_words(scope, breakout)
    for group in await groups_of(scope, bid or 0):
        await tell_group(
            scope,
            breakout,
            group,
            words._(
                "Time is up. Please report back: one of you sends "
                "`report <your group's summary>` within {time}. The last report sent counts.",
                time=span(breakout.report_box, words),
            ),
            key=f"breakout:{bid}:g{group.number}:report-request",
        )
    await scope.schedule(
        "breakout.collate", bid or 0, breakout.report_until, key=f"breakout:{bid}:collate"
    )


async def collate(scope: Scope, breakout: Breakout) -> None:
    """Post every group's members and report-back in the main space; close the sub-spaces."""
    bid = breakout.id or 0
    breakout.state, breakout.closed_at = BreakoutState.CLOSED, scope.now
    scope.session.add(breakout)
    groups = await groups_of(scope, bid)
    words = space_words(scope, breakout)
    lines = [
        words.ngettext(
            "Breakout reports ({n} group)", "Breakout reports ({n} groups)", len(groups)
        ),
        words._(
            "The question: {question}",
            question="\n".join(parts_of(scope, breakout, words)) or breakout.provocation,
        ),
    ]
    for group in groups:
        members = await people(scope, bid, group.id)
        report = group.report or words._("no report")
        head = words._("Group {number} ({names}):", number=group.number, names=names(members))
        lines.append(f"\n{head}\n{report}")
    mains = await mains_of(scope, breakout)
    for platform, main in mains.items():
        await scope.send(main, "\n".join(lines), key=f"breakout:{bid}:collated:{platform}")
    heading = words._("Breakout: {question}", question=breakout.provocation[:120])
    await archive(
        scope, heading + "\n\n" + "\n".join(lines), ritual="breakout", key=f"breakout:{bid}:archive"
    )
    for group in groups:
        for room in await rooms_of(scope, group.id):
            place = room.place
            if room.kind == SubSpaceKind.SUBSPACE and place is not None:
                await scope.perform(
                    CloseSubSpace(
                        key=f"breakout:{bid}:close:{group.number}:{room.platform}", place=place
                    ),
                    room.platform,
                )
            elif room.kind == SubSpaceKind.RELAY:
                await tell_room(
                    scope,
                    breakout,
                    group,
                    room,
                    mains[room.platform],
                    words._("The breakout is over, so I no longer pass messages on. Thank you!"),
                    key=f"breakout:{bid}:g{group.number}:over",
                )


async def end_early(scope: Scope, breakout: Breakout) -> str:
    """`breakout end`: cancel the call, cut the time box short, or collate now; says which."""
    words = space_words(scope, breakout)
    if breakout.state == BreakoutState.GATHERING:
        breakout.state, breakout.closed_at = BreakoutState.CLOSED, scope.now
        scope.session.add(breakout)
        return words._("Breakout cancelled before the groups were made.")
    if breakout.state == BreakoutState.RUNNING:
        await start_reporting(scope, breakout)
        return words._(
            "Breakout ended early. Groups have {time} to report back. Say {command} again "
            "to put the reports together now.",
            time=span(breakout.report_box, words),
            command=scope.command("breakout end", breakout.platform),
        )
    await collate(scope, breakout)
    return words._("Breakout closed. The reports are above.")


async def record_report(
    scope: Scope,
    breakout: Breakout,
    group: BreakoutGroup,
    member_id: int,
    name: str,
    text: str,
    *,
    key: str,
) -> None:
    """Keep `text` as the group's report (the last one wins) and show the group it arrived."""
    group.report, group.reported_by, group.reported_at = text, member_id, scope.now
    scope.session.add(group)
    await tell_group(
        scope,
        breakout,
        group,
        space_words(scope, breakout)._(
            "{name} sent your group's report: “{text}”. Anyone in the group can send another "
            "`report` to replace it.",
            name=name,
            text=text,
        ),
        key=key,
    )


async def place_late(
    scope: Scope, breakout: Breakout, member_id: int, identity: Identity
) -> BreakoutGroup:
    """Add someone who joins after the split to the smallest group (the first of equals)."""
    bid = breakout.id or 0
    groups = await groups_of(scope, bid)
    sizes = {g.id: len(await people(scope, bid, g.id)) for g in groups}
    group = min(groups, key=lambda g: (sizes[g.id], g.number))
    scope.session.add(
        BreakoutMember(
            breakout_id=bid,
            member_id=member_id,
            identity_id=identity.id or 0,
            group_id=group.id,
            joined_at=scope.now,
        )
    )
    await scope.session.flush()
    members = await people(scope, bid, group.id)
    newcomer = next(p for p in members if p.member_id == member_id)
    mains = await mains_of(scope, breakout)
    main = mains.get(newcomer.platform, breakout.main)
    room = await room_on(scope, group, newcomer.platform)
    if room is None:  # the first of the group on this platform: the group gets a room here
        room = await add_room(scope, group, main)
        await _open(scope, breakout, group, room, main, len(groups), members)
    elif room.kind == SubSpaceKind.SUBSPACE:
        await scope.perform(
            OpenSubSpace(
                key=f"breakout:{bid}:invite:{member_id}:b{bid}-g{group.number}",
                parent=main,
                name=room_name(scope, breakout, group),
                members=tuple(p.user_id for p in members if p.platform == room.platform),
            ),
            room.platform,
        )
    await tell_group(
        scope,
        breakout,
        group,
        newcomer.mention,
        " joined your group.",
        key=f"breakout:{bid}:g{group.number}:joined:{member_id}",
    )
    return group


# --- timers and result hooks ---------------------------------------------------------------


async def on_split(scope: Scope, ref: str) -> None:
    breakout = await load(scope, ref)
    if breakout is not None and breakout.state == BreakoutState.GATHERING:
        await split_now(scope, breakout)


async def on_part(scope: Scope, ref: str) -> None:
    bid, _, k = ref.partition(":")
    breakout = await load(scope, bid)
    if breakout is None or breakout.state != BreakoutState.RUNNING:
        return
    part, total = int(k), len(breakout.parts)
    words = space_words(scope, breakout)
    question = parts_of(scope, breakout, words)[part]
    for group in await groups_of(scope, breakout.id or 0):
        await tell_group(
            scope,
            breakout,
            group,
            words._(
                "Part {number} of {total}: {question}",
                number=part + 1,
                total=total,
                question=question,
            ),
            key=f"breakout:{bid}:g{group.number}:part:{part}",
        )


async def on_warn(scope: Scope, ref: str) -> None:
    bid, _, which = ref.partition(":")
    breakout = await load(scope, bid)
    if breakout is None or breakout.state != BreakoutState.RUNNING:
        return
    assert breakout.ends_at is not None and breakout.split_at is not None
    words = space_words(scope, breakout)
    if which == "half":
        half = span((breakout.ends_at - breakout.split_at) / 2, words)
        text = words._("Half time: {time} left.", time=half)
    else:
        text = words._(
            "{time} left: time to agree what your group reports back.",
            time=span(LAST_WARNING, words),
        )
    for group in await groups_of(scope, breakout.id or 0):
        await tell_group(
            scope, breakout, group, text, key=f"breakout:{bid}:g{group.number}:{which}"
        )


async def on_end(scope: Scope, ref: str) -> None:
    breakout = await load(scope, ref)
    if breakout is not None and breakout.state == BreakoutState.RUNNING:
        await start_reporting(scope, breakout)


async def on_collate(scope: Scope, ref: str) -> None:
    breakout = await load(scope, ref)
    if breakout is not None and breakout.state == BreakoutState.REPORTING:
        await collate(scope, breakout)


async def on_call_sent(scope: Scope, ref: str, result: ActionResult) -> None:
    """Remember the call to join, so reactions to it count as joining."""
    breakout = await load(scope, ref)
    if breakout is not None and isinstance(result, Sent):
        breakout.call_message_id = result.message_id
        scope.session.add(breakout)


async def on_space_call_sent(scope: Scope, ref: str, result: ActionResult) -> None:
    """Remember the call in a further space too: reactions to it count as joining, and on
    a forum the topic it opened is where the rest of the breakout is told."""
    extra = await scope.session.get(BreakoutSpace, int(ref))
    if extra is not None and isinstance(result, Sent):
        extra.call_message_id = result.message_id
        if Capability.TOPICS in scope.capabilities(extra.platform):
            extra.thread = result.thread
        scope.session.add(extra)


async def on_opened(scope: Scope, ref: str, result: ActionResult) -> None:
    """A group's sub-space exists: remember it, post the provocation there, and send on what
    the group said elsewhere while it was being opened."""
    room = await scope.session.get(BreakoutRoom, int(ref))
    if room is None or not isinstance(result, SubSpaceOpened):
        return
    group = await scope.session.get(BreakoutGroup, room.group_id)
    assert group is not None
    breakout = await load(scope, group.breakout_id)
    assert breakout is not None
    room.space, room.thread = result.place.space, result.place.thread
    scope.session.add(room)
    if breakout.state != BreakoutState.RUNNING:
        return
    members = await people(scope, group.breakout_id, group.id)
    count = len(await groups_of(scope, group.breakout_id))
    main = (await mains_of(scope, breakout))[room.platform]
    await tell_room(
        scope,
        breakout,
        group,
        room,
        main,
        *intro(scope, breakout, group, count, members),
        key=f"breakout:{breakout.id}:g{group.number}:intro",
    )
    await relay.send_waiting(scope, room)


async def on_thread(scope: Scope, ref: str, result: ActionResult) -> None:
    """A group's first message is posted: its thread is where the group talks."""
    room = await scope.session.get(BreakoutRoom, int(ref))
    if room is None or not isinstance(result, Sent):
        return
    room.space = result.place.space
    room.thread = result.thread or ThreadId(result.message_id)
    scope.session.add(room)
    await relay.send_waiting(scope, room)


async def room_on(scope: Scope, group: BreakoutGroup, platform: str) -> BreakoutRoom | None:
    stmt = select(BreakoutRoom).where(
        BreakoutRoom.group_id == group.id, BreakoutRoom.platform == platform
    )
    return (await scope.session.exec(stmt)).first()


def talks_here(room: BreakoutRoom, place: Place) -> bool:
    """Whether a message written at `place` was written in `room` (on its platform)."""
    if place.platform != room.platform:
        return False
    if room.kind == SubSpaceKind.RELAY:
        return place.direct
    if room.kind == SubSpaceKind.MAIN:
        return place.space == room.space and not place.direct
    # A sub-space that is a thread (Slack's, Discourse chat's) shares its space with others.
    whole_space = room.kind == SubSpaceKind.SUBSPACE and room.thread is None
    return place.space == room.space and (whole_space or place.thread == room.thread)
