"""The one command language: words, quoted strings and flags, the same on every platform.

Commands are declared as `CommandSpec`s (a path of words, the role needed, the flags taken, a
usage line); `parse` matches a text against them. The text after the matched words is kept
exactly as typed (`rest`), so an answer like `checkin I feel "great"` is stored faithfully.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.errors import Cmd, UserInputError
from bot.i18n import N_
from bot.models import Role

if TYPE_CHECKING:
    from bot.context import Context

MAX_COMMAND_LENGTH = 8000
QUOTES = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’"}


class Flag(enum.Enum):
    SWITCH = "switch"
    VALUE = "value"
    PAIR = "pair"
    """A value then a quoted text: `--followup 1d "What did you take away?"`."""


FlagValue = str | bool | tuple[str, str]
Handler = Callable[["Context", "Invocation"], Awaitable[None]]


@dataclass(frozen=True)
class CommandSpec:
    path: tuple[str, ...]
    usage: str
    summary: str
    handler: Handler
    role: Role = Role.MEMBER
    flags: Mapping[str, Flag] = field(default_factory=dict)
    takes_rest: bool = True
    free_text: bool = False
    """Read nothing after the command's words: the text is the argument (an answer)."""


@dataclass(frozen=True)
class Invocation:
    spec: CommandSpec
    args: tuple[str, ...]
    flags: Mapping[str, FlagValue]
    rest: str
    """The text after the command's words, exactly as typed (flags included)."""

    def flag(self, name: str) -> str | None:
        value = self.flags.get(name)
        return value if isinstance(value, str) else None

    def switch(self, name: str) -> bool:
        return self.flags.get(name) is True

    def pair(self, name: str) -> tuple[str, str] | None:
        value = self.flags.get(name)
        return value if isinstance(value, tuple) else None


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split on white space, keeping quoted strings (straight or curly quotes) whole."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        if text[i] in QUOTES:
            close = QUOTES[text[i]]
            j = i + 1
            while j < n and text[j] != close and not (close == "”" and text[j] == '"'):
                j += 1
            if j >= n:
                raise UserInputError(
                    N_("The quote that starts with “{start}” has no closing mark."),
                    start=text[i : i + 20],
                )
            tokens.append(Token(text[i + 1 : j], True, start, j + 1))
            i = j + 1
            continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(Token(text[start:i], False, start, i))
    return tokens


class CommandTable:
    """All commands the bot knows, looked up by their leading words."""

    def __init__(self, specs: Iterable[CommandSpec] = ()) -> None:
        self._specs: dict[tuple[str, ...], CommandSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: CommandSpec) -> None:
        if spec.path in self._specs:
            raise ValueError(f"command {' '.join(spec.path)!r} declared twice")
        self._specs[spec.path] = spec

    def specs(self) -> list[CommandSpec]:
        return sorted(self._specs.values(), key=lambda s: s.path)

    def names(self) -> set[str]:
        return {p[0] for p in self._specs}

    def usages(self, name: str) -> str:
        """The usage lines of the commands starting with `name`, one a line."""
        return "\n".join(s.usage for s in self.specs() if s.path[0] == name)

    def parse(self, text: str) -> Invocation:
        """Match `text` to a command; raises `UserInputError` saying what was wrong."""
        if len(text) > MAX_COMMAND_LENGTH:
            raise UserInputError(
                N_("That command has {length} characters. The most I take is {limit}."),
                length=f"{len(text):,}",
                limit=f"{MAX_COMMAND_LENGTH:,}",
            )
        stripped = text.strip()
        if not stripped:
            raise UserInputError(N_("Say a command, for example {help}."), help=Cmd("help"))
        heads = [m for m in re.finditer(r"\S+", stripped)][:3]
        words = [m.group().lower() for m in heads]
        spec, used = None, 0
        for used in range(len(words), 0, -1):
            spec = self._specs.get(tuple(words[:used]))
            if spec:
                break
        if spec is None:
            name = words[0]
            if name in self.names():
                raise UserInputError(
                    N_("I can't read {typed}."), self.usages(name), typed=Cmd(_clip(stripped))
                )
            raise UserInputError(
                N_("I don't know the command {typed}. Say {help} to see what you can do."),
                typed=Cmd(_clip(name)),
                help=Cmd("help"),
            )
        rest = stripped[heads[used - 1].end() :].lstrip()
        if spec.free_text:
            return Invocation(spec, (), {}, rest)
        try:
            tokens = tokenize(rest)
        except UserInputError as exc:
            raise UserInputError(exc.message, spec.usage, **exc.params) from None
        args, flags = _read_args(tokens, spec)
        if args and not spec.takes_rest:
            raise UserInputError(
                N_("{command} takes no more words."), spec.usage, command=Cmd(" ".join(spec.path))
            )
        return Invocation(spec, tuple(args), flags, rest)


def _read_args(tokens: list[Token], spec: CommandSpec) -> tuple[list[str], dict[str, FlagValue]]:
    args: list[str] = []
    flags: dict[str, FlagValue] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.quoted and tok.text.startswith("--") and len(tok.text) > 2:
            name = tok.text[2:].lower()
            kind = spec.flags.get(name)
            if kind is None:
                raise UserInputError(
                    N_("{command} has no option `--{option}`."),
                    spec.usage,
                    command=Cmd(" ".join(spec.path)),
                    option=_clip(name, 30),
                )
            if name in flags:
                raise UserInputError(N_("You gave `--{option}` twice."), spec.usage, option=name)
            if kind is Flag.SWITCH:
                flags[name] = True
            else:
                if i + 1 >= len(tokens):
                    raise UserInputError(
                        N_("`--{option}` needs a value after it."), spec.usage, option=name
                    )
                value, i = _flag_value(tokens, i + 1)
                if kind is Flag.PAIR:
                    if i >= len(tokens) or not tokens[i].quoted or not value:
                        raise UserInputError(
                            N_("`--{option}` needs a value, then a text in quotes."),
                            spec.usage,
                            option=name,
                        )
                    flags[name] = (value, tokens[i].text)
                    i += 1
                else:
                    flags[name] = value
                continue
        else:
            args.append(tok.text)
        i += 1
    return args, flags


def _flag_value(tokens: list[Token], i: int) -> tuple[str, int]:
    """A flag's value: one token, or every unquoted word up to the next flag ("Tue 11:30")."""
    if tokens[i].quoted:
        return tokens[i].text, i + 1
    words: list[str] = []
    while i < len(tokens) and not (
        (not tokens[i].quoted and tokens[i].text.startswith("--")) or tokens[i].quoted
    ):
        words.append(tokens[i].text)
        i += 1
    return " ".join(words), i


def _clip(text: str, limit: int = 60) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
