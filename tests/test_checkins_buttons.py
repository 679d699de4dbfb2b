"""Answer and Pass buttons on a round's post: a form where the platform has one, and anonymous
rounds that take answers only that way, so no answer is ever a message in the chat."""

from __future__ import annotations

import pytest
from sqlmodel import select

from adapters.contract import Capability, SendMessage
from adapters.fake import ALL_CAPABILITIES
from bot.checkins.models import CheckinAnswer
from bot.testing import Harness
from tests.test_checkins import PROMPT, answer_by_button, post_of, reply_in_thread, rounds

WITHOUT_FORMS = ALL_CAPABILITIES - {Capability.MODALS}
WITHOUT_BUTTONS = WITHOUT_FORMS - {Capability.BUTTONS}


def post_action(h: Harness) -> SendMessage:
    [record] = [r for r in h.adapter.records if r.text.startswith(f"Check-in: {PROMPT}")]
    assert isinstance(record.action, SendMessage)
    return record.action


async def stored(h: Harness) -> list[tuple[str, bool]]:
    async with h.bot.db.reader() as s:
        rows = (await s.exec(select(CheckinAnswer).order_by(CheckinAnswer.id))).all()
    return [(a.text, a.passed) for a in rows]


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        (ALL_CAPABILITIES, [("checkin.answer", "Answer", True), ("checkin.pass", "Pass", False)]),
        (WITHOUT_FORMS, [("checkin.answer", "Answer", False), ("checkin.pass", "Pass", False)]),
        (WITHOUT_BUTTONS, []),
    ],
)
async def test_the_post_carries_the_buttons_the_platform_can_show(
    database_url: str, capabilities: frozenset[Capability], expected: list[tuple[str, str, bool]]
) -> None:
    async with Harness.open(database_url, capabilities=capabilities) as h:
        await h.say("ada", f'checkin open "{PROMPT}"')
        [r] = await rounds(h)
        buttons = post_action(h).buttons
        assert [(b.action, b.label, b.form is not None) for b in buttons] == expected
        assert all(b.value == str(r.id) for b in buttons)


async def test_answer_and_pass_by_button_are_recorded_and_replace(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    await answer_by_button(h, "bob", "calm, please")
    await answer_by_button(h, "carol", "pass")
    await answer_by_button(h, "bob", "calm and kind")
    assert sorted(await stored(h)) == [("", True), ("calm and kind", False)]
    acks = h.adapter.direct_texts("bob")
    assert any("answer is in" in t for t in acks) and any("updated" in t for t in acks)


async def test_an_anonymous_round_with_forms_refuses_typed_answers(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}" --anonymous')
    assert "I don't take answers typed in the chat" in post_action(h).text[0]
    await reply_in_thread(h, "bob", "my secret in the thread")
    refused = await h.say("carol", "checkin my secret as a command")
    await h.say("dan", "checkin pass")
    assert await stored(h) == []
    assert any("only through its Answer and Pass buttons" in t for t in refused)
    assert any("only through" in t for t in h.adapter.direct_texts("bob"))
    await answer_by_button(h, "bob", "said in the form")
    assert await stored(h) == [("said in the form", False)]


async def test_an_anonymous_round_without_forms_still_takes_typed_answers(
    database_url: str,
) -> None:
    async with Harness.open(database_url, capabilities=WITHOUT_FORMS) as h:
        await h.say("ada", f'checkin open "{PROMPT}" --anonymous')
        await reply_in_thread(h, "bob", "typed where there are no forms")
        assert await stored(h) == [("typed where there are no forms", False)]


async def test_answer_without_a_form_says_how_to_answer(database_url: str) -> None:
    async with Harness.open(database_url, capabilities=WITHOUT_FORMS) as h:
        await h.say("ada", f'checkin open "{PROMPT}"')
        [r] = await rounds(h)
        await h.feed(h.press("bob", post_of(h).message_id, "checkin.answer", str(r.id)))
        [hint] = h.adapter.direct_texts("bob")
        assert "Reply in the thread" in hint and "!checkin <your answer>" in hint
        assert await stored(h) == []


@pytest.mark.parametrize("value", ["999", "x", "²", "9" * 40, ""])
async def test_a_button_for_no_round_gets_a_clear_reply(harness: Harness, value: str) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    await h.feed(h.press("bob", post_of(h).message_id, "checkin.pass", value))
    assert any("That check-in is gone." in t for t in h.adapter.direct_texts("bob"))
    assert await stored(h) == []


@pytest.mark.parametrize(("flag", "how"), [("", "Answer me here"), (" --anonymous", "Press")])
async def test_a_dm_round_asks_with_the_buttons_too(harness: Harness, flag: str, how: str) -> None:
    h = harness
    await h.say("bob", "help")
    await h.say("ada", f'checkin open "{PROMPT}" --dm{flag}')
    asked = [
        r.action
        for r in h.adapter.records
        if isinstance(r.action, SendMessage) and r.text.startswith("Check-in from")
    ]
    assert asked and all([b.label for b in a.buttons] == ["Answer", "Pass"] for a in asked)
    assert all(how in a.text[0] for a in asked)
