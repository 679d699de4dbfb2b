"""The one reader of ids and whole numbers that arrive from outside: HTTP, chat, forms.

`str.isdigit` is true for "²" and "٣", which `int` then refuses or reads as 3; a number too big
for the database's 64-bit integers passes `int` and raises OverflowError deep in a driver.
Everything that turns outside text into a number comes here and gets a number in range, or
None for the caller to refuse clearly.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1
"""The largest id a database row can have (SQLite's and PostgreSQL's 64-bit integers)."""
MAX_DIGITS = len(str(MAX_ID))


def whole_number(text: object, low: int = 0, high: int = MAX_ID) -> int | None:
    """`text` as an integer from `low` to `high` if it is only ASCII digits, else None."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_DIGITS:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def row_id(text: object) -> int | None:
    """`text` as the id of a database row (1 to `MAX_ID`), else None."""
    return whole_number(text, 1)
