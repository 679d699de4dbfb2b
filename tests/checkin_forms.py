"""Answering a round the way a platform with forms lets people: its post's Answer button."""

from __future__ import annotations

from dataclasses import replace

from adapters.contract import ButtonPressed, Sent
from bot.testing import Harness


def latest_post(h: Harness) -> Sent:
    """The platform's answer to the latest round post (its thread is where replies go)."""
    found = [r for r in h.adapter.records if r.text.startswith("Check-in: ")]
    assert found, "no round was posted"
    result = found[-1].result
    assert isinstance(result, Sent)
    return result


def by_form(h: Harness, user: str, text: str, round_id: int = 1) -> ButtonPressed:
    """The latest round post's Answer button pressed and its form sent with `text`."""
    press = h.press(user, latest_post(h).message_id, "checkin.answer", str(round_id))
    return replace(press, text=text)


async def answer_by_form(h: Harness, user: str, text: str, round_id: int = 1) -> None:
    """Answer (or, with `pass`, pass) by the form and wait until it is all handled."""
    await h.feed(by_form(h, user, text, round_id))
