"""`community-bot run` as a newcomer runs it: starts fast, answers, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from tests.webchat_client import ChatClient

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_run_starts_answers_help_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(ROOT / "config.example.toml"),
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        assert f"http://127.0.0.1:{port}/" in line
        chat = ChatClient(f"http://127.0.0.1:{port}")
        await chat.post("main", "ada", "/help")
        reply = await chat.wait_for("@ada", "ada", lambda m: m["user"] == "community-bot")
        await chat.close()
        assert "What you can do" in str(reply["text"])
    finally:
        proc.send_signal(signal.SIGTERM)
        _, raw_err = await asyncio.wait_for(proc.communicate(), timeout=20)
    err = raw_err.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "data" / "community-bot.db").exists()
