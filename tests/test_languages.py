"""Each member reads the bot in their own language: `me lang`, DMs, space posts, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.contract import SendMessage
from bot.testing import Harness

PROMPT = "What made you smile this week?"


async def test_me_lang_alone_shows_the_language_and_the_choices(harness: Harness) -> None:
    [shown] = await harness.say("bob", "me lang")
    assert "I write to you in English." in shown
    assert "es (Español)" in shown and "sw (Kiswahili)" in shown
    assert "`!me lang es`" in shown, "the example names the command as typed here"


async def test_an_unknown_language_is_refused_with_the_choices(harness: Harness) -> None:
    [refused] = await harness.say("bob", "me lang klingon")
    assert "I don't speak `klingon`" in refused and "sw (Kiswahili)" in refused
    assert "Usage: `!me lang` | `!me lang <code>` | `!me lang auto`" in refused


async def test_a_chosen_language_answers_help_and_errors_and_auto_undoes_it(
    harness: Harness,
) -> None:
    h = harness
    [chosen] = await h.say("bob", "me lang sw")
    assert chosen == "Kuanzia sasa nitakuandikia kwa Kiswahili."
    [unknown] = await h.say("bob", "dance")
    assert unknown == "Sijui amri `!dance`. Sema `!help` ili kuona unachoweza kufanya."
    [help_text] = await h.say("bob", "help me")
    assert help_text.startswith("Unachoweza kufanya kama mwanachama:")
    assert "`!me lang` | `!me lang <msimbo>` | `!me lang auto` — ona au chagua lugha" in help_text
    [me] = await h.say("bob", "me")
    assert "Lugha: Kiswahili." in me
    [back] = await h.say("bob", "me lang auto")
    assert back == "From now on I write to you in English."


async def test_a_platforms_locale_is_used_until_the_member_chooses(harness: Harness) -> None:
    h = harness
    event = h.command("bob", "me lang")
    await h.feed(replace(event, actor=replace(event.actor, locale="es-MX")))
    assert h.adapter.direct_texts("bob")[-1].startswith("Te escribo en Español.")
    await h.say("bob", "me lang en")
    assert h.adapter.direct_texts("bob")[-1] == "From now on I write to you in English."


async def test_a_round_asks_reminds_and_sums_up_each_member_in_their_language(
    harness: Harness,
) -> None:
    """Done when: a member who says `me lang es` gets a check-in, its reminder and its
    summary in Spanish, while another gets them in English."""
    h = harness
    await h.say("bob", "me lang es")
    await h.say("carol", "me")
    await h.say("ada", f'checkin open "{PROMPT}" --dm --until in 2h --remind in 1h')
    [asked_bob] = h.adapter.direct_texts("bob")[-1:]
    [asked_carol] = h.adapter.direct_texts("carol")[-1:]
    assert asked_bob == (f"Check-in de Test community: {PROMPT}\nRespóndeme aquí (o di `pass`).")
    assert asked_carol == f"Check-in from Test community: {PROMPT}\nAnswer me here (or say `pass`)."
    [sent] = [r.action for r in h.adapter.records if r.text == asked_bob]
    assert isinstance(sent, SendMessage)
    assert [b.label for b in sent.buttons] == ["Responder", "Pasar"]

    await h.advance(timedelta(hours=1))
    assert h.adapter.direct_texts("bob")[-1].startswith(
        f"Un recordatorio: el check-in “{PROMPT}” sigue abierto. "
        "Se cierra el lun 02 mar 11:00 (Europe/London).\n"
    )
    assert h.adapter.direct_texts("carol")[-1].startswith(
        f"A reminder: the check-in “{PROMPT}” is still open. "
        "It closes Mon 02 Mar 11:00 (Europe/London).\n"
    )

    bob_dm = h.place("dm-bob", direct=True)
    await h.feed(h.message("bob", "Una buena charla", space=bob_dm.space, direct=True))
    assert h.adapter.texts(bob_dm)[-1].startswith("Gracias, tu respuesta está guardada.")
    carol_dm = h.place("dm-carol", direct=True)
    await h.feed(h.message("carol", "pass", space=carol_dm.space, direct=True))
    assert h.adapter.texts(carol_dm)[-1].startswith("Pass noted, thank you.")

    await h.advance(timedelta(hours=1))
    spanish = f"Check-in cerrado: {PROMPT}\n1 respuesta, 1 pase.\n\n• Bob: Una buena charla"
    english = f"Check-in closed: {PROMPT}\n1 answer, 1 pass.\n\n• Bob: Una buena charla"
    assert h.adapter.direct_texts("bob")[-1] == spanish
    assert h.adapter.direct_texts("carol")[-1] == english
    assert h.adapter.texts(h.place())[-1] == english, "the space reads the community's language"


@pytest.fixture
async def spanish_space(sqlite_url: str) -> AsyncIterator[Harness]:
    community = {
        "name": "Test community",
        "timezone": "Europe/London",
        "organisers": ["fake:ada"],
        "languages": {"fake:es": "es"},
    }
    async with Harness.open(sqlite_url, config={"community": community}) as h:
        yield h


async def test_a_post_to_a_whole_space_is_in_the_spaces_language(spanish_space: Harness) -> None:
    h = spanish_space
    await h.say("ada", f'checkin open "{PROMPT}"', space="es")
    await h.say("ada", f'checkin open "{PROMPT}"', space="main")
    [post_es] = [t for t in h.adapter.texts(h.place("es")) if t.startswith("Check-in:")]
    [post_en] = [t for t in h.adapter.texts(h.place("main")) if t.startswith("Check-in:")]
    assert "Responde en este hilo, o di `!checkin <tu respuesta>` (o `!checkin pass`)." in post_es
    assert "Reply in this thread, or say `!checkin <your answer>` (or `!checkin pass`)." in post_en
    await h.say("bob", "checkin Hola", space="es")
    await h.say("ada", "checkin close", space="es")
    assert h.adapter.texts(h.place("es"))[-1].startswith(f"Check-in cerrado: {PROMPT}\n1 respuesta")
