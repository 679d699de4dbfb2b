"""The languages the bot speaks, and which one each reader gets.

Every text the bot says is an English message looked up in a gettext catalog,
`bot/locale/<lang>/LC_MESSAGES/messages.mo`, compiled by Babel from the `.po` beside it (see
the README's "Translating" section). Command words (`checkin`, `pass`) are never translated,
so help and docs agree in every language; only the sentences around them are.

Messages take named parameters in braces, `_("Round {number} is open", number=3)`, so a
translation may put them in any order.
"""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("en", "es", "sw")
"""English, Spanish (Mexico, the US) and Swahili (Kenya): the languages shipped complete."""
DEFAULT = "en"
NAMES = {"en": "English", "es": "Español", "sw": "Kiswahili"}
"""Each language's name in itself, as a member choosing it would look for it."""
RIGHT_TO_LEFT: frozenset[str] = frozenset()
"""Languages written right to left among `LANGUAGES` (none yet; pages set `dir` from it)."""

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def supported(tag: str | None) -> str | None:
    """The shipped language a tag names (`es-MX`, `sw_KE`, `ES`), or None."""
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary in LANGUAGES else None


def negotiate(accept_language: str | None) -> str | None:
    """The shipped language a browser's `Accept-Language` header prefers most, or None.

    Malformed parts are skipped rather than refused: the header is advice, not input.
    """
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.fullmatch(r"\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*", params) if params else None
        if params and match is None:
            continue
        if match:
            quality = float(match.group(1))
        lang = supported(tag)
        if lang and quality > 0:
            ranked.append((-quality, i, lang))
    return min(ranked)[2] if ranked else None


def choose(*candidates: str | None) -> str:
    """The first candidate that is a shipped language, else the default."""
    for candidate in candidates:
        lang = supported(candidate)
        if lang:
            return lang
    return DEFAULT


@functools.cache
def _catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, [lang], fallback=True)


def catalog(lang: str) -> gettext.NullTranslations:
    """The raw catalog of `lang`, for a page that hands a counted message's forms to its
    script (`adapters.webchat.page.counted`) rather than one formatted text."""
    return _catalog(choose(lang))


def N_(message: str) -> str:
    """Mark a message for the catalog where it is defined (a usage line, a table of labels);
    it is translated where it is shown, with `Words._`."""
    return message


@dataclass(frozen=True)
class Words:
    """The bot's messages in one reader's language."""

    lang: str

    def _(self, message: str, /, **params: object) -> str:
        text = _catalog(self.lang).gettext(message)
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """A message whose words follow a count; `{n}` in it is the count."""
        return _catalog(self.lang).ngettext(singular, plural, n).format(n=n, **params)


@functools.cache
def words(lang: str | None) -> Words:
    """The messages in `lang` (any tag naming a shipped language), else in the default."""
    return Words(choose(lang))


ENGLISH = words(DEFAULT)
"""Where no reader is known (the command line, a file written for no one in particular)."""


def usage_line(usage: str, words: Words, command: Callable[[str], str]) -> str:
    """Usage lines (`me quiet <hh:mm>-<hh:mm> | me quiet off`, one a line) in the reader's
    words, each form of a command shown by `command` (with the platform's prefix).

    A form starts with the command's first word; a `|` between other words (`"<prompt>" |
    <prompt-id>`) is a choice inside one form.
    """
    return "\n".join(_usage_forms(line, words, command) for line in usage.splitlines())


def _usage_forms(usage: str, words: Words, command: Callable[[str], str]) -> str:
    name = usage.split(maxsplit=1)[0] if usage.strip() else ""
    forms: list[str] = []
    for part in words._(usage).split(" | "):
        if forms and not part.startswith(name):
            forms[-1] += f" | {part}"
        else:
            forms.append(part)
    return " | ".join(command(form) for form in forms)
