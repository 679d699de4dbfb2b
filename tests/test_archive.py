"""The community's memory: closed rounds and breakouts also go to the configured archive."""

from __future__ import annotations

from adapters.contract import Place, PlatformName, Purpose, SendMessage, SpaceId
from bot.archive import archive, archive_place
from bot.testing import Harness

ARCHIVE = Place(PlatformName("fake"), SpaceId("archive"))


def archived(h: Harness) -> list[SendMessage]:
    return [
        r.action
        for r in h.adapter.records
        if isinstance(r.action, SendMessage) and r.action.to == ARCHIVE
    ]


async def test_a_closed_round_is_archived_once_with_its_purpose(database_url: str) -> None:
    config = {"archive": {"place": "fake:archive"}}
    async with Harness.open(database_url, config=config) as h:
        await h.say("ada", 'checkin open "What did you learn?"')
        await h.say("bob", "checkin Patience")
        await h.say("ada", "checkin close")
        await h.say("ada", "checkin close")
        [sent] = archived(h)
        assert sent.purpose == Purpose("archive", (("ritual", "checkin"),))
        text = "".join(s for s in sent.text if isinstance(s, str))
        assert text.startswith("Check-in closed: What did you learn?")
        assert "Bob: Patience" in text


async def test_without_an_archive_nothing_else_is_sent(harness: Harness) -> None:
    await harness.say("ada", 'checkin open "What did you learn?"')
    await harness.say("ada", "checkin close")
    assert archived(harness) == []


async def test_an_archive_on_a_platform_not_running_is_skipped(database_url: str) -> None:
    config = {"archive": {"place": "discourse:c/7"}}
    async with Harness.open(database_url, config=config) as h, h.bot.transaction() as scope:
        assert archive_place(scope) is None
        assert not await archive(scope, "Check-in closed: x", ritual="checkin", key="k")
