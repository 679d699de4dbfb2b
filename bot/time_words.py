"""Times written in a member's language, turned into the English forms `bot.when` reads.

dateparser's word lists (weekdays, months, "tomorrow", "today" in each language) do the
translating, so the same rules decide what "martes 18:30" and "tuesday 18:30" mean. A few
ways of saying a time of day that dateparser does not know are rewritten first: Spanish
"a las 6 de la tarde", and the Swahili clock, where "saa tatu asubuhi" (hour three of the
morning) is 09:00 because the day's hours count from 06:00.

dateparser takes about a second to import and a tenth of a second to load a language's
words the first time, so it is imported only when the English reading failed
(`bench/when_languages.py` prints the figures).
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Any

_SW_NUMBERS = {
    "moja": 1, "mbili": 2, "tatu": 3, "nne": 4, "tano": 5, "sita": 6, "saba": 7, "nane": 8,
    "tisa": 9, "kumi": 10, "kumi na moja": 11, "kumi na mbili": 12,
}  # fmt: skip
_SW_HOUR = "|".join(sorted(_SW_NUMBERS, key=len, reverse=True))
_SW_CLOCK = re.compile(
    rf"\bsaa ({_SW_HOUR}|1[0-2]|[1-9])(?::(\d{{2}}))?(?: na nusu)? (asubuhi|mchana|jioni|usiku)\b"
)
_ES_PERIOD = re.compile(
    r"\b(?:a las? )?(1[0-2]|0?[1-9])(?::(\d{2}))? (?:de la |del )?"
    r"(mañana|manana|madrugada|tarde|noche)\b"
)
_ES_AT = re.compile(r"\ba las? (\d{1,2})(?::(\d{2}))?\b")

_FILLERS = {
    "es": r"\b(?:el|la|este|esta|pr[oó]xim[oa]|que viene)\b",
    "sw": r"\b(?:ijayo|hii|tarehe)\b|\bsaa\b(?= \d{1,2}:\d{2})",
}
"""Words that only decorate a day or a time ("el próximo martes", "jumanne ijayo")."""

_DATEPARSER_ENGLISH = {
    "in 1 day": "tomorrow",
    "0 day ago": "today",
    "0 second ago": "now",
    "next": "",
    "this": "",
}
"""dateparser's own English for the words it translated, as `bot.when` reads them."""

_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)


def _sw_clock(match: re.Match[str]) -> str:
    word, minutes, period = match[1], match[2] or ("30" if "nusu" in match[0] else "00"), match[3]
    hour = (int(word) if word.isdigit() else _SW_NUMBERS[word]) % 12
    hour = (hour + 6) % 12
    if period in ("mchana", "jioni") or (period == "usiku" and hour >= 6):
        hour += 12
    return f"{hour:02d}:{minutes}"


def _es_period(match: re.Match[str]) -> str:
    hour, minutes, period = int(match[1]), match[2] or "00", match[3]
    if period in ("tarde", "noche") and hour < 12:
        hour += 12
    elif period in ("mañana", "manana", "madrugada") and hour == 12:
        hour = 0
    return f"{hour:02d}:{minutes}"


def _rewritten(text: str, lang: str) -> str:
    if lang == "es":
        text = _ES_PERIOD.sub(_es_period, text)
        text = _ES_AT.sub(lambda m: f"{int(m[1]):02d}:{m[2] or '00'}", text)
    elif lang == "sw":
        text = _SW_CLOCK.sub(_sw_clock, text)
    if lang in _FILLERS:
        text = re.sub(_FILLERS[lang], " ", text)
    return " ".join(text.split())


@functools.cache
def _locale(lang: str) -> Any:
    from dateparser.languages.loader import default_loader

    return default_loader.get_locale(lang)


def to_english(text: str, lang: str) -> str:
    """`text` (lower case, single-spaced) in the English `bot.when` reads; words it cannot
    translate are left as they are, so what was not understood is still refused."""
    from dateparser.conf import settings

    english = " ".join(
        _locale(lang)
        .translate(_rewritten(text, lang), keep_formatting=False, settings=settings)
        .lower()
        .split()
    )
    for said, read in _DATEPARSER_ENGLISH.items():
        english = re.sub(rf"\b{said}\b", read, english)
    return " ".join(english.split())


def calendar_day(english: str, today: date) -> date | None:
    """The day named with a month ("1 december", "december 1st 2026"), the next such day
    from `today` when no year is given; None when `english` names no month."""
    if not _MONTH.search(english):
        return None
    import dateparser

    found: datetime | None = dateparser.parse(
        english,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
            "REQUIRE_PARTS": ["day", "month"],
        },
    )
    return found.date() if found else None
