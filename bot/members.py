"""Commands about people: `help`, `role`, and a member's own settings (`me ...`)."""

from __future__ import annotations

from sqlmodel import col, func, or_, select

from bot.context import Context, Scope
from bot.dashboard.auth import close_sessions_of
from bot.errors import Cmd, UserInputError
from bot.grammar import CommandSpec, Invocation
from bot.i18n import N_, usage_line
from bot.models import ROLE_NAMES, Community, Identity, Member, Role
from bot.router import Router
from bot.when import parse_quiet_hours, zone

HELP_USAGE = N_("help [<command>]")


async def help_command(ctx: Context, inv: Invocation) -> None:
    specs = [s for s in ctx.bot.commands.specs() if s.role <= ctx.role]
    topic = inv.args[0].lower() if inv.args else None
    if topic:
        specs = [s for s in specs if s.path[0] == topic]
        if not specs:
            raise UserInputError(
                N_("You can't run a command called {command}."), HELP_USAGE, command=Cmd(topic[:40])
            )
    lines = [f"{usage_line(s.usage, ctx.words, ctx.cmd)} — {ctx._(s.summary)}" for s in specs]
    head = ctx._("What you can do as {role}:", role=ctx._(ROLE_NAMES[ctx.role]))
    await ctx.reply(head + "\n" + "\n".join(lines), private=True)


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
            N_(
                "I don't know anyone called `{who}` yet. They need to say something to me first. "
                "Or name them as platform:id, for example web:bob."
            ),
            who=who[:60],
        )
    if len({i.member_id for i in found}) > 1:
        raise UserInputError(
            N_("More than one person is called `{who}`. Name them as platform:id."), who=who[:60]
        )
    member = await ctx.session.get(Member, found[0].member_id)
    assert member is not None
    return member


async def role_command(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 2:
        raise UserInputError(N_("Name a role and a person."), inv.spec.usage)
    try:
        role = Role.parse(inv.args[0])
    except KeyError:
        raise UserInputError(
            N_("`{typed}` is not a role. The roles are member, catalyst and organiser."),
            inv.spec.usage,
            typed=inv.args[0][:30],
        ) from None
    target = await find_member(ctx, inv.args[1])
    before = await change_role(ctx, ctx.community, ctx.member, target, role)
    await ctx.reply(
        ctx._(
            "{name} is now {role}. Before, they were {before}.",
            name=target.display_name,
            role=ctx._(ROLE_NAMES[role]),
            before=ctx._(ROLE_NAMES[before]),
        )
    )


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
        raise UserInputError(
            N_("You are the only organiser. Make someone else an organiser first.")
        )
    before = Role(target.role)
    target.role = role
    scope.session.add(target)
    if before >= Role.ORGANISER > role:
        assert target.id is not None
        await close_sessions_of(scope.session, target.id)
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
        raise UserInputError(N_("Name one time zone."), inv.spec.usage)
    tz = zone(inv.args[0])
    ctx.member.timezone = tz.key
    ctx.session.add(ctx.member)
    local = ctx.now.astimezone(tz)
    await ctx.reply(
        ctx._(
            "Your time zone is now {zone}. It is {time} there.", zone=tz.key, time=f"{local:%H:%M}"
        ),
        private=True,
    )


async def me_quiet(ctx: Context, inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise UserInputError(N_("Give your quiet hours as one range."), inv.spec.usage)
    if inv.args[0].lower() == "off":
        ctx.member.quiet_start = ctx.member.quiet_end = None
        text = ctx._("Quiet hours are off. Nudges can reach you at any time.")
    else:
        start, end = parse_quiet_hours(inv.args[0])
        ctx.member.quiet_start, ctx.member.quiet_end = start, end
        text = ctx._(
            "Quiet hours set: no nudges from {start} to {end}, your time ({zone}). "
            "Anything due then waits until they end.",
            start=f"{start:%H:%M}",
            end=f"{end:%H:%M}",
            zone=ctx.tz.key,
        )
    ctx.session.add(ctx.member)
    await ctx.reply(text, private=True)


async def me_pause(ctx: Context, inv: Invocation) -> None:
    ctx.member.paused = True
    ctx.session.add(ctx.member)
    await ctx.reply(
        ctx._("Paused. I won't nudge you until you say {resume}.", resume=ctx.cmd("me resume")),
        private=True,
    )


async def me_resume(ctx: Context, inv: Invocation) -> None:
    ctx.member.paused = False
    ctx.session.add(ctx.member)
    await ctx.reply(ctx._("Welcome back! Nudges are on again."), private=True)


router = Router(
    name="members",
    commands=[
        CommandSpec(("help",), HELP_USAGE, N_("list what you can do"), help_command),
        CommandSpec(
            ("role",),
            N_("role <catalyst|organiser|member> <user>"),
            N_("give someone a role"),
            role_command,
            role=Role.ORGANISER,
        ),
        CommandSpec(
            ("me", "tz"),
            N_("me tz <zone>"),
            N_("set your time zone (for example Europe/London)"),
            me_tz,
        ),
        CommandSpec(
            ("me", "quiet"),
            N_("me quiet <hh:mm>-<hh:mm> | me quiet off"),
            N_("set hours when no nudges reach you"),
            me_quiet,
        ),
        CommandSpec(
            ("me", "pause"), "me pause", N_("stop all nudges to you"), me_pause, takes_rest=False
        ),
        CommandSpec(
            ("me", "resume"), "me resume", N_("start nudges again"), me_resume, takes_rest=False
        ),
    ],
)
