"""`me dashboard`: an organiser asks for a sign-in link and gets it by direct message."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update
from sqlmodel import col, select

from adapters.codec import decode_action, encode_action
from adapters.contract import ActionResult, Direct, SendMessage
from bot.context import Context, Scope
from bot.dashboard import pages
from bot.dashboard.auth import issue_link, token_hash
from bot.errors import UserInputError
from bot.grammar import CommandSpec, Invocation
from bot.models import OutboxRow, Role
from bot.router import Router

DELIVERED = "(a dashboard sign-in link was here; it is not kept once delivered)"


async def me_dashboard(ctx: Context, inv: Invocation) -> None:
    if not ctx.bot.web_url:
        raise UserInputError("The dashboard needs the bot's web server, which is not running.")
    private = ctx.private_place()
    if not (isinstance(private, Direct) or private.direct):
        raise UserInputError(
            f"I send dashboard links only by direct message, which {ctx.platform} doesn't offer "
            "here; ask me from a platform where we can talk privately."
        )
    assert ctx.member.id is not None
    token = await issue_link(ctx.session, ctx.member.id, ctx.now)
    link = f"{ctx.bot.web_url.rstrip('/')}/dashboard/login?token={token}"
    key = f"dashboard:{token_hash(token)[:32]}"
    await ctx.send(
        private,
        f"Your dashboard link, for you only: {link}\n"
        "It works once, within the next 15 minutes. Don't forward it.",
        key=key,
        on_result=f"dashboard-link:{key}",
    )


async def forget_link(scope: Scope, key: str, result: ActionResult) -> None:
    """Once the platform has the link, the outbox keeps only a note that it was sent."""
    stored = (await scope.session.exec(select(OutboxRow.action).where(OutboxRow.key == key))).one()
    action = decode_action(dict(stored))
    if isinstance(action, SendMessage):
        redacted = encode_action(replace(action, text=(DELIVERED,)))
        await scope.session.exec(
            update(OutboxRow).where(col(OutboxRow.key) == key).values(action=redacted)
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
    results={"dashboard-link": forget_link},
    http=[pages.routes],
)
