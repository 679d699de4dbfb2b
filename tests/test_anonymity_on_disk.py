"""An anonymous round, read the way an attacker with a copy of the disk would read it.

The real `community-bot run` serves the web chat; ten members answer an anonymous round through
its answer form, one changes her answer, one passes; the round closes; and while the bot still
runs, the whole data directory is copied. Nothing in that copy may link an answer to a member:
not the round's key or a keyed hash (in any file, in any encoding: the WAL and free pages
included), not a stale copy of an answer, not a message, reply or record that carries an
answer's author or the moment it was given.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bot_process import bot_process
from tests.webchat_client import ChatClient

BOT = "community-bot"
PROMPT = "What is hard for you right now?"
PEOPLE = ["bob", "carol", "dan", "erin", "fay", "gus", "hal", "ivy", "jon", "kim"]
DB_NAME = "community-bot.db"


def from_bot(text: str) -> Any:
    return lambda m: m["user"] == BOT and text in m["text"]


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def round_secrets(db: Path) -> tuple[str, list[str]]:
    """The open round's key and its keyed hashes, read as any reader of the file could."""
    with closing(read_only(db)) as conn:
        [(key,)] = conn.execute("SELECT hmac_key FROM checkin_round").fetchall()
        hashes = [h for (h,) in conn.execute("SELECT voter_hash FROM checkin_answer")]
    return key, hashes


async def all_recorded(db: Path) -> None:
    """Wait until every outbox row's outcome is recorded (a poll with a deadline)."""
    async with asyncio.timeout(10):
        while True:
            with closing(read_only(db)) as conn:
                [(busy,)] = conn.execute(
                    "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')"
                ).fetchall()
            if not busy:
                return
            await asyncio.sleep(0.01)


def encodings(secret_hex: str) -> list[bytes]:
    """How a hex secret may sit in a file: as text either case, or as its raw bytes."""
    return [secret_hex.lower().encode(), secret_hex.upper().encode(), bytes.fromhex(secret_hex)]


def files(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def rows(db: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                yield table, dict(row)


def timestamps(row: dict[str, Any]) -> set[datetime]:
    """The row's times (UTC, as stored), but those to the hour: keeping the hour is allowed."""
    found = set()
    for v in row.values():
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", v):
            at = datetime.fromisoformat(v).replace(tzinfo=UTC)
            if at != at.replace(minute=0, second=0, microsecond=0):
                found.add(at)
    return found


async def give_answer(chat: ChatClient, post: dict[str, Any], user: str, text: str) -> datetime:
    """Answer through the round post's Answer button (its form), wait for the private
    acknowledgement; the moment the bot stored it."""
    [answer] = [b for b in post["buttons"] if b["action"] == "checkin.answer"]
    seen = await chat.messages(f"@{user}", user)
    after = seen[-1]["id"] if seen else "0"
    r = await chat.http.post(
        "/api/chat/buttons",
        json={"room": "main", "user": user, "message": post["id"], **answer, "text": text},
    )
    assert r.status_code == 200, r.text
    ack = await chat.wait_for(f"@{user}", user, from_bot("Thanks, noted"), after=after)
    return datetime.fromisoformat(ack["ts"])


async def test_a_copy_of_the_data_directory_links_no_answer_to_anyone(tmp_path: Path) -> None:
    data, copy = tmp_path / "data", tmp_path / "copy"
    answers = {p: f"answer-{secrets.token_hex(6)}" for p in PEOPLE}
    answers["dan"] = "pass"
    replaced = f"replaced-{secrets.token_hex(6)}"
    async with bot_process(data) as (_, chat):
        for person in PEOPLE:  # everyone is a known member, named in the store
            await chat.post("main", person, f"hello from {person}")
        await chat.post("main", "ada", f'/checkin open "{PROMPT}" --anonymous')
        post = await chat.wait_for("main", "ada", from_bot(f"Check-in: {PROMPT}"), deadline=20)
        await chat.wait_for("@ada", "ada", from_bot("Check-in 1 is open"))
        await all_recorded(data / DB_NAME)
        start = datetime.now(UTC)
        await give_answer(chat, post, "carol", replaced)
        for person in PEOPLE:
            end = await give_answer(chat, post, person, answers[person])
        key, hashes = round_secrets(data / DB_NAME)
        assert len(hashes) == len(PEOPLE) and key
        # A round open for days sees checkpoints: its key and hashes reach the file itself.
        with closing(sqlite3.connect(data / DB_NAME)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        await chat.post("main", "ada", "/checkin close")
        await chat.wait_for("main", "ada", from_bot("Check-in closed"), deadline=20)
        shutil.copytree(data, copy)  # while the bot runs, as a backup would
    texts = [t for t in answers.values() if t != "pass"]

    # 1. No secret of the round, in any file, in any encoding; no replaced answer.
    leaks = [
        (path.name, what)
        for path, raw in files(copy)
        for what, needles in [("key", encodings(key))]
        + [(f"hash {h[:8]}", encodings(h)) for h in hashes]
        + [("replaced answer", [replaced.encode()])]
        if any(n in raw for n in needles)
    ]
    assert leaks == []

    # 2. No stale copy of an answer in the database file's free space: each answer appears
    # there exactly as often as the rows the file itself holds.
    main = copy / DB_NAME
    alone = tmp_path / "alone.db"
    alone.write_bytes(main.read_bytes())
    raw = main.read_bytes()
    held = "\n".join(str(v) for _, row in rows(alone) for v in row.values())
    for text in texts:
        assert raw.count(text.encode()) == held.count(text), text

    # 3. The copy as the bot would read it: every row holding an answer names nobody and
    # carries no member reference, and no row keeps a moment from the answering (the hour
    # aside), but the acknowledgements in each member's own conversation with the bot,
    # which say only that they answered (the same words for an answer, a change and a pass).
    with_answers = 0
    for table, row in rows(main):
        blob = "\n".join(str(v) for v in row.values())
        if any(t in blob for t in texts):
            with_answers += 1
            assert not [c for c in row if c.endswith("member_id") and row[c]], (table, row)
            named = [p for p in PEOPLE if re.search(rf"\b{p}\b", blob)]
            assert named == [], (table, row)
            assert row.get("user") in (None, BOT), (table, row)
        answering = [t for t in timestamps(row) if start <= t <= end]
        if answering and not (table == "web_message" and "Thanks, noted" in row["text"]):
            raise AssertionError(f"{table} keeps an answer's moment: {row}")
    assert with_answers >= 3  # the answers, the summary in the outbox and in the chat

    # 4. Nor does their order tell: the answers are stored, and summed up, shuffled.
    with closing(sqlite3.connect(main)) as conn:
        stored = [t for (t,) in conn.execute("SELECT text FROM checkin_answer ORDER BY id")]
    given = [answers[p] if answers[p] != "pass" else "" for p in PEOPLE]
    assert sorted(stored) == sorted(given) and stored != given
