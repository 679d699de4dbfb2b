"""The project's own exceptions: who caused a failure decides how it is reported."""

from __future__ import annotations

from bot.i18n import Words, words

ENGLISH = words(None)


class CommunityBotError(Exception):
    """Base of every error the bot raises on purpose."""


class UserInputError(CommunityBotError):
    """What the caller typed cannot be used; the message is written for them.

    `message` is an English catalog message with named parameters (`params`), translated
    into the caller's language when answered. `usage` is the right form of the command,
    shown after the message.
    """

    def __init__(self, message: str, usage: str | None = None, /, **params: object) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.usage = usage
        self.params = params

    def text(self, words: Words = ENGLISH) -> str:
        """The message alone, in `words`."""
        return words._(self.message, **self.params)

    def reply_text(self, words: Words = ENGLISH) -> str:
        if self.usage:
            return f"{self.text(words)}\nUsage: {words._(self.usage)}"
        return self.text(words)


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
