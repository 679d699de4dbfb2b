"""The dashboard's sections in page order; each ritual adds its own here, like `ROUTERS`.

Still to come from the rituals: check-in rounds (answers, participation chart, exports),
events with their nudges and the dead-letter list.
"""

from __future__ import annotations

from bot.breakouts import dashboard as breakouts
from bot.dashboard import audit, people
from bot.dashboard.section import Section

SECTIONS: list[Section] = [people.section, breakouts.section, audit.section]
