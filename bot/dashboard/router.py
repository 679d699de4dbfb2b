"""`me dashboard`: an organiser asks for a sign-in link and gets it by direct message."""

from __future__ import annotations

from adapters.contract import Direct, Secret
from bot.context import Context
from bot.dashboard import pages
from bot.dashboard.auth import issue_link
from bot.errors import UserInputError
from bot.grammar import CommandSpec, Invocation
from bot.models import Role
from bot.router import Router
from bot.tokens import token_hash

STORED = "(a one-time sign-in link, shown while it works; it is not kept)"
"""What the web chat's store and the outbox hold in the link's place (`Secret`)."""


async def me_dashboard(ctx: Context, inv: Invocation) -> None:
    if not ctx.bot.web_url:
        raise UserInputError(
            ctx._("The dashboard needs the bot's web server, which is not running.")
        )
    private = ctx.private_place()
    if not (isinstance(private, Direct) or private.direct):
        raise UserInputError(
            ctx._(
                "I send dashboard links only in a direct message, and {platform} has none here. "
                "Ask me on a platform where we can talk in private.",
                platform=ctx.platform,
            )
        )
    assert ctx.member.id is not None
    token = await issue_link(ctx.session, ctx.member.id, ctx.now)
    link = f"{ctx.bot.web_url.rstrip('/')}/dashboard/login?token={token}"
    key = f"dashboard:{token_hash(token)[:32]}"
    await ctx.send(
        private,
        ctx._("Your dashboard link, for you only:") + " ",
        Secret(link, STORED),
        "\n" + ctx._("It works once, in the next 15 minutes. Don't share it."),
        key=key,
    )


router = Router(
    name="dashboard",
    commands=[
        CommandSpec(
            ("me", "dashboard"),
            "me dashboard",
            "get a one-time link to the organiser dashboard",
            me_dashboard,
            role=Role.ORGANISER,
            takes_rest=False,
        )
    ],
    http=[pages.routes],
)
