"""A breakout in each reader's language: the call in the space's, the group and question in
each member's."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.testing import Harness

NETWORK_ES = "Imagina esta red dentro de dos años, funcionando muy bien."


async def test_a_late_joiner_gets_the_question_in_their_language(database_url: str) -> None:
    config = {"community": {"name": "C", "timezone": "UTC", "organisers": ["fake:ada"],
                            "languages": {"fake:plaza": "es"}}}  # fmt: skip
    async with Harness.open(database_url, config=config) as h:
        await h.say("ada", "breakout size 2 codesign-network", space="plaza")
        [call] = [t for t in h.adapter.texts(h.place("plaza")) if "breakout" in t.lower()]
        assert call.startswith("¡Empieza un breakout! Para unirte, pulsa Unirme")
        assert "Luego hago grupos de unas 2 personas durante" in call
        for user in ("bea", "cal"):
            await h.feed(h.message(user, "join", space="plaza"))
        await h.advance(timedelta(seconds=60))
        event = h.command("ana", "join", space="plaza")
        actor = dataclasses.replace(event.actor, locale="es-MX")
        before = len(h.adapter.records)
        await h.feed(dataclasses.replace(event, actor=actor))
        replies = [r.text for r in h.adapter.records[before:] if r.text]
    [joined] = [t for t in replies if t.startswith("Estás en el grupo")]
    assert f"La pregunta: {NETWORK_ES}" in joined
