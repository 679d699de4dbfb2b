"""The dashboard's sections in page order; each ritual adds its own here, like `ROUTERS`.

Still to come from the rituals: events with their nudges and the dead-letter list.
"""

from __future__ import annotations

from bot.breakouts import dashboard as breakouts
from bot.checkins import dashboard as checkins
from bot.dashboard import audit, people
from bot.dashboard.section import Section

SECTIONS: list[Section] = [
    people.section,
    checkins.section,
    breakouts.section,
    audit.section,
]
