"""The check-in "done when": the real CLI, the web chat API, a SIGKILL in the middle."""

from __future__ import annotations

import asyncio
import csv
import io
import signal
from pathlib import Path
from typing import Any

from tests.bot_process import bot_process
from tests.webchat_client import ChatClient

BOT = "community-bot"
PROMPT = "What behaviours or qualities do you want to see in this space?"


def from_bot(text: str) -> Any:
    return lambda m: m["user"] == BOT and text in m["text"]


async def answer(
    chat: ChatClient, user: str, text: str, ack: str, thread: str | None = None
) -> None:
    """Answer and wait for the private acknowledgement, so the answer is committed."""
    seen = await chat.messages(f"@{user}", user)
    after = seen[-1]["id"] if seen else "0"
    await chat.post("main", user, text, thread=thread)
    await chat.wait_for(f"@{user}", user, from_bot(ack), after=after, deadline=20)


async def test_a_round_survives_sigkill_and_its_summary_and_csv_agree(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with bot_process(data) as (proc, chat):
        await chat.post("main", "ada", f'/checkin open "{PROMPT}"')
        post = await chat.wait_for("main", "ada", from_bot(f"Check-in: {PROMPT}"), deadline=20)
        assert "say `/checkin <your answer>` (or `/checkin pass`)" in post["text"]
        thread = post["id"]
        await answer(chat, "bob", "Kindness, and @everyone listening", "answer is in", thread)
        await answer(chat, "carol", "/checkin Curiosity", "answer is in")
        await answer(chat, "carol", "/checkin Curiosity and patience", "answer is updated")
        await answer(chat, "dan", "/checkin pass", "Pass noted")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    async with bot_process(data) as (proc, chat):
        await answer(chat, "erin", "Showing up as we are", "answer is in", thread)
        await chat.post("main", "ada", "/checkin close")
        summary = await chat.wait_for("main", "ada", from_bot("Check-in closed"), deadline=20)
        await chat.post("main", "ada", "/checkin export csv")
        reply = await chat.wait_for("@ada", "ada", from_bot("as CSV"), deadline=20)
        link = str(reply["text"]).rsplit(" ", 1)[-1]
        download = await chat.http.get(link)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    text = str(summary["text"])
    assert text.startswith(f"Check-in closed: {PROMPT}\n3 answers, 1 pass.")
    assert "• bob: Kindness, and @everyone listening" in text
    assert "• carol: Curiosity and patience" in text
    assert "• erin: Showing up as we are" in text
    assert "Curiosity\n" not in text and "dan" not in text
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    answers = {r["member"]: (r["answer"], r["passed"]) for r in rows}
    assert answers == {
        "bob": ("Kindness, and @everyone listening", "no"),
        "carol": ("Curiosity and patience", "no"),
        "dan": ("", "yes"),
        "erin": ("Showing up as we are", "no"),
    }
    assert "Traceback" not in err.decode()


async def test_recurring_rounds_register_with_the_real_scheduler(tmp_path: Path) -> None:
    """APScheduler's job store shares the SQLite file: registering must not wait on our lock."""
    async with bot_process(tmp_path / "data") as (proc, chat):
        await chat.post(
            "weekly", "ada", '/checkin open "How was your week?" --every "friday 16:00"'
        )
        await chat.wait_for(
            "weekly", "ada", from_bot("Check-in series 1: every Friday at 16:00"), deadline=5
        )
        await chat.post("weekly", "ada", "/checkin stop")
        await chat.wait_for(
            "weekly", "ada", from_bot("Stopped the repeating check-in 1"), deadline=5
        )
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert "Traceback" not in err.decode()
    assert "database is locked" not in err.decode()
