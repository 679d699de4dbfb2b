"""What a dashboard section is, so each ritual adds its own from its own module.

A section renders its part of the page, may take forms (POST, CSRF-checked before it sees
them) and may offer downloads (an export). The dashboard does the signing-in, the layout and
the transactions; `bot.dashboard.registry.SECTIONS` lists the sections in page order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot import i18n
from bot.context import Scope
from bot.dashboard.html import Html, tag
from bot.i18n import Words
from bot.models import Community, Member

if TYPE_CHECKING:
    from bot.core import Bot


@dataclass
class View:
    """One signed-in organiser's request: a transaction, who they are, the form token."""

    scope: Scope
    community: Community
    organiser: Member
    csrf: str
    params: Mapping[str, str] = field(default_factory=dict)
    """The page's query parameters: where each list is (`bot.dashboard.paging`)."""
    words: Words = field(default_factory=lambda: i18n.words(None))
    """The organiser's language: their own choice, then their browser's (`pages.language`)."""

    @property
    def bot(self) -> Bot:
        return self.scope.bot

    @property
    def session(self) -> AsyncSession:
        return self.scope.session

    @property
    def now(self) -> datetime:
        return self.scope.now

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organiser.timezone or self.community.timezone)

    def local(self, at: datetime) -> str:
        """A time as the organiser reads it."""
        return at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def form(self, section: str, action: str, *fields: object, submit: str, label: str) -> Html:
        """A POST form to `section`'s `action` handler, carrying the CSRF token."""
        return tag(
            "form",
            tag("input", type="hidden", name="csrf", value=self.csrf),
            *fields,
            tag("button", submit, type="submit"),
            method="post",
            action=f"/dashboard/{section}/{action}",
            aria_label=label,
            class_="inline",
        )


FormHandler = Callable[[View, Mapping[str, str]], Awaitable[None]]
"""Handles a submitted form in a write transaction; `UserInputError` is shown to the organiser."""
Download = Callable[[View, Request], Awaitable[Response]]
"""Serves a file (an export) to a signed-in organiser."""


@dataclass(frozen=True)
class Section:
    key: str
    """The anchor and URL segment: `/dashboard#key`, `/dashboard/key/<form or download>`."""
    title: str
    """A catalog message (`N_`), shown in the organiser's language."""
    render: Callable[[View], Awaitable[Html]]
    forms: Mapping[str, FormHandler] = field(default_factory=dict)
    downloads: Mapping[str, Download] = field(default_factory=dict)
