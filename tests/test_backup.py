"""`community-bot backup` while the bot runs and writes; the copy starts a bot with nothing lost."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.backup import BackupError, backup_sqlite
from tests.bot_process import ROOT, bot_process
from tests.test_checkins_run import answer, from_bot


async def backup_cli(data: Path, output: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", "--config", str(ROOT / "config.example.toml"),
        "--data-dir", str(data), "--output", str(output),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=data.parent,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


async def test_a_backup_taken_under_writes_restores_everything_said_before_it(
    tmp_path: Path,
) -> None:
    data, copy = tmp_path / "data", tmp_path / "copy.db"
    before: list[str] = []
    async with bot_process(data) as (proc, chat):
        await chat.post("main", "ada", '/checkin open "How are you arriving?"')
        await chat.wait_for("main", "ada", from_bot("Check-in: How are you arriving?"), deadline=20)
        await answer(chat, "bob", "/checkin Rested", "answer is in")
        await answer(chat, "carol", "/checkin Curious", "answer is in")
        for i in range(50):
            before.append(await chat.post("main", "eve", f"before {i}"))

        async def keep_writing() -> None:
            i = 0
            while True:
                await chat.post("main", "eve", f"during {i}")
                i += 1

        writer = asyncio.create_task(keep_writing())
        try:
            code, output = await backup_cli(data, copy)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        assert code == 0, output
        assert f"backed up to {copy}" in output
        proc.kill()
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(copy, restored / "community-bot.db")
    async with bot_process(restored) as (proc, chat):
        ids = {m["id"] for m in await chat.messages("main", "eve")}
        assert set(before) <= ids
        await chat.post("main", "ada", "/checkin close")
        summary = await chat.wait_for("main", "ada", from_bot("Check-in closed"), deadline=20)
    assert "2 answers" in summary["text"]
    assert "• bob: Rested" in summary["text"] and "• carol: Curious" in summary["text"]


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    source = tmp_path / "bot.db"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE t (x)")
    target = tmp_path / "backup.db"
    target.write_text("keep me")
    with pytest.raises(BackupError, match="exists already"):
        backup_sqlite(f"sqlite:///{source}", target)
    assert target.read_text() == "keep me"


def test_postgresql_is_sent_to_its_own_tools(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql://bot@db/community", tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()
