"""An event's start typed in the organiser's language: the same moment in every language,
echoed back in the organiser's words."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
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


async def test_a_reminder_goes_to_each_member_in_their_language(database_url: str) -> None:
    async with Harness.open(database_url, start=START) as h:
        await say_in(h, "ana", "es", "help")
        await say_in(h, "amani", "sw", "help")
        await h.say("bob", "help")
        await h.say(
            "ada", 'event add "Meetup" "tomorrow 18:30" --remind 1h,1d --link https://x.example'
        )
        await h.advance(timedelta(days=1, hours=10))
        [es] = [t for t in h.adapter.direct_texts("ana") if "Meetup" in t and "1 hora" in t]
        [sw] = [t for t in h.adapter.direct_texts("amani") if "Meetup" in t and "saa 1" in t]
        [en] = [t for t in h.adapter.direct_texts("bob") if "Meetup" in t and "1 hour" in t]
    assert es.startswith("Recordatorio: “Meetup” empieza en 1 hora, el mar 3 mar 2026, 18:30")
    assert "Únete en https://x.example" in es
    assert sw.startswith("Kikumbusho: “Meetup” inaanza baada ya saa 1, Jumanne 3 Mac 2026, 18:30")
    assert en.startswith("Reminder: “Meetup” starts in 1 hour, on Tue 3 Mar 2026, 18:30")
    assert "Join at https://x.example" in en


async def test_a_series_lists_its_next_dates_in_the_organisers_language(database_url: str) -> None:
    async with Harness.open(database_url, start=START, organisers=("fake:ana",)) as h:
        [reply] = await say_in(h, "ana", "es", 'event add "Círculo" "martes 18:30" --every weekly')
    assert reply.startswith("Evento 1 agregado.")
    assert "Próximas fechas:\n- mar 3 mar 2026, 18:30 Europe/London\n- mar 10 mar 2026" in reply
