"""An event's start typed in the organiser's language: the same moment in every language,
echoed back in the organiser's words."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.events.models import Event
from bot.testing import Harness

LONDON = ZoneInfo("Europe/London")
# Monday 2 March 2026, 09:00 UTC: next Tuesday is 3 March.
START = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)


async def say_in(h: Harness, user: str, locale: str, text: str) -> list[str]:
    """`text` from a member whose platform says they read `locale`."""
    event = h.command(user, text)
    event = dataclasses.replace(event, actor=dataclasses.replace(event.actor, locale=locale))
    before = len(h.adapter.records)
    await h.feed(event)
    return [r.text for r in h.adapter.records[before:] if r.text]


async def test_next_tuesday_and_martes_are_the_same_moment(database_url: str) -> None:
    async with Harness.open(
        database_url, start=START, organisers=("fake:ada", "fake:ana", "fake:amani")
    ) as h:
        [english] = await h.say("ada", 'event add "Meetup" "next tuesday 18:30"')
        [spanish] = await say_in(h, "ana", "es-MX", 'event add "Meetup" "martes 18:30"')
        [spoken] = await say_in(
            h, "ana", "es-MX", 'event add "Meetup" "el próximo martes a las 6:30 de la tarde"'
        )
        [swahili] = await say_in(
            h, "amani", "sw-KE", 'event add "Meetup" "jumanne saa kumi na mbili na nusu jioni"'
        )
        async with h.bot.db.reader() as s:
            starts = [e.starts_at for e in (await s.exec(select(Event).order_by(Event.id))).all()]
    assert len(starts) == 4
    assert {s.replace(tzinfo=None) for s in starts} == {datetime(2026, 3, 3, 18, 30)}
    assert "Tue 3 Mar 2026, 18:30 Europe/London" in english
    assert "mar 3 mar 2026, 18:30 Europe/London" in spanish
    assert "mar 3 mar 2026, 18:30 Europe/London" in spoken
    assert "Jumanne 3 Mac 2026, 18:30 Europe/London" in swahili


async def test_a_time_not_understood_is_refused_and_nothing_added(database_url: str) -> None:
    async with Harness.open(database_url, start=START, organisers=("fake:ana",)) as h:
        [reply] = await say_in(h, "ana", "es", 'event add "Meetup" "martes pronto"')
        async with h.bot.db.reader() as s:
            assert not (await s.exec(select(Event))).all()
    assert '"martes pronto"' in reply
