"""Long texts: cut to fit each platform, between items, and a long round summed up by a link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from adapters.contract import Mention, PlatformName, Sent, UserId, plain_text
from adapters.fake import FakeAdapter
from adapters.matrix.adapter import MAX_TEXT as MATRIX_MAX_TEXT
from adapters.webchat.adapter import WebChat
from bot.long_text import split_text
from bot.models import OutboxRow, OutboxState
from bot.testing import Harness


def test_a_text_that_fits_is_one_part() -> None:
    assert split_text(("short",), 10) == [("short",)]


def test_cuts_fall_between_lines_then_at_spaces() -> None:
    text = "head\n\n• " + "a" * 8 + "\n• " + "word " * 6 + "\n• tail"
    parts = [plain_text(p) for p in split_text((text,), 12)]
    assert parts == ["head", "• aaaaaaaa", "• word word", "word word", "word word", "• tail"]
    assert all(len(p) <= 12 for p in parts)


def test_mentions_are_never_cut() -> None:
    ada = Mention(PlatformName("fake"), UserId("ada"), "Ada")
    parts = split_text(("x" * 8, ada, "y" * 8), 10)
    assert parts == [("x" * 8,), (ada,), ("y" * 8,)]


@given(st.text(alphabet=st.sampled_from("ab \n•"), max_size=400), st.integers(5, 60))
def test_every_part_fits_and_nothing_else_is_lost(text: str, limit: int) -> None:
    parts = [plain_text(p) for p in split_text((text,), limit)]
    assert all(len(p) <= limit for p in parts)
    # Only the line ends, blank lines and spaces at the cuts may go.
    assert squeezed("".join(parts)) == squeezed(text) or len(parts) == 1


def squeezed(text: str) -> str:
    return "".join(text.split())


async def answer_in_thread(h: Harness, user: str, text: str) -> None:
    """Answers this long are replies in the round's thread (commands stop at 8,000)."""
    [post] = [r for r in h.adapter.records if r.text.startswith("Check-in: ")]
    assert isinstance(post.result, Sent)
    await h.feed(h.message(user, text, thread=post.result.thread))


def long_answer(n: int, size: int = 19_000) -> str:
    """`size` characters of words, numbered so their order can be followed."""
    words = f"answer{n:02d} " * (size // 9 + 1)
    return words[:size].strip()


@pytest.mark.parametrize(
    ("platform", "limit"),
    [("fake", 100_000), ("web", WebChat.max_text), ("matrix", MATRIX_MAX_TEXT)],
)
async def test_a_round_of_25_long_answers_closes_and_is_seen_in_order(
    sqlite_url: str, platform: str, limit: int
) -> None:
    async with Harness.open(sqlite_url) as h:
        assert isinstance(h.adapter, FakeAdapter)
        h.adapter.max_text = limit  # the size each platform takes
        await h.say("ada", 'checkin open "Tell us everything"')
        given = [long_answer(i) for i in range(25)]
        for i, text in enumerate(given):
            await answer_in_thread(h, f"member{i:02d}", text)
        await h.say("ada", "checkin close")
        await h.advance(timedelta(minutes=1))
        async with h.bot.db.reader() as s:
            states = {r.state for r in (await s.exec(select(OutboxRow))).all()}
        assert states == {OutboxState.SENT}  # nothing dead-lettered
        posts = h.adapter.texts(h.place())
        first = next(i for i, t in enumerate(posts) if t.startswith("Check-in closed"))
        summary = posts[first:]
        assert all(len(t) <= limit for t in summary)
        if len(summary) == 1:  # linked as a file: it would have flooded the room
            assert "so they are in a file instead: http" in summary[0]
            assert "works for 7 days" in summary[0] and "answer00" not in summary[0]
        else:
            assert len(summary) <= 5
            whole = "\n".join(summary)
            seen = [whole.index(f"Member{i:02d}: {text}") for i, text in enumerate(given)]
            assert seen == sorted(seen)  # every answer whole, in order
        assert (len(summary) > 1) == (platform == "fake")


async def test_long_answers_on_matrix_go_in_parts_in_order(sqlite_url: str) -> None:
    async with Harness.open(sqlite_url) as h:
        assert isinstance(h.adapter, FakeAdapter)
        h.adapter.max_text = MATRIX_MAX_TEXT
        await h.say("ada", 'checkin open "Tell us everything"')
        for i in range(2):
            await answer_in_thread(h, f"member{i}", long_answer(i, 12_000))
        await h.say("ada", "checkin close")
        posts = h.adapter.texts(h.place())
        summary = posts[next(i for i, t in enumerate(posts) if t.startswith("Check-in closed")) :]
        assert 1 < len(summary) <= 5 and all(len(t) <= MATRIX_MAX_TEXT for t in summary)
        words = " ".join(summary).split()
        numbered = [w for w in words if re.fullmatch(r"answer\d\d", w)]
        assert numbered == sorted(numbered) and len(numbered) == 2 * (
            12_000 // 9
        )  # no word lost or cut
