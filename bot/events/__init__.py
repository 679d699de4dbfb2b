"""Events, reminders and follow-up nudges: the third ritual (`router` is its entry point)."""

from __future__ import annotations

from bot.events.commands import router

__all__ = ["router"]
