"""The dashboard's sections in page order; each ritual adds its own here, like `ROUTERS`."""

from __future__ import annotations

from bot.breakouts import dashboard as breakouts
from bot.checkins import dashboard as checkins
from bot.dashboard import audit, people
from bot.dashboard.section import Section
from bot.events import dashboard as events

SECTIONS: list[Section] = [
    people.section,
    checkins.section,
    breakouts.section,
    events.section,
    audit.section,
]
