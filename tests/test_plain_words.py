"""Every English message reads plainly: about grade 8, and never above grade 10.

Scored with textstat's Flesch-Kincaid grade. Placeholders, commands and usage syntax are
read as one short word each, so a message is scored for the words around them. A label of
fewer than `FEWEST_WORDS` words ("an organiser") is no sentence for the formula to score: one
long word alone would read as college level.
"""

from __future__ import annotations

import re

import textstat
from babel.messages.pofile import read_po

from bot import i18n

MOST = 10.0
FEWEST_WORDS = 4
TOKENS = re.compile(r"`[^`]*`|\{[^{}]*\}|<[^<>]*>|\[[^\[\]]*\]|--\w+|\w+:\w+")


def readable(message: str) -> str:
    """The words a reader reads: each placeholder, command or `platform:id` as "it"."""
    return TOKENS.sub("it", message)


def grade(message: str) -> float:
    return float(textstat.flesch_kincaid_grade(readable(message)))


def english_messages() -> list[str]:
    with (i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot").open("rb") as f:
        catalog = read_po(f)
    found: list[str] = []
    for entry in catalog:
        if entry.id:
            found.extend([entry.id] if isinstance(entry.id, str) else entry.id)
    return found


def test_the_catalog_holds_the_bots_messages() -> None:
    assert len(english_messages()) > 100


def test_no_english_message_reads_above_grade_ten() -> None:
    scored = [m for m in english_messages() if len(readable(m).split()) >= FEWEST_WORDS]
    hard = sorted((f"{grade(m):5.1f}  {m!r}" for m in scored if grade(m) > MOST), reverse=True)
    assert not hard, "rewrite these plainly:\n" + "\n".join(hard)


def test_the_score_tells_plain_words_from_hard_ones() -> None:
    """The test can fail: a dense sentence scores above the limit, a plain one below."""
    assert grade("Thanks, your answer is in.") < 8
    assert (
        grade(
            "Notwithstanding administrative considerations, organisational configuration "
            "necessitates comprehensive authorisation prerequisites."
        )
        > MOST
    )
