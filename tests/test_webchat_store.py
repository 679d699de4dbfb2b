"""The web chat's batched message store: concurrent messages share a transaction, and a bot
message resent with a key already stored is refused alone, never taking its batch with it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from adapters.webchat.store import MessageWriter, WebMessage
from bot.db import Database


def values(text: str, key: str | None = None) -> dict[str, object]:
    return {
        "room": "main",
        "user": "community-bot" if key else "alice",
        "text": text,
        "thread": None,
        "buttons": None,
        "key": key,
        "ts": datetime(2026, 1, 1, tzinfo=UTC),
    }


async def test_a_stored_key_fails_only_its_own_message(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    try:
        writer = MessageWriter(db)
        first = await writer.store(values("sent once", key="reply:1"))
        results = await asyncio.gather(
            writer.store(values("one")),
            writer.store(values("sent again", key="reply:1")),
            writer.store(values("two")),
            return_exceptions=True,
        )
        assert isinstance(results[1], IntegrityError)
        assert isinstance(results[0], int) and isinstance(results[2], int)
        async with db.reader() as s:
            rows = (await s.exec(select(WebMessage).order_by(col(WebMessage.id)))).all()
        assert [(m.id, m.text) for m in rows] == [
            (first, "sent once"),
            (results[0], "one"),
            (results[2], "two"),
        ]
    finally:
        await db.close()


async def test_a_message_the_database_cannot_hold_fails_only_itself(database_url: str) -> None:
    """A lone UTF-16 surrogate cannot be encoded for any database: the 29 valid messages
    that share its batch are stored all the same."""
    db = Database(database_url)
    await db.upgrade()
    try:
        writer = MessageWriter(db)
        texts = [f"m{i}" for i in range(29)]
        texts.insert(13, "half a pair \ud800")
        results = await asyncio.gather(
            *(writer.store(values(t)) for t in texts), return_exceptions=True
        )
        assert isinstance(results[13], Exception)
        stored = [r for r in results if isinstance(r, int)]
        assert len(stored) == 29
        async with db.reader() as s:
            rows = (await s.exec(select(WebMessage).order_by(col(WebMessage.id)))).all()
        assert [m.text for m in rows] == texts[:13] + texts[14:]
    finally:
        await db.close()


async def test_concurrent_messages_keep_their_order_and_ids(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    try:
        writer = MessageWriter(db)
        ids = await asyncio.gather(*(writer.store(values(f"m{i}")) for i in range(50)))
        async with db.reader() as s:
            stored = {m.id: m.text for m in (await s.exec(select(WebMessage))).all()}
        assert stored == {mid: f"m{i}" for i, mid in enumerate(ids)}
        assert ids == sorted(ids)
    finally:
        await db.close()
