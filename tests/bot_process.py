"""The real `community-bot run` in a subprocess, for tests that need a whole process."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from tests.webchat_client import ChatClient

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def bot_process(
    data: Path, config: Path | None = None, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, ChatClient]]:
    """`community-bot run` on `data` (with `config`, else the example configuration, and
    `env` added to the environment); yields once it serves. The caller decides how it ends."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config or ROOT / "config.example.toml"),
        "--port",
        str(port),
        "--data-dir",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=data.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=60)).decode()
    assert f":{port}/" in line, line
    chat = ChatClient(f"http://127.0.0.1:{port}")
    try:
        yield proc, chat
    finally:
        await chat.close()
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
