"""What a ritual plugs into the core: its commands and the handlers it owns.

Each ritual module exposes one `Router`; `bot.routers.ROUTERS` lists them. The core runs the
cross-cutting work (de-duplication, identity, roles) around every handler, so a router holds
only its ritual's logic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from adapters.contract import ActionResult, ButtonPressed, MessageReceived, ReactionAdded
from bot.grammar import CommandSpec

if TYPE_CHECKING:
    from bot.context import Context, Scope
    from bot.core import Bot

MessageHandler = Callable[["Context", MessageReceived], Awaitable[bool]]
"""Returns True when it took the message (a thread reply to a round, `join`, `report ...`)."""
ButtonHandler = Callable[["Context", ButtonPressed], Awaitable[None]]
ReactionHandler = Callable[["Context", ReactionAdded], Awaitable[bool]]
TimerHandler = Callable[["Scope", str], Awaitable[None]]
"""Called with the timer's `ref` when it is due; its effects commit with the timer's end."""
ResultHook = Callable[["Scope", str, ActionResult], Awaitable[None]]
"""Called with the `ref` of an `on_result="hook:ref"` once the platform performed the action."""
StartHook = Callable[["Bot"], Awaitable[None]]
"""Runs once the bot is ready: re-register recurring series, close what is overdue."""
MergeHook = Callable[["Scope", int, int], Awaitable[None]]
"""Called with (kept member id, merged member id) before two members become one, for rows
that name a member without a foreign key."""
HttpRoutes = Callable[["Bot"], Sequence[BaseRoute]]
"""Pages and downloads a ritual serves on the bot's web server (an export, an .ics file)."""


@dataclass
class Router:
    name: str
    commands: list[CommandSpec] = field(default_factory=list)
    messages: list[MessageHandler] = field(default_factory=list)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    """Keyed by the button's action name."""
    reactions: list[ReactionHandler] = field(default_factory=list)
    timers: dict[str, TimerHandler] = field(default_factory=dict)
    results: dict[str, ResultHook] = field(default_factory=dict)
    on_start: list[StartHook] = field(default_factory=list)
    merges: list[MergeHook] = field(default_factory=list)
    http: list[HttpRoutes] = field(default_factory=list)
