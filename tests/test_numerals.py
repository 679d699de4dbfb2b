"""Every parser of ids and numbers from outside: a number in range or a clear refusal, for any
text at all (Unicode digits, signs, spaces, numbers past 64 bits)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.webchat import translate
from bot.numerals import MAX_ID, row_id, whole_number
from bot.testing import Harness
from bot.web import BadRequest

ANY = st.one_of(
    st.text(),
    st.text(alphabet="0123456789²³¹٣൬０１", max_size=25),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.none(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=2),
)


@given(ANY, st.integers(0, MAX_ID), st.integers(0, MAX_ID))
@example("²", 0, MAX_ID)
@example("9" * 40, 0, MAX_ID)
@example(str(MAX_ID + 1), 0, MAX_ID)
def test_whole_number_is_in_range_or_none(text: object, low: int, high: int) -> None:
    found = whole_number(text, low, high)
    if found is None:
        return
    assert isinstance(text, str) and text.isascii() and text.isdigit()
    assert low <= found <= high and int(text) == found


@given(st.integers(0, MAX_ID))
def test_every_id_the_database_can_hold_is_read(n: int) -> None:
    assert whole_number(str(n)) == n
    assert row_id(str(n)) == (n or None)


@pytest.mark.parametrize(
    "text", ["²", "٣", "０", "-1", "+1", " 1", "1 ", "1_000", "0x10", "", str(MAX_ID + 1), "9" * 40]
)
def test_what_int_or_isdigit_would_let_through_is_refused(text: str) -> None:
    assert whole_number(text) is None


@given(ANY)
def test_the_web_chats_id_fields_are_ids_or_a_400(value: object) -> None:
    for parse in (translate.message_id, translate.thread_id, translate.after):
        try:
            found = parse(value)
        except BadRequest as exc:
            assert exc.status == 400
            continue
        if found is not None:
            assert 0 <= int(found) <= MAX_ID and len(str(found)) <= 32


@pytest.mark.parametrize("number", ["9" * 25, "²", "٣"])
async def test_chat_commands_answer_bad_numbers_with_a_reply(harness: Harness, number: str) -> None:
    """Each was an OverflowError or a ValueError inside a handler."""
    h = harness
    await h.say("ada", "hello")
    replies = {
        f"event cancel {number}": "by its number",
        f"nudge retry {number}": "by its number",
        f"checkin export csv {number}": "round id is a number",
        f"breakout size {number}": "group size from 2 to 50",
        f"breakout {number} groups": "1 to 100 groups",
        f'breakout "x" --minutes {number}': "whole number",
    }
    for command, says in replies.items():
        [reply] = await h.say("ada", command)
        assert says in reply, (command, reply)
