"""Replies queued in a transaction, inserted together just before it commits.

A reply due now is an outbox row handed to its adapter once its transaction commits
(`Scope.perform`). Inserted one by one, each cost a round trip on PostgreSQL, a third of an
answer's; kept here and inserted in one statement when the transaction commits, a batch of
events pays one for all its replies. What reads or changes the outbox inside a transaction
calls `flush` first (closing an anonymous round deletes its acknowledgements;
`Scope.perform_many` queues rows that must come after these).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Claimed, OutboxRow, UTCDateTime

PENDING = "pending-outbox"
"""Session info: the rows queued in this transaction, in order."""


@dataclass(frozen=True)
class Pending:
    values: dict[str, Any]
    """The row's columns, as `Scope.perform` built them."""
    hand_off: Callable[[Claimed], None]
    after_commit: list[Callable[[], None]]
    """The queuing scope's: the hand-off joins it once the row has its id."""


def add(session: AsyncSession, pending: Pending) -> None:
    session.sync_session.info.setdefault(PENDING, []).append(pending)


async def flush(session: AsyncSession) -> None:
    """Insert what this transaction queued so far."""
    if session.sync_session.info.get(PENDING):
        await session.run_sync(_flush)


@event.listens_for(Session, "before_commit")
def _flush(session: Session) -> None:
    """Insert the queued rows (each unless its key exists), and have each inserted row
    handed to its adapter after the commit. On PostgreSQL in one statement; on SQLite,
    where a statement costs microseconds, one each."""
    queued: list[Pending] = session.info.pop(PENDING, None) or []
    if not queued:
        return
    first = {p.values["key"]: p for p in reversed(queued)}  # a key queued twice: its first
    rows = [p.values for p in queued if first[p.values["key"]] is p]
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        params = {c: _bound(c, [row[c] for row in rows], dialect) for c in _COLUMNS}
        ids = {key: row_id for row_id, key in session.exec(_insert_all(), params=params)}
    else:
        ids = {row["key"]: session.exec(_insert_one(), params=row).scalar() for row in rows}
    for values in rows:  # handed off in the order queued, whatever order RETURNING took
        row_id = ids.get(values["key"])
        if row_id is not None:  # None: a row with this key is in the outbox already
            p = first[values["key"]]
            row = Claimed(row_id, values["action"], values["attempts"], values["on_result"])
            p.after_commit.append(functools.partial(p.hand_off, row))


_COLUMNS = (
    "key",
    "platform",
    "action",
    "state",
    "recipient_member_id",
    "attempts",
    "next_attempt_at",
    "not_after",
    "grace_until",
    "on_result",
    "created_at",
    "claimed_by",
)
"""The columns `Scope.perform` fills, each passed as one array."""


def _bound(column: str, values: list[Any], dialect: Dialect) -> list[Any]:
    """A column's values as the database takes them: the action as JSON text (cast back
    in `_insert_all`), times through their type's checks (`UTCDateTime`)."""
    if column == "action":
        return [json.dumps(v) for v in values]
    kind = OutboxRow.__table__.c[column].type  # type: ignore[attr-defined]
    if isinstance(kind, UTCDateTime):
        return [kind.process_bind_param(v, dialect) for v in values]
    return values


@functools.cache
def _insert_one() -> Any:
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    return sqlite.insert(table).on_conflict_do_nothing().returning(table.c.id)


@functools.cache
def _insert_all() -> Any:
    """One INSERT for any number of rows: each column an array, `unnest` making rows of
    them. Its text never changes, so it is parsed and planned once per connection."""
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]

    def array_of(column: str) -> str:
        kind = table.c[column].type
        name = "TEXT" if column == "action" else kind.compile(dialect=dialect)
        return f"CAST(:{column} AS {name}[])"

    names = ", ".join(_COLUMNS)
    picked = ", ".join("action::json" if c == "action" else c for c in _COLUMNS)
    arrays = ", ".join(array_of(c) for c in _COLUMNS)
    return text(
        f"INSERT INTO outbox ({names}) SELECT {picked} FROM unnest({arrays}) AS u({names}) "
        "ON CONFLICT DO NOTHING RETURNING id, key"
    )
