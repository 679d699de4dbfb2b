"""`community-bot run` as a newcomer runs it: starts fast, answers, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.bot_process import bot_process


async def test_run_starts_answers_help_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with bot_process(tmp_path / "data") as (proc, chat):
        await chat.post("main", "ada", "/help")
        reply = await chat.wait_for("@ada", "ada", lambda m: m["user"] == "community-bot")
        assert "What you can do" in str(reply["text"])
        proc.send_signal(signal.SIGTERM)
        _, raw_err = await asyncio.wait_for(proc.communicate(), timeout=20)
    err = raw_err.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "data" / "community-bot.db").exists()
