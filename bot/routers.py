"""The routers the bot runs, in the order they are offered a plain message."""

from __future__ import annotations

from bot import events, members
from bot.router import Router

ROUTERS: list[Router] = [members.router, events.router]
