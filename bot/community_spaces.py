"""The spaces a ritual spans beyond the one it was started in (`--in`): each named as
`platform:space`, or `community` for the spaces the config lists (`[community] spaces`)."""

from __future__ import annotations

from sqlmodel import col, select

from adapters.contract import Place, PlatformName, SpaceId
from bot.context import Context
from bot.errors import UserInputError
from bot.i18n import N_
from bot.models import Space


async def named_spaces(ctx: Context, typed: str, usage: str) -> tuple[Place, ...]:
    """The spaces of `--in`: each `platform:space` the bot knows in this community, or
    `community` for the spaces the config names (those on a platform not running now are
    left out)."""
    refs = [r.strip() for r in typed.split(",") if r.strip()]
    if refs == ["community"]:
        configured = ctx.bot.config.model.community.spaces
        if not configured:
            raise UserInputError(
                N_(
                    "The settings list no community spaces. An organiser can list them under "
                    "[community] spaces, or you can name the spaces here."
                ),
                usage,
            )
        found = ctx.community_spaces()
    else:
        found = [await _known_space(ctx, ref, usage) for ref in refs]
    found = [f for f in dict.fromkeys(found) if f != ctx.event.place.top()]
    if not found:
        raise UserInputError(N_("Name at least one other space after `--in`."), usage)
    return tuple(found)


async def _known_space(ctx: Context, ref: str, usage: str) -> Place:
    platform, sep, space = ref.partition(":")
    if sep and platform in ctx.bot.adapters:
        row = await ctx.session.exec(
            select(Space.id).where(
                Space.community_id == ctx.community.id,
                Space.platform == platform,
                Space.external_id == space,
                col(Space.direct).is_(False),
            )
        )
        if row.first() is not None:
            return Place(PlatformName(platform), SpaceId(space))
    raise UserInputError(
        N_(
            "I don't know the space `{space}`. Name each space as platform:space, for example "
            "web:main. It must be a space I am in, where someone has talked."
        ),
        usage,
        space=ref[:80],
    )
