"""The web chat's own storage: it is a platform whose server is the bot itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, Column, Index, Text, insert
from sqlmodel import Field, SQLModel

from bot.batching import GroupCommit
from bot.db import Database
from bot.models import utc_column


class WebMessage(SQLModel, table=True):
    __tablename__ = "web_message"
    __table_args__ = (Index("ix_web_message_room_id", "room", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    room: str = Field(max_length=200)
    user: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    thread: str | None = Field(default=None, max_length=32)
    buttons: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    key: str | None = Field(default=None, max_length=255, unique=True)
    """The outbox key of a bot message, so a retried send is stored once."""
    ts: datetime = utc_column()


class Posted(NamedTuple):
    """A message just stored, as the adapter passes it on: building the ORM object for each
    message cost more than inserting it."""

    id: int
    room: str
    user: str
    text: str
    thread: str | None
    buttons: list[Any] | None
    key: str | None
    ts: datetime

    @classmethod
    def of(cls, m: WebMessage) -> Posted:
        assert m.id is not None
        return cls(m.id, m.room, m.user, m.text, m.thread, m.buttons, m.key, m.ts)


class WebRoom(SQLModel, table=True):
    """A room the bot opened (a breakout group); rooms people just use need no row."""

    __tablename__ = "web_room"
    name: str = Field(primary_key=True, max_length=200)
    parent: str | None = Field(default=None, max_length=200)
    title: str = Field(max_length=200)
    private: bool = True
    members: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed: bool = False


INSERT_MESSAGES = insert(WebMessage.__table__).returning(  # type: ignore[attr-defined]
    WebMessage.__table__.c.id,  # type: ignore[attr-defined]
    sort_by_parameter_order=True,
)


class MessageWriter:
    """Stores messages in shared transactions (`GroupCommit`): those that arrive while one
    batch commits go in the next. Concurrent posts and the bot's concurrent sends would
    otherwise each pay for a transaction of their own around a single insert. A caller learns
    its message's id only once its batch committed.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._batches = GroupCommit(self._insert_all, limit=500)

    async def store(self, values: dict[str, Any]) -> int:
        """Insert one message (every column but the id); its id once committed. A message
        the database refuses (a `key` stored before raises IntegrityError; a value it cannot
        hold) raises for that message only."""
        return await self._batches.submit(values)

    async def _insert_all(self, batch: list[dict[str, Any]]) -> list[int | BaseException]:
        try:
            async with self.db.single() as s:  # one statement: a multi-row insert
                return list((await s.exec(INSERT_MESSAGES, params=batch)).scalars())
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
        # One message refused (a resent bot message, or a value the database cannot hold)
        # must not fail the others: one at a time, only its sender sees the error.
        return [outcome for values in batch for outcome in await self._insert_all([values])]
