"""A library prompt in each reader's language, and a summary that names each answer's
language only when the organiser asks."""

from __future__ import annotations

import dataclasses

from bot.testing import Harness
from tests.test_checkins import answer_by_button, summaries

ARRIVING_EN = "How are you arriving today? A word or a sentence is plenty."
ARRIVING_ES = "¿Cómo llegas hoy? Con una palabra o una frase basta."
ARRIVING_SW = "Unajisikiaje unapofika leo? Neno moja au sentensi moja inatosha."


async def say_in(h: Harness, user: str, locale: str, text: str, **where: object) -> None:
    """`text` from a member whose platform says they read `locale`."""
    event = h.command(user, text, **where)
    await h.feed(dataclasses.replace(event, actor=dataclasses.replace(event.actor, locale=locale)))


async def test_a_dm_round_asks_each_member_in_their_language(harness: Harness) -> None:
    h = harness
    await say_in(h, "ana", "es-MX", "help")
    await say_in(h, "amani", "sw", "help")
    await h.say("bob", "help")
    await h.say("ada", "checkin open care-arriving --dm")
    assert any(ARRIVING_ES in t for t in h.adapter.direct_texts("ana"))
    assert any(ARRIVING_SW in t for t in h.adapter.direct_texts("amani"))
    assert any(ARRIVING_EN in t for t in h.adapter.direct_texts("bob"))
    assert not any(ARRIVING_EN in t for t in h.adapter.direct_texts("ana"))


async def test_a_space_post_uses_the_spaces_language(database_url: str) -> None:
    config = {"community": {"name": "C", "timezone": "UTC", "organisers": ["fake:ada"],
                            "languages": {"fake:plaza": "es"}}}  # fmt: skip
    async with Harness.open(database_url, config=config) as h:
        await h.say("ada", "checkin open care-arriving", space="plaza")
        await h.say("ada", "checkin open care-arriving")
        [plaza] = [t for t in h.adapter.texts(h.place("plaza")) if ARRIVING_ES in t]
        assert ARRIVING_EN not in plaza
        assert any(ARRIVING_EN in t for t in h.adapter.texts(h.place()))


async def test_a_typed_question_is_shown_as_typed(harness: Harness) -> None:
    h = harness
    await say_in(h, "ana", "es", "help")
    await h.say("ada", 'checkin open "Tea or coffee?" --dm')
    assert any("Tea or coffee?" in t for t in h.adapter.direct_texts("ana"))


async def test_the_summary_names_languages_only_when_asked(harness: Harness) -> None:
    h = harness
    await h.say("ada", "checkin open care-arriving")
    await say_in(h, "ana", "es", "checkin Tranquila")
    await h.say("bob", "checkin Calm")
    await h.say("ada", "checkin close")
    await h.say("ada", "checkin open care-pace")
    await say_in(h, "ana", "es", "checkin Poco a poco")
    await say_in(h, "amani", "sw", "checkin Polepole")
    await h.say("ada", "checkin close --languages")
    plain, labelled = summaries(h)
    assert "• Ana: Tranquila" in plain and "• Bob: Calm" in plain
    assert "Español" not in plain
    assert "• Ana (Español): Poco a poco" in labelled
    assert "• Amani (Kiswahili): Polepole" in labelled


async def test_an_anonymous_summary_never_names_languages(harness: Harness) -> None:
    h = harness
    await h.say("ada", "checkin open care-arriving --anonymous")
    await say_in(h, "amani", "sw", "help")
    await answer_by_button(h, "amani", "Polepole", prompt=ARRIVING_EN)
    await h.say("ada", "checkin close --languages")
    [summary] = summaries(h)
    assert "Polepole" in summary and "Kiswahili" not in summary
