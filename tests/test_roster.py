"""Who belongs to the community: on a platform that reports membership, only those in its
spaces, following joins, leaves and kicks; anyone else writing privately is refused."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import select

from adapters.contract import (
    Actor,
    Capability,
    EventId,
    MemberJoined,
    MemberLeft,
    PlatformName,
    UserId,
)
from adapters.fake import ALL_CAPABILITIES
from bot.core import NOT_A_MEMBER
from bot.models import Member
from bot.testing import Harness


def membership(
    h: Harness, kind: type[MemberJoined | MemberLeft], user: str
) -> MemberJoined | MemberLeft:
    return kind(
        event_id=EventId(uuid.uuid4().hex),
        actor=Actor(PlatformName("fake"), UserId(user), user.capitalize()),
        place=h.place(),
    )


async def names(h: Harness) -> set[str]:
    async with h.bot.db.reader() as s:
        return {m.display_name for m in (await s.exec(select(Member))).all()}


async def test_only_people_in_the_communitys_spaces_are_members(database_url: str) -> None:
    async with Harness.open(database_url) as h:
        await h.feed(membership(h, MemberJoined, "bob"))  # in the room, never spoke
        await h.feed(membership(h, MemberJoined, "carol"))
        await h.say("dan", "help")  # spoke in the room
        await h.feed(h.message("eve", "hi bot", space="dm-eve", direct=True))  # a stranger
        assert h.adapter.texts(h.place("dm-eve", direct=True)) == [NOT_A_MEMBER]
        assert "Eve" not in await names(h)

        await h.feed(membership(h, MemberLeft, "carol"))  # left (or was kicked)
        await h.feed(h.message("carol", "still me", space="dm-carol", direct=True))
        assert h.adapter.texts(h.place("dm-carol", direct=True)) == [NOT_A_MEMBER]

        await h.say("ada", 'checkin open "How are you?" --dm')
        asked = {r.to.user_id for r in h.adapter.records if r.text.startswith("Check-in from")}
        assert asked == {"ada", "bob", "dan"}
        await h.say("ada", 'nudge "Meetup tonight" --at in 1m --to members')
        await h.advance(timedelta(minutes=2))
        nudged = {r.to.user_id for r in h.adapter.records if r.text == "Meetup tonight"}
        assert nudged == {"ada", "bob", "dan"}

        await h.feed(membership(h, MemberJoined, "carol"))  # back again
        await h.say("ada", 'nudge "Welcome back" --at in 1m --to members')
        await h.advance(timedelta(minutes=2))
        assert "carol" in {r.to.user_id for r in h.adapter.records if r.text == "Welcome back"}


async def test_without_membership_reports_everyone_who_writes_is_a_member(
    sqlite_url: str,
) -> None:
    """The web chat, say: it has its own sign-in, so whoever uses it is a member."""
    caps = ALL_CAPABILITIES - {Capability.MEMBERSHIP}
    async with Harness.open(sqlite_url, capabilities=caps) as h:
        await h.feed(h.message("eve", "/help", space="dm-eve", direct=True))
        assert "Eve" in await names(h)
        assert NOT_A_MEMBER not in h.adapter.texts(h.place("dm-eve", direct=True))
