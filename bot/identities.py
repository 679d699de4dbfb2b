"""One member across platforms: `me`, `me link`, `me unlink`, `me reach`, `me lang`.

`me link` on one platform gives a one-time code; `me link <code>` on another joins the two
accounts into one member. Only the code's hash is kept; it works once, for ten minutes, and a
member who tries too many wrong codes is locked out of linking for an hour, so codes cannot be
guessed. Using a code deletes its row, so two platforms using one code at once link once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from bot import i18n
from bot.context import Context
from bot.errors import Cmd, UserInputError, plain_command
from bot.grammar import CommandSpec, Invocation
from bot.i18n import N_
from bot.merge import identities_of, merge_members, split_identity
from bot.models import ROLE_NAMES, LinkCode, LinkGuard, Member, Role
from bot.personal import data_command, forget_command, http_routes
from bot.reach import dm_order
from bot.router import Router
from bot.tokens import token_hash

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: a code is read on one screen and typed on another."""
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=10)
MAX_WRONG_CODES = 10
LOCKOUT = timedelta(hours=1)
LINK_USAGE = N_("me link | me link <code>")
UNLINK_USAGE = N_("me unlink <platform>")
REACH_USAGE = N_("me reach <platform> | me reach auto")
LANG_USAGE = N_("me lang | me lang <code> | me lang auto")


def code_hash(code: str) -> str:
    return token_hash(normalise(code))


def normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


async def me_command(ctx: Context, inv: Invocation) -> None:
    """What the bot keeps as settings for the caller, and every account linked to them."""
    m = ctx.member
    assert m.id is not None
    accounts = ", ".join(f"{i.platform}:{i.external_id}" for i in await identities_of(ctx, m.id))
    quiet = (
        f"{m.quiet_start:%H:%M}-{m.quiet_end:%H:%M}"
        if m.quiet_start and m.quiet_end
        else ctx._("off")
    )
    lines = [
        ctx._("You are {name}, {role}.", name=m.display_name, role=ctx._(ROLE_NAMES[Role(m.role)])),
        ctx._("Your accounts: {accounts}.", accounts=accounts),
        ctx._("Language: {language}.", language=i18n.NAMES[ctx.words.lang]),
        ctx._("Time zone: {zone}. Quiet hours: {quiet}.", zone=ctx.tz.key, quiet=quiet),
        ctx._("Nudges are paused.") if m.paused else ctx._("Nudges are on."),
        ctx._("Direct messages reach you on {platform}.", platform=m.reach)
        if m.reach
        else ctx._("Direct messages reach you where you are asked."),
        ctx._("Link another account with {link}.", link=ctx.cmd("me link")),
    ]
    await ctx.reply("\n".join(lines), private=True)


def _choices() -> str:
    return ", ".join(f"{code} ({i18n.NAMES[code]})" for code in i18n.LANGUAGES)


async def lang_command(ctx: Context, inv: Invocation) -> None:
    """Show or choose the language the bot writes to the caller in; `auto` follows the
    platform's (or the community's) again."""
    if len(inv.args) > 1:
        raise UserInputError(N_("Give one language code."), LANG_USAGE)
    if not inv.args:
        await ctx.reply(
            ctx._(
                "I write to you in {language}. You can choose: {choices}. "
                "To change it, say {example}.",
                language=i18n.NAMES[ctx.words.lang],
                choices=_choices(),
                example=ctx.cmd("me lang es"),
            ),
            private=True,
        )
        return
    typed = inv.args[0]
    if typed.lower() == "auto":
        ctx.member.language = None
    else:
        chosen = i18n.supported(typed)
        if chosen is None:
            raise UserInputError(
                N_("I don't speak `{code}`. You can choose: {choices}."),
                LANG_USAGE,
                code=typed[:20],
                choices=_choices(),
            )
        ctx.member.language = chosen
    ctx.session.add(ctx.member)
    text = ctx._("From now on I write to you in {language}.", language=i18n.NAMES[ctx.words.lang])
    await ctx.reply(text, private=True)


async def link_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) > 1:
        raise UserInputError(N_("Give one code, or none to get a new code."), LINK_USAGE)
    if inv.args:
        await _use_code(ctx, inv.args[0])
    else:
        await _give_code(ctx)


async def _give_code(ctx: Context) -> None:
    member_id = ctx.member.id
    assert member_id is not None
    await ctx.session.exec(delete(LinkCode).where(col(LinkCode.member_id) == member_id))
    code = new_code()
    ctx.session.add(
        LinkCode(code_hash=code_hash(code), member_id=member_id, expires_at=ctx.now + CODE_LIFETIME)
    )
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    await ctx.reply(
        ctx._(
            "Your link code is {code}. On your other platform, say {link} to me within "
            "{minutes} minutes. Then your two accounts become one member. The code works once.",
            code=code,
            link=plain_command(f"me link {code}"),
            minutes=minutes,
        ),
        private=True,
    )


async def _use_code(ctx: Context, typed: str) -> None:
    caller = ctx.member
    assert caller.id is not None
    guard = await ctx.session.get(LinkGuard, caller.id) or LinkGuard(member_id=caller.id)
    if guard.locked_until is not None and guard.locked_until > ctx.now:
        until = guard.locked_until.astimezone(ctx.tz)
        raise UserInputError(
            N_("Too many wrong codes. You can't link accounts until {time} ({zone})."),
            time=f"{until:%H:%M}",
            zone=ctx.tz.key,
        )
    taken = (
        await ctx.session.exec(
            delete(LinkCode)
            .where(
                col(LinkCode.code_hash) == code_hash(typed),
                col(LinkCode.expires_at) > ctx.now,
                col(LinkCode.member_id) != caller.id,
            )
            .returning(col(LinkCode.member_id))
        )
    ).first()
    if taken is None:
        # Replied to, not raised: a raised error would undo the count with the event.
        guard.failures += 1
        if guard.failures >= MAX_WRONG_CODES:
            guard.failures, guard.locked_until = 0, ctx.now + LOCKOUT
        ctx.session.add(guard)
        await ctx.reply(
            ctx._(
                "That code does not work. It may have a typo, be used already, be older than "
                "ten minutes, or be your own. Get a new one with {link} on your other platform.",
                link=plain_command("me link"),
            ),
            private=True,
        )
        return
    if guard.failures:
        guard.failures = 0
        ctx.session.add(guard)
    other = await ctx.session.get(Member, taken[0])
    assert other is not None and other.id is not None
    keep, gone = (other, caller) if other.id < caller.id else (caller, other)
    platforms = sorted(
        {i.platform for m in (keep, gone) for i in await identities_of(ctx, m.id or 0)}
    )
    await ctx.audit(ctx.community, keep, "member.link", member_id=keep.id, merged=gone.id)
    await merge_members(ctx, keep, gone)
    await ctx.reply(
        ctx._(
            "Linked! You are now one member on {platforms}, with the higher of your roles. "
            "Say {me} to see your accounts.",
            platforms=", ".join(platforms),
            me=ctx.cmd("me"),
        ),
        private=True,
    )


async def unlink_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError(N_("Name the platform to unlink."), UNLINK_USAGE)
    platform = inv.args[0].lower()
    member = ctx.member
    assert member.id is not None
    mine = await identities_of(ctx, member.id)
    leaving = [i for i in mine if i.platform == platform]
    if not leaving:
        raise UserInputError(
            N_("You have no account on `{platform}` linked to you."), platform=platform[:32]
        )
    if len(leaving) == len(mine):
        raise UserInputError(N_("That is your only account, so there is nothing to unlink."))
    for identity in leaving:
        alone = await split_identity(ctx, member, identity)
        await ctx.audit(ctx.community, member, "member.unlink", member_id=member.id, split=alone.id)
    await ctx.reply(
        ctx._(
            "Unlinked. Your {platform} account is a member on its own again. What you said "
            "before stays with this account.",
            platform=platform,
        ),
        private=True,
    )


async def reach_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError(N_("Name one platform, or `auto`."), REACH_USAGE)
    platform = inv.args[0].lower()
    member = ctx.member
    assert member.id is not None
    if platform == "auto":
        member.reach = None
        text = ctx._("Direct messages reach you where you are asked, as before.")
    else:
        usable = {i.platform for i in dm_order(ctx, member, await identities_of(ctx, member.id))}
        if platform not in usable:
            raise UserInputError(
                N_(
                    "I can't reach you on `{platform}`. Your platforms with direct messages: "
                    "{usable}. Link another one with {link}."
                ),
                platform=platform[:32],
                usable=", ".join(sorted(usable)) or "-",
                link=Cmd("me link"),
            )
        member.reach = platform
        text = ctx._(
            "Reminders, nudges and questions now reach you on {platform}. If they can't get "
            "through there, I use your other linked platforms.",
            platform=platform,
        )
    ctx.session.add(member)
    await ctx.reply(text, private=True)


router = Router(
    name="identities",
    commands=[
        CommandSpec(("me",), "me", N_("your accounts and settings"), me_command, takes_rest=False),
        CommandSpec(
            ("me", "link"), LINK_USAGE, N_("join your account on another platform"), link_command
        ),
        CommandSpec(
            ("me", "unlink"), UNLINK_USAGE, N_("split off a linked account"), unlink_command
        ),
        CommandSpec(
            ("me", "data"),
            "me data",
            N_("a file of everything I keep about you"),
            data_command,
            takes_rest=False,
        ),
        CommandSpec(
            ("me", "forget"),
            N_("me forget [confirm]"),
            N_("erase everything I keep about you"),
            forget_command,
        ),
        CommandSpec(
            ("me", "reach"),
            REACH_USAGE,
            N_("choose where direct messages reach you"),
            reach_command,
        ),
        CommandSpec(
            ("me", "lang"),
            LANG_USAGE,
            N_("show or choose the language I use with you"),
            lang_command,
        ),
    ],
    http=[http_routes],
)
