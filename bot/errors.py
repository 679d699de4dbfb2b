"""The project's own exceptions: who caused a failure decides how it is reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import ENGLISH, Words, usage_line


class CommunityBotError(Exception):
    """Base of every error the bot raises on purpose."""


@dataclass(frozen=True)
class Cmd:
    """A command named in an error's message (`help`): shown as the reader types it on their
    platform (`/help`, `!help`), which is known only where the error is answered."""

    text: str


@dataclass(frozen=True)
class Phrase:
    """A catalog message inside an error's message (a role's name), translated with it."""

    message: str


def plain_command(text: str) -> str:
    return f"`{text}`"


class UserInputError(CommunityBotError):
    """What the caller typed cannot be used; the message is written for them.

    `message` is an English catalog message with named parameters (`params`), translated
    into the caller's language when answered; a parameter may be a `Cmd`, a `Phrase` or
    another `UserInputError` (the reason inside). `usage` is the right form of the command (a usage
    line marked with `N_`), shown after the message.
    """

    def __init__(self, message: str, usage: str | None = None, /, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.params = params

    def __str__(self) -> str:
        """The English text, values filled in (for logs and tests)."""
        return self.text()

    def text(self, words: Words = ENGLISH, command: Callable[[str], str] = plain_command) -> str:
        """The message alone, in `words`, with commands as `command` shows them."""
        shown = {
            name: command(value.text)
            if isinstance(value, Cmd)
            else words._(value.message)
            if isinstance(value, Phrase)
            else value.text(words, command)
            if isinstance(value, UserInputError)
            else value
            for name, value in self.params.items()
        }
        return words._(self.message, **shown)

    def reply_text(
        self, words: Words = ENGLISH, command: Callable[[str], str] = plain_command
    ) -> str:
        """The message and, if any, the usage line; in English with bare commands unless
        told the reader's words and platform."""
        if self.usage:
            usage = usage_line(self.usage, words, command)
            message = self.text(words, command)
            return words._("{message}\nUsage: {usage}", message=message, usage=usage)
        return self.text(words, command)


class PermissionDenied(UserInputError):
    """The caller's role does not allow the command; says which role is needed."""


class ConfigError(CommunityBotError):
    """The configuration is unusable; names the key (dotted path) and how to fix it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class PlatformError(CommunityBotError):
    """A platform answered with an error.

    `retry_after` (seconds) is set when the platform asked us to slow down; `permanent`
    when retrying the same request cannot succeed (a 4xx other than a rate limit).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class CapabilityMissing(PlatformError):
    """An adapter was asked for an action its platform cannot perform: fail loudly."""

    def __init__(self, platform: str, capability: str) -> None:
        super().__init__(f"{platform} cannot {capability}", permanent=True)
        self.platform = platform
        self.capability = capability


class NotYet(CommunityBotError):
    """The event may concern something the bot is still recording (a reply in the thread of
    a round's post whose thread the platform has not yet reported back): it is handled
    again shortly, as if it had just arrived."""
