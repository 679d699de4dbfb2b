"""The routers the bot runs, in the order they are offered a plain message."""

from __future__ import annotations

from bot import events, housekeeping, identities, members
from bot.breakouts.commands import router as breakouts
from bot.checkins.router import router as checkins
from bot.dashboard import router as dashboard
from bot.events.native import router as native_events
from bot.router import Router

ROUTERS: list[Router] = [
    members.router,
    identities.router,
    breakouts,  # before check-ins: a relayed group's DMs are the group's, not a late answer
    checkins,
    events.router,
    native_events,
    dashboard.router,
    housekeeping.router,
]
