"""Commands about people: `help`, `role`, and a member's own settings (`me ...`)."""

from __future__ import annotations

from sqlmodel import col, func, or_, select

from bot.context import Context, Scope
from bot.errors import UserInputError
from bot.grammar import CommandSpec, Invocation
from bot.models import Community, Identity, Member, Role
from bot.router import Router
from bot.when import parse_quiet_hours, zone


async def help_command(ctx: Context, inv: Invocation) -> None:
    specs = [s for s in ctx.bot.commands.specs() if s.role <= ctx.role]
    topic = inv.args[0].lower() if inv.args else None
    if topic:
        specs = [s for s in specs if s.path[0] == topic]
        if not specs:
            raise UserInputError(
                f"There is no `{topic[:40]}` command you can run.", "help [<command>]"
            )
        lines = [f"{s.usage}\n    {s.summary}" for s in specs]
    else:
        lines = [f"{s.usage}  — {s.summary}" for s in specs]
    await ctx.reply(f"What you can do (as {ctx.role.article}):\n" + "\n".join(lines), private=True)


async def find_member(ctx: Context, who: str) -> Member:
    """A member named as `platform:id`, or by id or display name on the caller's platform."""
    who = who.strip().lstrip("@")
    platform, sep, user = who.partition(":")
    if sep and (platform in ctx.bot.adapters or platform == ctx.platform):
        where = [col(Identity.platform) == platform, col(Identity.external_id) == user]
    else:
        where = [
            col(Identity.platform) == ctx.platform,
            or_(col(Identity.external_id) == who, func.lower(Identity.display_name) == who.lower()),
        ]
    found = (await ctx.session.exec(select(Identity).where(*where))).all()
    if not found:
        raise UserInputError(
            f"I don't know anyone called `{who[:60]}` yet. They need to say something to me "
            "first, or name them as platform:id (e.g. web:bob)."
        )
    if len({i.member_id for i in found}) > 1:
        raise UserInputError(f"More than one person is called `{who[:60]}`; use platform:id.")
    member = await ctx.session.get(Member, found[0].member_id)
    assert member is not None
    return member


async def role_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 2:
        raise UserInputError("Name a role and a person.", inv.spec.usage)
    try:
        role = Role.parse(inv.args[0])
    except KeyError:
        raise UserInputError(
            f"`{inv.args[0][:30]}` is not a role; roles are member, catalyst and organiser.",
            inv.spec.usage,
        ) from None
    target = await find_member(ctx, inv.args[1])
    before = await change_role(ctx, ctx.community, ctx.member, target, role)
    await ctx.reply(f"{target.display_name} is now {role.article} (was {before.label}).")


async def only_organiser(scope: Scope, community: Community, member: Member) -> bool:
    """Whether `member` is the community's one organiser (who must not leave it without)."""
    if member.role < Role.ORGANISER:
        return False
    count = (
        await scope.session.exec(
            select(func.count())
            .select_from(Member)
            .where(Member.community_id == community.id, Member.role == Role.ORGANISER)
        )
    ).one()
    return bool(count <= 1)


async def change_role(
    scope: Scope, community: Community, actor: Member, target: Member, role: Role, **detail: str
) -> Role:
    """Give `target` a role, audited; the last organiser cannot step down. Returns the old role.

    The `role` command and the dashboard's form both go through here, so the rules are one.
    """
    if (
        target.id == actor.id
        and role < Role.ORGANISER
        and await only_organiser(scope, community, actor)
    ):
        raise UserInputError("You are the only organiser; make someone else one first.")
    before = Role(target.role)
    target.role = role
    scope.session.add(target)
    await scope.audit(
        community,
        actor,
        "role.change",
        member_id=target.id,
        before=before.label,
        after=role.label,
        **detail,
    )
    return before


async def me_tz(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError("Name one time zone.", inv.spec.usage)
    tz = zone(inv.args[0])
    ctx.member.timezone = tz.key
    ctx.session.add(ctx.member)
    local = ctx.now.astimezone(tz)
    await ctx.reply(f"Your time zone is now {tz.key} (it is {local:%H:%M} there).", private=True)


async def me_quiet(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError("Give your quiet hours as one range.", inv.spec.usage)
    if inv.args[0].lower() == "off":
        ctx.member.quiet_start = ctx.member.quiet_end = None
        text = "Quiet hours are off: nudges can reach you at any time."
    else:
        start, end = parse_quiet_hours(inv.args[0])
        ctx.member.quiet_start, ctx.member.quiet_end = start, end
        text = (
            f"Quiet hours set: no nudges between {start:%H:%M} and {end:%H:%M} your time "
            f"({ctx.tz.key}); anything due then waits until they end."
        )
    ctx.session.add(ctx.member)
    await ctx.reply(text, private=True)


async def me_pause(ctx: Context, inv: Invocation) -> None:
    ctx.member.paused = True
    ctx.session.add(ctx.member)
    resume = ctx.command("me resume", ctx.platform)
    await ctx.reply(f"Paused: I won't nudge you until you say {resume}.", private=True)


async def me_resume(ctx: Context, inv: Invocation) -> None:
    ctx.member.paused = False
    ctx.session.add(ctx.member)
    await ctx.reply("Welcome back: nudges are on again.", private=True)


router = Router(
    name="members",
    commands=[
        CommandSpec(("help",), "help [<command>]", "list what you can do", help_command),
        CommandSpec(
            ("role",),
            "role <catalyst|organiser|member> <user>",
            "give someone a role",
            role_command,
            role=Role.ORGANISER,
        ),
        CommandSpec(("me", "tz"), "me tz <zone>", "set your time zone (e.g. Europe/London)", me_tz),
        CommandSpec(
            ("me", "quiet"),
            "me quiet <hh:mm>-<hh:mm> | me quiet off",
            "set hours when no nudges reach you",
            me_quiet,
        ),
        CommandSpec(
            ("me", "pause"), "me pause", "stop all nudges to you", me_pause, takes_rest=False
        ),
        CommandSpec(
            ("me", "resume"), "me resume", "start nudges again", me_resume, takes_rest=False
        ),
    ],
)
