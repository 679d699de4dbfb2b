"""How long `community-bot run` takes from launch to answering, and to stop on SIGTERM.

Usage: python bench/startup.py [--runs N]
Runs the real CLI with config.example.toml on a fresh data directory (first run migrates
the database) and on the same one again, and prints the times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def one_run(data_dir: Path) -> tuple[float, float, float]:
    port = free_port()
    started = time.perf_counter()
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
        str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    await proc.stdout.readline()
    ready = time.perf_counter() - started
    url = f"ws://127.0.0.1:{port}/api/chat/ws?room=%40ada&user=ada"
    async with websockets.connect(url) as ws, httpx.AsyncClient() as http:
        sent = time.perf_counter()
        await http.post(
            f"http://127.0.0.1:{port}/api/chat/messages",
            json={"room": "main", "user": "ada", "text": "/help"},
        )
        while json.loads(await ws.recv())["message"]["user"] != "community-bot":
            pass
        answered = time.perf_counter() - sent
    stopping = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    code = await proc.wait()
    stopped = time.perf_counter() - stopping
    if code != 0:
        raise SystemExit(f"the bot exited with {code}")
    return ready, answered, stopped


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = await one_run(Path(tmp) / "fresh")
        again = [await one_run(Path(tmp) / "fresh") for _ in range(runs)]
    print(
        f"fresh data dir : ready {fresh[0]:.2f} s, first help answered in "
        f"{fresh[1] * 1000:.0f} ms, stopped {fresh[2]:.2f} s after SIGTERM"
    )
    print(
        f"existing data  : ready median {statistics.median(r[0] for r in again):.2f} s "
        f"(max {max(r[0] for r in again):.2f} s), help answered median "
        f"{statistics.median(r[1] for r in again) * 1000:.0f} ms, stop median "
        f"{statistics.median(r[2] for r in again):.2f} s over {runs} runs"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
