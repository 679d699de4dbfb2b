"""The dashboard's sections in page order; each ritual adds its own here, like `ROUTERS`.

Still to come from the rituals: check-in rounds (answers, participation chart, exports),
breakouts (groups, report-backs), events with their nudges and the dead-letter list.
"""

from __future__ import annotations

from bot.dashboard import audit, people
from bot.dashboard.section import Section

SECTIONS: list[Section] = [people.section, audit.section]
