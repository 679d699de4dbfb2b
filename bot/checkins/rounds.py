"""What happens to a round: it opens, members answer, the non-responders are reminded, it closes.

Every function takes the `Scope` of the transaction it runs in (a command's, a timer's), so a
round's changes and the messages they cause commit together, exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from adapters.contract import (
    ActionResult,
    Button,
    Capability,
    Direct,
    Place,
    PlatformName,
    Purpose,
    Sent,
    SpaceId,
    TextForm,
    ThreadId,
    UserId,
)
from bot import pending_outbox
from bot.archive import archive
from bot.checkins import export
from bot.checkins.models import (
    CheckinAnswer,
    CheckinAsked,
    CheckinRound,
    CheckinSpace,
    RoundState,
)
from bot.context import Context, Scope
from bot.errors import UserInputError
from bot.i18n import N_, NAMES, Words
from bot.long_text import split_text
from bot.models import Identity, Member, OutboxRow
from bot.prompts import question_in
from bot.reach import dm_order

HOOK_POSTED = "checkin.posted"
HOOK_POSTED_IN = "checkin.posted_in"
TIMER_CLOSE = "checkin.close"
TIMER_REMIND = "checkin.remind"
MAX_ANSWER = 20_000
"""An answer, not a document: longer ones are refused with a clear reply, never cut."""
PASS = "pass"
FLOOD_PARTS = 5
"""A summary that would take more messages than this is linked as a file instead: a room
scrolled through by dozens of messages of answers is not read."""
SUMMARY_LINK_LIFETIME = timedelta(days=7)
ANSWER_ACTION = "checkin.answer"
PASS_ACTION = "checkin.pass"
ANSWER_FORM_MAX = 3000
"""The answer form's field: 3,000 characters is the most Slack's text input takes."""


@dataclass(frozen=True)
class RoundPlan:
    """What a catalyst asked for, checked: the round `open_round` creates."""

    prompt: str
    prompt_id: str | None = None
    anonymous: bool = False
    dm: bool = False
    deadline: datetime | None = None
    remind_at: datetime | None = None
    also: tuple[Place, ...] = ()
    """Further spaces the round is open in, on any platform (`--in`)."""


@dataclass(frozen=True)
class Tally:
    answered: int
    passed: int


def voter_hash(key: str, member_id: int) -> str:
    """The anonymous de-duplication token: meaningless once the round's key is destroyed."""
    return hmac.new(bytes.fromhex(key), str(member_id).encode(), hashlib.sha256).hexdigest()


def anonymous_ack_prefix(round_id: int) -> str:
    """The outbox keys of an anonymous round's acknowledgements (unrelated to the event that
    caused each, which would point back at the answer's message and its author)."""
    return f"checkin:{round_id}:ack:"


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (
    N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"),
    N_("Jul"), N_("Aug"), N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec"),
)  # fmt: skip


def local(at: datetime, tz: str, words: Words) -> str:
    """A moment in `tz` as the reader reads dates ("Tue 03 Mar 18:00 (Europe/London)"), with
    the day's and month's names in their language, not the server's locale."""
    here = at.astimezone(ZoneInfo(tz))
    return words._(
        "{weekday} {day} {month} {time} ({zone})",
        weekday=words._(WEEKDAYS[here.weekday()]),
        day=f"{here:%d}",
        month=words._(MONTHS[here.month - 1]),
        time=f"{here:%H:%M}",
        zone=tz,
    )


def round_place(r: CheckinRound) -> Place:
    return Place(PlatformName(r.platform), SpaceId(r.space))


# --- opening ---------------------------------------------------------------------------------


async def open_round(
    scope: Scope,
    community_id: int,
    place: Place,
    plan: RoundPlan,
    *,
    opened_by: Member | None = None,
    series_id: int | None = None,
) -> CheckinRound:
    """Create the round, queue its post (the platform's thread comes back by `HOOK_POSTED`),
    its timers and, with `dm`, a direct question to every member."""
    r = CheckinRound(
        community_id=community_id,
        series_id=series_id,
        platform=place.platform,
        space=place.space,
        prompt=plan.prompt,
        prompt_id=plan.prompt_id,
        anonymous=plan.anonymous,
        dm=plan.dm,
        hmac_key=secrets.token_hex(32) if plan.anonymous else None,
        opened_by_member_id=opened_by.id if opened_by else None,
        opened_at=scope.now,
        deadline=plan.deadline,
        remind_at=plan.remind_at,
    )
    if r.anonymous and any(private_only(scope, r, p.platform) for p in (place, *plan.also)):
        r.dm = True  # a public reply would show the name: everyone is asked privately
    scope.session.info.pop(LOCKED_HERE, None)  # a place's answers may now go to this round
    scope.session.add(r)
    await scope.session.flush()
    assert r.id is not None
    await _post(scope, r, place, key=f"checkin:{r.id}:post", on_result=f"{HOOK_POSTED}:{r.id}")
    for also in plan.also:
        extra = CheckinSpace(round_id=r.id, platform=also.platform, space=also.space)
        scope.session.add(extra)
        await scope.session.flush()
        await _post(
            scope,
            r,
            also,
            key=f"checkin:{r.id}:post:{extra.id}",
            on_result=f"{HOOK_POSTED_IN}:{extra.id}",
        )
    if r.deadline:
        await scope.schedule(TIMER_CLOSE, r.id, r.deadline, key=f"checkin:{r.id}:close")
    if r.remind_at:
        await scope.schedule(TIMER_REMIND, r.id, r.remind_at, key=f"checkin:{r.id}:remind")
    if r.dm:
        community = scope.bot.config.model.community.name

        def question(words: Words) -> str:
            prompt = question_in(scope.bot.config, r.prompt_id, r.prompt, words.lang)
            asked = words._(
                "Check-in from {community}: {prompt}", community=community, prompt=prompt
            )
            if r.anonymous:
                return asked + " " + words._("Your answer is shared without your name.")
            return asked

        for member in await members_to_ask(scope, r.community_id):
            await ask_directly(scope, r, member, question, purpose="ask")
    return r


async def _post(scope: Scope, r: CheckinRound, place: Place, *, key: str, on_result: str) -> None:
    """The round's post in one of its spaces, in that platform's words and buttons."""
    capabilities = scope.capabilities(place.platform)
    words = scope.words_in(place.platform, place.space)
    answer = scope.command(words._("checkin <your answer>"), place.platform)
    prompt = question_in(scope.bot.config, r.prompt_id, r.prompt, words.lang)
    lines = [words._("Check-in: {prompt}", prompt=prompt)]
    if only_by_buttons(scope, r, place.platform):
        lines.append(
            words._(
                "Press Answer to write your answer, or Pass. I don't take answers typed in the "
                "chat, so no answer is ever a message here. You can change yours until the "
                "round closes."
            )
        )
    elif private_only(scope, r, place.platform):
        lines.append(
            words._(
                "This round is anonymous, so answer me privately, in a direct message, not here: "
                "a reply here shows your name. I am sending one to everyone I know, or you can "
                "write {answer} to me. You can change your answer until the round closes.",
                answer=answer,
            )
        )
        lines.append(
            words._(
                "Answers are shared without names. Note that the site's administrators can read "
                "direct messages."
            )
        )
    else:
        passing = scope.command("checkin pass", place.platform)
        how = [
            words._(
                "Reply in this thread, or say {answer} (or {pass_}).", answer=answer, pass_=passing
            )
            if Capability.THREADS in capabilities
            else words._("Say {answer} (or {pass_}).", answer=answer, pass_=passing)
        ]
        if Capability.BUTTONS in capabilities:
            how.append(words._("Or use the buttons."))
        how.append(words._("You can change your answer until the round closes."))
        lines.append(" ".join(how))
    if r.anonymous and not private_only(scope, r, place.platform):
        lines.append(words._("This round is anonymous: answers are shared without names."))
    if r.deadline:
        closes = local(r.deadline, scope.bot.community.timezone, words)
        lines.append(words._("It closes {when}.", when=closes))
    await scope.send(
        place,
        "\n".join(lines),
        key=key,
        buttons=answer_buttons(scope, r, place.platform, words),
        on_result=on_result,
    )


def private_only(scope: Scope, r: CheckinRound, platform: str | None = None) -> bool:
    """An anonymous round on a forum takes answers only privately: posts there are public
    and signed, so an answer in the topic would give the name away."""
    return r.anonymous and Capability.TOPICS in scope.capabilities(platform or r.platform)


async def open_private_round(scope: Scope, platform: str, community_id: int) -> CheckinRound | None:
    """The latest open round on `platform` that takes answers only privately."""
    stmt = (
        select(CheckinRound)
        .where(
            CheckinRound.community_id == community_id,
            CheckinRound.platform == platform,
            CheckinRound.state == RoundState.OPEN,
            col(CheckinRound.anonymous).is_(True),
        )
        .order_by(col(CheckinRound.id).desc())
    )
    found = (await scope.session.exec(stmt)).first()
    return found if found is not None and private_only(scope, found) else None


async def mark_asked(scope: Scope, r: CheckinRound, member_id: int) -> None:
    """From now on this member's direct messages answer `r`."""
    assert r.id is not None
    if await scope.session.get(CheckinAsked, (r.id, member_id)) is None:
        scope.session.add(CheckinAsked(round_id=r.id, member_id=member_id))


def only_by_buttons(scope: Scope, r: CheckinRound, platform: str) -> bool:
    """An anonymous round takes answers only through its buttons (Answer opens a form) where
    the platform has forms, so no answer is ever a message in the platform's history."""
    return r.anonymous and Capability.MODALS in scope.capabilities(platform)


def answer_buttons(
    scope: Scope, r: CheckinRound, platform: str, words: Words
) -> tuple[Button, ...]:
    """Answer (a form, where the platform has them) and Pass, where it has buttons."""
    capabilities = scope.capabilities(platform)
    if Capability.BUTTONS not in capabilities:
        return ()
    form = (
        TextForm(words._("Check-in"), words._("Your answer"), max_length=ANSWER_FORM_MAX)
        if Capability.MODALS in capabilities
        else None
    )
    return (
        Button(ANSWER_ACTION, str(r.id), words._("Answer"), form),
        Button(PASS_ACTION, str(r.id), words._("Pass")),
    )


async def posted(scope: Scope, ref: str, result: ActionResult) -> None:
    """The round's post reached the platform: remember its message and thread."""
    r = await scope.session.get(CheckinRound, int(ref))
    if r is not None and isinstance(result, Sent):
        r.message_id, r.thread = result.message_id, result.thread
        scope.session.add(r)


async def posted_in(scope: Scope, ref: str, result: ActionResult) -> None:
    """The post reached one of the round's further spaces: remember its message and thread."""
    extra = await scope.session.get(CheckinSpace, int(ref))
    if extra is not None and isinstance(result, Sent):
        extra.message_id, extra.thread = result.message_id, result.thread
        scope.session.add(extra)


async def places_of(scope: Scope, r: CheckinRound) -> list[Place]:
    """Every space the round is open in: its own first, then those of `--in`."""
    extras = await scope.session.exec(
        select(CheckinSpace).where(CheckinSpace.round_id == r.id).order_by(col(CheckinSpace.id))
    )
    return [round_place(r)] + [
        Place(PlatformName(e.platform), SpaceId(e.space)) for e in extras.all()
    ]


async def members_to_ask(scope: Scope, community_id: int) -> list[Member]:
    """Every member who may be nudged: the community's members (with an account still in its
    spaces), less those who paused."""
    present = (
        select(Identity.id)
        .where(col(Identity.member_id) == col(Member.id), col(Identity.left_at).is_(None))
        .exists()
    )
    rows = await scope.session.exec(
        select(Member)
        .where(Member.community_id == community_id, col(Member.paused).is_(False), present)
        .order_by(col(Member.id))
    )
    return list(rows.all())


async def direct_to(scope: Scope, r: CheckinRound, member: Member) -> Direct | None:
    """Where to DM a member about a round: where they want DMs, else on the round's platform,
    else another of theirs; None if they have no platform with DMs."""
    identities = (
        await scope.session.exec(
            select(Identity).where(Identity.member_id == member.id, col(Identity.left_at).is_(None))
        )
    ).all()
    usable = dm_order(scope, member, identities, prefer=r.platform)
    if not usable:
        return None
    return Direct(PlatformName(usable[0].platform), UserId(usable[0].external_id))


async def ask_directly(
    scope: Scope, r: CheckinRound, member: Member, text: Callable[[Words], str], *, purpose: str
) -> bool:
    """DM one member `text` (in their language) and how to answer (see `direct_to`); False if
    they have no platform with DMs.

    Being asked directly makes the member's DMs answers to this round.
    """
    to = await direct_to(scope, r, member)
    if to is None:
        return False
    assert r.id is not None and member.id is not None
    await mark_asked(scope, r, member.id)
    words = scope.words_for(member)
    how = (
        words._("Press Answer to write your answer, or Pass.")
        if only_by_buttons(scope, r, to.platform)
        else words._("Answer me here (or say {pass_}).", pass_="`pass`")
    )
    await scope.send(
        to,
        f"{text(words)}\n{how}",
        key=f"checkin:{r.id}:{purpose}:{member.id}",
        buttons=answer_buttons(scope, r, to.platform, words),
        recipient=member,
        purpose=Purpose(
            f"checkin.{'invite' if purpose == 'ask' else purpose}",
            (("community", scope.bot.config.model.community.name), ("prompt", r.prompt)),
        ),
    )
    return True


# --- finding rounds --------------------------------------------------------------------------


OPEN_ROUND_IN = (
    select(CheckinRound)
    .where(
        col(CheckinRound.platform) == bindparam("platform"),
        col(CheckinRound.space) == bindparam("space"),
        col(CheckinRound.state) == RoundState.OPEN,
    )
    .order_by(col(CheckinRound.id).desc())
)
"""Built once: every answer in a space looks its round up (building an ORM select costs more
than running it)."""


OPEN_ROUND_IN_LOCKED = OPEN_ROUND_IN.with_for_update(read=True).execution_options(
    populate_existing=True
)
"""The same, for an answer, read with a shared lock: answers in transactions of their own
(`bot.core.POSTGRES_LANES`) go on side by side, and closing, which locks the round for itself
(`lock`), waits until they committed, so none lands after the summary."""


LOCKED_HERE = "checkin.locked"
"""Session info: the open round each place's answers found, read locked in this transaction."""


async def open_round_in(scope: Scope, place: Place, *, locked: bool = False) -> CheckinRound | None:
    """The round open in `place`; `locked`: read with a shared lock (`OPEN_ROUND_IN_LOCKED`).

    Answers handled together in one transaction ask for the same round again and again: once
    it is read locked, nobody else can change it before this transaction ends, so it is
    taken from the session after the first time, one round trip fewer per answer. A round
    no longer open is read again; a round opened in this transaction resets what was found
    (`open_round`).
    """
    found_here: dict[tuple[str, str], CheckinRound] = scope.session.info.setdefault(LOCKED_HERE, {})
    if locked:
        known = found_here.get((place.platform, place.space))
        if known is not None and known.state == RoundState.OPEN:
            return known
    found = await _open_round_in(scope, place, locked)
    if locked and found is not None:
        found_here[(place.platform, place.space)] = found
    return found


async def _open_round_in(scope: Scope, place: Place, locked: bool) -> CheckinRound | None:
    params = {"platform": place.platform, "space": place.space}
    stmt = OPEN_ROUND_IN_LOCKED if locked else OPEN_ROUND_IN
    found = (await scope.session.exec(stmt, params=params)).first()
    if found is not None:
        return found
    also = _also_in(place).where(CheckinRound.state == RoundState.OPEN)
    if locked:
        also = also.with_for_update(read=True, of=CheckinRound).execution_options(
            populate_existing=True
        )
    return (await scope.session.exec(also)).first()


def _also_in(place: Place) -> SelectOfScalar[CheckinRound]:
    """Rounds open in `place` through `--in`, newest first."""
    return (
        select(CheckinRound)
        .join(CheckinSpace, col(CheckinSpace.round_id) == col(CheckinRound.id))
        .where(CheckinSpace.platform == place.platform, CheckinSpace.space == place.space)
        .order_by(col(CheckinRound.id).desc())
    )


async def latest_round_in(scope: Scope, place: Place) -> CheckinRound | None:
    own = (
        await scope.session.exec(
            select(CheckinRound)
            .where(CheckinRound.platform == place.platform, CheckinRound.space == place.space)
            .order_by(col(CheckinRound.id).desc())
        )
    ).first()
    also = (await scope.session.exec(_also_in(place))).first()
    return max((r for r in (own, also) if r is not None), key=lambda r: r.id or 0, default=None)


async def latest_direct_round(scope: Scope) -> CheckinRound | None:
    """The community's latest round that asked its members directly (`--dm`)."""
    return (
        await scope.session.exec(
            select(CheckinRound)
            .where(CheckinRound.community_id == scope.bot.community.id, col(CheckinRound.dm))
            .order_by(col(CheckinRound.id).desc())
        )
    ).first()


async def round_of_thread(scope: Scope, place: Place) -> CheckinRound | None:
    if place.thread is None:
        return None
    own = (
        await scope.session.exec(
            select(CheckinRound).where(
                CheckinRound.platform == place.platform,
                CheckinRound.space == place.space,
                CheckinRound.thread == place.thread,
            )
        )
    ).first()
    if own is not None:
        return own
    return (
        await scope.session.exec(_also_in(place).where(CheckinSpace.thread == place.thread))
    ).first()


async def round_of_post(scope: Scope, place: Place, message_id: str) -> CheckinRound | None:
    return (
        await scope.session.exec(
            select(CheckinRound).where(
                CheckinRound.platform == place.platform,
                CheckinRound.space == place.space,
                CheckinRound.message_id == message_id,
            )
        )
    ).first()


async def posting_in(scope: Scope, place: Place) -> bool:
    """Whether a round open here is still waiting for its post's thread: a reply in a thread
    we do not know may be in that one, and must wait for it rather than be lost."""
    r = await open_round_in(scope, place.top())
    return r is not None and r.thread is None and r.message_id is None


async def round_asked(scope: Scope, member_id: int, *, only_open: bool) -> CheckinRound | None:
    """The latest round that asked this member directly (open ones only, if so asked)."""
    stmt = (
        select(CheckinRound)
        .join(CheckinAsked, col(CheckinAsked.round_id) == col(CheckinRound.id))
        .where(CheckinAsked.member_id == member_id)
        .order_by(col(CheckinRound.id).desc())
    )
    if only_open:
        stmt = stmt.where(CheckinRound.state == RoundState.OPEN)
    return (await scope.session.exec(stmt)).first()


# --- answering -------------------------------------------------------------------------------


async def lock(scope: Scope, r: CheckinRound) -> None:
    """Re-read the round locked, so answers and closing take turns (on PostgreSQL; SQLite's
    write transactions already do): no answer lands after the summary, none is doubled."""
    if not scope.bot.db.is_sqlite:
        await scope.session.refresh(r, with_for_update=True)


def _answer_statements(anonymous: bool) -> tuple[Any, Any]:
    table = CheckinAnswer.__table__  # type: ignore[attr-defined]
    who = table.c.voter_hash if anonymous else table.c.member_id
    mine = update(table).where(table.c.round_id == bindparam("r"), who == bindparam("w"))
    return mine, insert(table)


REPLACE_ANSWER = {anonymous: _answer_statements(anonymous) for anonymous in (False, True)}
"""Per kind of round: replace a member's earlier answer (by member id, or by keyed hash when
anonymous), else insert it. Core statements built once, run under the round's lock, so they
replace the select, the ORM object and its flush that each answer cost."""


async def answer(
    ctx: Context, r: CheckinRound, text: str, *, by_button: bool = False, locked: bool = False
) -> None:
    """Record (or replace) the caller's answer and acknowledge it privately; `locked` when
    the round was read locked already."""
    if not by_button and only_by_buttons(ctx, r, ctx.platform):
        raise UserInputError(
            N_(
                "This check-in is anonymous, so it takes answers only through its Answer and "
                "Pass buttons. That way no answer is ever a message in the chat. I did not take "
                "your message."
            )
        )
    if not locked:
        await lock(ctx, r)
    if r.state != RoundState.OPEN:
        await ctx.reply(
            ctx._("This check-in is closed, so I can't take answers now. Thank you all the same!"),
            private=True,
        )
        return
    if len(text) > MAX_ANSWER:
        raise UserInputError(
            N_(
                "That answer has {length} characters. The most I take is {limit}. Please make "
                "it shorter and answer again."
            ),
            length=f"{len(text):,}",
            limit=f"{MAX_ANSWER:,}",
        )
    assert r.id is not None and ctx.member.id is not None
    passed = text.strip().lower() == PASS
    stored = "" if passed else text
    voter = voter_hash(r.hmac_key, ctx.member.id) if r.hmac_key else None
    values: dict[str, Any] = {"text": stored, "passed": passed, "platform": ctx.platform}
    if not r.anonymous:
        values["answered_at"] = ctx.now
    replace, add = REPLACE_ANSWER[r.anonymous]
    who = voter if r.anonymous else ctx.member.id
    replaced = (await ctx.session.exec(replace, params={**values, "r": r.id, "w": who})).rowcount
    if not replaced:
        owner = {"voter_hash": voter} if r.anonymous else {"member_id": ctx.member.id}
        await ctx.session.exec(add, params={**values, **owner, "round_id": r.id})
    if r.anonymous:
        # One text for every anonymous answer, so the acknowledgement cannot tell who passed;
        # its outbox row (addressed to the member) is deleted when the round closes.
        await ctx.send(
            ctx.private_place(),
            ctx._(
                "Thanks, noted. It will be shared without your name. To change it, answer again "
                "before the round closes."
            ),
            key=f"{anonymous_ack_prefix(r.id)}{secrets.token_hex(8)}",
        )
        return
    if passed:
        ack = ctx._("Pass noted, thank you.")
    elif not replaced:
        ack = ctx._("Thanks, your answer is in.")
    else:
        ack = ctx._("Thanks, your answer is updated.")
    again = ctx._("To change it, answer again before the round closes.")
    await ctx.reply(f"{ack} {again}", private=True)


async def merge_voters(scope: Scope, keep: int, gone: int) -> None:
    """Two members become one: in each open anonymous round the merged member's answer
    becomes the kept member's, unless the kept member answered too (theirs stays)."""
    rounds = await scope.session.exec(
        select(CheckinRound).where(
            CheckinRound.state == RoundState.OPEN, col(CheckinRound.hmac_key).is_not(None)
        )
    )
    table = CheckinAnswer.__table__  # type: ignore[attr-defined]
    for r in rounds.all():
        assert r.hmac_key is not None
        kept, merged = voter_hash(r.hmac_key, keep), voter_hash(r.hmac_key, gone)
        mine = (table.c.round_id == r.id) & (table.c.voter_hash == merged)
        clash = (
            await scope.session.exec(
                select(CheckinAnswer.id).where(
                    CheckinAnswer.round_id == r.id, CheckinAnswer.voter_hash == kept
                )
            )
        ).first()
        if clash is None:
            await scope.session.exec(update(table).where(mine).values(voter_hash=kept))
        else:
            await scope.session.exec(delete(table).where(mine))


# --- tallies, reminders, closing -------------------------------------------------------------


async def answers_of(scope: Scope, round_id: int) -> Sequence[CheckinAnswer]:
    return (
        await scope.session.exec(
            select(CheckinAnswer)
            .where(CheckinAnswer.round_id == round_id)
            .order_by(col(CheckinAnswer.id))
        )
    ).all()


def tally(answers: Sequence[CheckinAnswer]) -> Tally:
    passed = sum(1 for a in answers if a.passed)
    return Tally(len(answers) - passed, passed)


def platform_tally(answers: Sequence[CheckinAnswer]) -> dict[str, dict[str, int]]:
    """Answers and passes per platform they were given on."""
    found: dict[str, dict[str, int]] = {}
    for a in answers:
        counts = found.setdefault(a.platform or "", {"answered": 0, "passed": 0})
        counts["passed" if a.passed else "answered"] += 1
    return found


async def respondents(scope: Scope, r: CheckinRound) -> list[int]:
    """Who answered or passed a round that was not anonymous (anonymous ones never say)."""
    if r.anonymous:
        raise ValueError("an anonymous round does not say who answered")
    return [a.member_id for a in await answers_of(scope, r.id or 0) if a.member_id is not None]


async def not_yet(scope: Scope, r: CheckinRound) -> list[Member]:
    """Members (not paused) with no answer or pass yet; for anonymous rounds, by their hash."""
    answers = await answers_of(scope, r.id or 0)
    if r.anonymous:
        assert r.hmac_key is not None
        key = r.hmac_key
        seen = {a.voter_hash for a in answers}
        return [
            m
            for m in await members_to_ask(scope, r.community_id)
            if voter_hash(key, m.id or 0) not in seen
        ]
    done = {a.member_id for a in answers}
    return [m for m in await members_to_ask(scope, r.community_id) if m.id not in done]


async def remind(scope: Scope, ref: str) -> None:
    """The reminder timer: one DM to each member who has neither answered nor passed."""
    r = await scope.session.get(CheckinRound, int(ref))
    if r is None or r.state != RoundState.OPEN:
        return
    if r.deadline is not None and r.deadline <= scope.now:
        return  # the bot was down past the deadline: the round closes now, no use reminding
    deadline, tz = r.deadline, scope.bot.community.timezone

    def text(words: Words) -> str:
        asked = question_in(scope.bot.config, r.prompt_id, r.prompt, words.lang)
        still = words._("A reminder: the check-in “{prompt}” is still open.", prompt=asked)
        if deadline is None:
            return still
        return still + " " + words._("It closes {when}.", when=local(deadline, tz, words))

    for member in await not_yet(scope, r):
        await ask_directly(scope, r, member, text, purpose="remind")


async def close_by_timer(scope: Scope, ref: str) -> None:
    """The deadline timer: closes the round unless a command closed it already."""
    r = await scope.session.get(CheckinRound, int(ref))
    if r is not None:
        await close_round(scope, r)


async def close_round(scope: Scope, r: CheckinRound, *, languages: bool = False) -> bool:
    """Close an open round and post its summary; False if it was closed already.

    With `languages` (the organiser asked, `checkin close --languages`) the summary says
    which language each named answer came in (an anonymous round's answers name nobody, so
    neither their language, which could point to the person).

    An anonymous round's answers are re-inserted in a random order without their voter
    hashes, its key is destroyed and its acknowledgements' outbox rows deleted, all of it
    erased from the disk once committed, so neither row order, a hash nor a reply's time can
    link an answer to the member who gave it.
    """
    await lock(scope, r)
    if r.state != RoundState.OPEN:
        return False
    assert r.id is not None
    answers = list(await answers_of(scope, r.id))
    if r.anonymous:
        r.platform_tally = platform_tally(answers)
        random.SystemRandom().shuffle(answers)
        kept = [(a.text, a.passed) for a in answers]
        await scope.session.exec(delete(CheckinAnswer).where(col(CheckinAnswer.round_id) == r.id))
        answers = [CheckinAnswer(round_id=r.id, text=t, passed=p) for t, p in kept]
        scope.session.add_all(answers)
        r.hmac_key = None
        acks = col(OutboxRow.key).startswith(anonymous_ack_prefix(r.id), autoescape=True)
        await pending_outbox.flush(scope.session)  # acknowledgements queued here too
        await scope.session.exec(delete(OutboxRow).where(acks))
        scope.bot.db.erase_after_commit(scope.session)
    r.state, r.closed_at = RoundState.CLOSED, scope.now
    scope.session.add(r)
    texts: dict[str, str] = {}

    async def summary_in(words: Words) -> str:
        if words.lang not in texts:
            texts[words.lang] = await summary(scope, r, answers, words, languages=languages)
        return texts[words.lang]

    extras = await scope.session.exec(
        select(CheckinSpace).where(CheckinSpace.round_id == r.id).order_by(col(CheckinSpace.id))
    )
    threads = [r.thread, *(e.thread for e in extras.all())]
    for n, (place, thread) in enumerate(zip(await places_of(scope, r), threads, strict=True)):
        key = f"checkin:{r.id}:summary" + (f":{n}" if n else "")
        text = await summary_in(scope.words_in(place.platform, place.space))
        capabilities = scope.capabilities(place.platform)
        broadcast = False
        if thread is not None and Capability.TOPICS in capabilities:
            place = Place(place.platform, place.space, ThreadId(thread))  # a reply to the round
        elif thread is not None and Capability.THREAD_BROADCAST in capabilities:
            place = Place(place.platform, place.space, ThreadId(thread))
            broadcast = True  # under the answers, and in the channel for everyone
        await scope.send(
            place, text, key=key, purpose=Purpose("checkin.summary"), broadcast=broadcast
        )
    if r.dm and not r.anonymous:  # an outbox row must never pair a member with answers
        for member in await asked(scope, r):
            to = await direct_to(scope, r, member)
            if to is not None:
                await scope.send(
                    to,
                    await summary_in(scope.words_for(member)),
                    key=f"checkin:{r.id}:summary:member:{member.id}",
                    recipient=member,
                    purpose=Purpose("checkin.summary"),
                )
    text = await summary_in(scope.words_for(None))
    await archive(scope, text, ritual="checkin", key=f"checkin:{r.id}:archive")
    return True


async def asked(scope: Scope, r: CheckinRound) -> Sequence[Member]:
    """The members a round asked directly (`--dm`): they get its summary directly too, in
    their own language, as they may not read the space it was opened in."""
    return (
        await scope.session.exec(
            select(Member)
            .join(CheckinAsked, col(CheckinAsked.member_id) == col(Member.id))
            .where(CheckinAsked.round_id == r.id)
            .order_by(col(Member.id))
        )
    ).all()


async def names_of(scope: Scope, answers: Sequence[CheckinAnswer]) -> dict[int, str]:
    ids = {a.member_id for a in answers if a.member_id is not None}
    if not ids:
        return {}
    rows = await scope.session.exec(select(Member).where(col(Member.id).in_(ids)))
    return {m.id: m.display_name for m in rows.all() if m.id is not None}


async def languages_of(scope: Scope, answers: Sequence[CheckinAnswer]) -> dict[int, str]:
    """Each answering member's language, by name, as " (Español)"."""
    ids = {a.member_id for a in answers if a.member_id is not None}
    rows = await scope.session.exec(select(Member).where(col(Member.id).in_(ids)))
    return {m.id: f" ({NAMES[scope.words_for(m).lang]})" for m in rows.all() if m.id is not None}


async def summary(
    scope: Scope,
    r: CheckinRound,
    answers: Sequence[CheckinAnswer],
    words: Words,
    *,
    languages: bool = False,
) -> str:
    """The closing post: the count, then every answer as written (passes only counted)."""
    t = tally(answers)
    counts = words._(
        "{answers}, {passes}.",
        answers=words.ngettext("{n} answer", "{n} answers", t.answered),
        passes=words.ngettext("{n} pass", "{n} passes", t.passed),
    )
    prompt = question_in(scope.bot.config, r.prompt_id, r.prompt, words.lang)
    head = words._("Check-in closed: {prompt}", prompt=prompt) + "\n" + counts
    if not t.answered:
        return head
    names = await names_of(scope, answers)
    said_in = await languages_of(scope, answers) if languages else {}
    lines = [
        f"• {a.text}"
        if a.member_id is None
        else f"• {names.get(a.member_id, '?')}{said_in.get(a.member_id, '')}: {a.text}"
        for a in answers
        if not a.passed
    ]
    whole = head + "\n\n" + "\n".join(lines)
    limits = [scope.max_text(p.platform) for p in await places_of(scope, r)]
    limit = min((n for n in limits if n), default=None)  # the same text goes to every place
    parts = len(split_text((whole,), limit)) if limit else 1
    if parts <= FLOOD_PARTS:
        return whole
    link = await export.make_link(scope, r.id or 0, "md", lifetime=SUMMARY_LINK_LIFETIME)
    days = SUMMARY_LINK_LIFETIME.days
    in_file = words._(
        "The answers would take {parts} messages here, so they are in a file instead: {link} "
        "The link works for {days} days. To get a new one, say {export}.",
        parts=parts,
        link=link,
        days=days,
        export=scope.command(f"checkin export md {r.id}", r.platform),
    )
    return f"{head}\n\n{in_file}"
