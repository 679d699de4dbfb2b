"""The command language's parser on valid and invalid input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserInputError
from bot.grammar import CommandSpec, CommandTable, Flag, Invocation, tokenize


async def _noop(ctx: object, inv: Invocation) -> None:
    return None


TABLE = CommandTable(
    [
        CommandSpec(
            ("checkin", "open"),
            'checkin open "<prompt>" | <prompt-id> [--until <when>] [--anonymous]',
            "open a round",
            _noop,
            flags={"until": Flag.VALUE, "anonymous": Flag.SWITCH, "every": Flag.VALUE},
        ),
        CommandSpec(("checkin",), "checkin <answer>", "answer", _noop, free_text=True),
        CommandSpec(
            ("event", "add"),
            'event add "<title>" <when>',
            "add an event",
            _noop,
            flags={"followup": Flag.PAIR, "tz": Flag.VALUE},
        ),
        CommandSpec(("me", "pause"), "me pause", "pause", _noop, takes_rest=False),
    ]
)


def test_quoted_prompt_and_flags() -> None:
    inv = TABLE.parse(
        'checkin open "What do you want to see here?" --until tomorrow 9am --anonymous'
    )
    assert inv.spec.path == ("checkin", "open")
    assert inv.args == ("What do you want to see here?",)
    assert inv.flag("until") == "tomorrow 9am"
    assert inv.switch("anonymous")


def test_curly_quotes_are_quotes() -> None:
    inv = TABLE.parse("checkin open “What’s alive for you?” --every monday 09:30")
    assert inv.args == ("What’s alive for you?",)
    assert inv.flag("every") == "monday 09:30"


def test_answer_text_is_kept_exactly() -> None:
    text = 'checkin  I feel "great" --really   😀  שלום'
    inv = TABLE.parse(text)
    assert inv.spec.path == ("checkin",)
    assert inv.rest == 'I feel "great" --really   😀  שלום'


def test_an_answer_may_hold_an_unclosed_quote() -> None:
    assert TABLE.parse('checkin I said "hi').rest == 'I said "hi'


def test_command_words_are_case_insensitive() -> None:
    assert TABLE.parse("CheckIn Open q").spec.path == ("checkin", "open")


def test_pair_flag_takes_a_value_and_a_quoted_text() -> None:
    inv = TABLE.parse('event add "Meetup" tomorrow 18:00 --followup 1d "What did you take away?"')
    assert inv.pair("followup") == ("1d", "What did you take away?")
    assert inv.args == ("Meetup", "tomorrow", "18:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Say a command"),
        ("   ", "Say a command"),
        ("dance", "I don't know the command `dance`"),
        ('checkin open "unclosed', "has no closing mark"),
        ("checkin open q --until", "needs a value after it"),
        ("checkin open q --colour red", "has no option `--colour`"),
        ("checkin open q --anonymous --anonymous", "`--anonymous` twice"),
        ("me pause now", "takes no more words"),
        ('event add "x" --followup 1d', "then a text in quotes"),
        ("x" * 10_000, "The most I take is 8,000"),
    ],
)
def test_bad_input_says_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(UserInputError) as err:
        TABLE.parse(text)
    assert expected in err.value.text()


def test_a_wrong_subcommand_shows_the_right_forms() -> None:
    with pytest.raises(UserInputError) as err:
        TABLE.parse("me sing")
    assert err.value.usage == "me pause"


def test_odd_unicode_in_flags_is_reported_not_crashed() -> None:
    with pytest.raises(UserInputError) as err:
        TABLE.parse("checkin open q --\u202eevil\u0000")
    assert "has no option" in err.value.message


def test_tokenize_keeps_positions() -> None:
    toks = tokenize('a "b c" d')
    assert [(t.text, t.quoted) for t in toks] == [("a", False), ("b c", True), ("d", False)]
    assert toks[1].start == 2 and toks[1].end == 7


@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_politely(text: str) -> None:
    try:
        inv = TABLE.parse(text)
    except UserInputError as exc:
        assert exc.message
    else:
        assert inv.spec in TABLE.specs()
