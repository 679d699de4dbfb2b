"""The community's memory: a closed ritual's collated summary, posted where it can be found.

With `[archive] place = "<platform>:<space>"` configured, every closed check-in round and
breakout also sends its summary there (on a forum, a new topic in a category). The message
says what it is for (`Purpose("archive")`), so an adapter can file it the way its platform
files things (Discourse tags the topic); the core knows nothing of how.
"""

from __future__ import annotations

from adapters.contract import Place, PlatformName, Purpose, SendMessage, SpaceId
from bot.context import Scope

ARCHIVE = "archive"


def archive_place(scope: Scope) -> Place | None:
    """The configured archive, if its platform is running here."""
    section = scope.bot.config.model.archive
    if section is None:
        return None
    platform, _, space = section.place.partition(":")
    if platform not in scope.bot.adapters:
        return None
    return Place(PlatformName(platform), SpaceId(space))


async def archive(scope: Scope, text: str, *, ritual: str, key: str) -> bool:
    """Queue `text` for the archive (once per `key`); False when no archive is configured."""
    place = archive_place(scope)
    if place is None:
        return False
    purpose = Purpose(ARCHIVE, (("ritual", ritual),))
    action = SendMessage(key=key, to=place, text=(text,), purpose=purpose)
    await scope.perform(action, place.platform)
    return True
