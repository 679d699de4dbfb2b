"""One member across platforms: `me`, `me link`, `me unlink`, `me reach`.

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

from bot.context import Context
from bot.errors import UserInputError
from bot.grammar import CommandSpec, Invocation
from bot.merge import identities_of, merge_members, split_identity
from bot.models import LinkCode, LinkGuard, Member, Role
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
LINK_USAGE = "me link | me link <code>"


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
    quiet = f"{m.quiet_start:%H:%M}-{m.quiet_end:%H:%M}" if m.quiet_start and m.quiet_end else "off"
    lines = [
        f"You are {m.display_name}, {Role(m.role).article}.",
        f"Your accounts: {accounts}.",
        f"Time zone: {ctx.tz.key}. Quiet hours: {quiet}. Nudges: "
        f"{'paused' if m.paused else 'on'}. Direct messages reach you on "
        f"{m.reach or 'the platform where you are asked'}.",
        f"Link another account with {ctx.command('me link', ctx.platform)}.",
    ]
    await ctx.reply("\n".join(lines), private=True)


async def link_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) > 1:
        raise UserInputError("Give one code, or none to get a code.", LINK_USAGE)
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
        f"Your link code is {code}. On your other platform, say `me link {code}` to me within "
        f"{minutes} minutes: the two accounts then become one member. The code works once.",
        private=True,
    )


async def _use_code(ctx: Context, typed: str) -> None:
    caller = ctx.member
    assert caller.id is not None
    guard = await ctx.session.get(LinkGuard, caller.id) or LinkGuard(member_id=caller.id)
    if guard.locked_until is not None and guard.locked_until > ctx.now:
        until = guard.locked_until.astimezone(ctx.tz)
        raise UserInputError(
            f"Too many wrong codes: linking is locked for you until {until:%H:%M} ({ctx.tz.key})."
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
            "That code is not valid: it may be mistyped, used already, older than ten minutes, "
            "or your own. Ask for a new one with `me link` on your other platform.",
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
        f"Linked: you are one member on {', '.join(platforms)} now, with the higher of your "
        f"roles. Say {ctx.command('me', ctx.platform)} to see your accounts.",
        private=True,
    )


async def unlink_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError("Name the platform to unlink.", "me unlink <platform>")
    platform = inv.args[0].lower()
    member = ctx.member
    assert member.id is not None
    mine = await identities_of(ctx, member.id)
    leaving = [i for i in mine if i.platform == platform]
    if not leaving:
        raise UserInputError(f"You have no account on `{platform[:32]}` linked to you.")
    if len(leaving) == len(mine):
        raise UserInputError("That is your only account; there is nothing to unlink it from.")
    for identity in leaving:
        alone = await split_identity(ctx, member, identity)
        await ctx.audit(ctx.community, member, "member.unlink", member_id=member.id, split=alone.id)
    await ctx.reply(
        f"Unlinked: your {platform} account is a member of its own again. What you said "
        "before stays with this account.",
        private=True,
    )


async def reach_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError("Name one platform, or `auto`.", "me reach <platform> | me reach auto")
    platform = inv.args[0].lower()
    member = ctx.member
    assert member.id is not None
    if platform == "auto":
        member.reach = None
        text = "Direct messages reach you where you are asked, as before."
    else:
        usable = {i.platform for i in dm_order(ctx, member, await identities_of(ctx, member.id))}
        if platform not in usable:
            have = ", ".join(sorted(usable)) or "none"
            raise UserInputError(
                f"I can't reach you on `{platform[:32]}`. Platforms of yours with direct "
                f"messages: {have}. Link another with `me link`."
            )
        member.reach = platform
        text = (
            f"Reminders, nudges and questions now reach you on {platform}. If it refuses them, "
            "your other linked platforms are used."
        )
    ctx.session.add(member)
    await ctx.reply(text, private=True)


router = Router(
    name="identities",
    commands=[
        CommandSpec(("me",), "me", "your accounts and settings", me_command, takes_rest=False),
        CommandSpec(
            ("me", "link"), LINK_USAGE, "join your account on another platform", link_command
        ),
        CommandSpec(
            ("me", "unlink"), "me unlink <platform>", "split off a linked account", unlink_command
        ),
        CommandSpec(
            ("me", "data"),
            "me data",
            "a file of everything I keep about you",
            data_command,
            takes_rest=False,
        ),
        CommandSpec(
            ("me", "forget"),
            "me forget [confirm]",
            "erase everything I keep about you",
            forget_command,
        ),
        CommandSpec(
            ("me", "reach"),
            "me reach <platform> | me reach auto",
            "choose where direct messages reach you",
            reach_command,
        ),
    ],
    http=[http_routes],
)
